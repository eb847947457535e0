/* test_ib_thread.c - thread roots through In-Reply-To (the B/A/R case of
 * issue 12), loops and depth, and the root cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_thread.h"

struct table {
    const struct ib_thread_node *v;
    size_t n;
};

static const struct ib_thread_node *find(const char *msgid, void *ctx)
{
    const struct table *t = ctx;

    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].msgid != NULL && strcmp(t->v[i].msgid, msgid) == 0)
            return &t->v[i];
    }
    return NULL;
}

static void test_roots(void)
{
    /* R <- A (References: R) <- B (In-Reply-To: A only) <- C (In-Reply-To: B) */
    static const struct ib_thread_node nodes[] = {
        { "R", NULL, NULL },
        { "A", "R", "R" },
        { "B", NULL, "A" },
        { "C", NULL, "B" },
        { "X", NULL, "missing" },
        { "L1", NULL, "L2" },   /* a loop */
        { "L2", NULL, "L1" },
        { NULL, NULL, NULL },
        { "P", NULL, "Q" },     /* MH-style parent: In-Reply-To only */
        { "K", "P", "P" },      /* its reply names it in References */
    };
    struct table t = { nodes, sizeof(nodes) / sizeof(nodes[0]) };

    th_assert(strcmp(ib_thread_root(&nodes[0], find, &t), "R") == 0);
    th_assert(strcmp(ib_thread_root(&nodes[1], find, &t), "R") == 0);
    th_assert(strcmp(ib_thread_root(&nodes[2], find, &t), "R") == 0); /* was "A" */
    th_assert(strcmp(ib_thread_root(&nodes[3], find, &t), "R") == 0);
    th_assert(strcmp(ib_thread_root(&nodes[2], NULL, NULL), "A") == 0); /* parent unknown */
    th_assert(strcmp(ib_thread_root(&nodes[4], find, &t), "missing") == 0);
    th_assert(ib_thread_root(&nodes[5], find, &t) != NULL);           /* ends */
    th_assert(ib_thread_root(&nodes[7], find, &t) == NULL);
    th_assert(ib_thread_needs_parent(&nodes[2]) && ib_thread_needs_parent(&nodes[1]));
    th_assert(!ib_thread_needs_parent(&nodes[0]));
    th_assert(strcmp(ib_thread_root(&nodes[9], find, &t), "Q") == 0);  /* was "P" */
    th_assert(strcmp(ib_thread_root(&nodes[8], find, &t), "Q") == 0);
}

static void test_deep_chain(void)
{
    enum { N = 20 };
    struct ib_thread_node nodes[N];
    char names[N][8];
    struct table t = { nodes, N };

    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        nodes[i] = (struct ib_thread_node){ names[i], NULL, i ? names[i - 1] : NULL };
    }
    /* IB_THREAD_MAX_HOPS bounds the walk: the answer is some ancestor */
    th_assert(strncmp(ib_thread_root(&nodes[N - 1], find, &t), "m", 1) == 0);
    th_assert(strcmp(ib_thread_root(&nodes[3], find, &t), "m0") == 0);
}

static void test_cache(void)
{
    struct ib_thread_cache *c = ib_thread_cache_new(4);
    char *r;

    th_assert(c != NULL);
    th_assert(ib_thread_cache_get(c, "a", "B") == NULL);
    ib_thread_cache_put(c, "a", "B", "R");
    r = ib_thread_cache_get(c, "a", "B");
    th_assert(r != NULL && strcmp(r, "R") == 0);
    free(r);
    th_assert(ib_thread_cache_get(c, "other", "B") == NULL);
    ib_thread_cache_put(c, "a", "B", "S");   /* learnt better */
    r = ib_thread_cache_get(c, "a", "B");
    th_assert(r != NULL && strcmp(r, "S") == 0);
    free(r);
    for (int i = 0; i < 10; i++) {
        char id[8];

        snprintf(id, sizeof(id), "k%d", i);
        ib_thread_cache_put(c, "a", id, "root");
    }
    th_assert(ib_thread_cache_get(c, "a", "k0") == NULL);   /* bounded */
    r = ib_thread_cache_get(c, "a", "k9");
    th_assert(r != NULL);
    free(r);
    ib_thread_cache_free(&c);
    th_assert(c == NULL);
}

int main(void)
{
    th_run("roots", test_roots);
    th_run("deep_chain", test_deep_chain);
    th_run("cache", test_cache);
    return th_end();
}
