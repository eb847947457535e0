/* ib_labels.h - Gmail labels (X-GM-EXT-1) <-> folders: on Gmail a message
 * is one message with labels, shown in the folder of each label, and in
 * "[Gmail]/All Mail" (\All) unless it is in Trash or Spam.
 *
 * System labels name folders by SPECIAL-USE role: \Inbox inbox, \Sent
 * sent, \Draft drafts, \Important important, \Starred flagged, \Trash
 * trash, \Spam junk. Any other label is a folder's wire name (Gmail sends
 * labels in modified UTF-7, as folder names).
 *
 * Threads: pure; safe from any thread.
 */
#ifndef IB_LABELS_H
#define IB_LABELS_H

#include <stdbool.h>
#include <stddef.h>

struct ib_folder;
struct ib_folder_list;

/* The folders a message of folder f with labels[0..n) is in: f, the
   folder of each label the list has, and the All Mail folder unless f or
   a label is Trash or Spam. Into out[] (room for l->count), each once, in
   l's order; returns how many. */
size_t ib_labels_folders(const struct ib_folder_list *l, const struct ib_folder *f,
                         char *const *labels, size_t n, const struct ib_folder **out);

/* The label that puts a message into folder f ("\\Inbox", a user label's
   wire name), or NULL for a folder no label reaches: All Mail (every
   message is there), Trash and Spam (reached by a move), or one that
   cannot be selected. Borrowed (static or f's). */
const char *ib_labels_label_of(const struct ib_folder *f);

/* Is f Trash or Spam: where a message goes by a move, not by a label? */
bool ib_labels_is_bin(const struct ib_folder *f);

/* Of the folders wn[0..n) a message should be in, the one it goes into by
   APPEND or by a move out of Trash or Spam, the others being reached by
   their labels afterwards: Trash or Spam when wanted, else by rank
   Drafts, Sent (Gmail files a message by the folder it was appended to: a
   draft, a sent mail), INBOX, a user label, another system label
   (Important, Starred), All Mail; the first of wn[] within a rank. NULL
   when no wanted folder is selectable. */
const struct ib_folder *ib_labels_entry(const struct ib_folder *const *wn, size_t n);

/* The All Mail (\All) folder of l, selectable and listed with STATUS, or NULL. */
const struct ib_folder *ib_labels_all_mail(const struct ib_folder_list *l);

#endif
