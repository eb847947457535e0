/* test_cm_work.c - the worker pool runs every job, refuses when full. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/cm_work.h"
#include "harness/th.h"

static atomic_int ran;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void count(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void blocked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    atomic_fetch_add(&ran, 1);
}

static void test_runs_all(void)
{
    struct cm_work *w = NULL;

    atomic_store(&ran, 0);
    th_assert(cm_work_new(4, 1000, &w, NULL) == 0);
    for (int i = 0; i < 500; i++)
        th_assert(cm_work_submit(w, count, NULL) == 0);
    cm_work_free(&w);
    th_assert(w == NULL);
    th_assert(atomic_load(&ran) == 500);
}

static void test_full_queue(void)
{
    struct cm_work *w = NULL;
    struct cm_work_stats st;
    int refused = 0;

    atomic_store(&ran, 0);
    pthread_mutex_lock(&gate);
    th_assert(cm_work_new(1, 2, &w, NULL) == 0);
    for (int i = 0; i < 10; i++)
        if (cm_work_submit(w, blocked, NULL) == CM_EAGAIN)
            refused++;
    /* one running (or about to), two queued: at least 7 refused */
    th_assert(refused >= 7);
    cm_work_stats(w, &st);
    th_assert(st.rejected_total == (unsigned long long)refused);
    pthread_mutex_unlock(&gate);
    cm_work_free(&w);
    th_assert(atomic_load(&ran) == 10 - refused);
}

int main(void)
{
    th_run("runs_all", test_runs_all);
    th_run("full_queue", test_full_queue);
    return th_end();
}
