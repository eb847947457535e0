/* cm_cfg.h - a settings table -> a plain struct (redis static_configs,
 * dovecot settings).
 *
 * A program describes each setting once in a const table: its name in
 * config files, its environment variable, type, offset in the program's
 * settings struct, default, bounds and help text. Loading order: defaults,
 * then the config file (`name = value` lines, '#' comments, optional
 * quotes), then environment variables. Unknown keys in a file are an error.
 *
 * Values: a string set to "" becomes NULL (unset), so a file or env var can
 * clear a default. Numbers are plain decimal digits. Bool words and size
 * suffixes are case-insensitive. Errors are CM_ECONFIG and name the setting
 * and its env var, e.g. "workers (JMAPGATE_WORKERS): 0 is out of range
 * 1..1024"; values of SECRET settings never appear in messages.
 *
 * Ownership: string settings are malloc'd copies owned by the struct;
 * cm_cfg_fini() frees them. Threads: load at start-up, read-only after.
 */
#ifndef CM_CFG_H
#define CM_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/cm_err.h"

enum cm_cfg_type {
    CM_CFG_STR,   /* char * (NULL when unset) */
    CM_CFG_UINT,  /* unsigned int, bounded by min..max */
    CM_CFG_SIZE,  /* size_t bytes; accepts suffixes k, m, g (1024-based) */
    CM_CFG_BOOL   /* bool; true/false/yes/no/on/off/1/0 */
};

enum cm_cfg_flags {
    CM_CFG_SECRET = 1 << 0 /* never printed (value shown as <set>) */
};

struct cm_cfg_def {
    const char *name;         /* key in config files, e.g. "listen" */
    const char *env;          /* environment variable, e.g. "JMAPGATE_LISTEN" */
    enum cm_cfg_type type;
    size_t offset;            /* offsetof(struct settings, field) */
    const char *def;          /* default as text; NULL = unset */
    unsigned long long min, max; /* bounds for UINT/SIZE; max 0 = the type's limit */
    unsigned flags;
    const char *help;
};

/* Apply defaults to every entry (frees nothing: call on a zeroed struct). */
int cm_cfg_defaults(const struct cm_cfg_def *defs, size_t n, void *obj, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Apply `name = value` lines from path. Blank lines and lines starting
   with '#' are skipped; a value is either "double-quoted" (taken verbatim,
   no escapes) or bare, where whitespace + '#' starts a comment. A later
   line for the same key wins. Errors name the file and line
   ("gw.conf:3: unknown setting \"prot\""). */
int cm_cfg_load_file(const struct cm_cfg_def *defs, size_t n, void *obj, const char *path,
                     struct cm_err *err) __attribute__((warn_unused_result));

/* Apply the environment variables that are set. */
int cm_cfg_load_env(const struct cm_cfg_def *defs, size_t n, void *obj, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Set one entry from text (used by the loaders; also handy in tests). */
int cm_cfg_set(const struct cm_cfg_def *def, void *obj, const char *value, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Free the string settings. */
void cm_cfg_fini(const struct cm_cfg_def *defs, size_t n, void *obj);

/* Print a table of settings (name, env, default, help) for --help. The
   default of a SECRET setting is shown as <set>. */
void cm_cfg_print_help(const struct cm_cfg_def *defs, size_t n, FILE *out);

/* Parse a size with optional k/m/g suffix; 0 or CM_EINVAL. */
int cm_cfg_parse_size(const char *text, unsigned long long *out);

#endif
