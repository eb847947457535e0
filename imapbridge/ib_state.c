/* ib_state.c - packed, deflated, authenticated folder vectors. */
#include "imapbridge/ib_state.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/cm_crypto.h"
#include "common/cm_token.h"

#define MAX_ENTRY_BYTES (8 + 10 * 4)
#define FORMAT_DEFLATE 1

uint64_t ib_state_folder_key(const char *mailbox_id)
{
    unsigned char md[CM_SHA256_LEN];
    uint64_t k = 0;

    cm_sha256(mailbox_id, strlen(mailbox_id), md);
    for (int i = 0; i < 8; i++)
        k = (k << 8) | md[i];
    return k;
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;

    do {
        p[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    return n;
}

static int get_varint(const unsigned char *p, size_t len, size_t *pos, uint64_t *v_r)
{
    uint64_t v = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        unsigned char b;

        if (*pos >= len)
            return -1;
        b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v_r = v;
            return 0;
        }
    }
    return -1;
}

static int cmp_entry(const void *a, const void *b)
{
    uint64_t x = ((const struct ib_state_entry *)a)->folder_key;
    uint64_t y = ((const struct ib_state_entry *)b)->folder_key;

    return x < y ? -1 : x > y;
}

static size_t pack(const struct ib_state_entry *e, size_t n, unsigned char *out)
{
    size_t len = put_varint(out, n);

    for (size_t i = 0; i < n; i++) {
        for (int b = 7; b >= 0; b--)
            out[len++] = (unsigned char)(e[i].folder_key >> (8 * b));
        len += put_varint(out + len, e[i].uidvalidity);
        len += put_varint(out + len, e[i].modseq);
        len += put_varint(out + len, e[i].uidnext);
        len += put_varint(out + len, e[i].exists);
    }
    return len;
}

char *ib_state_encode(const unsigned char key[32], enum ib_state_kind kind,
                      const struct ib_state_entry *entries, size_t n)
{
    struct ib_state_entry *sorted;
    unsigned char *packed, *payload;
    uLongf zlen;
    size_t plen;
    char *token = NULL;

    if (n > IB_STATE_MAX_ENTRIES)
        return NULL;
    sorted = malloc(n ? n * sizeof(*sorted) : 1);
    packed = malloc(10 + n * MAX_ENTRY_BYTES);
    zlen = compressBound(10 + n * MAX_ENTRY_BYTES);
    payload = malloc(1 + zlen);
    if (sorted != NULL && packed != NULL && payload != NULL) {
        if (n > 0)
            memcpy(sorted, entries, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_entry);
        plen = pack(sorted, n, packed);
        payload[0] = FORMAT_DEFLATE;
        if (compress2(payload + 1, &zlen, packed, plen, Z_BEST_COMPRESSION) == Z_OK)
            token = cm_token_encode(key, (unsigned char)kind, payload, 1 + zlen);
    }
    free(sorted);
    free(packed);
    free(payload);
    return token;
}

static int unpack(const unsigned char *p, size_t len, struct ib_state_entry **entries_r,
                  size_t *n_r)
{
    size_t pos = 0;
    uint64_t n, v[4];
    struct ib_state_entry *e;

    if (get_varint(p, len, &pos, &n) < 0 || n > IB_STATE_MAX_ENTRIES)
        return CM_EINVAL;
    e = calloc(n ? n : 1, sizeof(*e));
    if (e == NULL)
        return CM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (pos + 8 > len)
            goto bad;
        for (int b = 0; b < 8; b++)
            e[i].folder_key = (e[i].folder_key << 8) | p[pos++];
        for (int f = 0; f < 4; f++) {
            if (get_varint(p, len, &pos, &v[f]) < 0)
                goto bad;
        }
        if (v[0] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX)
            goto bad;
        e[i].uidvalidity = (uint32_t)v[0];
        e[i].modseq = v[1];
        e[i].uidnext = (uint32_t)v[2];
        e[i].exists = (uint32_t)v[3];
        if (i > 0 && e[i].folder_key <= e[i - 1].folder_key)
            goto bad;
    }
    if (pos != len)
        goto bad;
    *entries_r = e;
    *n_r = n;
    return 0;
bad:
    free(e);
    return CM_EINVAL;
}

int ib_state_decode(const unsigned char key[32], enum ib_state_kind kind, const char *text,
                    struct ib_state_entry **entries_r, size_t *n_r)
{
    unsigned char *payload = NULL, *packed = NULL;
    size_t plen = 0;
    uLongf ulen = 10 + IB_STATE_MAX_ENTRIES * MAX_ENTRY_BYTES;
    int rc = cm_token_decode(key, (unsigned char)kind, text, &payload, &plen);

    if (rc < 0)
        return rc;
    rc = CM_EINVAL;
    if (plen >= 2 && payload[0] == FORMAT_DEFLATE) {
        packed = malloc(ulen);
        if (packed == NULL)
            rc = CM_ENOMEM;
        else if (uncompress(packed, &ulen, payload + 1, plen - 1) == Z_OK)
            rc = unpack(packed, ulen, entries_r, n_r);
    }
    free(packed);
    free(payload);
    return rc;
}

const struct ib_state_entry *ib_state_find(const struct ib_state_entry *entries, size_t n,
                                           uint64_t folder_key)
{
    struct ib_state_entry probe = { .folder_key = folder_key };

    return bsearch(&probe, entries, n, sizeof(*entries), cmp_entry);
}
