/* strutil.h -- small string helpers shared by the host. */
#ifndef CVL_UTIL_STRUTIL_H
#define CVL_UTIL_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Edit distance between two strings (Levenshtein, capped at 64 chars each). */
size_t cvl_edit_distance(const char *a, const char *b);

/* The candidate closest to `s`, or NULL when none is close enough to be a
 * plausible typo (distance > max(2, strlen(s) / 3)). */
const char *cvl_closest(const char *s, const char *const *candidates, size_t n);

/* strdup that returns NULL on NULL. */
char *cvl_strdup(const char *s);

bool cvl_str_ends_with(const char *s, const char *suffix);

#endif
