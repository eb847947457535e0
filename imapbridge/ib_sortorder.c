/* ib_sortorder.c - folders' sortOrder in one METADATA entry (see
 * ib_sortorder.h). */
#include "imapbridge/ib_sortorder.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "common/cm_buf.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_metadata.h"
#include "imapbridge/ib_session.h"

bool ib_sortorder_supported(struct ib_session *s)
{
    return ib_metadata_supported(s);
}

int ib_sortorder_send(struct ib_session *s, int *tag_r, struct cm_err *err)
{
    *tag_r = 0;
    if (!ib_sortorder_supported(s))
        return 0;
    return ib_metadata_get_send(s, IB_SORTORDER_ENTRY, tag_r, err);
}

int ib_sortorder_recv(struct ib_session *s, int tag, struct ib_folder_list *l,
                      struct cm_err *err)
{
    char *value = NULL;
    int rc = ib_metadata_get_recv(s, tag, IB_SORTORDER_ENTRY, &value, err);

    if (rc == CM_EPERM && !ib_session_is_broken(s)) {
        cm_err_clear(err); /* refused: no orders, the listing stands */
        rc = 0;
    }
    if (rc == 0)
        ib_sortorder_apply(l, value);
    free(value);
    return rc;
}

int ib_sortorder_load(struct ib_session *s, struct ib_folder_list *l, struct cm_err *err)
{
    int tag = 0, rc = ib_sortorder_send(s, &tag, err);

    if (rc < 0 || tag == 0)
        return rc;
    if (mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        return ib_session_check(s, MAILIMAP_ERROR_STREAM, "GETMETADATA", err);
    return ib_sortorder_recv(s, tag, l, err);
}

int ib_sortorder_store(struct ib_session *s, const struct ib_folder_list *l, struct cm_err *err)
{
    char *value = ib_sortorder_encode(l);
    int rc;

    if (value == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    if (strlen(value) > IB_METADATA_MAX_VALUE)
        rc = cm_err_set(err, CM_ELIMIT, "too many mailboxes with a sortOrder");
    else
        rc = ib_metadata_set(s, IB_SORTORDER_ENTRY, value[0] ? value : NULL, err);
    free(value);
    return rc;
}

/* One "id=n" pair (ends at ',' or the end) onto its folder. */
static void apply_pair(struct ib_folder_list *l, const char *p, size_t len)
{
    const char *eq = memchr(p, '=', len);
    char digits[24], *end = NULL;
    size_t idlen, dlen;
    unsigned long long n;

    if (eq == NULL)
        return;
    idlen = (size_t)(eq - p);
    dlen = len - idlen - 1;
    if (dlen == 0 || dlen >= sizeof(digits) || strspn(eq + 1, "0123456789") < dlen)
        return;
    memcpy(digits, eq + 1, dlen);
    digits[dlen] = '\0';
    n = strtoull(digits, &end, 10);
    if (n > IB_SORTORDER_MAX)
        return;
    for (size_t i = 0; i < l->count; i++) {
        const char *id = l->items[i].id;

        if (id != NULL && strlen(id) == idlen && memcmp(id, p, idlen) == 0)
            l->items[i].sort_order = n;
    }
}

void ib_sortorder_apply(struct ib_folder_list *l, const char *value)
{
    for (size_t i = 0; i < l->count; i++)
        l->items[i].sort_order = 0;
    while (value != NULL && *value != '\0') {
        size_t len = strcspn(value, ",");

        apply_pair(l, value, len);
        value += len + (value[len] == ',');
    }
}

char *ib_sortorder_encode(const struct ib_folder_list *l)
{
    struct cm_buf b;
    char *out;

    cm_buf_init(&b, 2 * IB_METADATA_MAX_VALUE);
    for (size_t i = 0; i < l->count; i++) {
        const struct ib_folder *f = &l->items[i];

        if (f->sort_order == 0 || f->id == NULL)
            continue;
        if (cm_buf_printf(&b, "%s%s=%" PRIu64, b.len ? "," : "", f->id, f->sort_order) < 0) {
            cm_buf_fini(&b);
            return NULL;
        }
    }
    out = strndup(b.data ? b.data : "", b.len);
    cm_buf_fini(&b);
    return out;
}
