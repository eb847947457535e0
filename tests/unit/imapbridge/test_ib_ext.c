/* test_ib_ext.c - X-GUID / OBJECTID / ESEARCH parsers, fed the exact bytes
 * a server sends (the parser entry point libetpan calls). */
#include <stdlib.h>
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_ext.h"

static mailimap *imap;
static struct mailimap_parser_context *pctx;

/* Run the extension parser for `calling` on text; returns the libetpan
   code, *data_r the extension data (caller frees), *used_r bytes eaten. */
static int parse(int calling, const char *text, struct mailimap_extension_data **data_r,
                 size_t *used_r)
{
    MMAPString *buf = mmap_string_new(text);
    size_t pos = 0;
    int r;

    *data_r = NULL;
    r = ib_ext_api.ext_parser(calling, NULL, buf, pctx, &pos, data_r, 0, NULL);
    *used_r = pos;
    mmap_string_free(buf);
    return r;
}

static void test_fetch_items(void)
{
    static const struct {
        const char *text;
        int ok;
        enum ib_ext_type type;
        const char *value;
        size_t used;
    } rows[] = {
        { "X-GUID 2a3b4c5d6e7f0102030405060708090a UID 5)", 1, IB_EXT_FETCH_XGUID,
          "2a3b4c5d6e7f0102030405060708090a", 39 },
        { "EMAILID (M6d99ac3275bb4e) UID 1)", 1, IB_EXT_FETCH_EMAILID, "M6d99ac3275bb4e", 25 },
        { "THREADID (T64b478a75b7ea9) FLAGS ()", 1, IB_EXT_FETCH_THREADID, "T64b478a75b7ea9",
          26 },
        { "THREADID NIL)", 1, IB_EXT_FETCH_THREADID, NULL, 12 },
        { "PREVIEW \"Hello there\")", 1, IB_EXT_FETCH_PREVIEW, "Hello there", 21 },
        { "PREVIEW NIL)", 1, IB_EXT_FETCH_PREVIEW, NULL, 11 },
        { "EMAILID (bad/id))", 0, 0, NULL, 0 },
        { "EMAILID NIL)", 0, 0, NULL, 0 },
        { "X-GUIDS abc)", 0, 0, NULL, 0 },
        { "PREVIEWS \"x\")", 0, 0, NULL, 0 },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mailimap_extension_data *d = NULL;
        size_t used = 0;
        int r = parse(MAILIMAP_EXTENDED_PARSER_FETCH_DATA, rows[i].text, &d, &used);

        th_assert_idx((r == MAILIMAP_NO_ERROR) == rows[i].ok, i);
        if (r == MAILIMAP_NO_ERROR && d != NULL) {
            th_assert_idx(d->ext_type == (int)rows[i].type, i);
            th_assert_idx(used == rows[i].used, i);
            if (rows[i].value == NULL)
                th_assert_idx(d->ext_data == NULL, i);
            else
                th_assert_idx(d->ext_data != NULL && strcmp(d->ext_data, rows[i].value) == 0, i);
            ib_ext_api.ext_free(d);
        }
        if (r != MAILIMAP_NO_ERROR)
            th_assert_idx(d == NULL, i);
    }
}

/* A literal value: libetpan's parser asks for more data (it reads the
   literal from the stream and parses again); the extension must pass that
   request through instead of calling the line unparsable. */
static void test_literal_needs_more(void)
{
    struct mailimap_extension_data *d = NULL;
    size_t used = 0;

    th_assert(parse(MAILIMAP_EXTENDED_PARSER_FETCH_DATA, "PREVIEW {6}\r\nCaf\xc3\xa9!)", &d,
                    &used) == MAILIMAP_ERROR_NEEDS_MORE_DATA);
    th_assert(d == NULL && used == 0);
}

static void test_status_items(void)
{
    struct mailimap_extension_data *d = NULL;
    size_t used = 0;

    th_assert(parse(MAILIMAP_EXTENDED_PARSER_STATUS_ATT, "MAILBOXID (F2212ea87-6097) MESSAGES 3)",
                    &d, &used) == MAILIMAP_NO_ERROR);
    th_assert(d != NULL && d->ext_type == IB_EXT_STATUS_MAILBOXID);
    th_assert(d != NULL && strcmp(d->ext_data, "F2212ea87-6097") == 0);
    ib_ext_api.ext_free(d);
    th_assert(parse(MAILIMAP_EXTENDED_PARSER_STATUS_ATT, "X-GUID \"0ab1\")", &d, &used) ==
              MAILIMAP_NO_ERROR);
    th_assert(d != NULL && d->ext_type == IB_EXT_STATUS_XGUID && strcmp(d->ext_data, "0ab1") == 0);
    ib_ext_api.ext_free(d);
    th_assert(parse(MAILIMAP_EXTENDED_PARSER_STATUS_ATT, "HIGHESTMODSEQ 7)", &d, &used) ==
              MAILIMAP_ERROR_PARSE);
}

/* A quoted or literal X-GUID is an astring that libetpan keeps in a
   registered MMAPString; the value handed out must be plain malloc'd
   memory (ext_free frees it with free()). mmap_string_unref says whether
   libetpan still knows the pointer: -1 = not registered. */
static void test_astring_owned(void)
{
    static const struct {
        int calling;
        const char *text;
    } rows[] = {
        { MAILIMAP_EXTENDED_PARSER_STATUS_ATT, "X-GUID \"0ab1\")" },
        { MAILIMAP_EXTENDED_PARSER_FETCH_DATA, "X-GUID \"2a3b\" UID 5)" },
        { MAILIMAP_EXTENDED_PARSER_FETCH_DATA, "X-GUID 2a3b UID 5)" },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mailimap_extension_data *d = NULL;
        size_t used = 0;

        th_assert_idx(parse(rows[i].calling, rows[i].text, &d, &used) == MAILIMAP_NO_ERROR, i);
        th_assert_idx(d != NULL && d->ext_data != NULL, i);
        if (d == NULL)
            continue;
        th_assert_idx(mmap_string_unref(d->ext_data) == -1, i);
        ib_ext_api.ext_free(d);
    }
}

static void test_esearch(void)
{
    struct mailimap_extension_data *d = NULL;
    const struct ib_esearch *e;
    size_t used = 0;
    const char *line = "ESEARCH (TAG \"A282\") UID MIN 2 MAX 47 COUNT 5 ALL 2,10:12,47\r\n";

    th_assert(parse(MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA, line, &d, &used) ==
              MAILIMAP_NO_ERROR);
    th_assert(d != NULL && d->ext_type == IB_EXT_ESEARCH);
    if (d == NULL)
        return;
    e = d->ext_data;
    th_assert(e->tag != NULL && strcmp(e->tag, "A282") == 0);
    th_assert(e->uid && e->has_min && e->min == 2 && e->has_max && e->max == 47);
    th_assert(e->has_count && e->count == 5 && !e->has_modseq);
    th_assert(e->all != NULL && clist_count(e->all->set_list) == 3);
    th_assert(used == strlen(line) - 2);
    ib_ext_api.ext_free(d);

    th_assert(parse(MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA, "ESEARCH (TAG \"x\")\r\n", &d,
                    &used) == MAILIMAP_NO_ERROR);
    th_assert(d != NULL && !((struct ib_esearch *)d->ext_data)->has_count);
    ib_ext_api.ext_free(d);
    th_assert(parse(MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA, "ESEARCH\r\n", &d, &used) ==
              MAILIMAP_NO_ERROR);
    ib_ext_api.ext_free(d);
    th_assert(parse(MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA, "ESEARCH COUNT x\r\n", &d, &used) ==
              MAILIMAP_ERROR_PARSE);
    th_assert(parse(MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA, "SEARCH 1 2\r\n", &d, &used) ==
              MAILIMAP_ERROR_PARSE);
}

static void test_objectid(void)
{
    char long_id[300];

    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    th_assert(ib_ext_objectid_valid("M6d99-ac_32"));
    th_assert(!ib_ext_objectid_valid(""));
    th_assert(!ib_ext_objectid_valid("a b"));
    th_assert(!ib_ext_objectid_valid(long_id));
}

int main(void)
{
    imap = mailimap_new(0, NULL);
    pctx = mailimap_parser_context_new(imap);
    th_run("astring values are ours to free", test_astring_owned);
    th_run("fetch_items", test_fetch_items);
    th_run("literal_needs_more", test_literal_needs_more);
    th_run("status_items", test_status_items);
    th_run("esearch", test_esearch);
    th_run("objectid", test_objectid);
    mailimap_parser_context_free(pctx);
    mailimap_free(imap);
    return th_end();
}
