/* test_ib_foldermap.c - the per-account folder map cache (ib_foldermap.h):
   fill, lookup without counts, validation against a fresh listing, TTL,
   LRU eviction, forget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_foldermap.h"

/* A listing of n folders "F0".."Fn-1" (INBOX first) with ids "id<i>" and
   counts set, so the test can see them stripped. */
static void listing(struct ib_folder_list *l, size_t n, const char *rename_of_1)
{
    l->items = calloc(n, sizeof(*l->items));
    l->count = n;
    for (size_t i = 0; i < n; i++) {
        struct ib_folder *f = &l->items[i];
        char name[32], id[32];

        snprintf(name, sizeof(name), i == 0 ? "INBOX" : "F%zu", i);
        snprintf(id, sizeof(id), "id%zu", i);
        f->id = strdup(id);
        f->imap_name = strdup(i == 1 && rename_of_1 ? rename_of_1 : name);
        f->name = strdup(f->imap_name);
        f->path = strdup(f->imap_name);
        f->role = i == 0 ? "inbox" : NULL;
        f->selectable = true;
        f->subscribed = i % 2 == 0;
        f->delimiter = '/';
        f->has_status = true;
        f->total = 10 + (uint32_t)i;
        f->uidvalidity = 7;
        f->uidnext = 99;
        f->highestmodseq = 1234;
    }
}

static void test_fill_and_lookup(void)
{
    struct ib_foldermap *m = ib_foldermap_new(4, 60000);
    struct ib_folder_list l, got;

    th_assert(m != NULL);
    th_assert(ib_foldermap_get(m, "acct", 0, &got) == CM_ENOENT);
    th_assert(got.count == 0 && got.items == NULL);
    listing(&l, 3, NULL);
    th_assert(ib_foldermap_store(m, "acct", &l, 1000) == 0);
    th_assert(ib_foldermap_get(m, "other", 1000, &got) == CM_ENOENT);
    th_assert(ib_foldermap_get(m, "acct", 1500, &got) == 0);
    th_assert(got.count == 3);
    for (size_t i = 0; i < got.count; i++) {
        const struct ib_folder *f = &got.items[i];

        th_assert_idx(strcmp(f->id, l.items[i].id) == 0, i);
        th_assert_idx(strcmp(f->imap_name, l.items[i].imap_name) == 0, i);
        th_assert_idx(f->subscribed == l.items[i].subscribed, i);
        th_assert_idx(f->delimiter == '/', i);
        /* never trusted for counts */
        th_assert_idx(!f->has_status && f->total == 0 && f->uidvalidity == 0, i);
        th_assert_idx(f->uidnext == 0 && f->highestmodseq == 0, i);
    }
    th_assert(strcmp(got.items[0].role, "inbox") == 0);
    /* a copy: the caller's listing and the map's entry are independent */
    ib_folder_list_fini(&l);
    ib_folder_list_fini(&got);
    th_assert(ib_foldermap_get(m, "acct", 2000, &got) == 0 && got.count == 3);
    ib_folder_list_fini(&got);
    ib_foldermap_free(&m);
    th_assert(m == NULL);
    ib_foldermap_free(&m);
}

static void test_confirms(void)
{
    struct ib_folder_list cached, same, renamed, gone;

    listing(&cached, 3, NULL);
    listing(&same, 3, NULL);
    listing(&renamed, 3, "F1-renamed");
    listing(&gone, 1, NULL);
    th_assert(ib_foldermap_confirms(&cached.items[1], &same));
    th_assert(!ib_foldermap_confirms(&cached.items[1], &renamed)); /* id moved to another name */
    th_assert(!ib_foldermap_confirms(&cached.items[1], &gone));    /* id gone */
    th_assert(ib_foldermap_confirms(&cached.items[0], &gone));
    same.items[2].selectable = false;
    th_assert(!ib_foldermap_confirms(&cached.items[2], &same));
    /* a folder deleted and created again under the same name gets a new id */
    free(same.items[0].id);
    same.items[0].id = strdup("id-new");
    th_assert(!ib_foldermap_confirms(&cached.items[0], &same));
    ib_folder_list_fini(&cached);
    ib_folder_list_fini(&same);
    ib_folder_list_fini(&renamed);
    ib_folder_list_fini(&gone);
}

static void test_ttl_forget_replace(void)
{
    struct ib_foldermap *m = ib_foldermap_new(4, 5000);
    struct ib_folder_list l, l2, got;

    listing(&l, 2, NULL);
    listing(&l2, 2, "F1-renamed");
    th_assert(ib_foldermap_store(m, "a", &l, 1000) == 0);
    th_assert(ib_foldermap_get(m, "a", 6000, &got) == 0); /* exactly ttl old: kept */
    ib_folder_list_fini(&got);
    th_assert(ib_foldermap_get(m, "a", 6001, &got) == CM_ENOENT);
    th_assert(ib_foldermap_count(m) == 0); /* an expired entry is dropped */
    th_assert(ib_foldermap_store(m, "a", &l, 7000) == 0);
    th_assert(ib_foldermap_store(m, "a", &l2, 7001) == 0); /* replaces, not adds */
    th_assert(ib_foldermap_count(m) == 1);
    th_assert(ib_foldermap_get(m, "a", 7002, &got) == 0);
    th_assert(got.count == 2 && strcmp(got.items[1].imap_name, "F1-renamed") == 0);
    ib_folder_list_fini(&got);
    ib_foldermap_forget(m, "a");
    ib_foldermap_forget(m, "never-stored");
    th_assert(ib_foldermap_get(m, "a", 7003, &got) == CM_ENOENT);
    ib_folder_list_fini(&l);
    ib_folder_list_fini(&l2);
    ib_foldermap_free(&m);
}

static void test_lru_eviction(void)
{
    struct ib_foldermap *m = ib_foldermap_new(3, 1000000);
    struct ib_folder_list l, got;

    listing(&l, 1, NULL);
    th_assert(ib_foldermap_store(m, "a", &l, 1) == 0);
    th_assert(ib_foldermap_store(m, "b", &l, 2) == 0);
    th_assert(ib_foldermap_store(m, "c", &l, 3) == 0);
    th_assert(ib_foldermap_get(m, "a", 4, &got) == 0); /* a is used again: b is now oldest */
    ib_folder_list_fini(&got);
    th_assert(ib_foldermap_store(m, "d", &l, 5) == 0);
    th_assert(ib_foldermap_count(m) == 3);
    th_assert(ib_foldermap_get(m, "b", 6, &got) == CM_ENOENT);
    static const char *const kept[] = { "a", "c", "d" };
    for (size_t i = 0; i < 3; i++) {
        th_assert_idx(ib_foldermap_get(m, kept[i], 7, &got) == 0, i);
        ib_folder_list_fini(&got);
    }
    ib_folder_list_fini(&l);
    ib_foldermap_free(&m);
}

int main(void)
{
    th_run("foldermap: fill, lookup, counts never kept", test_fill_and_lookup);
    th_run("foldermap: a fresh listing confirms or refutes a cached folder", test_confirms);
    th_run("foldermap: ttl, replace, forget", test_ttl_forget_replace);
    th_run("foldermap: full map evicts the least recently used", test_lru_eviction);
    return th_end();
}
