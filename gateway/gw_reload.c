/* gw_reload.c - SIGHUP configuration reload. */
#include "gateway/gw_reload.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_static.h"

/* Settings a reload applies. Each is either read through ctx->set where it
   is used, or applied by apply_side_effects. */
static const char *const live_names[] = {
    "log_level",     "max_body",        "request_timeout",        "max_connections",
    "max_connections_per_ip", "cookie_secure", "push_ping",      "push_max_ping",
    "push_max_folders", "shutdown_grace", "imap_timeout",         "tls_ca_file",
    "web_root",
};

/* Structs published by reloads; the first one (main's) is not ours. */
struct retired {
    struct retired *next;
    struct gw_settings *set;
};
static struct retired *owned;

/* Upstream CA file names replaced by reloads (a connecting session may
   still read one); freed by gw_reload_fini. */
struct old_string {
    struct old_string *next;
    char *text;
};
static struct old_string *old_ca_files;

bool gw_reload_is_live(const char *name)
{
    for (size_t i = 0; i < sizeof(live_names) / sizeof(live_names[0]); i++) {
        if (strcmp(name, live_names[i]) == 0)
            return true;
    }
    return false;
}

static bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool field_eq(const struct cm_cfg_def *d, const void *a, const void *b)
{
    const char *pa = (const char *)a + d->offset, *pb = (const char *)b + d->offset;

    switch (d->type) {
    case CM_CFG_STR: return str_eq(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb);
    case CM_CFG_UINT: return *(const unsigned int *)(const void *)pa == *(const unsigned int *)(const void *)pb;
    case CM_CFG_SIZE: return *(const size_t *)(const void *)pa == *(const size_t *)(const void *)pb;
    case CM_CFG_BOOL: return *(const bool *)(const void *)pa == *(const bool *)(const void *)pb;
    }
    return true;
}

/* Put cur's value of d into next (strings copied). */
static int keep_field(const struct cm_cfg_def *d, struct gw_settings *next,
                      const struct gw_settings *cur)
{
    char *pn = (char *)next + d->offset;
    const char *pc = (const char *)cur + d->offset;

    if (d->type != CM_CFG_STR) {
        memcpy(pn, pc, d->type == CM_CFG_UINT ? sizeof(unsigned int)
                       : d->type == CM_CFG_SIZE ? sizeof(size_t) : sizeof(bool));
        return 0;
    }
    char **dst = (char **)(void *)pn;
    const char *src = *(char *const *)(const void *)pc;

    free(*dst);
    *dst = src ? strdup(src) : NULL;
    return src != NULL && *dst == NULL ? CM_ENOMEM : 0;
}

/* Compare, log, and keep what cannot change live. Returns the number of
   live changes, or a negative CM_E*. */
static int merge(struct gw_settings *next, const struct gw_settings *cur)
{
    int live = 0;

    for (size_t i = 0; i < gw_settings_count; i++) {
        const struct cm_cfg_def *d = &gw_settings_defs[i];
        char kv[160] = "";

        if (field_eq(d, next, cur))
            continue;
        cm_log_kv(kv, sizeof(kv), "setting", d->name);
        if (gw_reload_is_live(d->name)) {
            cm_info(kv, "reload: %s changed", d->name);
            live++;
            continue;
        }
        cm_warn(kv, "reload: %s changed in the configuration but needs a restart; "
                    "keeping the running value", d->name);
        if (keep_field(d, next, cur) < 0)
            return CM_ENOMEM;
    }
    return live;
}

/* Everything that can fail comes first, so a refused reload changes nothing. */
static int apply_side_effects(struct gw_ctx *ctx, const struct gw_settings *next,
                              const struct gw_settings *cur, struct cm_err *err)
{
    bool ca_changed = !str_eq(next->tls_ca_file, cur->tls_ca_file);
    struct old_string *o = NULL;
    char *fresh = NULL;
    enum cm_log_level lvl;
    int rc = 0;

    if (ca_changed && next->tls_ca_file != NULL && access(next->tls_ca_file, R_OK) != 0)
        return cm_err_set(err, CM_ECONFIG, "tls_ca_file: cannot read \"%s\"", next->tls_ca_file);
    if (ca_changed) {
        fresh = next->tls_ca_file ? strdup(next->tls_ca_file) : NULL;
        o = calloc(1, sizeof(*o));
        if ((next->tls_ca_file != NULL && fresh == NULL) || o == NULL)
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (rc == 0 && !str_eq(next->web_root, cur->web_root))
        rc = gw_static_load(next->web_root, err);
    if (rc < 0) {
        free(fresh);
        free(o);
        return rc;
    }
    if (cm_log_level_parse(next->log_level, &lvl) == 0)
        cm_log_set_level(lvl);
    ctx->upstream.timeout_secs = next->imap_timeout_secs;
    if (ca_changed) {
        /* The old string may be in use by a connecting session: keep it. */
        o->text = atomic_exchange(&ctx->upstream.ca_file, fresh);
        o->next = old_ca_files;
        old_ca_files = o;
    }
    return 0;
}

int gw_reload(struct gw_ctx *ctx, const char *config_path, const char *keep_pid_file,
              struct cm_err *err)
{
    const struct gw_settings *cur = ctx->set;
    struct gw_settings *next = calloc(1, sizeof(*next));
    struct retired *r = calloc(1, sizeof(*r));
    int rc, live;

    if (next == NULL || r == NULL) {
        free(next);
        free(r);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    rc = gw_settings_load(next, config_path, err);
    if (rc == 0 && keep_pid_file != NULL) {
        free(next->pid_file);
        next->pid_file = strdup(keep_pid_file);
    }
    live = rc < 0 ? rc : merge(next, cur);
    if (live >= 0)
        rc = apply_side_effects(ctx, next, cur, err);
    else if (rc == 0)
        rc = cm_err_set(err, live, "out of memory");
    if (rc < 0) {
        gw_settings_fini(next);
        free(next);
        free(r);
        return rc;
    }
    r->set = next;
    r->next = owned;
    owned = r;
    atomic_store(&ctx->set, next);
    cm_info("", "configuration reloaded (%d live change%s)", live, live == 1 ? "" : "s");
    return 0;
}

void gw_reload_fini(void)
{
    while (old_ca_files != NULL) {
        struct old_string *o = old_ca_files;

        old_ca_files = o->next;
        free(o->text);
        free(o);
    }
    while (owned != NULL) {
        struct retired *r = owned;

        owned = r->next;
        gw_settings_fini(r->set);
        free(r->set);
        free(r);
    }
}
