/* ib_lines.h - a command whose answer we read line by line ourselves,
 * untagged lines classified into a struct ib_untagged, instead of
 * libetpan's parser: for responses libetpan drops (IDLE's early lines) or
 * keeps only the last of (several STATUS in one response).
 *
 * Lines are read with literals inline ("...{n}\r\n<n bytes>..."), at most
 * 1 MiB each. A stream failure, a line that is not ours, or an oversized
 * line marks the session broken (ib_session_check); a tagged NO/BAD is
 * CM_EUPSTREAM with the server's text and leaves the session usable; a
 * "* BYE" before the stream ends is CM_EUNAVAIL with its text.
 *
 * Internal to imapbridge. Threads: the session's.
 */
#ifndef IB_LINES_H
#define IB_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cm_err.h"
#include "imapbridge/ib_untagged.h"

struct ib_session;

/* Write "<tag> text" CRLF and flush; *tag_r gets the tag number. text is
   sent as is: a complete, safe command. */
int ib_lines_send(struct ib_session *s, const char *text, int *tag_r, const char *what,
                  struct cm_err *err) __attribute__((warn_unused_result));

/* Read lines into u until the "+" continuation (when plus_ends) or the
   tagged line of tag. */
int ib_lines_read(struct ib_session *s, struct ib_untagged *u, int tag, bool plus_ends,
                  const char *what, struct cm_err *err) __attribute__((warn_unused_result));

/* Called with each line ib_lines_read_all reads (without CRLF, literals
   inline): index -1 for an untagged line, i for the tagged line that
   answers tags[i] (after ok_r[i] is set; a tagged OK may carry a response
   code such as COPYUID). A negative return stops the read (the session is
   then out of step: marked broken). */
typedef int ib_lines_line_fn(void *ctx, int index, const char *line, size_t len);

/* Read the answers of the pipelined commands tags[0..ntags), in whatever
   order the server interleaves them (Dovecot answers a command written
   behind a SORT before the SORT's tagged OK), until every one has its
   tagged line; a tags[i] of 0 is a command not written (nothing awaited).
   Each line goes to on_line. ok_r[i] tells whether tags[i] said OK; a
   NO/BAD is not an error (the session stays usable). A tag that is none of
   ours marks the session broken. */
int ib_lines_read_all(struct ib_session *s, const int *tags, bool *ok_r, size_t ntags,
                      ib_lines_line_fn *on_line, void *ctx, const char *what,
                      struct cm_err *err) __attribute__((warn_unused_result));

#endif
