/*
 * check_mapkey: every key form of doc/design.md §3, and the host name rules
 * (RFC 1035 §2.3.4 sizes; LDH labels plus '_' for names like _25._tcp).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "mapkey.h"

#define LOOKUP MAPKEY_LOOKUP
#define SKIP MAPKEY_SKIP
#define INVALID MAPKEY_INVALID

/* A name of exactly len bytes: labels of 63 'a' joined by dots, the last
 * one shortened; never ends in a dot. */
static void
make_name(char *dst, size_t len, size_t label)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		if (run == label && i + 1 < len) {
			dst[i] = '.';
			run = 0;
		} else {
			dst[i] = 'a';
			run++;
		}
	}
	dst[len] = '\0';
}

static enum mapkey_result
parse(const char *key, size_t len, struct mapkey *mk)
{
	const char *why = NULL;
	enum mapkey_result r;

	memset(mk, 0x5a, sizeof(*mk));
	r = mapkey_parse(key, len, mk, &why);
	/* why is set exactly for INVALID */
	if (r == MAPKEY_INVALID) {
		ck_assert_ptr_nonnull(why);
		ck_assert_uint_gt(strlen(why), 0);
	}
	return r;
}

/* DESIGN §3 rows that look something up, and what they look up. */
START_TEST(lookup_keys_normalise)
{
	static const struct {
		const char *key;
		const char *name;
		int nexthop;
		unsigned port;
		const char *norm;
	} cases[] = {
		{ "example.com", "example.com", 0, 25, "example.com" },
		/* lower case, no trailing dot */
		{ "Example.COM.", "example.com", 0, 25, "example.com" },
		{ "EXAMPLE.COM", "example.com", 0, 25, "example.com" },
		{ "com", "com", 0, 25, "com" },
		/* domain:port: MX lookup, TLSA at _port._tcp.<mx> */
		{ "example.com:587", "example.com", 0, 587, "example.com:587" },
		{ "Example.com.:2525", "example.com", 0, 2525,
		    "example.com:2525" },
		/* ":25" is the default and is not written in the cache key */
		{ "example.com:25", "example.com", 0, 25, "example.com" },
		{ "d:1", "d", 0, 1, "d:1" },
		{ "d:65535", "d", 0, 65535, "d:65535" },
		/* [host], [host]:port: no MX lookup */
		{ "[mx.example.com]", "mx.example.com", 1, 25,
		    "[mx.example.com]" },
		{ "[MX.Example.COM.]", "mx.example.com", 1, 25,
		    "[mx.example.com]" },
		{ "[mx.example.com]:587", "mx.example.com", 1, 587,
		    "[mx.example.com]:587" },
		{ "[mx.example.com]:25", "mx.example.com", 1, 25,
		    "[mx.example.com]" },
		/* underscore is allowed (SRV/TLSA-style owner names) */
		{ "_25._tcp.mx-1.example", "_25._tcp.mx-1.example", 0, 25,
		    "_25._tcp.mx-1.example" },
		{ "a_b.example", "a_b.example", 0, 25, "a_b.example" },
		/* digits, inner hyphens, an all-digit label that is not
		 * the last of a dotted quad */
		{ "123.example", "123.example", 0, 25, "123.example" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", 0, 25,
		    "xn--bcher-kva.example" },
		{ "1.2.3.example", "1.2.3.example", 0, 25, "1.2.3.example" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mapkey mk;

		ck_assert_msg(parse(cases[i].key, strlen(cases[i].key), &mk) ==
		        LOOKUP,
		    "%s", cases[i].key);
		ck_assert_str_eq(mk.name, cases[i].name);
		ck_assert_int_eq(mk.nexthop, cases[i].nexthop);
		ck_assert_uint_eq(mk.port, cases[i].port);
		ck_assert_str_eq(mk.norm, cases[i].norm);
	}
}
END_TEST

/* DESIGN §3: parent keys and IP literals are NOTFOUND, no DNS, no log. */
START_TEST(skip_parent_keys_and_ip_literals)
{
	static const char *const keys[] = {
		".example.com",
		".com",
		".",
		"..",
		".Example.COM.",
		"[192.0.2.1]",
		"[192.0.2.1]:25",
		"[ipv6:2001:db8::1]",
		"[IPv6:::1]:25",
		"[IPV6:::1]",
		"[::1]",
		"[2001:db8::1]:587",
		/* a bare dotted quad: no TLD is numeric */
		"192.0.2.1",
		"192.0.2.1:25",
		"192.0.2.1.",
		"10.0.0.1",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct mapkey mk;

		ck_assert_msg(parse(keys[i], strlen(keys[i]), &mk) == SKIP,
		    "%s", keys[i]);
	}
}
END_TEST

/* DESIGN §3: bad syntax and bad ports are NOTFOUND and logged once. */
START_TEST(invalid_keys)
{
	static const char *const keys[] = {
		"",
		/* empty labels, dots */
		"example..com",
		"example.com..",
		/* bytes outside LDH and '_' */
		"exa mple.com",
		" example.com",
		"example.com ",
		"ex*ample.com",
		"ex/ample.com",
		"example.com\n",
		"ex\tample.com",
		"example.com\x7f",
		"caf\xc3\xa9.example", /* UTF-8 */
		"\xff",
		/* hyphen at a label's start or end */
		"-example.com",
		"example-.com",
		"example.-com",
		"example.com-",
		/* ports: DESIGN §3 "[h]:smtp", "[h]:0" */
		"[h]:smtp",
		"[h]:0",
		"[h]:65536",
		"[h]:99999",
		"[h]:025",
		"[h]:",
		"[h]:+25",
		"[h]:-1",
		"[h]:25 ",
		"[h]:100000",
		"example.com:",
		"example.com:0",
		"example.com:smtp",
		"example.com:25:25",
		/* brackets */
		"[",
		"[]",
		"[]:25",
		"[mx.example.com",
		"[mx.example.com]x",
		"[mx.example.com]]",
		"[[mx.example.com]]",
		"mx.example.com]",
		"[.example.com]",
		"[mx..example.com]",
		/* bare IPv6 is no host name */
		"::1",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct mapkey mk;

		ck_assert_msg(parse(keys[i], strlen(keys[i]), &mk) == INVALID,
		    "\"%s\"", keys[i]);
	}
}
END_TEST

/* Keys are counted bytes: a NUL inside must not shorten the key. */
START_TEST(nul_inside_key_is_invalid)
{
	static const struct {
		const char *key;
		size_t len;
	} cases[] = {
		{ "example.com\0.evil", 17 },
		{ "example.com\0", 12 },
		{ "\0", 1 },
		{ "[mx\0.example.com]", 17 },
		{ "example.com:5\0", 14 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mapkey mk;

		ck_assert_msg(parse(cases[i].key, cases[i].len, &mk) == INVALID,
		    "case %zu", i);
	}
	/* the length, not a NUL, ends the key */
	{
		struct mapkey mk;

		ck_assert_int_eq(parse("example.comXYZ", 11, &mk), LOOKUP);
		ck_assert_str_eq(mk.name, "example.com");
	}
}
END_TEST

/* RFC 1035 §2.3.4: labels 63 octets or less, names 255 octets or less
 * in wire form, i.e. 253 characters in presentation form. */
START_TEST(label_and_name_length_limits)
{
	static const struct {
		size_t len, label;
		int trailing_dot, bracket;
		enum mapkey_result want;
	} cases[] = {
		{ 63, 63, 0, 0, LOOKUP },  /* one 63-byte label */
		{ 64, 64, 0, 0, INVALID }, /* one 64-byte label */
		{ 63, 63, 1, 0, LOOKUP },
		{ 64, 64, 1, 0, INVALID },
		{ 253, 63, 0, 0, LOOKUP }, /* 63.63.63.61 */
		{ 253, 63, 1, 0, LOOKUP }, /* trailing dot not counted */
		{ 254, 63, 0, 0, INVALID },
		{ 254, 63, 1, 0, INVALID },
		{ 253, 63, 0, 1, LOOKUP },
		{ 254, 63, 0, 1, INVALID },
		{ 1, 1, 0, 0, LOOKUP },
		{ 1000, 63, 0, 0, INVALID },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[1100], key[1200];
		struct mapkey mk;
		size_t klen;

		make_name(name, cases[i].len, cases[i].label);
		klen = (size_t)snprintf(key, sizeof(key), "%s%s%s%s",
		    cases[i].bracket ? "[" : "", name,
		    cases[i].trailing_dot ? "." : "",
		    cases[i].bracket ? "]:65535" : "");
		ck_assert_msg(parse(key, klen, &mk) == cases[i].want,
		    "case %zu", i);
		if (cases[i].want != LOOKUP)
			continue;
		ck_assert_str_eq(mk.name, name);
		if (cases[i].bracket) {
			/* the longest norm fits MAPKEY_NORM_MAX */
			ck_assert_uint_eq(strlen(mk.norm), klen);
			ck_assert_mem_eq(mk.norm, key, klen);
		}
	}
}
END_TEST

/* One trailing dot is the root; two are an empty label. */
START_TEST(one_trailing_dot_only)
{
	struct mapkey mk;

	ck_assert_int_eq(parse("example.com.", 12, &mk), LOOKUP);
	ck_assert_str_eq(mk.norm, "example.com");
	ck_assert_int_eq(parse("example.com..", 13, &mk), INVALID);
	ck_assert_int_eq(parse("[mx.example.com.]", 17, &mk), LOOKUP);
	ck_assert_str_eq(mk.norm, "[mx.example.com]");
	ck_assert_int_eq(parse("[mx.example.com..]", 18, &mk), INVALID);
	ck_assert_int_eq(parse("example.com.:587", 16, &mk), LOOKUP);
	ck_assert_str_eq(mk.norm, "example.com:587");
}
END_TEST

/* The cache key identifies the question: spellings of one question
 * share it, different questions do not. */
START_TEST(norm_is_the_cache_key)
{
	static const struct {
		const char *a, *b;
		int same;
	} cases[] = {
		{ "[h.example]:25", "[h.example]", 1 },
		{ "d.example:25", "d.example", 1 },
		{ "D.Example.", "d.example", 1 },
		{ "[H.example.]:25", "[h.example]", 1 },
		{ "[h.example]", "h.example", 0 },
		{ "[h.example]:587", "h.example:587", 0 },
		{ "d.example:587", "d.example:588", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mapkey a, b;

		ck_assert_int_eq(parse(cases[i].a, strlen(cases[i].a), &a),
		    LOOKUP);
		ck_assert_int_eq(parse(cases[i].b, strlen(cases[i].b), &b),
		    LOOKUP);
		ck_assert_msg((strcmp(a.norm, b.norm) == 0) == cases[i].same,
		    "%s vs %s", a.norm, b.norm);
		/* the norm parses back to itself */
		ck_assert_int_eq(parse(a.norm, strlen(a.norm), &b), LOOKUP);
		ck_assert_str_eq(a.norm, b.norm);
		ck_assert_str_eq(a.name, b.name);
		ck_assert_uint_eq(a.port, b.port);
		ck_assert_int_eq(a.nexthop, b.nexthop);
	}
}
END_TEST

/* why is optional */
START_TEST(why_may_be_null)
{
	struct mapkey mk;

	ck_assert_int_eq(mapkey_parse("a..b", 4, &mk, NULL), INVALID);
	ck_assert_int_eq(mapkey_parse(".b", 2, &mk, NULL), SKIP);
	ck_assert_int_eq(mapkey_parse("b", 1, &mk, NULL), LOOKUP);
}
END_TEST

/* mapkey_name_valid: the same rules, for names from DNS (MX targets,
 * CNAME targets), before case folding. */
START_TEST(name_valid_rules)
{
	static const struct {
		const char *name;
		int valid;
	} cases[] = {
		{ "mx.example.com", 1 },
		{ "MX.Example.COM.", 1 },
		{ "_25._tcp.mx.example", 1 },
		{ "a", 1 },
		{ "a-b.c", 1 },
		{ "192.0.2.1", 1 }, /* syntax only: no literal check here */
		{ "", 0 },
		{ ".", 0 },
		{ "..", 0 },
		{ "a..b", 0 },
		{ ".a", 0 },
		{ "a.", 1 },
		{ "a..", 0 },
		{ "-a", 0 },
		{ "a-", 0 },
		{ "a-.b", 0 },
		{ "a.-b", 0 },
		{ "a b", 0 },
		{ "a:b", 0 },
		{ "[a]", 0 },
		{ "caf\xc3\xa9", 0 },
		{ "a\x01", 0 },
	};
	char name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(mapkey_name_valid(cases[i].name,
		                  strlen(cases[i].name)) == cases[i].valid,
		    "\"%s\"", cases[i].name);
	ck_assert_int_eq(mapkey_name_valid("a\0b", 3), 0);
	make_name(name, 253, 63);
	ck_assert_int_eq(mapkey_name_valid(name, 253), 1);
	ck_assert_int_eq(mapkey_name_valid(name, 252), 1);
	strcat(name, ".");
	ck_assert_int_eq(mapkey_name_valid(name, 254), 1);
	make_name(name, 254, 63);
	ck_assert_int_eq(mapkey_name_valid(name, 254), 0);
	make_name(name, 64, 64);
	ck_assert_int_eq(mapkey_name_valid(name, 64), 0);
	ck_assert_int_eq(mapkey_name_valid(name, 63), 1);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("mapkey");
	TCase *tc = tcase_create("keys");

	tcase_add_test(tc, lookup_keys_normalise);
	tcase_add_test(tc, skip_parent_keys_and_ip_literals);
	tcase_add_test(tc, invalid_keys);
	tcase_add_test(tc, nul_inside_key_is_invalid);
	tcase_add_test(tc, label_and_name_length_limits);
	tcase_add_test(tc, one_trailing_dot_only);
	tcase_add_test(tc, norm_is_the_cache_key);
	tcase_add_test(tc, why_may_be_null);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, name_valid_rules);
	suite_add_tcase(s, tc);
	return s;
}
