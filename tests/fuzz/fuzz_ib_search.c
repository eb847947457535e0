/* fuzz_ib_search.c - libFuzzer target for the JMAP filter and sort
 * translation (ib_search, ib_sort): any JSON the client sends must give a
 * search key or a clean error, never a crash or a leak. */
#include <jansson.h>
#include <libetpan/libetpan.h>
#include <stdint.h>
#include <stdlib.h>

#include "imapbridge/ib_search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    struct mailimap_search_key *key = NULL;
    struct ib_sort_plan plan;
    struct cm_err err = CM_ERR_INIT;
    bool never = false, unsupported = false;

    if (in == NULL)
        return 0;
    if (json_is_object(in) &&
        ib_search_key_for_mailbox(in, "mA", NULL, &key, &never, &unsupported, &err) == 0 &&
        key != NULL) {
        char *text = ib_search_key_render(key);

        free(text);
        mailimap_search_key_free(key);
    }
    if (json_is_array(in) &&
        ib_sort_build(in, IB_SORT_CAP_SORT, &plan, &unsupported, &err) == 0) {
        char *text = ib_sort_render(&plan);

        free(text);
        ib_sort_plan_fini(&plan);
    }
    json_decref(in);
    return 0;
}
