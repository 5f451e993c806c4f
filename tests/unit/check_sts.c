/*
 * check_sts: MTA-STS TXT records and policy files read as RFC 8461 §3.1
 * and §3.2 say, host matching as §4.1 says, and the Postfix reply they
 * become (TLSRPT_README's attributes with tlsrpt).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "sts.h"

#define TXT(s) sts_txt_parse(s, strlen(s), id)

START_TEST(txt_records)
{
	static const struct {
		const char *text;
		enum sts_txt_result want;
		const char *id;
	} cases[] = {
		{ "v=STSv1; id=20160831085700Z;", STS_TXT_OK, "20160831085700Z" },
		{ "v=STSv1; id=abc", STS_TXT_OK, "abc" },
		{ "v=STSv1;id=abc;", STS_TXT_OK, "abc" },
		{ "v=STSv1 ; id=abc ; ", STS_TXT_OK, "abc" },
		{ "v=STSv1; ext=x!y; id=A1", STS_TXT_OK, "A1" },
		{ "v=STSv1; id=first; id=second", STS_TXT_OK, "first" },
		{ "v=STSv1; id=12345678901234567890123456789012", STS_TXT_OK,
		    "12345678901234567890123456789012" },
		/* not ours: discarded, not invalid */
		{ "v=spf1 -all", STS_TXT_OTHER, "" },
		{ "V=STSv1; id=abc", STS_TXT_OTHER, "" },
		{ "v=STSv10; id=abc", STS_TXT_OTHER, "" },
		{ "", STS_TXT_OTHER, "" },
		/* ours, but broken */
		{ "v=STSv1", STS_TXT_INVALID, "" },
		{ "v=STSv1;", STS_TXT_INVALID, "" },
		{ "v=STSv1; id=", STS_TXT_INVALID, "" },
		{ "v=STSv1; id=a-b", STS_TXT_INVALID, "" },
		{ "v=STSv1; id=123456789012345678901234567890123",
		    STS_TXT_INVALID, "" },
		{ "v=STSv1; id=abc extra", STS_TXT_INVALID, "" },
		{ "v=STSv1; =x; id=abc", STS_TXT_INVALID, "" },
		{ "v=STSv1; id abc", STS_TXT_INVALID, "" },
		{ "v=STSv1; x=\x01; id=abc", STS_TXT_INVALID, "" },
		/* extension names: 32 characters at most */
		{ "v=STSv1; abcdefghijklmnopqrstuvwxyz012345=x; id=a", STS_TXT_OK,
		    "a" },
		{ "v=STSv1; abcdefghijklmnopqrstuvwxyz0123456=x; id=a",
		    STS_TXT_INVALID, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[STS_ID_MAX + 1];

		ck_assert_msg(TXT(cases[i].text) == cases[i].want,
		    "\"%s\": got %d", cases[i].text, TXT(cases[i].text));
		ck_assert_str_eq(id, cases[i].id);
	}
}
END_TEST

/* §3.1: only "v=STSv1" records count, and exactly one must be left. */
START_TEST(txt_rrset)
{
	const char *one[] = { "v=spf1 -all", "v=STSv1; id=x1" };
	const char *two[] = { "v=STSv1; id=x1", "v=STSv1; id=x2" };
	const char *bad[] = { "v=STSv1; id=", "other" };
	const char *none[] = { "v=spf1 -all" };
	const char *good_and_bad[] = { "v=STSv1; id=x1", "v=STSv1" };
	size_t lens[2];
	char id[STS_ID_MAX + 1];
	const char *why = NULL;

#define LENS(a)                                               \
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) \
		lens[i] = strlen(a[i]);
	LENS(one);
	ck_assert(sts_txt_pick(one, lens, 2, id, &why));
	ck_assert_str_eq(id, "x1");
	LENS(two);
	ck_assert(!sts_txt_pick(two, lens, 2, id, &why));
	ck_assert_str_eq(why, "more than one v=STSv1 TXT record");
	LENS(bad);
	ck_assert(!sts_txt_pick(bad, lens, 2, id, &why));
	ck_assert_str_eq(why, "invalid v=STSv1 TXT record");
	LENS(none);
	ck_assert(!sts_txt_pick(none, lens, 1, id, &why));
	ck_assert_str_eq(why, "no v=STSv1 TXT record");
	ck_assert(!sts_txt_pick(none, lens, 0, id, &why));
	LENS(good_and_bad);
	ck_assert(!sts_txt_pick(good_and_bad, lens, 2, id, &why));
#undef LENS
	/* any number of records, one at a time: a second STSv1 record
	 * after twenty others still counts */
	{
		struct sts_txt_pick pick;

		sts_txt_pick_init(&pick);
		for (int i = 0; i < 20; i++)
			sts_txt_pick_add(&pick, "other", 5);
		sts_txt_pick_add(&pick, "v=STSv1; id=x1", 14);
		ck_assert(sts_txt_pick_done(&pick, id, &why));
		ck_assert_str_eq(id, "x1");
		sts_txt_pick_add(&pick, "v=STSv1; id=x2", 14);
		ck_assert(!sts_txt_pick_done(&pick, id, &why));
		ck_assert_str_eq(id, "");
		/* a NUL inside a record is not the end of it */
		sts_txt_pick_init(&pick);
		sts_txt_pick_add(&pick, "v=STSv1; id=abc\0junk", 20);
		ck_assert(!sts_txt_pick_done(&pick, id, &why));
		ck_assert_str_eq(why, "invalid v=STSv1 TXT record");
	}
}
END_TEST

static int
parse(const char *body, struct sts_policy *p, const char **why)
{
	*why = "";
	return sts_policy_parse(body, strlen(body), p, why);
}

START_TEST(policy_valid)
{
	struct sts_policy p;
	const char *why;

	ck_assert_int_eq(parse("version: STSv1\r\nmode: enforce\r\n"
	                       "mx: mail.Example.COM\r\nmx: *.example.net\r\n"
	                       "mx: backupmx.example.com\r\nmax_age: 604800\r\n",
	                     &p, &why),
	    0);
	ck_assert_int_eq(p.mode, STS_MODE_ENFORCE);
	ck_assert_uint_eq(p.max_age, 604800);
	ck_assert_uint_eq(p.mx_count, 3);
	ck_assert_str_eq(p.mx[0], "mail.example.com");
	ck_assert_str_eq(p.mx[1], "*.example.net");
	ck_assert_str_eq(p.mx[2], "backupmx.example.com");

	/* LF only, no final line end, trailing spaces, an unknown key,
	 * and a repeated mode: the first counts */
	ck_assert_int_eq(parse("version:STSv1\nmode: testing  \nmode: enforce\n"
	                       "max_age: 86400\nx-comment: any text, here\n"
	                       "mx: mx1.example.org",
	                     &p, &why),
	    0);
	ck_assert_int_eq(p.mode, STS_MODE_TESTING);
	ck_assert_uint_eq(p.mx_count, 1);

	/* mode none needs no mx; max_age 0 and the largest allowed */
	ck_assert_int_eq(parse("version: STSv1\nmode: none\nmax_age: 0\n", &p,
	                     &why),
	    0);
	ck_assert_int_eq(p.mode, STS_MODE_NONE);
	ck_assert_int_eq(parse("version: STSv1\nmode: none\n"
	                       "max_age: 31557600\n\n\r\n",
	                     &p, &why),
	    0);
	ck_assert_uint_eq(p.max_age, 31557600);
}
END_TEST

START_TEST(policy_invalid)
{
	static const struct {
		const char *body;
		const char *why;
	} cases[] = {
		{ "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
		    "version is not STSv1" },
		{ "mode: enforce\nmx: a.example\nmax_age: 1\n", "no version" },
		{ "version: STSv1\nmx: a.example\nmax_age: 1\n", "no mode" },
		{ "version: STSv1\nmode: enforce\nmx: a.example\n",
		    "no max_age" },
		{ "version: STSv1\nmode: enforce\nmax_age: 1\n",
		    "no mx (required unless mode is none)" },
		{ "version: STSv1\nmode: testing\nmax_age: 1\n",
		    "no mx (required unless mode is none)" },
		{ "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",
		    "mode is not enforce, testing or none" },
		{ "version: STSv1\nmode: enforce\nmx: a.example\n"
		  "max_age: 31557601\n",
		    "max_age is not a number from 0 to 31557600" },
		{ "version: STSv1\nmode: enforce\nmx: a.example\n"
		  "max_age: 12345678901\n",
		    "max_age is not a number from 0 to 31557600" },
		{ "version: STSv1\nmode: enforce\nmx: a.example\n"
		  "max_age: -1\n",
		    "max_age is not a number from 0 to 31557600" },
		{ "version: STSv1\nmode: enforce\nmax_age: 1\n\nmx: a.example\n",
		    "a blank line inside the policy" },
		{ " version: STSv1\nmode: none\nmax_age: 1\n",
		    "a line that is not \"key: value\"" },
		{ "version : STSv1\nmode: none\nmax_age: 1\n",
		    "a line that is not \"key: value\"" },
		{ "version: STSv1\nmode: none\nmax_age: 1\nnote:\n",
		    "a line that is not \"key: value\"" },
		{ "version: STSv1\nmode: none\nmax_age: 1\nnote: a\tb\n",
		    "a line that is not \"key: value\"" },
		{ "version: STSv1\rmode: none\nmax_age: 1\n",
		    "a line that is not \"key: value\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sts_policy p;
		const char *why;

		ck_assert_msg(parse(cases[i].body, &p, &why) == -1,
		    "case %zu accepted", i);
		ck_assert_str_eq(why, cases[i].why);
	}
}
END_TEST

/* An mx value that is not a host name pattern makes the whole policy
 * invalid: nothing that could carry Postfix syntax into a reply passes. */
START_TEST(policy_mx_injection_refused)
{
	static const char *const bad[] = {
		"a.example servername=evil", "a.example:b.example",
		"a=b.example", "{ a.example }", "a.example\x01",
		"*.*.example", "a.*.example", "*example.net", "*.",
		"-a.example", "a-.example", "a..example", "a.example.",
		"a_b.example", "m\xc3\xa4il.example", ".example.net",
		"a.example,b.example",
	};
	char label63[64], name[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[512];
		struct sts_policy p;
		const char *why;

		snprintf(body, sizeof(body),
		    "version: STSv1\nmode: enforce\nmx: ok.example\n"
		    "mx: %s\nmax_age: 60\n",
		    bad[i]);
		ck_assert_msg(parse(body, &p, &why) == -1, "accepted \"%s\"",
		    bad[i]);
	}
	/* label and name lengths: 63 and 253 octets pass, more do not */
	memset(label63, 'a', 63);
	label63[63] = '\0';
	{
		struct sts_policy p;
		const char *why;
		char body[600];

		snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label63, label63,
		    label63, label63);
		ck_assert_uint_eq(strlen(name), 253);
		snprintf(body, sizeof(body),
		    "version: STSv1\nmode: enforce\nmax_age: 1\nmx: %s\n", name);
		ck_assert_int_eq(parse(body, &p, &why), 0);
		snprintf(body, sizeof(body),
		    "version: STSv1\nmode: enforce\nmax_age: 1\nmx: %sa\n",
		    name);
		ck_assert_int_eq(parse(body, &p, &why), -1);
		snprintf(body, sizeof(body),
		    "version: STSv1\nmode: enforce\nmax_age: 1\nmx: %sa.b\n",
		    label63);
		ck_assert_int_eq(parse(body, &p, &why), -1);
		/* "*." counts: 2 + 251 octets pass, 2 + 253 do not */
		snprintf(body, sizeof(body),
		    "version: STSv1\nmode: enforce\nmax_age: 1\nmx: *.%.251s\n",
		    name + 2);
		ck_assert_int_eq(parse(body, &p, &why), 0);
		ck_assert_uint_eq(strlen(p.mx[0]), 253);
		snprintf(body, sizeof(body),
		    "version: STSv1\nmode: enforce\nmax_age: 1\nmx: *.%s\n",
		    name);
		ck_assert_int_eq(parse(body, &p, &why), -1);
	}
}
END_TEST

START_TEST(policy_limits)
{
	static char body[STS_BODY_MAX + 64];
	struct sts_policy p;
	const char *why;
	size_t off;

	/* 32 mx values pass, 33 do not */
	off = (size_t)snprintf(body, sizeof(body),
	    "version: STSv1\nmode: enforce\nmax_age: 1\n");
	for (int i = 0; i < 33; i++) {
		off += (size_t)snprintf(body + off, sizeof(body) - off,
		    "mx: mx%d.example\n", i);
		ck_assert_int_eq(parse(body, &p, &why), i < 32 ? 0 : -1);
	}
	/* over 64 KiB: refused whatever it holds */
	memset(body, '\n', sizeof(body));
	off = strlen("version: STSv1\nmode: none\nmax_age: 1\n");
	memcpy(body, "version: STSv1\nmode: none\nmax_age: 1\n", off);
	ck_assert_int_eq(sts_policy_parse(body, STS_BODY_MAX, &p, &why), 0);
	ck_assert_int_eq(sts_policy_parse(body, STS_BODY_MAX + 1, &p, &why),
	    -1);
	ck_assert_str_eq(why, "larger than 64 KiB");
}
END_TEST

/* §4.1: a wildcard stands for exactly one label. */
START_TEST(mx_matching)
{
	ck_assert(sts_mx_match("mail.example.com", "mail.example.com"));
	ck_assert(!sts_mx_match("mail.example.com", "mx.example.com"));
	ck_assert(sts_mx_match("*.example.com", "mail.example.com"));
	ck_assert(!sts_mx_match("*.example.com", "example.com"));
	ck_assert(!sts_mx_match("*.example.com", "foo.bar.example.com"));
	ck_assert(!sts_mx_match("*.example.com", ".example.com"));
	ck_assert(!sts_mx_match("*.example.com", "mail.example.com.evil"));
}
END_TEST

START_TEST(reply_text)
{
	struct sts_policy p;
	const char *why;
	char buf[1024];
	int n;

	ck_assert_int_eq(parse("version: STSv1\nmode: enforce\n"
	                       "mx: mail.example.com\nmx: *.Example.NET\n"
	                       "max_age: 604800\n",
	                     &p, &why),
	    0);
	n = sts_reply_format(&p, "example.com", false, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "secure match=mail.example.com:.example.net servername=hostname");
	ck_assert_int_eq(n, (int)strlen(buf));
	n = sts_reply_format(&p, "example.com", true, 3600, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "secure match=mail.example.com:.example.net servername=hostname"
	    " policy_type=sts policy_domain=example.com policy_ttl=3600"
	    " { policy_string = version: STSv1 }"
	    " { policy_string = mode: enforce }"
	    " { policy_string = max_age: 604800 }"
	    " { policy_string = mx: mail.example.com }"
	    " { policy_string = mx: *.example.net }"
	    " mx_host_pattern=mail.example.com"
	    " mx_host_pattern=*.example.net");
	ck_assert_int_eq(n, (int)strlen(buf));
	/* the largest policy fits STS_REPLY_MAX, with every attribute */
	{
		static char big[STS_REPLY_MAX];
		char domain[STS_NAME_MAX + 1];

		memset(&p, 0, sizeof(p));
		p.mode = STS_MODE_ENFORCE;
		p.max_age = STS_MAX_AGE_MAX;
		p.mx_count = STS_MX_MAX;
		for (size_t i = 0; i < STS_MX_MAX; i++) {
			memset(p.mx[i], 'a', STS_NAME_MAX);
			p.mx[i][0] = '*';
			p.mx[i][1] = '.';
			p.mx[i][STS_NAME_MAX] = '\0';
		}
		memset(domain, 'd', STS_NAME_MAX);
		domain[STS_NAME_MAX] = '\0';
		ck_assert_int_gt(sts_reply_format(&p, domain, true,
		                     STS_MAX_AGE_MAX, big, sizeof(big)),
		    0);
	}
	ck_assert_int_eq(parse("version: STSv1\nmode: enforce\n"
	                       "mx: mail.example.com\nmx: *.Example.NET\n"
	                       "max_age: 604800\n",
	                     &p, &why),
	    0);
	/* too small: refused, never cut */
	ck_assert_int_eq(sts_reply_format(&p, "example.com", false, 0, buf,
	                     (size_t)strlen("secure match=mail.example.com")),
	    -1);
	ck_assert_int_eq(sts_reply_format(&p, "example.com", false, 0, buf, 0),
	    -1);
}
END_TEST

/* §5.1: the cached form round-trips, and decode is as strict as the
 * policy parser (a damaged cache must not reach a reply). */
START_TEST(cached_text)
{
	struct sts_cached c, d;
	const char *why;
	char buf[STS_CACHED_TEXT_MAX + 1];
	static const char *const bad[] = {
		"",
		"1700000000 abc enforce 86400",          /* enforce, no mx */
		"1700000000 abc enforce 86400 ",         /* trailing space */
		"1700000000  abc enforce 86400 mx.a",    /* two spaces */
		"01700000000 abc enforce 86400 mx.a",    /* leading zero */
		"-1 abc enforce 86400 mx.a",             /* negative */
		"1700000000 a-b enforce 86400 mx.a",     /* id not alnum */
		"1700000000 abc strict 86400 mx.a",      /* mode */
		"1700000000 abc enforce 31557601 mx.a",  /* max_age */
		"1700000000 abc enforce 86400 MX.a",     /* not lower case */
		"1700000000 abc enforce 86400 mx.a=b",   /* injection */
		"1700000000 abc enforce 86400 mx.a:b",
		"1700000000 abc enforce 86400 *.*.a",
		"1700000000 abc enforce 86400 mx.a\n",
	};

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(parse("version: STSv1\nmode: enforce\n"
	                       "mx: mail.example.com\nmx: *.Example.NET\n"
	                       "max_age: 604800\n",
	                     &c.policy, &why),
	    0);
	c.fetched = 1700000000;
	strcpy(c.id, "20240101T01");
	ck_assert_int_gt(sts_cached_encode(&c, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1700000000 20240101T01 enforce 604800 "
	                      "mail.example.com *.example.net");
	memset(&d, 'x', sizeof(d)); /* decode must set all it leaves */
	ck_assert_int_eq(sts_cached_decode(buf, strlen(buf), &d), 0);
	ck_assert_int_eq(d.fetched, c.fetched);
	ck_assert_str_eq(d.id, c.id);
	ck_assert_int_eq(d.policy.mode, c.policy.mode);
	ck_assert_int_eq(d.policy.max_age, c.policy.max_age);
	ck_assert_uint_eq(d.policy.mx_count, 2);
	ck_assert_str_eq(d.policy.mx[0], "mail.example.com");
	ck_assert_str_eq(d.policy.mx[1], "*.example.net");
	ck_assert_int_eq(sts_cached_encode(&c, buf, 20), -1);
	ck_assert_int_eq(sts_cached_decode("5 x none 0", 10, &d), 0);
	ck_assert_int_eq(d.policy.mode, STS_MODE_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sts_cached_decode(bad[i], strlen(bad[i]), &d) ==
		        -1,
		    "accepted \"%s\"", bad[i]);
}
END_TEST

/* §5.1 and §3.3: when the cached policy applies, when to fetch. */
START_TEST(plan_rules)
{
	struct sts_cached c;
	const int64_t now = 1700000000;

	memset(&c, 0, sizeof(c));
	strcpy(c.id, "one");
	c.policy.mode = STS_MODE_ENFORCE;
	c.policy.max_age = 1000;
	c.fetched = now - 100;
	/* nothing cached: a record means fetch, none means no MTA-STS */
	ck_assert_int_eq(sts_plan(true, "one", NULL, now, false),
	    STS_PLAN_FETCH);
	ck_assert_int_eq(sts_plan(false, "", NULL, now, false), STS_PLAN_NONE);
	/* id unchanged: the cached policy, no fetch */
	ck_assert_int_eq(sts_plan(true, "one", &c, now, false),
	    STS_PLAN_CACHED);
	/* ... unless a proactive refresh is asked for */
	ck_assert_int_eq(sts_plan(true, "one", &c, now, true), STS_PLAN_FETCH);
	/* id changed: fetch */
	ck_assert_int_eq(sts_plan(true, "two", &c, now, false),
	    STS_PLAN_FETCH);
	/* the record removed: the unexpired cached policy still applies */
	ck_assert_int_eq(sts_plan(false, "", &c, now, false), STS_PLAN_CACHED);
	/* a failed fetch: the cached policy, while it lasts */
	ck_assert_int_eq(sts_plan_failed(&c, now), STS_PLAN_CACHED);
	ck_assert_int_eq(sts_plan_failed(NULL, now), STS_PLAN_NONE);
	/* expired at fetched + max_age exactly */
	ck_assert(sts_cached_valid(&c, now + 899));
	ck_assert(!sts_cached_valid(&c, now + 900));
	ck_assert_int_eq(sts_plan(false, "", &c, now + 900, false),
	    STS_PLAN_NONE);
	ck_assert_int_eq(sts_plan(true, "one", &c, now + 900, false),
	    STS_PLAN_FETCH);
	ck_assert_int_eq(sts_plan_failed(&c, now + 900), STS_PLAN_NONE);
	/* proactive refresh once less than half of max_age is left */
	ck_assert(!sts_refresh_due(&c, now + 400));
	ck_assert(sts_refresh_due(&c, now + 401));
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("sts");
	TCase *tc = tcase_create("rfc8461");

	tcase_add_test(tc, txt_records);
	tcase_add_test(tc, txt_rrset);
	tcase_add_test(tc, policy_valid);
	tcase_add_test(tc, policy_invalid);
	tcase_add_test(tc, policy_mx_injection_refused);
	tcase_add_test(tc, policy_limits);
	tcase_add_test(tc, mx_matching);
	tcase_add_test(tc, reply_text);
	tcase_add_test(tc, cached_text);
	tcase_add_test(tc, plan_rules);
	suite_add_tcase(s, tc);
	return s;
}
