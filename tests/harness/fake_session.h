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

/* Start the fake, then connect and log in with password within
   timeout_secs per operation. 0, or <0 (the session may be NULL). */
int fake_session_open(struct fake_session *x, const struct fake_imap_step *script,
                      const char *password, unsigned int timeout_secs);

/* Close the session, then assert that the fake saw exactly its script. */
void fake_session_close(struct fake_session *x);

#endif
