/* test_ib_uidset.c - UID sets and the search keys a gateway route builds
   (ib_uidset.h, ib_search_key_uids/_header_any/_day), as the wire text
   ib_search_key_render gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_uidset.h"

/* The key's text, then the key freed; "(null)" when key is NULL. */
static bool renders(struct mailimap_search_key *key, const char *want)
{
    char *got = key ? ib_search_key_render(key) : NULL;
    bool ok = got != NULL && strcmp(got, want) == 0;

    if (!ok)
        fprintf(stderr, "  got \"%s\", want \"%s\"\n", got ? got : "(null)", want);
    free(got);
    ib_search_key_free(key);
    return ok;
}

static void test_sets(void)
{
    static const uint32_t runs[] = { 1, 2, 3, 7, 9, 10 }, unordered[] = { 5, 3, 4 };

    th_assert(renders(ib_search_key_uids(ib_uidset_single(42)), "UID 42"));
    th_assert(renders(ib_search_key_uids(ib_uidset_interval(5, 9)), "UID 5:9"));
    th_assert(renders(ib_search_key_uids(ib_uidset_interval(30, 0)), "UID 30:*"));
    th_assert(renders(ib_search_key_uids(ib_uidset_of(runs, 6)), "UID 1:3,7,9:10"));
    th_assert(renders(ib_search_key_uids(ib_uidset_of(unordered, 3)), "UID 5,3:4"));
    th_assert(ib_search_key_uids(NULL) == NULL);
    ib_uidset_free(NULL);
    ib_uidset_free(ib_uidset_of(runs, 0));
}

static void test_keys(void)
{
    static const char *const fields[] = { "Message-ID", "References", "In-Reply-To" };

    th_assert(renders(ib_search_key_header_any(fields, 1, "<a@b>"), "HEADER Message-ID \"<a@b>\""));
    th_assert(renders(ib_search_key_header_any(fields, 3, "<a@b>"),
                      "OR HEADER Message-ID \"<a@b>\" OR HEADER References \"<a@b>\" "
                      "HEADER In-Reply-To \"<a@b>\""));
    th_assert(ib_search_key_header_any(fields, 0, "<a@b>") == NULL);
    /* 2024-03-01T23:30:00Z: the UTC day, whatever the local zone */
    th_assert(renders(ib_search_key_day(false, 1709335800), "SINCE 1-Mar-2024"));
    th_assert(renders(ib_search_key_day(true, 1709335800), "BEFORE 1-Mar-2024"));
    ib_search_key_free(NULL);
}

int main(void)
{
    th_run("uidset: single, interval, runs of an array", test_sets);
    th_run("uidset: header OR chain, SINCE/BEFORE a UTC day", test_keys);
    return th_end();
}
