/* test_gw_gzip.c - Accept-Encoding negotiation and gzip round trip. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gateway/gw_gzip.h"
#include "harness/th.h"

static void test_accepted(void)
{
    static const struct {
        const char *ae;
        bool ok;
    } rows[] = {
        { NULL, false },          { "", false },
        { "gzip", true },         { "deflate, gzip;q=0.8", true },
        { "GZIP", true },         { "gzip;q=0", false },
        { "identity", false },    { "*", true },
        { "*;q=0, br", false },   { "gzip;q=0, *", false },
        { "br, *;q=0.1", true },  { "x-gzip", false },
        { "gzipped", false },     { " gzip ; q=1.0 ", true },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        th_assert_idx(gw_gzip_accepted(rows[i].ae) == rows[i].ok, i);
}

static void test_round_trip(void)
{
    char in[20000], back[20000];
    size_t zlen = 0;
    uLongf blen = sizeof(back);
    z_stream zs;
    char *z;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = "{\"id\":\"abc\"},"[i % 13];
    z = gw_gzip(in, sizeof(in), &zlen);
    th_assert(z != NULL && zlen < sizeof(in) / 10);
    th_assert((unsigned char)z[0] == 0x1f && (unsigned char)z[1] == 0x8b);
    memset(&zs, 0, sizeof(zs));
    th_assert(inflateInit2(&zs, 15 + 16) == Z_OK);
    zs.next_in = (Bytef *)z;
    zs.avail_in = (uInt)zlen;
    zs.next_out = (Bytef *)back;
    zs.avail_out = (uInt)blen;
    th_assert(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    th_assert(zs.total_out == sizeof(in) && memcmp(in, back, sizeof(in)) == 0);
    inflateEnd(&zs);
    free(z);
}

int main(void)
{
    th_run("accepted", test_accepted);
    th_run("round_trip", test_round_trip);
    return th_end();
}
