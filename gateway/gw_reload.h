/* gw_reload.h - SIGHUP: re-read the configuration and apply what can
 * change while serving, without dropping a connection.
 *
 * A reload loads a complete new settings struct (defaults, the same config
 * file, the environment, the same validation as at start-up). A file that
 * does not load or validate changes nothing (logged). Otherwise, for every
 * setting whose value differs:
 *   - live ones (gw_reload_is_live) take effect: the log level is set, the
 *     web root re-read, the upstream CA file and timeout replaced for new
 *     IMAP connections, and every other live value is read from ctx->set
 *     by the code that uses it (limits, timeouts, SSE heartbeats);
 *   - the others (listen, secret, thread and pool sizes, ...) are logged
 *     as needing a restart and keep their running value in the new struct.
 * The new struct is then published with one atomic store to ctx->set.
 * Replaced structs are kept until gw_reload_fini (a request may still
 * read one; a few hundred bytes per reload).
 *
 * Threads: main thread only (it takes SIGHUP with sigwait).
 */
#ifndef GW_RELOAD_H
#define GW_RELOAD_H

#include <stdbool.h>

#include "common/cm_err.h"

struct gw_ctx;

/* Reload from config_path (may be NULL: environment only). keep_pid_file:
   the --pid-file value, which wins over the file as at start-up.
   CM_ECONFIG when the new settings were refused (nothing changed). */
int gw_reload(struct gw_ctx *ctx, const char *config_path, const char *keep_pid_file,
              struct cm_err *err) __attribute__((warn_unused_result));

/* True for the settings a reload applies (by name). */
bool gw_reload_is_live(const char *name);

/* Free the settings structs that reloads created (after the server and
   every thread that reads ctx->set stopped). */
void gw_reload_fini(void);

#endif
