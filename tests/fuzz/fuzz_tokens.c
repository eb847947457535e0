/* fuzz_tokens.c - libFuzzer target for every token a client hands back:
 * JMAP state strings, REST cursors and query states (ib_state_decode),
 * raw cm_token, blob ids (authenticated), email ids and thread ids.
 *
 * Forged tokens are refused by the HMAC before any payload is read, so
 * random text alone would never reach the payload decoders (varints,
 * deflate, entry limits). Mode 1 therefore seals the input under the test
 * key first, as if the gateway had issued it: the decoders must then still
 * refuse malformed payloads cleanly. The first byte picks the mode and the
 * token kind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "common/cm_crypto.h"
#include "common/cm_token.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_park_blob.h"
#include "imapbridge/ib_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz_tokens key, 32 bytes long!";
static const unsigned char kinds[] = { 1, 2, 3, 6, 7, 12 }; /* ib_state kinds, ib_ids blob kinds,
                                                              IB_PARK_TOKEN_KIND */

/* Decode text as each state kind; re-encode what decodes and check the
   round trip gives the same entries. */
static void states(const char *text)
{
    for (int k = IB_STATE_EMAIL; k <= IB_STATE_QUERY; k++) {
        struct ib_state_entry *e = NULL, *e2 = NULL;
        size_t n = 0, n2 = 0;
        char *again;

        if (ib_state_decode(key, (enum ib_state_kind)k, text, &e, &n) != 0)
            continue;
        if (n > 0)
            (void)ib_state_find(e, n, e[n / 2].folder_key);
        again = ib_state_encode(key, (enum ib_state_kind)k, e, n);
        if (again == NULL || ib_state_decode(key, (enum ib_state_kind)k, again, &e2, &n2) != 0 ||
            n2 != n || (n > 0 && memcmp(e, e2, n * sizeof(*e)) != 0))
            abort(); /* what decodes must survive a round trip */
        free(again);
        free(e);
        free(e2);
    }
}

/* A parked blob id that parses re-encodes to one that parses the same. */
static void parked(const char *text)
{
    struct ib_park_ref ref, again;
    char *id;

    if (ib_park_blob_parse(key, text, &ref) != 0)
        return;
    id = ib_park_blob_id(key, &ref);
    if (id == NULL || ib_park_blob_parse(key, id, &again) != 0 ||
        memcmp(&ref, &again, sizeof(ref)) != 0)
        abort();
    free(id);
}

static void ids(const char *text)
{
    struct ib_email_loc loc;
    char *part = NULL, *root, *guid = NULL, email[IB_IDS_EMAIL_MAX + 1];
    unsigned char *payload = NULL;
    size_t len = 0;

    if (ib_ids_email_parse(text, &loc) == 0) {
        char back[IB_IDS_EMAIL_LEN + 1];

        ib_ids_email(&loc, back);
        if (strcmp(back, text) != 0)
            abort(); /* one id per location */
    }
    if (ib_ids_email_guid_parse(text, &guid) == 0) {
        char back[IB_IDS_EMAIL_MAX + 1];

        if (ib_ids_email_guid(guid, back) != 0 || strcmp(back, text) != 0)
            abort(); /* one id per GUID */
        free(guid);
    }
    if (ib_ids_blob_parse(key, text, email, &part) == 0)
        free(part);
    parked(text);
    if ((root = ib_ids_thread_root(text)) != NULL)
        free(root);
    for (unsigned char k = 0; k < 16; k++) {
        if (cm_token_decode(key, k, text, &payload, &len) == 0)
            free(payload);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *text;

    if (!ready) {
        if (cm_crypto_init() < 0)
            abort();
        ready = 1;
    }
    if (size == 0 || size > 70000)
        return 0;
    /* odd mode: a sealed payload of state kind 1-3, 6 (blob ids) or 7 (parked blobs) */
    text = data[0] % 2 == 1 ? cm_token_encode(key, kinds[data[0] / 2 % 5], data + 1, size - 1)
                            : fuzz_text_after_mode(data, size);
    if (text == NULL)
        return 0;
    states(text);
    ids(text);
    free(text);
    return 0;
}
