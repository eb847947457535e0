/* test_cm_buf.c - the capped buffer: cap, refusal leaves it unchanged, steal. */
#include "common/cm_buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_err.h"
#include "harness/th.h"

static void test_cap(void)
{
    struct cm_buf b;

    cm_buf_init(&b, 10);
    th_assert(b.data == NULL && b.len == 0);
    th_assert(cm_buf_append_str(&b, "hello") == 0);
    th_assert(b.len == 5 && strcmp(b.data, "hello") == 0);
    /* One byte too many: refused, buffer exactly as before. */
    th_assert(cm_buf_append_str(&b, "world!") == CM_ELIMIT);
    th_assert(b.len == 5 && strcmp(b.data, "hello") == 0);
    th_assert(cm_buf_append_str(&b, "world") == 0);
    th_assert(b.len == 10 && strcmp(b.data, "helloworld") == 0);
    th_assert(cm_buf_append(&b, "", 0) == 0);
    th_assert(cm_buf_append(&b, "x", 1) == CM_ELIMIT);
    th_assert(b.len == 10 && b.data[10] == '\0');
    /* A huge length must not wrap around the cap check. */
    th_assert(cm_buf_append(&b, "x", (size_t)-1) == CM_ELIMIT);
    th_assert(b.len == 10);
    cm_buf_fini(&b);
    th_assert(b.data == NULL && b.len == 0);
}

static void test_binary_and_reset(void)
{
    struct cm_buf b;
    char *before;

    cm_buf_init(&b, 1000);
    th_assert(cm_buf_append(&b, "a\0b", 3) == 0);
    th_assert(b.len == 3 && memcmp(b.data, "a\0b", 4) == 0);
    before = b.data;
    cm_buf_reset(&b);
    th_assert(b.len == 0 && b.data == before && b.data[0] == '\0');
    /* Growth across several reallocations keeps the content. */
    for (int i = 0; i < 100; i++)
        th_assert_idx(cm_buf_append(&b, "0123456789", 10) == 0, i);
    th_assert(cm_buf_append(&b, "0123456789", 10) == CM_ELIMIT);
    th_assert(b.len == 1000 && memcmp(b.data + 990, "0123456789", 10) == 0);
    th_assert(b.data[1000] == '\0');
    cm_buf_fini(&b);
}

static void test_printf(void)
{
    struct cm_buf b;

    cm_buf_init(&b, 16);
    th_assert(cm_buf_printf(&b, "%d-%s", 42, "ab") == 0);
    th_assert(b.len == 5 && strcmp(b.data, "42-ab") == 0);
    th_assert(cm_buf_printf(&b, "|%s|", "0123456789") == CM_ELIMIT);
    th_assert(b.len == 5 && strcmp(b.data, "42-ab") == 0);
    th_assert(cm_buf_printf(&b, "%s", "") == 0 && b.len == 5);
    th_assert(cm_buf_printf(&b, "%09d", 7) == 0);
    th_assert(b.len == 14 && strcmp(b.data, "42-ab000000007") == 0);
    cm_buf_fini(&b);
}

static void test_steal(void)
{
    struct cm_buf b;
    size_t len = 99;
    char *s;

    cm_buf_init(&b, 64);
    s = cm_buf_steal(&b, &len); /* never appended: still a valid "" */
    th_assert(s != NULL && len == 0 && s[0] == '\0');
    free(s);
    th_assert(cm_buf_append_str(&b, "abc") == 0);
    s = cm_buf_steal(&b, &len);
    th_assert(s != NULL && len == 3 && strcmp(s, "abc") == 0);
    th_assert(b.data == NULL && b.len == 0);
    free(s);
    /* The buffer is reusable after a steal, with the same cap. */
    th_assert(cm_buf_append_str(&b, "xyz") == 0 && strcmp(b.data, "xyz") == 0);
    s = cm_buf_steal(&b, NULL);
    th_assert(s != NULL && strcmp(s, "xyz") == 0);
    free(s);
    cm_buf_fini(&b);
    cm_buf_init(&b, 0);
    th_assert(cm_buf_append(&b, "a", 1) == CM_ELIMIT);
    s = cm_buf_steal(&b, &len);
    th_assert(s != NULL && len == 0);
    free(s);
    cm_buf_fini(&b);
}

static void test_reserve(void)
{
    struct cm_buf b;
    char *before;

    cm_buf_init(&b, 1000);
    th_assert(cm_buf_reserve(&b, 1001) == CM_ELIMIT);
    th_assert(cm_buf_reserve(&b, 600) == 0);
    th_assert(b.cap == 601 && b.len == 0 && b.data[0] == '\0');
    before = b.data;
    for (int i = 0; i < 60; i++)
        th_assert(cm_buf_append(&b, "0123456789", 10) == 0);
    th_assert(b.data == before && b.len == 600); /* never moved */
    th_assert(cm_buf_reserve(&b, 401) == CM_ELIMIT);
    th_assert(cm_buf_reserve(&b, 10) == 0 && b.cap == 611);
    cm_buf_fini(&b);
}

int main(void)
{
    th_run("cap enforced, refusal leaves buffer unchanged", test_cap);
    th_run("binary data, reset, growth", test_binary_and_reset);
    th_run("printf", test_printf);
    th_run("reserve", test_reserve);
    th_run("steal", test_steal);
    return th_end();
}
