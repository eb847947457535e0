/* cm_buf.h - growable byte buffer with a hard cap (curl dynbuf).
 *
 * Every buffer fed by a peer has a cap: appending past max_bytes fails with
 * CM_ELIMIT and leaves the buffer as it was. The data is always followed by
 * a NUL byte (not counted in len), so text can be used as a C string.
 *
 * Ownership: the struct is embedded by the caller (_init/_fini); the data
 * belongs to the buffer until cm_buf_steal().
 * Threads: none; one owner at a time.
 */
#ifndef CM_BUF_H
#define CM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct cm_buf {
    char *data;       /* NULL until the first append */
    size_t len;
    size_t cap;       /* allocated bytes */
    size_t max_bytes; /* hard limit on len */
};

void cm_buf_init(struct cm_buf *b, size_t max_bytes);
void cm_buf_fini(struct cm_buf *b);
void cm_buf_reset(struct cm_buf *b); /* len = 0, keeps memory */

/* Returns 0, CM_ELIMIT past max_bytes, or CM_ENOMEM. */
/* Allocate room for extra more bytes now, exactly (no doubling), so that
   appends up to that size never move the data (a large body is then never
   held twice during a realloc). 0, CM_ELIMIT past max_bytes, CM_ENOMEM. */
int cm_buf_reserve(struct cm_buf *b, size_t extra) __attribute__((warn_unused_result));

int cm_buf_append(struct cm_buf *b, const void *data, size_t len)
    __attribute__((warn_unused_result));
int cm_buf_append_str(struct cm_buf *b, const char *s) __attribute__((warn_unused_result));
int cm_buf_printf(struct cm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));

/* Hand the data (NUL-terminated, malloc'd; never NULL on success) to the
   caller and reset the buffer. *len_r (may be NULL) gets the length.
   Returns NULL on allocation failure. */
char *cm_buf_steal(struct cm_buf *b, size_t *len_r);

#endif
