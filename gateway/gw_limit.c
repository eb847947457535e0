/* gw_limit.c - failed-login limiter and client address. */
#include "gateway/gw_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cm_crypto.h"

#define SETS 1024
#define WAYS 4
#define MAX_PROXIES 32

struct slot {
    uint64_t tag;      /* 0 = empty */
    double score;      /* at t_ms */
    uint64_t t_ms;
};

struct net {
    int family;
    unsigned char addr[16];
    unsigned int bits;
};

struct gw_limit {
    unsigned int limit;
    double per_ms;     /* score decay per millisecond */
    uint64_t seed;
    struct net proxies[MAX_PROXIES];
    size_t nproxies;
    pthread_mutex_t mu;
    struct slot slots[SETS][WAYS];
};

/* ---- trusted proxies ---------------------------------------------------- */

static int parse_net(const char *text, struct net *n)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    char *end;
    long bits;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(n, 0, sizeof(*n));
    if (inet_pton(AF_INET, buf, n->addr) == 1)
        n->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, n->addr) == 1)
        n->family = AF_INET6;
    else
        return -1;
    n->bits = n->family == AF_INET ? 32 : 128;
    if (slash != NULL) {
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || end == slash + 1 || bits < 0 || bits > (long)n->bits)
            return -1;
        n->bits = (unsigned int)bits;
    }
    return 0;
}

static int parse_proxies(struct gw_limit *l, const char *list, struct cm_err *err)
{
    char item[80];

    while (list != NULL && *list != '\0') {
        size_t n = strcspn(list, ",");
        size_t lead = strspn(list, " \t");

        while (n > lead && (list[n - 1] == ' ' || list[n - 1] == '\t'))
            n--;
        if (n > lead) {
            if (n - lead >= sizeof(item) || l->nproxies >= MAX_PROXIES)
                return cm_err_set(err, CM_ECONFIG, "trusted_proxies: too many or too long");
            memcpy(item, list + lead, n - lead);
            item[n - lead] = '\0';
            if (parse_net(item, &l->proxies[l->nproxies]) < 0)
                return cm_err_set(err, CM_ECONFIG, "trusted_proxies: bad address \"%s\"", item);
            l->nproxies++;
        }
        list += strcspn(list, ",");
        if (*list == ',')
            list++;
    }
    return 0;
}

static bool in_net(const struct net *n, int family, const unsigned char *addr)
{
    unsigned int full = n->bits / 8, rest = n->bits % 8;

    if (n->family != family || memcmp(n->addr, addr, full) != 0)
        return false;
    return rest == 0 || ((n->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static bool text_is_proxy(const struct gw_limit *l, const char *ip)
{
    unsigned char addr[16];
    int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

    if (inet_pton(family, ip, addr) != 1)
        return false;
    for (size_t i = 0; i < l->nproxies; i++) {
        if (in_net(&l->proxies[i], family, addr))
            return true;
    }
    return false;
}

bool gw_limit_is_trusted(const struct gw_limit *l, const char *ip)
{
    return l != NULL && l->nproxies > 0 && text_is_proxy(l, ip);
}

/* Rightmost X-Forwarded-For entry that is a valid address and not a trusted
   proxy, normalised through inet_pton/inet_ntop. False when none. */
static bool from_xff(const struct gw_limit *l, const char *xff, char *ip)
{
    size_t end = strlen(xff);

    while (end > 0) {
        size_t start = end;
        char item[64];
        unsigned char addr[16];
        size_t a, b;
        int family;

        while (start > 0 && xff[start - 1] != ',')
            start--;
        a = start + strspn(xff + start, " \t");
        b = end;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        if (b - a == 0 || b - a >= sizeof(item))
            return false;
        memcpy(item, xff + a, b - a);
        item[b - a] = '\0';
        family = strchr(item, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(family, item, addr) != 1)
            return false;
        if (!text_is_proxy(l, item))
            return inet_ntop(family, addr, ip, 46) != NULL;
        end = start > 0 ? start - 1 : 0;
    }
    return false;
}

void gw_limit_client(const struct gw_limit *l, const struct sockaddr *peer, const char *xff,
                     char *ip, unsigned int *port_r)
{
    ip[0] = '\0';
    *port_r = 0;
    if (peer == NULL)
        return;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)peer;

        inet_ntop(AF_INET, &sin->sin_addr, ip, 46);
        *port_r = ntohs(sin->sin_port);
    } else if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)peer;

        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, 46);
        *port_r = ntohs(sin6->sin6_port);
    }
    if (ip[0] != '\0' && xff != NULL && l->nproxies > 0 && text_is_proxy(l, ip)) {
        char real[46];

        if (from_xff(l, xff, real)) {
            memcpy(ip, real, sizeof(real));
            *port_r = 0;
        }
    }
}

/* ---- the table ---------------------------------------------------------- */

static uint64_t key_hash(const struct gw_limit *l, char kind, const char *text)
{
    uint64_t h = 1469598103934665603ULL ^ l->seed;

    h = (h ^ (unsigned char)kind) * 1099511628211ULL;
    for (; *text != '\0'; text++)
        h = (h ^ (unsigned char)*text) * 1099511628211ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h ? h : 1;
}

static double score_at(const struct gw_limit *l, const struct slot *s, uint64_t now_ms)
{
    double d = now_ms > s->t_ms ? (double)(now_ms - s->t_ms) * l->per_ms : 0;

    return s->score > d ? s->score - d : 0;
}

/* The slot of h, or NULL. Caller holds mu. */
static struct slot *find(struct gw_limit *l, uint64_t h)
{
    struct slot *set = l->slots[h % SETS];

    for (int i = 0; i < WAYS; i++) {
        if (set[i].tag == h)
            return &set[i];
    }
    return NULL;
}

static unsigned int wait_secs(const struct gw_limit *l, uint64_t h, uint64_t now_ms)
{
    struct slot *s = find((struct gw_limit *)l, h);
    double sc = s ? score_at(l, s, now_ms) : 0, ms;

    if (sc < (double)l->limit)
        return 0;
    ms = (sc - (double)l->limit) / l->per_ms; /* until the score is below the limit again */
    return (unsigned int)(ms / 1000) + 1;
}

static void add_failure(struct gw_limit *l, uint64_t h, uint64_t now_ms)
{
    struct slot *s = find(l, h), *set = l->slots[h % SETS];

    if (s == NULL) {
        s = &set[0];
        for (int i = 1; i < WAYS; i++) {
            if (score_at(l, &set[i], now_ms) < score_at(l, s, now_ms))
                s = &set[i];
        }
        s->tag = h;
        s->score = 0;
        s->t_ms = now_ms;
    }
    s->score = score_at(l, s, now_ms) + 1;
    s->t_ms = now_ms;
}

int gw_limit_new(unsigned int limit, unsigned int window_secs, const char *trusted_proxies,
                 struct gw_limit **l_r, struct cm_err *err)
{
    struct gw_limit *l = calloc(1, sizeof(*l));
    int rc;

    if (l == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    l->limit = limit ? limit : 1;
    l->per_ms = (double)l->limit / ((double)(window_secs ? window_secs : 1) * 1000.0);
    if (cm_random(&l->seed, sizeof(l->seed)) < 0)
        l->seed = (uint64_t)(uintptr_t)l;
    rc = parse_proxies(l, trusted_proxies, err);
    if (rc < 0) {
        free(l);
        return rc;
    }
    pthread_mutex_init(&l->mu, NULL);
    *l_r = l;
    return 0;
}

void gw_limit_free(struct gw_limit **lp)
{
    if (*lp == NULL)
        return;
    pthread_mutex_destroy(&(*lp)->mu);
    free(*lp);
    *lp = NULL;
}

unsigned int gw_limit_check(struct gw_limit *l, const char *user, const char *ip, uint64_t now_ms)
{
    unsigned int a = 0, b = 0;

    pthread_mutex_lock(&l->mu);
    if (user != NULL && user[0] != '\0')
        a = wait_secs(l, key_hash(l, 'u', user), now_ms);
    if (ip != NULL && ip[0] != '\0')
        b = wait_secs(l, key_hash(l, 'a', ip), now_ms);
    pthread_mutex_unlock(&l->mu);
    return a > b ? a : b;
}

void gw_limit_fail(struct gw_limit *l, const char *user, const char *ip, uint64_t now_ms)
{
    pthread_mutex_lock(&l->mu);
    if (user != NULL && user[0] != '\0')
        add_failure(l, key_hash(l, 'u', user), now_ms);
    if (ip != NULL && ip[0] != '\0')
        add_failure(l, key_hash(l, 'a', ip), now_ms);
    pthread_mutex_unlock(&l->mu);
}
