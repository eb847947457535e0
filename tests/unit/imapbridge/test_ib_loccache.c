/* test_ib_loccache.c - the location cache: both directions, staleness,
 * accounts kept apart, and the bound. */
#include <stdio.h>
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_loccache.h"

static void test_both_ways(void)
{
    struct ib_loccache *c = ib_loccache_new(8);
    struct ib_email_loc a = { 0x1111, 7, 42 }, b = { 0x2222, 9, 5 }, r;
    char id[IB_IDS_EMAIL_MAX + 1];

    th_assert(c != NULL);
    th_assert(!ib_loccache_find(c, "acct", "hX", &r));
    ib_loccache_put(c, "acct", "hX", &a);
    th_assert(ib_loccache_find(c, "acct", "hX", &r) && r.uid == 42 && r.folder_key == 0x1111);
    th_assert(ib_loccache_id_at(c, "acct", &a, id) && strcmp(id, "hX") == 0);
    /* the message moves: forward follows, the old location still names it */
    ib_loccache_put(c, "acct", "hX", &b);
    th_assert(ib_loccache_find(c, "acct", "hX", &r) && r.uid == 5 && r.uidvalidity == 9);
    th_assert(ib_loccache_id_at(c, "acct", &a, id) && strcmp(id, "hX") == 0);
    th_assert(ib_loccache_id_at(c, "acct", &b, id) && strcmp(id, "hX") == 0);
    /* the same fact twice is one entry */
    ib_loccache_put(c, "acct", "hX", &b);
    th_assert(ib_loccache_count(c) == 2);
    /* stale: forward gone, reverse kept; seen again: back */
    ib_loccache_forget(c, "acct", "hX");
    th_assert(!ib_loccache_find(c, "acct", "hX", &r));
    th_assert(ib_loccache_id_at(c, "acct", &b, id));
    ib_loccache_put(c, "acct", "hX", &b);
    th_assert(ib_loccache_find(c, "acct", "hX", &r) && r.uid == 5);
    /* another account sees nothing of it */
    th_assert(!ib_loccache_find(c, "other", "hX", &r));
    th_assert(!ib_loccache_id_at(c, "other", &b, id));
    ib_loccache_free(&c);
    th_assert(c == NULL);
}

static void test_bound(void)
{
    struct ib_loccache *c = ib_loccache_new(100);
    struct ib_email_loc loc = { 0xabc, 1, 0 }, r;
    char id[32], got[IB_IDS_EMAIL_MAX + 1];

    for (uint32_t i = 1; i <= 1000; i++) {
        loc.uid = i;
        snprintf(id, sizeof(id), "g%u", i);
        ib_loccache_put(c, "a", id, &loc);
    }
    th_assert(ib_loccache_count(c) == 100);
    th_assert(!ib_loccache_find(c, "a", "g1", &r));   /* the oldest went first */
    th_assert(!ib_loccache_find(c, "a", "g900", &r));
    th_assert(ib_loccache_find(c, "a", "g901", &r) && r.uid == 901);
    th_assert(ib_loccache_find(c, "a", "g1000", &r) && r.uid == 1000);
    loc.uid = 950;
    th_assert(ib_loccache_id_at(c, "a", &loc, got) && strcmp(got, "g950") == 0);
    loc.uid = 5;
    th_assert(!ib_loccache_id_at(c, "a", &loc, got));
    ib_loccache_free(&c);
    th_assert(ib_loccache_new(0) == NULL);
}

int main(void)
{
    th_run("both_ways", test_both_ways);
    th_run("bound", test_bound);
    return th_end();
}
