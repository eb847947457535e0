/* test_cm_buf.c - the capped buffer: cap enforced, unchanged after a
 * refused append, printf growth, steal, reset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"
#include "harness/th.h"

static void test_append_and_cap(void)
{
    struct cm_buf b;
    char *data;

    cm_buf_init(&b, 10);
    th_assert(b.data == NULL && b.len == 0);
    th_assert(cm_buf_append(&b, "", 0) == 0);
    th_assert(b.data != NULL && b.len == 0 && b.data[0] == '\0');
    th_assert(cm_buf_append_str(&b, "hello") == 0);
    th_assert(cm_buf_append(&b, "world", 5) == 0);
    th_assert(b.len == 10 && strcmp(b.data, "helloworld") == 0);
    data = b.data;
    /* at the cap: one more byte is refused and nothing changes */
    th_assert(cm_buf_append(&b, "!", 1) == CM_ELIMIT);
    th_assert(cm_buf_append_str(&b, "!!!!!!!!!!!!!!!!!!") == CM_ELIMIT);
    th_assert(cm_buf_printf(&b, "%d", 7) == CM_ELIMIT);
    th_assert(b.len == 10 && b.data == data && strcmp(b.data, "helloworld") == 0);
    th_assert(cm_buf_append(&b, "", 0) == 0); /* nothing still fits */
    th_assert(b.cap <= 11);                   /* never allocates past max + NUL */
    cm_buf_fini(&b);
    th_assert(b.data == NULL && b.len == 0);

    /* a refusal in the middle leaves the earlier content */
    cm_buf_init(&b, 8);
    th_assert(cm_buf_append_str(&b, "abc") == 0);
    th_assert(cm_buf_append_str(&b, "defghi") == CM_ELIMIT);
    th_assert(b.len == 3 && strcmp(b.data, "abc") == 0);
    th_assert(cm_buf_append_str(&b, "defgh") == 0 && strcmp(b.data, "abcdefgh") == 0);
    cm_buf_fini(&b);

    /* refused before anything was allocated */
    cm_buf_init(&b, 4);
    th_assert(cm_buf_append_str(&b, "12345") == CM_ELIMIT);
    th_assert(b.data == NULL && b.len == 0);
    th_assert(cm_buf_append(&b, "x", SIZE_MAX) == CM_ELIMIT); /* no overflow in the check */
    cm_buf_fini(&b);

    /* max 0 holds only the empty string */
    cm_buf_init(&b, 0);
    th_assert(cm_buf_append(&b, "x", 1) == CM_ELIMIT);
    th_assert(cm_buf_append(&b, "", 0) == 0 && b.len == 0 && b.data[0] == '\0');
    cm_buf_fini(&b);
}

/* SIZE_MAX means "no practical limit"; max_bytes + 1 must not wrap. */
static void test_unlimited(void)
{
    struct cm_buf b;

    cm_buf_init(&b, SIZE_MAX);
    th_assert(cm_buf_append_str(&b, "abc") == 0);
    th_assert(b.cap >= 4 && b.data != NULL && strcmp(b.data, "abc") == 0);
    for (int i = 0; i < 200; i++)
        th_assert_idx(cm_buf_append_str(&b, "0123456789") == 0, i);
    th_assert(b.len == 2003 && b.cap > b.len);
    cm_buf_fini(&b);
}

static void test_binary(void)
{
    static const unsigned char bin[] = { 0, 1, 0, 255, 0 };
    struct cm_buf b;

    cm_buf_init(&b, 100);
    th_assert(cm_buf_append(&b, bin, sizeof(bin)) == 0);
    th_assert(b.len == 5 && memcmp(b.data, bin, 5) == 0 && b.data[5] == '\0');
    cm_buf_fini(&b);
}

static void test_printf_growth(void)
{
    struct cm_buf b;
    char big[1001];

    memset(big, 'x', 1000);
    big[1000] = '\0';
    cm_buf_init(&b, 100000);
    for (int i = 0; i < 1000; i++)
        th_assert_idx(cm_buf_printf(&b, "%04d,", i) == 0, i);
    th_assert(b.len == 5000 && strlen(b.data) == 5000);
    th_assert(strncmp(b.data, "0000,0001,", 10) == 0);
    th_assert(strcmp(b.data + 4995, "0999,") == 0);
    th_assert(b.cap > b.len);
    th_assert(cm_buf_printf(&b, "[%s]", big) == 0);
    th_assert(b.len == 6002 && b.data[5000] == '[' && b.data[6001] == ']' && b.data[6002] == 0);
    th_assert(cm_buf_printf(&b, "%s", "") == 0 && b.len == 6002);
    cm_buf_fini(&b);

    /* exactly up to the cap, then refused, unchanged */
    cm_buf_init(&b, 12);
    th_assert(cm_buf_printf(&b, "%s-%d", "abc", 12345) == 0); /* 9 */
    th_assert(cm_buf_printf(&b, "%d", 1234) == CM_ELIMIT);
    th_assert(b.len == 9 && strcmp(b.data, "abc-12345") == 0);
    th_assert(cm_buf_printf(&b, "%d", 123) == 0 && strcmp(b.data, "abc-12345123") == 0);
    cm_buf_fini(&b);
}

static void test_steal_and_reset(void)
{
    struct cm_buf b;
    size_t len = 99, cap;
    char *s, *data;

    cm_buf_init(&b, 64);
    th_assert(cm_buf_append_str(&b, "payload") == 0);
    s = cm_buf_steal(&b, &len);
    th_assert(s != NULL && len == 7 && strcmp(s, "payload") == 0);
    th_assert(b.data == NULL && b.len == 0 && b.cap == 0 && b.max_bytes == 64);
    free(s);
    /* the buffer is usable after a steal */
    th_assert(cm_buf_append_str(&b, "again") == 0 && strcmp(b.data, "again") == 0);
    s = cm_buf_steal(&b, NULL);
    th_assert(s != NULL && strcmp(s, "again") == 0);
    free(s);
    /* steal of an empty buffer gives "" (never NULL on success) */
    s = cm_buf_steal(&b, &len);
    th_assert(s != NULL && len == 0 && s[0] == '\0');
    free(s);
    cm_buf_fini(&b);

    /* reset keeps the memory */
    cm_buf_init(&b, 1000);
    th_assert(cm_buf_printf(&b, "%0500d", 1) == 0);
    data = b.data;
    cap = b.cap;
    cm_buf_reset(&b);
    th_assert(b.len == 0 && b.data == data && b.cap == cap && b.data[0] == '\0');
    th_assert(cm_buf_append_str(&b, "x") == 0 && strcmp(b.data, "x") == 0 && b.data == data);
    cm_buf_fini(&b);
    cm_buf_init(&b, 10);
    cm_buf_reset(&b); /* before any append */
    th_assert(b.data == NULL && b.len == 0);
    cm_buf_fini(&b);
}

int main(void)
{
    th_run("buf.append_and_cap", test_append_and_cap);
    th_run("buf.unlimited", test_unlimited);
    th_run("buf.binary", test_binary);
    th_run("buf.printf_growth", test_printf_growth);
    th_run("buf.steal_and_reset", test_steal_and_reset);
    return th_end();
}
