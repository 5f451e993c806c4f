/*
 * check_smtpreply: SMTP replies as RFC 5321 §4.2 writes them, and the
 * ways a server can get them wrong.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "smtpreply.h"

/* Feed s whole; the status, and *used. */
static enum smtpreply_status
feed(struct smtpreply *r, const char *s, size_t *used, const char **why)
{
	smtpreply_init(r);
	return smtpreply_feed(r, s, strlen(s), used, why);
}

START_TEST(single_and_multiline)
{
	static const struct {
		const char *in;
		int code;
		const char *text;
		bool starttls;
	} cases[] = {
		{ "220 mx.example.com ESMTP\r\n", 220, "mx.example.com ESMTP",
		    false },
		{ "250\r\n", 250, "", false },
		{ "250 ok\n", 250, "ok", false }, /* bare LF taken */
		{ "250-mx.example.com\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
		  "250 8BITMIME\r\n",
		    250, "mx.example.com", true },
		{ "250-mx\r\n250-starttls\r\n250 SIZE 10240000\r\n", 250, "mx",
		    true },
		/* only a keyword counts, not a word in the greeting line */
		{ "250-STARTTLS\r\n250 SIZE\r\n", 250, "STARTTLS", false },
		{ "250-mx\r\n250-STARTTLSX\r\n250 SIZE\r\n", 250, "mx", false },
		{ "454 4.7.0 TLS not available\r\n", 454,
		    "4.7.0 TLS not available", false },
		{ "554 5.7.1 no\r\n", 554, "5.7.1 no", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpreply r;
		size_t used;
		const char *why = NULL;

		ck_assert_msg(feed(&r, cases[i].in, &used, &why) ==
		        SMTPREPLY_DONE,
		    "case %zu: %s", i, why ? why : "not done");
		ck_assert_int_eq(used, strlen(cases[i].in));
		ck_assert_int_eq(r.code, cases[i].code);
		ck_assert_str_eq(r.text, cases[i].text);
		ck_assert_int_eq(r.starttls, cases[i].starttls);
	}
}
END_TEST

/* Bytes after the reply belong to what follows; a reply in pieces, down
 * to one byte at a time, reads the same. */
START_TEST(pieces_and_what_follows)
{
	const char *in = "250-mx\r\n250-STARTTLS\r\n250 OK\r\n220 next\r\n";
	struct smtpreply r;
	size_t used, total = 0;
	const char *why;

	ck_assert_int_eq(feed(&r, in, &used, &why), SMTPREPLY_DONE);
	ck_assert_int_eq(used, strlen(in) - strlen("220 next\r\n"));
	smtpreply_init(&r);
	for (;;) {
		enum smtpreply_status st =
		    smtpreply_feed(&r, in + total, 1, &used, &why);

		total += used;
		if (st == SMTPREPLY_DONE)
			break;
		ck_assert_int_eq(st, SMTPREPLY_MORE);
	}
	ck_assert_int_eq(total, strlen(in) - strlen("220 next\r\n"));
	ck_assert(r.starttls);
	ck_assert_str_eq(r.text, "mx");
	/* incomplete */
	ck_assert_int_eq(feed(&r, "250-mx\r\n250 O", &used, &why),
	    SMTPREPLY_MORE);
	ck_assert_int_eq(used, strlen("250-mx\r\n250 O"));
}
END_TEST

START_TEST(not_replies)
{
	static const char *const bad[] = {
		"HTTP/1.1 400 Bad Request\r\n",
		"25\r\n",
		"150 not for us\r\n",
		"600 out of range\r\n",
		"2x0 letters\r\n",
		"250x\r\n",
		"250-mx\r\n251 other code\r\n",
		"250 a\0b\r\n",
	};
	struct smtpreply r;
	size_t used;
	const char *why = NULL;
	char big[1100];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 7 ? 10 : strlen(bad[i]);

		smtpreply_init(&r);
		why = NULL;
		ck_assert_msg(smtpreply_feed(&r, bad[i], len, &used, &why) ==
		        SMTPREPLY_ERROR,
		    "accepted case %zu", i);
		ck_assert_ptr_nonnull(why);
	}
	/* a line that never ends */
	memset(big, 'a', sizeof(big));
	memcpy(big, "250 ", 4);
	smtpreply_init(&r);
	ck_assert_int_eq(smtpreply_feed(&r, big, sizeof(big), &used, &why),
	    SMTPREPLY_ERROR);
	/* a reply that never ends */
	smtpreply_init(&r);
	for (int i = 0; i <= SMTPREPLY_LINES_MAX; i++) {
		enum smtpreply_status st =
		    smtpreply_feed(&r, "250-x\r\n", 7, &used, &why);

		ck_assert_int_eq(st, i < SMTPREPLY_LINES_MAX ? SMTPREPLY_MORE
		                                             : SMTPREPLY_ERROR);
	}
}
END_TEST

/* The greeting text is kept printable and cut. */
START_TEST(text_sanitised)
{
	struct smtpreply r;
	size_t used;
	const char *why;
	char in[400];

	ck_assert_int_eq(feed(&r, "220 a\tb\x01" "c\r\n", &used, &why),
	    SMTPREPLY_DONE);
	ck_assert_str_eq(r.text, "a?b?c");
	memset(in, 'x', sizeof(in));
	memcpy(in, "220 ", 4);
	memcpy(in + sizeof(in) - 3, "\r\n", 3);
	ck_assert_int_eq(feed(&r, in, &used, &why), SMTPREPLY_DONE);
	ck_assert_uint_eq(strlen(r.text), SMTPREPLY_TEXT_MAX);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("smtpreply");
	TCase *tc = tcase_create("rfc5321 4.2");

	tcase_add_test(tc, single_and_multiline);
	tcase_add_test(tc, pieces_and_what_follows);
	tcase_add_test(tc, not_replies);
	tcase_add_test(tc, text_sanitised);
	suite_add_tcase(s, tc);
	return s;
}
