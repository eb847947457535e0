/* test_cm_cfg.c - the settings-table engine on a private table: defaults,
 * file syntax, errors naming file:line, environment overrides, sizes,
 * bounds, help output and fini. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_cfg.h"
#include "harness/th.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

struct tcfg {
    char *name;
    char *token;
    unsigned int port;
    size_t max;
    bool flag;
    char *unset;
};

#define OFF(f) offsetof(struct tcfg, f)
static const struct cm_cfg_def defs[] = {
    { "name", "TCFG_NAME", CM_CFG_STR, OFF(name), "default-name", 0, 0, 0, "a plain string" },
    { "token", "TCFG_TOKEN", CM_CFG_STR, OFF(token), "xyzzy-default-secret", 0, 0, CM_CFG_SECRET,
      "a secret string" },
    { "port", "TCFG_PORT", CM_CFG_UINT, OFF(port), "8080", 1, 65535, 0, "a bounded number" },
    { "max", "TCFG_MAX", CM_CFG_SIZE, OFF(max), "1k", 16, 4ULL << 30, 0, "a bounded size" },
    { "flag", "TCFG_FLAG", CM_CFG_BOOL, OFF(flag), "false", 0, 0, 0, "a switch" },
    { "unset", "TCFG_UNSET", CM_CFG_STR, OFF(unset), NULL, 0, 0, 0, "no default" },
};
#define NDEFS N_ROWS(defs)

static const char *const env_names[] = { "TCFG_NAME", "TCFG_TOKEN", "TCFG_PORT",
                                         "TCFG_MAX",  "TCFG_FLAG",  "TCFG_UNSET" };

static void clear_env(void)
{
    for (size_t i = 0; i < N_ROWS(env_names); i++)
        unsetenv(env_names[i]);
}

/* Write text to a fresh temporary file; path gets its name. */
static void write_file(char path[64], const char *text)
{
    int fd;
    size_t n = strlen(text);

    strcpy(path, "/tmp/test_cm_cfg.XXXXXX");
    fd = mkstemp(path);
    th_assert(fd >= 0);
    if (fd < 0)
        return;
    th_assert(write(fd, text, n) == (ssize_t)n);
    close(fd);
}

static int load_defaults(struct tcfg *c)
{
    struct cm_err err = CM_ERR_INIT;

    memset(c, 0, sizeof(*c));
    return cm_cfg_defaults(defs, NDEFS, c, &err);
}

static void test_defaults(void)
{
    struct tcfg c;

    th_assert(load_defaults(&c) == 0);
    th_assert(c.name != NULL && strcmp(c.name, "default-name") == 0);
    th_assert(c.token != NULL && strcmp(c.token, "xyzzy-default-secret") == 0);
    th_assert(c.port == 8080);
    th_assert(c.max == 1024);
    th_assert(c.flag == false);
    th_assert(c.unset == NULL);
    cm_cfg_fini(defs, NDEFS, &c);
    th_assert(c.name == NULL && c.token == NULL && c.unset == NULL);
}

static void test_file_syntax(void)
{
    static const char text[] = "# a comment\n"
                               "\n"
                               "   \t\n"
                               "  # indented comment = not a setting\n"
                               "name=plain\n"
                               "name   =   \"quoted value with = and # inside\"   \n"
                               "\tport\t= 443\r\n"
                               "max = 2m\n"
                               "flag = yes\n"
                               "unset = \"\"\n"
                               "token = last-line-without-newline";
    struct tcfg c;
    struct cm_err err = CM_ERR_INIT;
    char path[64];

    clear_env();
    write_file(path, text);
    th_assert(load_defaults(&c) == 0);
    th_assert(cm_cfg_load_file(defs, NDEFS, &c, path, &err) == 0);
    th_assert(c.name != NULL && strcmp(c.name, "quoted value with = and # inside") == 0);
    th_assert(c.port == 443);
    th_assert(c.max == 2 * 1024 * 1024);
    th_assert(c.flag == true);
    th_assert(c.unset != NULL && strcmp(c.unset, "") == 0);
    th_assert(c.token != NULL && strcmp(c.token, "last-line-without-newline") == 0);
    cm_cfg_fini(defs, NDEFS, &c);
    unlink(path);
}

static void test_file_errors(void)
{
    static const struct {
        const char *text;
        const char *where; /* expected ":line:" */
        const char *also;  /* another substring of the message */
    } rows[] = {
        { "name = a\n# c\nbogus = 1\n", ":3:", "bogus" },
        { "name = a\nport 80\n", ":2:", "name = value" },
        { "port = 0\n", ":1:", "port" },
        { "\n\nport = 65536\n", ":3:", "65536" },
        { "port = -1\n", ":1:", "port" },
        { "port = 80x\n", ":1:", "80x" },
        { "port = 99999999999999999999999\n", ":1:", "port" },
        { "flag = maybe\n", ":1:", "maybe" },
        { "max = 10q\n", ":1:", "10q" },
        { "max = 8\n", ":1:", "max" }, /* under the minimum */
        { "max = 5g\n", ":1:", "max" }, /* over the maximum */
        { "Name = x\n", ":1:", "Name" }, /* names are case-sensitive */
    };

    clear_env();
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct tcfg c;
        struct cm_err err = CM_ERR_INIT;
        char path[64], prefix[80];

        write_file(path, rows[i].text);
        snprintf(prefix, sizeof(prefix), "%s%s", path, rows[i].where);
        th_assert_idx(load_defaults(&c) == 0, i);
        th_assert_idx(cm_cfg_load_file(defs, NDEFS, &c, path, &err) == CM_ECONFIG, i);
        th_assert_idx(err.code == CM_ECONFIG, i);
        th_assert_idx(strncmp(err.msg, prefix, strlen(prefix)) == 0, i);
        th_assert_idx(strstr(err.msg, rows[i].also) != NULL, i);
        th_assert_idx(c.port == 8080 && c.max == 1024 && !c.flag, i); /* refused: unchanged */
        /* err is optional */
        th_assert_idx(cm_cfg_load_file(defs, NDEFS, &c, path, NULL) == CM_ECONFIG, i);
        cm_cfg_fini(defs, NDEFS, &c);
        unlink(path);
    }
}

static void test_file_other_errors(void)
{
    struct tcfg c;
    struct cm_err err = CM_ERR_INIT;
    char path[64], *text = malloc(6000);

    th_assert(load_defaults(&c) == 0);
    th_assert(cm_cfg_load_file(defs, NDEFS, &c, "/nonexistent/x.conf", &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "/nonexistent/x.conf") != NULL);

    memset(text, 'a', 5999);
    memcpy(text, "name = ", 7);
    text[5999] = '\0';
    write_file(path, text);
    cm_err_clear(&err);
    th_assert(cm_cfg_load_file(defs, NDEFS, &c, path, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, ":1:") != NULL && strstr(err.msg, "too long") != NULL);
    th_assert(strcmp(c.name, "default-name") == 0);
    unlink(path);
    free(text);
    cm_cfg_fini(defs, NDEFS, &c);
}

static void test_env_overrides(void)
{
    static const char text[] = "name = from-file\nport = 443\nflag = on\n";
    struct tcfg c;
    struct cm_err err = CM_ERR_INIT;
    char path[64];

    clear_env();
    write_file(path, text);
    setenv("TCFG_NAME", "from-env", 1);
    setenv("TCFG_PORT", "8443", 1);
    setenv("TCFG_MAX", "64kb", 1);
    setenv("TCFG_UNSET", "now-set", 1);
    th_assert(load_defaults(&c) == 0);
    th_assert(cm_cfg_load_file(defs, NDEFS, &c, path, &err) == 0);
    th_assert(cm_cfg_load_env(defs, NDEFS, &c, &err) == 0);
    th_assert(strcmp(c.name, "from-env") == 0);
    th_assert(c.port == 8443);
    th_assert(c.max == 64 * 1024);
    th_assert(c.flag == true); /* from the file, no env */
    th_assert(c.unset != NULL && strcmp(c.unset, "now-set") == 0);
    th_assert(strcmp(c.token, "xyzzy-default-secret") == 0);

    /* a bad environment value names the variable */
    setenv("TCFG_FLAG", "sometimes", 1);
    cm_err_clear(&err);
    th_assert(cm_cfg_load_env(defs, NDEFS, &c, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "TCFG_FLAG") != NULL);
    th_assert(c.flag == true);
    setenv("TCFG_FLAG", "", 1); /* set but empty is a value too, and not a bool */
    th_assert(cm_cfg_load_env(defs, NDEFS, &c, NULL) == CM_ECONFIG);

    clear_env();
    cm_cfg_fini(defs, NDEFS, &c);
    unlink(path);
}

static void test_parse_size(void)
{
    static const struct {
        const char *text;
        int rc;
        unsigned long long v;
    } rows[] = {
        { "0", 0, 0 },
        { "17", 0, 17 },
        { "1k", 0, 1024 },
        { "1K", 0, 1024 },
        { "3kb", 0, 3072 },
        { "3KB", 0, 3072 },
        { "3kB", 0, 3072 },
        { "2m", 0, 2ULL << 20 },
        { "2MB", 0, 2ULL << 20 },
        { "5g", 0, 5ULL << 30 },
        { "5gb", 0, 5ULL << 30 },
        { "18446744073709551615", 0, ~0ULL },
        { "17179869183g", 0, 17179869183ULL << 30 },
        { "17179869184g", CM_EINVAL, 0 }, /* 2^64: overflow */
        { "18446744073709551616", CM_EINVAL, 0 },
        { "", CM_EINVAL, 0 },
        { "k", CM_EINVAL, 0 },
        { "kb", CM_EINVAL, 0 },
        { "-1", CM_EINVAL, 0 },
        { "+1", CM_EINVAL, 0 },
        { " 1", CM_EINVAL, 0 },
        { "1 ", CM_EINVAL, 0 },
        { "1 k", CM_EINVAL, 0 },
        { "1t", CM_EINVAL, 0 },
        { "1b", CM_EINVAL, 0 },
        { "1kbb", CM_EINVAL, 0 },
        { "1kk", CM_EINVAL, 0 },
        { "1mib", CM_EINVAL, 0 },
        { "1.5k", CM_EINVAL, 0 },
        { "0x10", CM_EINVAL, 0 },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        unsigned long long v = 4242;
        int rc = cm_cfg_parse_size(rows[i].text, &v);

        th_assert_idx(rc == rows[i].rc, i);
        th_assert_idx(v == (rows[i].rc == 0 ? rows[i].v : 4242), i);
    }
}

/* The value the field of defs[def] holds, as a number. */
static unsigned long long field_value(const struct tcfg *c, size_t def)
{
    return def == 2 ? c->port : def == 3 ? (unsigned long long)c->max : (unsigned long long)c->flag;
}

static void test_set_bounds(void)
{
    static const struct {
        size_t def; /* index into defs: 2 port, 3 max, 4 flag */
        const char *value;
        int rc;
        unsigned long long want;
    } rows[] = {
        { 2, "1", 0, 1 },
        { 2, "65535", 0, 65535 },
        { 2, "0", CM_ECONFIG, 0 },
        { 2, "65536", CM_ECONFIG, 0 },
        { 2, "4294967297", CM_ECONFIG, 0 }, /* beyond unsigned int */
        { 2, "", CM_ECONFIG, 0 },
        { 2, "-5", CM_ECONFIG, 0 },
        { 2, "+5", CM_ECONFIG, 0 },
        { 2, " 5", CM_ECONFIG, 0 },
        { 2, "5 ", CM_ECONFIG, 0 },
        { 2, "1k", CM_ECONFIG, 0 }, /* no suffixes on plain numbers */
        { 3, "16", 0, 16 },
        { 3, "15", CM_ECONFIG, 0 },
        { 3, "4g", 0, 4ULL << 30 },
        { 3, "4294967297", CM_ECONFIG, 0 },
        { 3, "4097m", CM_ECONFIG, 0 },
        { 4, "true", 0, 1 },
        { 4, "TRUE", 0, 1 },
        { 4, "Yes", 0, 1 },
        { 4, "on", 0, 1 },
        { 4, "1", 0, 1 },
        { 4, "false", 0, 0 },
        { 4, "NO", 0, 0 },
        { 4, "off", 0, 0 },
        { 4, "0", 0, 0 },
        { 4, "2", CM_ECONFIG, 0 },
        { 4, "", CM_ECONFIG, 0 },
        { 4, "tru", CM_ECONFIG, 0 },
        { 4, "yes ", CM_ECONFIG, 0 },
    };
    struct tcfg c;

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct cm_err err = CM_ERR_INIT;
        size_t d = rows[i].def;
        unsigned long long before;

        th_assert_idx(load_defaults(&c) == 0, i);
        c.flag = rows[i].want == 0; /* so that a successful set visibly changes it */
        before = field_value(&c, d);
        th_assert_idx(cm_cfg_set(&defs[d], &c, rows[i].value, &err) == rows[i].rc, i);
        if (rows[i].rc != 0) {
            th_assert_idx(err.code == rows[i].rc && strstr(err.msg, defs[d].name) != NULL, i);
            th_assert_idx(strstr(err.msg, defs[d].env) != NULL, i);
            th_assert_idx(field_value(&c, d) == before, i); /* refused: unchanged */
        } else {
            th_assert_idx(field_value(&c, d) == rows[i].want, i);
        }
        cm_cfg_fini(defs, NDEFS, &c);
    }
    th_assert(load_defaults(&c) == 0);
    th_assert(cm_cfg_set(&defs[0], &c, "replaced", NULL) == 0 && strcmp(c.name, "replaced") == 0);
    cm_cfg_fini(defs, NDEFS, &c);
}

static void test_print_help(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct tcfg c;

    th_assert(f != NULL);
    if (f == NULL)
        return;
    cm_cfg_print_help(defs, NDEFS, f);
    fclose(f);
    for (size_t i = 0; i < NDEFS; i++) {
        th_assert_idx(strstr(text, defs[i].name) != NULL, i);
        th_assert_idx(strstr(text, defs[i].env) != NULL, i);
        th_assert_idx(strstr(text, defs[i].help) != NULL, i);
    }
    th_assert(strstr(text, "default-name") != NULL);
    th_assert(strstr(text, "8080") != NULL);
    th_assert(strstr(text, "xyzzy") == NULL);
    th_assert(strstr(text, "<set>") != NULL);
    th_assert(strstr(text, "(null)") == NULL);
    free(text);

    /* help shows defaults, never loaded values */
    th_assert(load_defaults(&c) == 0);
    th_assert(cm_cfg_set(&defs[1], &c, "loaded-secret-plugh", NULL) == 0);
    text = NULL;
    f = open_memstream(&text, &len);
    cm_cfg_print_help(defs, NDEFS, f);
    fclose(f);
    th_assert(strstr(text, "plugh") == NULL);
    free(text);
    cm_cfg_fini(defs, NDEFS, &c);
}

static void test_fini(void)
{
    struct tcfg c;

    th_assert(load_defaults(&c) == 0);
    th_assert(cm_cfg_set(&defs[5], &c, "x", NULL) == 0);
    th_assert(cm_cfg_set(&defs[5], &c, "y", NULL) == 0); /* replacing frees the old copy */
    cm_cfg_fini(defs, NDEFS, &c);
    th_assert(c.name == NULL && c.token == NULL && c.unset == NULL);
    cm_cfg_fini(defs, NDEFS, &c); /* twice is harmless */
}

int main(void)
{
    th_run("cfg.defaults", test_defaults);
    th_run("cfg.file_syntax", test_file_syntax);
    th_run("cfg.file_errors", test_file_errors);
    th_run("cfg.file_other_errors", test_file_other_errors);
    th_run("cfg.env_overrides", test_env_overrides);
    th_run("cfg.parse_size", test_parse_size);
    th_run("cfg.set_bounds", test_set_bounds);
    th_run("cfg.print_help", test_print_help);
    th_run("cfg.fini", test_fini);
    return th_end();
}
