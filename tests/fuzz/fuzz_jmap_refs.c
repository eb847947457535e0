/* fuzz_jmap_refs.c - libFuzzer target for JMAP result references and JSON
 * Pointer (RFC 8620 §3.7): the input is a method's arguments; they are
 * resolved against a fixed list of earlier responses. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "gateway/jmap/gw_jmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char responses_text[] =
    "[[\"Email/query\",{\"ids\":[\"a\",\"b\"],\"x\":{\"y\":[1,{\"z\":2}]}},\"0\"],"
    "[\"Email/get\",{\"list\":[{\"id\":\"a\",\"threadId\":\"t\"},{\"id\":\"b\"}]},\"1\"]]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *responses;
    const char *type = NULL, *why = NULL;
    json_t *args, *p;

    if (responses == NULL)
        responses = json_loads(responses_text, 0, NULL);
    args = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(args))
        (void)gw_jmap_resolve_refs(args, responses, &type, &why);
    /* the raw input as a pointer path, too */
    if (size < 512) {
        char path[512];

        for (size_t i = 0; i < size; i++)
            path[i] = data[i] ? (char)data[i] : '/';
        path[size] = '\0';
        p = gw_jmap_pointer(responses, path);
        json_decref(p);
    }
    json_decref(args);
    return 0;
}
