/* check_main.h: each unit-test file defines the suite its program runs. */
#ifndef DANEMAP_CHECK_MAIN_H
#define DANEMAP_CHECK_MAIN_H

#include <check.h>
#include <stddef.h>

Suite *test_suite(void);

/* check_tmpdir: make a fresh /tmp/NAME.XXXXXX into dir (fails the test if
 * it cannot); check_tmpdir_remove: remove it and all it holds. */
void check_tmpdir(char *dir, size_t size, const char *name);
void check_tmpdir_remove(const char *dir);

#endif
