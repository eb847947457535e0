/* ib_thread.h - thread roots that hold together (issue 12 item 3).
 *
 * A thread id names the thread's root Message-ID (ib_ids.h). A message
 * hangs from its anchor: the first id of its References (RFC 5322: where
 * the thread started, as its writer knew it), else its In-Reply-To. Its
 * root is its anchor's root when the anchor message is known, following
 * anchors at most IB_THREAD_MAX_HOPS times; an unknown anchor is taken as
 * the root, a message with no anchor is its own root. Seen on real mail:
 * B "In-Reply-To: <A>" (no References), A "References: <R>": B's anchor
 * is A, A's root is R, so B's root is R; and an MH-style parent
 * ("In-Reply-To: Message from X <P> of ...", no References) whose reply
 * says "References: <parent>". So a reply and the message it names share
 * a root whenever the caller could find the parent (the gateway looks in
 * the reply's folder and in Sent, and keeps what it learnt in an
 * ib_thread_cache).
 *
 * ib_thread_root is pure; the cache is thread-safe (one mutex), bounded
 * (oldest entries go first) and disposable. The cache copies what it keeps.
 */
#ifndef IB_THREAD_H
#define IB_THREAD_H

#include <stdbool.h>
#include <stddef.h>

#define IB_THREAD_MAX_HOPS 8

/* What a message says about its place in a thread (Message-IDs without
   <>; NULL when absent). */
struct ib_thread_node {
    const char *msgid;
    const char *first_ref;  /* first id of References */
    const char *irt;        /* first id of In-Reply-To */
};

/* The node of the message whose Message-ID is msgid, or NULL (unknown). */
typedef const struct ib_thread_node *ib_thread_lookup_fn(const char *msgid, void *ctx);

/* The root Message-ID of n (borrowed from the nodes), or NULL when n has
   no Message-ID, References or In-Reply-To. lookup may be NULL. Cycles
   and chains longer than IB_THREAD_MAX_HOPS stop at the last parent. */
const char *ib_thread_root(const struct ib_thread_node *n, ib_thread_lookup_fn *lookup, void *ctx);

/* Does n hang from another message (has References or In-Reply-To)? */
bool ib_thread_needs_parent(const struct ib_thread_node *n);

struct ib_thread_cache;

/* At most max_entries (account, Message-ID) -> root. NULL on OOM. */
struct ib_thread_cache *ib_thread_cache_new(size_t max_entries);
void ib_thread_cache_free(struct ib_thread_cache **c);
/* Remember that account's message msgid has root `root` (silently nothing
   when too long or on OOM). */
void ib_thread_cache_put(struct ib_thread_cache *c, const char *account, const char *msgid,
                         const char *root);
/* The root of account's msgid into a new malloc'd string, or NULL. */
char *ib_thread_cache_get(struct ib_thread_cache *c, const char *account, const char *msgid);

#endif
