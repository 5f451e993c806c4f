/*
 * check_record: the CDB value "1 <reply> <expires> <stored>" round-trips,
 * and anything else is refused, never guessed at (doc/design.md §6).
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "record.h"

START_TEST(round_trips)
{
	static const enum policy_reply replies[] = { POLICY_REPLY_DANE_ONLY,
		POLICY_REPLY_DANE, POLICY_REPLY_NOTFOUND };
	char buf[RECORD_MAX + 1];

	for (size_t i = 0; i < 3; i++) {
		struct record in = { replies[i], 1795000000, 1794996400, NULL, 0 }, out;
		int n = record_encode(&in, buf, sizeof(buf));

		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(record_decode(buf, (size_t)n, &out),
		    RECORD_OK);
		ck_assert_int_eq(out.reply, in.reply);
		ck_assert_int_eq(out.expires, in.expires);
		ck_assert_int_eq(out.stored, in.stored);
	}
	{
		struct record in = { POLICY_REPLY_DANE_ONLY, 5, 0, NULL, 0 };

		record_encode(&in, buf, sizeof(buf));
		ck_assert_str_eq(buf, "1 dane-only 5 0");
	}
}
END_TEST

START_TEST(encode_refuses)
{
	struct record temp = { POLICY_REPLY_TEMP, 1, 1, NULL, 0 };
	struct record neg = { POLICY_REPLY_DANE, -1, 1, NULL, 0 };
	struct record ok = { POLICY_REPLY_DANE, 1795000000, 1794996400, NULL,
		0 };
	char buf[64];

	ck_assert_int_eq(record_encode(&temp, buf, sizeof(buf)), -1);
	ck_assert_int_eq(record_encode(&neg, buf, sizeof(buf)), -1);
	ck_assert_int_eq(record_encode(&ok, buf, 10), -1);
}
END_TEST

START_TEST(decode_table)
{
	static const struct {
		const char *data;
		enum record_status want;
	} cases[] = {
		{ "1 dane 100 50", RECORD_OK },
		{ "1 notfound 0 0", RECORD_OK },
		{ "3 dane 100 50", RECORD_UNKNOWN_VERSION },
		{ "9999 anything at all", RECORD_UNKNOWN_VERSION },
		{ "", RECORD_CORRUPT },
		{ "1", RECORD_CORRUPT },
		{ "1 dane", RECORD_CORRUPT },
		{ "1 dane 100", RECORD_CORRUPT },
		{ "1 temp 100 50", RECORD_CORRUPT },
		{ "1 DANE 100 50", RECORD_CORRUPT },
		{ "1 dane 100 50 ", RECORD_CORRUPT },
		{ "1 dane 100 50 7", RECORD_CORRUPT },
		{ "1  dane 100 50", RECORD_CORRUPT },
		{ " 1 dane 100 50", RECORD_CORRUPT },
		{ "1 dane -100 50", RECORD_CORRUPT },
		{ "1 dane 0100 50", RECORD_CORRUPT },
		{ "1 dane 1x0 50", RECORD_CORRUPT },
		{ "01 dane 100 50", RECORD_CORRUPT },
		{ "x dane 100 50", RECORD_CORRUPT },
		{ "1 dane 99999999999999999999 50", RECORD_CORRUPT },
		{ "1 dane 9223372036854775807 50", RECORD_OK },
		{ "1 dane 9223372036854775808 50", RECORD_CORRUPT },
		{ "1 dane 100 50\n", RECORD_CORRUPT },
		/* version 2: an MTA-STS policy after the four fields */
		{ "2 notfound 100 50 40 abc enforce 86400 mx.example",
		    RECORD_OK },
		{ "2 notfound 100 50 40 abc none 0", RECORD_OK },
		{ "2 notfound 100 50", RECORD_CORRUPT },
		{ "2 notfound 100 50 ", RECORD_CORRUPT },
		{ "1 notfound 100 50 40 abc enforce 86400 mx.example",
		    RECORD_CORRUPT },
		{ "2 notfound 100 50 40 abc enforce 86400", RECORD_CORRUPT },
		{ "2 notfound 100 50 40 abc enforce 86400 mx=x",
		    RECORD_CORRUPT },
		{ "2 notfound 100 50 40 abc enforce 86400 mx.example ",
		    RECORD_CORRUPT },
		{ "3 notfound 100 50 40 abc enforce 86400 mx.example",
		    RECORD_UNKNOWN_VERSION },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct record r;

		ck_assert_msg(record_decode(cases[i].data,
		                  strlen(cases[i].data), &r) == cases[i].want,
		    "\"%s\"", cases[i].data);
	}
}
END_TEST

START_TEST(decode_never_reads_past_len)
{
	/* the buffer continues with valid-looking bytes past len */
	const char data[] = "1 dane 100 5099999";
	struct record r;

	ck_assert_int_eq(record_decode(data, 13, &r), RECORD_OK);
	ck_assert_int_eq(r.stored, 50);
	ck_assert_int_eq(record_decode(data, 12, &r), RECORD_OK);
	ck_assert_int_eq(r.stored, 5);
	ck_assert_int_eq(record_decode(data, 11, &r), RECORD_CORRUPT);
}
END_TEST

START_TEST(decode_embedded_nul)
{
	const char data[] = "1 dane 10\0 50";
	struct record r;

	ck_assert_int_eq(record_decode(data, sizeof(data) - 1, &r),
	    RECORD_CORRUPT);
}
END_TEST

/* A record with a policy is written as version 2 and reads back the same
 * text; without one it stays version 1 (readable by older danemaps). */
START_TEST(sts_round_trip)
{
	const char *text = "1700000000 id1 enforce 604800 mx.example "
	                   "*.example.net";
	struct record in = { POLICY_REPLY_NOTFOUND, 1795000000, 1794996400,
		text, strlen(text) },
		      out;
	char buf[RECORD_MAX + 1];
	int n = record_encode(&in, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf, "2 notfound 1795000000 1794996400 1700000000 "
	                      "id1 enforce 604800 mx.example *.example.net");
	ck_assert_int_eq(record_decode(buf, (size_t)n, &out), RECORD_OK);
	ck_assert_int_eq(out.reply, POLICY_REPLY_NOTFOUND);
	ck_assert_int_eq(out.stored, 1794996400);
	ck_assert_uint_eq(out.sts_len, strlen(text));
	ck_assert_int_eq(memcmp(out.sts, text, out.sts_len), 0);
	ck_assert_ptr_eq(out.sts, buf + n - strlen(text));
	in.sts = NULL;
	ck_assert_int_gt(n = record_encode(&in, buf, sizeof(buf)), 0);
	ck_assert_int_eq(buf[0], '1');
	ck_assert_int_eq(record_decode(buf, (size_t)n, &out), RECORD_OK);
	ck_assert_ptr_null(out.sts);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, encode_refuses);
	tcase_add_test(tc, decode_table);
	tcase_add_test(tc, decode_never_reads_past_len);
	tcase_add_test(tc, decode_embedded_nul);
	tcase_add_test(tc, sts_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
