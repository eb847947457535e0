/* rt_loop.h - the realtime reactor: one thread, epoll over every IDLE
 * socket plus the watchers' timers. Internal to realtime/: the functions
 * are declared in rt_private.h; this header only names the module.
 *
 * The reactor never does IMAP I/O. When a watcher's socket is readable
 * (or its timer is due: re-IDLE, reconnect, poll, grace expiry) it removes
 * the fd from the epoll set, marks the watcher busy and hands it to the
 * worker pool (rt_watcher_job). At the end of each turn it frees the
 * watchers that their jobs marked dead (the safe point).
 */
#ifndef RT_LOOP_H
#define RT_LOOP_H
#include "realtime/rt_private.h"
#endif
