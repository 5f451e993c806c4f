/*
 * check_log: untrusted text is made printable and bounded before it
 * reaches a log line; stderr lines have the documented format.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check_main.h"
#include "log.h"

/* Printable ASCII stays, '\\' doubles, anything else is \xHH. */
START_TEST(sanitize_escapes_hostile_bytes)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "example.com", 11, "example.com" },
		{ "", 0, "" },
		{ "a b~", 4, "a b~" },
		{ "a\\b", 3, "a\\\\b" },
		{ "line\nforged: x", 14, "line\\x0aforged: x" },
		{ "\r\t\x1b[0m", 6, "\\x0d\\x09\\x1b[0m" },
		{ "\x7f\x80\xff", 3, "\\x7f\\x80\\xff" },
		{ "caf\xc3\xa9", 5, "caf\\xc3\\xa9" },
		{ "a\0b", 3, "a\\x00b" },
		{ "\\x41", 4, "\\\\x41" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dst[128];

		ck_assert_ptr_eq(log_sanitize(dst, sizeof(dst), cases[i].in,
		                     cases[i].len, 1000),
		    dst);
		ck_assert_str_eq(dst, cases[i].want);
	}
}
END_TEST

/* Input over max_in, or output over dst_size, ends in "..."; an escape
 * is never split, and what fits exactly is not cut. */
START_TEST(sanitize_cuts_with_dots)
{
	static const struct {
		const char *in;
		size_t max_in, dst_size;
		const char *want;
	} cases[] = {
		{ "abcdef", 3, 64, "abc..." },
		{ "abcdef", 6, 64, "abcdef" },
		{ "abcdef", 0, 64, "..." },
		{ "abc", 100, 4, "abc" }, /* exact fit: no cut */
		{ "abcd", 100, 4, "..." },
		{ "abcdefgh", 100, 8, "abcd..." },
		{ "abcdefgh", 100, 9, "abcdefgh" },
		{ "abcdef", 3, 7, "abc..." },
		{ "abcdef", 3, 6, "ab..." },
		{ "ab\n", 100, 7, "ab\\x0a" },
		{ "ab\n", 100, 6, "ab..." },
		{ "\n\n", 100, 8, "\\x0a..." },
		{ "\n\n", 100, 7, "..." },
		{ "a\\\\", 100, 5, "a..." }, /* "\\\\" is not split */
		{ "a\\\\", 100, 6, "a\\\\\\\\" },
		{ "abc", 100, 3, ".." },
		{ "abc", 100, 2, "." },
		{ "abc", 100, 1, "" },
		{ "", 100, 1, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dst[80];

		memset(dst, '#', sizeof(dst));
		log_sanitize(dst, cases[i].dst_size, cases[i].in,
		    strlen(cases[i].in), cases[i].max_in);
		ck_assert_msg(strcmp(dst, cases[i].want) == 0,
		    "case %zu: got \"%s\" want \"%s\"", i, dst, cases[i].want);
		/* nothing written past dst_size */
		ck_assert_int_eq(dst[cases[i].dst_size], '#');
	}
}
END_TEST

/* Whatever the sizes, the output fits, is terminated, and is printable. */
START_TEST(sanitize_never_overflows)
{
	char src[64], dst[300];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 37 + 1);
	for (size_t size = 1; size < 280; size++)
		for (size_t max_in = 0; max_in <= sizeof(src); max_in += 7) {
			size_t n;

			memset(dst, '#', sizeof(dst));
			log_sanitize(dst, size, src, sizeof(src), max_in);
			n = strlen(dst);
			ck_assert_uint_lt(n, size);
			ck_assert_int_eq(dst[size], '#');
			for (size_t j = 0; j < n; j++)
				ck_assert(dst[j] >= 0x20 && dst[j] < 0x7f);
		}
	/* dst_size 0: not even the NUL is written */
	dst[0] = '#';
	log_sanitize(dst, 0, "abc", 3, 10);
	ck_assert_int_eq(dst[0], '#');
}
END_TEST

START_TEST(level_names)
{
	static const struct {
		const char *name;
		int level;
	} cases[] = {
		{ "err", LOG_LEVEL_ERR },
		{ "warning", LOG_LEVEL_WARNING },
		{ "notice", LOG_LEVEL_NOTICE },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
		{ "", -1 },
		{ "INFO", -1 },
		{ "error", -1 },
		{ "info ", -1 },
		{ "warn", -1 },
		{ "crit", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(log_level_parse(cases[i].name) == cases[i].level,
		    "\"%s\"", cases[i].name);
}
END_TEST

START_TEST(facility_names)
{
	static const struct {
		const char *name;
		int facility;
	} cases[] = {
		{ "mail", LOG_MAIL },
		{ "daemon", LOG_DAEMON },
		{ "user", LOG_USER },
		{ "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
		{ "local8", -1 },
		{ "MAIL", -1 },
		{ "kern", -1 },
		{ "", -1 },
		{ "mail ", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(log_facility_parse(cases[i].name) ==
		        cases[i].facility,
		    "\"%s\"", cases[i].name);
}
END_TEST

/* Run fn with stderr sent to a temporary file; return what it wrote. */
static void
capture_stderr(void (*fn)(void), char *out, size_t size)
{
	char path[] = "/tmp/check_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	unlink(path);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	fn();
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	close(fd);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
}

static void
write_some_lines(void)
{
	log_open("check_log", true, LOG_MAIL);
	log_set_level(LOG_LEVEL_INFO);
	log_msg(LOG_LEVEL_ERR, "one %d", 1);
	log_msg(LOG_LEVEL_WARNING, "two");
	log_msg(LOG_LEVEL_NOTICE, "three");
	log_msg(LOG_LEVEL_INFO, "four %s", "4");
	log_msg(LOG_LEVEL_DEBUG, "dropped at info");
	log_set_level(LOG_LEVEL_ERR);
	log_msg(LOG_LEVEL_WARNING, "dropped at err");
	log_set_level(LOG_LEVEL_DEBUG);
	log_msg(LOG_LEVEL_DEBUG, "five");
	log_close();
}

/* "ident: level: text\n", one line per message, threshold respected. */
START_TEST(stderr_line_format)
{
	char out[1024];

	capture_stderr(write_some_lines, out, sizeof(out));
	ck_assert_str_eq(out,
	    "check_log: err: one 1\n"
	    "check_log: warning: two\n"
	    "check_log: notice: three\n"
	    "check_log: info: four 4\n"
	    "check_log: debug: five\n");
}
END_TEST

static void
write_long_line(void)
{
	char text[5000];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	log_open("check_log", true, LOG_MAIL);
	log_set_level(LOG_LEVEL_INFO);
	log_msg(LOG_LEVEL_INFO, "%s", text);
	log_msg(LOG_LEVEL_INFO, "after");
}

/* A message too long for one line is cut, but still ends the line, so
 * the next message starts on a line of its own. */
START_TEST(long_message_still_one_line)
{
	static char out[16384];
	char *nl;

	capture_stderr(write_long_line, out, sizeof(out));
	ck_assert_int_eq(strncmp(out, "check_log: info: xxx", 20), 0);
	nl = strchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_str_eq(nl + 1, "check_log: info: after\n");
}
END_TEST

START_TEST(enabled_follows_level)
{
	log_set_level(LOG_LEVEL_NOTICE);
	ck_assert_int_eq(log_enabled(LOG_LEVEL_ERR), 1);
	ck_assert_int_eq(log_enabled(LOG_LEVEL_NOTICE), 1);
	ck_assert_int_eq(log_enabled(LOG_LEVEL_INFO), 0);
	ck_assert_int_eq(log_enabled(LOG_LEVEL_DEBUG), 0);
	log_set_level(LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_enabled(LOG_LEVEL_DEBUG), 1);
	log_set_level(LOG_LEVEL_INFO);
	/* closing twice, or without opening syslog, is harmless */
	log_close();
	log_close();
}
END_TEST

static void
write_one_debug_line(void)
{
	log_open("check_log", true, LOG_MAIL);
	log_msg(LOG_LEVEL_DEBUG, "x");
}

static enum log_level agree_threshold, agree_level;

static void
write_at_agree_level(void)
{
	log_open("check_log", true, LOG_MAIL);
	log_set_level(agree_threshold);
	log_msg(agree_level, "x");
}

/* Callers skip the work behind a line (making a key printable, reading
 * the clock) when log_enabled says it would be dropped: it must say so
 * exactly when log_msg writes nothing, at every threshold. */
START_TEST(enabled_agrees_with_log_msg)
{
	char out[256];

	for (int t = LOG_LEVEL_ERR; t <= LOG_LEVEL_DEBUG; t++)
		for (int l = LOG_LEVEL_ERR; l <= LOG_LEVEL_DEBUG; l++) {
			agree_threshold = (enum log_level)t;
			agree_level = (enum log_level)l;
			capture_stderr(write_at_agree_level, out, sizeof(out));
			log_set_level(agree_threshold);
			ck_assert_msg(log_enabled(agree_level) ==
			        (out[0] != '\0'),
			    "threshold %d level %d: enabled %d, wrote \"%s\"",
			    t, l, log_enabled(agree_level), out);
		}
	log_set_level(LOG_LEVEL_INFO);
}
END_TEST

/* The default level is info: an answer from a cache, logged at debug,
 * costs no line unless asked for. */
START_TEST(default_level_drops_debug)
{
	char out[256];

	/* each test runs in a fresh process: nothing set the level yet */
	ck_assert_int_eq(log_enabled(LOG_LEVEL_INFO), 1);
	ck_assert_int_eq(log_enabled(LOG_LEVEL_DEBUG), 0);
	capture_stderr(write_one_debug_line, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("sanitize");

	tcase_add_test(tc, sanitize_escapes_hostile_bytes);
	tcase_add_test(tc, sanitize_cuts_with_dots);
	tcase_add_test(tc, sanitize_never_overflows);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, level_names);
	tcase_add_test(tc, facility_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("output");
	tcase_add_test(tc, stderr_line_format);
	tcase_add_test(tc, long_message_still_one_line);
	tcase_add_test(tc, enabled_follows_level);
	tcase_add_test(tc, enabled_agrees_with_log_msg);
	tcase_add_test(tc, default_level_drops_debug);
	suite_add_tcase(s, tc);
	return s;
}
