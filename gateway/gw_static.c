/* gw_static.c - in-memory static files for the web client, with the
   security headers every page of it is served with. */
#include "gateway/gw_static.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cm_crypto.h"
#include "common/cm_b64.h"
#include "gateway/gw_req.h"

#define MAX_FILES 256
#define MAX_TOTAL (16u * 1024 * 1024)
#define VENDOR_DIR "vendor"

/* The web client's policy. Scripts only from this origin (no inline, no
   eval). Styles allow 'unsafe-inline' and images any http(s) source because
   a message is shown in a sandboxed srcdoc iframe, which inherits this
   policy: its own, stricter <meta> policy (web/reader.js) blocks remote
   images until the user allows them, and needs the message's inline styles. */
static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data: https: http:; font-src 'self' data:; connect-src 'self'; "
    "frame-src 'self' blob:; child-src 'self' blob:; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; manifest-src 'self'; frame-ancestors 'none'";

struct file {
    char *name;
    char *data;
    size_t len;
    const char *type;
    char etag[24];
};

static struct file files[MAX_FILES];
static size_t nfiles;

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static int read_file(const char *path, struct file *f, size_t *total, struct cm_err *err)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    unsigned char md[CM_SHA256_LEN];

    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        if (fp)
            fclose(fp);
        return cm_err_set(err, CM_ECONFIG, "web_root: cannot read %s", path);
    }
    if ((size_t)st.st_size > MAX_TOTAL - *total) {
        fclose(fp);
        return cm_err_set(err, CM_ECONFIG, "web_root: more than 16 MiB of files");
    }
    f->len = (size_t)st.st_size;
    f->data = malloc(f->len + 1);
    if (f->data == NULL || fread(f->data, 1, f->len, fp) != f->len) {
        fclose(fp);
        return cm_err_set(err, CM_ECONFIG, "web_root: cannot read %s", path);
    }
    fclose(fp);
    *total += f->len;
    cm_sha256(f->data, f->len, md);
    f->etag[0] = '"';
    cm_b64url_encode(md, 12, f->etag + 1);
    strcat(f->etag, "\"");
    return 0;
}

/* Load the regular files of dir; prefix (NULL or "vendor") is put in front
   of their names. Sub-folders are loaded only for prefix NULL and only the
   one named VENDOR_DIR. */
static int load_dir(const char *dir, const char *prefix, size_t *total, struct cm_err *err)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int rc = 0;

    if (d == NULL)
        return cm_err_set(err, CM_ECONFIG, "web_root: cannot open folder %s", dir);
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char path[4096], name[512];
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && prefix == NULL && strcmp(de->d_name, VENDOR_DIR) == 0) {
            rc = load_dir(path, VENDOR_DIR, total, err);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (nfiles == MAX_FILES) {
            rc = cm_err_set(err, CM_ECONFIG, "web_root: more than %d files", MAX_FILES);
            break;
        }
        snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "", prefix ? "/" : "",
                 de->d_name);
        files[nfiles].name = strdup(name);
        files[nfiles].type = type_of(de->d_name);
        rc = read_file(path, &files[nfiles], total, err);
        nfiles++;
    }
    closedir(d);
    return rc;
}

int gw_static_load(const char *web_root, struct cm_err *err)
{
    size_t total = 0;
    int rc;

    if (web_root == NULL)
        return 0;
    rc = load_dir(web_root, NULL, &total, err);
    if (rc < 0)
        gw_static_free();
    return rc;
}

void gw_static_free(void)
{
    for (size_t i = 0; i < nfiles; i++) {
        free(files[i].name);
        free(files[i].data);
    }
    memset(files, 0, sizeof(files));
    nfiles = 0;
}

static void serve(struct gw_req *req, const char *name)
{
    for (size_t i = 0; i < nfiles; i++) {
        struct file *f = &files[i];
        const char *inm = gw_req_header(req, GW_HDR_IF_NONE_MATCH);
        char *copy;

        if (strcmp(f->name, name) != 0)
            continue;
        gw_req_add_header(req, "ETag", f->etag);
        gw_req_add_header(req, "Content-Security-Policy", csp);
        gw_req_add_header(req, "Referrer-Policy", "no-referrer");
        gw_req_add_header(req, "X-Frame-Options", "DENY");
        gw_req_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
        gw_req_add_header(req, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
        if (inm != NULL && strcmp(inm, f->etag) == 0) {
            gw_req_reply_owned(req, 304, NULL, NULL, 0);
            return;
        }
        copy = malloc(f->len + 1);
        if (copy == NULL) {
            gw_req_reply_problem(req, 500, "out of memory");
            return;
        }
        memcpy(copy, f->data, f->len);
        gw_req_reply_owned(req, 200, f->type, copy, f->len);
        return;
    }
    gw_req_reply_problem(req, 404, "no such resource");
}

void gw_static_index(struct gw_req *req)
{
    serve(req, "index.html");
}

void gw_static_file(struct gw_req *req)
{
    serve(req, req->params[0]);
}

void gw_static_vendor(struct gw_req *req)
{
    char name[512];

    snprintf(name, sizeof(name), "%s/%s", VENDOR_DIR, req->params[0]);
    serve(req, name);
}
