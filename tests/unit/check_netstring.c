/*
 * check_netstring: the socketmap framing "<len>:<payload>," (doc/design.md §2),
 * decoded strictly and incrementally, encoded exactly.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "netstring.h"

#define LIMIT 10000

static enum netstring_status
decode(const char *buf, size_t len, size_t max, const char **payload,
    size_t *plen, size_t *used)
{
	return netstring_decode(buf, len, max, payload, plen, used);
}

/* Whole, valid netstrings decode to their payload and length. */
START_TEST(complete_netstrings_decode)
{
	static const struct {
		const char *in;
		size_t in_len;
		const char *payload;
		size_t payload_len;
	} cases[] = {
		{ "0:,", 3, "", 0 },
		{ "1:a,", 4, "a", 1 },
		{ "9:NOTFOUND ,", 12, "NOTFOUND ", 9 },
		{ "21:tlspolicy example.com,", 25, "tlspolicy example.com",
		    21 },
		/* the payload is opaque: ':' ',' and NUL inside are data */
		{ "5:a:,\0b,", 8, "a:,\0b", 5 },
		/* bytes after the terminator belong to the next netstring */
		{ "1:x,garbage", 11, "x", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *payload = NULL;
		size_t plen = 99, used = 99;

		ck_assert_int_eq(decode(cases[i].in, cases[i].in_len, LIMIT,
		                     &payload, &plen, &used),
		    NETSTRING_DONE);
		ck_assert_uint_eq(plen, cases[i].payload_len);
		ck_assert_mem_eq(payload, cases[i].payload, plen);
		ck_assert_ptr_eq(payload, strchr(cases[i].in, ':') + 1);
		ck_assert_uint_eq(used,
		    (size_t)(strchr(cases[i].in, ':') - cases[i].in) + 2 +
		        plen);
	}
}
END_TEST

/* Strictness: every malformed prefix or terminator is refused. */
START_TEST(malformed_netstrings_are_refused)
{
	static const struct {
		const char *in;
		enum netstring_status want;
	} cases[] = {
		{ ":", NETSTRING_ERR_LENGTH },     /* empty length */
		{ ":a,", NETSTRING_ERR_LENGTH },   /* empty length */
		{ "a:b,", NETSTRING_ERR_LENGTH },  /* non-digit */
		{ "1a:b,", NETSTRING_ERR_LENGTH }, /* non-digit after digit */
		{ "-1:a,", NETSTRING_ERR_LENGTH }, /* sign */
		{ "+1:a,", NETSTRING_ERR_LENGTH }, /* sign */
		{ " 1:a,", NETSTRING_ERR_LENGTH }, /* white space */
		{ "1 :a,", NETSTRING_ERR_LENGTH }, /* white space */
		{ "01:a,", NETSTRING_ERR_LENGTH }, /* leading zero */
		{ "00:,", NETSTRING_ERR_LENGTH },  /* leading zero */
		{ "1:a;", NETSTRING_ERR_TERMINATOR },   /* wrong terminator */
		{ "1:ab,", NETSTRING_ERR_TERMINATOR },  /* payload too long */
		{ "3:ab,x", NETSTRING_ERR_TERMINATOR }, /* too short */
		{ "0:x", NETSTRING_ERR_TERMINATOR },    /* missing */
		{ "10001:", NETSTRING_ERR_TOOLONG },    /* over the limit */
		{ "99999999999999999999999999999999", NETSTRING_ERR_TOOLONG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *payload = NULL;
		size_t plen = 7, used = 7;

		ck_assert_msg(decode(cases[i].in, strlen(cases[i].in), LIMIT,
		                  &payload, &plen, &used) == cases[i].want,
		    "case %zu \"%s\"", i, cases[i].in);
		/* outputs are left alone unless DONE */
		ck_assert_ptr_null(payload);
		ck_assert_uint_eq(plen, 7);
		ck_assert_uint_eq(used, 7);
	}
}
END_TEST

/* The limit is judged from the digits alone, before any payload, so a
 * peer cannot make us wait for (or buffer) an oversized request. */
START_TEST(length_over_limit_seen_from_digits)
{
	static const struct {
		const char *in;
		size_t limit;
		enum netstring_status want;
	} cases[] = {
		{ "10000", 10000, NETSTRING_NEED_MORE },
		{ "10000:", 10000, NETSTRING_NEED_MORE },
		{ "10001", 10000, NETSTRING_ERR_TOOLONG },
		{ "100000", 10000, NETSTRING_ERR_TOOLONG },
		{ "2", 1, NETSTRING_ERR_TOOLONG },
		{ "1", 0, NETSTRING_ERR_TOOLONG },
		{ "0:,", 0, NETSTRING_DONE },
		{ "1:a,", 1, NETSTRING_DONE },
		/* 2^64 and beyond: no wrap-around to a small length */
		{ "18446744073709551616:", SIZE_MAX, NETSTRING_ERR_TOOLONG },
		{ "18446744073709551615", SIZE_MAX, NETSTRING_NEED_MORE },
		{ "184467440737095516150", SIZE_MAX, NETSTRING_ERR_TOOLONG },
		{ "99999999999999999999999", SIZE_MAX, NETSTRING_ERR_TOOLONG },
		{ "18446744073709551615:", SIZE_MAX, NETSTRING_NEED_MORE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *payload;
		size_t plen, used;

		ck_assert_msg(decode(cases[i].in, strlen(cases[i].in),
		                  cases[i].limit, &payload, &plen,
		                  &used) == cases[i].want,
		    "case %zu \"%s\"", i, cases[i].in);
	}
}
END_TEST

/* Incremental: every proper prefix of a valid netstring needs more. */
START_TEST(every_prefix_needs_more)
{
	static const char *const valid[] = { "0:,", "1:a,",
		"21:tlspolicy example.com,", "10:0123456789," };

	for (size_t v = 0; v < sizeof(valid) / sizeof(valid[0]); v++) {
		size_t len = strlen(valid[v]);
		const char *payload;
		size_t plen, used;

		for (size_t cut = 0; cut < len; cut++)
			ck_assert_msg(decode(valid[v], cut, LIMIT, &payload,
			                  &plen, &used) == NETSTRING_NEED_MORE,
			    "\"%s\" cut at %zu", valid[v], cut);
		ck_assert_int_eq(decode(valid[v], len, LIMIT, &payload, &plen,
		                     &used),
		    NETSTRING_DONE);
		ck_assert_uint_eq(used, len);
	}
}
END_TEST

/* Postfix reuses one connection: requests arrive back to back. */
START_TEST(back_to_back_netstrings)
{
	static const char buf[] = "3:abc,0:,5:hello,2:x";
	const char *want[] = { "abc", "", "hello" };
	const char *payload;
	size_t plen, used, off = 0, len = sizeof(buf) - 1;

	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(decode(buf + off, len - off, LIMIT, &payload,
		                     &plen, &used),
		    NETSTRING_DONE);
		ck_assert_uint_eq(plen, strlen(want[i]));
		ck_assert_mem_eq(payload, want[i], plen);
		off += used;
	}
	ck_assert_int_eq(decode(buf + off, len - off, LIMIT, &payload, &plen,
	                     &used),
	    NETSTRING_NEED_MORE);
}
END_TEST

/* encode writes exactly "<len>:<payload>," and decode reads it back. */
START_TEST(encode_round_trips)
{
	static const struct {
		const char *payload;
		size_t len;
		const char *want;
	} cases[] = {
		{ "", 0, "0:," },
		{ "NOTFOUND ", 9, "9:NOTFOUND ," },
		{ "OK dane-only", 12, "12:OK dane-only," },
		{ "a\0b", 3, "3:a\0b," },
	};
	char big[12000], out[12100];
	const char *payload;
	size_t plen, used;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dst[64];
		size_t want_len =
		    (size_t)(strchr(cases[i].want, ':') - cases[i].want) + 2 +
		    cases[i].len;
		long n = netstring_encode(dst, sizeof(dst), cases[i].payload,
		    cases[i].len);

		ck_assert_int_eq(n, (long)want_len);
		ck_assert_mem_eq(dst, cases[i].want, want_len);
		ck_assert_int_eq(decode(dst, (size_t)n, LIMIT, &payload, &plen,
		                     &used),
		    NETSTRING_DONE);
		ck_assert_uint_eq(plen, cases[i].len);
		ck_assert_mem_eq(payload, cases[i].payload, plen);
		ck_assert_uint_eq(used, (size_t)n);
	}
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(netstring_encode(out, sizeof(out), big, sizeof(big)),
	    (long)(sizeof(big) + 7));
	ck_assert_mem_eq(out, "12000:x", 7);
	ck_assert_int_eq(out[sizeof(big) + 6], ',');
	ck_assert_int_eq(decode(out, sizeof(big) + 7, sizeof(big), &payload,
	                     &plen, &used),
	    NETSTRING_DONE);
	ck_assert_int_eq(decode(out, sizeof(big) + 7, sizeof(big) - 1, &payload,
	                     &plen, &used),
	    NETSTRING_ERR_TOOLONG);
}
END_TEST

/* A buffer one byte short is refused; nothing is written past it. */
START_TEST(encode_refuses_small_buffer)
{
	char dst[16];

	memset(dst, '#', sizeof(dst));
	ck_assert_int_eq(netstring_encode(dst, 12, "NOTFOUND ", 9), 12);
	ck_assert_int_eq(netstring_encode(dst, 11, "NOTFOUND ", 9), -1);
	ck_assert_int_eq(netstring_encode(dst, 0, "", 0), -1);
	ck_assert_int_eq(netstring_encode(dst, 2, "", 0), -1);
	ck_assert_int_eq(netstring_encode(dst, 3, "", 0), 3);
	ck_assert_int_eq(dst[12], '#');
	/* a length that cannot fit anywhere must not wrap around */
	ck_assert_int_eq(netstring_encode(dst, sizeof(dst), "x", SIZE_MAX), -1);
	ck_assert_int_eq(netstring_encode(dst, sizeof(dst), "x", SIZE_MAX - 1),
	    -1);
}
END_TEST

START_TEST(status_texts_exist)
{
	for (int s = NETSTRING_DONE; s <= NETSTRING_ERR_TERMINATOR; s++) {
		const char *t = netstring_status_text((enum netstring_status)s);

		ck_assert_ptr_nonnull(t);
		ck_assert_uint_gt(strlen(t), 0);
	}
	ck_assert_str_ne(netstring_status_text(NETSTRING_ERR_LENGTH),
	    netstring_status_text(NETSTRING_ERR_TOOLONG));
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("netstring");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, complete_netstrings_decode);
	tcase_add_test(tc, malformed_netstrings_are_refused);
	tcase_add_test(tc, length_over_limit_seen_from_digits);
	tcase_add_test(tc, every_prefix_needs_more);
	tcase_add_test(tc, back_to_back_netstrings);
	suite_add_tcase(s, tc);
	tc = tcase_create("encode");
	tcase_add_test(tc, encode_round_trips);
	tcase_add_test(tc, encode_refuses_small_buffer);
	tcase_add_test(tc, status_texts_exist);
	suite_add_tcase(s, tc);
	return s;
}
