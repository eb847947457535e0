/* test_ib_sortwin.c - the parsers of the sorted window's answers (the
 * exchange itself, with Dovecot interleaving the answers, is covered by
 * tests/integration/test_query_window.py): ESEARCH PARTIAL in sort order,
 * ranges either way, NIL, other tags and malformed lines; FETCH lines with
 * X-GUID (atom, quoted) and EMAILID among other items, and lines without. */
#include <stdlib.h>
#include <string.h>

#include "harness/th.h"
#include "common/cm_err.h"
#include "imapbridge/ib_sortwin.h"

static int esearch(const char *line, int tag, size_t max, struct ib_sortwin *w)
{
    return ib_sortwin_parse_esearch(line, strlen(line), tag, max, w);
}

static void test_esearch_partial(void)
{
    struct ib_sortwin w = { 0 };

    th_assert(esearch("* ESEARCH (TAG \"12\") UID PARTIAL (1:5 120,119,7,118,116)", 12, 50, &w) == 1);
    th_assert(w.n == 5 && w.uids[0] == 120 && w.uids[2] == 7 && w.uids[4] == 116);
    ib_sortwin_fini(&w);
    /* ranges in the order written, capped at the window */
    th_assert(esearch("* ESEARCH (TAG \"3\") UID PARTIAL (1:6 9:7,2:4) COUNT 40", 3, 5, &w) == 1);
    th_assert(w.n == 5 && w.uids[0] == 9 && w.uids[2] == 7 && w.uids[3] == 2 && w.uids[4] == 3);
    ib_sortwin_fini(&w);
    th_assert(esearch("* ESEARCH (TAG \"3\") UID PARTIAL (200:210 NIL) COUNT 120", 3, 11, &w) == 1);
    th_assert(w.n == 0);
    th_assert(esearch("* ESEARCH (TAG \"3\") UID", 3, 11, &w) == 1 && w.n == 0);
    ib_sortwin_fini(&w);
}

static void test_esearch_not_ours(void)
{
    struct ib_sortwin w = { 0 };

    th_assert(esearch("* ESEARCH (TAG \"31\") UID PARTIAL (1:1 5)", 3, 10, &w) == 0);
    th_assert(esearch("* ESEARCH (TAG \"3\"", 31, 10, &w) == 0);
    th_assert(esearch("* 3 EXISTS", 3, 10, &w) == 0);
    th_assert(esearch("* SEARCH 1 2", 3, 10, &w) == 0);
    th_assert(w.n == 0);
    /* ours but broken */
    th_assert(esearch("* ESEARCH (TAG \"3\") UID PARTIAL (1:2 5,", 3, 10, &w) == CM_EUPSTREAM);
    th_assert(esearch("* ESEARCH (TAG \"3\") UID PARTIAL (1:2 0)", 3, 10, &w) == CM_EUPSTREAM);
    th_assert(esearch("* ESEARCH (TAG \"3\") UID PARTIAL 1:2", 3, 10, &w) == CM_EUPSTREAM);
    th_assert(esearch("* ESEARCH (TAG \"3\") UID PARTIAL (1:2 99999999999)", 3, 10, &w) ==
              CM_EUPSTREAM);
    ib_sortwin_fini(&w);
}

static int fetch(const char *line, const char *key, uint32_t *uid, char **guid)
{
    return ib_sortwin_parse_fetch(line, strlen(line), key, uid, guid);
}

static void test_fetch_guid(void)
{
    uint32_t uid = 0;
    char *g = NULL;

    th_assert(fetch("* 1 FETCH (UID 4 X-GUID 1030016778.M1P11544.vm,S=3294)", "X-GUID", &uid, &g) == 1);
    th_assert(uid == 4 && strcmp(g, "1030016778.M1P11544.vm,S=3294") == 0);
    free(g);
    th_assert(fetch("* 9 FETCH (X-GUID \"a b\" FLAGS (\\Seen $x) MODSEQ (12) UID 77)", "X-GUID",
                    &uid, &g) == 1);
    th_assert(uid == 77 && strcmp(g, "a b") == 0);
    free(g);
    th_assert(fetch("* 2 FETCH (UID 9 BODY[HEADER] {5}\r\nab)cd EMAILID (M1-x))", "EMAILID", &uid,
                    &g) == 1);
    th_assert(uid == 9 && strcmp(g, "M1-x") == 0);
    free(g);
}

static void test_fetch_without(void)
{
    uint32_t uid = 0;
    char *g = NULL;

    th_assert(fetch("* 3 FETCH (FLAGS (\\Seen))", "X-GUID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 FETCH (UID 5 FLAGS (\\Seen))", "X-GUID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 FETCH (X-GUID abc)", "X-GUID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 FETCH (UID 5 X-GUID \"abc)", "X-GUID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 FETCH (UID 5 X-GUID abc", "X-GUID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 FETCH (UID 5 EMAILID ()", "EMAILID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 EXPUNGE", "X-GUID", &uid, &g) == 0 && g == NULL);
    th_assert(fetch("* 3 FETCH (UID 5 BODY[] {99}\r\nab)", "X-GUID", &uid, &g) == 0 && g == NULL);
}

int main(void)
{
    th_run("ESEARCH PARTIAL: sort order, ranges, NIL", test_esearch_partial);
    th_run("ESEARCH of another tag, or malformed", test_esearch_not_ours);
    th_run("FETCH: X-GUID atom/quoted, EMAILID, among other items", test_fetch_guid);
    th_run("FETCH without UID or GUID, or cut short", test_fetch_without);
    return th_end();
}
