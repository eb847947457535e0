/* fuzz_ib_sortwin.c - libFuzzer target for the parsers of a sorted window's
 * answers (ib_sortwin.h): every line of the input (LF-separated, CR before
 * it dropped, as the reader does) goes to the ESEARCH PARTIAL parser of
 * tag 7 (window of at most 50) and to the FETCH parser with both GUID keys.
 * The input is not NUL-terminated where the parsers see it, so reading
 * past a line's end is caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_sortwin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *line, size_t len, struct ib_sortwin *w)
{
    static const char *const keys[] = { "X-GUID", "EMAILID" };

    (void)ib_sortwin_parse_esearch(line, len, 7, 50, w);
    if (w->n > 50)
        abort();
    for (size_t k = 0; k < 2; k++) {
        uint32_t uid = 0;
        char *guid = NULL;
        int rc = ib_sortwin_parse_fetch(line, len, keys[k], &uid, &guid);

        if ((rc == 1) != (guid != NULL) || (rc == 1 && (uid == 0 || strlen(guid) > 255)))
            abort();
        free(guid);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ib_sortwin w = { 0 };
    const char *p = (const char *)data, *end = p + size;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        char *line = malloc(len ? len : 1);   /* exactly the line: no NUL after it */

        if (line == NULL)
            break;
        memcpy(line, p, len);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        one_line(line, len, &w);
        free(line);
        p = nl ? nl + 1 : end;
    }
    ib_sortwin_fini(&w);
    return 0;
}
