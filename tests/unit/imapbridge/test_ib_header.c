/* test_ib_header.c - header block splitting, every RFC 8621 parsed form,
 * header:* property validation and the convenience properties. */
#include "imapbridge/ib_header.h"

#include "harness/th.h"

#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>

/* Compact JSON of j (JSON_ENCODE_ANY), or "(NULL)"; static buffer. */
static const char *dump(json_t *j)
{
    static char buf[2048];
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    snprintf(buf, sizeof(buf), "%s", s ? s : "(NULL)");
    free(s);
    return buf;
}

struct form_row {
    enum ib_header_form form;
    const char *value, *want;
};

static void run_rows(const struct form_row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *j = ib_header_value_json(rows[i].value, strlen(rows[i].value), rows[i].form);
        const char *got = dump(j);

        th_assert_idx(strcmp(got, rows[i].want) == 0, i);
        if (strcmp(got, rows[i].want) != 0)
            fprintf(stderr, "row %zu: got %s\n", i, got);
        json_decref(j);
    }
}

static const char block[] = "Return-Path: <x@y>\r\n"
                            "Subject: hello\r\n world\r\n"
                            "X-Empty:\r\n"
                            "garbage line without colon\r\n"
                            "Subject : =?utf-8?q?caf=C3=A9?=\r\n"
                            "X-Bin: a\0b\xe9\r\n"
                            "\r\n"
                            "Body: not a header\r\n";

static void test_split(void)
{
    struct ib_header_list *l = NULL;
    const char lf[] = "A: 1\n  2\nB:3\n\nC: 4\n";

    th_assert(ib_header_parse(block, sizeof(block) - 1, &l, NULL) == 0 && l != NULL);
    th_assert(l->count == 5);
    th_assert(strcmp(l->fields[0].name, "Return-Path") == 0);
    th_assert(strcmp(l->fields[1].value, " hello\r\n world") == 0);
    th_assert(l->fields[2].value_len == 0 && strcmp(l->fields[2].name, "X-Empty") == 0);
    th_assert(strcmp(l->fields[3].name, "Subject") == 0);
    th_assert(l->fields[4].value_len == 5 && memcmp(l->fields[4].value, " a\0b\xe9", 5) == 0);
    ib_header_list_free(&l);
    th_assert(l == NULL);

    th_assert(ib_header_parse(lf, sizeof(lf) - 1, &l, NULL) == 0);
    th_assert(l->count == 2 && strcmp(l->fields[0].value, " 1\n  2") == 0 &&
              strcmp(l->fields[1].value, "3") == 0);
    ib_header_list_free(&l);
    th_assert(ib_header_parse("", 0, &l, NULL) == 0 && l->count == 0);
    ib_header_list_free(&l);
}

static void test_get(void)
{
    struct ib_header_list *l = NULL;
    json_t *j;

    th_assert(ib_header_parse(block, sizeof(block) - 1, &l, NULL) == 0);
    j = ib_header_get_json(l, "subject", IB_HF_RAW, false);
    th_assert(strcmp(dump(j), "\" =?utf-8?q?caf=C3=A9?=\"") == 0);
    json_decref(j);
    j = ib_header_get_json(l, "Subject", IB_HF_TEXT, true);
    th_assert(strcmp(dump(j), "[\"hello world\",\"caf\xc3\xa9\"]") == 0);
    json_decref(j);
    j = ib_header_get_json(l, "X-Bin", IB_HF_RAW, false);
    th_assert(strcmp(dump(j), "\" a\\u0000b\xef\xbf\xbd\"") == 0);
    json_decref(j);
    j = ib_header_get_json(l, "X-Missing", IB_HF_TEXT, false);
    th_assert(json_is_null(j));
    json_decref(j);
    j = ib_header_get_json(l, "X-Missing", IB_HF_DATE, true);
    th_assert(json_is_array(j) && json_array_size(j) == 0);
    json_decref(j);
    ib_header_list_free(&l);
}

static void test_prop_parse(void)
{
    static const struct {
        const char *prop;
        int rc;
        enum ib_header_form form;
        bool all;
    } rows[] = {
        {"header:Subject", 0, IB_HF_RAW, false},
        {"header:Subject:asText", 0, IB_HF_TEXT, false},
        {"header:subject:asText:all", 0, IB_HF_TEXT, true},
        {"header:Subject:all", 0, IB_HF_RAW, true},
        {"header:From:asAddresses", 0, IB_HF_ADDRESSES, false},
        {"header:from:asGroupedAddresses:all", 0, IB_HF_GROUPED_ADDRESSES, true},
        {"header:Resent-Bcc:asAddresses", 0, IB_HF_ADDRESSES, false},
        {"header:Date:asDate", 0, IB_HF_DATE, false},
        {"header:Resent-Date:asDate", 0, IB_HF_DATE, false},
        {"header:Message-ID:asMessageIds", 0, IB_HF_MESSAGE_IDS, false},
        {"header:References:asMessageIds:all", 0, IB_HF_MESSAGE_IDS, true},
        {"header:List-Unsubscribe:asURLs", 0, IB_HF_URLS, false},
        {"header:List-Id:asText", 0, IB_HF_TEXT, false},
        {"header:List-Id:asURLs", 0, IB_HF_URLS, false},
        {"header:X-Foo:asDate", 0, IB_HF_DATE, false},
        {"header:X-Foo:asAddresses", 0, IB_HF_ADDRESSES, false},
        {"header:Received", 0, IB_HF_RAW, false},
        {"header:Keywords:asText", 0, IB_HF_TEXT, false},
        {"header:From:asText", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:asAddresses", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:asDate", CM_EINVAL, IB_HF_RAW, false},
        {"header:Date:asMessageIds", CM_EINVAL, IB_HF_RAW, false},
        {"header:To:asURLs", CM_EINVAL, IB_HF_RAW, false},
        {"header:Received:asText", CM_EINVAL, IB_HF_RAW, false},
        {"header:Return-Path:asAddresses", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:asFoo", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:astext", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:all:asText", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:asText:all:x", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:asText:", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subject:", CM_EINVAL, IB_HF_RAW, false},
        {"header:", CM_EINVAL, IB_HF_RAW, false},
        {"header:Sub ject", CM_EINVAL, IB_HF_RAW, false},
        {"header:Subj\xc3\xa9", CM_EINVAL, IB_HF_RAW, false},
        {"headers", CM_EINVAL, IB_HF_RAW, false},
        {"Header:Subject", CM_EINVAL, IB_HF_RAW, false},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ib_header_prop p;
        struct cm_err err = CM_ERR_INIT;
        int rc = ib_header_prop_parse(rows[i].prop, &p, &err);

        th_assert_idx(rc == rows[i].rc, i);
        th_assert_idx(rc != 0 || (p.form == rows[i].form && p.all == rows[i].all), i);
        th_assert_idx(rc == 0 || err.msg[0] != '\0', i);
    }
}

static void test_addresses(void)
{
    static const struct form_row rows[] = {
        /* RFC 8621 4.1.2.3 example */
        {IB_HF_ADDRESSES,
         " \"James Smythe\" <james@example.com>, Friends:\r\n jane@example.com, "
         "=?UTF-8?Q?John_Sm=C3=AEth?= <john@example.com>;",
         "[{\"name\":\"James Smythe\",\"email\":\"james@example.com\"},"
         "{\"name\":null,\"email\":\"jane@example.com\"},"
         "{\"name\":\"John Sm\xc3\xaeth\",\"email\":\"john@example.com\"}]"},
        {IB_HF_GROUPED_ADDRESSES,
         " \"James Smythe\" <james@example.com>, Friends:\r\n jane@example.com, "
         "=?UTF-8?Q?John_Sm=C3=AEth?= <john@example.com>;",
         "[{\"name\":null,\"addresses\":[{\"name\":\"James Smythe\",\"email\":"
         "\"james@example.com\"}]},{\"name\":\"Friends\",\"addresses\":[{\"name\":null,"
         "\"email\":\"jane@example.com\"},{\"name\":\"John Sm\xc3\xaeth\",\"email\":"
         "\"john@example.com\"}]}]"},
        /* RFC 2047 section 8 */
        {IB_HF_ADDRESSES, " =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
         "[{\"name\":\"Keith Moore\",\"email\":\"moore@cs.utk.edu\"}]"},
        {IB_HF_ADDRESSES, " =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
         "[{\"name\":\"Keld J\xc3\xb8rn Simonsen\",\"email\":\"keld@dkuug.dk\"}]"},
        {IB_HF_ADDRESSES, " =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
         "[{\"name\":\"Andr\xc3\xa9 Pirard\",\"email\":\"PIRARD@vm1.ulg.ac.be\"}]"},
        /* RFC 2047 section 8 comment examples, where comments really occur */
        {IB_HF_ADDRESSES, " x@y (=?ISO-8859-1?Q?a?=)", "[{\"name\":\"a\",\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " x@y (=?ISO-8859-1?Q?a?= b)", "[{\"name\":\"a b\",\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " x@y (=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)",
         "[{\"name\":\"ab\",\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " x@y (=?ISO-8859-1?Q?a?=\r\n   =?ISO-8859-1?Q?b?=)",
         "[{\"name\":\"ab\",\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " x@y (=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)",
         "[{\"name\":\"a b\",\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " jdoe@example.com (John Doe)",
         "[{\"name\":\"John Doe\",\"email\":\"jdoe@example.com\"}]"},
        {IB_HF_ADDRESSES, " \"Doe, John\" <j@x.com>, <a@b>",
         "[{\"name\":\"Doe, John\",\"email\":\"j@x.com\"},{\"name\":null,\"email\":\"a@b\"}]"},
        {IB_HF_ADDRESSES, " \"q\\\"x\" <a@b>", "[{\"name\":\"q\\\"x\",\"email\":\"a@b\"}]"},
        {IB_HF_ADDRESSES, " J\xe9r\xf4me <jj@x>",
         "[{\"name\":\"J\xc3\xa9r\xc3\xb4me\",\"email\":\"jj@x\"}]"},
        {IB_HF_ADDRESSES, " j\xe9@x", "[{\"name\":null,\"email\":\"j\xc3\xa9@x\"}]"},
        /* garbage: keep what parses */
        {IB_HF_ADDRESSES, " garbage <<>> @@ ,, x@y", "[{\"name\":null,\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " a@b, , c@d",
         "[{\"name\":null,\"email\":\"a@b\"},{\"name\":null,\"email\":\"c@d\"}]"},
        {IB_HF_ADDRESSES, " \"unterminated <a@b>",
         "[{\"name\":\"unterminated\",\"email\":\"a@b\"}]"},
        {IB_HF_ADDRESSES, " Broken Name <a@b> trailing, c@d",
         "[{\"name\":\"Broken Name\",\"email\":\"a@b\"},{\"name\":null,\"email\":\"c@d\"}]"},
        {IB_HF_ADDRESSES, " John Smith", "[]"},
        /* RFC 8621 allows emails without '@' (best effort, drafts) */
        {IB_HF_ADDRESSES, " root", "[{\"name\":null,\"email\":\"root\"}]"},
        {IB_HF_ADDRESSES, " Admin <root>", "[{\"name\":\"Admin\",\"email\":\"root\"}]"},
        {IB_HF_ADDRESSES, " x@y (Name, \"odd\") ,", "[{\"name\":\"Name, odd\",\"email\":\"x@y\"}]"},
        {IB_HF_ADDRESSES, " \"  Spaced  \" <a@b>, =?utf-8?q?Bob_?= <c@d>",
         "[{\"name\":\"Spaced\",\"email\":\"a@b\"},{\"name\":\"Bob\",\"email\":\"c@d\"}]"},
        {IB_HF_ADDRESSES, " \"\" <a@b>", "[{\"name\":null,\"email\":\"a@b\"}]"},
        {IB_HF_ADDRESSES, "", "[]"},
        {IB_HF_ADDRESSES, " undisclosed-recipients:;", "[]"},
        {IB_HF_GROUPED_ADDRESSES, " undisclosed-recipients:;",
         "[{\"name\":\"undisclosed-recipients\",\"addresses\":[]}]"},
        {IB_HF_GROUPED_ADDRESSES, " a@b, G: c@d; e@f",
         "[{\"name\":null,\"addresses\":[{\"name\":null,\"email\":\"a@b\"}]},"
         "{\"name\":\"G\",\"addresses\":[{\"name\":null,\"email\":\"c@d\"}]},"
         "{\"name\":null,\"addresses\":[{\"name\":null,\"email\":\"e@f\"}]}]"},
        {IB_HF_GROUPED_ADDRESSES, " G: c@d", /* unterminated group */
         "[{\"name\":\"G\",\"addresses\":[{\"name\":null,\"email\":\"c@d\"}]}]"},
    };

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_other_forms(void)
{
    static const struct form_row rows[] = {
        {IB_HF_MESSAGE_IDS, " <a@b> <c@d>", "[\"a@b\",\"c@d\"]"},
        {IB_HF_MESSAGE_IDS, " <a@b>\r\n\t<c@d> (comment)", "[\"a@b\",\"c@d\"]"},
        {IB_HF_MESSAGE_IDS, " foo", "null"},
        {IB_HF_MESSAGE_IDS, "", "null"},
        /* obsolete phrases between ids (RFC 5322 4.5.4) are skipped */
        {IB_HF_MESSAGE_IDS, " <a@b> trailing", "[\"a@b\"]"},
        {IB_HF_MESSAGE_IDS, " Your message of Tue <a@b>", "[\"a@b\"]"},
        {IB_HF_MESSAGE_IDS, " <a@b", "null"},
        /* a fold inside a quoted local part: unfolding removes only the
           CRLF (RFC 5322 2.2.3), so the blank stays */
        {IB_HF_MESSAGE_IDS, " <\"020828081752Z.WT24519.\r\n 6*/PN=x\"@MHS>",
         "[\"\\\"020828081752Z.WT24519. 6*/PN=x\\\"@MHS\"]"},
        {IB_HF_TEXT, " =?UTF-8?Q?A=CC=8A?=", "\"\xc3\x85\""},
        {IB_HF_TEXT, " A\xcc\x8a ok", "\"\xc3\x85 ok\""},
        {IB_HF_DATE, " Tue, 1 Jul 2003 10:52:37 +0200", "\"2003-07-01T10:52:37+02:00\""},
        {IB_HF_DATE, " Thu, 22 Aug 2002 18:26:25 -0700 (PDT)\r\n", "\"2002-08-22T18:26:25-07:00\""},
        {IB_HF_DATE, " 1 Jul 03 10:52 GMT", "\"2003-07-01T10:52:00+00:00\""},
        {IB_HF_DATE, " Sat, 1 Jan 99 00:00:00 EST", "\"1999-01-01T00:00:00-05:00\""},
        {IB_HF_DATE, " Mon, 26 Aug 2002 14:13:15 UTC", "\"2002-08-26T14:13:15+00:00\""},
        {IB_HF_DATE, " Mon, 26 Aug 2002 14:13:15 CEST", "null"},
        {IB_HF_DATE, " 29 Feb 2024 00:00:00 +0530", "\"2024-02-29T00:00:00+05:30\""},
        {IB_HF_DATE, " 29 Feb 2023 00:00:00 +0530", "null"},
        {IB_HF_DATE, " Tue, 31 Feb 2003 10:52:37 +0000", "null"},
        {IB_HF_DATE, " Tue, 1 Jul 2003 10:52:37", "null"},
        {IB_HF_DATE, " Tue, 1 Jul 2003 10:52:37 +0260", "null"},
        {IB_HF_DATE, " Tue, 1 Jul 2003 25:52:37 +0000", "null"},
        {IB_HF_DATE, " Xyz, 1 Jul 2003 10:52:37 +0000", "null"},
        {IB_HF_DATE, " Tue, 1 Jul 2003 10:52:37 +0000 junk", "null"},
        {IB_HF_DATE, " garbage", "null"},
        {IB_HF_DATE, "", "null"},
        {IB_HF_URLS, " <mailto:list@x?subject=unsubscribe>,\r\n <http://x/y>",
         "[\"mailto:list@x?subject=unsubscribe\",\"http://x/y\"]"},
        {IB_HF_URLS, " <http://a/\r\n b> (comment)", "[\"http://a/b\"]"},
        {IB_HF_URLS, " NO (posting not allowed)", "null"},
        {IB_HF_URLS, " <http://a", "null"},
        {IB_HF_URLS, "", "null"},
        {IB_HF_TEXT, " =?utf-8?q?caf=C3=A9?=\r\n", "\"caf\xc3\xa9\""},
        {IB_HF_TEXT, " caf\xe9", "\"caf\xc3\xa9\""},
        {IB_HF_RAW, " caf\xe9", "\" caf\xef\xbf\xbd\""},
        {IB_HF_RAW, " a\r\n b", "\" a\\r\\n b\""},
    };

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static const char full[] = "From: Alice <alice@example.com>\r\n"
                           "To: bob@example.com, Carol <carol@example.com>\r\n"
                           "Subject: =?utf-8?b?w6l0w6k=?= report\r\n"
                           "Date: Wed, 01 May 2024 12:00:00 +0200\r\n"
                           "Message-ID: <m1@example.com>\r\n"
                           "References: <r1@x> <r2@x>\r\n"
                           "List-Post: <mailto:l@x>\r\n"
                           "\r\n";

static void test_convenience(void)
{
    static const struct {
        const char *prop, *want;
    } rows[] = {
        {"messageId", "[\"m1@example.com\"]"},
        {"inReplyTo", "null"},
        {"references", "[\"r1@x\",\"r2@x\"]"},
        {"from", "[{\"name\":\"Alice\",\"email\":\"alice@example.com\"}]"},
        {"to", "[{\"name\":null,\"email\":\"bob@example.com\"},"
               "{\"name\":\"Carol\",\"email\":\"carol@example.com\"}]"},
        {"cc", "null"},
        {"bcc", "null"},
        {"sender", "null"},
        {"replyTo", "null"},
        {"subject", "\"\xc3\xa9t\xc3\xa9 report\""},
        {"sentAt", "\"2024-05-01T12:00:00+02:00\""},
        {"header:List-Post:asURLs", "[\"mailto:l@x\"]"},
        {"header:list-post:all", "[\" <mailto:l@x>\"]"},
        {"header:Date", "\" Wed, 01 May 2024 12:00:00 +0200\""},
    };
    struct ib_header_list *l = NULL;
    json_t *j;
    bool known = false;
    size_t i;

    th_assert(ib_header_parse(full, sizeof(full) - 1, &l, NULL) == 0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        j = ib_header_email_prop(l, rows[i].prop, &known);
        th_assert_idx(known && strcmp(dump(j), rows[i].want) == 0, i);
        json_decref(j);
    }
    j = ib_header_email_prop(l, "headers", &known);
    th_assert(known && json_array_size(j) == 7);
    th_assert(strcmp(json_string_value(json_object_get(json_array_get(j, 2), "name")), "Subject") ==
              0);
    json_decref(j);
    th_assert(ib_header_email_prop(l, "bodyValues", &known) == NULL && !known);
    th_assert(ib_header_email_prop(l, "header:From:asText", &known) == NULL && !known);
    ib_header_list_free(&l);
}

static void test_utcdate(void)
{
    static const struct {
        int d, m, y, hh, mm, ss, zone;
        const char *want;
    } rows[] = {
        {1, 5, 2024, 12, 0, 0, 200, "\"2024-05-01T10:00:00Z\""},
        {31, 12, 2024, 23, 45, 0, -530, "\"2025-01-01T05:15:00Z\""},
        {1, 3, 2024, 0, 30, 0, 100, "\"2024-02-29T23:30:00Z\""},
        {1, 1, 1970, 0, 0, 0, 0, "\"1970-01-01T00:00:00Z\""},
        {1, 13, 2024, 0, 0, 0, 0, "null"},
        {30, 2, 2024, 0, 0, 0, 0, "null"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mailimap_date_time *dt = mailimap_date_time_new(
            rows[i].d, rows[i].m, rows[i].y, rows[i].hh, rows[i].mm, rows[i].ss, rows[i].zone);
        json_t *j = ib_header_utcdate_json(dt);

        th_assert_idx(strcmp(dump(j), rows[i].want) == 0, i);
        json_decref(j);
        mailimap_date_time_free(dt);
    }
}

/* Deterministic pseudo-random garbage rich in header syntax. */
static unsigned long rng = 88172645463325252UL;

static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

static size_t garbage(char *buf, size_t max)
{
    static const char alpha[] = "=?<>\"(),:;@\\\r\n\t _-.aZ09QBqb\x80\xc3\xa9\xff\xe2\x82\0";
    size_t n = next_rand() % max, i;

    for (i = 0; i < n; i++) {
        unsigned r = next_rand();

        buf[i] = r % 4 == 0 ? (char)(r >> 8) : alpha[(r >> 8) % (sizeof(alpha) - 1)];
    }
    return n;
}

static void test_garbage(void)
{
    char buf[300];
    size_t i, n;
    int form;

    for (i = 0; i < 3000; i++) {
        struct ib_header_list *l = NULL;

        n = garbage(buf, sizeof(buf));
        for (form = IB_HF_RAW; form <= IB_HF_URLS; form++) {
            json_t *j = ib_header_value_json(buf, n, (enum ib_header_form)form);
            char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

            th_assert_idx(d != NULL, i);
            free(d);
            json_decref(j);
        }
        th_assert_idx(ib_header_parse(buf, n, &l, NULL) == 0, i);
        ib_header_list_free(&l);
    }
}

static void test_limits(void)
{
    size_t n = 10001 * 6, i;
    char *big = malloc(n);
    struct ib_header_list *l = NULL;
    struct cm_err err = CM_ERR_INIT;

    for (i = 0; i < 10001; i++)
        memcpy(big + 6 * i, "A: b\r\n", 6);
    th_assert(ib_header_parse(big, n, &l, &err) == CM_ELIMIT && l == NULL);
    th_assert(ib_header_parse(big, n - 6, &l, NULL) == 0 && l->count == 10000);
    ib_header_list_free(&l);
    free(big);
}

int main(void)
{
    th_run("split", test_split);
    th_run("get", test_get);
    th_run("prop_parse", test_prop_parse);
    th_run("addresses", test_addresses);
    th_run("other_forms", test_other_forms);
    th_run("convenience", test_convenience);
    th_run("utcdate", test_utcdate);
    th_run("garbage", test_garbage);
    th_run("limits", test_limits);
    return th_end();
}
