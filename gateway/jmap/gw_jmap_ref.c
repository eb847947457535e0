/* gw_jmap_ref.c - JSON Pointer with '*' and ResultReference resolution
 * (RFC 8620 §3.7). Pure: no I/O. */
#include <stdlib.h>
#include <string.h>

#include "gateway/jmap/gw_jmap.h"

/* Next reference token of path (after a '/') into a new string with ~1 and
   ~0 unescaped; *rest_r points at the following '/' or the end. NULL on a
   bad escape. */
static char *next_token(const char *path, const char **rest_r)
{
    size_t n = strcspn(path, "/");
    char *tok = malloc(n + 1);
    size_t o = 0;

    if (tok == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (path[i] != '~') {
            tok[o++] = path[i];
        } else if (i + 1 < n && (path[i + 1] == '0' || path[i + 1] == '1')) {
            tok[o++] = path[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            free(tok);
            return NULL;
        }
    }
    tok[o] = '\0';
    *rest_r = path + n;
    return tok;
}

static bool parse_index(const char *tok, size_t *idx_r)
{
    char *end;
    unsigned long v;

    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0') || tok[0] < '0' || tok[0] > '9')
        return false;
    v = strtoul(tok, &end, 10);
    if (*end != '\0')
        return false;
    *idx_r = v;
    return true;
}

/* Apply rest to every element of arr, flattening array results. */
static json_t *map_star(json_t *arr, const char *rest)
{
    json_t *out = json_array();
    size_t i;
    json_t *el;

    json_array_foreach(arr, i, el) {
        json_t *r = gw_jmap_pointer(el, rest);

        if (r == NULL) {
            json_decref(out);
            return NULL;
        }
        if (json_is_array(r))
            json_array_extend(out, r);
        else
            json_array_append(out, r);
        json_decref(r);
    }
    return out;
}

json_t *gw_jmap_pointer(json_t *value, const char *path)
{
    const char *rest;
    json_t *child = NULL, *out;
    char *tok;
    size_t idx;

    if (value == NULL)
        return NULL;
    if (path[0] == '\0')
        return json_incref(value);
    if (path[0] != '/')
        return NULL;
    tok = next_token(path + 1, &rest);
    if (tok == NULL)
        return NULL;
    if (json_is_array(value) && strcmp(tok, "*") == 0) {
        free(tok);
        return map_star(value, rest);
    }
    if (json_is_array(value) && parse_index(tok, &idx))
        child = json_array_get(value, idx);
    else if (json_is_object(value))
        child = json_object_get(value, tok);
    free(tok);
    out = child ? gw_jmap_pointer(child, rest) : NULL;
    return out;
}

/* The arguments of the response to call id with the given name. */
static json_t *find_response(json_t *responses, const char *id, const char *name,
                             const char **why)
{
    size_t i;
    json_t *r;

    json_array_foreach(responses, i, r) {
        if (strcmp(json_string_value(json_array_get(r, 2)), id) != 0)
            continue;
        if (strcmp(json_string_value(json_array_get(r, 0)), name) != 0) {
            *why = "the referenced call's response has another name";
            return NULL;
        }
        return json_array_get(r, 1);
    }
    *why = "no earlier call has that id";
    return NULL;
}

static json_t *resolve_one(json_t *ref, json_t *responses, const char **why)
{
    const char *of = NULL, *name = NULL, *path = NULL;
    json_t *args, *out;

    if (json_unpack(ref, "{s:s,s:s,s:s}", "resultOf", &of, "name", &name, "path", &path) != 0 ||
        json_object_size(ref) != 3) {
        *why = "a ResultReference needs exactly resultOf, name and path";
        return NULL;
    }
    args = find_response(responses, of, name, why);
    if (args == NULL)
        return NULL;
    out = gw_jmap_pointer(args, path);
    if (out == NULL)
        *why = "the path does not resolve in the referenced response";
    return out;
}

int gw_jmap_resolve_refs(json_t *args, json_t *responses, const char **type_r,
                         const char **why)
{
    const char *key;
    json_t *val, *refs = json_array();
    size_t i;
    int rc = 0;

    json_object_foreach(args, key, val) {
        if (key[0] == '#')
            json_array_append_new(refs, json_string(key));
    }
    json_array_foreach(refs, i, val) {
        const char *hkey = json_string_value(val);
        json_t *resolved;

        if (json_object_get(args, hkey + 1) != NULL) {
            *type_r = "invalidArguments";
            *why = "an argument is given both directly and as a result reference";
            rc = -1;
            break;
        }
        resolved = resolve_one(json_object_get(args, hkey), responses, why);
        if (resolved == NULL) {
            *type_r = "invalidResultReference";
            rc = -1;
            break;
        }
        json_object_set_new(args, hkey + 1, resolved);
        json_object_del(args, hkey);
    }
    json_decref(refs);
    return rc;
}
