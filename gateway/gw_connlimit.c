/* gw_connlimit.c - open connections per client address and in all. */
#include "gateway/gw_connlimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096
#define IP_MAX 46

struct entry {
    struct entry *next;
    unsigned int count;
    char ip[IP_MAX];
};

struct gw_connlimit {
    pthread_mutex_t mu;
    struct entry *buckets[BUCKETS];
    uint64_t open;
    uint64_t refused_503[2];
    uint64_t refused_closed[2];
};

struct gw_connlimit *gw_connlimit_new(void)
{
    struct gw_connlimit *cl = calloc(1, sizeof(*cl));

    if (cl != NULL)
        pthread_mutex_init(&cl->mu, NULL);
    return cl;
}

void gw_connlimit_free(struct gw_connlimit **clp)
{
    struct gw_connlimit *cl = *clp;

    if (cl == NULL)
        return;
    *clp = NULL;
    for (size_t i = 0; i < BUCKETS; i++) {
        while (cl->buckets[i] != NULL) {
            struct entry *e = cl->buckets[i];

            cl->buckets[i] = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&cl->mu);
    free(cl);
}

static size_t bucket_of(const char *ip)
{
    uint32_t h = 2166136261u;

    for (; *ip != '\0'; ip++)
        h = (h ^ (unsigned char)*ip) * 16777619u;
    return h % BUCKETS;
}

/* cl->mu held. */
static struct entry **find(struct gw_connlimit *cl, const char *ip)
{
    struct entry **ep = &cl->buckets[bucket_of(ip)];

    while (*ep != NULL && strcmp((*ep)->ip, ip) != 0)
        ep = &(*ep)->next;
    return ep;
}

static enum gw_conn_verdict judge(uint64_t n, unsigned int limit)
{
    if (limit == 0 || n < limit)
        return GW_CONN_OK;
    return n < 2 * (uint64_t)limit ? GW_CONN_OVER : GW_CONN_DROP;
}

/* cl->mu held. The worse of the per-address and global verdicts. */
static enum gw_conn_verdict verdict(struct gw_connlimit *cl, const char *ip, bool exempt,
                                    unsigned int per_ip, unsigned int global,
                                    enum gw_conn_reason *why_r)
{
    struct entry *e = exempt || per_ip == 0 ? NULL : *find(cl, ip);
    enum gw_conn_verdict v_ip = judge(e ? e->count : 0, exempt ? 0 : per_ip);
    enum gw_conn_verdict v_all = judge(cl->open, global);

    *why_r = v_ip >= v_all ? GW_CONN_REASON_PER_IP : GW_CONN_REASON_GLOBAL;
    return v_ip >= v_all ? v_ip : v_all;
}

enum gw_conn_verdict gw_connlimit_peek(struct gw_connlimit *cl, const char *ip, bool exempt,
                                       unsigned int per_ip, unsigned int global,
                                       enum gw_conn_reason *why_r)
{
    enum gw_conn_verdict v;

    pthread_mutex_lock(&cl->mu);
    v = verdict(cl, ip, exempt, per_ip, global, why_r);
    pthread_mutex_unlock(&cl->mu);
    return v;
}

enum gw_conn_verdict gw_connlimit_open(struct gw_connlimit *cl, const char *ip, bool exempt,
                                       unsigned int per_ip, unsigned int global)
{
    enum gw_conn_reason why;
    enum gw_conn_verdict v;
    struct entry **ep, *e;

    pthread_mutex_lock(&cl->mu);
    v = verdict(cl, ip, exempt, per_ip, global, &why);
    cl->open++;
    if (!exempt) {
        ep = find(cl, ip);
        e = *ep;
        if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
            strncpy(e->ip, ip, IP_MAX - 1);
            *ep = e;
        }
        if (e != NULL)
            e->count++;
    }
    if (v == GW_CONN_OVER)
        cl->refused_503[why]++;
    else if (v == GW_CONN_DROP) /* raced past the accept check: answered like OVER */
        cl->refused_503[why]++;
    pthread_mutex_unlock(&cl->mu);
    return v;
}

void gw_connlimit_close(struct gw_connlimit *cl, const char *ip, bool exempt)
{
    struct entry **ep, *e;

    pthread_mutex_lock(&cl->mu);
    if (cl->open > 0)
        cl->open--;
    if (!exempt) {
        ep = find(cl, ip);
        e = *ep;
        if (e != NULL && --e->count == 0) {
            *ep = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&cl->mu);
}

void gw_connlimit_dropped(struct gw_connlimit *cl, enum gw_conn_reason why)
{
    pthread_mutex_lock(&cl->mu);
    cl->refused_closed[why]++;
    pthread_mutex_unlock(&cl->mu);
}

void gw_connlimit_stats(struct gw_connlimit *cl, struct gw_connlimit_stats *out)
{
    pthread_mutex_lock(&cl->mu);
    out->open = cl->open;
    memcpy(out->refused_503, cl->refused_503, sizeof(out->refused_503));
    memcpy(out->refused_closed, cl->refused_closed, sizeof(out->refused_closed));
    pthread_mutex_unlock(&cl->mu);
}
