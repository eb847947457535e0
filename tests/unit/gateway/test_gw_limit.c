/* test_gw_limit.c - the failed-login limiter (per user, per address, decay,
 * many keys) and the client address behind trusted proxies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "gateway/gw_limit.h"
#include "harness/th.h"

static struct gw_limit *limit_new(unsigned int limit, unsigned int window, const char *proxies)
{
    struct gw_limit *l = NULL;

    th_assert(gw_limit_new(limit, window, proxies, &l, NULL) == 0);
    return l;
}

static void test_user_and_address_counted_apart(void)
{
    struct gw_limit *l = limit_new(3, 60, NULL);
    uint64_t t = 1000000;

    for (int i = 0; i < 3; i++) {
        th_assert(gw_limit_check(l, "alice", "192.0.2.1", t) == 0);
        gw_limit_fail(l, "alice", "192.0.2.1", t);
    }
    th_assert(gw_limit_check(l, "alice", "198.51.100.7", t) > 0);  /* the name is over */
    th_assert(gw_limit_check(l, "bob", "192.0.2.1", t) > 0);       /* the address is over */
    th_assert(gw_limit_check(l, "bob", "198.51.100.7", t) == 0);   /* others untouched */
    th_assert(gw_limit_check(l, NULL, "", t) == 0);
    gw_limit_free(&l);
    th_assert(l == NULL);
}

static void test_decay_and_retry_after(void)
{
    struct gw_limit *l = limit_new(2, 10, NULL); /* 2 failures drain in 10 s */
    uint64_t t = 5000;
    unsigned int wait;

    for (int i = 0; i < 4; i++) /* two over the limit: 10 s of draining to go below it */
        gw_limit_fail(l, "carol", NULL, t);
    wait = gw_limit_check(l, "carol", NULL, t);
    th_assert(wait >= 10 && wait <= 11);                 /* Retry-After tells the truth */
    th_assert(gw_limit_check(l, "carol", NULL, t + 9000) > 0);
    th_assert(gw_limit_check(l, "carol", NULL, t + (uint64_t)wait * 1000) == 0);
    /* then one try per window/limit seconds (a leaky bucket), not a new burst */
    gw_limit_fail(l, "carol", NULL, t + (uint64_t)wait * 1000);
    th_assert(gw_limit_check(l, "carol", NULL, t + (uint64_t)wait * 1000) > 0);
    gw_limit_free(&l);
}

static void test_many_keys_bounded(void)
{
    struct gw_limit *l = limit_new(1, 3600, NULL);
    char user[32];

    /* far more keys than the table holds: no growth, and a key failed
       just now is still refused */
    for (int i = 0; i < 20000; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        gw_limit_fail(l, user, NULL, 1000);
    }
    th_assert(gw_limit_check(l, "u19999", NULL, 1000) > 0);
    gw_limit_free(&l);
}

static void client_of(const struct gw_limit *l, const char *peer, const char *xff, char *ip,
                      unsigned int *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4242) };

    th_assert(inet_pton(AF_INET, peer, &sin.sin_addr) == 1);
    gw_limit_client(l, (const struct sockaddr *)&sin, xff, ip, port);
}

static void test_client_address(void)
{
    struct gw_limit *l = limit_new(5, 60, "10.0.0.0/8, 127.0.0.1");
    struct gw_limit *none = limit_new(5, 60, NULL);
    struct gw_limit *bad = NULL;
    char ip[46];
    unsigned int port;

    client_of(l, "203.0.113.9", "192.0.2.5", ip, &port); /* not a proxy: XFF ignored */
    th_assert(strcmp(ip, "203.0.113.9") == 0 && port == 4242);
    client_of(l, "127.0.0.1", "192.0.2.5, 10.1.2.3", ip, &port); /* rightmost non-proxy */
    th_assert(strcmp(ip, "192.0.2.5") == 0 && port == 0);
    client_of(l, "127.0.0.1", "garbage", ip, &port);              /* unusable: the peer */
    th_assert(strcmp(ip, "127.0.0.1") == 0 && port == 4242);
    client_of(none, "127.0.0.1", "192.0.2.5", ip, &port);         /* no proxies configured */
    th_assert(strcmp(ip, "127.0.0.1") == 0);
    th_assert(gw_limit_new(5, 60, "10.0.0.0/33", &bad, NULL) == CM_ECONFIG && bad == NULL);
    th_assert(gw_limit_new(5, 60, "not-an-ip", &bad, NULL) == CM_ECONFIG);
    gw_limit_free(&l);
    gw_limit_free(&none);
}

int main(void)
{
    th_run("user_and_address_counted_apart", test_user_and_address_counted_apart);
    th_run("decay_and_retry_after", test_decay_and_retry_after);
    th_run("many_keys_bounded", test_many_keys_bounded);
    th_run("client_address", test_client_address);
    return th_end();
}
