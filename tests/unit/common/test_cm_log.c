/* test_cm_log.c - logfmt lines through cm_log_set_fd to a pipe: one line
 * per call, quoting and escaping, kv truncation, URL redaction, levels. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "harness/th.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

static int pipe_fd[2] = { -1, -1 };
static char got[65536];

/* Read everything written so far; returns the text in got. */
static size_t drain(void)
{
    size_t n = 0;
    ssize_t r;

    while (n < sizeof(got) - 1 && (r = read(pipe_fd[0], got + n, sizeof(got) - 1 - n)) > 0)
        n += (size_t)r;
    got[n] = '\0';
    return n;
}

static size_t count_char(const char *s, char c)
{
    size_t k = 0;

    for (; *s; s++)
        k += *s == c;
    return k;
}

static void test_line_format(void)
{
    size_t n;

    cm_log_set_level(CM_LOG_DEBUG);
    cm_log_write(CM_LOG_INFO, NULL, "hello %s", "world");
    n = drain();
    th_assert(n > 0 && got[n - 1] == '\n' && count_char(got, '\n') == 1);
    /* ts=2026-11-22T08:09:10.123Z level=info msg="hello world" */
    th_assert(strncmp(got, "ts=", 3) == 0 && got[7] == '-' && got[13] == 'T' && got[26] == 'Z');
    th_assert(strstr(got, " level=info msg=\"hello world\"\n") != NULL);

    cm_log_write(CM_LOG_WARN, "req=12 route=/healthz", "x");
    cm_log_write(CM_LOG_ERROR, "", "y");
    cm_log_write(CM_LOG_DEBUG, NULL, "z");
    n = drain();
    th_assert(count_char(got, '\n') == 3 && got[n - 1] == '\n');
    th_assert(strstr(got, "level=warn msg=\"x\" req=12 route=/healthz\n") != NULL);
    th_assert(strstr(got, "level=error msg=\"y\"\n") != NULL);
    th_assert(strstr(got, "level=debug msg=\"z\"\n") != NULL);
}

static void test_message_escaping(void)
{
    cm_log_write(CM_LOG_INFO, NULL, "%s", "two\nlines \"quoted\" back\\slash\rcr\ttab\x01" "end");
    drain();
    th_assert(count_char(got, '\n') == 1);
    th_assert(strstr(got, "msg=\"two lines \\\"quoted\\\" back\\\\slash cr tab end\"\n") != NULL);

    /* a long message and a long kv still give one bounded line */
    {
        char big[5000];
        size_t n;

        memset(big, 'm', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        cm_log_write(CM_LOG_INFO, big, "%s", big);
        n = drain();
        th_assert(n > 1000 && n <= 2047);
        th_assert(count_char(got, '\n') == 1 && got[n - 1] == '\n');
        th_assert(strlen(got) == n); /* no NUL bytes written */
        cm_log_write(CM_LOG_INFO, NULL, "%s", big);
        n = drain();
        th_assert(count_char(got, '\n') == 1 && got[n - 1] == '\n' && got[n - 2] == '"');
    }
}

static void test_levels(void)
{
    static const struct {
        const char *name;
        int rc;
        enum cm_log_level level;
    } rows[] = {
        { "debug", 0, CM_LOG_DEBUG }, { "info", 0, CM_LOG_INFO }, { "warn", 0, CM_LOG_WARN },
        { "error", 0, CM_LOG_ERROR }, { "INFO", -1, 0 },          { "warning", -1, 0 },
        { "", -1, 0 },                { "info ", -1, 0 },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        enum cm_log_level l = CM_LOG_ERROR;

        th_assert_idx(cm_log_level_parse(rows[i].name, &l) == rows[i].rc, i);
        if (rows[i].rc == 0)
            th_assert_idx(l == rows[i].level, i);
    }

    cm_log_set_level(CM_LOG_WARN);
    th_assert(cm_log_get_level() == CM_LOG_WARN);
    cm_debug(NULL, "d");
    cm_info(NULL, "i");
    cm_warn(NULL, "w");
    cm_error(NULL, "e");
    drain();
    th_assert(count_char(got, '\n') == 2);
    th_assert(strstr(got, "msg=\"w\"") != NULL && strstr(got, "msg=\"e\"") != NULL);
    th_assert(strstr(got, "msg=\"i\"") == NULL && strstr(got, "msg=\"d\"") == NULL);

    cm_log_set_level(CM_LOG_ERROR);
    cm_warn(NULL, "w");
    cm_error(NULL, "e");
    drain();
    th_assert(count_char(got, '\n') == 1 && strstr(got, "msg=\"e\"") != NULL);
    cm_log_set_level(CM_LOG_DEBUG);
    cm_debug(NULL, "d");
    drain();
    th_assert(count_char(got, '\n') == 1 && strstr(got, "msg=\"d\"") != NULL);
    cm_log_set_level(CM_LOG_INFO);
}

static void test_kv(void)
{
    char buf[128] = "";

    cm_log_kv(buf, sizeof(buf), "user", "al\"ice\\");
    th_assert(strcmp(buf, "user=\"al\\\"ice\\\\\"") == 0);
    cm_log_kv(buf, sizeof(buf), "n", NULL);
    th_assert(strcmp(buf, "user=\"al\\\"ice\\\\\" n=\"\"") == 0);
    buf[0] = '\0';
    cm_log_kv(buf, sizeof(buf), "path", "/a b\n\rc\x7f" "d");
    th_assert(strcmp(buf, "path=\"/a b  c d\"") == 0);
}

/* Check that s is `key="..."` with balanced escapes and a closing quote. */
static int well_quoted(const char *s, const char *key)
{
    size_t k = strlen(key);
    const char *p;

    if (strncmp(s, key, k) != 0 || s[k] != '=' || s[k + 1] != '"')
        return 0;
    for (p = s + k + 2; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\') {
            if (p[1] != '\\' && p[1] != '"')
                return 0;
            p++;
        }
    }
    return *p == '"' && p[1] == '\0';
}

static void test_kv_truncation(void)
{
    static const char *const values[] = {
        "abcdefghijklmnopqrstuvwxyz",
        "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
        "\\\\\\\\\\\\\\\\\\\\\\\\",
        "a\"b\\c\"d\\e\"f\\g\"h",
    };

    for (size_t v = 0; v < N_ROWS(values); v++) {
        for (size_t cap = 1; cap <= 48; cap++) {
            char buf[64];
            size_t row = v * 100 + cap;

            memset(buf, '#', sizeof(buf));
            buf[0] = '\0';
            cm_log_kv(buf, cap, "key", values[v]);
            th_assert_idx(strlen(buf) < cap, row);
            th_assert_idx(buf[cap] == '#', row); /* nothing written past cap */
            /* either nothing was added or a complete, quoted pair */
            th_assert_idx(buf[0] == '\0' || well_quoted(buf, "key"), row);
        }
    }
    {
        char buf[16] = "a=\"1\"";

        cm_log_kv(buf, sizeof(buf), "bb", "123456789");
        th_assert(strncmp(buf, "a=\"1\" bb=\"123", 13) == 0 && strlen(buf) < 16 &&
                  buf[strlen(buf) - 1] == '"');
    }
}

static void test_redact_url(void)
{
    static const struct {
        const char *url;
        size_t cap;
        const char *want;
    } rows[] = {
        { "/api/v1/events?access_token=x", 64, "/api/v1/events" },
        { "/a#frag", 64, "/a" },
        { "/a?x=1#frag", 64, "/a" },
        { "/a#frag?x=1", 64, "/a" },
        { "/plain/path", 64, "/plain/path" },
        { "https://h.example/p?q=secret", 64, "https://h.example/p" },
        { "?only=query", 64, "" },
        { "", 64, "" },
        { "/abcdef?x", 4, "/ab" },
        { "/abcdef", 8, "/abcdef" },
        { "/abcdef", 7, "/abcde" },
        { "/abc", 1, "" },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        char buf[80];

        memset(buf, '#', sizeof(buf));
        cm_log_redact_url(buf, rows[i].cap, rows[i].url);
        th_assert_idx(strcmp(buf, rows[i].want) == 0, i);
        th_assert_idx(buf[rows[i].cap] == '#', i);
    }
    {
        char buf[4] = "###";

        cm_log_redact_url(buf, 0, "/x"); /* cap 0 writes nothing */
        th_assert(strcmp(buf, "###") == 0);
    }
}

int main(void)
{
    if (pipe(pipe_fd) != 0 || fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK) != 0)
        return 1;
    cm_log_set_fd(pipe_fd[1]);
    th_run("log.line_format", test_line_format);
    th_run("log.message_escaping", test_message_escaping);
    th_run("log.levels", test_levels);
    th_run("log.kv", test_kv);
    th_run("log.kv_truncation", test_kv_truncation);
    th_run("log.redact_url", test_redact_url);
    cm_log_set_fd(2);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    return th_end();
}
