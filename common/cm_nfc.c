/* cm_nfc.c - NFC: decompose canonically, order marks by combining class,
   compose primary composites (UAX #15 section 3; Hangul arithmetic per
   Unicode 3.12). */
#include "common/cm_nfc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_nfc_data.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define RAW_BYTE 0x80000000u   /* marks an undecodable byte kept as is */

enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7,
       L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT,
       S_COUNT = L_COUNT * N_COUNT };

static unsigned ccc_of(uint32_t cp)
{
    size_t lo = 0, hi = N_ELEMS(nfc_ccc);

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (cp < nfc_ccc[mid].lo)
            hi = mid;
        else if (cp > nfc_ccc[mid].hi)
            lo = mid + 1;
        else
            return nfc_ccc[mid].ccc;
    }
    return 0;
}

static const struct nfc_dec *decomposition_of(uint32_t cp)
{
    size_t lo = 0, hi = N_ELEMS(nfc_dec);

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (cp == nfc_dec[mid].cp)
            return &nfc_dec[mid];
        if (cp < nfc_dec[mid].cp)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The primary composite of a + b, or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    size_t lo = 0, hi = N_ELEMS(nfc_comp);

    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1)
        return a + (b - T_BASE);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct nfc_comp *c = &nfc_comp[mid];

        if (a == c->a && b == c->b)
            return c->c;
        if (a < c->a || (a == c->a && b < c->b))
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* One UTF-8 sequence at s[*i] (shortest form, no surrogates, <= U+10FFFF),
   else the byte itself marked RAW_BYTE. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char b = s[*i];
    size_t n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
    uint32_t cp = n == 3 ? b & 0x07u : n == 2 ? b & 0x0Fu : b & 0x1Fu;
    static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };

    if (b < 0x80) {
        (*i)++;
        return b;
    }
    if (n == 0 || b > 0xF4 || len - *i <= n)
        goto raw;
    for (size_t k = 1; k <= n; k++) {
        if ((s[*i + k] & 0xC0) != 0x80)
            goto raw;
        cp = cp << 6 | (s[*i + k] & 0x3Fu);
    }
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
        goto raw;
    *i += n + 1;
    return cp;
raw:
    (*i)++;
    return RAW_BYTE | b;
}

static unsigned ccc_at(uint32_t c)
{
    return (c & RAW_BYTE) != 0 ? 0 : ccc_of(c);
}

/* Append the full canonical decomposition of c to d (room is ensured by
   the caller: at most 4 code points per input code point). */
static size_t decompose_into(uint32_t c, uint32_t *d, size_t o)
{
    const struct nfc_dec *e;

    if (c - S_BASE < S_COUNT) {
        uint32_t si = c - S_BASE;

        d[o++] = L_BASE + si / N_COUNT;
        d[o++] = V_BASE + (si % N_COUNT) / T_COUNT;
        if (si % T_COUNT != 0)
            d[o++] = T_BASE + si % T_COUNT;
        return o;
    }
    e = (c & RAW_BYTE) == 0 ? decomposition_of(c) : NULL;
    if (e == NULL) {
        d[o++] = c;
        return o;
    }
    memcpy(d + o, nfc_dec_pool + e->off, e->len * sizeof(uint32_t));
    return o + e->len;
}

/* Canonical ordering: a stable sort of each run of non-starters by class. */
static void reorder(uint32_t *d, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t c = d[i];
        unsigned cc = ccc_at(c);
        size_t j = i;

        if (cc == 0)
            continue;
        while (j > 0 && ccc_at(d[j - 1]) > cc) {
            d[j] = d[j - 1];
            j--;
        }
        d[j] = c;
    }
}

/* Canonical composition in place; returns the new length. */
static size_t compose(uint32_t *d, size_t n)
{
    size_t o = 0, starter = SIZE_MAX;
    unsigned last_cc = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = d[i], comp = 0;
        unsigned cc = ccc_at(c);

        if (starter != SIZE_MAX && (c & RAW_BYTE) == 0 &&
            (o == starter + 1 || (last_cc != 0 && last_cc < cc)))
            comp = compose_pair(d[starter], c);
        if (comp != 0) {
            d[starter] = comp;
            continue;
        }
        if (cc == 0)
            starter = (c & RAW_BYTE) == 0 ? o : SIZE_MAX;
        last_cc = cc;
        d[o++] = c;
    }
    return o;
}

static size_t utf8_put(uint32_t c, char *out)
{
    if ((c & RAW_BYTE) != 0 || c < 0x80) {
        out[0] = (char)(c & 0xFF);
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Below U+0300 every code point is its own NFC (no marks, no decompositions
   that do not recompose to themselves). */
static bool trivially_nfc(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 0xCC)
            return false;
    return true;
}

static char *dup_text(const char *s, size_t len, size_t *out_len)
{
    char *r = malloc(len + 1);

    if (r != NULL) {
        memcpy(r, s, len);
        r[len] = '\0';
        *out_len = len;
    }
    return r;
}

char *cm_nfc(const char *s, size_t len, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t *d;
    char *r;
    size_t n = 0, o = 0;

    if (trivially_nfc(u, len))
        return dup_text(s, len, out_len);
    d = len < SIZE_MAX / 16 ? malloc(4 * (len + 1) * sizeof(uint32_t)) : NULL;
    r = len < SIZE_MAX / 16 ? malloc(4 * len + 1) : NULL;
    if (d == NULL || r == NULL) {
        free(d);
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < len;)
        n = decompose_into(utf8_next(u, len, &i), d, n);
    reorder(d, n);
    n = compose(d, n);
    for (size_t i = 0; i < n; i++)
        o += utf8_put(d[i], r + o);
    r[o] = '\0';
    free(d);
    *out_len = o;
    return r;
}
