/* test_cm_log.c - logfmt quoting, URL redaction, one line per call. */
#include "common/cm_log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/th.h"

static void test_kv(void)
{
    char buf[128] = "";
    char small[16] = "";

    cm_log_kv(buf, sizeof(buf), "user", "alice");
    th_assert(strcmp(buf, "user=\"alice\"") == 0);
    cm_log_kv(buf, sizeof(buf), "q", "a\"b\\c");
    th_assert(strcmp(buf, "user=\"alice\" q=\"a\\\"b\\\\c\"") == 0);
    buf[0] = '\0';
    cm_log_kv(buf, sizeof(buf), "m", "line1\nline2\r\tx\x01");
    th_assert(strcmp(buf, "m=\"line1 line2  x \"") == 0);
    th_assert(strchr(buf, '\n') == NULL);
    buf[0] = '\0';
    cm_log_kv(buf, sizeof(buf), "n", NULL);
    th_assert(strcmp(buf, "n=\"\"") == 0);
    /* Truncation stays inside the buffer and keeps the quotes closed. */
    cm_log_kv(small, sizeof(small), "key", "a very long value that does not fit");
    th_assert(strlen(small) < sizeof(small));
    th_assert(strncmp(small, "key=\"a very", 11) == 0);
    th_assert(small[strlen(small) - 1] == '"');
}

static void test_redact(void)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        { "/api/v1/events?access_token=eyJhbGc.x.y", "/api/v1/events" },
        { "/jmap/?a=1#frag", "/jmap/" },
        { "/page#access_token=x", "/page" },
        { "/plain/path", "/plain/path" },
        { "?only=query", "" },
        { "", "" },
    };
    char out[64], tiny[5];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cm_log_redact_url(out, sizeof(out), rows[i].in);
        th_assert_idx(strcmp(out, rows[i].out) == 0, i);
        th_assert_idx(strstr(out, "token") == NULL, i);
    }
    cm_log_redact_url(tiny, sizeof(tiny), "/abcdef?x=1");
    th_assert(strcmp(tiny, "/abc") == 0);
}

static void test_levels(void)
{
    enum cm_log_level l = CM_LOG_ERROR;

    th_assert(cm_log_level_parse("debug", &l) == 0 && l == CM_LOG_DEBUG);
    th_assert(cm_log_level_parse("warn", &l) == 0 && l == CM_LOG_WARN);
    th_assert(cm_log_level_parse("loud", &l) == -1 && l == CM_LOG_WARN);
}

/* Read everything the pipe holds (the write end is already closed). */
static size_t drain(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;

    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return len;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void test_pipe_output(void)
{
    static char out[16384];
    char kv[128] = "", big[3000];
    int fds[2];
    const char *line2;

    th_assert(pipe(fds) == 0);
    cm_log_set_fd(fds[1]);
    cm_log_set_level(CM_LOG_INFO);
    cm_log_kv(kv, sizeof(kv), "user", "bob\nlevel=error");
    cm_info(kv, "hello\nts=0 level=error msg=\"forged\"");
    cm_debug(NULL, "not written: below the level");
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cm_warn("", "%s", big);
    cm_error(NULL, "last %d", 3);
    cm_log_set_fd(2);
    close(fds[1]);
    drain(fds[0], out, sizeof(out));
    close(fds[0]);
    th_assert(count_lines(out) == 3);
    th_assert(strncmp(out, "ts=", 3) == 0);
    th_assert(strstr(out, " level=info msg=\"hello ts=0 level=error msg=\\\"forged\\\"\"") != NULL);
    th_assert(strstr(out, "user=\"bob level=error\"") != NULL);
    th_assert(strstr(out, "not written") == NULL);
    line2 = strchr(out, '\n');
    th_assert(line2 != NULL && strncmp(line2 + 1, "ts=", 3) == 0);
    th_assert(line2 != NULL && strstr(line2, "level=warn msg=\"zzz") != NULL);
    th_assert(strstr(out, "level=error msg=\"last 3\"\n") != NULL);
    th_assert(out[strlen(out) - 1] == '\n');
}

int main(void)
{
    th_run("kv quoting and escaping", test_kv);
    th_run("url redaction", test_redact);
    th_run("level names", test_levels);
    th_run("one line per call through a pipe", test_pipe_output);
    return th_end();
}
