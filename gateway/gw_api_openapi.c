/* gw_api_openapi.c - GET /api/v1/openapi.json: the OpenAPI 3.1 description
 * of the REST routes, gateway/openapi.json embedded at build time
 * (CMakeLists.txt). tests/integration/test_rest_openapi.py checks that it
 * documents every /api/v1/ route of gw_routes.c and nothing else. */
#include <stddef.h>

#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"

extern const unsigned char gw_openapi_json[]; /* NUL-terminated */
extern const size_t gw_openapi_json_len;

void gw_api_openapi(struct gw_req *req)
{
    gw_req_reply_text(req, 200, "application/json", (const char *)gw_openapi_json);
}
