/* test_cm_cfg.c - the settings engine: defaults, files, env, bounds, help. */
#include "common/cm_cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/th.h"

struct demo {
    char *name;
    char *token;
    unsigned int port;
    size_t max_body;
    bool verbose;
    char *empty;
};

#define OFF(f) offsetof(struct demo, f)

static const struct cm_cfg_def defs[] = {
    { "name", "TCFG_NAME", CM_CFG_STR, OFF(name), "gw", 0, 0, 0, "a name" },
    { "token", "TCFG_TOKEN", CM_CFG_STR, OFF(token), "hunter2-default", 0, 0, CM_CFG_SECRET,
      "a secret" },
    { "port", "TCFG_PORT", CM_CFG_UINT, OFF(port), "8080", 1, 65535, 0, "a port" },
    { "max_body", "TCFG_MAX_BODY", CM_CFG_SIZE, OFF(max_body), "1m", 1024, 1ULL << 32, 0,
      "a size" },
    { "verbose", "TCFG_VERBOSE", CM_CFG_BOOL, OFF(verbose), "no", 0, 0, 0, "a bool" },
    { "empty", "TCFG_EMPTY", CM_CFG_STR, OFF(empty), NULL, 0, 0, 0, "unset by default" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void clear_env(void)
{
    for (size_t i = 0; i < NDEFS; i++)
        unsetenv(defs[i].env);
}

/* Write text to a temp file; path must hold 32 bytes. */
static void write_file(char *path, const char *text)
{
    FILE *f;
    int fd;

    strcpy(path, "/tmp/tcfgXXXXXX");
    fd = mkstemp(path);
    th_assert(fd >= 0);
    f = fdopen(fd, "w");
    th_assert(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_defaults(void)
{
    struct demo d;
    struct cm_err err = CM_ERR_INIT;

    memset(&d, 0, sizeof(d));
    th_assert(cm_cfg_defaults(defs, NDEFS, &d, &err) == 0);
    th_assert(d.name != NULL && strcmp(d.name, "gw") == 0);
    th_assert(d.port == 8080);
    th_assert(d.max_body == 1024 * 1024);
    th_assert(d.verbose == false);
    th_assert(d.empty == NULL);
    cm_cfg_fini(defs, NDEFS, &d);
    th_assert(d.name == NULL && d.token == NULL);
}

static void test_file(void)
{
    struct demo d;
    struct cm_err err = CM_ERR_INIT;
    char path[32];

    write_file(path, "# comment\n\n  name = \"quoted # kept \"  # trailing\n"
                     "port=9000 # a comment\n max_body = 64K\r\nverbose = On\n"
                     "empty = plain value\n");
    memset(&d, 0, sizeof(d));
    th_assert(cm_cfg_defaults(defs, NDEFS, &d, &err) == 0);
    th_assert(cm_cfg_load_file(defs, NDEFS, &d, path, &err) == 0);
    th_assert(d.name != NULL && strcmp(d.name, "quoted # kept ") == 0);
    th_assert(d.port == 9000);
    th_assert(d.max_body == 64 * 1024);
    th_assert(d.verbose == true);
    th_assert(d.empty != NULL && strcmp(d.empty, "plain value") == 0);
    cm_cfg_fini(defs, NDEFS, &d);
    unlink(path);
}

static const struct {
    const char *text, *want; /* want: substring of the error message */
} bad_files[] = {
    { "name = x\nbogus = 1\n", ":2: unknown setting \"bogus\"" },
    { "# c\n\nport\n", ":3: expected `name = value`" },
    { "port = 0\n", ":1: port (TCFG_PORT): 0 is out of range 1..65535" },
    { "port = 70000\n", ":1: port (TCFG_PORT): 70000 is out of range" },
    { "port = -1\n", ":1: port (TCFG_PORT): expected a whole number" },
    { "port = 8080x\n", "expected a whole number" },
    { "max_body = 1t\n", ":1: max_body (TCFG_MAX_BODY): expected a size" },
    { "max_body = 5g\n", "max_body (TCFG_MAX_BODY): 5368709120 is out of range" },
    { "verbose = maybe\n", ":1: verbose (TCFG_VERBOSE): expected true or false" },
    { "name = \"open\n", ":1: name: unterminated quote" },
    { "name = \"a\" b\n", ":1: name: unterminated quote or text after it" },
};

static void test_file_errors(void)
{
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        struct demo d;
        struct cm_err err = CM_ERR_INIT;
        char path[32];

        write_file(path, bad_files[i].text);
        memset(&d, 0, sizeof(d));
        th_assert_idx(cm_cfg_load_file(defs, NDEFS, &d, path, &err) == CM_ECONFIG, i);
        th_assert_idx(err.code == CM_ECONFIG, i);
        th_assert_idx(strncmp(err.msg, path, strlen(path)) == 0, i);
        th_assert_idx(strstr(err.msg, bad_files[i].want) != NULL, i);
        if (strstr(err.msg, bad_files[i].want) == NULL)
            fprintf(stderr, "    got: %s\n", err.msg);
        cm_cfg_fini(defs, NDEFS, &d);
        unlink(path);
    }
}

static void test_missing_file(void)
{
    struct demo d;
    struct cm_err err = CM_ERR_INIT;

    memset(&d, 0, sizeof(d));
    th_assert(cm_cfg_load_file(defs, NDEFS, &d, "/nonexistent/x.conf", &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "/nonexistent/x.conf") != NULL);
}

static void test_env_wins(void)
{
    struct demo d;
    struct cm_err err = CM_ERR_INIT;
    char path[32];

    clear_env();
    write_file(path, "port = 9000\nname = fromfile\n");
    setenv("TCFG_PORT", "9100", 1);
    setenv("TCFG_VERBOSE", "TRUE", 1);
    memset(&d, 0, sizeof(d));
    th_assert(cm_cfg_defaults(defs, NDEFS, &d, &err) == 0);
    th_assert(cm_cfg_load_file(defs, NDEFS, &d, path, &err) == 0);
    th_assert(cm_cfg_load_env(defs, NDEFS, &d, &err) == 0);
    th_assert(d.port == 9100);
    th_assert(d.verbose == true);
    th_assert(d.name != NULL && strcmp(d.name, "fromfile") == 0);
    /* A bad env value names the setting and its variable. */
    setenv("TCFG_PORT", "99999", 1);
    th_assert(cm_cfg_load_env(defs, NDEFS, &d, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "port (TCFG_PORT)") != NULL);
    /* An empty value unsets a string. */
    clear_env();
    setenv("TCFG_NAME", "", 1);
    th_assert(cm_cfg_load_env(defs, NDEFS, &d, &err) == 0);
    th_assert(d.name == NULL);
    clear_env();
    cm_cfg_fini(defs, NDEFS, &d);
    unlink(path);
}

static void test_sizes_bools(void)
{
    static const struct {
        const char *text;
        int rc;
        unsigned long long v;
    } sizes[] = {
        { "0", 0, 0 }, { "512", 0, 512 }, { "64k", 0, 65536 }, { "10M", 0, 10485760 },
        { "2g", 0, 2147483648ULL }, { "", CM_EINVAL, 0 }, { "k", CM_EINVAL, 0 },
        { "1.5m", CM_EINVAL, 0 }, { "-1", CM_EINVAL, 0 }, { " 1", CM_EINVAL, 0 },
        { "1kb", CM_EINVAL, 0 }, { "99999999999999999999", CM_EINVAL, 0 },
        { "17179869184g", CM_EINVAL, 0 },
    };
    static const char *const trues[] = { "true", "YES", "on", "1" };
    static const char *const falses[] = { "false", "No", "OFF", "0" };
    struct cm_err err = CM_ERR_INIT;
    struct demo d;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned long long v = 12345;

        th_assert_idx(cm_cfg_parse_size(sizes[i].text, &v) == sizes[i].rc, i);
        th_assert_idx(sizes[i].rc != 0 || v == sizes[i].v, i);
    }
    memset(&d, 0, sizeof(d));
    for (size_t i = 0; i < 4; i++) {
        th_assert_idx(cm_cfg_set(&defs[4], &d, trues[i], &err) == 0 && d.verbose, i);
        th_assert_idx(cm_cfg_set(&defs[4], &d, falses[i], &err) == 0 && !d.verbose, i);
    }
    th_assert(cm_cfg_set(&defs[4], &d, "", &err) == CM_ECONFIG);
    th_assert(cm_cfg_set(&defs[3], &d, "1023", &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "TCFG_MAX_BODY") != NULL);
    th_assert(cm_cfg_set(&defs[3], &d, "1k", &err) == 0 && d.max_body == 1024);
}

static void test_help_hides_secret(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    th_assert(f != NULL);
    if (f == NULL)
        return;
    cm_cfg_print_help(defs, NDEFS, f);
    fclose(f);
    th_assert(strstr(text, "TCFG_TOKEN") != NULL);
    th_assert(strstr(text, "hunter2") == NULL);
    th_assert(strstr(text, "<set>") != NULL);
    th_assert(strstr(text, "TCFG_PORT") != NULL && strstr(text, "8080") != NULL);
    free(text);
}

static void test_secret_not_in_errors(void)
{
    static const struct cm_cfg_def num_secret = { "pin", "TCFG_PIN", CM_CFG_UINT, 0, NULL, 0, 9,
                                                  CM_CFG_SECRET, "" };
    unsigned int pin = 0;
    struct cm_err err = CM_ERR_INIT;

    th_assert(cm_cfg_set(&num_secret, &pin, "424242", &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "424242") == NULL && strstr(err.msg, "TCFG_PIN") != NULL);
    th_assert(cm_cfg_set(&num_secret, &pin, "x4242", &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "4242") == NULL);
}

int main(void)
{
    th_run("defaults", test_defaults);
    th_run("file parse", test_file);
    th_run("file errors name file:line", test_file_errors);
    th_run("missing file", test_missing_file);
    th_run("env overrides file", test_env_wins);
    th_run("sizes and bools", test_sizes_bools);
    th_run("help never prints secrets", test_help_hides_secret);
    th_run("errors never print secrets", test_secret_not_in_errors);
    return th_end();
}
