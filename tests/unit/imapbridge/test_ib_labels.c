/* test_ib_labels.c - Gmail labels <-> folders, pure: system labels by
 * role, user labels by wire name, All Mail added unless the message is in
 * Trash or Spam, the label of each folder (none for All Mail, Trash,
 * Spam, a \Noselect one). */
#include <string.h>

#include "harness/th.h"
#include "imapbridge/ib_labels.h"
#include "imapbridge/ib_mailbox.h"

static struct ib_folder items[] = {
    { .imap_name = "INBOX", .role = "inbox", .selectable = true, .has_status = true },
    { .imap_name = "[Gmail]", .selectable = false },
    { .imap_name = "[Gmail]/All Mail", .role = "all", .selectable = true, .has_status = true },
    { .imap_name = "[Gmail]/Important", .role = "important", .selectable = true },
    { .imap_name = "[Gmail]/Sent Mail", .role = "sent", .selectable = true },
    { .imap_name = "[Gmail]/Spam", .role = "junk", .selectable = true },
    { .imap_name = "[Gmail]/Starred", .role = "flagged", .selectable = true },
    { .imap_name = "[Gmail]/Trash", .role = "trash", .selectable = true },
    { .imap_name = "Work", .selectable = true },
    { .imap_name = "&AMk-t&AOk-", .selectable = true }, /* "Été" */
};
static const struct ib_folder_list list = { items, sizeof(items) / sizeof(items[0]) };

static void test_folders_of_labels(void)
{
    char *labels[] = { "\\Inbox", "\\Important", "\\Starred", "Work", "&AMk-t&AOk-", "Gone",
                       "\\Sent" };
    char *trash[] = { "\\Trash", "Work" };
    const struct ib_folder *out[16];
    size_t n = ib_labels_folders(&list, &items[0], labels, 7, out);

    /* INBOX, All Mail, Important, Sent, Starred, Work, Été: l's order, once each */
    th_assert(n == 7);
    th_assert(out[0] == &items[0] && out[1] == &items[2] && out[2] == &items[3] &&
              out[3] == &items[4] && out[4] == &items[6] && out[5] == &items[8] &&
              out[6] == &items[9]);
    /* in Trash: not in All Mail */
    n = ib_labels_folders(&list, &items[7], trash, 2, out);
    th_assert(n == 2 && out[0] == &items[7] && out[1] == &items[8]);
    /* no labels at all (archived): its folder and All Mail */
    n = ib_labels_folders(&list, &items[2], NULL, 0, out);
    th_assert(n == 1 && out[0] == &items[2]);
}

static void test_label_of_folder(void)
{
    th_assert(strcmp(ib_labels_label_of(&items[0]), "\\Inbox") == 0);
    th_assert(ib_labels_label_of(&items[1]) == NULL); /* \Noselect */
    th_assert(ib_labels_label_of(&items[2]) == NULL); /* All Mail */
    th_assert(strcmp(ib_labels_label_of(&items[3]), "\\Important") == 0);
    th_assert(strcmp(ib_labels_label_of(&items[4]), "\\Sent") == 0);
    th_assert(ib_labels_label_of(&items[5]) == NULL && ib_labels_is_bin(&items[5]));
    th_assert(strcmp(ib_labels_label_of(&items[6]), "\\Starred") == 0);
    th_assert(ib_labels_label_of(&items[7]) == NULL && ib_labels_is_bin(&items[7]));
    th_assert(strcmp(ib_labels_label_of(&items[9]), "&AMk-t&AOk-") == 0);
    th_assert(ib_labels_all_mail(&list) == &items[2]);
}

int main(void)
{
    th_run("folders of a message's labels", test_folders_of_labels);
    th_run("the label of each folder", test_label_of_folder);
    return th_end();
}
