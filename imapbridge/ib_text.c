/* ib_text.c - bytes in any charset / transfer encoding -> valid UTF-8. */
#include "imapbridge/ib_text.h"

#include "common/cm_b64.h"
#include "common/cm_buf.h"
#include "common/cm_nfc.h"

#include <libetpan/charconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREVIEW_CHARS 256

/* ---- UTF-8 ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (> 0, code point in *cp), or the
   negated number of bytes that form the longest invalid prefix (< 0), so a
   repairer replaces exactly one maximal subpart by U+FFFD. */
static int u8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    int need, i;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return -1;
    }
    for (i = 1; i < need; i++) {
        if ((size_t)i >= n || s[i] < lo || s[i] > hi)
            return -i;
        v = (v << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need;
}

bool ib_text_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    uint32_t cp;

    while (i < len) {
        int k = u8_seq(p + i, len - i, &cp);

        if (k < 0)
            return false;
        i += (size_t)k;
    }
    return true;
}

static int put_cp(struct cm_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return cm_buf_append(b, u, n);
}

static void buf_truncate(struct cm_buf *b, size_t len)
{
    b->len = len;
    if (b->data != NULL)
        b->data[len] = '\0';
}

/* Append s with invalid sequences replaced; *changed set when any was. */
static int put_sanitized(struct cm_buf *b, const char *s, size_t len, bool *changed)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    uint32_t cp;
    int rc = 0;

    while (i < len && rc == 0) {
        int k = u8_seq(p + i, len - i, &cp);

        if (k > 0) {
            i += (size_t)k;
            run += (size_t)k;
            continue;
        }
        rc = cm_buf_append(b, p + i - run, run);
        if (rc == 0)
            rc = put_cp(b, 0xFFFD);
        run = 0;
        i += (size_t)-k;
        *changed = true;
    }
    if (rc == 0)
        rc = cm_buf_append(b, p + i - run, run);
    return rc;
}

/* Hand a finished buffer to the caller; an empty buffer becomes "". */
static int finish(struct cm_buf *b, int rc, char **out, size_t *out_len, struct cm_err *err)
{
    *out = NULL;
    if (rc == 0 && b->data == NULL)
        rc = cm_buf_append(b, "", 0);
    if (rc == 0) {
        *out = cm_buf_steal(b, out_len);
        if (*out == NULL)
            rc = CM_ENOMEM;
    }
    cm_buf_fini(b);
    if (rc < 0)
        return cm_err_set(err, (enum cm_code)rc, "text decoding failed (%s)",
                          cm_code_name((enum cm_code)rc));
    return 0;
}

int ib_text_sanitize(const char *s, size_t len, char **out, size_t *out_len, bool *changed,
                     struct cm_err *err)
{
    struct cm_buf b;
    bool dummy = false;

    cm_buf_init(&b, IB_TEXT_MAX_BYTES);
    return finish(&b, put_sanitized(&b, s, len, changed ? changed : &dummy), out, out_len, err);
}

size_t ib_text_utf8_cut(const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (len <= max)
        return len;
    n = max;
    /* back up over continuation bytes to the start of the cut character */
    while (n > 0 && (p[n] & 0xC0) == 0x80)
        n--;
    return n;
}

json_t *ib_text_json(const char *s, size_t len)
{
    char *clean = NULL;
    size_t clen = 0;
    json_t *j;

    if (s == NULL)
        return json_string("");
    if (ib_text_utf8_valid(s, len))
        return json_stringn(s, len);
    if (ib_text_sanitize(s, len, &clean, &clen, NULL, NULL) < 0)
        return NULL;
    j = json_stringn(clean, clen);
    free(clean);
    return j;
}

/* ---- charsets ---------------------------------------------------------- */

/* Windows-1252 0x80..0x9F; the five unassigned bytes map to the C1 code
   point of the same value (as WHATWG's decoder does). */
static const uint16_t cp1252_hi[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

static int put_cp1252(struct cm_buf *b, const char *s, size_t len)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];

        rc = put_cp(b, c >= 0x80 && c <= 0x9F ? cp1252_hi[c - 0x80] : c);
    }
    return rc;
}

/* Raw bytes of no trusted charset: keep valid UTF-8, else Windows-1252. */
static int put_guess(struct cm_buf *b, const char *s, size_t len)
{
    if (ib_text_utf8_valid(s, len))
        return cm_buf_append(b, s, len);
    return put_cp1252(b, s, len);
}

static bool is_ascii(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

static bool cs_is(const char *cs, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcasecmp(cs, *names) == 0)
            return true;
    return false;
}

/* A name iconv may see: letters, digits and ._:- only, so "x//TRANSLIT"
   style suffixes or paths never reach iconv_open. */
static bool cs_plausible(const char *cs)
{
    size_t n = 0;

    for (; cs[n] != '\0'; n++) {
        char c = cs[n];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n > 0 && n <= 40;
}

static const char *const cs_utf8[] = {"utf-8", "utf8", NULL};
static const char *const cs_ascii[] = {"us-ascii", "ascii", "ansi_x3.4-1968", "us", NULL};
/* Labels the WHATWG Encoding Standard decodes as windows-1252, as every
   browser and mail client does: mail labelled Latin-1 often carries
   Windows' curly quotes (0x91-0x97), which Latin-1 maps to C1 controls. */
static const char *const cs_latin1[] = {"iso-8859-1", "iso8859-1", "latin1", "l1",
                                        "iso_8859-1", "cp819", "ibm819", NULL};

static size_t count_byte(const char *s, size_t len, char c)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++)
        n += s[i] == c;
    return n;
}

/* charconv() turns bytes it cannot convert into '?' and reports success.
   For charsets where ASCII stays ASCII, more '?' out than in means it did
   so. (UTF-16/32 and UTF-7 are not ASCII-transparent: not judged.) */
static bool lost_bytes(const char *cs, const char *in, size_t len, const char *out, size_t olen)
{
    if (strncasecmp(cs, "utf-16", 6) == 0 || strncasecmp(cs, "utf-32", 6) == 0 ||
        strncasecmp(cs, "ucs", 3) == 0 || strcasecmp(cs, "utf-7") == 0)
        return false;
    return count_byte(out, olen, '?') > count_byte(in, len, '?');
}

/* Convert with charconv; 1 = charset unknown / conversion failed, nothing
   appended; 0 = appended; < 0 = CM_E*. *problem set when bytes were lost
   or the output needed repair. */
static int put_iconv(struct cm_buf *b, const char *cs, const char *in, size_t len, bool *problem)
{
    char *res = NULL;
    size_t rlen = 0;
    int rc;

    if (!cs_plausible(cs))
        return 1;
    rc = charconv_buffer("utf-8", cs, in, len, &res, &rlen);
    if (rc == MAIL_CHARCONV_ERROR_MEMORY)
        return CM_ENOMEM;
    if (rc != MAIL_CHARCONV_NO_ERROR || res == NULL) {
        if (res != NULL)
            charconv_buffer_free(res);
        return 1;
    }
    /* an incomplete final character is dropped silently: catch the case
       where that was everything */
    if (lost_bytes(cs, in, len, res, rlen) || (rlen == 0 && len > 0))
        *problem = true;
    rc = put_sanitized(b, res, rlen, problem);
    charconv_buffer_free(res);
    return rc;
}

/* Append in[0..len) converted from charset; *unknown set when the charset
   could not be used (the bytes were then guessed). */
static int put_charset(struct cm_buf *b, const char *cs, const char *in, size_t len, bool *problem,
                       bool *unknown)
{
    int rc;

    if (cs == NULL || *cs == '\0' || cs_is(cs, cs_ascii)) {
        if (is_ascii(in, len))
            return cm_buf_append(b, in, len);
        *problem = true;
        return put_guess(b, in, len);
    }
    if (cs_is(cs, cs_utf8))
        return put_sanitized(b, in, len, problem);
    if (cs_is(cs, cs_latin1))
        cs = "WINDOWS-1252";
    rc = put_iconv(b, cs, in, len, problem);
    if (rc <= 0)
        return rc;
    *problem = true;
    *unknown = true;
    return put_guess(b, in, len);
}

int ib_text_charset_decode(const char *charset, const char *in, size_t len, char **out,
                           size_t *out_len, bool *problem, struct cm_err *err)
{
    struct cm_buf b;
    bool unknown = false;

    cm_buf_init(&b, IB_TEXT_MAX_BYTES);
    return finish(&b, put_charset(&b, charset, in, len, problem, &unknown), out, out_len, err);
}

/* ---- transfer encodings ------------------------------------------------ */

static int put_base64(struct cm_buf *b, const char *in, size_t len)
{
    uint32_t acc = 0;
    int bits = 0, rc = 0;
    size_t i;

    for (i = 0; i < len && rc == 0 && in[i] != '='; i++) {
        int v = cm_b64_digit((char)in[i]);
        char byte;

        if (v < 0)
            continue; /* line breaks, spaces, garbage */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            byte = (char)((acc >> bits) & 0xFF);
            rc = cm_buf_append(b, &byte, 1);
        }
    }
    return rc;
}

/* Length of a soft line break at in[i] == '=' (optional trailing blanks,
   then CRLF or LF), or 0. */
static size_t qp_soft_break(const char *in, size_t len, size_t i)
{
    size_t j = i + 1;

    while (j < len && (in[j] == ' ' || in[j] == '\t'))
        j++;
    if (j < len && in[j] == '\r')
        j++;
    if (j < len && in[j] == '\n')
        return j + 1 - i;
    return j == len ? j - i : 0; /* "=" at the very end: soft break */
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Length of a run of blanks at in[i] that ends a line (RFC 2045 6.7 (3):
   trailing blanks are transport padding and are deleted), or 0. */
static size_t line_end_blanks(const char *in, size_t len, size_t i)
{
    size_t j = i;

    while (j < len && is_blank(in[j]))
        j++;
    return j == len || in[j] == '\r' || in[j] == '\n' ? j - i : 0;
}

/* underscore_space: RFC 2047 "Q" encoding, where '_' is a space. */
static int put_qp(struct cm_buf *b, const char *in, size_t len, bool underscore_space)
{
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        char c = in[i];
        size_t soft;

        if (c == '=' && i + 2 < len && cm_hex_digit(in[i + 1]) >= 0 && cm_hex_digit(in[i + 2]) >= 0) {
            char byte = (char)(cm_hex_digit(in[i + 1]) * 16 + cm_hex_digit(in[i + 2]));

            rc = cm_buf_append(b, &byte, 1);
            i += 3;
            continue;
        }
        soft = c == '=' && !underscore_space ? qp_soft_break(in, len, i) : 0;
        if (soft == 0 && !underscore_space && is_blank(c))
            soft = line_end_blanks(in, len, i);
        if (soft > 0) {
            i += soft;
            continue;
        }
        if (c == '_' && underscore_space)
            c = ' ';
        rc = cm_buf_append(b, &c, 1);
        i++;
    }
    return rc;
}

enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP, CTE_UNKNOWN };

static enum cte cte_kind(const char *cte)
{
    static const char *const identity[] = {"7bit", "8bit", "binary", NULL};

    if (cte == NULL || *cte == '\0' || cs_is(cte, identity))
        return CTE_IDENTITY;
    if (strcasecmp(cte, "base64") == 0)
        return CTE_BASE64;
    if (strcasecmp(cte, "quoted-printable") == 0)
        return CTE_QP;
    return CTE_UNKNOWN;
}

int ib_text_cte_decode(const char *cte, const char *in, size_t len, char **out, size_t *out_len,
                       bool *problem, struct cm_err *err)
{
    struct cm_buf b;
    int rc;

    cm_buf_init(&b, IB_TEXT_MAX_BYTES);
    switch (cte_kind(cte)) {
    case CTE_BASE64: rc = put_base64(&b, in, len); break;
    case CTE_QP: rc = put_qp(&b, in, len, false); break;
    case CTE_UNKNOWN:
        *problem = true;
        rc = cm_buf_append(&b, in, len);
        break;
    default: rc = cm_buf_append(&b, in, len); break;
    }
    return finish(&b, rc, out, out_len, err);
}

size_t ib_text_cte_decoded_size(const char *cte, size_t size)
{
    size_t chars;

    if (cte_kind(cte) != CTE_BASE64)
        return size;
    /* base64 bodies come in lines of 76 characters plus CRLF */
    chars = size - (size / 78) * 2;
    return chars / 4 * 3;
}

/* ---- RFC 2047 ---------------------------------------------------------- */

struct eword {
    const char *cs;   /* charset start */
    size_t cs_len;    /* without any RFC 2231 "*lang" */
    char enc;         /* 'B' or 'Q' */
    const char *text; /* encoded text */
    size_t text_len;
    size_t total; /* bytes from "=?" to "?=" inclusive */
};

static bool ewords_char_ok(char c)
{
    return c > ' ' && c < 0x7F && c != '?';
}

/* Parse "=?cs?X?text?=" at s (bounded by len); false when it is not one. */
static bool eword_parse(const char *s, size_t len, struct eword *w)
{
    size_t i = 2, star;

    if (len < 8 || s[0] != '=' || s[1] != '?')
        return false;
    w->cs = s + 2;
    while (i < len && ewords_char_ok(s[i]))
        i++;
    if (i == 2 || i + 2 >= len || s[i] != '?' || s[i + 2] != '?')
        return false;
    w->cs_len = i - 2;
    for (star = 0; star < w->cs_len && w->cs[star] != '*'; star++)
        ;
    w->cs_len = star;
    w->enc = (char)(s[i + 1] & ~0x20);
    if (w->enc != 'B' && w->enc != 'Q')
        return false;
    i += 3;
    w->text = s + i;
    while (i < len && ewords_char_ok(s[i]))
        i++;
    if (i + 1 >= len || s[i] != '?' || s[i + 1] != '=' || w->cs_len == 0 || w->cs_len > 40)
        return false;
    w->text_len = (size_t)(s + i - w->text);
    w->total = i + 2;
    return true;
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* Drop controls produced by decoding (RFC 8621 4.1.2.2); keeps UTF-8. */
static void drop_controls(struct cm_buf *b, size_t from)
{
    size_t i, o = from;

    for (i = from; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];

        if (c >= 0x20 && c != 0x7F)
            b->data[o++] = (char)c;
    }
    b->len = o;
    if (b->data != NULL)
        b->data[o] = '\0';
}

/* Decode a run of adjacent encoded words (all with the charset of the
   first; the run stops at a charset change) into b. Returns the number of
   input bytes consumed, 0 when the first word's charset is unknown (the
   caller then copies it literally), < 0 on error. */
static long put_eword_run(struct cm_buf *b, const char *s, size_t len)
{
    struct cm_buf raw;
    struct eword w, first;
    size_t i = 0, last_end = 0, mark = b->len;
    bool problem = false, unknown = false;
    char cs[41];
    int rc = 0;

    cm_buf_init(&raw, IB_TEXT_MAX_BYTES);
    if (!eword_parse(s, len, &first))
        return 0;
    memcpy(cs, first.cs, first.cs_len);
    cs[first.cs_len] = '\0';
    while (rc == 0 && eword_parse(s + i, len - i, &w) && w.cs_len == first.cs_len &&
           strncasecmp(w.cs, cs, w.cs_len) == 0) {
        if (w.enc == 'B')
            rc = put_base64(&raw, w.text, w.text_len);
        else
            rc = put_qp(&raw, w.text, w.text_len, true);
        i += w.total;
        last_end = i;
        while (i < len && is_wsp(s[i]))
            i++;
    }
    if (rc == 0 && raw.len > 0)
        rc = put_charset(b, cs, raw.data, raw.len, &problem, &unknown);
    cm_buf_fini(&raw);
    if (rc < 0)
        return rc;
    if (unknown) {
        buf_truncate(b, mark); /* unknown charset: leave the words as they are */
        return 0;
    }
    drop_controls(b, mark);
    return (long)last_end;
}

/* Unfold into a private copy: CR and LF are dropped (a fold keeps its
   following whitespace). */
static int unfold(const char *in, size_t len, struct cm_buf *u)
{
    size_t i, start = 0;
    int rc = 0;

    for (i = 0; i < len && rc == 0; i++) {
        if (in[i] != '\r' && in[i] != '\n')
            continue;
        rc = cm_buf_append(u, in + start, i - start);
        start = i + 1;
    }
    if (rc == 0)
        rc = cm_buf_append(u, in + start, len - start);
    return rc;
}

static bool all_wsp(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!is_wsp(s[i]))
            return false;
    return true;
}

/* Try an encoded-word run at s[i]; plain text before it (from `plain`)
   is flushed first, unless it is only the whitespace between two encoded
   words (after_word), which RFC 2047 6.2 drops. Returns bytes consumed
   (0: not decoded, b unchanged). */
static long try_words(struct cm_buf *b, const char *s, size_t len, size_t plain, size_t i,
                      bool after_word, bool loose)
{
    size_t mark = b->len;
    long used;
    int rc = 0;

    if (!(after_word && all_wsp(s + plain, i - plain)))
        rc = put_guess(b, s + plain, i - plain);
    if (rc < 0)
        return rc;
    used = put_eword_run(b, s + i, len - i);
    if (used < 0)
        return used;
    /* an encoded word must be followed by whitespace or the end */
    if (!loose && used > 0 && (size_t)used < len - i && !is_wsp(s[i + (size_t)used]))
        used = 0;
    if (used == 0)
        buf_truncate(b, mark);
    return used;
}

/* loose: encoded words are decoded wherever they are (parameters). */
static int decode_words(struct cm_buf *b, const char *s, size_t len, bool loose)
{
    size_t i = 0, plain = 0;
    bool after_word = false;

    while (i < len) {
        long used = 0;

        /* an encoded word must start the text or follow whitespace */
        if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' && (loose || i == 0 || is_wsp(s[i - 1])))
            used = try_words(b, s, len, plain, i, after_word, loose);
        if (used < 0)
            return (int)used;
        if (used > 0) {
            i += (size_t)used;
            plain = i;
            after_word = true;
        } else {
            if (!is_wsp(s[i]))
                after_word = false;
            i++;
        }
    }
    return put_guess(b, s + plain, len - plain);
}

static void drop_nuls(struct cm_buf *b)
{
    size_t i, o = 0;

    for (i = 0; i < b->len; i++)
        if (b->data[i] != '\0')
            b->data[o++] = b->data[i];
    buf_truncate(b, o);
}

static int header_decode(const char *in, size_t len, bool loose, char **out, struct cm_err *err)
{
    struct cm_buf u, b;
    size_t start = 0, end;
    int rc;

    cm_buf_init(&u, IB_TEXT_MAX_BYTES);
    cm_buf_init(&b, IB_TEXT_MAX_BYTES);
    rc = unfold(in, len, &u);
    end = u.len;
    while (start < end && is_wsp(u.data[start]))
        start++;
    if (rc == 0)
        rc = decode_words(&b, u.data ? u.data + start : "", end - start, loose);
    if (rc == 0 && b.data != NULL && memchr(b.data, '\0', b.len) != NULL)
        drop_nuls(&b); /* illegal in headers; the result is a C string */
    cm_buf_fini(&u);
    return finish(&b, rc, out, NULL, err);
}

int ib_text_header_decode(const char *in, size_t len, char **out, struct cm_err *err)
{
    char *raw = NULL, *nfc;
    size_t n;
    int rc = header_decode(in, len, false, &raw, err);

    if (rc < 0)
        return rc;
    nfc = cm_nfc(raw, strlen(raw), &n);
    free(raw);
    if (nfc == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    *out = nfc;
    return 0;
}

int ib_text_param_decode(const char *in, size_t len, char **out, struct cm_err *err)
{
    return header_decode(in, len, true, out, err);
}

/* ---- preview ----------------------------------------------------------- */

struct pv {
    struct cm_buf b;
    size_t chars;
    bool space; /* a whitespace run is pending */
    bool full;
};

static bool cp_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' ||
           cp == 0xA0 || cp == 0x2028 || cp == 0x2029;
}

static int pv_put(struct pv *p, uint32_t cp)
{
    int rc = 0;

    if (p->full)
        return 0;
    if (cp_space(cp) || cp < 0x20 || cp == 0x7F) {
        p->space = p->chars > 0;
        return 0;
    }
    if (p->space && p->chars + 2 > PREVIEW_CHARS) {
        p->full = true;
        return 0;
    }
    if (p->space) {
        rc = cm_buf_append(&p->b, " ", 1);
        p->chars++;
        p->space = false;
    }
    if (rc == 0)
        rc = put_cp(&p->b, cp);
    p->chars++;
    p->full = p->chars >= PREVIEW_CHARS;
    return rc;
}

static int pv_text(struct pv *p, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0 && !p->full) {
        uint32_t cp = 0xFFFD;
        int k = u8_seq(u + i, len - i, &cp);

        if (k < 0)
            cp = 0xFFFD;
        i += (size_t)(k < 0 ? -k : k);
        rc = pv_put(p, cp);
    }
    return rc;
}

struct entity {
    const char *name;
    uint32_t cp;
};

static const struct entity entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},      {"trade", 0x2122}, {"euro", 0x20AC},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"laquo", 0xAB},   {"raquo", 0xBB},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"bull", 0x2022},
    {"middot", 0xB7},  {"eacute", 0xE9},  {"egrave", 0xE8},   {"agrave", 0xE0},  {"uuml", 0xFC},
    {"ouml", 0xF6},    {"auml", 0xE4},    {"szlig", 0xDF},    {"ccedil", 0xE7},  {NULL, 0}};

/* Decode the entity at s[0] == '&'; returns bytes consumed (0: not one). */
static size_t entity_parse(const char *s, size_t len, uint32_t *cp)
{
    size_t i = 1, n;
    const struct entity *e;

    if (i < len && s[i] == '#') {
        bool hex = i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X');
        uint32_t v = 0;

        i += hex ? 2 : 1;
        for (n = i; i < len && i - n < 8 && cm_hex_digit(s[i]) >= 0 && (hex || s[i] <= '9'); i++)
            v = v * (hex ? 16 : 10) + (uint32_t)cm_hex_digit(s[i]);
        if (i == n)
            return 0;
        *cp = v == 0 ? 0xFFFD : v; /* put_cp repairs surrogates/out of range */
        return i < len && s[i] == ';' ? i + 1 : i;
    }
    for (e = entities; e->name != NULL; e++) {
        n = strlen(e->name);
        if (len > n + 1 && strncmp(s + 1, e->name, n) == 0 && s[n + 1] == ';') {
            *cp = e->cp;
            return n + 2;
        }
    }
    return 0;
}

/* Find needle (ASCII, case-insensitive) in s[from..len); len if absent. */
static size_t find_ci(const char *s, size_t len, size_t from, const char *needle)
{
    size_t n = strlen(needle), i;

    for (i = from; i + n <= len; i++)
        if (strncasecmp(s + i, needle, n) == 0)
            return i;
    return len;
}

/* Skip the markup at s[i] == '<'; returns the index after it. Elements
   whose content is never shown are skipped whole. */
static size_t skip_markup(const char *s, size_t len, size_t i)
{
    static const char *const hidden[] = {"script", "style", "head", "title", NULL};
    size_t k, end;
    char close[16];

    if (len - i >= 4 && strncmp(s + i, "<!--", 4) == 0) {
        end = find_ci(s, len, i + 4, "-->");
        return end == len ? len : end + 3;
    }
    for (k = 0; hidden[k] != NULL; k++) {
        size_t n = strlen(hidden[k]);

        if (len - i > n + 1 && strncasecmp(s + i + 1, hidden[k], n) == 0 &&
            (s[i + 1 + n] == '>' || is_wsp(s[i + 1 + n]) || s[i + 1 + n] == '\n' ||
             s[i + 1 + n] == '\r')) {
            memcpy(close, "</", 2);
            memcpy(close + 2, hidden[k], n + 1);
            end = find_ci(s, len, i + 1, close);
            if (end == len)
                return len;
            i = end;
            break;
        }
    }
    end = i + 1;
    while (end < len && s[end] != '>')
        end++;
    return end < len ? end + 1 : len;
}

/* Does the tag at s[i] == '<' break words (block elements, <br>)? */
static bool tag_breaks(const char *s, size_t len, size_t i)
{
    static const char *const blocks[] = {
        "br", "p",  "div", "tr", "td",    "th",         "li",  "ul",   "ol",   "h1", "h2", "h3",
        "h4", "h5", "h6",  "hr", "table", "blockquote", "pre", "body", "html", "dd", "dt", NULL};
    size_t k, n, j = i + 1;

    if (j < len && s[j] == '/')
        j++;
    for (n = 0; j + n < len && ((s[j + n] | 0x20) >= 'a' && (s[j + n] | 0x20) <= 'z'); n++)
        ;
    while (n > 0 && j + n < len && s[j + n] >= '1' && s[j + n] <= '6' && n < 2)
        n++;
    for (k = 0; blocks[k] != NULL; k++)
        if (strlen(blocks[k]) == n && strncasecmp(s + j, blocks[k], n) == 0)
            return true;
    return false;
}

static int pv_html(struct pv *p, const char *s, size_t len)
{
    size_t i = 0, start = 0;
    int rc = 0;

    while (i < len && rc == 0 && !p->full) {
        uint32_t cp;
        size_t n;

        if (s[i] != '<' && s[i] != '&') {
            i++;
            continue;
        }
        rc = pv_text(p, s + start, i - start);
        if (s[i] == '<') {
            if (rc == 0 && tag_breaks(s, len, i))
                rc = pv_put(p, ' ');
            i = skip_markup(s, len, i);
        } else {
            n = entity_parse(s + i, len - i, &cp);
            if (rc == 0)
                rc = pv_put(p, n > 0 ? cp : '&');
            i += n > 0 ? n : 1;
        }
        start = i;
    }
    if (rc == 0)
        rc = pv_text(p, s + start, i - start);
    return rc;
}

int ib_text_preview(const char *utf8, size_t len, bool html, char **out, struct cm_err *err)
{
    struct pv p;
    int rc;

    memset(&p, 0, sizeof(p));
    cm_buf_init(&p.b, PREVIEW_CHARS * 4 + 8);
    rc = html ? pv_html(&p, utf8, len) : pv_text(&p, utf8, len);
    return finish(&p.b, rc, out, NULL, err);
}
