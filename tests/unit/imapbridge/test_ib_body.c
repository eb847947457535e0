/* test_ib_body.c - bodyStructure, parseStructure (RFC 8621 4.1.4) and body
 * values, on BODYSTRUCTUREs a real Dovecot produced for fixtures/mime/. */
#include "imapbridge/ib_body.h"

#include "harness/th.h"
#include "mime_fixture.h"

#include <stdlib.h>
#include <string.h>

static struct fx shapes;

static const struct mailimap_body *shape(const char *name)
{
    int i = fx_find(&shapes, name);

    return i >= 0 ? shapes.bodies[i] : NULL;
}

/* "1,2.1,3": the partIds of a part list, for comparisons. */
static const char *ids(const json_t *list)
{
    static char buf[512];
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < json_array_size(list) && o < sizeof(buf) - 40; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(list, i), "partId"));

        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "," : "", id ? id : "null");
    }
    return buf;
}

/* The part with partId `id` anywhere in the tree (borrowed), or NULL. */
static json_t *find_part(json_t *p, const char *id)
{
    json_t *subs = json_object_get(p, "subParts");
    const char *pid = json_string_value(json_object_get(p, "partId"));
    size_t i;

    if (pid != NULL && strcmp(pid, id) == 0)
        return p;
    for (i = 0; i < json_array_size(subs); i++) {
        json_t *r = find_part(json_array_get(subs, i), id);

        if (r != NULL)
            return r;
    }
    return NULL;
}

static const char *str(json_t *part, const char *key)
{
    const char *s = json_string_value(json_object_get(part, key));

    return s ? s : "(null)";
}

static bool roundtrips(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_t *back = s ? json_loads(s, 0, NULL) : NULL;
    bool ok = back != NULL && json_equal(j, back);

    json_decref(back);
    free(s);
    return ok;
}

static void test_selection(void)
{
    static const struct {
        const char *name, *text, *html, *att;
        bool has;
    } rows[] = {
        /* RFC 8621 4.1.4's own example: A=1 B=2.1.1 C=2.1.2 D=2.1.3 E=2.2.1
           F=2.2.2 G=3 H=4 J=5 */
        {"01-rfc8621-example.eml", "1,2.1.1,2.1.2,2.1.3,3", "1,2.2.1,3", "2.1.2,2.2.2,4,5", true},
        {"02-alt-in-mixed.eml", "1.1", "1.2", "2", true},
        /* inline image in multipart/related: an attachment, but inline */
        {"03-related-inline-image.eml", "1", "2.1", "2.2", false},
        {"04-rfc822-attachment.eml", "1", "1", "2", true},
        {"05-single-html.eml", "1", "1", "", false},
        {"06-text-with-txt-attachment.eml", "1", "1", "2,3", true},
        {"09-plain-no-mime.eml", "1", "1", "", false},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *st = ib_body_structure_json(shape(rows[i].name), NULL), *t, *h, *a;
        bool has = !rows[i].has;

        th_assert_idx(st != NULL && roundtrips(st), i);
        th_assert_idx(ib_body_parts(st, &t, &h, &a, &has, NULL) == 0, i);
        th_assert_idx(strcmp(ids(t), rows[i].text) == 0, i);
        th_assert_idx(strcmp(ids(h), rows[i].html) == 0, i);
        th_assert_idx(strcmp(ids(a), rows[i].att) == 0, i);
        th_assert_idx(has == rows[i].has, i);
        json_decref(t);
        json_decref(h);
        json_decref(a);
        json_decref(st);
    }
}

static json_t *blob_cb(const char *part_id, void *ctx)
{
    return json_sprintf("%s-%s", (const char *)ctx, part_id);
}

/* The message's own header (section NULL) and part 1.1's MIME header. */
static const char *headers_cb(const char *section, size_t *len, void *ctx)
{
    static const char h[] = "Content-Type: text/plain\r\nX-Y: z\r\n\r\n";
    static const char top[] = "Subject: s\r\n\r\n";

    (void)ctx;
    if (section == NULL) {
        *len = sizeof(top) - 1;
        return top;
    }
    *len = sizeof(h) - 1;
    return strcmp(section, "1.1") == 0 ? h : NULL;
}

static void test_properties(void)
{
    struct ib_body_opts o = {blob_cb, "B", headers_cb, NULL};
    json_t *st = ib_body_structure_json(shape("02-alt-in-mixed.eml"), &o), *p;

    th_assert(st != NULL && roundtrips(st));
    th_assert(json_is_null(json_object_get(st, "partId")));
    th_assert(json_is_null(json_object_get(st, "blobId")));
    th_assert(strcmp(str(st, "type"), "multipart/mixed") == 0);
    th_assert(json_array_size(json_object_get(st, "subParts")) == 2);
    /* a multipart has headers too: the root's are the message's */
    th_assert(json_array_size(json_object_get(st, "headers")) == 1);
    th_assert(strcmp(str(json_array_get(json_object_get(st, "headers"), 0), "name"), "Subject") == 0);
    p = find_part(st, "2");
    th_assert(p != NULL && strcmp(str(p, "blobId"), "B-2") == 0);
    th_assert(strcmp(str(p, "type"), "application/pdf") == 0);
    th_assert(strcmp(str(p, "name"), "doc.pdf") == 0);
    th_assert(strcmp(str(p, "disposition"), "attachment") == 0);
    th_assert(json_is_null(json_object_get(p, "charset")));
    th_assert(json_integer_value(json_object_get(p, "size")) == 360); /* 494 base64 bytes */
    th_assert(json_is_null(json_object_get(p, "subParts")));
    th_assert(json_array_size(json_object_get(p, "headers")) == 0);
    p = find_part(st, "1.1");
    th_assert(p != NULL && strcmp(str(p, "charset"), "utf-8") == 0);
    th_assert(json_array_size(json_object_get(p, "headers")) == 2);
    th_assert(strcmp(str(json_array_get(json_object_get(p, "headers"), 1), "value"), " z") == 0);
    json_decref(st);

    st = ib_body_structure_json(shape("03-related-inline-image.eml"), NULL);
    p = find_part(st, "2.2");
    th_assert(p != NULL && strcmp(str(p, "cid"), "img1@x") == 0);
    th_assert(strcmp(str(p, "disposition"), "inline") == 0);
    th_assert(strcmp(str(p, "name"), "logo.png") == 0);
    th_assert(json_is_null(json_object_get(p, "blobId")));
    json_decref(st);

    st = ib_body_structure_json(shape("05-single-html.eml"), NULL);
    th_assert(st != NULL && strcmp(str(st, "partId"), "1") == 0);
    th_assert(strcmp(str(st, "charset"), "iso-8859-1") == 0);
    th_assert(strcmp(str(st, "type"), "text/html") == 0);
    json_decref(st);

    st = ib_body_structure_json(shape("09-plain-no-mime.eml"), NULL);
    th_assert(st != NULL && strcmp(str(st, "charset"), "us-ascii") == 0);
    th_assert(json_is_null(json_object_get(st, "disposition")));
    json_decref(st);

    st = ib_body_structure_json(shape("04-rfc822-attachment.eml"), NULL);
    p = find_part(st, "2");
    th_assert(p != NULL && strcmp(str(p, "type"), "message/rfc822") == 0);
    th_assert(json_is_null(json_object_get(p, "subParts"))); /* not expanded */
    json_decref(st);
}

static void test_names(void)
{
    json_t *st = ib_body_structure_json(shape("07-names.eml"), NULL), *p, *lang;

    th_assert(st != NULL && roundtrips(st));
    p = find_part(st, "1");
    lang = json_object_get(p, "language");
    th_assert(json_array_size(lang) == 2 &&
              strcmp(json_string_value(json_array_get(lang, 1)), "fr") == 0);
    th_assert(strcmp(str(p, "location"), "http://example.com/x") == 0);
    th_assert(strcmp(str(find_part(st, "2"), "name"), "na\xc3\xafve file.txt") == 0);
    th_assert(strcmp(str(find_part(st, "3"), "name"), "caf\xc3\xa9-part.txt") == 0);
    th_assert(strcmp(str(find_part(st, "4"), "name"), "r\xc3\xa9sum\xc3\xa9.pdf") == 0);
    json_decref(st);
}

static void test_fetch_list(void)
{
    static const struct {
        unsigned want;
        const char *ids;
    } rows[] = {
        {IB_BODY_WANT_TEXT, "1,2.1.1,2.1.3"},
        {IB_BODY_WANT_HTML, "1,2.2.1"},
        {IB_BODY_WANT_TEXT | IB_BODY_WANT_HTML, "1,2.1.1,2.1.3,2.2.1"},
        {IB_BODY_WANT_ALL, "1,2.1.1,2.1.3,2.2.1"},
        {0, ""},
    };
    struct ib_body_fetch *f = NULL;
    size_t i, k, n = 0;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char got[256] = "";

        th_assert_idx(
            ib_body_fetch_list(shape("01-rfc8621-example.eml"), rows[i].want, &f, &n, NULL) == 0,
            i);
        for (k = 0; k < n; k++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "",
                     f[k].part_id);
        th_assert_idx(strcmp(got, rows[i].ids) == 0, i);
        for (k = 0; k < n; k++)
            th_assert_idx(strcmp(f[k].encoding, "7bit") == 0 &&
                              strcmp(f[k].charset, "us-ascii") == 0 &&
                              strcmp(f[k].type, f[k].html ? "text/html" : "text/plain") == 0 &&
                              f[k].html == (strcmp(f[k].part_id, "2.2.1") == 0),
                          i);
        ib_body_fetch_free(&f, n);
        th_assert_idx(f == NULL, i);
    }
    th_assert(ib_body_fetch_list(shape("08-single-text-latin1-b64.eml"), IB_BODY_WANT_TEXT, &f, &n,
                                 NULL) == 0);
    th_assert(n == 1 && strcmp(f[0].part_id, "1") == 0 && strcmp(f[0].encoding, "base64") == 0 &&
              strcmp(f[0].charset, "iso-8859-1") == 0 && !f[0].html);
    ib_body_fetch_free(&f, n);
}

/* The leaf at a section path (ib_fetch_part's lookup), into message/rfc822. */
static void test_part_encoding(void)
{
    const struct mailimap_body *b64 = shape("08-single-text-latin1-b64.eml");
    const struct mailimap_body *fwd = shape("04-rfc822-attachment.eml");
    const char *e;

    th_assert((e = ib_body_part_encoding(b64, "1")) != NULL && strcmp(e, "base64") == 0);
    th_assert(ib_body_part_encoding(b64, "2") == NULL);
    th_assert(ib_body_part_encoding(NULL, "1") == NULL);
    th_assert((e = ib_body_part_encoding(fwd, "2")) != NULL && strcmp(e, "7bit") == 0);
    th_assert((e = ib_body_part_encoding(fwd, "2.1")) != NULL && strcmp(e, "7bit") == 0);
    th_assert(ib_body_part_encoding(fwd, "2.2") == NULL);
    th_assert(ib_body_part_encoding(fwd, "3") == NULL);
    th_assert(ib_body_part_encoding(fwd, "1.x") == NULL);
    th_assert(ib_body_part_encoding(fwd, "0") == NULL);
}

static void test_preview_fetch(void)
{
    static const struct {
        const char *name, *part;
        bool html;
    } rows[] = {
        {"01-rfc8621-example.eml", "1", false},
        {"02-alt-in-mixed.eml", "1.1", false},
        {"05-single-html.eml", "1", true},
        {"08-single-text-latin1-b64.eml", "1", false},
    };
    struct ib_body_fetch *f = NULL;
    struct fx img;
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        th_assert_idx(ib_body_preview_fetch(shape(rows[i].name), &f, NULL) == 0, i);
        th_assert_idx(f != NULL && strcmp(f->part_id, rows[i].part) == 0 && f->html == rows[i].html,
                      i);
        ib_body_fetch_free(&f, 1);
    }
    /* an image-only message has nothing to preview */
    th_assert(fx_parse_bodystructure(&img, "(\"image\" \"png\" NIL NIL NIL \"base64\" 8 NIL NIL "
                                           "NIL NIL)") == 0);
    th_assert(ib_body_preview_fetch(img.bodies[0], &f, NULL) == CM_ENOENT && f == NULL);
    fx_free(&img);
}

/* The body of fixture mime/<name> (after the first empty line), CRLF. */
static char *fixture_body(const char *name, size_t *len)
{
    char rel[128], *raw, *body, *o;
    size_t rlen = 0, i;

    snprintf(rel, sizeof(rel), "mime/%s", name);
    raw = fx_read(fx_path(rel), &rlen);
    body = raw ? strstr(raw, "\n\n") : NULL;
    if (body == NULL) {
        free(raw);
        return NULL;
    }
    body += 2;
    o = malloc(2 * strlen(body) + 1);
    for (i = 0; o != NULL && *body; body++) {
        if (*body == '\n')
            o[i++] = '\r';
        o[i++] = *body;
    }
    if (o != NULL)
        o[i] = '\0';
    *len = i;
    free(raw);
    return o;
}

static void test_values(void)
{
    static const struct {
        const char *data, *enc, *cs;
        size_t max;
        bool partial;
        const char *value;
        bool problem, truncated;
    } rows[] = {
        {"caf=C3=A9\r\nline=\r\n2\r\n", "quoted-printable", "utf-8", 0, false,
         "caf\xc3\xa9\nline2\n", false, false},
        {"a\xc3\xa9\xe2\x82\xac", "8bit", "utf-8", 4, false, "a\xc3\xa9", false, true},
        {"a\xc3\xa9\xe2\x82\xac", "8bit", "utf-8", 6, false, "a\xc3\xa9\xe2\x82\xac", false, false},
        {"ab\xc3", "8bit", "utf-8", 0, true, "ab", false, true},
        {"ab\xc3", "8bit", "utf-8", 0, false, "ab\xef\xbf\xbd", true, false},
        {"caf\xe9", "8bit", "x-nonsense", 0, false, "caf\xc3\xa9", true, false},
        {"abc", "x-custom", "us-ascii", 0, false, "abc", true, false},
        {"\xf0\xd2\xc9", "8bit", "koi8-r", 0, false, "\xd0\x9f\xd1\x80\xd0\xb8", false, false},
        {"x\r\r\ny", "7bit", "us-ascii", 0, false, "x\r\ny", false, false},
    };
    char *body;
    size_t i, len = 0;
    json_t *v;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        v = NULL;
        th_assert_idx(ib_body_value_json(rows[i].data, strlen(rows[i].data), rows[i].enc,
                                         rows[i].cs, rows[i].max, rows[i].partial, &v, NULL) == 0,
                      i);
        th_assert_idx(strcmp(json_string_value(json_object_get(v, "value")), rows[i].value) == 0,
                      i);
        th_assert_idx(json_is_true(json_object_get(v, "isEncodingProblem")) == rows[i].problem, i);
        th_assert_idx(json_is_true(json_object_get(v, "isTruncated")) == rows[i].truncated, i);
        json_decref(v);
    }
    body = fixture_body("08-single-text-latin1-b64.eml", &len);
    th_assert(body != NULL);
    th_assert(ib_body_value_json(body, len, "base64", "iso-8859-1", 0, false, &v, NULL) == 0);
    th_assert(strcmp(json_string_value(json_object_get(v, "value")),
                     "Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
                     "e\nsecond line\n") == 0);
    json_decref(v);
    /* "Cr" + 2-byte "è": a 3-byte budget must not split it */
    th_assert(ib_body_value_json(body, len, "base64", "iso-8859-1", 3, false, &v, NULL) == 0);
    th_assert(strcmp(json_string_value(json_object_get(v, "value")), "Cr") == 0);
    th_assert(json_is_true(json_object_get(v, "isTruncated")));
    json_decref(v);
    free(body);
}

/* Upper-case tokens as some servers send them; odd but legal values. */
static void test_synthetic(void)
{
    struct fx f;
    json_t *st;
    struct ib_body_fetch *fl = NULL;
    size_t n = 0;

    th_assert(fx_parse_bodystructure(&f, "(\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") \" <ID@X> \" "
                                         "NIL \"QUOTED-PRINTABLE\" 10 1 NIL (\"INLINE\" NIL) "
                                         "\"DE\" NIL)") == 0);
    st = ib_body_structure_json(f.bodies[0], NULL);
    th_assert(strcmp(str(st, "type"), "text/html") == 0);
    th_assert(strcmp(str(st, "charset"), "utf-8") == 0);
    th_assert(strcmp(str(st, "cid"), "ID@X") == 0);
    th_assert(strcmp(str(st, "disposition"), "inline") == 0);
    th_assert(strcmp(json_string_value(json_array_get(json_object_get(st, "language"), 0)), "DE") ==
              0);
    json_decref(st);
    th_assert(ib_body_fetch_list(f.bodies[0], IB_BODY_WANT_HTML, &fl, &n, NULL) == 0 && n == 1);
    th_assert(n == 1 && strcmp(fl[0].encoding, "quoted-printable") == 0 && fl[0].html);
    ib_body_fetch_free(&fl, n);
    fx_free(&f);

    /* unknown transfer encoding and 8-bit parameter bytes */
    th_assert(fx_parse_bodystructure(&f,
                                     "(\"application\" \"x-thing\" (\"name\" {6}\r\nr\xe9sum\xe9) "
                                     "NIL NIL \"X-UUENCODE\" 100 NIL NIL NIL NIL)") == 0);
    st = ib_body_structure_json(f.bodies[0], NULL);
    th_assert(st != NULL && strcmp(str(st, "name"), "r\xc3\xa9sum\xc3\xa9") == 0);
    th_assert(json_integer_value(json_object_get(st, "size")) == 100);
    th_assert(json_is_null(json_object_get(st, "charset")));
    json_decref(st);
    fx_free(&f);
}

/* Deep nesting: the tree is cut at a depth limit, never a crash. */
static void test_deep(void)
{
    char bs[4096] = "";
    struct fx f;
    json_t *st, *t, *h, *a;
    bool has;
    int i;

    for (i = 0; i < 80; i++)
        strcat(bs, "(");
    strcat(bs, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL)");
    for (i = 0; i < 79; i++)
        strcat(bs, " \"mixed\")");
    th_assert(fx_parse_bodystructure(&f, bs) == 0);
    if (f.bodies[0] == NULL)
        return;
    st = ib_body_structure_json(f.bodies[0], NULL);
    th_assert(st != NULL);
    th_assert(ib_body_parts(st, &t, &h, &a, &has, NULL) == 0);
    /* the leaf below the limit became an opaque attachment */
    th_assert(json_array_size(t) == 0 && json_array_size(a) == 1);
    th_assert(strcmp(str(json_array_get(a, 0), "type"), "application/octet-stream") == 0);
    json_decref(t);
    json_decref(h);
    json_decref(a);
    json_decref(st);
    fx_free(&f);
}

int main(void)
{
    if (fx_load(&shapes, "shapes") != 0 || shapes.n != 9) {
        fprintf(stderr, "cannot load fixtures/shapes.*\n");
        return 1;
    }
    th_run("selection", test_selection);
    th_run("properties", test_properties);
    th_run("names", test_names);
    th_run("fetch_list", test_fetch_list);
    th_run("values", test_values);
    th_run("preview_fetch", test_preview_fetch);
    th_run("part_encoding", test_part_encoding);
    th_run("synthetic", test_synthetic);
    th_run("deep", test_deep);
    fx_free(&shapes);
    return th_end();
}
