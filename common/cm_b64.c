/* cm_b64.c - base64url, base64 and hex codecs (RFC 4648). */
#include "common/cm_b64.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cm_b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

static size_t encode(const unsigned char *in, size_t n, char *dst, const char *alpha, bool pad)
{
    size_t o = 0, i = 0;

    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        dst[o++] = alpha[v >> 18];
        dst[o++] = alpha[(v >> 12) & 63];
        dst[o++] = alpha[(v >> 6) & 63];
        dst[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        dst[o++] = alpha[v >> 18];
        dst[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            dst[o++] = '=';
            dst[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        dst[o++] = alpha[v >> 18];
        dst[o++] = alpha[(v >> 12) & 63];
        dst[o++] = alpha[(v >> 6) & 63];
        if (pad)
            dst[o++] = '=';
    }
    dst[o] = '\0';
    return o;
}

size_t cm_b64url_encode(const void *src, size_t n, char *dst)
{
    return encode(src, n, dst, url_alphabet, false);
}

char *cm_b64_encode(const void *src, size_t n)
{
    char *dst = malloc((n + 2) / 3 * 4 + 1);

    if (dst != NULL)
        encode(src, n, dst, std_alphabet, true);
    return dst;
}

static int value_of(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Decode srclen symbols (no padding). A trailing group of 1 symbol is
   invalid, and unused low bits of the last symbol must be zero. */
static unsigned char *decode(const char *src, size_t srclen, bool url, size_t *len_r)
{
    unsigned char *out;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (srclen % 4 == 1)
        return NULL;
    out = malloc(srclen / 4 * 3 + 3);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < srclen; i++) {
        int v = value_of(src[i], url);

        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) { /* non-canonical: stray bits in the last symbol */
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *len_r = o;
    return out;
}

unsigned char *cm_b64url_decode(const char *src, size_t srclen, size_t *len_r)
{
    return decode(src, srclen, true, len_r);
}

unsigned char *cm_b64_decode(const char *src, size_t srclen, size_t *len_r)
{
    size_t n = srclen;

    if (n % 4 == 0 && n >= 4) {
        if (src[n - 1] == '=')
            n--;
        if (src[n - 1] == '=')
            n--;
    }
    if (memchr(src, '=', n) != NULL)
        return NULL;
    if (n != srclen && srclen % 4 != 0)
        return NULL;
    return decode(src, n, false, len_r);
}

void cm_hex_encode(const void *src, size_t n, char *dst)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *in = src;

    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[in[i] >> 4];
        dst[2 * i + 1] = digits[in[i] & 15];
    }
    dst[2 * n] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

unsigned char *cm_hex_decode(const char *src, size_t srclen, size_t *len_r)
{
    unsigned char *out;

    if (srclen % 2 != 0)
        return NULL;
    out = malloc(srclen / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < srclen; i += 2) {
        int hi = hex_digit(src[i]), lo = hex_digit(src[i + 1]);

        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    out[srclen / 2] = '\0';
    *len_r = srclen / 2;
    return out;
}
