/* cm_cfg.c - the settings-table engine: defaults, config file, environment.
 *
 * Values are text at every entry point and go through cm_cfg_set(), so a
 * default, a file line and an environment variable are checked the same way.
 */
#include "common/cm_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_crypto.h"

#define LINE_MAX_BYTES 4096

static void *field(const struct cm_cfg_def *def, void *obj)
{
    return (char *)obj + def->offset;
}

/* Parse plain decimal digits (no sign, no spaces) into *v. */
static int parse_digits(const char *s, size_t n, unsigned long long *v)
{
    unsigned long long acc = 0;

    if (n == 0)
        return CM_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return CM_EINVAL;
        d = (unsigned)(s[i] - '0');
        if (acc > (ULLONG_MAX - d) / 10)
            return CM_EINVAL;
        acc = acc * 10 + d;
    }
    *v = acc;
    return 0;
}

int cm_cfg_parse_size(const char *text, unsigned long long *out)
{
    size_t n = strlen(text);
    unsigned long long v, mult = 1;

    if (n > 0) {
        switch (tolower((unsigned char)text[n - 1])) {
        case 'k': mult = 1ULL << 10; n--; break;
        case 'm': mult = 1ULL << 20; n--; break;
        case 'g': mult = 1ULL << 30; n--; break;
        default: break;
        }
    }
    if (parse_digits(text, n, &v) < 0 || v > ULLONG_MAX / mult)
        return CM_EINVAL;
    *out = v * mult;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return CM_EINVAL;
}

/* Name a setting in messages: `max_body (JMAPGATE_MAX_BODY)`. */
#define DEF_FMT "%s (%s)"
#define DEF_ARGS(d) (d)->name, (d)->env ? (d)->env : "no env"

static int check_bounds(const struct cm_cfg_def *def, unsigned long long v,
                        unsigned long long type_max, struct cm_err *err)
{
    unsigned long long max = def->max != 0 && def->max < type_max ? def->max : type_max;

    if (v < def->min || v > max) {
        if (def->flags & CM_CFG_SECRET)
            return cm_err_set(err, CM_ECONFIG, DEF_FMT ": out of range %llu..%llu",
                              DEF_ARGS(def), def->min, max);
        return cm_err_set(err, CM_ECONFIG, DEF_FMT ": %llu is out of range %llu..%llu",
                          DEF_ARGS(def), v, def->min, max);
    }
    return 0;
}

static int set_str(const struct cm_cfg_def *def, void *obj, const char *value,
                   struct cm_err *err)
{
    char **p = field(def, obj);
    char *copy = NULL;

    /* An empty value means "unset", so a file or env var can clear a default. */
    if (value[0] != '\0') {
        copy = strdup(value);
        if (copy == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (*p != NULL && (def->flags & CM_CFG_SECRET))
        cm_cleanse(*p, strlen(*p));
    free(*p);
    *p = copy;
    return 0;
}

static int set_number(const struct cm_cfg_def *def, void *obj, const char *value,
                      struct cm_err *err)
{
    unsigned long long v;
    int rc;

    if (def->type == CM_CFG_SIZE)
        rc = cm_cfg_parse_size(value, &v);
    else
        rc = parse_digits(value, strlen(value), &v);
    if (rc < 0) {
        const char *what = def->type == CM_CFG_SIZE ? "a size like 512, 64k, 10m or 1g"
                                                     : "a whole number";

        if (def->flags & CM_CFG_SECRET)
            return cm_err_set(err, CM_ECONFIG, DEF_FMT ": expected %s", DEF_ARGS(def), what);
        return cm_err_set(err, CM_ECONFIG, DEF_FMT ": expected %s, got \"%.60s\"",
                          DEF_ARGS(def), what, value);
    }
    if (def->type == CM_CFG_SIZE) {
        rc = check_bounds(def, v, SIZE_MAX, err);
        if (rc == 0)
            *(size_t *)field(def, obj) = (size_t)v;
    } else {
        rc = check_bounds(def, v, UINT_MAX, err);
        if (rc == 0)
            *(unsigned int *)field(def, obj) = (unsigned int)v;
    }
    return rc;
}

int cm_cfg_set(const struct cm_cfg_def *def, void *obj, const char *value, struct cm_err *err)
{
    bool b;

    switch (def->type) {
    case CM_CFG_STR:
        return set_str(def, obj, value, err);
    case CM_CFG_UINT:
    case CM_CFG_SIZE:
        return set_number(def, obj, value, err);
    case CM_CFG_BOOL:
        if (parse_bool(value, &b) < 0)
            return cm_err_set(err, CM_ECONFIG, DEF_FMT ": expected true or false",
                              DEF_ARGS(def));
        *(bool *)field(def, obj) = b;
        return 0;
    }
    return cm_err_set(err, CM_EINTERNAL, DEF_FMT ": unknown setting type", DEF_ARGS(def));
}

int cm_cfg_defaults(const struct cm_cfg_def *defs, size_t n, void *obj, struct cm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc;

        if (defs[i].def == NULL)
            continue;
        rc = cm_cfg_set(&defs[i], obj, defs[i].def, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const struct cm_cfg_def *find_def(const struct cm_cfg_def *defs, size_t n,
                                         const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    }
    return NULL;
}

static char *trim(char *s)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Turn the text after '=' into the value, in place: either "quoted" (kept
   verbatim, only a comment may follow) or bare (a " #" starts a comment). */
static int unquote(char *v, char **value_r)
{
    char *end;

    v = trim(v);
    if (v[0] == '"') {
        end = strchr(v + 1, '"');
        if (end == NULL)
            return -1;
        *end = '\0';
        if (*trim(end + 1) != '\0' && *trim(end + 1) != '#')
            return -1;
        *value_r = v + 1;
        return 0;
    }
    for (end = v; *end != '\0'; end++) {
        if (*end == '#' && end > v && isspace((unsigned char)end[-1])) {
            *end = '\0';
            break;
        }
    }
    *value_r = trim(v);
    return 0;
}

/* Apply one line; msg gets a reason without the file:line prefix. */
static int apply_line(const struct cm_cfg_def *defs, size_t n, void *obj, char *line,
                      struct cm_err *lerr)
{
    const struct cm_cfg_def *def;
    char *eq, *name, *value;

    name = trim(line);
    if (name[0] == '\0' || name[0] == '#')
        return 0;
    eq = strchr(name, '=');
    if (eq == NULL)
        return cm_err_set(lerr, CM_ECONFIG, "expected `name = value`");
    *eq = '\0';
    name = trim(name);
    def = find_def(defs, n, name);
    if (def == NULL)
        return cm_err_set(lerr, CM_ECONFIG, "unknown setting \"%.60s\"", name);
    if (unquote(eq + 1, &value) < 0)
        return cm_err_set(lerr, CM_ECONFIG, "%s: unterminated quote or text after it", name);
    return cm_cfg_set(def, obj, value, lerr);
}

int cm_cfg_load_file(const struct cm_cfg_def *defs, size_t n, void *obj, const char *path,
                     struct cm_err *err)
{
    char line[LINE_MAX_BYTES];
    struct cm_err lerr = CM_ERR_INIT;
    unsigned lineno = 0;
    int rc = 0;
    FILE *f;

    f = fopen(path, "r");
    if (f == NULL)
        return cm_err_set(err, CM_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);

        lineno++;
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
            rc = cm_err_set(err, CM_ECONFIG, "%s:%u: line too long", path, lineno);
            break;
        }
        if (apply_line(defs, n, obj, line, &lerr) < 0)
            rc = cm_err_set(err, lerr.code, "%s:%u: %s", path, lineno, lerr.msg);
    }
    if (rc == 0 && ferror(f))
        rc = cm_err_set(err, CM_ECONFIG, "%s: read error", path);
    fclose(f);
    cm_cleanse(line, sizeof(line));
    return rc;
}

int cm_cfg_load_env(const struct cm_cfg_def *defs, size_t n, void *obj, struct cm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *v;
        int rc;

        if (defs[i].env == NULL)
            continue;
        v = getenv(defs[i].env);
        if (v == NULL)
            continue;
        rc = cm_cfg_set(&defs[i], obj, v, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void cm_cfg_fini(const struct cm_cfg_def *defs, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        char **p;

        if (defs[i].type != CM_CFG_STR)
            continue;
        p = field(&defs[i], obj);
        if (*p != NULL && (defs[i].flags & CM_CFG_SECRET))
            cm_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void cm_cfg_print_help(const struct cm_cfg_def *defs, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct cm_cfg_def *d = &defs[i];
        const char *shown = d->def != NULL ? d->def : "(unset)";

        if ((d->flags & CM_CFG_SECRET) && d->def != NULL)
            shown = "<set>";
        fprintf(out, "  %-20s %-28s default: %s\n      %s\n", d->name, d->env ? d->env : "",
                shown, d->help ? d->help : "");
    }
}
