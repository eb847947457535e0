/* cm_counter.h - counts of things in progress per key (e.g. concurrent
 * JMAP requests per account), with a cap checked and taken atomically.
 *
 * Ownership: the table owns copies of the keys; an entry is removed when
 * its count returns to zero. Threads: every function is thread-safe.
 */
#ifndef CM_COUNTER_H
#define CM_COUNTER_H

#include <stdbool.h>

struct cm_counter;

struct cm_counter *cm_counter_new(void);
void cm_counter_free(struct cm_counter **cp);

/* Take one unit of key if its count is below max. false when at the cap
   (or out of memory). Every true needs one cm_counter_leave. */
bool cm_counter_enter(struct cm_counter *c, const char *key, unsigned int max);
void cm_counter_leave(struct cm_counter *c, const char *key);

/* Current count of key (tests, metrics). */
unsigned int cm_counter_get(struct cm_counter *c, const char *key);

#endif
