/* ib_ids.c - email, blob and thread ids. */
#include "imapbridge/ib_ids.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "common/cm_token.h"

#define BLOB_KIND 6
#define LOC_BYTES 14

uint64_t ib_ids_folder_prefix(uint64_t folder_key)
{
    return folder_key >> 16;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pack_loc(const struct ib_email_loc *loc, unsigned char out[LOC_BYTES])
{
    uint64_t prefix = ib_ids_folder_prefix(loc->folder_key);

    for (int i = 0; i < 6; i++)
        out[i] = (unsigned char)(prefix >> (8 * (5 - i)));
    put32(out + 6, loc->uidvalidity);
    put32(out + 10, loc->uid);
}

static void unpack_loc(const unsigned char in[LOC_BYTES], struct ib_email_loc *loc)
{
    uint64_t prefix = 0;

    for (int i = 0; i < 6; i++)
        prefix = prefix << 8 | in[i];
    loc->folder_key = prefix << 16;
    loc->uidvalidity = get32(in + 6);
    loc->uid = get32(in + 10);
}

void ib_ids_email(const struct ib_email_loc *loc, char *dst)
{
    unsigned char raw[LOC_BYTES];

    pack_loc(loc, raw);
    dst[0] = 'e';
    cm_b64url_encode(raw, sizeof(raw), dst + 1);
}

int ib_ids_email_parse(const char *id, struct ib_email_loc *loc_r)
{
    unsigned char *raw;
    size_t len = 0;

    if (id[0] != 'e' || strlen(id) != IB_IDS_EMAIL_LEN)
        return CM_EINVAL;
    raw = cm_b64url_decode(id + 1, IB_IDS_EMAIL_LEN - 1, &len);
    if (raw == NULL || len != LOC_BYTES) {
        free(raw);
        return CM_EINVAL;
    }
    unpack_loc(raw, loc_r);
    free(raw);
    return loc_r->uid != 0 ? 0 : CM_EINVAL;
}

char *ib_ids_blob(const unsigned char key[32], const struct ib_email_loc *loc, const char *part)
{
    size_t plen = strlen(part);
    unsigned char *buf = malloc(LOC_BYTES + plen);
    char *token;

    if (buf == NULL)
        return NULL;
    pack_loc(loc, buf);
    memcpy(buf + LOC_BYTES, part, plen);
    token = cm_token_encode(key, BLOB_KIND, buf, LOC_BYTES + plen);
    free(buf);
    return token;
}

static bool valid_part(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.'))
            return false;
    }
    return true;
}

int ib_ids_blob_parse(const unsigned char key[32], const char *blob_id,
                      struct ib_email_loc *loc_r, char **part_r)
{
    unsigned char *payload = NULL;
    size_t len = 0;

    if (cm_token_decode(key, BLOB_KIND, blob_id, &payload, &len) < 0 || len < LOC_BYTES ||
        !valid_part((char *)payload + LOC_BYTES, len - LOC_BYTES)) {
        free(payload);
        return CM_EINVAL;
    }
    unpack_loc(payload, loc_r);
    *part_r = strndup((char *)payload + LOC_BYTES, len - LOC_BYTES);
    free(payload);
    return *part_r != NULL ? 0 : CM_ENOMEM;
}

char *ib_ids_thread(const char *root)
{
    size_t n = strlen(root);
    char *id;

    if (n == 0 || n > IB_IDS_MAX_ROOT) {
        unsigned char md[CM_SHA256_LEN];

        cm_sha256(root, n, md);
        id = malloc(1 + cm_b64url_encoded_len(12) + 1);
        if (id != NULL) {
            id[0] = 'T';
            cm_b64url_encode(md, 12, id + 1);
        }
        return id;
    }
    id = malloc(1 + cm_b64url_encoded_len(n) + 1);
    if (id != NULL) {
        id[0] = 't';
        cm_b64url_encode(root, n, id + 1);
    }
    return id;
}

char *ib_ids_thread_root(const char *thread_id)
{
    size_t len = 0;
    unsigned char *raw;

    /* "T" + hash ids are not searchable */
    if (thread_id[0] != 't' || thread_id[1] == '\0')
        return NULL;
    raw = cm_b64url_decode(thread_id + 1, strlen(thread_id + 1), &len);
    if (raw == NULL || len == 0 || len > IB_IDS_MAX_ROOT) {
        free(raw);
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (raw[i] < 0x21 || raw[i] > 0x7e || raw[i] == '"' || raw[i] == '\\') {
            free(raw); /* a Message-ID is printable ASCII: this id was made up */
            return NULL;
        }
    }
    return (char *)raw;
}
