/* test_gw_settings.c - the gateway settings table: required settings name
 * their variables, environment values are applied, public_url defaults and
 * normalisation, cross-field checks. Every test starts from an environment
 * without JMAPGATE_* variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gw_settings.h"
#include "harness/th.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

static void clean_env(void)
{
    char name[256];

    for (size_t i = 0; i < gw_settings_count; i++)
        unsetenv(gw_settings_defs[i].env);
    /* and any other JMAPGATE_* the caller's shell may have set */
    for (size_t i = 0; environ[i] != NULL;) {
        const char *eq = strchr(environ[i], '=');
        size_t n = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);

        if (strncmp(environ[i], "JMAPGATE_", 9) == 0 && n < sizeof(name)) {
            memcpy(name, environ[i], n);
            name[n] = '\0';
            unsetenv(name); /* environ shifts: look at index i again */
            continue;
        }
        i++;
    }
}

/* The minimum that loads. */
static void base_env(void)
{
    clean_env();
    setenv("JMAPGATE_IMAP_URL", "imap://127.0.0.1:143", 1);
    setenv("JMAPGATE_SECRET", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
}

static void test_required(void)
{
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;

    clean_env();
    th_assert(gw_settings_load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(err.code == CM_ECONFIG && strstr(err.msg, "JMAPGATE_IMAP_URL") != NULL);
    gw_settings_fini(&s);

    setenv("JMAPGATE_IMAP_URL", "imap://127.0.0.1:143", 1);
    cm_err_clear(&err);
    th_assert(gw_settings_load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_SECRET") != NULL);
    gw_settings_fini(&s);

    setenv("JMAPGATE_SECRET", "", 1); /* set but empty */
    cm_err_clear(&err);
    th_assert(gw_settings_load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_SECRET") != NULL);
    gw_settings_fini(&s);

    setenv("JMAPGATE_IMAP_URL", "", 1);
    setenv("JMAPGATE_SECRET", "x", 1);
    cm_err_clear(&err);
    th_assert(gw_settings_load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_IMAP_URL") != NULL);
    gw_settings_fini(&s);

    base_env();
    th_assert(gw_settings_load(&s, NULL, &err) == 0);
    gw_settings_fini(&s);
    th_assert(gw_settings_load(&s, NULL, NULL) == 0); /* err is optional */
    gw_settings_fini(&s);
    clean_env();
}

static void test_defaults(void)
{
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;

    base_env();
    th_assert(gw_settings_load(&s, NULL, &err) == 0);
    th_assert(strcmp(s.listen, "127.0.0.1:8080") == 0);
    th_assert(s.public_url != NULL && strcmp(s.public_url, "http://127.0.0.1:8080") == 0);
    th_assert(s.tls_verify && s.imap_compress && !s.cookie_secure);
    th_assert(s.token_ttl_secs == 3600 && s.imap_timeout_secs == 15);
    th_assert(strcmp(s.jwt_issuer, "jmapgate") == 0 && strcmp(s.jwt_audience, "jmapgate") == 0);
    th_assert(s.max_body_bytes == 10 * 1024 * 1024);
    th_assert(s.pool_per_account <= s.account_budget);
    th_assert(s.web_root == NULL && s.tls_ca_file == NULL);
    gw_settings_fini(&s);
    th_assert(s.listen == NULL && s.secret == NULL && s.public_url == NULL);
    clean_env();
}

static void test_env_applied(void)
{
    static const struct {
        const char *env, *value;
    } rows[] = {
        { "JMAPGATE_LISTEN", "0.0.0.0:9000" },  { "JMAPGATE_TLS_VERIFY", "false" },
        { "JMAPGATE_IMAP_COMPRESS", "off" },    { "JMAPGATE_IMAP_TIMEOUT", "42" },
        { "JMAPGATE_TOKEN_TTL", "600" },        { "JMAPGATE_JWT_ISSUER", "iss-x" },
        { "JMAPGATE_JWT_AUDIENCE", "aud-y" },   { "JMAPGATE_COOKIE_SECURE", "yes" },
        { "JMAPGATE_LOG_LEVEL", "debug" },      { "JMAPGATE_WORKERS", "3" },
        { "JMAPGATE_MAX_BODY", "64k" },         { "JMAPGATE_POOL_PER_ACCOUNT", "2" },
        { "JMAPGATE_ACCOUNT_BUDGET", "5" },     { "JMAPGATE_WEB_ROOT", "/srv/web" },
        { "JMAPGATE_TLS_CA_FILE", "/etc/ca.pem" },
    };
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;

    base_env();
    for (size_t i = 0; i < N_ROWS(rows); i++)
        setenv(rows[i].env, rows[i].value, 1);
    th_assert(gw_settings_load(&s, NULL, &err) == 0);
    th_assert(strcmp(s.listen, "0.0.0.0:9000") == 0);
    th_assert(strcmp(s.public_url, "http://0.0.0.0:9000") == 0);
    th_assert(strcmp(s.imap_url, "imap://127.0.0.1:143") == 0);
    th_assert(!s.tls_verify && !s.imap_compress && s.cookie_secure);
    th_assert(s.imap_timeout_secs == 42 && s.token_ttl_secs == 600 && s.workers == 3);
    th_assert(strcmp(s.jwt_issuer, "iss-x") == 0 && strcmp(s.jwt_audience, "aud-y") == 0);
    th_assert(strcmp(s.log_level, "debug") == 0);
    th_assert(s.max_body_bytes == 64 * 1024);
    th_assert(s.pool_per_account == 2 && s.account_budget == 5);
    th_assert(strcmp(s.web_root, "/srv/web") == 0 && strcmp(s.tls_ca_file, "/etc/ca.pem") == 0);
    gw_settings_fini(&s);

    /* an out-of-range environment value names the variable */
    setenv("JMAPGATE_TOKEN_TTL", "59", 1);
    th_assert(gw_settings_load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_TOKEN_TTL") != NULL);
    gw_settings_fini(&s);
    clean_env();
}

static void test_file_then_env(void)
{
    static const char text[] = "# gateway\n"
                               "imap_url = \"imaps://mail.example:993\"\n"
                               "secret = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
                               "1d1e1f\n"
                               "listen = 127.0.0.1:7000\n"
                               "workers = 7\n";
    char path[] = "/tmp/test_gw_settings.XXXXXX";
    int fd = mkstemp(path);
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;

    th_assert(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    clean_env();
    setenv("JMAPGATE_WORKERS", "9", 1);
    th_assert(gw_settings_load(&s, path, &err) == 0);
    th_assert(strcmp(s.imap_url, "imaps://mail.example:993") == 0);
    th_assert(strcmp(s.listen, "127.0.0.1:7000") == 0);
    th_assert(s.workers == 9); /* the environment wins */
    gw_settings_fini(&s);
    unlink(path);
    th_assert(gw_settings_load(&s, path, &err) == CM_ECONFIG); /* file gone */
    th_assert(strstr(err.msg, path) != NULL);
    gw_settings_fini(&s);
    clean_env();
}

static void test_public_url(void)
{
    static const struct {
        const char *value; /* NULL: unset */
        const char *want;  /* NULL: refused */
    } rows[] = {
        { NULL, "http://127.0.0.1:8080" },
        { "https://mail.example", "https://mail.example" },
        { "https://mail.example/", "https://mail.example" },
        { "https://mail.example/jmap///", "https://mail.example/jmap" },
        { "http://h:81/", "http://h:81" },
        { "ftp://mail.example", NULL },
        { "mail.example", NULL },
        { "", NULL },
        { "HTTP", NULL },
        { "http://", NULL }, /* no host */
        { "https://", NULL },
        { "https:///", NULL },
        { "http:///path", NULL },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct gw_settings s;
        struct cm_err err = CM_ERR_INIT;
        int rc;

        base_env();
        if (rows[i].value != NULL)
            setenv("JMAPGATE_PUBLIC_URL", rows[i].value, 1);
        rc = gw_settings_load(&s, NULL, &err);
        if (rows[i].want == NULL) {
            th_assert_idx(rc == CM_ECONFIG && strstr(err.msg, "public_url") != NULL, i);
        } else {
            th_assert_idx(rc == 0, i);
            th_assert_idx(rc == 0 && strcmp(s.public_url, rows[i].want) == 0, i);
        }
        gw_settings_fini(&s);
    }
    clean_env();
}

static void test_listen(void)
{
    static const struct {
        const char *value;
        int ok;
    } rows[] = {
        { "127.0.0.1:8080", 1 }, { "localhost:1", 1 }, { "[::1]:8080", 1 },
        { "0.0.0.0:65535", 1 },  { "127.0.0.1:0", 1 }, /* port 0: any free port */
        { "8080", 0 },           { ":8080", 0 },       { "host:", 0 },
        { "host:65536", 0 },     { "host:-1", 0 },     { "host:80x", 0 },
        { "host:80 ", 0 },       { "", 0 },            { "host:99999999999999999999", 0 },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct gw_settings s;
        struct cm_err err = CM_ERR_INIT;
        int rc;

        base_env();
        setenv("JMAPGATE_LISTEN", rows[i].value, 1);
        rc = gw_settings_load(&s, NULL, &err);
        if (rows[i].ok)
            th_assert_idx(rc == 0, i);
        else
            th_assert_idx(rc == CM_ECONFIG && strstr(err.msg, "listen") != NULL, i);
        gw_settings_fini(&s);
    }
    clean_env();
}

static void test_cross_field(void)
{
    static const struct {
        const char *per_account, *budget;
        int rc;
    } rows[] = {
        { "4", "8", 0 },
        { "8", "8", 0 },
        { "9", "8", CM_ECONFIG },
        { "1", "1", 0 },
        { "2", "1", CM_ECONFIG },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct gw_settings s;
        struct cm_err err = CM_ERR_INIT;

        base_env();
        setenv("JMAPGATE_POOL_PER_ACCOUNT", rows[i].per_account, 1);
        setenv("JMAPGATE_ACCOUNT_BUDGET", rows[i].budget, 1);
        th_assert_idx(gw_settings_load(&s, NULL, &err) == rows[i].rc, i);
        if (rows[i].rc != 0)
            th_assert_idx(strstr(err.msg, "pool_per_account") != NULL, i);
        gw_settings_fini(&s);
    }

    /* log_level must be one of the four names */
    {
        struct gw_settings s;
        struct cm_err err = CM_ERR_INIT;

        base_env();
        setenv("JMAPGATE_LOG_LEVEL", "verbose", 1);
        th_assert(gw_settings_load(&s, NULL, &err) == CM_ECONFIG);
        th_assert(strstr(err.msg, "log_level") != NULL);
        gw_settings_fini(&s);
    }
    clean_env();
}

static void test_help_hides_secret(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cm_cfg_print_help(gw_settings_defs, gw_settings_count, f);
    fclose(f);
    for (size_t i = 0; i < gw_settings_count; i++)
        th_assert_idx(strstr(text, gw_settings_defs[i].env) != NULL, i);
    th_assert(strstr(text, "(null)") == NULL);
    free(text);
}

int main(void)
{
    th_run("settings.required", test_required);
    th_run("settings.defaults", test_defaults);
    th_run("settings.env_applied", test_env_applied);
    th_run("settings.file_then_env", test_file_then_env);
    th_run("settings.public_url", test_public_url);
    th_run("settings.listen", test_listen);
    th_run("settings.cross_field", test_cross_field);
    th_run("settings.help", test_help_hides_secret);
    return th_end();
}
