/*
 * check_control: the control socket's requests, exactly: three commands,
 * keys one space apart, anything else refused with a reason; and the two
 * reply statuses.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "control.h"

static enum control_command
parse(const char *s, const char **args, size_t *args_len, const char **why)
{
	return control_parse(s, strlen(s), args, args_len, why);
}

START_TEST(commands)
{
	const char *args, *why, *key;
	size_t args_len, pos = 0, key_len;

	ck_assert_int_eq(parse("stats", &args, &args_len, &why), CONTROL_STATS);
	ck_assert_ptr_null(args);
	ck_assert_int_eq(parse("flush-all", &args, &args_len, &why),
	    CONTROL_FLUSH_ALL);
	ck_assert_int_eq(parse("flush a.example [mx.b.example]:587", &args,
	                     &args_len, &why),
	    CONTROL_FLUSH);
	ck_assert(control_next_key(args, args_len, &pos, &key, &key_len));
	ck_assert_int_eq(key_len, 9);
	ck_assert(memcmp(key, "a.example", 9) == 0);
	ck_assert(control_next_key(args, args_len, &pos, &key, &key_len));
	ck_assert_int_eq(key_len, 18);
	ck_assert(memcmp(key, "[mx.b.example]:587", 18) == 0);
	ck_assert(!control_next_key(args, args_len, &pos, &key, &key_len));
}
END_TEST

START_TEST(bad_requests_are_refused_with_a_reason)
{
	static const char *const bad[] = { "", "stat", "stats ", "STATS",
		"flush", "flush ", "flush  a.example", "flush a.example ",
		"flush a.example  b.example", "flush\ta.example",
		"flush a.\x01xample", "flush a.\xc3\xa9xample", "flushall",
		"flush-all now", "flush-alla" };
	const char *args, *why;
	size_t args_len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &args, &args_len, &why) ==
		        CONTROL_BAD,
		    "accepted \"%s\"", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(args);
	}
	/* a NUL inside is not the end of the request */
	ck_assert_int_eq(control_parse("stats\0x", 7, &args, &args_len, &why),
	    CONTROL_BAD);
}
END_TEST

START_TEST(replies)
{
	const char *text;
	size_t len;
	bool ok;

	ck_assert(control_reply_parse("OK flushed 2", 12, &ok, &text, &len));
	ck_assert(ok);
	ck_assert_int_eq(len, 9);
	ck_assert(memcmp(text, "flushed 2", 9) == 0);
	ck_assert(control_reply_parse("ERR refused", 11, &ok, &text, &len));
	ck_assert(!ok);
	ck_assert_int_eq(len, 7);
	ck_assert(control_reply_parse("OK ", 3, &ok, &text, &len));
	ck_assert_int_eq(len, 0);
	ck_assert(!control_reply_parse("OK", 2, &ok, &text, &len));
	ck_assert(!control_reply_parse("NOTFOUND ", 9, &ok, &text, &len));
	ck_assert_ptr_null(text);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("control");

	tcase_add_test(tc, commands);
	tcase_add_test(tc, bad_requests_are_refused_with_a_reason);
	tcase_add_test(tc, replies);
	suite_add_tcase(s, tc);
	return s;
}
