/* cm_work.h - a fixed pool of worker threads fed by a bounded FIFO queue.
 *
 * Used for everything that may block (IMAP I/O): the HTTP threads and the
 * realtime reactor hand jobs over and never wait for them.
 *
 * Ownership: the pool owns its threads; a job's arg belongs to the job
 * function once submitted (the pool never frees it).
 * Threads: submit from any thread; jobs run on the pool's threads.
 */
#ifndef CM_WORK_H
#define CM_WORK_H

#include <stddef.h>

#include "common/cm_err.h"

struct cm_work;

typedef void cm_work_fn(void *arg);

/* Start nthreads workers with room for queue_max waiting jobs. */
int cm_work_new(unsigned int nthreads, unsigned int queue_max, struct cm_work **work_r,
                struct cm_err *err) __attribute__((warn_unused_result));

/* Queue fn(arg). Returns 0, or CM_EAGAIN when the queue is full or the
   pool is stopping (the job was not queued; the caller still owns arg). */
int cm_work_submit(struct cm_work *work, cm_work_fn *fn, void *arg)
    __attribute__((warn_unused_result));

/* Refuse new jobs, run every queued job, join the threads, free; sets
   *workp to NULL. Must not be called from a worker. */
void cm_work_free(struct cm_work **workp);

struct cm_work_stats {
    size_t queued;  /* waiting */
    size_t running; /* being run */
    unsigned long long done_total, rejected_total;
};
void cm_work_stats(struct cm_work *work, struct cm_work_stats *st);

#endif
