/* test_ib_corpus.c - sweep over 700 real messages (the jwz/SpamAssassin ham
 * set): every header field in every form, the Email convenience
 * properties, and bodyStructure / parts / body values from the
 * BODYSTRUCTURE Dovecot reported for each (fixtures/corpus.*). Everything
 * must yield non-NULL JSON that round-trips through json_dumps/json_loads.
 *
 * IB_CORPUS_LIMIT=N limits the sweep to the first N messages (valgrind).
 * Without the corpus directory the header half is skipped (reported).
 */
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_text.h"

#include "harness/th.h"
#include "mime_fixture.h"

#include <stdlib.h>
#include <string.h>

#define CORPUS "/usr/share/gocode/src/github.com/gatherstars-com/jwz/test/testdata/ham/"

static struct fx corpus;
static size_t limit;

static const char *const props[] = {"headers", "messageId", "inReplyTo", "references", "sender",
                                    "from",    "to",        "cc",        "bcc",        "replyTo",
                                    "subject", "sentAt",    NULL};

/* Non-NULL and identical after a dump/load round trip. */
static bool good(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_t *back = s ? json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    bool ok = back != NULL && json_equal(j, back);

    json_decref(back);
    free(s);
    return ok;
}

/* Header block of a corpus file without its mbox "From " line. */
static const char *header_block(const char *raw, size_t len, size_t *hlen, const char **body)
{
    const char *start = raw, *end;

    if (strncmp(raw, "From ", 5) == 0) {
        const char *nl = memchr(raw, '\n', len);

        start = nl ? nl + 1 : raw + len;
    }
    end = strstr(start, "\n\n");
    *body = end ? end + 2 : raw + len;
    *hlen = end ? (size_t)(end + 1 - start) : len - (size_t)(start - raw);
    return start;
}

struct stats {
    size_t msgs, fields, values, from_ok, date_ok, subject_ok;
};

static void sweep_fields(const struct ib_header_list *l, size_t idx, struct stats *st)
{
    size_t f;
    int form;

    for (f = 0; f < l->count; f++) {
        for (form = IB_HF_RAW; form <= IB_HF_URLS; form++) {
            json_t *one = ib_header_value_json(l->fields[f].value, l->fields[f].value_len,
                                               (enum ib_header_form)form);
            json_t *all = ib_header_get_json(l, l->fields[f].name, (enum ib_header_form)form, true);

            th_assert_idx(good(one), idx);
            th_assert_idx(good(all) && json_array_size(all) >= 1, idx);
            json_decref(one);
            json_decref(all);
            st->values += 2;
        }
        st->fields++;
    }
}

static void sweep_props(const struct ib_header_list *l, size_t idx, struct stats *st)
{
    size_t k;

    for (k = 0; props[k] != NULL; k++) {
        bool known = false;
        json_t *j = ib_header_email_prop(l, props[k], &known);

        th_assert_idx(known && good(j), idx);
        if (strcmp(props[k], "from") == 0 && json_array_size(j) > 0)
            st->from_ok++;
        if (strcmp(props[k], "sentAt") == 0 && json_is_string(j))
            st->date_ok++;
        if (strcmp(props[k], "subject") == 0 && json_is_string(j)) {
            const char *s = json_string_value(j);

            th_assert_idx(strchr(s, '\r') == NULL && strchr(s, '\n') == NULL, idx);
            st->subject_ok++;
        }
        json_decref(j);
    }
}

/* Decode the message body as if it were each text section (stress only:
   the bytes are not the section's, but any bytes must decode). */
static void sweep_values(const struct mailimap_body *b, const char *body, size_t idx)
{
    struct ib_body_fetch *f = NULL;
    size_t n = 0, k, blen = strlen(body);

    th_assert_idx(ib_body_fetch_list(b, IB_BODY_WANT_ALL, &f, &n, NULL) == 0, idx);
    for (k = 0; k < n; k++) {
        json_t *v = NULL;
        char *pv = NULL;
        const char *val;

        th_assert_idx(ib_body_value_json(body, blen, f[k].encoding, f[k].charset, 1000, k % 2, &v,
                                         NULL) == 0 &&
                          good(v),
                      idx);
        val = json_string_value(json_object_get(v, "value"));
        th_assert_idx(val != NULL && strlen(val) <= 1000, idx);
        th_assert_idx(val != NULL && ib_text_preview(val, strlen(val), f[k].html, &pv, NULL) == 0,
                      idx);
        th_assert_idx(pv != NULL && ib_text_utf8_valid(pv, strlen(pv)), idx);
        free(pv);
        json_decref(v);
    }
    ib_body_fetch_free(&f, n);
}

static void sweep_body(const struct mailimap_body *b, const char *body, size_t idx)
{
    json_t *st = ib_body_structure_json(b, NULL), *t = NULL, *h = NULL, *a = NULL;
    bool has = false;

    th_assert_idx(b != NULL && good(st), idx);
    th_assert_idx(st != NULL && ib_body_parts(st, &t, &h, &a, &has, NULL) == 0, idx);
    th_assert_idx(good(t) && good(h) && good(a), idx);
    /* every message has something to show or to download */
    th_assert_idx(json_array_size(t) + json_array_size(h) + json_array_size(a) > 0, idx);
    json_decref(t);
    json_decref(h);
    json_decref(a);
    json_decref(st);
    if (body != NULL)
        sweep_values(b, body, idx);
}

static void test_sweep(void)
{
    struct stats st = {0};
    size_t i, n = corpus.n < limit ? corpus.n : limit, missing = 0;

    for (i = 0; i < n; i++) {
        char path[512], *raw;
        size_t len = 0, hlen = 0;
        const char *hdr, *body = NULL;
        struct ib_header_list *l = NULL;

        snprintf(path, sizeof(path), CORPUS "%s", corpus.names[i]);
        raw = fx_read(path, &len);
        if (raw == NULL) {
            missing++;
            sweep_body(corpus.bodies[i], NULL, i);
            continue;
        }
        hdr = header_block(raw, len, &hlen, &body);
        th_assert_idx(ib_header_parse(hdr, hlen, &l, NULL) == 0 && l->count > 0, i);
        if (l != NULL) {
            sweep_fields(l, i, &st);
            sweep_props(l, i, &st);
        }
        ib_header_list_free(&l);
        sweep_body(corpus.bodies[i], body, i);
        st.msgs++;
        free(raw);
    }
    printf("corpus: %zu messages (%zu files missing), %zu fields, %zu values; from %zu, "
           "sentAt %zu, subject %zu\n",
           st.msgs, missing, st.fields, st.values, st.from_ok, st.date_ok, st.subject_ok);
    /* usefulness, not only survival: real mail parses */
    th_assert(missing > 0 || st.from_ok * 100 >= st.msgs * 99);
    th_assert(missing > 0 || st.date_ok * 100 >= st.msgs * 97);
    th_assert(missing > 0 || st.subject_ok * 100 >= st.msgs * 99);
}

int main(void)
{
    const char *env = getenv("IB_CORPUS_LIMIT");

    limit = env ? (size_t)strtoul(env, NULL, 10) : FX_MAX;
    if (fx_load(&corpus, "corpus") != 0 || corpus.n < 500) {
        fprintf(stderr, "cannot load fixtures/corpus.*\n");
        return 1;
    }
    th_run("sweep", test_sweep);
    fx_free(&corpus);
    return th_end();
}
