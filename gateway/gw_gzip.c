/* gw_gzip.c - Accept-Encoding negotiation and one-shot gzip. */
#include "gateway/gw_gzip.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* q-value of one list element ("gzip;q=0.5" -> 0.5; no q -> 1). */
static double qvalue(const char *p, size_t n)
{
    const char *q = p;

    while ((q = memchr(q, ';', (size_t)(p + n - q))) != NULL) {
        q++;
        while (q < p + n && (*q == ' ' || *q == '\t'))
            q++;
        if (q + 2 <= p + n && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
            return strtod(q + 2, NULL);
    }
    return 1.0;
}

bool gw_gzip_accepted(const char *ae)
{
    double gzip = -1, star = -1;

    while (ae != NULL && *ae != '\0') {
        size_t n, tok;

        ae += strspn(ae, " \t");
        n = strcspn(ae, ",");
        tok = strcspn(ae, ";, \t");
        if (tok == 4 && strncasecmp(ae, "gzip", 4) == 0)
            gzip = qvalue(ae, n);
        else if (tok == 1 && ae[0] == '*')
            star = qvalue(ae, n);
        ae += n;
        if (*ae == ',')
            ae++;
    }
    return gzip >= 0 ? gzip > 0 : star > 0;
}

char *gw_gzip(const char *data, size_t len, size_t *out_len)
{
    z_stream zs;
    size_t cap;
    char *out;

    memset(&zs, 0, sizeof(zs));
    if (len > 0xffffffffu || deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
                                          Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    cap = deflateBound(&zs, (uLong)len);
    out = malloc(cap);
    if (out != NULL) {
        zs.next_in = (Bytef *)data;
        zs.avail_in = (uInt)len;
        zs.next_out = (Bytef *)out;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
            free(out);
            out = NULL;
        } else {
            *out_len = zs.total_out;
        }
    }
    deflateEnd(&zs);
    return out;
}
