/* gw_route.c - route matching. */
#include "gateway/gw_route.h"

#include <stdbool.h>
#include <string.h>

#include "gateway/gw_req.h"

int gw_route_split_path(struct gw_req *req)
{
    const char *p = req->path;

    if (p[0] != '/')
        return -1;
    p++;
    while (*p != '\0') {
        size_t n = strcspn(p, "/");

        if (req->nsegments >= GW_REQ_MAX_SEGMENTS)
            return -1;
        if (n == 0 && p[n] != '\0')
            return -1; /* "//" */
        if (n == 0)
            break;
        req->segments[req->nsegments] = gw_percent_decode(p, n, false);
        if (req->segments[req->nsegments] == NULL)
            return -1;
        req->nsegments++;
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

/* Does pattern match the request's segments? Fills params when it does. */
static bool path_matches(const char *pattern, struct gw_req *req, bool capture)
{
    const char *p = pattern + 1;
    size_t seg = 0, nparams = 0;

    while (*p != '\0') {
        size_t n = strcspn(p, "/");

        if (seg >= req->nsegments)
            return false;
        if (n == 2 && p[0] == '{' && p[1] == '}') {
            if (capture && nparams < sizeof(req->params) / sizeof(req->params[0]))
                req->params[nparams++] = req->segments[seg];
        } else if (strlen(req->segments[seg]) != n || strncmp(p, req->segments[seg], n) != 0) {
            return false;
        }
        seg++;
        p += n;
        if (*p == '/')
            p++;
    }
    return seg == req->nsegments;
}

static void append_allow(char *allow, size_t cap, const char *method)
{
    size_t len = strlen(allow);

    if (strstr(allow, method) != NULL)
        return;
    if (len + strlen(method) + 3 > cap)
        return;
    if (len > 0)
        strcat(allow, ", ");
    strcat(allow, method);
}

enum gw_route_result gw_route_match(const struct gw_route *table, size_t n, struct gw_req *req,
                                    char *allow, size_t cap)
{
    bool path_found = false;
    bool head = strcmp(req->method, "HEAD") == 0;

    if (cap > 0)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!path_matches(table[i].pattern, req, false))
            continue;
        path_found = true;
        append_allow(allow, cap, table[i].method);
        if (strcmp(table[i].method, req->method) == 0 ||
            (head && strcmp(table[i].method, "GET") == 0)) {
            path_matches(table[i].pattern, req, true);
            req->route = &table[i];
            return GW_ROUTE_FOUND;
        }
    }
    return path_found ? GW_ROUTE_BAD_METHOD : GW_ROUTE_NOT_FOUND;
}
