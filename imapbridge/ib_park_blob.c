/* ib_park_blob.c - parked blob ids and the base64 wrapper message. */
#include "imapbridge/ib_park_blob.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_b64.h"
#include "common/cm_token.h"

#define FIXED_BYTES 24 /* uidvalidity, uid, size, created */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool ib_park_type_ok(const char *type)
{
    size_t n = type ? strlen(type) : 0;

    if (n == 0 || n > IB_PARK_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)type[i];

        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

char *ib_park_blob_id(const unsigned char key[32], const struct ib_park_ref *ref)
{
    unsigned char buf[FIXED_BYTES + IB_ACCOUNT_ID_LEN + IB_PARK_TYPE_MAX];
    size_t tlen = strlen(ref->type);

    if (!ib_park_type_ok(ref->type) || strlen(ref->account) != IB_ACCOUNT_ID_LEN)
        return NULL;
    put_be(buf, ref->uidvalidity, 4);
    put_be(buf + 4, ref->uid, 4);
    put_be(buf + 8, ref->size, 8);
    put_be(buf + 16, (uint64_t)ref->created, 8);
    memcpy(buf + FIXED_BYTES, ref->account, IB_ACCOUNT_ID_LEN);
    memcpy(buf + FIXED_BYTES + IB_ACCOUNT_ID_LEN, ref->type, tlen);
    return cm_token_encode(key, IB_PARK_TOKEN_KIND, buf, FIXED_BYTES + IB_ACCOUNT_ID_LEN + tlen);
}

int ib_park_blob_parse(const unsigned char key[32], const char *blob_id, struct ib_park_ref *ref_r)
{
    unsigned char *p = NULL;
    size_t len = 0, tlen;

    if (blob_id == NULL || cm_token_decode(key, IB_PARK_TOKEN_KIND, blob_id, &p, &len) < 0)
        return CM_EINVAL;
    tlen = len >= FIXED_BYTES + IB_ACCOUNT_ID_LEN ? len - FIXED_BYTES - IB_ACCOUNT_ID_LEN : 0;
    if (tlen == 0 || tlen > IB_PARK_TYPE_MAX) {
        free(p);
        return CM_EINVAL;
    }
    memset(ref_r, 0, sizeof(*ref_r));
    ref_r->uidvalidity = (uint32_t)get_be(p, 4);
    ref_r->uid = (uint32_t)get_be(p + 4, 4);
    ref_r->size = get_be(p + 8, 8);
    ref_r->created = (int64_t)get_be(p + 16, 8);
    memcpy(ref_r->account, p + FIXED_BYTES, IB_ACCOUNT_ID_LEN);
    memcpy(ref_r->type, p + FIXED_BYTES + IB_ACCOUNT_ID_LEN, tlen);
    free(p);
    if (strspn(ref_r->account,
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
        IB_ACCOUNT_ID_LEN)
        return CM_EINVAL;
    return ref_r->uid != 0 && ib_park_type_ok(ref_r->type) ? 0 : CM_EINVAL;
}

bool ib_park_expired(const struct ib_park_ref *ref, int64_t now, unsigned int ttl)
{
    return now < ref->created - 300 || now - ref->created >= (int64_t)ttl;
}

int ib_park_wrap_begin(struct ib_park_wrap *w, struct cm_buf *out, int64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    char date[64];

    memset(w, 0, sizeof(*w));
    w->out = out;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return cm_buf_printf(out,
                         "From: jmapgate <uploads@jmapgate.invalid>\r\n"
                         "Subject: jmapgate upload\r\n"
                         "Date: %s\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: application/octet-stream\r\n"
                         "Content-Transfer-Encoding: base64\r\n"
                         "X-Jmapgate: parked upload, deleted when used or expired\r\n"
                         "\r\n",
                         date);
}

/* Encode the 3 (or n < 3 at the end, padded) pending bytes. */
static int emit(struct ib_park_wrap *w, size_t n)
{
    unsigned char *p = w->pend;
    char q[6];
    size_t k = 0;

    q[k++] = b64_alphabet[p[0] >> 2];
    q[k++] = b64_alphabet[((p[0] & 3) << 4) | (n > 1 ? p[1] >> 4 : 0)];
    q[k++] = n > 1 ? b64_alphabet[((p[1] & 15) << 2) | (n > 2 ? p[2] >> 6 : 0)] : '=';
    q[k++] = n > 2 ? b64_alphabet[p[2] & 63] : '=';
    w->col += 4;
    if (w->col >= IB_PARK_LINE) {
        q[k++] = '\r';
        q[k++] = '\n';
        w->col = 0;
    }
    w->npend = 0;
    return cm_buf_append(w->out, q, k);
}

int ib_park_wrap_feed(struct ib_park_wrap *w, const void *data, size_t n)
{
    const unsigned char *d = data;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        w->pend[w->npend++] = d[i];
        if (w->npend == 3)
            rc = emit(w, 3);
    }
    w->size += n;
    return rc;
}

int ib_park_wrap_end(struct ib_park_wrap *w)
{
    int rc = w->npend > 0 ? emit(w, w->npend) : 0;

    if (rc == 0 && w->col > 0)
        rc = cm_buf_append(w->out, "\r\n", 2);
    return rc;
}

size_t ib_park_wrapped_size(size_t n)
{
    size_t chars = (n + 2) / 3 * 4;

    return 512 + chars + (chars / IB_PARK_LINE + 1) * 2;
}

int ib_park_unwrap(char *buf, size_t len, size_t *len_r)
{
    unsigned int acc = 0, nbits = 0;
    size_t out = 0, pad = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        int v;

        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        v = cm_b64_digit(c);
        if (v < 0 || pad > 0)
            return CM_EINVAL;
        acc = (acc << 6) | (unsigned int)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            buf[out++] = (char)((acc >> nbits) & 0xff); /* out < i: in place is safe */
        }
    }
    if (pad > 2 || nbits >= 6)
        return CM_EINVAL;
    *len_r = out;
    return 0;
}

static bool field_line(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] != ':' && (unsigned char)p[i] >= 0x21 && (unsigned char)p[i] <= 0x7e)
        i++;
    return i > 0 && i < n && p[i] == ':';
}

bool ib_park_is_message(const char *data, size_t len)
{
    size_t pos = 0, fields = 0;

    if (len == 0 || memchr(data, '\0', len) != NULL)
        return false;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;

        if (n > 0 && data[pos + n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* end of the header section */
        if (data[pos] == ' ' || data[pos] == '\t') {
            if (fields == 0)
                return false;
        } else if (field_line(data + pos, n)) {
            fields++;
        } else {
            return false;
        }
        pos = nl ? (size_t)(nl - data) + 1 : len;
    }
    return fields > 0;
}

uint64_t ib_park_imap_size(const char *data, size_t len)
{
    uint64_t n = len;

    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            n++;
    }
    return n;
}
