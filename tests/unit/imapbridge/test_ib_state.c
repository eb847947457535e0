/* test_ib_state.c - state vectors round-trip, stay small, refuse forgeries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_crypto.h"
#include "harness/th.h"
#include "imapbridge/ib_state.h"

static const unsigned char key[32] = "state-key-state-key-state-key-1";

static void test_round_trip(void)
{
    struct ib_state_entry in[40], *out = NULL;
    size_t n = 0;
    char *t;

    for (int i = 0; i < 40; i++) {
        char id[16];

        snprintf(id, sizeof(id), "m%d", i);
        in[i] = (struct ib_state_entry){ ib_state_folder_key(id), 1700000000u + (uint32_t)i,
                                         (uint64_t)i * 1000003ULL, (uint32_t)i * 7 + 1,
                                         (uint32_t)i * 5 };
    }
    in[3].modseq = UINT64_MAX;
    in[4].uidvalidity = UINT32_MAX;
    t = ib_state_encode(key, IB_STATE_EMAIL, in, 40);
    th_assert(t != NULL);
    th_assert(strlen(t) < 1200); /* 40 folders fit in a short string */
    th_assert(ib_state_decode(key, IB_STATE_EMAIL, t, &out, &n) == 0);
    th_assert(n == 40);
    for (int i = 0; i < 40; i++) {
        const struct ib_state_entry *e = ib_state_find(out, n, in[i].folder_key);

        th_assert_idx(e != NULL && e->uidvalidity == in[i].uidvalidity &&
                          e->modseq == in[i].modseq && e->uidnext == in[i].uidnext &&
                          e->exists == in[i].exists, i);
    }
    th_assert(ib_state_find(out, n, 12345) == NULL);
    free(out);
    th_assert(ib_state_decode(key, IB_STATE_CURSOR, t, &out, &n) == CM_EINVAL);
    t[strlen(t) / 2] ^= 1;
    th_assert(ib_state_decode(key, IB_STATE_EMAIL, t, &out, &n) == CM_EINVAL);
    free(t);
}

static void test_empty_and_garbage(void)
{
    struct ib_state_entry *out = NULL;
    size_t n = 99;
    char *t = ib_state_encode(key, IB_STATE_CURSOR, NULL, 0);

    th_assert(t != NULL);
    th_assert(ib_state_decode(key, IB_STATE_CURSOR, t, &out, &n) == 0 && n == 0);
    free(out);
    free(t);
    th_assert(ib_state_decode(key, IB_STATE_CURSOR, "garbage", &out, &n) == CM_EINVAL);
    th_assert(ib_state_decode(key, IB_STATE_CURSOR, "", &out, &n) == CM_EINVAL);
    th_assert(ib_state_folder_key("INBOX") == ib_state_folder_key("INBOX"));
    th_assert(ib_state_folder_key("INBOX") != ib_state_folder_key("Inbox"));
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("round_trip", test_round_trip);
    th_run("empty_and_garbage", test_empty_and_garbage);
    return th_end();
}
