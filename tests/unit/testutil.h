/* testutil.h -- helpers shared by the unit tests: temp dirs and failing allocation. */
#ifndef CAIRN_TESTUTIL_H
#define CAIRN_TESTUTIL_H

#include <stddef.h>

/* A fresh empty directory under $CAIRN_TEST_TMP (or /tmp); caller frees the string
 * and may remove the directory with test_rmdir_r. */
char *test_mkdtemp(const char *prefix);
void test_rmdir_r(const char *path);
/* Read a whole file; caller frees. NULL if it cannot. */
char *test_read_file(const char *path, size_t *len);
/* A NUL-terminated copy of p[0..n); aborts when out of memory. Caller frees. */
char *test_strndup(const char *p, size_t n);
/* In a table case's `{a="b"} line`: the index of the '}' that closes the labels
 * (quoted strings skipped), or n when there is none. */
size_t test_labels_end(const char *p, size_t n);

#endif
