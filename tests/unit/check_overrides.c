/*
 * check_overrides: the overrides file: what a line may say, what a bad
 * line gets (its number and why, the rest still applies), until, lookup.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "overrides.h"

static struct overrides o;
static char bad_lines[4096];

static void
bad(void *arg, unsigned line, const char *why)
{
	size_t off = strlen(bad_lines);

	(void)arg;
	snprintf(bad_lines + off, sizeof(bad_lines) - off, "%u: %s\n", line,
	    why);
}

static int
parse(const char *text)
{
	bad_lines[0] = '\0';
	return overrides_parse(text, strlen(text), &o, bad, NULL);
}

static void
teardown(void)
{
	overrides_free(&o);
}

START_TEST(good_lines)
{
	struct override *ov;

	ck_assert_int_eq(parse("# broken TLSA, fix promised\n"
	                       "Broken.Example. NOTFOUND until 2026-12-10\n"
	                       "\n"
	                       "  temp.example TEMP\n"
	                       "why.example TEMP waiting for their DNS\r\n"
	                       "[mx.example]:587 OK dane-only\n"
	                       "sec.example OK secure match=.sec.example "
	                       "servername=hostname until 2027-01-02T03:04\n"
	                       "enc.example\tOK\tencrypt"),
	    0);
	ck_assert_str_eq(bad_lines, "");
	ck_assert_uint_eq(o.n, 6);
	ov = overrides_find(&o, "broken.example");
	ck_assert_ptr_nonnull(ov);
	ck_assert_int_eq(ov->status, SOCKMAP_NOTFOUND);
	ck_assert_int_eq(ov->until, 1796860800); /* 2026-12-10T00:00Z */
	ck_assert_uint_eq(ov->line, 2);
	ov = overrides_find(&o, "temp.example");
	ck_assert_int_eq(ov->status, SOCKMAP_TEMP);
	ck_assert_str_eq(ov->text, "override");
	ck_assert_int_eq(ov->until, 0);
	ck_assert_str_eq(overrides_find(&o, "why.example")->text,
	    "waiting for their DNS");
	ov = overrides_find(&o, "[mx.example]:587");
	ck_assert_ptr_nonnull(ov);
	ck_assert_int_eq(ov->status, SOCKMAP_OK);
	ck_assert_str_eq(ov->text, "dane-only");
	ov = overrides_find(&o, "sec.example");
	ck_assert_str_eq(ov->text,
	    "secure match=.sec.example servername=hostname");
	ck_assert_int_eq(ov->until, 1798859040); /* 2027-01-02T03:04Z */
	ck_assert_str_eq(overrides_find(&o, "enc.example")->text, "encrypt");
	ck_assert_ptr_null(overrides_find(&o, "other.example"));
}
END_TEST

/* Each bad line is reported with its number and skipped. */
START_TEST(bad_lines_reported)
{
	ck_assert_int_eq(parse("ok.example NOTFOUND\n"
	                       "lonely.example\n"
	                       "x.example MAYBE\n"
	                       "x.example OK\n"
	                       "x.example OK plaintext\n"
	                       "x.example OK secure match={a b}\n"
	                       "x.example OK secure Match=x\n"
	                       "x.example NOTFOUND please\n"
	                       "x.example NOTFOUND until 2026-13-01\n"
	                       "x.example NOTFOUND until 2027-02-30\n"
	                       "x.example NOTFOUND until 2026-12-10T25:00\n"
	                       "x.example NOTFOUND until tomorrow\n"
	                       "bad..name NOTFOUND\n"
	                       "[192.0.2.1] NOTFOUND\n"
	                       "ok.example TEMP\n"
	                       "last.example OK dane\n"
	                       "x.example OK secure match=a,bogus\n"
	                       "x.example OK secure foo=bar\n"
	                       "x.example OK fingerprint\n"
	                       "x.example until 2099-01-01\n"),
	    0);
	ck_assert_uint_eq(o.n, 2);
	ck_assert_int_eq(overrides_find(&o, "ok.example")->status,
	    SOCKMAP_NOTFOUND); /* the first line for a key */
	ck_assert_str_eq(overrides_find(&o, "last.example")->text, "dane");
	ck_assert_ptr_null(overrides_find(&o, "x.example"));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "2: a key and a reply are needed\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "3: the reply is not OK, NOTFOUND or TEMP\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "4: OK needs a TLS security level\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "5: not a Postfix TLS security level after OK\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n6: an attribute is not"));
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n7: an attribute is not"));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "8: NOTFOUND takes nothing after it\n"));
	for (unsigned l = 9; l <= 12; l++) {
		char want[64];

		snprintf(want, sizeof(want), "\n%u: until wants ", l);
		ck_assert_msg(strstr(bad_lines, want) != NULL, "line %u: %s", l,
		    bad_lines);
	}
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n13: "));
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n14: "));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "15: ok.example is overridden already at line 1\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n17: an attribute is not"));
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n18: an attribute is not"));
	ck_assert_ptr_nonnull(strstr(bad_lines,
	    "19: fingerprint needs match=\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines, "\n20: "));
}
END_TEST

/* Lines a file could hold by mistake: too long, too many words, a NUL;
 * and the earliest until there is. */
START_TEST(odd_lines)
{
	char text[4000];
	struct override *ov;
	size_t off = 0;

	off += (size_t)snprintf(text + off, sizeof(text) - off, "l.example TEMP ");
	memset(text + off, 'a', 2500);
	off += 2500;
	off += (size_t)snprintf(text + off, sizeof(text) - off,
	    "\nm.example TEMP");
	for (int i = 0; i < 70; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, " w");
	off += (size_t)snprintf(text + off, sizeof(text) - off,
	    "\nn.example NOTFOUND until 1970-01-01\n");
	bad_lines[0] = '\0';
	ck_assert_int_eq(overrides_parse(text, off, &o, bad, NULL), 0);
	ck_assert_ptr_nonnull(strstr(bad_lines, "1: the line is too long\n"));
	ck_assert_ptr_nonnull(strstr(bad_lines, "2: too many words\n"));
	ov = overrides_find(&o, "n.example");
	ck_assert_ptr_nonnull(ov);
	ck_assert(ov->has_until);
	ck_assert(!override_applies(ov, 1)); /* not "for ever" */
	bad_lines[0] = '\0';
	ck_assert_int_eq(overrides_parse("z.example NOTFOUND\0junk\n", 24, &o,
	                     bad, NULL),
	    0);
	ck_assert_uint_eq(o.n, 0);
	ck_assert_str_eq(bad_lines, "1: a NUL byte\n");
}
END_TEST

START_TEST(until_applies)
{
	struct override *ov;
	char buf[32];

	ck_assert_int_eq(parse("a.example NOTFOUND until 2026-12-10T12:30\n"
	                       "b.example NOTFOUND\n"),
	    0);
	ov = overrides_find(&o, "a.example");
	ck_assert(override_applies(ov, 1796905800 - 1));
	ck_assert(!override_applies(ov, 1796905800));
	ck_assert_str_eq(overrides_until_text(ov, buf, sizeof(buf)),
	    "2026-12-10T12:30Z");
	ov = overrides_find(&o, "b.example");
	ck_assert(override_applies(ov, 4000000000));
	ck_assert_str_eq(overrides_until_text(ov, buf, sizeof(buf)),
	    "for ever");
}
END_TEST

/* A file that cannot be read leaves what was loaded as it was. */
START_TEST(load_keeps_old_on_failure)
{
	char dir[256], path[300], err[400];
	FILE *fp;

	check_tmpdir(dir, sizeof(dir), "check_overrides");
	snprintf(path, sizeof(path), "%s/overrides", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("a.example TEMP\nnot a line\n", fp);
	fclose(fp);
	bad_lines[0] = '\0';
	ck_assert_int_eq(overrides_load(path, &o, bad, NULL, NULL, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(o.n, 1);
	ck_assert_str_eq(bad_lines,
	    "2: the reply is not OK, NOTFOUND or TEMP\n");
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(overrides_load(path, &o, bad, NULL, NULL, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_uint_eq(o.n, 1);
	ck_assert_int_eq(overrides_load(dir, &o, bad, NULL, NULL, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert_uint_eq(o.n, 1);
	check_tmpdir_remove(dir);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("overrides");
	TCase *tc = tcase_create("overrides");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, good_lines);
	tcase_add_test(tc, bad_lines_reported);
	tcase_add_test(tc, until_applies);
	tcase_add_test(tc, odd_lines);
	tcase_add_test(tc, load_keeps_old_on_failure);
	suite_add_tcase(s, tc);
	return s;
}
