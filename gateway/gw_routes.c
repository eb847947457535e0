/* gw_routes.c - the route table. */
#include "gateway/gw_handlers.h"
#include "gateway/jmap/gw_jmap.h"
#include "gateway/gw_static.h"

const struct gw_route gw_routes[] = {
    { "GET", "/healthz", gw_api_healthz, 0, "healthz" },
    { "GET", "/readyz", gw_api_readyz, GW_ROUTE_WORKER, "readyz" },
    { "GET", "/metrics", gw_api_metrics, 0, "metrics" },
    { "POST", "/api/v1/auth/login", gw_api_login, GW_ROUTE_WORKER, "auth_login" },
    { "POST", "/api/v1/auth/logout", gw_api_logout, 0, "auth_logout" },
    { "GET", "/api/v1/mailboxes", gw_api_mailboxes, GW_ROUTE_WORKER, "mailboxes" },
    /* REST delta-sync (issue 6) */
    { "GET", "/api/v1/mailboxes/{}/messages", gw_api_messages, GW_ROUTE_WORKER, "messages" },
    { "GET", "/api/v1/mailboxes/{}/changes", gw_api_changes, GW_ROUTE_WORKER, "changes" },
    { "GET", "/api/v1/mailboxes/{}/messages/{}", gw_api_message, GW_ROUTE_WORKER, "message" },
    { "GET", "/api/v1/mailboxes/{}/messages/{}/raw", gw_api_message_raw, GW_ROUTE_WORKER,
      "message_raw" },
    { "GET", "/api/v1/mailboxes/{}/messages/{}/attachments/{}", gw_api_message_part,
      GW_ROUTE_WORKER, "message_part" },
    { "PATCH", "/api/v1/mailboxes/{}/messages/{}/flags", gw_api_message_flags, GW_ROUTE_WORKER,
      "message_flags" },
    { "POST", "/api/v1/mailboxes/{}/messages/{}/move", gw_api_message_move, GW_ROUTE_WORKER,
      "message_move" },
    { "DELETE", "/api/v1/mailboxes/{}/messages/{}", gw_api_message_delete, GW_ROUTE_WORKER,
      "message_delete" },
    { "POST", "/api/v1/messages/send", gw_api_send, GW_ROUTE_WORKER, "messages_send" },
    { "GET", "/api/v1/openapi.json", gw_api_openapi, 0, "openapi" },
    { "GET", "/.well-known/jmap", gw_jmap_session, GW_ROUTE_WORKER, "jmap_session" },
    { "GET", "/jmap/session", gw_jmap_session, GW_ROUTE_WORKER, "jmap_session" },
    { "POST", "/jmap/api", gw_jmap_api, GW_ROUTE_WORKER, "jmap_api" },
    { "GET", "/api/v1/events", gw_api_events, GW_ROUTE_WORKER | GW_ROUTE_STREAM, "events" },
    { "GET", "/jmap/eventsource", gw_jmap_eventsource, GW_ROUTE_WORKER | GW_ROUTE_STREAM,
      "jmap_eventsource" },
    { "GET", "/jmap/download/{}/{}/{}", gw_jmap_download, GW_ROUTE_WORKER, "jmap_download" },
    { "POST", "/jmap/upload/{}", gw_jmap_upload, GW_ROUTE_WORKER | GW_ROUTE_BODY_SINK,
      "jmap_upload" },
    /* the web client; last, so every API path above wins */
    { "GET", "/", gw_static_index, 0, "web" },
    { "GET", "/{}", gw_static_file, 0, "web" },
};

const size_t gw_routes_count = sizeof(gw_routes) / sizeof(gw_routes[0]);
