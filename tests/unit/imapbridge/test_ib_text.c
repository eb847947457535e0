/* test_ib_text.c - charsets, transfer encodings, RFC 2047, UTF-8 repair,
 * truncation and preview. */
#include "imapbridge/ib_text.h"

#include "harness/th.h"

#include <stdlib.h>
#include <string.h>

#define S(x) x, sizeof(x) - 1

static void test_charsets(void)
{
    static const struct {
        const char *cs, *in;
        size_t len;
        const char *want;
        size_t want_len;
        bool problem;
    } rows[] = {
        {"iso-8859-1", S("caf\xe9"), S("caf\xc3\xa9"), false},
        /* Latin-1 labels decode as windows-1252 (WHATWG): 0x92 is a curly quote */
        {"ISO-8859-1", S("I\x92m"), S("I\xe2\x80\x99m"), false},
        {"ISO-8859-1", S("a\0b"), S("a\0b"), false},
        {"windows-1252", S("\x80\x93x\x94"), S("\xe2\x82\xac\xe2\x80\x9cx\xe2\x80\x9d"), false},
        /* 0x81 is unassigned: iconv gives '?', reported as a problem */
        {"windows-1252", S("a\x81?"), S("a??"), true},
        {"shift_jis", S("\x82\xa0?"), S("\xe3\x81\x82?"), false},
        {"shift_jis", S("\x82"), S(""), true},
        {"iso-2022-jp", S("\x1b$B\xff\xff\x1b(B"), S("??"), true},
        {"koi8-r", S("\xf0\xd2\xc9\xd7\xc5\xd4"),
         S("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), false},
        {"gb2312", S("\xc4\xe3"), S("\xe4\xbd\xa0"), false},
        {"utf-8", S("caf\xc3\xa9"), S("caf\xc3\xa9"), false},
        {"UTF8", S("a\xffz"), S("a\xef\xbf\xbdz"), true},
        /* overlong and surrogate: one U+FFFD per maximal subpart */
        {"utf-8", S("\xc0\xaf"), S("\xef\xbf\xbd\xef\xbf\xbd"), true},
        {"utf-8", S("\xed\xa0\x80"), S("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), true},
        {"utf-8", S("ab\xe2\x82"), S("ab\xef\xbf\xbd"), true},
        {"utf-8", S("\xf4\x90\x80\x80"), S("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
         true},
        {"us-ascii", S("plain"), S("plain"), false},
        {NULL, S("plain"), S("plain"), false},
        {"us-ascii", S("caf\xe9"), S("caf\xc3\xa9"), true},
        {"us-ascii", S("caf\xc3\xa9"), S("caf\xc3\xa9"), true},
        {"x-unknown", S("caf\xe9"), S("caf\xc3\xa9"), true},
        {"x-unknown", S("caf\xc3\xa9"), S("caf\xc3\xa9"), true},
        {"utf-8//TRANSLIT", S("abc"), S("abc"), true},
        {"unknown-8bit", S("\x80"), S("\xe2\x82\xac"), true},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *out = NULL;
        size_t olen = 0;
        bool problem = false;

        th_assert_idx(ib_text_charset_decode(rows[i].cs, rows[i].in, rows[i].len, &out, &olen,
                                             &problem, NULL) == 0,
                      i);
        th_assert_idx(
            out != NULL && olen == rows[i].want_len && memcmp(out, rows[i].want, olen) == 0, i);
        th_assert_idx(problem == rows[i].problem, i);
        th_assert_idx(out != NULL && ib_text_utf8_valid(out, olen), i);
        free(out);
    }
}

static void test_cte(void)
{
    static const struct {
        const char *cte, *in;
        size_t len;
        const char *want;
        size_t want_len;
        bool problem;
    } rows[] = {
        {"base64", S("SGVs\r\nbG8="), S("Hello"), false},
        {"BASE64", S("SG!!V s\n\nbG8"), S("Hello"), false},
        {"base64", S("AP8A"), S("\0\xff\0"), false},
        {"base64", S("SGVsbG8=garbage"), S("Hello"), false},
        {"quoted-printable", S("caf=C3=A9 soft=\r\nbreak"), S("caf\xc3\xa9 softbreak"), false},
        {"quoted-printable", S("a=c3=a9=\nb"),
         S("a\xc3\xa9"
           "b"),
         false},
        {"quoted-printable", S("a= \t\r\nb"), S("ab"), false},
        {"quoted-printable", S("a=3 x=ZZ=_"), S("a=3 x=ZZ=_"), false},
        {"quoted-printable", S("end="), S("end"), false},
        {"quoted-printable", S("a  \r\nb\t\nc d "), S("a\r\nb\nc d"), false},
        {"quoted-printable", S("a_b"), S("a_b"), false},
        {"7bit", S("a=C3\r\n"), S("a=C3\r\n"), false},
        {"8bit", S("\xe9"), S("\xe9"), false},
        {"binary", S("\0\1"), S("\0\1"), false},
        {NULL, S("x"), S("x"), false},
        {"x-uuencode", S("begin 644"), S("begin 644"), true},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *out = NULL;
        size_t olen = 0;
        bool problem = false;

        th_assert_idx(ib_text_cte_decode(rows[i].cte, rows[i].in, rows[i].len, &out, &olen,
                                         &problem, NULL) == 0,
                      i);
        th_assert_idx(
            out != NULL && olen == rows[i].want_len && memcmp(out, rows[i].want, olen) == 0, i);
        th_assert_idx(problem == rows[i].problem, i);
        free(out);
    }
    th_assert(ib_text_cte_decoded_size("base64", 780) == 570);
    th_assert(ib_text_cte_decoded_size("Base64", 8) == 6);
    th_assert(ib_text_cte_decoded_size("quoted-printable", 100) == 100);
    th_assert(ib_text_cte_decoded_size(NULL, 7) == 7);
}

static void test_rfc2047(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        /* RFC 2047 section 8 (unstructured text) */
        {"=?ISO-8859-1?Q?a?=", "a"},
        {"=?ISO-8859-1?Q?a?= b", "a b"},
        {"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"},
        {"=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"},
        {"=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=", "ab"},
        {"=?ISO-8859-1?Q?a_b?=", "a b"},
        {"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"},
        {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
         " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
         "If you can read this you understand the example."},
        {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld J\xc3\xb8rn Simonsen"},
        {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard"},
        /* RFC 2231 language suffix in the charset */
        {"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"},
        /* placement: not separated from text -> left alone */
        {"(=?ISO-8859-1?Q?a?=)", "(=?ISO-8859-1?Q?a?=)"},
        {"=?UTF-8?B?w6k=?=x", "=?UTF-8?B?w6k=?=x"},
        {"x=?UTF-8?B?w6k=?=", "x=?UTF-8?B?w6k=?="},
        /* unknown charset and bad encoding letter: left alone */
        {"=?x-foo?Q?a?= b", "=?x-foo?Q?a?= b"},
        {"=?utf-8?X?abc?=", "=?utf-8?X?abc?="},
        {"=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"},
        /* a character split over two words */
        {"=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9"},
        /* controls from encoded words are dropped */
        {"=?utf-8?q?a=00b=07c=0D=0A?=", "abc"},
        /* raw 8-bit: UTF-8 kept, else Windows-1252 */
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"caf\xe9 \x93q\x94", "caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d"},
        /* unfolding, trimming */
        {" Re: hello\r\n world  ", "Re: hello world  "},
        {"\ta\n\tb", "a\tb"},
        {"", ""},
        {"=?utf-8?b?8J+YgA==?= ok", "\xf0\x9f\x98\x80 ok"},
        {"Re: =?koi8-r?b?8NLJ18XU?=", "Re: \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
        {"=?utf-8?q?bad=FF?=", "bad\xef\xbf\xbd"},
        {"nul\0inside", "nulinside"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *out = NULL;

        size_t len = strlen(rows[i].in);

        if (strcmp(rows[i].in, "nul") == 0)
            len = sizeof("nul\0inside") - 1;
        th_assert_idx(ib_text_header_decode(rows[i].in, len, &out, NULL) == 0, i);
        th_assert_idx(out != NULL && strcmp(out, rows[i].want) == 0, i);
        if (out != NULL && strcmp(out, rows[i].want) != 0)
            fprintf(stderr, "row %zu: got [%s]\n", i, out);
        free(out);
    }
}

static void test_param_decode(void)
{
    char *out = NULL;

    th_assert(ib_text_param_decode(S("=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf"), &out, NULL) == 0);
    th_assert(out != NULL && strcmp(out, "r\xc3\xa9sum\xc3\xa9.pdf") == 0);
    free(out);
    th_assert(ib_text_header_decode(S("=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf"), &out, NULL) == 0);
    th_assert(out != NULL && strcmp(out, "=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf") == 0);
    free(out);
}

static void test_sanitize_and_json(void)
{
    char *out = NULL;
    size_t olen = 0;
    bool changed = false;
    json_t *j;

    th_assert(ib_text_sanitize(S("ok\xc3\xa9"), &out, &olen, &changed, NULL) == 0);
    th_assert(!changed && olen == 4 && memcmp(out, "ok\xc3\xa9", 4) == 0);
    free(out);
    th_assert(ib_text_sanitize(S("a\x80\xc3"), &out, &olen, &changed, NULL) == 0);
    th_assert(changed && olen == 7 && memcmp(out, "a\xef\xbf\xbd\xef\xbf\xbd", 7) == 0);
    free(out);
    j = ib_text_json(S("caf\xe9"));
    th_assert(j != NULL && strcmp(json_string_value(j), "caf\xef\xbf\xbd") == 0);
    json_decref(j);
    j = ib_text_json(S("a\0b"));
    th_assert(j != NULL && json_string_length(j) == 3);
    json_decref(j);
    th_assert(json_string("caf\xe9") == NULL); /* why the above exists */
}

static void test_cut(void)
{
    static const struct {
        const char *s;
        size_t len, max, want;
    } rows[] = {
        {"abc", 3, 5, 3},
        {"abc", 3, 2, 2},
        {"a\xc3\xa9", 3, 2, 1},
        {"a\xc3\xa9", 3, 3, 3},
        {"\xe2\x82\xac\xe2\x82\xac", 6, 4, 3},
        {"\xe2\x82\xac\xe2\x82\xac", 6, 5, 3},
        {"\xe2\x82\xac", 3, 2, 0},
        {"\xf0\x9f\x98\x80x", 5, 3, 0},
        {"\xf0\x9f\x98\x80x", 5, 4, 4},
        {"", 0, 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        th_assert_idx(ib_text_utf8_cut(rows[i].s, rows[i].len, rows[i].max) == rows[i].want, i);
}

/* Number of code points in valid UTF-8. */
static size_t cps(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void test_preview(void)
{
    static const struct {
        const char *in;
        bool html;
        const char *want;
    } rows[] = {
        {"  Hello\r\n\r\n  world\t!  ", false, "Hello world !"},
        {"", false, ""},
        {"<html><head><title>T</title><style>p{}</style></head><body><p>Hello&nbsp;&amp; "
         "<b>wor</b>ld&#233;&#x20AC;</p><!-- hidden --><script>alert(1)</script>"
         "<div>bye</div></body></html>",
         true, "Hello & world\xc3\xa9\xe2\x82\xac bye"},
        {"a &lt;b&gt; &quot;c&quot; &unknown; &#0; <br>x", true,
         "a <b> \"c\" &unknown; \xef\xbf\xbd x"},
        {"<p>unterminated <b", true, "unterminated"},
        {"<SCRIPT type=x>no</SCRIPT>yes", true, "yes"},
        {"bad \xff utf8", false, "bad \xef\xbf\xbd utf8"},
    };
    char big[1200];
    char *out = NULL;
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        th_assert_idx(
            ib_text_preview(rows[i].in, strlen(rows[i].in), rows[i].html, &out, NULL) == 0, i);
        th_assert_idx(out != NULL && strcmp(out, rows[i].want) == 0, i);
        if (out != NULL && strcmp(out, rows[i].want) != 0)
            fprintf(stderr, "row %zu: got [%s]\n", i, out);
        free(out);
    }
    memset(big, 'a', 300);
    th_assert(ib_text_preview(big, 300, false, &out, NULL) == 0 && strlen(out) == 256);
    free(out);
    for (i = 0; i < 300; i++)
        memcpy(big + 2 * i, "\xc3\xa9", 2);
    th_assert(ib_text_preview(big, 600, false, &out, NULL) == 0);
    th_assert(cps(out) == 256 && strlen(out) == 512 && ib_text_utf8_valid(out, strlen(out)));
    free(out);
}

static unsigned long rng = 2463534242UL;

static unsigned next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

/* Random bytes through every decoder: never a failure, always UTF-8. */
static void test_garbage(void)
{
    static const char alpha[] = "=?<>&#;x_QBqb!-/ \r\n\t\x80\xc3\xa9\xff\xe2\x82\0a";
    static const char *const cs[] = {"utf-8", "iso-8859-1", "koi8-r", "shift_jis", "x-bogus", NULL};
    static const char *const cte[] = {"base64", "quoted-printable", "7bit", "x-bogus"};
    char buf[400], *out;
    size_t i, k, n, olen;

    for (i = 0; i < 3000; i++) {
        bool problem = false;

        n = next_rand() % sizeof(buf);
        for (k = 0; k < n; k++) {
            unsigned r = next_rand();

            buf[k] = r % 3 == 0 ? (char)(r >> 8) : alpha[(r >> 8) % (sizeof(alpha) - 1)];
        }
        th_assert_idx(ib_text_charset_decode(cs[i % 6], buf, n, &out, &olen, &problem, NULL) == 0 &&
                          ib_text_utf8_valid(out, olen),
                      i);
        free(out);
        th_assert_idx(ib_text_cte_decode(cte[i % 4], buf, n, &out, &olen, &problem, NULL) == 0, i);
        free(out);
        th_assert_idx(ib_text_header_decode(buf, n, &out, NULL) == 0 &&
                          ib_text_utf8_valid(out, strlen(out)),
                      i);
        free(out);
        th_assert_idx(ib_text_preview(buf, n, i % 2, &out, NULL) == 0 &&
                          ib_text_utf8_valid(out, strlen(out)),
                      i);
        free(out);
    }
}

int main(void)
{
    th_run("charsets", test_charsets);
    th_run("cte", test_cte);
    th_run("rfc2047", test_rfc2047);
    th_run("param_decode", test_param_decode);
    th_run("sanitize_json", test_sanitize_and_json);
    th_run("cut", test_cut);
    th_run("preview", test_preview);
    th_run("garbage", test_garbage);
    return th_end();
}
