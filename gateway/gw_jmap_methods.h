/* gw_jmap_methods.h - the JMAP method table and the methods (one file per
 * data type: gw_jmap_core.c, gw_jmap_mailbox.c, ...).
 * Threads: methods run on the request's worker.
 */
#ifndef GW_JMAP_METHODS_H
#define GW_JMAP_METHODS_H

#include "gateway/gw_jmap.h"

/* The method named name, or NULL. */
const struct gw_jmethod *gw_jmethod_find(const char *name);

/* gw_jmap_core.c */
json_t *gw_jmap_core_echo(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_mailbox.c */
json_t *gw_jmap_mailbox_get(struct gw_jcall *c, struct cm_err *err);

#endif
