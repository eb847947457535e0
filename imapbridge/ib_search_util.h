/* ib_search_util.h - small helpers shared by ib_search.c (filters) and
 * ib_sort.c (sorts); internal to those two files. Pure. */
#ifndef IB_SEARCH_UTIL_H
#define IB_SEARCH_UTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "common/cm_err.h"

int ib_search_ascii_lower(int c);
int ib_search_ascii_casecmp(const char *a, const char *b);
bool ib_search_is_digit(int c);
/* *unsupported_r = true when unsupported_r is not NULL. */
void ib_search_set_unsupported(bool *unsupported_r);
/* A JSON string that is a valid JMAP keyword (RFC 8621 §4.1.1). */
bool ib_search_is_keyword_json(json_t *v);
/* cm_err_set(err, CM_ENOMEM, ...). */
int ib_search_nomem(struct cm_err *err);

#endif
