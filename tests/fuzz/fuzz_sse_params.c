/* fuzz_sse_params.c - libFuzzer target for the query parameters of the two
 * SSE surfaces: /jmap/eventsource types=, closeafter=, ping= and
 * /api/v1/events mailbox= (gateway/gw_sse_format.c). The input is split
 * at NUL bytes into (types, closeafter, ping, mailbox); a missing piece is
 * an absent parameter. Checks the contracts: ping never above the maximum,
 * names unique, non-empty, bounded and free of control characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "gateway/gw_sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *piece[4] = { NULL, NULL, NULL, NULL };
    struct cm_err err = CM_ERR_INIT;
    struct gw_sse_query q;
    char *text, **names = NULL;
    size_t n = 0, at = 0;
    unsigned int max = size > 0 ? data[0] % 70 : 8;

    if (size == 0)
        return 0;
    text = fuzz_text_after_mode(data, size);
    if (text == NULL)
        return 0;
    for (int i = 0; i < 4 && at < size; i++) {
        piece[i] = text + at;
        at += strlen(text + at) + 1;
    }
    if (gw_sse_parse_query(piece[0], piece[1], piece[2], 300, &q) == 0 && q.ping_secs > 300)
        abort();
    if (gw_sse_parse_mailboxes(piece[3], max, &names, &n, &err) == 0) {
        if (n == 0 || n > max || n > GW_SSE_MAX_FOLDERS)
            abort();
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(names[i]);

            if (len == 0 || len > GW_SSE_MAX_NAME || strchr(names[i], ',') != NULL)
                abort();
            for (size_t k = 0; k < len; k++)
                if ((unsigned char)names[i][k] < 0x20 || names[i][k] == 0x7f)
                    abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(names[i], names[j]) == 0)
                    abort();
        }
        gw_sse_names_free(names, n);
    } else if (names != NULL || n != 0) {
        abort();
    }
    free(text);
    return 0;
}
