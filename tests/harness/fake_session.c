/* fake_session.c - see fake_session.h. */
#include "harness/fake_session.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/th.h"

int fake_upstream_start(struct fake_session *x, const struct fake_imap_step *script,
                        const char *secret, enum ib_auth_mech mech, unsigned int timeout_secs)
{
    struct cm_err err = CM_ERR_INIT;
    char url[64];

    memset(x, 0, sizeof(*x));
    x->fake = fake_imap_start(script);
    if (x->fake == NULL)
        return -1;
    snprintf(url, sizeof(url), "imap://127.0.0.1:%u", fake_imap_port(x->fake));
    if (ib_upstream_parse_url(url, &x->up, &err) < 0 ||
        ib_creds_init(&x->cr, "alice", secret, mech) < 0)
        return -1;
    x->up.timeout_secs = timeout_secs;
    return 0;
}

void fake_upstream_stop(struct fake_session *x)
{
    fake_imap_stop(&x->fake);
    ib_upstream_fini(&x->up);
    ib_creds_fini(&x->cr);
}

int fake_session_open(struct fake_session *x, const struct fake_imap_step *script,
                      const char *password, unsigned int timeout_secs)
{
    struct cm_err err = CM_ERR_INIT;

    if (fake_upstream_start(x, script, password, IB_AUTH_LOGIN, timeout_secs) < 0)
        return -1;
    return ib_session_open(&x->up, &x->cr, &x->s, &err);
}

void fake_session_close(struct fake_session *x)
{
    ib_session_close(&x->s);
    usleep(100 * 1000); /* let the fake read the hang-up */
    th_assert(fake_imap_failures(x->fake) == 0);
    if (fake_imap_failures(x->fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(x->fake));
    fake_upstream_stop(x);
}
