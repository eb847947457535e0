/* gw_jlabels.c - Email mailboxIds on Gmail, where they are labels
 * (ib_labels.h); on any other server an Email is in its one folder. */
#include <stdlib.h>

#include "gateway/jmap/gw_jmail.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_labels.h"

json_t *gw_jmail_mailbox_ids(const struct ib_folder_list *l, const struct ib_folder *f,
                             const struct ib_msg *m)
{
    const struct ib_folder **in = NULL, *only[1] = { f };
    json_t *o = json_object();
    size_t n = 1;

    if (o != NULL && l != NULL && m->has_labels) {
        in = calloc(l->count + 1, sizeof(*in));
        n = in ? ib_labels_folders(l, f, m->labels, m->nlabels, in) : 0;
        if (in == NULL)
            json_decref(o), o = NULL;
    }
    for (size_t i = 0; o != NULL && i < n; i++) {
        if (json_object_set_new(o, (in ? in[i] : only[i])->id, json_true()) < 0)
            json_decref(o), o = NULL;
    }
    free(in);
    return o;
}
