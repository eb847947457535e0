/* ib_loccache.c - a bounded two-way map (id <-> location) in a ring of
 * entries with two chained hash tables over it. */
#include "imapbridge/ib_loccache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define MAX_KEY 512

struct entry {
    char *key;              /* account "\n" id; NULL = free slot */
    size_t account_len;
    struct ib_email_loc loc;
    uint64_t fwd_hash, rev_hash;
    uint32_t fwd_next, rev_next;
    bool forgotten;         /* forward entry stale; reverse still true */
};

struct ib_loccache {
    pthread_mutex_t lock;
    struct entry *ring;
    size_t cap, next, count;
    uint32_t *fwd, *rev;    /* bucket heads */
    size_t nbuckets;        /* power of two */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t rev_hash_of(const char *account, size_t alen, const struct ib_email_loc *loc)
{
    uint64_t h = fnv(0xcbf29ce484222325ULL, account, alen);

    h = fnv(h, &loc->folder_key, sizeof(loc->folder_key));
    h = fnv(h, &loc->uidvalidity, sizeof(loc->uidvalidity));
    return fnv(h, &loc->uid, sizeof(loc->uid));
}

struct ib_loccache *ib_loccache_new(size_t max_entries)
{
    struct ib_loccache *c = calloc(1, sizeof(*c));

    if (c == NULL || max_entries == 0 || max_entries > (NONE >> 2))
        return free(c), NULL;
    c->cap = max_entries;
    for (c->nbuckets = 16; c->nbuckets < 2 * max_entries; c->nbuckets <<= 1)
        ;
    c->ring = calloc(c->cap, sizeof(*c->ring));
    c->fwd = malloc(c->nbuckets * sizeof(*c->fwd));
    c->rev = malloc(c->nbuckets * sizeof(*c->rev));
    if (c->ring == NULL || c->fwd == NULL || c->rev == NULL || pthread_mutex_init(&c->lock, NULL)) {
        free(c->ring);
        free(c->fwd);
        free(c->rev);
        free(c);
        return NULL;
    }
    memset(c->fwd, 0xff, c->nbuckets * sizeof(*c->fwd));
    memset(c->rev, 0xff, c->nbuckets * sizeof(*c->rev));
    return c;
}

void ib_loccache_free(struct ib_loccache **cp)
{
    struct ib_loccache *c = *cp;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->cap; i++)
        free(c->ring[i].key);
    free(c->ring);
    free(c->fwd);
    free(c->rev);
    pthread_mutex_destroy(&c->lock);
    free(c);
    *cp = NULL;
}

static void unlink_from(uint32_t *head, uint32_t idx, struct entry *ring, bool fwd)
{
    uint32_t *pp = head;

    while (*pp != NONE) {
        struct entry *e = &ring[*pp];

        if (*pp == idx) {
            *pp = fwd ? e->fwd_next : e->rev_next;
            return;
        }
        pp = fwd ? &e->fwd_next : &e->rev_next;
    }
}

static void evict(struct ib_loccache *c, uint32_t idx)
{
    struct entry *e = &c->ring[idx];

    if (e->key == NULL)
        return;
    unlink_from(&c->fwd[e->fwd_hash & (c->nbuckets - 1)], idx, c->ring, true);
    unlink_from(&c->rev[e->rev_hash & (c->nbuckets - 1)], idx, c->ring, false);
    free(e->key);
    memset(e, 0, sizeof(*e));
    c->count--;
}

/* The newest entry for key (forgotten ones too when all), or NONE. */
static uint32_t find_fwd(struct ib_loccache *c, const char *key, uint64_t h, bool all)
{
    for (uint32_t i = c->fwd[h & (c->nbuckets - 1)]; i != NONE; i = c->ring[i].fwd_next) {
        const struct entry *e = &c->ring[i];

        if (e->fwd_hash == h && strcmp(e->key, key) == 0 && (all || !e->forgotten))
            return i;
    }
    return NONE;
}

static uint32_t find_rev(struct ib_loccache *c, const char *account, size_t alen,
                         const struct ib_email_loc *loc, uint64_t h)
{
    for (uint32_t i = c->rev[h & (c->nbuckets - 1)]; i != NONE; i = c->ring[i].rev_next) {
        const struct entry *e = &c->ring[i];

        if (e->rev_hash == h && e->account_len == alen && memcmp(e->key, account, alen) == 0 &&
            e->loc.folder_key == loc->folder_key && e->loc.uidvalidity == loc->uidvalidity &&
            e->loc.uid == loc->uid)
            return i;
    }
    return NONE;
}

/* account "\n" id into buf; false when too long. */
static bool make_key(char *buf, const char *account, const char *id)
{
    size_t a = strlen(account), n = strlen(id);

    if (a + 1 + n + 1 > MAX_KEY)
        return false;
    memcpy(buf, account, a);
    buf[a] = '\n';
    memcpy(buf + a + 1, id, n + 1);
    return true;
}

void ib_loccache_put(struct ib_loccache *c, const char *account, const char *id,
                     const struct ib_email_loc *loc)
{
    char key[MAX_KEY];
    size_t alen = strlen(account);
    uint64_t fh, rh = rev_hash_of(account, alen, loc);
    uint32_t i, idx;
    struct entry *e;

    if (c == NULL || strlen(id) > IB_IDS_EMAIL_MAX || !make_key(key, account, id))
        return;
    fh = fnv(0xcbf29ce484222325ULL, key, strlen(key));
    pthread_mutex_lock(&c->lock);
    i = find_rev(c, account, alen, loc, rh);
    if (i != NONE && strcmp(c->ring[i].key + alen + 1, id) == 0 &&
        find_fwd(c, key, fh, true) == i) {
        c->ring[i].forgotten = false; /* already the newest word on id */
        pthread_mutex_unlock(&c->lock);
        return;
    }
    idx = (uint32_t)c->next;
    c->next = (c->next + 1) % c->cap;
    evict(c, idx);
    e = &c->ring[idx];
    e->key = strdup(key);
    if (e->key != NULL) {
        e->account_len = alen;
        e->loc = *loc;
        e->fwd_hash = fh;
        e->rev_hash = rh;
        e->fwd_next = c->fwd[fh & (c->nbuckets - 1)];
        e->rev_next = c->rev[rh & (c->nbuckets - 1)];
        c->fwd[fh & (c->nbuckets - 1)] = idx;
        c->rev[rh & (c->nbuckets - 1)] = idx;
        c->count++;
    }
    pthread_mutex_unlock(&c->lock);
}

bool ib_loccache_find(struct ib_loccache *c, const char *account, const char *id,
                      struct ib_email_loc *loc_r)
{
    char key[MAX_KEY];
    uint32_t i;

    if (c == NULL || !make_key(key, account, id))
        return false;
    pthread_mutex_lock(&c->lock);
    i = find_fwd(c, key, fnv(0xcbf29ce484222325ULL, key, strlen(key)), false);
    if (i != NONE)
        *loc_r = c->ring[i].loc;
    pthread_mutex_unlock(&c->lock);
    return i != NONE;
}

bool ib_loccache_id_at(struct ib_loccache *c, const char *account, const struct ib_email_loc *loc,
                       char *id_r)
{
    size_t alen = strlen(account);
    uint32_t i;

    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->lock);
    i = find_rev(c, account, alen, loc, rev_hash_of(account, alen, loc));
    if (i != NONE)
        strcpy(id_r, c->ring[i].key + alen + 1); /* ids are <= IB_IDS_EMAIL_MAX (make_key) */
    pthread_mutex_unlock(&c->lock);
    return i != NONE;
}

void ib_loccache_forget(struct ib_loccache *c, const char *account, const char *id)
{
    char key[MAX_KEY];
    uint64_t h;

    if (c == NULL || !make_key(key, account, id))
        return;
    h = fnv(0xcbf29ce484222325ULL, key, strlen(key));
    pthread_mutex_lock(&c->lock);
    for (uint32_t i = c->fwd[h & (c->nbuckets - 1)]; i != NONE; i = c->ring[i].fwd_next) {
        if (c->ring[i].fwd_hash == h && strcmp(c->ring[i].key, key) == 0)
            c->ring[i].forgotten = true;
    }
    pthread_mutex_unlock(&c->lock);
}

size_t ib_loccache_count(struct ib_loccache *c)
{
    size_t n;

    pthread_mutex_lock(&c->lock);
    n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}
