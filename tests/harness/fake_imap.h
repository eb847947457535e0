/* fake_imap.h - a scripted IMAP server for unit tests (dovecot
 * test-imapc-client style). It listens on 127.0.0.1:0 in its own thread;
 * every accepted connection runs the same script from the start, in its
 * own thread (up to FAKE_IMAP_MAX_CONNS).
 *
 * fake_imap_start_each gives each connection a script of its own.
 * FAKE_IMAP_TRACE=1 in the environment prints every line read, and the
 * expectation a line failed, on stderr (to write a script for a flow).
 *
 * Steps:
 *   FI_SEND(text)    write text; "$TAG" is replaced by the tag of the last
 *                    line the client sent.
 *   FI_EXPECT(pfx)   read one line; its first word is the tag, the rest
 *                    must start with pfx (case-insensitive). A pfx starting
 *                    with '^' is matched against the whole line instead and
 *                    keeps the tag (for "DONE", SASL continuation lines).
 *                    A mismatch is recorded and the connection is closed.
 *   FI_SLEEP(ms)     pause.
 *   FI_CLOSE         close the connection.
 *   FI_END           end of script: then LOGOUT is answered with BYE + OK
 *                    and the connection closed; any other line is recorded
 *                    as unexpected and answered with BAD.
 *
 * Dependencies: libc and pthreads only. Threads: start/stop from one
 * thread; the accessors are thread-safe.
 */
#ifndef FAKE_IMAP_H
#define FAKE_IMAP_H

#include <stddef.h>

#define FAKE_IMAP_MAX_CONNS 8

enum fake_imap_op { FAKE_IMAP_END = 0, FAKE_IMAP_SEND, FAKE_IMAP_EXPECT, FAKE_IMAP_SLEEP,
                    FAKE_IMAP_CLOSE };

struct fake_imap_step {
    enum fake_imap_op op;
    const char *text;
    unsigned int ms;
};

#define FI_SEND(t) { FAKE_IMAP_SEND, (t), 0 }
#define FI_EXPECT(t) { FAKE_IMAP_EXPECT, (t), 0 }
#define FI_SLEEP(ms) { FAKE_IMAP_SLEEP, NULL, (ms) }
#define FI_CLOSE { FAKE_IMAP_CLOSE, NULL, 0 }
#define FI_END { FAKE_IMAP_END, NULL, 0 }

struct fake_imap;

/* script is borrowed and must stay valid until fake_imap_stop(). Returns
   NULL when the socket or thread cannot be created. */
struct fake_imap *fake_imap_start(const struct fake_imap_step *script);
/* The same, but connection i (from 0) runs scripts[i], the ones past
   n - 1 scripts[n - 1]: a server whose state changed between two
   connections (a reconnect that must see what it missed). The array and
   the scripts are borrowed until fake_imap_stop(). */
struct fake_imap *fake_imap_start_each(const struct fake_imap_step *const *scripts, size_t n);

unsigned int fake_imap_port(const struct fake_imap *f);

/* Connections accepted so far. */
unsigned int fake_imap_connections(struct fake_imap *f);

/* Round trips so far, over all connections: the times the server, having
   answered, found no whole line buffered and had to wait for the client
   (so commands a client writes at once, before reading, count once). */
unsigned int fake_imap_round_trips(struct fake_imap *f);

/* Mismatches and unexpected lines so far; the first one is described in
   the buffer fake_imap_error() returns (valid until stop). */
unsigned int fake_imap_failures(struct fake_imap *f);
const char *fake_imap_error(struct fake_imap *f);

/* Close everything, join the threads, free; sets *fp to NULL. */
void fake_imap_stop(struct fake_imap **fp);

#endif
