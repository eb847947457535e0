/* ib_untagged.h - what an untagged IMAP response line says, for the
 * commands whose answers we read ourselves (ib_lines.h): IDLE and NOTIFY
 * (ib_idle.h) and the one-command folder listing (LIST-STATUS). Pure.
 *
 * Whatever is not understood is reported as `other`: the caller then asks
 * STATUS (when in doubt, look).
 *
 * Ownership: a struct ib_untagged owns its STATUS and LIST entries
 * (ib_untagged_reset frees them). Threads: none.
 */
#ifndef IB_UNTAGGED_H
#define IB_UNTAGGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which STATUS items an entry carries (NOTIFY sends partial ones, e.g.
   only HIGHESTMODSEQ after a flag change). */
enum ib_status_item {
    IB_ST_MESSAGES = 1 << 0,
    IB_ST_UIDNEXT = 1 << 1,
    IB_ST_UIDVALIDITY = 1 << 2,
    IB_ST_UNSEEN = 1 << 3,
    IB_ST_HIGHESTMODSEQ = 1 << 4
};

/* One untagged STATUS (NOTIFY reports non-selected folders this way, and
   LIST-STATUS every folder). */
struct ib_status_line {
    char *imap_name;           /* wire name (modified UTF-7), owned */
    unsigned int have;         /* enum ib_status_item bits */
    uint32_t messages, uidnext, uidvalidity, unseen;
    uint64_t highestmodseq;
    char *object_id;           /* MAILBOXID (RFC 8474), else Dovecot's X-GUID;
                                  owned, NULL when not sent */
};

/* One untagged LIST or LSUB (a listing; NOTIFY MailboxName: a folder
   created, deleted or renamed). */
struct ib_list_line {
    char *imap_name;           /* as the server wrote it, owned */
    char *flags;               /* the flag list without its parentheses, owned */
    char delimiter;            /* 0 for NIL */
    bool gone;                 /* \NonExistent: deleted (or renamed away) */
    bool noselect;             /* \Noselect or \NonExistent */
    bool subscribed;           /* \Subscribed (LIST-EXTENDED), or an LSUB line */
};

/* What arrived since the news were last reset. */
struct ib_untagged {
    unsigned int lines;        /* untagged lines read */
    bool exists;               /* "* n EXISTS" (or RECENT) */
    bool expunge;              /* "* n EXPUNGE" or "* VANISHED" */
    bool fetch;                /* "* n FETCH" (flags, modseq) */
    bool folders;              /* "* LIST" / "* LSUB" (NOTIFY MailboxName,
                                  SubscriptionChange) */
    bool other;                /* anything not understood: ask STATUS */
    bool bye;                  /* "* BYE": the server is closing */
    uint64_t highestmodseq;    /* last [HIGHESTMODSEQ n] code, 0 if none */
    uint32_t uidnext;          /* last [UIDNEXT n] code, 0 if none */
    struct ib_status_line *statuses;
    size_t nstatuses, cap;
    struct ib_list_line *lists;
    size_t nlists, lists_cap;
};

/* Did anything arrive that may change the folder (anything but a bare
   "* OK text" keep-alive such as Dovecot's "Still here")? */
bool ib_untagged_any(const struct ib_untagged *n);
void ib_untagged_reset(struct ib_untagged *n);

/* Classify one untagged line (without CRLF; literals inline) into n.
   Pure; exposed for the unit tests and the fuzzer. Returns 0 or CM_ENOMEM. */
int ib_untagged_classify(struct ib_untagged *n, const char *line, size_t len);

#endif
