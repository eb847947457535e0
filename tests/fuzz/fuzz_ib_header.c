/* fuzz_ib_header.c - libFuzzer target for header decoding (ib_header.c,
 * ib_text.c): a raw header block is split into fields, every field is read
 * in every RFC 8621 form (RFC 2047 encoded words, addresses, groups,
 * message ids, dates, URLs), the convenience properties are built, and the
 * input's first line is also tried as a header:* property name and, whole,
 * as an unstructured value and a MIME parameter value. Every string that
 * comes out must be valid UTF-8 (jansson refuses anything else).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_header.h"
#include "imapbridge/ib_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const props[] = { "headers", "messageId", "inReplyTo", "references", "sender",
                                     "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
                                     "header:X-Any:asText:all", "header:List-Post:asURLs" };

static void check_utf8(const char *s)
{
    if (s != NULL && !ib_text_utf8_valid(s, strlen(s)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *raw = (const char *)data;
    struct ib_header_list *l = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_header_prop hp;
    size_t line = 0;
    char first[300], *out = NULL;
    json_t *j;
    bool known;

    if (size > 65536)
        return 0;
    while (line < size && raw[line] != '\r' && raw[line] != '\n') /* not NUL-terminated */
        line++;
    if (ib_header_parse(raw, size, &l, &err) == 0) {
        for (size_t i = 0; i < l->count && i < 64; i++) {
            for (int f = IB_HF_RAW; f <= IB_HF_URLS; f++) {
                j = ib_header_value_json(l->fields[i].value, l->fields[i].value_len,
                                         (enum ib_header_form)f);
                if (j == NULL)
                    abort(); /* only on out of memory */
                json_decref(j);
            }
            (void)ib_header_form_allowed(l->fields[i].name, IB_HF_ADDRESSES);
        }
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
            j = ib_header_email_prop(l, props[i], &known);
            if (!known || j == NULL)
                abort();
            json_decref(j);
        }
        ib_header_list_free(&l);
    }
    if (line < sizeof(first)) {
        memcpy(first, raw, line);
        first[line] = '\0';
        if (strlen(first) == line && ib_header_prop_parse(first, &hp, &err) == 0) {
            ib_header_list_free(&l);
            if (ib_header_parse("X: y\r\n", 6, &l, &err) == 0) {
                j = ib_header_get_json(l, hp.name, hp.form, hp.all);
                json_decref(j);
                ib_header_list_free(&l);
            }
        }
    }
    if (ib_text_header_decode(raw, size, &out, &err) == 0) {
        check_utf8(out);
        free(out);
    }
    out = NULL;
    if (ib_text_param_decode(raw, size, &out, &err) == 0) {
        check_utf8(out);
        free(out);
    }
    return 0;
}
