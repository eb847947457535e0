/* ib_foldermap.c - the per-account folder map cache (see ib_foldermap.h):
 * a small array of entries under one mutex, LRU when full. */
#include "imapbridge/ib_foldermap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *account;
    struct ib_folder_list list; /* counts stripped */
    uint64_t stored_ms, used_ms;
};

struct ib_foldermap {
    pthread_mutex_t lock;
    struct entry *items;
    size_t count, max;
    uint64_t ttl_ms;
};

struct ib_foldermap *ib_foldermap_new(size_t max_accounts, uint64_t ttl_ms)
{
    struct ib_foldermap *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->max = max_accounts > 0 ? max_accounts : 1;
    m->ttl_ms = ttl_ms;
    m->items = calloc(m->max, sizeof(*m->items));
    if (m->items == NULL) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void entry_fini(struct entry *e)
{
    free(e->account);
    ib_folder_list_fini(&e->list);
    memset(e, 0, sizeof(*e));
}

/* Remove entry i (lock held): the last one takes its place. */
static void drop(struct ib_foldermap *m, size_t i)
{
    entry_fini(&m->items[i]);
    if (i != m->count - 1)
        m->items[i] = m->items[m->count - 1];
    memset(&m->items[m->count - 1], 0, sizeof(m->items[0]));
    m->count--;
}

void ib_foldermap_free(struct ib_foldermap **mp)
{
    struct ib_foldermap *m = *mp;

    *mp = NULL;
    if (m == NULL)
        return;
    while (m->count > 0)
        drop(m, m->count - 1);
    pthread_mutex_destroy(&m->lock);
    free(m->items);
    free(m);
}

/* Index of account's entry, or -1 (lock held). */
static long find(const struct ib_foldermap *m, const char *account)
{
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->items[i].account, account) == 0)
            return (long)i;
    }
    return -1;
}

/* Index of the least recently used entry (lock held, count > 0). */
static size_t oldest(const struct ib_foldermap *m)
{
    size_t o = 0;

    for (size_t i = 1; i < m->count; i++) {
        if (m->items[i].used_ms < m->items[o].used_ms)
            o = i;
    }
    return o;
}

/* A copy of l without counts: the cache never answers for them. */
static int copy_names(const struct ib_folder_list *l, struct ib_folder_list *out)
{
    if (ib_folder_list_dup(l, out) < 0)
        return CM_ENOMEM;
    for (size_t i = 0; i < out->count; i++) {
        struct ib_folder *f = &out->items[i];

        f->has_status = false;
        f->total = f->unread = f->uidvalidity = f->uidnext = 0;
        f->highestmodseq = 0;
    }
    return 0;
}

int ib_foldermap_store(struct ib_foldermap *m, const char *account,
                       const struct ib_folder_list *l, uint64_t now_ms)
{
    struct entry e = { 0 };
    long i;

    e.account = strdup(account);
    if (e.account == NULL || copy_names(l, &e.list) < 0) {
        free(e.account);
        ib_foldermap_forget(m, account);
        return CM_ENOMEM;
    }
    e.stored_ms = e.used_ms = now_ms;
    pthread_mutex_lock(&m->lock);
    i = find(m, account);
    if (i >= 0)
        drop(m, (size_t)i);
    else if (m->count == m->max)
        drop(m, oldest(m));
    m->items[m->count++] = e;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int ib_foldermap_get(struct ib_foldermap *m, const char *account, uint64_t now_ms,
                     struct ib_folder_list *out)
{
    int rc = CM_ENOENT;
    long i;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&m->lock);
    i = find(m, account);
    if (i >= 0 && now_ms - m->items[i].stored_ms > m->ttl_ms) {
        drop(m, (size_t)i);
        i = -1;
    }
    if (i >= 0) {
        m->items[i].used_ms = now_ms;
        rc = ib_folder_list_dup(&m->items[i].list, out) < 0 ? CM_ENOMEM : 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void ib_foldermap_forget(struct ib_foldermap *m, const char *account)
{
    long i;

    pthread_mutex_lock(&m->lock);
    i = find(m, account);
    if (i >= 0)
        drop(m, (size_t)i);
    pthread_mutex_unlock(&m->lock);
}

size_t ib_foldermap_count(struct ib_foldermap *m)
{
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}

bool ib_foldermap_confirms(const struct ib_folder *cached, const struct ib_folder_list *fresh)
{
    const struct ib_folder *f = ib_folder_find(fresh, cached->id);

    return f != NULL && f->selectable && cached->imap_name != NULL &&
           strcmp(f->imap_name, cached->imap_name) == 0;
}
