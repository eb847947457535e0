/* cm_b64.c - base64url, base64 and hex with strict decoders.
 *
 * Decoders accept only canonical text: characters of the alphabet, a length
 * that a real encoder can produce, and zero bits where the last character
 * carries padding bits. That keeps one byte string = one text form, which
 * matters when the text is later compared or signed (JWT segments).
 */
#include "common/cm_b64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes with alphabet; pad with '=' when pad is set. */
static size_t encode(const char *alpha, const unsigned char *s, size_t n, char *dst, int pad)
{
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];

        dst[o++] = alpha[(v >> 18) & 63];
        dst[o++] = alpha[(v >> 12) & 63];
        dst[o++] = alpha[(v >> 6) & 63];
        dst[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;

        dst[o++] = alpha[(v >> 18) & 63];
        dst[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            dst[o++] = '=';
            dst[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);

        dst[o++] = alpha[(v >> 18) & 63];
        dst[o++] = alpha[(v >> 12) & 63];
        dst[o++] = alpha[(v >> 6) & 63];
        if (pad)
            dst[o++] = '=';
    }
    dst[o] = '\0';
    return o;
}

size_t cm_b64url_encoded_len(size_t n)
{
    return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t cm_b64url_encode(const void *src, size_t n, char *dst)
{
    return encode(url_alpha, src, n, dst, 0);
}

char *cm_b64_encode(const void *src, size_t n)
{
    char *dst;

    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    dst = malloc((n + 2) / 3 * 4 + 1);
    if (dst != NULL)
        encode(std_alpha, src, n, dst, 1);
    return dst;
}

/* Value of c in the alphabet whose last two characters are c62 and c63,
   or -1. Range checks instead of a search keep decoding linear. */
static int sextet(const char *alpha, char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == alpha[62])
        return 62;
    if (c == alpha[63])
        return 63;
    return -1;
}

/* Decode unpadded text. A remainder of 1 character is impossible, and the
   unused low bits of the last character must be zero (canonical form). */
static unsigned char *decode(const char *alpha, const char *src, size_t n, size_t *len_r)
{
    size_t outlen = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1), o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    unsigned char *out;

    if (n % 4 == 1)
        return NULL;
    out = malloc(outlen + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int v = sextet(alpha, src[i]);

        if (v < 0)
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        goto bad; /* non-zero padding bits */
    out[o] = '\0';
    *len_r = o;
    return out;
bad:
    free(out);
    return NULL;
}

int cm_b64_digit(char c)
{
    return sextet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", c);
}

unsigned char *cm_b64url_decode(const char *src, size_t srclen, size_t *len_r)
{
    return decode(url_alpha, src, srclen, len_r);
}

unsigned char *cm_b64_decode(const char *src, size_t srclen, size_t *len_r)
{
    size_t pad = 0;

    while (pad < srclen && pad < 3 && src[srclen - 1 - pad] == '=')
        pad++;
    if (pad > 0) {
        /* At most two '=', and they must complete the last quantum. */
        srclen -= pad;
        if (pad > 2 || srclen % 4 != 4 - pad)
            return NULL;
    }
    return decode(std_alpha, src, srclen, len_r);
}

void cm_hex_encode(const void *src, size_t n, char *dst)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *s = src;

    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[s[i] >> 4];
        dst[2 * i + 1] = digits[s[i] & 15];
    }
    dst[2 * n] = '\0';
}

int cm_hex_digit(char c)
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
    for (size_t i = 0; i < srclen / 2; i++) {
        int hi = cm_hex_digit(src[2 * i]), lo = cm_hex_digit(src[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    out[srclen / 2] = '\0';
    *len_r = srclen / 2;
    return out;
}
