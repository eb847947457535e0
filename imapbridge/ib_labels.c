/* ib_labels.c - Gmail labels <-> folders (see ib_labels.h). */
#include "imapbridge/ib_labels.h"

#include <string.h>
#include <strings.h>

#include "imapbridge/ib_mailbox.h"

struct system_label {
    const char *label;
    const char *role;
};

static const struct system_label system_labels[] = {
    { "\\Inbox", "inbox" },         { "\\Sent", "sent" },        { "\\Draft", "drafts" },
    { "\\Important", "important" }, { "\\Starred", "flagged" }, { "\\Trash", "trash" },
    { "\\Spam", "junk" },
};
#define NSYSTEM (sizeof(system_labels) / sizeof(system_labels[0]))

static bool has_role(const struct ib_folder *f, const char *role)
{
    return f->role != NULL && strcmp(f->role, role) == 0;
}

bool ib_labels_is_bin(const struct ib_folder *f)
{
    return has_role(f, "trash") || has_role(f, "junk");
}

const struct ib_folder *ib_labels_all_mail(const struct ib_folder_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        if (has_role(&l->items[i], "all") && l->items[i].selectable && l->items[i].has_status)
            return &l->items[i];
    }
    return NULL;
}

/* The folder label names, or NULL. */
static const struct ib_folder *folder_of_label(const struct ib_folder_list *l, const char *label)
{
    for (size_t k = 0; label[0] == '\\' && k < NSYSTEM; k++) {
        if (strcasecmp(label, system_labels[k].label) != 0)
            continue;
        for (size_t i = 0; i < l->count; i++) {
            if (has_role(&l->items[i], system_labels[k].role) && l->items[i].selectable)
                return &l->items[i];
        }
        return NULL;
    }
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].selectable && strcmp(l->items[i].imap_name, label) == 0)
            return &l->items[i];
    }
    return NULL;
}

static size_t add_once(const struct ib_folder **out, size_t n, const struct ib_folder *f)
{
    for (size_t i = 0; f != NULL && i < n; i++) {
        if (out[i] == f)
            return n;
    }
    if (f != NULL)
        out[n++] = f;
    return n;
}

/* Sort out[0..n) into l's order (n is small: insertion). */
static void in_list_order(const struct ib_folder **out, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0 && out[k] < out[k - 1]; k--) {
            const struct ib_folder *t = out[k];

            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    }
}

size_t ib_labels_folders(const struct ib_folder_list *l, const struct ib_folder *f,
                         char *const *labels, size_t n, const struct ib_folder **out)
{
    size_t count = add_once(out, 0, f);
    bool bin = ib_labels_is_bin(f);

    for (size_t i = 0; i < n; i++) {
        const struct ib_folder *lf = folder_of_label(l, labels[i]);

        bin = bin || (lf != NULL && ib_labels_is_bin(lf));
        count = add_once(out, count, lf);
    }
    if (!bin)
        count = add_once(out, count, ib_labels_all_mail(l));
    in_list_order(out, count);
    return count;
}

const char *ib_labels_label_of(const struct ib_folder *f)
{
    if (!f->selectable || has_role(f, "all") || ib_labels_is_bin(f))
        return NULL;
    for (size_t k = 0; f->role != NULL && k < NSYSTEM; k++) {
        if (strcmp(f->role, system_labels[k].role) == 0)
            return system_labels[k].label;
    }
    return f->imap_name;
}

/* The rank of f as an entry (ib_labels_entry): lower first; 7 for none. */
static int entry_rank(const struct ib_folder *f)
{
    static const char *const by_role[] = { "drafts", "sent", "inbox" };
    const char *label = ib_labels_label_of(f);

    if (!f->selectable)
        return 7;
    if (ib_labels_is_bin(f))
        return 0;
    for (int i = 0; i < 3; i++) {
        if (has_role(f, by_role[i]))
            return 1 + i;
    }
    if (label != NULL)
        return label == f->imap_name ? 4 : 5;
    return 6; /* All Mail */
}

const struct ib_folder *ib_labels_entry(const struct ib_folder *const *wn, size_t n)
{
    const struct ib_folder *best = NULL;
    int rank = 7;

    for (size_t i = 0; i < n; i++) {
        int r = entry_rank(wn[i]);

        if (r < rank)
            best = wn[i], rank = r;
    }
    return best;
}
