/* ib_ids.c - email, blob and thread ids. */
#include "imapbridge/ib_ids.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "common/cm_token.h"

#define BLOB_KIND 6     /* older blob ids: location + part */
#define BLOB_ID_KIND 12 /* blob ids: email id + part */
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

enum ib_ids_kind ib_ids_email_kind(const char *id)
{
    switch (id[0]) {
    case 'e': return IB_IDS_LOCATION;
    case 'h':
    case 'g': return IB_IDS_GUID;
    default: return IB_IDS_NOT_OURS;
    }
}

bool ib_ids_guid_valid(const char *guid)
{
    size_t n = strlen(guid);

    if (n == 0 || n > IB_IDS_MAX_GUID)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)guid[i];

        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static bool lower_hex32(const char *guid)
{
    size_t i;

    for (i = 0; guid[i] != '\0'; i++) {
        if (!((guid[i] >= '0' && guid[i] <= '9') || (guid[i] >= 'a' && guid[i] <= 'f')))
            return false;
    }
    return i == 32;
}

int ib_ids_email_guid(const char *guid, char *dst)
{
    if (!ib_ids_guid_valid(guid))
        return CM_EINVAL;
    if (lower_hex32(guid)) {
        unsigned char raw[16];

        for (int i = 0; i < 16; i++)
            raw[i] = (unsigned char)(cm_hex_digit(guid[2 * i]) << 4 | cm_hex_digit(guid[2 * i + 1]));
        dst[0] = 'h';
        cm_b64url_encode(raw, sizeof(raw), dst + 1);
        return 0;
    }
    dst[0] = 'g';
    cm_b64url_encode(guid, strlen(guid), dst + 1);
    return 0;
}

int ib_ids_email_guid_parse(const char *id, char **guid_r)
{
    size_t n = strlen(id), len = 0;
    unsigned char *raw;
    char *guid;

    *guid_r = NULL;
    if ((id[0] != 'h' && id[0] != 'g') || n < 2 || n > IB_IDS_EMAIL_MAX)
        return CM_EINVAL;
    raw = cm_b64url_decode(id + 1, n - 1, &len);
    if (raw == NULL)
        return CM_EINVAL;
    if (id[0] == 'h') {
        guid = len == 16 ? malloc(33) : NULL;
        if (guid != NULL)
            cm_hex_encode(raw, 16, guid);
        free(raw);
    } else {
        guid = (char *)raw; /* NUL-terminated by cm_b64url_decode */
        if (strlen(guid) != len || lower_hex32(guid)) {
            free(guid); /* embedded NUL, or not the one spelling of this GUID */
            guid = NULL;
        }
    }
    if (guid == NULL || !ib_ids_guid_valid(guid)) {
        free(guid);
        return CM_EINVAL;
    }
    *guid_r = guid;
    return 0;
}

char *ib_ids_blob(const unsigned char key[32], const char *email_id, const char *part)
{
    size_t ilen = strlen(email_id), plen = strlen(part);
    unsigned char *buf;
    char *token;

    if (ilen == 0 || ilen > IB_IDS_EMAIL_MAX)
        return NULL;
    buf = malloc(1 + ilen + plen);
    if (buf == NULL)
        return NULL;
    buf[0] = (unsigned char)ilen;
    memcpy(buf + 1, email_id, ilen);
    memcpy(buf + 1 + ilen, part, plen);
    token = cm_token_encode(key, BLOB_ID_KIND, buf, 1 + ilen + plen);
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

/* A blob id of the older form: location + part. */
static int blob_parse_loc(const unsigned char key[32], const char *blob_id, char *email_id_r,
                          char **part_r)
{
    unsigned char *payload = NULL;
    struct ib_email_loc loc;
    size_t len = 0;

    if (cm_token_decode(key, BLOB_KIND, blob_id, &payload, &len) < 0 || len < LOC_BYTES ||
        !valid_part((char *)payload + LOC_BYTES, len - LOC_BYTES)) {
        free(payload);
        return CM_EINVAL;
    }
    unpack_loc(payload, &loc);
    ib_ids_email(&loc, email_id_r);
    *part_r = strndup((char *)payload + LOC_BYTES, len - LOC_BYTES);
    free(payload);
    return *part_r != NULL ? 0 : CM_ENOMEM;
}

int ib_ids_blob_parse(const unsigned char key[32], const char *blob_id, char *email_id_r,
                      char **part_r)
{
    unsigned char *payload = NULL;
    size_t len = 0, ilen;

    *part_r = NULL;
    if (cm_token_decode(key, BLOB_ID_KIND, blob_id, &payload, &len) < 0)
        return blob_parse_loc(key, blob_id, email_id_r, part_r);
    ilen = len > 0 ? payload[0] : 0;
    if (ilen == 0 || 1 + ilen > len || memchr(payload + 1, '\0', ilen) != NULL ||
        !valid_part((char *)payload + 1 + ilen, len - 1 - ilen)) {
        free(payload);
        return CM_EINVAL;
    }
    memcpy(email_id_r, payload + 1, ilen);
    email_id_r[ilen] = '\0';
    *part_r = strndup((char *)payload + 1 + ilen, len - 1 - ilen);
    free(payload);
    return *part_r != NULL ? 0 : CM_ENOMEM;
}

/* kind + base64url(data[0..n)), malloc'd (NULL on OOM). */
static char *kind_b64(char kind, const void *data, size_t n)
{
    char *id = malloc(1 + cm_b64url_encoded_len(n) + 1);

    if (id != NULL) {
        id[0] = kind;
        cm_b64url_encode(data, n, id + 1);
    }
    return id;
}

char *ib_ids_thread(const char *root)
{
    size_t n = strlen(root);

    if (n == 0 || n > IB_IDS_MAX_ROOT) {
        unsigned char md[CM_SHA256_LEN];

        cm_sha256(root, n, md);
        return kind_b64('T', md, 12);
    }
    return kind_b64('t', root, n);
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

char *ib_ids_thread_server(const char *server_tid)
{
    return ib_ids_guid_valid(server_tid) ? kind_b64('s', server_tid, strlen(server_tid)) : NULL;
}

char *ib_ids_thread_server_parse(const char *thread_id)
{
    size_t len = 0;
    char *raw;

    if (thread_id[0] != 's' || thread_id[1] == '\0' || strlen(thread_id) > IB_IDS_EMAIL_MAX)
        return NULL;
    raw = (char *)cm_b64url_decode(thread_id + 1, strlen(thread_id + 1), &len);
    if (raw != NULL && (strlen(raw) != len || !ib_ids_guid_valid(raw))) {
        free(raw); /* embedded NUL, or nothing a server would send */
        raw = NULL;
    }
    return raw;
}
