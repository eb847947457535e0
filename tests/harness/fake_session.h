/* fake_session.h - an ib_session logged in to a fake_imap server playing a
 * script, for the imapbridge unit tests. LOGIN with username "alice".
 *
 * Threads: the test's. Ownership: fake_session_close frees everything.
 */
#ifndef FAKE_SESSION_H
#define FAKE_SESSION_H

#include "harness/fake_imap.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_upstream.h"

struct fake_session {
    struct fake_imap *fake;
    struct ib_upstream up;
    struct ib_creds cr;
    struct ib_session *s;
};

/* Start the fake and point x->up / x->cr at it (user "alice", secret a
   password or a token for mech, timeout_secs per operation); no session
   yet. 0, or -1. */
int fake_upstream_start(struct fake_session *x, const struct fake_imap_step *script,
                        const char *secret, enum ib_auth_mech mech, unsigned int timeout_secs);
/* Stop the fake and free x->up / x->cr (x->s is not touched). */
void fake_upstream_stop(struct fake_session *x);

/* fake_upstream_start with LOGIN, then connect and log in into x->s.
   0, or <0 (the session may be NULL). */
int fake_session_open(struct fake_session *x, const struct fake_imap_step *script,
                      const char *password, unsigned int timeout_secs);

/* Close the session, then assert that the fake saw exactly its script. */
void fake_session_close(struct fake_session *x);

#endif
