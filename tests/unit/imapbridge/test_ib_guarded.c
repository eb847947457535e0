/* test_ib_guarded.c - reading the ESEARCH answer of a guarded write's
   UID SEARCH RETURN (SAVE ALL) (ib_guarded.h): which guards held. */
#include "harness/th.h"
#include "imapbridge/ib_guarded.h"

static void test_esearch(void)
{
    const char *hits = "* ESEARCH (TAG \"12\") UID ALL 1,3:5,9";

    th_assert(ib_guarded_esearch_has(hits, 12, 1) == 1);
    th_assert(ib_guarded_esearch_has(hits, 12, 4) == 1);
    th_assert(ib_guarded_esearch_has(hits, 12, 9) == 1);
    th_assert(ib_guarded_esearch_has(hits, 12, 2) == 0);
    th_assert(ib_guarded_esearch_has(hits, 12, 10) == 0);
    th_assert(ib_guarded_esearch_has(hits, 13, 1) == -1);   /* another command's */
    th_assert(ib_guarded_esearch_has("* ESEARCH (TAG \"12\") UID", 12, 1) == 0); /* none held */
    th_assert(ib_guarded_esearch_has("* 1 FETCH (UID 1 MODSEQ (3))", 12, 1) == -1);
    th_assert(ib_guarded_esearch_has("* ESEARCH (TAG \"12\") UID ALL 7:5", 12, 6) == 1);
    th_assert(ib_guarded_esearch_has("* ESEARCH (TAG \"12\") UID ALL x", 12, 6) == 0);
    th_assert(ib_guarded_esearch_has("* ESEARCH (TAG \"1\") UID ALL 1", 12, 1) == -1);
}

int main(void)
{
    th_run("guarded: ESEARCH ALL sets", test_esearch);
    return th_end();
}
