/* ib_thread.c - thread roots through In-Reply-To, and a bounded cache of
 * them (a ring of entries under one chained hash table). */
#include "imapbridge/ib_thread.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Where a message hangs: the first References id (the thread's start as
   its writer knew it), else its In-Reply-To. */
static const char *anchor(const struct ib_thread_node *n)
{
    return n->first_ref != NULL ? n->first_ref : n->irt;
}

bool ib_thread_needs_parent(const struct ib_thread_node *n)
{
    return anchor(n) != NULL;
}

const char *ib_thread_root(const struct ib_thread_node *n, ib_thread_lookup_fn *lookup, void *ctx)
{
    const char *seen[IB_THREAD_MAX_HOPS + 1];
    size_t nseen = 0;

    if (anchor(n) == NULL)
        return n->msgid;
    for (;;) {
        const char *a = anchor(n);
        const struct ib_thread_node *p = lookup ? lookup(a, ctx) : NULL;
        bool loop = false;

        if (p == NULL || nseen == IB_THREAD_MAX_HOPS)
            return a;   /* an unknown anchor is the root we know */
        for (size_t i = 0; i < nseen && !loop; i++)
            loop = strcmp(seen[i], a) == 0;
        if (loop || (p->msgid != NULL && n->msgid != NULL && strcmp(p->msgid, n->msgid) == 0))
            return a;
        seen[nseen++] = a;
        if (anchor(p) == NULL)
            return p->msgid ? p->msgid : a;
        n = p;
    }
}

#define NONE UINT32_MAX
#define MAX_TEXT 1024

struct entry {
    char *key;     /* account "\n" msgid "\0" root; NULL = free */
    size_t klen;   /* strlen of account "\n" msgid */
    uint64_t hash;
    uint32_t next;
};

struct ib_thread_cache {
    pthread_mutex_t lock;
    struct entry *ring;
    size_t cap, next;
    uint32_t *heads;
    size_t nbuckets;
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct ib_thread_cache *ib_thread_cache_new(size_t max_entries)
{
    struct ib_thread_cache *c = calloc(1, sizeof(*c));

    if (c == NULL || max_entries == 0 || max_entries > (NONE >> 2))
        return free(c), NULL;
    c->cap = max_entries;
    for (c->nbuckets = 16; c->nbuckets < 2 * max_entries; c->nbuckets <<= 1)
        ;
    c->ring = calloc(c->cap, sizeof(*c->ring));
    c->heads = malloc(c->nbuckets * sizeof(*c->heads));
    if (c->ring == NULL || c->heads == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->ring);
        free(c->heads);
        free(c);
        return NULL;
    }
    memset(c->heads, 0xff, c->nbuckets * sizeof(*c->heads));
    return c;
}

void ib_thread_cache_free(struct ib_thread_cache **cp)
{
    struct ib_thread_cache *c = *cp;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->cap; i++)
        free(c->ring[i].key);
    free(c->ring);
    free(c->heads);
    pthread_mutex_destroy(&c->lock);
    free(c);
    *cp = NULL;
}

/* account "\n" msgid into buf; its length, or 0 when too long. */
static size_t make_key(char *buf, const char *account, const char *msgid)
{
    size_t a = strlen(account), m = strlen(msgid);

    if (a + 1 + m + 1 > MAX_TEXT)
        return 0;
    memcpy(buf, account, a);
    buf[a] = '\n';
    memcpy(buf + a + 1, msgid, m + 1);
    return a + 1 + m;
}

static uint32_t find(struct ib_thread_cache *c, const char *key, size_t klen, uint64_t h)
{
    for (uint32_t i = c->heads[h & (c->nbuckets - 1)]; i != NONE; i = c->ring[i].next) {
        if (c->ring[i].hash == h && c->ring[i].klen == klen && memcmp(c->ring[i].key, key, klen) == 0)
            return i;
    }
    return NONE;
}

static void evict(struct ib_thread_cache *c, uint32_t idx)
{
    struct entry *e = &c->ring[idx];
    uint32_t *pp;

    if (e->key == NULL)
        return;
    for (pp = &c->heads[e->hash & (c->nbuckets - 1)]; *pp != NONE; pp = &c->ring[*pp].next) {
        if (*pp == idx) {
            *pp = e->next;
            break;
        }
    }
    free(e->key);
    memset(e, 0, sizeof(*e));
}

void ib_thread_cache_put(struct ib_thread_cache *c, const char *account, const char *msgid,
                         const char *root)
{
    char key[MAX_TEXT];
    size_t klen = c ? make_key(key, account, msgid) : 0, rlen = strlen(root);
    uint64_t h;
    uint32_t i;

    if (klen == 0 || klen + 1 + rlen + 1 > MAX_TEXT)
        return;
    h = fnv(key, klen);
    pthread_mutex_lock(&c->lock);
    i = find(c, key, klen, h);
    if (i != NONE && strcmp(c->ring[i].key + klen + 1, root) == 0) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (i != NONE)
        evict(c, i);
    i = (uint32_t)c->next;
    c->next = (c->next + 1) % c->cap;
    evict(c, i);
    c->ring[i].key = malloc(klen + 1 + rlen + 1);
    if (c->ring[i].key != NULL) {
        memcpy(c->ring[i].key, key, klen + 1);
        memcpy(c->ring[i].key + klen + 1, root, rlen + 1);
        c->ring[i].klen = klen;
        c->ring[i].hash = h;
        c->ring[i].next = c->heads[h & (c->nbuckets - 1)];
        c->heads[h & (c->nbuckets - 1)] = i;
    }
    pthread_mutex_unlock(&c->lock);
}

char *ib_thread_cache_get(struct ib_thread_cache *c, const char *account, const char *msgid)
{
    char key[MAX_TEXT], *root = NULL;
    size_t klen = c ? make_key(key, account, msgid) : 0;
    uint32_t i;

    if (klen == 0)
        return NULL;
    pthread_mutex_lock(&c->lock);
    i = find(c, key, klen, fnv(key, klen));
    if (i != NONE)
        root = strdup(c->ring[i].key + klen + 1);
    pthread_mutex_unlock(&c->lock);
    return root;
}
