/* ib_mutf7.h - modified UTF-7 mailbox names (RFC 3501 §5.1.3) <-> UTF-8.
 *
 * Pure functions. Both return a malloc'd NUL-terminated string, or NULL
 * when the input is not valid (bad base64, unterminated shift, invalid
 * UTF-8 or UTF-16, a shifted run that encodes only printable ASCII).
 * Threads: safe from any thread.
 */
#ifndef IB_MUTF7_H
#define IB_MUTF7_H

char *ib_mutf7_to_utf8(const char *mutf7);
char *ib_utf8_to_mutf7(const char *utf8);

#endif
