/* ib_search.h - JMAP Email/query filters and sorts (RFC 8621 §4.4) turned
 * into IMAP SEARCH keys and SORT criteria, built only with libetpan's
 * constructors (ARCHITECTURE §7: nothing a client sends reaches IMAP as raw
 * text). Pure: no I/O; the few conditions IMAP cannot answer exactly are
 * delegated to the caller through struct ib_search_resolver.
 *
 * Error signalling (both the filter and the sort side):
 *   CM_EINVAL  malformed input            -> invalidArguments, unless
 *              *unsupported_r was set     -> unsupportedFilter / unsupportedSort
 *   CM_ELIMIT  too deep / too many / too long
 *   CM_ENOMEM  allocation failed
 *   other      whatever the resolver returned (propagated unchanged)
 * err->msg names the offending property.
 *
 * Wire facts (Debian libetpan 1.9.4, checked by capturing what its sender
 * writes; the unit test keeps checking it):
 *   - mailimap_uid_search / mailimap_uid_sort send strings as an atom when
 *     they are [A-Za-z0-9-]+, else as a quoted string ("\" and '"' escaped),
 *     and non-ASCII bytes go raw INSIDE the quoted string (not a literal).
 *   - mailimap_uid_search_literalplus sends non-ASCII strings as {n+}
 *     literals instead (needs LITERAL+; Dovecot has it).
 *   - KEYWORD's argument is written raw; UNKEYWORD's as an astring (so
 *     "$Forwarded" would be quoted, which RFC 3501 does not allow: such
 *     keywords are negated as NOT KEYWORD x). Keyword syntax is checked here.
 *   - mailimap_uid_sort needs a non-NULL charset and a non-NULL search key
 *     (pass mailimap_search_key_new_all() when *key_r is NULL).
 * Dovecot 2.3.19 accepted every form built here, both senders, and gave the
 * expected UIDs (checked by hand, not in the unit test).
 *
 * Threads: no shared state; every function is safe from any thread.
 */
#ifndef IB_SEARCH_H
#define IB_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/cm_err.h"

/* libetpan types, opaque outside imapbridge/ (its headers stay private) */
struct mailimap_search_key;
struct mailimap_set;
struct mailimap_sort_key;

#define IB_SEARCH_MAX_DEPTH 32          /* nesting of FilterOperators */
#define IB_SEARCH_MAX_CONDITIONS 256    /* operators + conditions in a filter */
#define IB_SEARCH_MAX_IDS 1024          /* ids in one inMailboxOtherThan */
#define IB_SEARCH_MAX_STRING_BYTES 4096 /* one search string */

/* Answers the conditions IMAP SEARCH cannot express exactly: "before",
   "after" (UTCDate vs. IMAP's whole days), "hasAttachment",
   "allInThreadHaveKeyword", "someInThreadHaveKeyword",
   "noneInThreadHaveKeyword". Called from ib_search_key_for_mailbox() on the
   caller's thread, only for conditions that can still change the result,
   with value already type-checked (UTCDate string, keyword string or
   boolean; borrowed). On success it stores in *set_r the UIDs of
   mailbox_id that match (a new set the callee gives away; NULL or an empty
   set means "none") and returns 0. On failure it returns a negative CM_E*
   (filled into err), which ib_search_key_for_mailbox returns unchanged; a
   set stored on failure is freed. */
struct ib_search_resolver {
    int (*uids)(void *arg, const char *mailbox_id, const char *prop, json_t *value,
                struct mailimap_set **set_r, struct cm_err *err);
    void *arg;
};

/* Validate a JMAP filter (FilterOperator or FilterCondition, or NULL /
   JSON null for "no filter") without building anything: JSON types, id,
   keyword, UTCDate and header-name syntax, CR/LF/NUL in strings, limits.
   have_resolver says whether the resolver-backed conditions can be
   answered (if not they are unsupported). Unknown condition properties
   and unanswerable conditions set *unsupported_r (may be NULL; set to
   false first) and return CM_EINVAL. Returns 0 or a negative CM_E*. */
int ib_search_filter_check(json_t *filter, bool have_resolver, bool *unsupported_r,
                           struct cm_err *err) __attribute__((warn_unused_result));

/* Translate filter (borrowed) for the one mailbox mailbox_id (not NULL).
   The mailbox conditions are evaluated as constants for that mailbox and
   folded through AND/OR/NOT, as are minSize 0, maxSize 0 and empty
   operators (AND [] and NOT [] are true, OR [] is false). A message is
   taken to be in mailbox_id only: for an Email with copies in several
   mailboxes the caller merges the per-mailbox answers (e.g. NOT inMailbox
   X still matches its copy in Y). On success returns 0 and one of:
     *never_r = true,  *key_r = NULL: nothing in this mailbox can match; skip it;
     *never_r = false, *key_r = NULL: everything matches ("ALL");
     *never_r = false, *key_r = key:  a new key the caller owns
                                       (mailimap_search_key_free).
   res may be NULL (the resolver conditions are then unsupported). The
   filter is checked first as by ib_search_filter_check(). On error returns
   a negative CM_E* (see the top of this file), *key_r = NULL and nothing
   leaks. */
int ib_search_key_for_mailbox(json_t *filter, const char *mailbox_id,
                              const struct ib_search_resolver *res,
                              struct mailimap_search_key **key_r, bool *never_r,
                              bool *unsupported_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* True when some string in key (NULL allowed) has a byte outside ASCII, so
   the search must be sent with CHARSET UTF-8 (libetpan adds CHARSET itself
   when given a charset; this is for callers that choose the command). */
bool ib_search_needs_utf8(const struct mailimap_search_key *key);

/* Which libetpan sender a rendering imitates. */
enum ib_search_wire {
    IB_SEARCH_WIRE_PLAIN,      /* mailimap_uid_search, mailimap_uid_sort */
    IB_SEARCH_WIRE_LITERALPLUS /* mailimap_uid_search_literalplus */
};

/* The IMAP text libetpan would write for key (after "UID SEARCH
   [CHARSET x] "), byte for byte, for tests and debug logs; sends nothing.
   NULL key renders as "ALL". Returns a malloc'd string, or NULL on
   allocation failure or for key types this module never builds (MODSEQ).
   Literals render as "{n+}\r\n" + bytes; strings with CR or LF (refused
   by this module) are not converted as libetpan's literal sender would.
   ib_search_key_render() is the PLAIN form. */
char *ib_search_key_render_wire(const struct mailimap_search_key *key, enum ib_search_wire wire);
char *ib_search_key_render(const struct mailimap_search_key *key);

/* Keys built piece by piece (a gateway route's own searches). Each returns
   a new key, or NULL when out of memory; free with ib_search_key_free
   (NULL is a no-op). */
/* UID set: takes set, also when it fails (set NULL gives NULL). */
struct mailimap_search_key *ib_search_key_uids(struct mailimap_set *set);
/* HEADER fields[0] value OR HEADER fields[1] value OR ... (n >= 1; the
   strings are copied). */
struct mailimap_search_key *ib_search_key_header_any(const char *const *fields, size_t n,
                                                     const char *value);
/* X-GM-THRID n (Gmail) for a thread id in decimal (1-20 digits), or
   NULL (not such a number, or OOM). */
struct mailimap_search_key *ib_search_key_gm_thread(const char *decimal);
/* HEADER field v0 OR HEADER field v1 ... (n >= 1), or NULL. */
struct mailimap_search_key *ib_search_key_header_values(const char *field,
                                                        const char *const *values, size_t n);
/* OR a b; steals both (freed on failure too), NULL on failure. */
struct mailimap_search_key *ib_search_key_or(struct mailimap_search_key *a,
                                             struct mailimap_search_key *b);
/* SINCE (before false) or BEFORE (before true) the UTC day of t. */
struct mailimap_search_key *ib_search_key_day(bool before, time_t t);
void ib_search_key_free(struct mailimap_search_key *key);

/* ---- Sort ---------------------------------------------------------- */

#define IB_SORT_MAX_COMPARATORS 16

/* Server capabilities that ib_sort_build may use. */
enum ib_sort_cap {
    IB_SORT_CAP_SORT = 1u << 0 /* RFC 5256 SORT */
};

enum ib_sort_field {
    IB_SORT_RECEIVED_AT, /* INTERNALDATE;        IMAP ARRIVAL */
    IB_SORT_SENT_AT,     /* Date header;         IMAP DATE */
    IB_SORT_SIZE,        /* RFC822.SIZE;         IMAP SIZE */
    IB_SORT_FROM,        /* IMAP FROM (see ib_sort_build) */
    IB_SORT_TO,          /* IMAP TO */
    IB_SORT_SUBJECT,     /* RFC 5256 base subject; IMAP SUBJECT */
    IB_SORT_HAS_KEYWORD, /* client side only */
    IB_SORT_SOME_IN_THREAD, /* someInThreadHaveKeyword: client side, from thread_bits */
    IB_SORT_ALL_IN_THREAD   /* allInThreadHaveKeyword: client side, from thread_bits */
};

enum ib_sort_collation {
    IB_SORT_COLL_ASCII_CASEMAP,   /* "i;ascii-casemap" (default) */
    IB_SORT_COLL_UNICODE_CASEMAP, /* "i;unicode-casemap" */
    IB_SORT_COLL_ASCII_NUMERIC    /* "i;ascii-numeric" (RFC 4790 §9.1) */
};

struct ib_sort_crit {
    enum ib_sort_field field;
    bool ascending;
    enum ib_sort_collation collation;
    char keyword[256]; /* hasKeyword and the thread sorts: the keyword, lower-cased */
};

/* The result of ib_sort_build. crit[] always describes the full order
   (used by ib_sort_compare, also to merge per-mailbox results); server_key
   is set only when the server can do all of it with UID SORT. */
struct ib_sort_plan {
    struct mailimap_sort_key *server_key; /* owned; NULL: sort client side */
    size_t n_crit;                        /* 0: no comparators, UID order */
    struct ib_sort_crit crit[IB_SORT_MAX_COMPARATORS];
};

/* One message as ib_sort_compare sees it; all strings are borrowed and may
   be NULL (= ""). The caller fills from/to with the first address's display
   name, else its email (RFC 8621 §4.4.2), subject with
   ib_sort_base_subject() of the decoded Subject, all three in lower case.
   ASCII is folded here too; beyond ASCII the caller's folding is what
   counts, as bytes are compared (Dovecot's SORT uses i;unicode-casemap,
   where "é" sorts with "e"). sent_at falls back to received_at when there
   is no Date header, as IMAP SORT DATE does. keywords are JMAP keywords. */
struct ib_sort_item {
    uint32_t uid;
    uint32_t mailbox_index; /* last tie-break when merging mailboxes */
    int64_t received_at;    /* seconds since the epoch */
    int64_t sent_at;
    uint64_t size;
    const char *from;
    const char *to;
    const char *subject;
    const char *const *keywords;
    size_t n_keywords;
    uint32_t thread_bits; /* bit i: comparator i (a thread sort) holds for the
                             message's thread; the caller computes it */
};

/* Build a sort plan from RFC 8621 Comparators (comparators borrowed; NULL,
   JSON null or [] mean "no sort"). plan need not be initialised; on
   success the caller owns it (ib_sort_plan_fini). Properties: receivedAt,
   sentAt, size, from, to, subject, hasKeyword, someInThreadHaveKeyword,
   allInThreadHaveKeyword (the last three with "keyword"; the thread ones
   compare ib_sort_item.thread_bits); others (including RFC 8620 "id") set
   *unsupported_r (may be NULL) and return CM_EINVAL, as do collations other
   than i;ascii-casemap, i;unicode-casemap, i;ascii-numeric. server_key is
   built when caps has IB_SORT_CAP_SORT and no comparator needs the client:
   the keyword sorts, or i;ascii-numeric on from/to/subject. Note: IMAP SORT FROM/TO
   order by the address's mailbox part (RFC 5256), not by display name as
   JMAP says; ties are in UID order as in ib_sort_compare. Errors leave plan
   empty (no server_key). */
int ib_sort_build(json_t *comparators, unsigned caps, struct ib_sort_plan *plan,
                  bool *unsupported_r, struct cm_err *err) __attribute__((warn_unused_result));

/* Free plan->server_key and empty the plan. Safe on an emptied plan. */
void ib_sort_plan_fini(struct ib_sort_plan *plan);

/* <0, 0, >0 as a sorts before, with, after b under plan->crit, then UID
   ascending, then mailbox_index ascending (0 only for identical keys). */
int ib_sort_compare(const struct ib_sort_plan *plan, const struct ib_sort_item *a,
                    const struct ib_sort_item *b);

/* The RFC 5256 §2.1 base subject of subject (UTF-8, already decoded from
   RFC 2047): whitespace runs folded to one space, "Re:", "Fw:", "Fwd:",
   "[blob]" leaders, "(fwd)" trailers and "[Fwd: ...]" wrappers removed.
   Case is kept. Returns a new malloc'd string, or NULL on allocation
   failure (subject NULL is treated as ""). */
char *ib_sort_base_subject(const char *subject);

/* Debug text of the plan: the SORT criteria exactly as libetpan sends them,
   e.g. "(REVERSE ARRIVAL SIZE)", or "client:" followed by the criteria
   ("client: -hasKeyword($seen) +receivedAt"). Returns a malloc'd string or
   NULL on allocation failure. */
char *ib_sort_render(const struct ib_sort_plan *plan);

#endif
