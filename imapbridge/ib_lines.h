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

/* One response line into l (a libetpan MMAPString; literals inline, CRLF
   stripped), for a pipeline that sorts its answers itself
   (ib_guarded.c). A stream failure or an oversized line marks the session
   broken. */
struct _MMAPString;
int ib_lines_read_one(struct ib_session *s, struct _MMAPString *l, const char *what,
                      struct cm_err *err) __attribute__((warn_unused_result));

#endif
