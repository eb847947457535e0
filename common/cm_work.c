/* cm_work.c - worker threads and a bounded job ring. */
#include "common/cm_work.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
    cm_work_fn *fn;
    void *arg;
};

struct cm_work {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *ring;
    size_t cap, head, count;
    size_t running;
    bool stopping;
    unsigned long long done_total, rejected_total;
    pthread_t *threads;
    unsigned int nthreads;
};

static void *worker_main(void *arg)
{
    struct cm_work *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct job j;

        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0)
            break; /* stopping and drained */
        j = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        w->running++;
        pthread_mutex_unlock(&w->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&w->mu);
        w->running--;
        w->done_total++;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int cm_work_new(unsigned int nthreads, unsigned int queue_max, struct cm_work **work_r,
                struct cm_err *err)
{
    struct cm_work *w = calloc(1, sizeof(*w));

    if (w == NULL || nthreads == 0 || queue_max == 0) {
        free(w);
        return cm_err_set(err, w ? CM_EINVAL : CM_ENOMEM, "cannot create worker pool");
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->cap = queue_max;
    w->ring = calloc(queue_max, sizeof(*w->ring));
    w->threads = calloc(nthreads, sizeof(*w->threads));
    if (w->ring == NULL || w->threads == NULL) {
        cm_work_free(&w);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    for (; w->nthreads < nthreads; w->nthreads++) {
        if (pthread_create(&w->threads[w->nthreads], NULL, worker_main, w) != 0) {
            cm_work_free(&w);
            return cm_err_set(err, CM_EINTERNAL, "cannot start worker thread");
        }
    }
    *work_r = w;
    return 0;
}

int cm_work_submit(struct cm_work *w, cm_work_fn *fn, void *arg)
{
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->count == w->cap) {
        w->rejected_total++;
        rc = CM_EAGAIN;
    } else {
        w->ring[(w->head + w->count) % w->cap] = (struct job){ fn, arg };
        w->count++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void cm_work_free(struct cm_work **workp)
{
    struct cm_work *w = *workp;

    if (w == NULL)
        return;
    *workp = NULL;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w->ring);
    free(w);
}

void cm_work_stats(struct cm_work *w, struct cm_work_stats *st)
{
    pthread_mutex_lock(&w->mu);
    st->queued = w->count;
    st->running = w->running;
    st->done_total = w->done_total;
    st->rejected_total = w->rejected_total;
    pthread_mutex_unlock(&w->mu);
}
