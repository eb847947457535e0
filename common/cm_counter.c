/* cm_counter.c - per-key in-progress counts (chained hash table). */
#include "common/cm_counter.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 256

struct entry {
    char *key;
    unsigned int count;
    struct entry *next;
};

struct cm_counter {
    pthread_mutex_t mu;
    struct entry *buckets[NBUCKETS];
};

static unsigned int bucket_of(const char *key)
{
    unsigned int h = 2166136261u; /* FNV-1a */

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h % NBUCKETS;
}

struct cm_counter *cm_counter_new(void)
{
    struct cm_counter *c = calloc(1, sizeof(*c));

    if (c != NULL)
        pthread_mutex_init(&c->mu, NULL);
    return c;
}

void cm_counter_free(struct cm_counter **cp)
{
    struct cm_counter *c = *cp;

    if (c == NULL)
        return;
    *cp = NULL;
    for (size_t i = 0; i < NBUCKETS; i++) {
        while (c->buckets[i] != NULL) {
            struct entry *e = c->buckets[i];

            c->buckets[i] = e->next;
            free(e->key);
            free(e);
        }
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct entry **find(struct cm_counter *c, const char *key)
{
    struct entry **pp = &c->buckets[bucket_of(key)];

    while (*pp != NULL && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

bool cm_counter_enter(struct cm_counter *c, const char *key, unsigned int max)
{
    struct entry **pp, *e;
    bool ok = false;

    pthread_mutex_lock(&c->mu);
    pp = find(c, key);
    e = *pp;
    if (e == NULL && max > 0) {
        e = calloc(1, sizeof(*e));
        if (e != NULL && (e->key = strdup(key)) == NULL) {
            free(e);
            e = NULL;
        }
        if (e != NULL)
            *pp = e;
    }
    if (e != NULL && e->count < max) {
        e->count++;
        ok = true;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void cm_counter_leave(struct cm_counter *c, const char *key)
{
    struct entry **pp, *e;

    pthread_mutex_lock(&c->mu);
    pp = find(c, key);
    e = *pp;
    if (e != NULL && --e->count == 0) {
        *pp = e->next;
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&c->mu);
}

unsigned int cm_counter_get(struct cm_counter *c, const char *key)
{
    unsigned int n;

    pthread_mutex_lock(&c->mu);
    n = *find(c, key) ? (*find(c, key))->count : 0;
    pthread_mutex_unlock(&c->mu);
    return n;
}
