/* ib_etpan.h - libetpan 1.9.4 functions that libetpan.so exports but whose
 * headers (mailimap_sender.h, mailimap_parser.h) Debian does not install.
 * They are the calls libetpan's own commands make; we use them to send
 * commands libetpan has no builder for (AUTHENTICATE with SASL-IR, STATUS
 * with X-GUID / MAILBOXID).
 *
 * The ib_etpan_* helpers below are the steps they share, and let a caller
 * pipeline commands (write several, then read the answers in order).
 *
 * Internal to imapbridge. Threads: as any libetpan call, one session one
 * thread.
 */
#ifndef IB_ETPAN_H
#define IB_ETPAN_H

#include <stdbool.h>

#include <libetpan/libetpan.h>

int mailimap_token_send(mailstream *fd, const char *atom);
int mailimap_space_send(mailstream *fd);
int mailimap_crlf_send(mailstream *fd);
/* A mailbox name as IMAP astring (atom, quoted or literal; "INBOX" as is). */
int mailimap_mailbox_send(mailstream *fd, const char *mb);
/* "UID SORT (key) charset searchkey" without tag or CRLF (mailimap_sort.c). */
int mailimap_uid_sort_send(mailstream *fd, const char *charset, struct mailimap_sort_key *key,
                           struct mailimap_search_key *searchkey);
/* "<keys>" of a SORT, without its parentheses (mailimap_sort.c). */
int mailimap_sort_key_send(mailstream *fd, struct mailimap_sort_key *key);
/* One search key as SEARCH writes it (mailimap_sender.c). */
int mailimap_search_key_send(mailstream *fd, struct mailimap_search_key *key);
/* "UID FETCH set fetch_type" without tag or CRLF (mailimap_sender.c). */
int mailimap_uid_fetch_send(mailstream *fd, struct mailimap_set *set,
                            struct mailimap_fetch_type *fetch_type);
int mailimap_continue_req_parse(mailstream *fd, MMAPString *buffer,
                                struct mailimap_parser_context *parser_ctx, size_t *indx,
                                struct mailimap_continue_req **result, size_t progr_rate,
                                progress_function *progr_fun);

/* Write "<tag> <text>" CRLF without flushing (text must be a complete,
   constant command: it is sent as is); *tag_r gets the tag number, for
   reading the answer of a pipelined command (ib_etpan_read_response). */
int ib_etpan_send_line(mailimap *imap, const char *text, int *tag_r);

/* Read and parse one whole response (up to its tagged line). The tagged
   line must carry the tag number in imap->imap_tag. Returns a libetpan
   code; on MAILIMAP_NO_ERROR *resp_r is the response (caller:
   mailimap_response_free); the untagged data is in imap_response_info. */
int ib_etpan_read_response(mailimap *imap, struct mailimap_response **resp_r);

/* "<tag> <text>" (a complete, constant command), flushed, and its response
   as ib_etpan_read_response gives it. */
int ib_etpan_command(mailimap *imap, const char *text, struct mailimap_response **resp_r);

/* Did the tagged line say OK (not NO or BAD)? */
bool ib_etpan_tagged_ok(const struct mailimap_response *resp);

#endif
