/* gw_handlers.h - every route handler, grouped by the file that holds it.
 * The route table is in gw_routes.c. Each handler's thread follows its
 * route's GW_ROUTE_WORKER flag (gw_route.h).
 */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

#include <stddef.h>

#include "gateway/gw_route.h"

/* gw_api_health.c */
void gw_api_healthz(struct gw_req *req);  /* MHD thread */
void gw_api_readyz(struct gw_req *req);   /* worker */
void gw_api_metrics(struct gw_req *req);  /* MHD thread */

/* gw_api_auth.c */
void gw_api_login(struct gw_req *req);    /* worker */
void gw_api_logout(struct gw_req *req);   /* MHD thread */

/* gw_api_mailboxes.c */
void gw_api_mailboxes(struct gw_req *req); /* worker */

/* gw_api_events.c */
void gw_api_events(struct gw_req *req);      /* worker: GET /api/v1/events */
void gw_jmap_eventsource(struct gw_req *req); /* worker: GET /jmap/eventsource */

/* gw_api_messages.c */
void gw_api_messages(struct gw_req *req);  /* worker */

/* gw_api_message.c */
void gw_api_message(struct gw_req *req);      /* worker */
void gw_api_message_raw(struct gw_req *req);  /* worker */
void gw_api_message_part(struct gw_req *req); /* worker */

/* gw_api_message_edit.c */
void gw_api_message_flags(struct gw_req *req);  /* worker */
void gw_api_message_move(struct gw_req *req);   /* worker */
void gw_api_send(struct gw_req *req);           /* worker; gw_api_send.c (issue 14) */
void gw_api_message_delete(struct gw_req *req); /* worker */

/* gw_api_openapi.c */
void gw_api_openapi(struct gw_req *req);        /* MHD thread */

/* gw_api_changes.c */
void gw_api_changes(struct gw_req *req);   /* worker */

/* gw_jmap_blob.c */
void gw_jmap_download(struct gw_req *req); /* worker */

/* gw_jmap_upload.c */
void gw_jmap_upload(struct gw_req *req);   /* MHD thread at headers, then worker */

/* gw_routes.c */
extern const struct gw_route gw_routes[];
extern const size_t gw_routes_count;

#endif
