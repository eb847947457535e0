/* test_ib_store.c - which flags a client may set (the STORE paths are
   covered by the integration tier against Dovecot). */
#include "harness/th.h"
#include "imapbridge/ib_store.h"

static void test_flag_valid(void)
{
    static const char *const good[] = { "\\Seen", "\\seen", "\\Answered", "\\Flagged",
                                        "\\Deleted", "\\Draft", "$Forwarded", "$label1",
                                        "Junk", "NonJunk", "a" };
    static const char *const bad[] = { "", "\\Recent", "\\recent", "\\Foo", "\\", "a b",
                                       "a(b", "a)", "a{1}", "a]", "a%", "a*", "a\"b",
                                       "a\\b", "a\r\nb", "caf\xc3\xa9", "x\x7f" };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        th_assert_idx(ib_store_flag_valid(good[i]), i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        th_assert_idx(!ib_store_flag_valid(bad[i]), i);
    th_assert(!ib_store_flag_valid(NULL));
    {
        char longkw[300];

        for (size_t i = 0; i < sizeof(longkw) - 1; i++)
            longkw[i] = 'k';
        longkw[sizeof(longkw) - 1] = '\0';
        th_assert(!ib_store_flag_valid(longkw));
        longkw[255] = '\0';
        th_assert(ib_store_flag_valid(longkw));
    }
}

int main(void)
{
    th_run("store: flag syntax", test_flag_valid);
    return th_end();
}
