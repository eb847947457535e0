/* test_rt_hub.c - subscriptions share watchers; ids, fan-out, replay,
 * resync and overflow through the hub; grace-time reaping. The upstream is
 * a closed port, so watchers only ever back off: events are injected with
 * rt_hub_publish_locked. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "common/cm_time.h"
#include "common/cm_work.h"
#include "imapbridge/ib_pool.h"
#include "realtime/rt_private.h"

struct rec {
    uint64_t ids[16];
    char boxes[16][16];
    size_t n;
    int fail_after; /* return CM_ELIMIT once n reaches this (0: never) */
};

static int on_ev(const struct rt_event *ev, void *ctx)
{
    struct rec *r = ctx;

    if (r->fail_after && r->n >= (size_t)r->fail_after)
        return CM_ELIMIT;
    if (r->n < 16) {
        r->ids[r->n] = ev->id;
        snprintf(r->boxes[r->n], sizeof(r->boxes[0]), "%s", ev->mailbox);
    }
    r->n++;
    return 0;
}

static struct ib_upstream up;
static struct ib_creds cr;
static struct ib_pool *pool;
static struct cm_work *work;

static struct rt_hub *hub_new(unsigned int grace)
{
    struct rt_hub_settings hs = { .watch_grace_secs = grace, .ring_size = 4,
                                  .backoff_max_secs = 60,
                                  .max_idle_per_account = RT_IDLE_UNLIMITED,
                                  .push_mode = RT_PUSH_EXAMINE };
    struct rt_hub *hub = NULL;

    th_assert(rt_hub_new(&hs, &up, pool, work, &hub, NULL) == 0);
    return hub;
}

static void publish(struct rt_hub *hub, const char *box)
{
    static const struct rt_snap snap = { 1, 2, 3, 4, 0 };

    pthread_mutex_lock(&hub->mu);
    for (struct rt_watcher *w = hub->watchers; w != NULL; w = w->next) {
        if (strcmp(w->mailbox, box) == 0 && !w->closing) {
            rt_hub_publish_locked(hub, w, NULL, &snap, RT_REASON_NEW, cm_now_ns());
            break;
        }
    }
    pthread_mutex_unlock(&hub->mu);
}

static void test_share_fanout_replay(void)
{
    struct rt_hub *hub = hub_new(0);
    const char *inbox[] = { "INBOX" }, *both[] = { "INBOX", "Archiv\xc3\xa9" };
    struct rt_sub_params p = { "acct1", &cr, inbox, 1, NULL, false, 0, false, NULL };
    struct rec a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
    struct rt_sub *sa = NULL, *sb = NULL, *sc = NULL, *sd = NULL;
    struct rt_hub_stats st;
    bool resync = true;
    uint64_t last = 0;

    th_assert(rt_hub_subscribe(hub, &p, on_ev, &a, &sa, &resync, &last, NULL) == 0);
    th_assert(!resync);
    p.mailboxes = both;
    p.nmailboxes = 2;
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &b, &sb, &resync, NULL, NULL) == 0);
    rt_hub_stats(hub, &st);
    th_assert(st.watchers == 2 && st.subscribers == 2); /* INBOX shared */
    publish(hub, "INBOX");
    publish(hub, "Archiv\xc3\xa9");
    th_assert(a.n == 1 && b.n == 2);
    th_assert(a.ids[0] == last + 1 && b.ids[0] == last + 1 && b.ids[1] == last + 2);
    th_assert(strcmp(b.boxes[1], "Archiv\xc3\xa9") == 0);
    /* replay after the first event, INBOX only: nothing (the 2nd was Archivé) */
    p.mailboxes = inbox;
    p.nmailboxes = 1;
    p.has_last_id = true;
    p.last_id = last + 1;
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &c, &sc, &resync, NULL, NULL) == 0);
    th_assert(!resync && c.n == 0);
    /* ring of 4: after 5 more events, last+1 is gone -> resync */
    for (int i = 0; i < 5; i++)
        publish(hub, "INBOX");
    th_assert(c.n == 5 && a.n == 6);
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &d, &sd, &resync, NULL, NULL) == 0);
    th_assert(resync && d.n == 0);
    rt_hub_unsubscribe(hub, &sd);
    p.last_id = last + 4; /* covered: replays last+5 .. last+7 */
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &d, &sd, &resync, NULL, NULL) == 0);
    th_assert(!resync && d.n == 3 && d.ids[0] == last + 5 && d.ids[2] == last + 7);
    rt_hub_unsubscribe(hub, &sa);
    rt_hub_unsubscribe(hub, &sb);
    rt_hub_unsubscribe(hub, &sc);
    rt_hub_unsubscribe(hub, &sd);
    th_assert(sa == NULL && sd == NULL);
    /* grace 0: the reactor reaps both watchers */
    for (int i = 0; i < 200; i++) {
        rt_hub_stats(hub, &st);
        if (st.watchers == 0)
            break;
        usleep(10 * 1000);
    }
    th_assert(st.watchers == 0 && st.subscribers == 0);
    th_assert(st.published_total == 7);
    rt_hub_free(&hub);
    th_assert(hub == NULL);
}

static void test_overflow_stops_delivery(void)
{
    struct rt_hub *hub = hub_new(30);
    const char *inbox[] = { "INBOX" };
    struct rt_sub_params p = { "acct2", &cr, inbox, 1, NULL, false, 0, false, NULL };
    struct rec slow = { .fail_after = 2 }, fast = { 0 };
    struct rt_sub *s1 = NULL, *s2 = NULL;
    struct rt_hub_stats st;
    bool resync;

    th_assert(rt_hub_subscribe(hub, &p, on_ev, &slow, &s1, &resync, NULL, NULL) == 0);
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &fast, &s2, &resync, NULL, NULL) == 0);
    for (int i = 0; i < 4; i++)
        publish(hub, "INBOX");
    rt_hub_stats(hub, &st);
    th_assert(fast.n == 4 && slow.n == 2);
    th_assert(st.dropped_total == 1);   /* refused once, then never asked again */
    th_assert(st.delivered_total == 6);
    th_assert(st.latency_count == 6);
    rt_hub_unsubscribe(hub, &s1);
    rt_hub_unsubscribe(hub, &s2);
    rt_hub_stats(hub, &st);
    th_assert(st.watchers == 1); /* within the 30 s grace */
    rt_hub_free(&hub);           /* closes it at once */
}

static void test_bad_name_and_stop(void)
{
    struct rt_hub *hub = hub_new(0);
    const char *bad[] = { "\xff\xfe" }, *ok[] = { "INBOX" };
    struct rt_sub_params p = { "acct3", &cr, bad, 1, NULL, false, 0, false, NULL };
    struct rt_sub *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct rec r = { 0 };
    bool resync;

    th_assert(rt_hub_subscribe(hub, &p, on_ev, &r, &s, &resync, NULL, &err) == CM_EINVAL);
    th_assert(s == NULL);
    rt_hub_stop(hub);
    p.mailboxes = ok;
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &r, &s, &resync, NULL, &err) == CM_EAGAIN);
    rt_hub_free(&hub);
}

static void test_creds_refresh(void)
{
    struct rt_hub *hub = hub_new(0);
    const char *inbox[] = { "INBOX" };
    struct ib_creds newer;
    struct rt_sub_params p = { "acct4", &cr, inbox, 1, NULL, false, 0, false, NULL };
    struct rt_sub *s1 = NULL, *s2 = NULL;
    struct rec r = { 0 };
    bool resync;

    th_assert(ib_creds_init(&newer, "alice", "new-password", IB_AUTH_LOGIN) == 0);
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &r, &s1, &resync, NULL, NULL) == 0);
    p.creds = &newer;
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &r, &s2, &resync, NULL, NULL) == 0);
    pthread_mutex_lock(&hub->mu);
    th_assert(strcmp(hub->accounts->creds.secret, "new-password") == 0);
    pthread_mutex_unlock(&hub->mu);
    rt_hub_unsubscribe(hub, &s1);
    rt_hub_unsubscribe(hub, &s2);
    ib_creds_fini(&newer);
    rt_hub_free(&hub);
}

/* ---- the indexes: subscriptions per watcher, watchers by id ----------- */

#define IX_ACCTS 10
#define IX_BOXES 30
#define IX_SUBS 500

struct ix_sub {
    struct rt_sub *sub;
    int acct, box[2];
    unsigned int got;
};

static int on_count(const struct rt_event *ev, void *ctx)
{
    (void)ev;
    ((struct ix_sub *)ctx)->got++;
    return 0;
}

/* Publish on (account, folder); false when there is no such watcher. */
static bool publish_to(struct rt_hub *hub, int acct, int box)
{
    static const struct rt_snap snap = { 1, 2, 3, 4, 0 };
    char id[16], name[16];
    bool found = false;

    snprintf(id, sizeof(id), "a%d", acct);
    snprintf(name, sizeof(name), "F%d", box);
    pthread_mutex_lock(&hub->mu);
    for (struct rt_watcher *w = hub->watchers; w != NULL && !found; w = w->next) {
        if (strcmp(w->acct->id, id) == 0 && strcmp(w->mailbox, name) == 0 && !w->closing) {
            rt_hub_publish_locked(hub, w, NULL, &snap, RT_REASON_NEW, cm_now_ns());
            found = true;
        }
    }
    pthread_mutex_unlock(&hub->mu);
    return found;
}

static bool ix_wants(const struct ix_sub *x, int acct, int box)
{
    return x->sub != NULL && x->acct == acct && (x->box[0] == box || x->box[1] == box);
}

/* Publish on a spread of (account, folder) pairs; every live subscription
   gets exactly the events of its own folders. */
static void ix_check_fanout(struct rt_hub *hub, struct ix_sub *xs)
{
    unsigned int want[IX_SUBS] = { 0 };

    for (int i = 0; i < IX_SUBS; i++)
        xs[i].got = 0;
    for (int a = 0; a < IX_ACCTS; a++) {
        for (int b = a % 3; b < IX_BOXES; b += 3) {
            bool any = false, found;

            for (int i = 0; i < IX_SUBS; i++) {
                if (ix_wants(&xs[i], a, b)) {
                    want[i]++;
                    any = true;
                }
            }
            found = publish_to(hub, a, b);
            th_assert_idx(found || !any, a * 100 + b); /* a wanted folder has a watcher */
        }
    }
    for (int i = 0; i < IX_SUBS; i++)
        th_assert_idx(xs[i].got == want[i], i);
}

static void test_index_fanout(void)
{
    static struct ix_sub xs[IX_SUBS];
    struct rt_hub *hub = hub_new(0);
    struct rt_watcher *w;
    uint64_t max_id = 0;
    size_t seen = 0;

    for (int i = 0; i < IX_SUBS; i++) {
        char id[16], b0[16], b1[16];
        const char *boxes[2] = { b0, b1 };
        struct rt_sub_params p = { id, &cr, boxes, 2, NULL, false, 0, false, NULL };
        bool resync;

        xs[i] = (struct ix_sub){ NULL, i % IX_ACCTS, { i % IX_BOXES, 0 }, 0 };
        xs[i].box[1] = (xs[i].box[0] + 1 + (i / IX_ACCTS) % (IX_BOXES - 1)) % IX_BOXES;
        snprintf(id, sizeof(id), "a%d", xs[i].acct);
        snprintf(b0, sizeof(b0), "F%d", xs[i].box[0]);
        snprintf(b1, sizeof(b1), "F%d", xs[i].box[1]);
        th_assert_idx(rt_hub_subscribe(hub, &p, on_count, &xs[i], &xs[i].sub, &resync, NULL,
                                       NULL) == 0, i);
    }
    /* Every watcher is found by its id, the table grew past its start. */
    pthread_mutex_lock(&hub->mu);
    th_assert(hub->by_id_size >= hub->nwatchers && hub->nwatchers > 64);
    for (w = hub->watchers; w != NULL; w = w->next, seen++) {
        th_assert(rt_hub_watcher_by_id(hub, w->id) == w);
        max_id = w->id > max_id ? w->id : max_id;
    }
    th_assert(seen == hub->nwatchers);
    th_assert(rt_hub_watcher_by_id(hub, max_id + 1) == NULL);
    pthread_mutex_unlock(&hub->mu);
    ix_check_fanout(hub, xs);
    /* Drop every other one (from both ends of the lists): the rest still
       get exactly theirs, the dropped ones nothing. */
    for (int i = 0; i < IX_SUBS; i += 2)
        rt_hub_unsubscribe(hub, &xs[i].sub);
    ix_check_fanout(hub, xs);
    for (int i = 0; i < IX_SUBS; i += 2)
        th_assert_idx(xs[i].got == 0, i);
    for (int i = 1; i < IX_SUBS; i += 2)
        rt_hub_unsubscribe(hub, &xs[i].sub);
    /* grace 0: the reactor reaps every watcher; none is found by id */
    for (int i = 0; i < 500; i++) {
        size_t n;

        pthread_mutex_lock(&hub->mu);
        n = hub->nwatchers;
        pthread_mutex_unlock(&hub->mu);
        if (n == 0)
            break;
        usleep(10 * 1000);
    }
    pthread_mutex_lock(&hub->mu);
    th_assert(hub->nwatchers == 0 && hub->watchers == NULL && hub->accounts == NULL);
    for (uint64_t id = 1; id <= max_id; id++)
        th_assert(rt_hub_watcher_by_id(hub, id) == NULL);
    pthread_mutex_unlock(&hub->mu);
    rt_hub_free(&hub);
}

static void test_backoff(void)
{
    for (unsigned int i = 0; i < 20; i++) {
        uint64_t ms = rt_backoff_ms(i, 30);
        uint64_t base = i < 5 ? 1000ull << i : 30000;

        th_assert_idx(ms >= base * 80 / 100 && ms <= base * 120 / 100, i);
    }
}

/* A server without NOTIFY: the account's notifier ends (for good) while
   its subscription lives, the folder goes back to its own connection, and
   the subscription is given back afterwards without touching the dead
   notifier (this was an assertion failure and a use after free). */
#define NN_CAPS "* CAPABILITY IMAP4rev1 IDLE ENABLE NAMESPACE\r\n$TAG OK done\r\n"
static const struct fake_imap_step no_notify_script[] = {
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(NN_CAPS), FI_EXPECT("LOGIN"),
    FI_SEND("$TAG OK in\r\n"), FI_EXPECT("ENABLE"), FI_SEND("* ENABLED\r\n$TAG OK done\r\n"),
    FI_EXPECT("NAMESPACE"), FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"),
    FI_EXPECT("CAPABILITY"), FI_SEND(NN_CAPS),
    FI_END,
};

static bool notifier_gone(struct rt_hub *hub)
{
    bool gone = false;

    pthread_mutex_lock(&hub->mu);
    for (struct rt_account *a = hub->accounts; a != NULL; a = a->next)
        gone = a->no_notify && a->notifier == NULL;
    pthread_mutex_unlock(&hub->mu);
    return gone;
}

static void test_notifier_ends_under_a_subscription(void)
{
    struct fake_session x;
    struct rt_hub_settings hs = { .watch_grace_secs = 0, .backoff_max_secs = 60,
                                  .max_idle_per_account = RT_IDLE_UNLIMITED,
                                  .push_mode = RT_PUSH_AUTO };
    struct ib_pool_settings ps = { 4, 16, 8, 100, 120, 600, 0 };
    struct ib_pool *fpool = NULL;
    struct rt_hub *hub = NULL;
    const char *inbox[] = { "INBOX" };
    struct rt_sub_params p = { "nn", NULL, inbox, 1, NULL, false, 0, false, NULL };
    struct rt_sub *s = NULL;
    struct rec r = { 0 };
    bool resync, gone = false;

    th_assert(fake_upstream_start(&x, no_notify_script, "pw", IB_AUTH_LOGIN, 2) == 0);
    p.creds = &x.cr;
    th_assert(ib_pool_new(&ps, &x.up, &fpool, NULL) == 0);
    th_assert(rt_hub_new(&hs, &x.up, fpool, work, &hub, NULL) == 0);
    th_assert(rt_hub_subscribe(hub, &p, on_ev, &r, &s, &resync, NULL, NULL) == 0);
    for (int i = 0; i < 300 && !(gone = notifier_gone(hub)); i++)
        usleep(10 * 1000);
    th_assert(gone);
    rt_hub_unsubscribe(hub, &s);
    rt_hub_free(&hub);
    ib_pool_free(&fpool);
    fake_upstream_stop(&x);
}

int main(void)
{
    struct ib_pool_settings ps = { 4, 16, 8, 100, 120, 600, 0 };

    th_assert(ib_upstream_parse_url("imap://127.0.0.1:1", &up, NULL) == 0);
    up.timeout_secs = 1;
    th_assert(ib_creds_init(&cr, "alice", "pw", IB_AUTH_LOGIN) == 0);
    th_assert(ib_pool_new(&ps, &up, &pool, NULL) == 0);
    th_assert(cm_work_new(2, 64, &work, NULL) == 0);
    th_run("share_fanout_replay", test_share_fanout_replay);
    th_run("overflow_stops_delivery", test_overflow_stops_delivery);
    th_run("bad_name_and_stop", test_bad_name_and_stop);
    th_run("creds_refresh", test_creds_refresh);
    th_run("backoff", test_backoff);
    th_run("index_fanout", test_index_fanout);
    th_run("notifier_ends_under_a_subscription", test_notifier_ends_under_a_subscription);
    cm_work_free(&work);
    ib_pool_free(&pool);
    ib_creds_fini(&cr);
    ib_upstream_fini(&up);
    return th_end();
}
