/* test_ib_mutf7.c - modified UTF-7 both ways, table-driven. */
#include <stdlib.h>
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_mutf7.h"

struct pair {
    const char *utf8;
    const char *mutf7;
};

static const struct pair pairs[] = {
    { "", "" },
    { "INBOX", "INBOX" },
    { "&", "&-" },
    { "Tom & Jerry", "Tom &- Jerry" },
    /* RFC 3501 §5.1.3 example */
    { "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
    { "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
    { "\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-" },
    { "Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente" },
    { "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5",
      "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" },
    /* non-BMP: U+1F600 -> surrogates D83D DE00 */
    { "\xf0\x9f\x98\x80", "&2D3eAA-" },
    { "a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b" },
    { "\xc3\xa9&", "&AOk-&-" },
};

static void test_pairs(void)
{
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *enc = ib_utf8_to_mutf7(pairs[i].utf8);
        char *dec = ib_mutf7_to_utf8(pairs[i].mutf7);

        th_assert_idx(enc != NULL && strcmp(enc, pairs[i].mutf7) == 0, i);
        th_assert_idx(dec != NULL && strcmp(dec, pairs[i].utf8) == 0, i);
        free(enc);
        free(dec);
    }
}

static void test_round_trip(void)
{
    static const char *const names[] = {
        "Archive/2024", "\xe4\xb8\xad\xe6\x96\x87 & more", "x\xf0\x90\x80\x80y&z",
        "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f", "a&b&c", "\xef\xbf\xbd",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *enc = ib_utf8_to_mutf7(names[i]);
        char *dec = enc ? ib_mutf7_to_utf8(enc) : NULL;

        th_assert_idx(dec != NULL && strcmp(dec, names[i]) == 0, i);
        free(enc);
        free(dec);
    }
}

static void test_invalid_mutf7(void)
{
    static const char *const bad[] = {
        "&",          /* unterminated */
        "&AOk",       /* unterminated */
        "&-&",        /* unterminated after an escaped & */
        "&AOk=-",     /* '=' is not in the alphabet */
        "&AO/-",      /* '/' is ',' in modified base64 */
        "&AOl-",      /* non-zero padding bits */
        "&AOkA-",     /* a partial unit left over */
        "&AGE-",      /* shifted printable ASCII 'a' */
        "&2D0-",      /* lone high surrogate */
        "&3gA-",      /* lone low surrogate */
        "&2D3YPQ-",   /* high surrogate followed by a high one */
        "&AOk-&AOk-", /* adjacent shifts must be one run */
        "&AAA-",      /* NUL */
        "caf\xc3\xa9", /* raw 8-bit */
        "tab\there",  /* control character */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *dec = ib_mutf7_to_utf8(bad[i]);

        th_assert_idx(dec == NULL, i);
        free(dec);
    }
}

static void test_invalid_utf8(void)
{
    static const char *const bad[] = {
        "\xc3",             /* truncated */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* encoded surrogate */
        "\xf4\x90\x80\x80", /* > U+10FFFF */
        "\xff",
        "a\x80",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *enc = ib_utf8_to_mutf7(bad[i]);

        th_assert_idx(enc == NULL, i);
        free(enc);
    }
}

int main(void)
{
    th_run("mutf7 table both ways", test_pairs);
    th_run("mutf7 round trips", test_round_trip);
    th_run("mutf7 invalid input rejected", test_invalid_mutf7);
    th_run("utf8 invalid input rejected", test_invalid_utf8);
    return th_end();
}
