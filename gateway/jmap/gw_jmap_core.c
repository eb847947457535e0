/* gw_jmap_core.c - Core/echo (RFC 8620 §4). */
#include "gateway/jmap/gw_jmap_methods.h"

json_t *gw_jmap_core_echo(struct gw_jcall *c, struct cm_err *err)
{
    (void)err;
    return json_deep_copy(c->args);
}
