/* cm_cfg.c - the settings-table engine: defaults, file, environment. */
#include "common/cm_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cm_cfg_parse_size(const char *text, unsigned long long *out)
{
    char *end;
    unsigned long long v, mult = 1;

    if (text[0] < '0' || text[0] > '9')
        return CM_EINVAL;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0)
        return CM_EINVAL;
    if (*end != '\0') {
        switch (tolower((unsigned char)*end)) {
        case 'k': mult = 1024ULL; break;
        case 'm': mult = 1024ULL * 1024; break;
        case 'g': mult = 1024ULL * 1024 * 1024; break;
        default: return CM_EINVAL;
        }
        if (end[1] != '\0' && !(tolower((unsigned char)end[1]) == 'b' && end[2] == '\0'))
            return CM_EINVAL;
    }
    if (v > ~0ULL / mult)
        return CM_EINVAL;
    *out = v * mult;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
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

static int set_number(const struct cm_cfg_def *def, void *field, const char *value,
                      struct cm_err *err)
{
    unsigned long long v = 0;
    int rc = def->type == CM_CFG_SIZE ? cm_cfg_parse_size(value, &v) : CM_EINVAL;

    if (def->type == CM_CFG_UINT) {
        char *end;

        errno = 0;
        v = strtoull(value, &end, 10);
        rc = (value[0] >= '0' && value[0] <= '9' && *end == '\0' && errno == 0) ? 0 : CM_EINVAL;
    }
    if (rc < 0)
        return cm_err_set(err, CM_ECONFIG, "%s (%s): \"%s\" is not a %s", def->name, def->env,
                          value, def->type == CM_CFG_SIZE ? "size" : "whole number");
    if (v < def->min || v > def->max)
        return cm_err_set(err, CM_ECONFIG, "%s (%s): %llu is outside %llu..%llu", def->name,
                          def->env, v, def->min, def->max);
    if (def->type == CM_CFG_UINT)
        *(unsigned int *)field = (unsigned int)v;
    else
        *(size_t *)field = (size_t)v;
    return 0;
}

int cm_cfg_set(const struct cm_cfg_def *def, void *obj, const char *value, struct cm_err *err)
{
    void *field = (char *)obj + def->offset;

    switch (def->type) {
    case CM_CFG_STR: {
        char *copy = strdup(value);

        if (copy == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case CM_CFG_BOOL:
        if (parse_bool(value, (bool *)field) < 0)
            return cm_err_set(err, CM_ECONFIG, "%s (%s): \"%s\" is not true or false",
                              def->name, def->env, value);
        return 0;
    case CM_CFG_UINT:
    case CM_CFG_SIZE: return set_number(def, field, value, err);
    }
    return cm_err_set(err, CM_EINTERNAL, "bad setting type");
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

static const struct cm_cfg_def *find(const struct cm_cfg_def *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    }
    return NULL;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* One `name = value` line; value may be double-quoted. */
static int apply_line(const struct cm_cfg_def *defs, size_t n, void *obj, char *line,
                      const char *path, int lineno, struct cm_err *err)
{
    char *eq = strchr(line, '='), *name, *value;
    const struct cm_cfg_def *def;
    struct cm_err inner = CM_ERR_INIT;
    size_t vlen;

    if (eq == NULL)
        return cm_err_set(err, CM_ECONFIG, "%s:%d: expected name = value", path, lineno);
    *eq = '\0';
    name = trim(line);
    value = trim(eq + 1);
    vlen = strlen(value);
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
        value[vlen - 1] = '\0';
        value++;
    }
    def = find(defs, n, name);
    if (def == NULL)
        return cm_err_set(err, CM_ECONFIG, "%s:%d: unknown setting \"%s\"", path, lineno, name);
    if (cm_cfg_set(def, obj, value, &inner) < 0) /* err may be NULL */
        return cm_err_set(err, CM_ECONFIG, "%s:%d: %s", path, lineno, inner.msg);
    return 0;
}

int cm_cfg_load_file(const struct cm_cfg_def *defs, size_t n, void *obj, const char *path,
                     struct cm_err *err)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0, rc = 0;

    if (f == NULL)
        return cm_err_set(err, CM_ECONFIG, "cannot open config file %s: %s", path,
                          strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = cm_err_set(err, CM_ECONFIG, "%s:%d: line too long", path, lineno);
            break;
        }
        p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        rc = apply_line(defs, n, obj, p, path, lineno, err);
    }
    fclose(f);
    return rc;
}

int cm_cfg_load_env(const struct cm_cfg_def *defs, size_t n, void *obj, struct cm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = defs[i].env ? getenv(defs[i].env) : NULL;
        int rc;

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
        if (defs[i].type == CM_CFG_STR) {
            char **field = (char **)((char *)obj + defs[i].offset);

            if (*field != NULL && (defs[i].flags & CM_CFG_SECRET))
                memset(*field, 0, strlen(*field));
            free(*field);
            *field = NULL;
        }
    }
}

void cm_cfg_print_help(const struct cm_cfg_def *defs, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *def = defs[i].def ? defs[i].def : "(none)";

        if (defs[i].flags & CM_CFG_SECRET)
            def = defs[i].def ? "<set>" : "(none)";
        fprintf(out, "  %-18s %-28s default %s\n      %s\n", defs[i].name, defs[i].env, def,
                defs[i].help);
    }
}
