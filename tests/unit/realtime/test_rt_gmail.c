/* test_rt_gmail.c - a push watcher on the Gmail profile of the fake
 * (fake_gmail.h), whose IDLE the server cuts (Gmail: after ~10 minutes;
 * here after 1 s): with "* BYE" or a bare close, the watcher reconnects,
 * compares the folder with what it last saw and publishes the message that
 * arrived meanwhile: nothing is lost. The watcher re-issues its IDLE
 * after at most 540 s on Gmail, before the server's cut. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_time.h"
#include "common/cm_work.h"
#include "harness/fake_gmail.h"
#include "harness/th.h"
#include "imapbridge/ib_pool.h"
#include "realtime/rt_private.h"

struct rec {
    size_t n;
    enum rt_reason reason;
};

static int on_ev(const struct rt_event *ev, void *ctx)
{
    struct rec *r = ctx;

    r->reason = ev->reason;
    r->n++;
    return 0;
}

#define WATCH(messages, uidnext)                                                                   \
    FAKE_GMAIL_LOGIN, FI_EXPECT("EXAMINE INBOX"),                                                  \
        FI_SEND("* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 11] v\r\n* " #messages " EXISTS\r\n"        \
                "* OK [UIDNEXT " #uidnext "] n\r\n* OK [HIGHESTMODSEQ 900] m\r\n"                  \
                "$TAG OK [READ-ONLY] INBOX selected. (Success)\r\n"),                              \
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK Success\r\n"), FI_EXPECT("STATUS INBOX"),                                                                 \
        FI_SEND("* STATUS \"INBOX\" (MESSAGES " #messages " UNSEEN 0 UIDVALIDITY 11 UIDNEXT "      \
                #uidnext " HIGHESTMODSEQ 900)\r\n$TAG OK Success\r\n")

static const struct fake_imap_step cut_by_bye[] = { WATCH(2, 30), FAKE_GMAIL_IDLE_BYE(1000),
                                                    FI_END };
static const struct fake_imap_step cut_by_close[] = { WATCH(2, 30), FAKE_GMAIL_IDLE_CLOSE(1000),
                                                      FI_END };
/* The reconnect: a message arrived while the watcher was away. */
static const struct fake_imap_step after[] = {
    WATCH(3, 31), FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"), FI_SLEEP(10000), FI_CLOSE, FI_END,
};

static struct cm_work *work;

/* When the watcher re-issues its IDLE, from now (0 when not idling):
   Gmail's ~10-minute cut beats the configured 1500 s. */
static uint64_t reidle_in_ms(struct rt_hub *hub)
{
    uint64_t in = 0;

    for (int i = 0; i < 300 && in == 0; i++) {
        pthread_mutex_lock(&hub->mu);
        if (hub->watchers != NULL && hub->watchers->state == RT_WATCHER_IDLING &&
            !hub->watchers->busy)
            in = hub->watchers->due_ms - cm_now_ms();
        pthread_mutex_unlock(&hub->mu);
        if (in == 0)
            usleep(10 * 1000);
    }
    return in;
}

static void run(const struct fake_imap_step *first)
{
    const struct fake_imap_step *const scripts[] = { first, after };
    struct fake_imap *fake = fake_imap_start_each(scripts, 2);
    struct ib_pool_settings ps = { 4, 16, 8, 100, 120, 600, 0 };
    struct rt_hub_settings hs = { .watch_grace_secs = 0, .ring_size = 8, .backoff_max_secs = 1,
                                  .idle_restart_secs = 1500,
                                  .max_idle_per_account = RT_IDLE_UNLIMITED,
                                  .push_mode = RT_PUSH_EXAMINE };
    const char *inbox[] = { "INBOX" };
    struct ib_upstream up = { 0 };
    struct ib_creds cr = { 0 };
    struct ib_pool *pool = NULL;
    struct rt_hub *hub = NULL;
    struct rt_sub *sub = NULL;
    struct rt_hub_stats st = { 0 };
    struct rec r = { 0 };
    bool resync = false;
    char url[64];

    snprintf(url, sizeof(url), "imap://127.0.0.1:%u", fake_imap_port(fake));
    th_assert(ib_upstream_parse_url(url, &up, NULL) == 0);
    up.timeout_secs = 3;
    th_assert(ib_creds_init(&cr, "alice", "pw", IB_AUTH_LOGIN) == 0);
    th_assert(ib_pool_new(&ps, &up, &pool, NULL) == 0);
    th_assert(rt_hub_new(&hs, &up, pool, work, &hub, NULL) == 0);
    {
        struct rt_sub_params p = { "acct1", &cr, inbox, 1, NULL, false, 0, false, NULL };

        th_assert(rt_hub_subscribe(hub, &p, on_ev, &r, &sub, &resync, NULL, NULL) == 0);
    }
    for (int i = 0; i < 800 && r.n == 0; i++)
        usleep(10 * 1000);
    rt_hub_stats(hub, &st);
    th_assert(r.n == 1 && r.reason == RT_REASON_NEW);
    th_assert(reidle_in_ms(hub) > 500 * 1000 && reidle_in_ms(hub) <= 540 * 1000);
    th_assert(st.reconnects_total == 1 && fake_imap_connections(fake) == 2);
    rt_hub_unsubscribe(hub, &sub);
    rt_hub_free(&hub);
    ib_pool_free(&pool);
    th_assert(fake_imap_failures(fake) == 0);
    if (fake_imap_failures(fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(fake));
    fake_imap_stop(&fake);
    ib_creds_fini(&cr);
    ib_upstream_fini(&up);
}

static void test_cut_by_bye(void)
{
    run(cut_by_bye);
}

static void test_cut_by_close(void)
{
    run(cut_by_close);
}

int main(void)
{
    th_assert(cm_work_new(2, 64, &work, NULL) == 0);
    th_run("IDLE cut with BYE: reconnect, the missed message published", test_cut_by_bye);
    th_run("IDLE cut by a bare close: the same", test_cut_by_close);
    cm_work_free(&work);
    return th_end();
}
