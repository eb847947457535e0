/* gw_ops.h - process chores for operators: the pid file and dropping root.
 *
 * Order in main: bind the listen socket (may need root for a port < 1024),
 * write the pid file (a root-owned directory such as /run is fine), drop
 * privileges, then start every thread. Started as root, the gateway
 * refuses to run unless `user` is set (it then switches to user/group,
 * with that user's supplementary groups) or `allow_root` is true.
 *
 * Threads: main thread, before any other thread starts.
 */
#ifndef GW_OPS_H
#define GW_OPS_H

#include <stdbool.h>

#include "common/cm_err.h"

/* Write our pid and a newline to path (replacing the file). CM_ECONFIG. */
int gw_ops_write_pid_file(const char *path, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Remove path if it still holds our pid (best effort; after a privilege
   drop the directory may not be writable any more: logged at debug). */
void gw_ops_remove_pid_file(const char *path);

/* Running as root: switch to user (required unless allow_root) and group
   (default: the user's primary group); unset user + allow_root stays root
   with a warning. Not root: user/group must be unset or name ourselves.
   Permanent (setgroups, setgid, setuid; checked that root cannot come
   back). CM_ECONFIG with the reason. */
int gw_ops_drop_privileges(const char *user, const char *group, bool allow_root,
                           struct cm_err *err) __attribute__((warn_unused_result));

#endif
