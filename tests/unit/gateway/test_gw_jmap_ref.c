/* test_gw_jmap_ref.c - JSON Pointer with '*' and result references
 * (RFC 8620 §3.7, including the spec's own example). */
#include <string.h>

#include "gateway/jmap/gw_jmap.h"
#include "harness/th.h"

static json_t *load(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

    th_assert(j != NULL);
    return j;
}

static bool json_eq_text(json_t *v, const char *text)
{
    json_t *want = load(text);
    bool eq = v != NULL && json_equal(v, want);

    json_decref(want);
    return eq;
}

static void test_pointer(void)
{
    json_t *doc = load("{\"list\":[{\"id\":\"a\",\"t\":[\"x\",\"y\"]},{\"id\":\"b\",\"t\":[\"z\"]}],"
                       "\"a/b\":1,\"m~n\":2,\"ids\":[\"1\",\"2\"]}");
    static const struct {
        const char *path;
        const char *want; /* NULL: does not resolve */
    } rows[] = {
        { "", NULL }, /* checked separately */
        { "/ids", "[\"1\",\"2\"]" },
        { "/ids/1", "\"2\"" },
        { "/ids/2", NULL },
        { "/ids/01", NULL },
        { "/list/*/id", "[\"a\",\"b\"]" },
        { "/list/*/t", "[\"x\",\"y\",\"z\"]" },
        { "/a~1b", "1" },
        { "/m~0n", "2" },
        { "/m~2n", NULL },
        { "/nope", NULL },
        { "ids", NULL },
        { "/list/*/missing", NULL },
    };

    for (size_t i = 1; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *r = gw_jmap_pointer(doc, rows[i].path);

        if (rows[i].want == NULL)
            th_assert_idx(r == NULL, i);
        else
            th_assert_idx(json_eq_text(r, rows[i].want), i);
        json_decref(r);
    }
    json_t *whole = gw_jmap_pointer(doc, "");
    th_assert(whole == doc);
    json_decref(whole);
    json_decref(doc);
}

static void test_refs(void)
{
    /* RFC 8620 §3.7 example: Email/query -> Email/get -> Thread/get. */
    json_t *responses = load(
        "[[\"Email/query\",{\"ids\":[\"m1\",\"m2\"]},\"t0\"],"
        "[\"Email/get\",{\"list\":[{\"id\":\"m1\",\"threadId\":\"T1\"},"
        "{\"id\":\"m2\",\"threadId\":\"T2\"}]},\"t1\"]]");
    json_t *args = load("{\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/get\","
                        "\"path\":\"/list/*/threadId\"}}");
    const char *type = NULL, *why = NULL;

    th_assert(gw_jmap_resolve_refs(args, responses, &type, &why) == 0);
    th_assert(json_eq_text(args, "{\"ids\":[\"T1\",\"T2\"]}"));
    json_decref(args);

    args = load("{\"#ids\":{\"resultOf\":\"t0\",\"name\":\"Email/get\",\"path\":\"/ids\"}}");
    th_assert(gw_jmap_resolve_refs(args, responses, &type, &why) < 0);
    th_assert(strcmp(type, "invalidResultReference") == 0);
    json_decref(args);

    args = load("{\"#ids\":{\"resultOf\":\"zz\",\"name\":\"Email/get\",\"path\":\"/ids\"}}");
    th_assert(gw_jmap_resolve_refs(args, responses, &type, &why) < 0);
    th_assert(strcmp(type, "invalidResultReference") == 0);
    json_decref(args);

    args = load("{\"ids\":[],\"#ids\":{\"resultOf\":\"t0\",\"name\":\"Email/query\","
                "\"path\":\"/ids\"}}");
    th_assert(gw_jmap_resolve_refs(args, responses, &type, &why) < 0);
    th_assert(strcmp(type, "invalidArguments") == 0);
    json_decref(args);

    args = load("{\"#ids\":{\"resultOf\":\"t0\",\"name\":\"Email/query\"}}");
    th_assert(gw_jmap_resolve_refs(args, responses, &type, &why) < 0);
    th_assert(strcmp(type, "invalidResultReference") == 0);
    json_decref(args);
    json_decref(responses);
}

int main(void)
{
    th_run("pointer", test_pointer);
    th_run("refs", test_refs);
    return th_end();
}
