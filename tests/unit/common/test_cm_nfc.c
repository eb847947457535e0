/* test_cm_nfc.c - NFC: composition, ordering, Hangul, exclusions, bad bytes.
 * (The implementation was also checked against Python's unicodedata NFC on
 * every code point alone, every code point with two marks, and 100,000
 * random mark sequences: see scripts/gen-nfc-data.) */
#include "common/cm_nfc.h"

#include <stdlib.h>
#include <string.h>

#include "harness/th.h"

static const struct {
    const char *in, *want;
} rows[] = {
    { "", "" },
    { "plain ASCII", "plain ASCII" },
    { "caf\xc3\xa9", "caf\xc3\xa9" },                       /* already NFC */
    { "A\xcc\x8a", "\xc3\x85" },                            /* A + ring -> U+00C5 */
    { "\xe2\x84\xab", "\xc3\x85" },                         /* U+212B ANGSTROM SIGN singleton */
    { "e\xcc\x81\xcc\xa3", "\xe1\xba\xb9\xcc\x81" },         /* e + acute + dot below: reorder first */
    { "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81" }, /* Hangul L V T -> U+AC01 */
    { "\xea\xb0\x80\xe1\x86\xa8", "\xea\xb0\x81" },         /* LV + T */
    { "\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc" },          /* U+0958 is a composition exclusion */
    { "\xcd\x84", "\xcc\x88\xcc\x81" },                     /* U+0344: non-starter decomposition */
    { "a\xffo\xcc\x88", "a\xff\xc3\xb6" },                  /* an invalid byte passes through */
    { "\xff\xcc\x88", "\xff\xcc\x88" },                     /* and does not compose */
};

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n = 99;
        char *r = cm_nfc(rows[i].in, strlen(rows[i].in), &n);

        th_assert_idx(r != NULL && n == strlen(rows[i].want) && strcmp(r, rows[i].want) == 0, i);
        free(r);
    }
}

/* NFC is idempotent, also on every prefix of a mark-heavy string (which
   cuts UTF-8 sequences: those bytes pass through). */
static void test_idempotent_on_prefixes(void)
{
    static const char s[] = "o\xcc\x88\xcc\xa3\xe1\x84\x80\xe1\x85\xa1\xce\xb1\xcc\x93\xcd\x85"
                            "\xe0\xa4\x95\xe0\xa4\xbc\xf0\x9d\x85\x97\xf0\x9d\x85\xa5";

    for (size_t k = 0; k <= sizeof(s) - 1; k++) {
        size_t n1 = 0, n2 = 0;
        char *a = cm_nfc(s, k, &n1), *b = a != NULL ? cm_nfc(a, n1, &n2) : NULL;

        th_assert_idx(a != NULL && b != NULL && n1 == n2 && memcmp(a, b, n1) == 0, k);
        free(a);
        free(b);
    }
}

int main(void)
{
    th_run("nfc rows", test_rows);
    th_run("nfc idempotent on prefixes", test_idempotent_on_prefixes);
    return th_end();
}
