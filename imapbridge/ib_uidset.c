/* ib_uidset.c - UID sets over libetpan's struct mailimap_set (ib_uidset.h). */
#include "imapbridge/ib_uidset.h"

#include <libetpan/libetpan.h>

struct mailimap_set *ib_uidset_single(uint32_t uid)
{
    return mailimap_set_new_single(uid);
}

struct mailimap_set *ib_uidset_interval(uint32_t first, uint32_t last)
{
    return mailimap_set_new_interval(first, last);
}

struct mailimap_set *ib_uidset_of(const uint32_t *uids, size_t n)
{
    struct mailimap_set *set = mailimap_set_new_empty();

    for (size_t i = 0; set != NULL && i < n;) {
        size_t j = i;

        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (mailimap_set_add_interval(set, uids[i], uids[j]) != MAILIMAP_NO_ERROR) {
            mailimap_set_free(set);
            return NULL;
        }
        i = j + 1;
    }
    return set;
}

void ib_uidset_free(struct mailimap_set *set)
{
    if (set != NULL)
        mailimap_set_free(set);
}
