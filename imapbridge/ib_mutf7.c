/* ib_mutf7.c - modified UTF-7 (RFC 3501 §5.1.3) <-> UTF-8, strict both ways.
 *
 * Strict means: the decoder accepts only the canonical encoding the encoder
 * produces (no raw 8-bit or control bytes, no empty or adjacent shifts, no
 * printable ASCII inside a shift, zero padding bits, paired surrogates), so
 * decode(encode(x)) == x and encode(decode(y)) == y for every accepted y.
 */
#include "imapbridge/ib_mutf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"

#define MUTF7_MAX_BYTES (64 * 1024)

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c)
{
    const char *p;

    if (c == '\0')
        return -1;
    p = strchr(b64chars, c);
    return p == NULL ? -1 : (int)(p - b64chars);
}

static bool is_direct(uint32_t c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* Append code point cp as UTF-8. */
static int put_utf8(struct cm_buf *b, uint32_t cp)
{
    unsigned char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return cm_buf_append(b, u, n);
}

/* Decode one shifted run starting after '&'; *pp ends after the closing
   '-'. Returns 0 or -1. */
static int decode_run(const char **pp, struct cm_buf *out)
{
    const char *p = *pp;
    uint32_t bits = 0, high = 0;
    int nbits = 0;
    size_t units = 0;

    for (; *p != '-'; p++) {
        int v = b64val((unsigned char)*p);

        if (v < 0)
            return -1; /* bad character or unterminated shift */
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        uint32_t u = (bits >> nbits) & 0xffff;

        bits &= (1u << nbits) - 1;
        units++;
        if (high != 0) {
            if (u < 0xdc00 || u > 0xdfff)
                return -1; /* high surrogate not followed by a low one */
            if (put_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00)) < 0)
                return -1;
            high = 0;
        } else if (u >= 0xd800 && u <= 0xdbff) {
            high = u;
        } else if ((u >= 0xdc00 && u <= 0xdfff) || u == 0 || is_direct(u)) {
            return -1; /* lone low surrogate, NUL, or needless shift */
        } else if (put_utf8(out, u) < 0) {
            return -1;
        }
    }
    if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
        return -1;
    *pp = p + 1;
    return 0;
}

char *ib_mutf7_to_utf8(const char *mutf7)
{
    struct cm_buf out;
    const char *p = mutf7;
    bool after_run = false;

    cm_buf_init(&out, MUTF7_MAX_BYTES);
    if (cm_buf_append(&out, "", 0) < 0)
        goto fail;
    while (*p != '\0') {
        unsigned char c = (unsigned char)*p;

        if (c == '&' && p[1] == '-') {
            if (cm_buf_append(&out, "&", 1) < 0)
                goto fail;
            p += 2;
            after_run = false;
        } else if (c == '&') {
            if (after_run)
                goto fail; /* two adjacent shifts must be one */
            p++;
            if (decode_run(&p, &out) < 0)
                goto fail;
            after_run = true;
        } else if (is_direct(c)) {
            if (cm_buf_append(&out, p, 1) < 0)
                goto fail;
            p++;
            after_run = false;
        } else {
            goto fail; /* 8-bit or control byte */
        }
    }
    return cm_buf_steal(&out, NULL);
fail:
    cm_buf_fini(&out);
    return NULL;
}

/* Read one code point from strict UTF-8; returns its length or 0. */
static size_t get_utf8(const unsigned char *s, uint32_t *cp_r)
{
    uint32_t cp;
    size_t n;

    if (s[0] < 0x80) {
        *cp_r = s[0];
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        cp = s[0] & 0x1f;
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        cp = s[0] & 0x0f;
        n = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        cp = s[0] & 0x07;
        n = 4;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range, or surrogate */
    *cp_r = cp;
    return n;
}

struct b64w {
    struct cm_buf *out;
    uint32_t bits;
    int nbits;
};

static int b64w_unit(struct b64w *w, uint32_t u)
{
    char c;

    w->bits = (w->bits << 16) | u;
    w->nbits += 16;
    while (w->nbits >= 6) {
        w->nbits -= 6;
        c = b64chars[(w->bits >> w->nbits) & 0x3f];
        if (cm_buf_append(w->out, &c, 1) < 0)
            return -1;
    }
    w->bits &= (1u << w->nbits) - 1;
    return 0;
}

static int b64w_end(struct b64w *w)
{
    char c;

    if (w->nbits > 0) {
        c = b64chars[(w->bits << (6 - w->nbits)) & 0x3f];
        if (cm_buf_append(w->out, &c, 1) < 0)
            return -1;
    }
    w->bits = 0;
    w->nbits = 0;
    return cm_buf_append(w->out, "-", 1);
}

static int encode_cp(struct b64w *w, uint32_t cp)
{
    if (cp < 0x10000)
        return b64w_unit(w, cp);
    cp -= 0x10000;
    if (b64w_unit(w, 0xd800 + (cp >> 10)) < 0)
        return -1;
    return b64w_unit(w, 0xdc00 + (cp & 0x3ff));
}

char *ib_utf8_to_mutf7(const char *utf8)
{
    struct cm_buf out;
    struct b64w w = { &out, 0, 0 };
    const unsigned char *s = (const unsigned char *)utf8;
    bool shifted = false;

    cm_buf_init(&out, MUTF7_MAX_BYTES);
    if (cm_buf_append(&out, "", 0) < 0)
        goto fail;
    while (*s != '\0') {
        uint32_t cp;
        size_t n = get_utf8(s, &cp);

        if (n == 0)
            goto fail;
        s += n;
        if (is_direct(cp)) {
            if (shifted && b64w_end(&w) < 0)
                goto fail;
            shifted = false;
            if (cm_buf_append(&out, cp == '&' ? "&-" : (const char *)s - 1, cp == '&' ? 2 : 1) < 0)
                goto fail;
            continue;
        }
        if (!shifted && cm_buf_append(&out, "&", 1) < 0)
            goto fail;
        shifted = true;
        if (encode_cp(&w, cp) < 0)
            goto fail;
    }
    if (shifted && b64w_end(&w) < 0)
        goto fail;
    return cm_buf_steal(&out, NULL);
fail:
    cm_buf_fini(&out);
    return NULL;
}
