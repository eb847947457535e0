/* test_gw_jemail_mime.c - the pure JMAP Email create -> MIME translation
 * (gw_jemail_mime.c) and the tree builder it uses (gw_mime_build_tree):
 * encodings chosen per part, line lengths, encoded words, RFC 2231 names,
 * server-supplied Date and Message-ID, the SetErrors of §4.6, dates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_mime_build.h"
#include "gateway/jmap/gw_jemail_mime.h"
#include "harness/th.h"

/* Blob "B1" is 300 bytes 0..255..; anything else is not found. */
static int fake_blob(void *ctx, const char *id, char **data_r, size_t *len_r, struct cm_err *err)
{
    (void)ctx;
    if (strcmp(id, "B1") != 0)
        return cm_err_set(err, CM_ENOENT, "no such blob");
    *data_r = malloc(300);
    for (int i = 0; i < 300; i++)
        (*data_r)[i] = (char)i;
    *len_r = 300;
    return 0;
}

static const struct gw_jemail_env env = {
    .domain = "example.org", .now = 86400, .max_bytes = 1 << 20, .blob = fake_blob};

/* Build json; the message, or NULL with *set_err_r. */
static char *build(const char *json, json_t **set_err_r)
{
    json_error_t je;
    json_t *o = json_loads(json, 0, &je);
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    size_t len = 0;

    *set_err_r = NULL;
    if (o == NULL || gw_jemail_build(o, &env, &out, &len, set_err_r, &err) < 0) {
        fprintf(stderr, "build failed: %s %s\n", je.text, err.msg);
        json_decref(o);
        return NULL;
    }
    json_decref(o);
    if (out != NULL && strlen(out) != len)
        th_assert(!"length mismatch");
    return out;
}

static bool lines_within(const char *s, size_t max)
{
    const char *p = s;

    while (*p) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);

        if (n > max || memchr(p, '\n', n) != NULL)
            return false;
        p += n + (e ? 2 : 0);
    }
    return true;
}

#define BOX "\"mailboxIds\":{\"m\":true},"
#define FROM "\"from\":[{\"name\":null,\"email\":\"a@example.org\"}],"

static void test_shapes(void)
{
    static const struct {
        const char *json;
        const char *must[4]; /* substrings the message holds */
        size_t max_line;
    } t[] = {
        {"{" BOX FROM "\"subject\":\"hi\",\"textBody\":[{\"partId\":\"1\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"Hello\\nthere\"}}}",
         {"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit",
          "\r\n\r\nHello\r\nthere", "Subject: hi\r\n", "Message-ID: <"},
         78},
        {"{" BOX FROM "\"subject\":\"Grüße\",\"textBody\":[{\"partId\":\"1\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"Grüße aus Köln, mostly ascii text here\"}}}",
         {"quoted-printable", "Gr=C3=BC=C3=9Fe", "Subject: =?UTF-8?B?", NULL},
         78},
        {"{" BOX FROM "\"textBody\":[{\"partId\":\"1\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"東京東京東京東京東京\"}}}",
         {"Content-Transfer-Encoding: base64", NULL},
         78},
        {"{" BOX FROM "\"textBody\":[{\"partId\":\"1\"}],\"htmlBody\":[{\"partId\":\"2\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"t\"},\"2\":{\"value\":\"<b>h</b>\"}}}",
         {"multipart/alternative", "text/html; charset=utf-8", NULL},
         78},
        {"{" BOX FROM "\"attachments\":[{\"blobId\":\"B1\",\"type\":\"application/pdf\","
         "\"name\":\"Übersicht.pdf\",\"disposition\":\"attachment\"}]}",
         {"multipart/mixed", "filename*=utf-8''%C3%9Cbersicht.pdf",
          "Content-Transfer-Encoding: base64", NULL},
         78},
        {"{" BOX FROM "\"htmlBody\":[{\"partId\":\"h\"}],\"attachments\":[{\"blobId\":\"B1\","
         "\"type\":\"image/png\",\"cid\":\"c@x\",\"disposition\":\"inline\"}],"
         "\"bodyValues\":{\"h\":{\"value\":\"<img src=cid:c@x>\"}}}",
         {"multipart/related", "Content-ID: <c@x>", "Content-Disposition: inline", NULL},
         78},
        {"{" BOX FROM "\"sentAt\":\"2024-03-05T10:11:12+02:00\",\"messageId\":[\"x@y\"],"
         "\"inReplyTo\":[\"p@y\"],\"references\":[\"r@y\",\"p@y\"],"
         "\"header:X-Raw:asRaw\":\" keep  this\",\"header:X-L:asURLs\":[\"mailto:l@x\"]}",
         {"Date: Tue, 05 Mar 2024 10:11:12 +0200\r\n", "Message-ID: <x@y>\r\n",
          "References: <r@y> <p@y>\r\n", "X-Raw: keep  this\r\n"},
         78},
        {"{" BOX "\"textBody\":[{\"partId\":\"1\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"" /* 1200 x in one line: QP soft breaks */
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "\"}}}",
         {"quoted-printable", "=\r\n", "Date: Fri, 02 Jan 1970 00:00:00 +0000", NULL},
         76},
        {"{" BOX "\"references\":[\"aaaaaaaaaaaaaaaaaaaa.1@example.org\","
         "\"aaaaaaaaaaaaaaaaaaaa.2@example.org\",\"aaaaaaaaaaaaaaaaaaaa.3@example.org\","
         "\"aaaaaaaaaaaaaaaaaaaa.4@example.org\",\"aaaaaaaaaaaaaaaaaaaa.5@example.org\"]}",
         {"References: <aaaaaaaaaaaaaaaaaaaa.1@example.org>\r\n <aaaaaaaaaaaaaaaaaaaa.2@", NULL},
         78},
        {"{\"mailboxIds\":{\"m\":true}}", {"Content-Type: text/plain; charset=utf-8", NULL}, 78},
        /* asGroupedAddresses: named groups close with ";", a null-named
           group's addresses stand alone, an empty group is "Name:;" */
        {"{" BOX FROM "\"header:To:asGroupedAddresses\":[{\"name\":\"Team\",\"addresses\":"
         "[{\"name\":\"B\",\"email\":\"b@x.org\"},{\"email\":\"c@x.org\"}]},"
         "{\"name\":null,\"addresses\":[{\"email\":\"d@x.org\"}]},"
         "{\"name\":\"Nobody\",\"addresses\":[]}]}",
         {"To: \"Team\": \"B\" <b@x.org>,\r\n <c@x.org>;,\r\n <d@x.org>,\r\n \"Nobody\":;\r\n",
          NULL},
         78},
        {"{" BOX FROM "\"header:Cc:asGroupedAddresses\":[{\"name\":\"Grüße\",\"addresses\":"
         "[{\"email\":\"b@x.org\"}]}]}",
         {"Cc: =?UTF-8?B?R3LDvMOfZQ==?=: <b@x.org>;\r\n", NULL},
         78},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *se = NULL;
        char *m = build(t[i].json, &se);

        th_assert_idx(m != NULL && se == NULL, i);
        for (size_t k = 0; m != NULL && k < 4 && t[i].must[k]; k++)
            th_assert_idx(strstr(m, t[i].must[k]) != NULL, i * 10 + k);
        th_assert_idx(m == NULL || strstr(m, "MIME-Version: 1.0\r\n") != NULL, i);
        th_assert_idx(m == NULL || lines_within(m, t[i].max_line), i);
        free(m);
        json_decref(se);
    }
}

#define X98                                                                                        \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxx"
#define LINE1000 X98 X98 X98 X98 X98 X98 X98 X98 X98 X98 X98 /* 1078 bytes */

static void test_set_errors(void)
{
    static const struct {
        const char *json, *type, *prop;
    } t[] = {
        {"{" BOX "\"bodyStructure\":{\"partId\":\"1\"},\"textBody\":[],"
         "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
         "invalidProperties", "bodyStructure"},
        {"{" BOX FROM "\"header:from:asAddresses\":[{\"email\":\"b@x.org\"}]}", "invalidProperties",
         "header:from:asAddresses"},
        {"{" BOX "\"header:Content-Type\":\" text/plain\"}", "invalidProperties",
         "header:Content-Type"},
        {"{" BOX "\"bodyStructure\":{\"partId\":\"1\",\"blobId\":\"B1\"},"
         "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
         "invalidProperties", "bodyStructure/blobId"},
        {"{" BOX "\"textBody\":[{\"partId\":\"1\",\"type\":\"text/html\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
         "invalidProperties", "textBody/0/type"},
        {"{" BOX "\"htmlBody\":[{\"partId\":\"1\",\"type\":\"text/plain\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
         "invalidProperties", "htmlBody/0/type"},
        {"{" BOX "\"textBody\":[{\"partId\":\"1\"}],\"bodyValues\":{\"1\":{\"value\":\"x\"},"
         "\"2\":{\"value\":\"y\"}}}",
         "invalidProperties", "bodyValues/2"},
        {"{" BOX "\"textBody\":[{\"partId\":\"1\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"x\",\"isTruncated\":true}}}",
         "invalidProperties", "bodyValues/1"},
        {"{" BOX "\"textBody\":[{\"partId\":\"1\"}],"
         "\"bodyValues\":{\"1\":{\"value\":\"x\",\"isEncodingProblem\":true}}}",
         "invalidProperties", "bodyValues/1"},
        {"{\"mailboxIds\":{\"a\":true,\"b\":true}}", "tooManyMailboxes", NULL},
        {"{\"mailboxIds\":{}}", "invalidProperties", "mailboxIds"},
        {"{" BOX "\"id\":\"x\"}", "invalidProperties", "id"},
        {"{" BOX "\"threadId\":\"x\"}", "invalidProperties", "threadId"},
        {"{" BOX "\"preview\":\"x\"}", "invalidProperties", "preview"},
        {"{" BOX "\"attachments\":[{\"blobId\":\"nope\"}]}", "blobNotFound", NULL},
        {"{" BOX "\"sentAt\":\"2024-13-01T00:00:00Z\"}", "invalidProperties", "sentAt"},
        {"{" BOX "\"receivedAt\":\"2024-01-01T00:00:00+01:00\"}", "invalidProperties",
         "receivedAt"},
        {"{" BOX "\"header:X-Long:asRaw\":\" " LINE1000 "\"}", "invalidProperties", NULL},
        {"{" BOX "\"header:To:asGroupedAddresses\":[{\"name\":\"G\"}]}", "invalidProperties",
         "header:To:asGroupedAddresses"},
        {"{" BOX "\"header:To:asGroupedAddresses\":[{\"name\":null,\"addresses\":[]}]}",
         "invalidProperties", "header:To:asGroupedAddresses"},
        {"{" BOX "\"header:To:asGroupedAddresses\":[{\"name\":\"G\",\"addresses\":"
         "[{\"email\":\"not an address\"}]}]}",
         "invalidProperties", "header:To:asGroupedAddresses"},
        {"{" BOX "\"header:To:asGroupedAddresses\":[{\"name\":\"G\\r\\nBcc: x@y.z\","
         "\"addresses\":[]}]}",
         "invalidProperties", NULL},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *se = NULL, *props;
        char *m = build(t[i].json, &se);
        size_t k;
        json_t *v;
        bool found = t[i].prop == NULL;

        th_assert_idx(m == NULL && se != NULL, i);
        th_assert_idx(se && strcmp(json_string_value(json_object_get(se, "type")), t[i].type) == 0,
                      i);
        props = json_object_get(se, "properties");
        json_array_foreach(props, k, v)
        {
            found = found || strcmp(json_string_value(v), t[i].prop) == 0;
        }
        th_assert_idx(found, i);
        free(m);
        json_decref(se);
    }
}

/* With labels (Gmail) several mailboxIds build a message: the gateway
   adds the other labels after the APPEND. Their values are still checked. */
static void test_labels_boxes(void)
{
    struct gw_jemail_env lenv = env;
    json_t *two = json_loads("{\"mailboxIds\":{\"a\":true,\"b\":true}}", 0, NULL);
    json_t *bad = json_loads("{\"mailboxIds\":{\"a\":true,\"b\":false}}", 0, NULL);
    json_t *se = NULL;
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    size_t len = 0;

    lenv.labels = true;
    th_assert(gw_jemail_build(two, &lenv, &out, &len, &se, &err) == 0 && se == NULL && out != NULL);
    free(out);
    out = NULL;
    th_assert(gw_jemail_build(bad, &lenv, &out, &len, &se, &err) == 0 && se != NULL && out == NULL);
    th_assert(se && strcmp(json_string_value(json_object_get(se, "type")), "invalidProperties") == 0);
    json_decref(se);
    json_decref(two);
    json_decref(bad);
}

static void test_dates(void)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"2024-03-05T10:11:12+02:00", "Tue, 05 Mar 2024 10:11:12 +0200"},
        {"2024-03-05T10:11:12Z", "Tue, 05 Mar 2024 10:11:12 +0000"},
        {"2000-02-29T23:59:59.123-05:30", "Tue, 29 Feb 2000 23:59:59 -0530"},
        {"2024-03-05 10:11:12Z", NULL},
        {"2024-03-05T10:11:12", NULL},
        {"2024-03-05T10:11:12+0200", NULL},
    };
    char d[64];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int rc = gw_jemail_date(t[i].in, d, sizeof(d));

        th_assert_idx(t[i].out ? rc == 0 && strcmp(d, t[i].out) == 0 : rc < 0, i);
    }
    th_assert(gw_jemail_utcdate("1970-01-02T00:00:00Z") == 86400);
    th_assert(gw_jemail_utcdate("1970-01-02T00:00:00+00:00") == -1);
}

static void test_tree_refusals(void)
{
    static const struct gw_mime_header bad_raw = {"X-A", GW_MIME_H_RAW, " a\r\nb", NULL, 0};
    static const struct gw_mime_header bad_name = {"X A", GW_MIME_H_TEXT, "a", NULL, 0};
    static const struct gw_mime_header text_lf = {"Subject", GW_MIME_H_TEXT, "a\nb", NULL, 0};
    static const struct gw_mime_header folded = {"X-F", GW_MIME_H_RAW, " a\r\n b", NULL, 0};
    const struct gw_mime_part leaf = {
        .type = "text/plain", .data = (const unsigned char *)"x", .len = 1};
    const struct gw_mime_part empty_multi = {.type = "multipart/mixed"};
    const struct gw_mime_part bad_cid = {.type = "image/png", .cid = "<a>"};
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    size_t len;

    th_assert(gw_mime_build_tree(&bad_raw, 1, &leaf, 0, &out, &len, &err) == CM_EINVAL);
    th_assert(gw_mime_build_tree(&bad_name, 1, &leaf, 0, &out, &len, &err) == CM_EINVAL);
    th_assert(gw_mime_build_tree(&text_lf, 1, &leaf, 0, &out, &len, &err) == CM_EINVAL);
    th_assert(gw_mime_build_tree(NULL, 0, &empty_multi, 0, &out, &len, &err) == CM_EINVAL);
    th_assert(gw_mime_build_tree(NULL, 0, &bad_cid, 0, &out, &len, &err) == CM_EINVAL);
    th_assert(gw_mime_build_tree(&folded, 1, &leaf, 0, &out, &len, &err) == 0 && out != NULL &&
              strstr(out, "X-F: a\r\n b\r\n") != NULL);
    free(out);
    out = NULL;
    th_assert(gw_mime_build_tree(NULL, 0, &leaf, 10, &out, &len, &err) == CM_ELIMIT);
}

int main(void)
{
    th_run("shapes", test_shapes);
    th_run("set_errors", test_set_errors);
    th_run("labels_boxes", test_labels_boxes);
    th_run("dates", test_dates);
    th_run("tree_refusals", test_tree_refusals);
    return th_end();
}
