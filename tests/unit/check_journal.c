/*
 * check_journal: keys appended by the daemon survive rotation by the
 * warmer, including keys written to the old file after the rename.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "journal.h"

static char dir[64], path[128];

static void
setup(void)
{
	check_tmpdir(dir, sizeof(dir), "check_journal");
	snprintf(path, sizeof(path), "%s/journal", dir);
}

static void
teardown(void)
{
	check_tmpdir_remove(dir);
}

struct seen {
	char keys[16][64];
	int n;
};

static int
collect(const char *key, size_t len, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 16);
	ck_assert_uint_lt(len, 64);
	memcpy(s->keys[s->n], key, len);
	s->keys[s->n][len] = '\0';
	s->n++;
	return 0;
}

#define APPEND(j, k, now) journal_append(j, k, strlen(k), now)

START_TEST(append_and_read)
{
	struct journal *j = journal_open(path);
	struct seen s = { .n = 0 };
	size_t skipped = 0;

	ck_assert_int_eq(journal_size(j), 0); /* not written yet */
	ck_assert_int_eq(APPEND(j, "a.example", 100), 0);
	ck_assert_int_eq(APPEND(j, "[mx.b.example]:587", 100), 0);
	/* hostile keys never reach the file */
	ck_assert_int_eq(APPEND(j, "bad key", 100), -1);
	ck_assert_int_eq(APPEND(j, "bad\nkey", 100), -1);
	ck_assert_int_eq(APPEND(j, "", 100), -1);
	/* the size of the file at the path: what the warmer will read */
	ck_assert_int_eq(journal_size(j),
	    (long long)strlen("a.example\n[mx.b.example]:587\n"));
	journal_close(j);
	ck_assert_int_eq(journal_read(path, collect, &s, &skipped), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.keys[0], "a.example");
	ck_assert_str_eq(s.keys[1], "[mx.b.example]:587");
	ck_assert_uint_eq(skipped, 0);
}
END_TEST

static int
collect_file(const char *file, void *arg)
{
	return journal_read(file, collect, arg, NULL);
}

START_TEST(rotation_loses_nothing)
{
	struct journal *j = journal_open(path);
	struct seen s = { .n = 0 };
	char rotated[256];

	ck_assert_int_eq(APPEND(j, "before.example", 100), 0);
	ck_assert_int_eq(journal_rotate(path, 100, rotated, sizeof(rotated)),
	    1);
	/* within the same second the daemon still writes to the old
	 * inode: that key lands in the rotated file */
	ck_assert_int_eq(APPEND(j, "late.example", 100), 0);
	/* a second later it notices the rename and starts a new file */
	ck_assert_int_eq(APPEND(j, "after.example", 101), 0);
	journal_close(j);

	ck_assert_int_eq(journal_rotated_each(path, collect_file, &s), 1);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.keys[0], "before.example");
	ck_assert_str_eq(s.keys[1], "late.example");
	s.n = 0;
	ck_assert_int_eq(journal_read(path, collect, &s, NULL), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.keys[0], "after.example");
	/* nothing to rotate is not an error */
	unlink(path);
	ck_assert_int_eq(journal_rotate(path, 102, rotated, sizeof(rotated)),
	    0);
}
END_TEST

START_TEST(malformed_lines_skipped)
{
	FILE *fp = fopen(path, "w");
	struct seen s = { .n = 0 };
	size_t skipped = 0;

	ck_assert_ptr_nonnull(fp);
	fputs("good.example\n\nwith space\n", fp);
	for (int i = 0; i < 3000; i++)
		fputc('x', fp);
	fputs("\nalso.good\nlast-without-newline", fp);
	fclose(fp);
	ck_assert_int_eq(journal_read(path, collect, &s, &skipped), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.keys[0], "good.example");
	ck_assert_str_eq(s.keys[1], "also.good");
	ck_assert_str_eq(s.keys[2], "last-without-newline");
	ck_assert_uint_eq(skipped, 2);
	ck_assert_int_eq(journal_read("/nonexistent/journal", collect, &s,
	                     NULL),
	    -1);
}
END_TEST

START_TEST(other_files_are_not_rotated_journals)
{
	struct seen s = { .n = 0 };
	char other[160];
	FILE *fp;

	snprintf(other, sizeof(other), "%s.lock", path);
	fp = fopen(other, "w");
	fputs("not.a.journal\n", fp);
	fclose(fp);
	snprintf(other, sizeof(other), "%s.123.456", path);
	fp = fopen(other, "w");
	fputs("rotated.example\n", fp);
	fclose(fp);
	ck_assert_int_eq(journal_rotated_each(path, collect_file, &s), 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.keys[0], "rotated.example");
}
END_TEST

/* The one place the journal's file name is spelt. */
START_TEST(path_in_state_dir)
{
	char buf[32];

	ck_assert_int_eq(journal_path("/var/lib/danemap", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/var/lib/danemap/journal");
	ck_assert_int_eq(journal_path("/var/lib/danemap", buf, 20), -1);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_and_read);
	tcase_add_test(tc, rotation_loses_nothing);
	tcase_add_test(tc, malformed_lines_skipped);
	tcase_add_test(tc, other_files_are_not_rotated_journals);
	tcase_add_test(tc, path_in_state_dir);
	suite_add_tcase(s, tc);
	return s;
}
