/* fake_jmap.h - a JMAP request (struct gw_jreq) around a session logged in
 * to a fake_imap server, for the gateway unit tests of the JMAP methods.
 *
 * The request has account "a1", declares core and mail, and a fixed state
 * key (fake_jmap_key), so a test can build state tokens itself
 * (ib_state_encode, gw_jmap_mailbox_state). The session is set on the
 * request up front: no pool is involved, gw_jreq_session returns it.
 *
 * FAKE_JMAP_LOGIN is the login exchange of such a session (LIST-STATUS,
 * CONDSTORE and QRESYNC offered and enabled, "/" as delimiter); a script
 * starts with it, then lists folders with FAKE_JMAP_LIST.
 *
 * Threads: the test's. Ownership: fake_jmap_close frees everything.
 */
#ifndef FAKE_JMAP_H
#define FAKE_JMAP_H

#include <jansson.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_settings.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmap.h"
#include "harness/fake_session.h"

#define FAKE_JMAP_CAPS                                                                             \
    "* CAPABILITY IMAP4rev1 ENABLE NAMESPACE CONDSTORE QRESYNC SPECIAL-USE UNSELECT "              \
    "LIST-EXTENDED LIST-STATUS\r\n$TAG OK done\r\n"
/* Login to a server with capability response caps that answers ENABLE
   with the untagged response enabled. */
#define FAKE_JMAP_LOGIN_WITH(caps, enabled)                                                        \
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(caps), FI_EXPECT("LOGIN"),         \
        FI_SEND("$TAG OK in\r\n"), FI_EXPECT("ENABLE CONDSTORE QRESYNC"),                          \
        FI_SEND(enabled "\r\n$TAG OK done\r\n"), FI_EXPECT("NAMESPACE"),                           \
        FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"),                         \
        FI_EXPECT("CAPABILITY"), FI_SEND(caps)
#define FAKE_JMAP_LOGIN FAKE_JMAP_LOGIN_WITH(FAKE_JMAP_CAPS, "* ENABLED CONDSTORE QRESYNC")
/* The folder listing command (ib_mailbox_list with LIST-STATUS). */
#define FAKE_JMAP_LIST                                                                             \
    FI_EXPECT("LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN "            \
              "UIDVALIDITY UIDNEXT HIGHESTMODSEQ))")

struct fake_jmap {
    struct fake_session x;
    struct gw_settings set; /* zero but the upload limits (50 MB, 1 h) */
    struct gw_ctx ctx;
    struct gw_req req;
    struct gw_jreq jr;
};

extern const unsigned char fake_jmap_key[32];

/* The mailbox id of a selectable folder listed without an object id
   (ib_mailbox_id_derive); one of 8 rotating static buffers. */
const char *fake_jmap_mailbox_id(const char *imap_name, unsigned int uidvalidity);

/* Start the fake with script, log in, and set up the request. 0, or -1. */
int fake_jmap_open(struct fake_jmap *j, const struct fake_imap_step *script);

/* Run method fn as call `name` with args (stolen; accountId "a1" is added
   when absent). Returns the response arguments (new reference) or NULL;
   *type_r is then the JMAP error type (the method's own, or
   gw_error_jmap_type's), else NULL. A session broken by an earlier call
   (the fake saw something off-script) fails the test instead. */
json_t *fake_jmap_call(struct fake_jmap *j, gw_jmethod_fn *fn, const char *name, json_t *args,
                       const char **type_r);

/* A new request on the same session: drops the request's folder list. */
void fake_jmap_next_request(struct fake_jmap *j);

/* Free the request, close the session, assert that the fake saw exactly
   its script. */
void fake_jmap_close(struct fake_jmap *j);

#endif
