/* fuzz_ib_untagged.c - libFuzzer target for ib_untagged_classify, the classifier
 * of the untagged lines an IMAP server sends during IDLE and NOTIFY
 * (EXISTS, EXPUNGE, VANISHED, FETCH, STATUS, LIST, OK [codes], BYE, ...).
 * The input is a sequence of lines separated by LF (CR before it is
 * dropped, as the reader does); all of them go into one news record, as in
 * one IDLE round, which is then checked and reset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_untagged.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ib_untagged news;
    const char *p = (const char *)data, *end = p + size;

    memset(&news, 0, sizeof(news));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        char *line = malloc(len + 1);

        if (line == NULL)
            break;
        memcpy(line, p, len);
        line[len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        (void)ib_untagged_classify(&news, line, len); /* 0 or CM_ENOMEM */
        free(line);
        p = nl ? nl + 1 : end;
    }
    if (news.nstatuses > news.cap || news.nlists > news.lists_cap)
        abort();
    for (size_t i = 0; i < news.nstatuses; i++)
        if (news.statuses[i].imap_name == NULL)
            abort();
    for (size_t i = 0; i < news.nlists; i++)
        if (news.lists[i].imap_name == NULL)
            abort();
    (void)ib_untagged_any(&news);
    ib_untagged_reset(&news);
    return 0;
}
