/*
 * check_sockmap: Postfix socketmap requests "<map> <key>" and the exact
 * reply bytes (doc/design.md §2).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "netstring.h"
#include "sockmap.h"

/* The map name ends at the first space; the key is the rest, verbatim. */
START_TEST(request_split_at_first_space)
{
	static const struct {
		const char *in;
		size_t in_len;
		int rc;
		const char *map, *key;
		size_t key_len;
	} cases[] = {
		{ "tlspolicy example.com", 21, 0, "tlspolicy", "example.com",
		    11 },
		{ "tlspolicy [mx.example.com]:587", 30, 0, "tlspolicy",
		    "[mx.example.com]:587", 20 },
		/* spaces in the key are the key's business (mapkey) */
		{ "m a b  c", 8, 0, "m", "a b  c", 6 },
		{ "m  x", 4, 0, "m", " x", 2 },
		/* an empty key is not malformed at this layer */
		{ "tlspolicy ", 10, 0, "tlspolicy", "", 0 },
		/* any byte after the space, NUL included */
		{ "m a\0b", 5, 0, "m", "a\0b", 3 },
		/* DESIGN §3: no space is malformed (close, not PERM) */
		{ "tlspolicyexample.com", 20, -1, NULL, NULL, 0 },
		{ "", 0, -1, NULL, NULL, 0 },
		/* empty map name */
		{ " example.com", 12, -1, NULL, NULL, 0 },
		{ " ", 1, -1, NULL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *map = NULL, *key = NULL;
		size_t map_len = 0, key_len = 0;
		int rc = sockmap_parse_request(cases[i].in, cases[i].in_len,
		    &map, &map_len, &key, &key_len);

		ck_assert_msg(rc == cases[i].rc, "case %zu", i);
		if (rc != 0)
			continue;
		ck_assert_uint_eq(map_len, strlen(cases[i].map));
		ck_assert_mem_eq(map, cases[i].map, map_len);
		ck_assert_ptr_eq(map, cases[i].in);
		ck_assert_uint_eq(key_len, cases[i].key_len);
		ck_assert_mem_eq(key, cases[i].key, key_len);
		ck_assert_ptr_eq(key, cases[i].in + map_len + 1);
	}
}
END_TEST

/* Exact bytes on the wire for every status; NOTFOUND keeps its space
 * and ignores the text. */
START_TEST(reply_bytes_are_exact)
{
	static const struct {
		enum sockmap_status status;
		const char *text;
		const char *want;
	} cases[] = {
		{ SOCKMAP_NOTFOUND, NULL, "9:NOTFOUND ," },
		{ SOCKMAP_NOTFOUND, "ignored", "9:NOTFOUND ," },
		{ SOCKMAP_OK, "dane-only", "12:OK dane-only," },
		{ SOCKMAP_OK, "dane", "7:OK dane," },
		{ SOCKMAP_TEMP, "dnssec validation failure: MX example.com",
		    "46:TEMP dnssec validation failure: MX example.com," },
		{ SOCKMAP_TIMEOUT, "lookup deadline",
		    "23:TIMEOUT lookup deadline," },
		{ SOCKMAP_PERM, "unknown map name",
		    "21:PERM unknown map name," },
		{ SOCKMAP_TEMP, "", "5:TEMP ," },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dst[128];
		long n = sockmap_format_reply(dst, sizeof(dst), cases[i].status,
		    cases[i].text);

		ck_assert_msg(n == (long)strlen(cases[i].want),
		    "case %zu: %ld bytes", i, n);
		ck_assert_mem_eq(dst, cases[i].want, (size_t)n);
	}
}
END_TEST

/* Socketmap text is printable ASCII: control, DEL and high bytes in a
 * reason (e.g. from DNS) become '?' so they cannot break the protocol. */
START_TEST(reply_text_made_printable)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "a\nb", "8:TEMP a?b," },
		{ "a\r\tb", "9:TEMP a??b," },
		{ "\x7f\x80\xff", "8:TEMP ???," },
		{ "caf\xc3\xa9", "10:TEMP caf??," },
		{ "ok,:~ ", "11:TEMP ok,:~ ," },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dst[64];
		long n = sockmap_format_reply(dst, sizeof(dst), SOCKMAP_TEMP,
		    cases[i].text);

		ck_assert_int_eq(n, (long)strlen(cases[i].want));
		ck_assert_mem_eq(dst, cases[i].want, (size_t)n);
	}
}
END_TEST

/* The unframed payload is the frame's inside, byte for byte, and
 * sockmap_reply_payload finds it in the frame again. */
START_TEST(payload_is_the_frame_inside)
{
	static const struct {
		enum sockmap_status st;
		const char *text;
		const char *want;
	} cases[] = {
		{ SOCKMAP_OK, "dane-only", "OK dane-only" },
		{ SOCKMAP_NOTFOUND, "ignored", "NOTFOUND " },
		{ SOCKMAP_TEMP, "a\nb", "TEMP a?b" },
		{ SOCKMAP_PERM, "unknown map name", "PERM unknown map name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char frame[64], payload[64];
		const char *inside;
		size_t len;
		long n = sockmap_format_reply(frame, sizeof(frame), cases[i].st,
		    cases[i].text);
		long p = sockmap_format_payload(payload, sizeof(payload),
		    cases[i].st, cases[i].text);

		ck_assert_str_eq(payload, cases[i].want);
		ck_assert_int_eq(p, (long)strlen(cases[i].want));
		inside = sockmap_reply_payload(frame, (size_t)n, &len);
		ck_assert_uint_eq(len, (size_t)p);
		ck_assert_mem_eq(inside, payload, len);
	}
	{
		char small[9];

		ck_assert_int_eq(sockmap_format_payload(small, sizeof(small),
		                     SOCKMAP_OK, "dane"),
		    7);
		ck_assert_int_eq(sockmap_format_payload(small, 7, SOCKMAP_OK,
		                     "dane"),
		    -1);
	}
}
END_TEST

/* Too small a buffer is refused, never overrun. */
START_TEST(reply_refuses_small_buffer)
{
	char dst[32];

	memset(dst, '#', sizeof(dst));
	ck_assert_int_eq(sockmap_format_reply(dst, 12, SOCKMAP_NOTFOUND, NULL),
	    12);
	ck_assert_int_eq(sockmap_format_reply(dst, 11, SOCKMAP_NOTFOUND, NULL),
	    -1);
	ck_assert_int_eq(sockmap_format_reply(dst, 0, SOCKMAP_OK, "dane"), -1);
	ck_assert_int_eq(sockmap_format_reply(dst, 9, SOCKMAP_OK, "dane"), -1);
	ck_assert_int_eq(sockmap_format_reply(dst, 10, SOCKMAP_OK, "dane"), 10);
	ck_assert_int_eq(dst[12], '#');
}
END_TEST

/* Postfix refuses replies over 100,000 bytes: long text is cut so the
 * payload is exactly at the limit, and still one valid netstring. */
START_TEST(reply_cut_to_postfix_limit)
{
	size_t big = SOCKMAP_MAX_REPLY * 2;
	char *text = malloc(big + 1);
	char *dst = malloc(SOCKMAP_MAX_REPLY + 64);
	const char *payload;
	size_t plen, used;
	long n;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(dst);
	memset(text, 'r', big);
	text[big] = '\0';
	n = sockmap_format_reply(dst, SOCKMAP_MAX_REPLY + 64, SOCKMAP_TEMP,
	    text);
	ck_assert_int_eq(n, (long)(SOCKMAP_MAX_REPLY + 8)); /* "100000:" "," */
	ck_assert_int_eq(netstring_decode(dst, (size_t)n, SOCKMAP_MAX_REPLY,
	                     &payload, &plen, &used),
	    NETSTRING_DONE);
	ck_assert_uint_eq(plen, SOCKMAP_MAX_REPLY);
	ck_assert_mem_eq(payload, "TEMP rrr", 8);
	/* the limit itself fits; one byte less for the text is cut */
	text[SOCKMAP_MAX_REPLY - 5] = '\0';
	n = sockmap_format_reply(dst, SOCKMAP_MAX_REPLY + 64, SOCKMAP_TEMP,
	    text);
	ck_assert_int_eq(n, (long)(SOCKMAP_MAX_REPLY + 8));
	/* and a buffer too small for the cut reply is still refused */
	ck_assert_int_eq(sockmap_format_reply(dst, SOCKMAP_MAX_REPLY + 7,
	                     SOCKMAP_TEMP, text),
	    -1);
	free(text);
	free(dst);
}
END_TEST

START_TEST(status_words)
{
	static const struct {
		enum sockmap_status status;
		const char *word;
	} cases[] = {
		{ SOCKMAP_OK, "OK" },
		{ SOCKMAP_NOTFOUND, "NOTFOUND" },
		{ SOCKMAP_TEMP, "TEMP" },
		{ SOCKMAP_TIMEOUT, "TIMEOUT" },
		{ SOCKMAP_PERM, "PERM" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(sockmap_status_word(cases[i].status),
		    cases[i].word);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("sockmap");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, request_split_at_first_space);
	suite_add_tcase(s, tc);
	tc = tcase_create("reply");
	tcase_add_test(tc, reply_bytes_are_exact);
	tcase_add_test(tc, reply_text_made_printable);
	tcase_add_test(tc, reply_refuses_small_buffer);
	tcase_add_test(tc, payload_is_the_frame_inside);
	tcase_add_test(tc, reply_cut_to_postfix_limit);
	tcase_add_test(tc, status_words);
	suite_add_tcase(s, tc);
	return s;
}
