/* gw_error.c - CM_E* -> HTTP status and RFC 7807 problem JSON. */
#include "gateway/gw_error.h"

struct gw_error_map gw_error_map(enum cm_code code)
{
    struct gw_error_map m = { 500, "Internal Server Error", 0 };

    switch (code) {
    case CM_OK: m = (struct gw_error_map){ 200, "OK", 0 }; break;
    case CM_EINVAL: m = (struct gw_error_map){ 400, "Bad Request", 0 }; break;
    case CM_EAUTH: m = (struct gw_error_map){ 401, "Unauthorized", 0 }; break;
    case CM_EPERM: m = (struct gw_error_map){ 403, "Forbidden", 0 }; break;
    case CM_ENOENT: m = (struct gw_error_map){ 404, "Not Found", 0 }; break;
    case CM_ELIMIT: m = (struct gw_error_map){ 413, "Content Too Large", 0 }; break;
    case CM_EUPSTREAM: m = (struct gw_error_map){ 502, "Bad Gateway", 0 }; break;
    case CM_ETIMEOUT: m = (struct gw_error_map){ 504, "Gateway Timeout", 0 }; break;
    case CM_EAGAIN: m = (struct gw_error_map){ 503, "Service Unavailable", 1 }; break;
    case CM_EUNAVAIL: m = (struct gw_error_map){ 503, "Service Unavailable", 5 }; break;
    case CM_ETOOMANY: m = (struct gw_error_map){ 429, "Too Many Requests", 1 }; break;
    case CM_ENOMEM:
    case CM_ECONFIG:
    case CM_EINTERNAL: break;
    }
    return m;
}

const char *gw_error_jmap_type(enum cm_code code)
{
    switch (code) {
    case CM_EINVAL: return "invalidArguments";
    case CM_ENOENT: return "invalidArguments";
    case CM_EPERM: return "forbidden";
    case CM_ELIMIT: return "requestTooLarge";
    case CM_EAGAIN:
    case CM_EUNAVAIL:
    case CM_ETIMEOUT:
    case CM_ETOOMANY: return "serverUnavailable";
    default: return "serverFail";
    }
}

const char *gw_error_status_title(unsigned int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
    }
}

json_t *gw_error_problem(unsigned int status, const char *title, const char *detail)
{
    return json_pack("{s:s,s:s,s:i,s:s}", "type", "about:blank", "title",
                     title ? title : gw_error_status_title(status), "status", (int)status,
                     "detail", detail ? detail : "");
}
