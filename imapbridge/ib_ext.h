/* ib_ext.h - parsers, through libetpan's extension API, for the responses
 * libetpan 1.9.4 cannot read itself (LIBS.md §0.8: an unparsable line kills
 * the session, so we never send a command whose answer nobody can parse):
 *
 *   FETCH   X-GUID <astring>                (Dovecot)
 *   FETCH   EMAILID (<objectid>)            (RFC 8474)
 *   FETCH   THREADID (<objectid>) | NIL     (RFC 8474)
 *   FETCH   PREVIEW <nstring>               (RFC 8970)
 *   FETCH   X-GM-LABELS (<label> ...)       (Gmail; a label is an astring
 *           or a system label "\Inbox": libetpan's own X-GM-LABELS parser
 *           takes astrings only and fails the whole FETCH on "\Inbox")
 *   STATUS  MAILBOXID (<objectid>)          (RFC 8474)
 *   STATUS  X-GUID <astring>                (Dovecot)
 *   * ESEARCH [(TAG "t")] [UID] MIN n MAX n COUNT n ALL set MODSEQ m  (RFC 4731)
 *
 * ib_ext_register() adds them once per process (libetpan keeps a global
 * list); ib_session_open calls it. Parsed values arrive as
 * struct mailimap_extension_data whose ext_extension is &ib_ext_api:
 * msg_att items (FETCH), status_info (STATUS) or rsp_extension_list
 * entries (ESEARCH). The helpers below find them.
 *
 * Threads: ib_ext_register is thread-safe (pthread_once); the rest is pure.
 */
#ifndef IB_EXT_H
#define IB_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libetpan/libetpan.h>

enum ib_ext_type {
    IB_EXT_FETCH_XGUID = 1,
    IB_EXT_FETCH_EMAILID = 2,
    IB_EXT_FETCH_THREADID = 3,
    IB_EXT_STATUS_MAILBOXID = 4,
    IB_EXT_STATUS_XGUID = 5,
    IB_EXT_ESEARCH = 6,
    IB_EXT_FETCH_PREVIEW = 7,
    IB_EXT_FETCH_XGMLABELS = 8   /* ext_data: struct ib_ext_labels */
};

/* X-GM-LABELS of one message: labels[0..n) malloc'd, wire form
   (modified UTF-7; system labels with their backslash). */
struct ib_ext_labels {
    char **labels;
    size_t n;
};

/* ext_data of the string types: a malloc'd NUL-terminated string (NULL
   for THREADID NIL and PREVIEW NIL). */
struct ib_esearch {
    char *tag;                 /* correlator, or NULL */
    bool uid;                  /* results are UIDs */
    bool has_min, has_max, has_count, has_modseq;
    uint32_t min, max, count;
    uint64_t modseq;
    struct mailimap_set *all;  /* ALL set, or NULL */
};

extern struct mailimap_extension_api ib_ext_api;

void ib_ext_register(void);

/* The X-GM-LABELS of a FETCH item extension (ours or libetpan's, which
   parses lists without system labels): 1 when d is one, the labels
   appended to *out / *n_r (malloc'd copies); 0 when it is not; <0 on OOM. */
int ib_ext_labels_copy(const struct mailimap_extension_data *d, char ***out, size_t *n_r);

/* The string of type in a FETCH msg_att, or NULL (borrowed from att). */
const char *ib_ext_msg_att_string(const struct mailimap_msg_att *att, enum ib_ext_type type);

/* The string of type in a STATUS reply, or NULL (borrowed from st). */
const char *ib_ext_status_string(const struct mailimap_mailbox_data_status *st,
                                 enum ib_ext_type type);

/* The first ESEARCH response in a response_info extension list, or NULL
   (borrowed; valid until the session's next command). */
const struct ib_esearch *ib_ext_esearch(clist *rsp_extension_list);

/* Is text a valid RFC 8474 objectid (1*255 of ALPHA DIGIT "_" "-")? */
bool ib_ext_objectid_valid(const char *text);

#endif
