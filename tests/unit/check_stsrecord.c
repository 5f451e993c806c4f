/*
 * check_stsrecord: what is kept for a domain once MTA-STS had its say
 * (RFC 8461 §5.1): how long the answer lives and which policy it holds.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "stsrecord.h"

#define NOW 1800000000
#define MIN_TTL 60
#define MAX_TTL 86400

static struct policy_decision d;
static struct resolve_sts sts;
static struct sts_cached policy;
static char text[STS_CACHED_TEXT_MAX + 1];

static void
setup(void)
{
	memset(&d, 0, sizeof(d));
	d.reply = POLICY_REPLY_NOTFOUND;
	d.ttl = 3600;
	memset(&sts, 0, sizeof(sts));
	sts.asked = true;
	sts.txt.answer = POLICY_ANSWER_DATA;
	sts.txt.ttl = 7200;
	sts.have_id = true;
	strcpy(sts.id, "abc");
	memset(&policy, 0, sizeof(policy));
	policy.fetched = NOW - 100;
	strcpy(policy.id, "abc");
	policy.policy.mode = STS_MODE_ENFORCE;
	policy.policy.max_age = 86400;
	policy.policy.mx_count = 1;
	strcpy(policy.policy.mx[0], "mx.example.com");
}

/* The answer lives for the shorter of DANE's TTL and the record's. */
START_TEST(ttl_is_the_shorter)
{
	struct record rec;

	stsrecord_make(&d, &sts, STS_PLAN_CACHED, &policy, false, NOW,
	    MIN_TTL, MAX_TTL, &rec, text);
	ck_assert_int_eq(rec.reply, POLICY_REPLY_NOTFOUND);
	ck_assert_int_eq(rec.expires, NOW + 3600);
	ck_assert_int_eq(rec.stored, NOW);
	ck_assert_ptr_eq(rec.sts, text);
	ck_assert_str_eq(text, "1799999900 abc enforce 86400 mx.example.com");
	sts.txt.ttl = 300;
	stsrecord_make(&d, &sts, STS_PLAN_CACHED, &policy, false, NOW,
	    MIN_TTL, MAX_TTL, &rec, text);
	ck_assert_int_eq(rec.expires, NOW + 300);
}
END_TEST

/* Never past the policy's own expiry. */
START_TEST(never_past_the_policy)
{
	struct record rec;

	policy.policy.max_age = 1000; /* valid until NOW + 900 */
	stsrecord_make(&d, &sts, STS_PLAN_CACHED, &policy, false, NOW,
	    MIN_TTL, MAX_TTL, &rec, text);
	ck_assert_int_eq(rec.expires, NOW + 900);
	/* not even by min_ttl */
	stsrecord_make(&d, &sts, STS_PLAN_CACHED, &policy, false, NOW + 880,
	    MIN_TTL, MAX_TTL, &rec, text);
	ck_assert_int_eq(rec.expires, NOW + 900);
	/* a max_age below min_ttl (0: "do not cache"): min_ttl, so the
	 * policy is not fetched at every request */
	policy.fetched = NOW;
	policy.policy.max_age = 0;
	stsrecord_make(&d, &sts, STS_PLAN_CACHED, &policy, false, NOW,
	    MIN_TTL, MAX_TTL, &rec, text);
	ck_assert_int_eq(rec.expires, NOW + MIN_TTL);
}
END_TEST

/* No policy: nothing kept with the answer. A failure (fetch, or the
 * record's own lookup) is asked again after min_ttl. */
START_TEST(failures_retry_soon)
{
	struct record rec;

	stsrecord_make(&d, &sts, STS_PLAN_NONE, NULL, false, NOW, MIN_TTL,
	    MAX_TTL, &rec, text);
	ck_assert_ptr_null(rec.sts);
	ck_assert_int_eq(rec.expires, NOW + 3600);
	stsrecord_make(&d, &sts, STS_PLAN_NONE, NULL, true, NOW, MIN_TTL,
	    MAX_TTL, &rec, text);
	ck_assert_ptr_null(rec.sts);
	ck_assert_int_eq(rec.expires, NOW + MIN_TTL);
	/* a failed fetch with a cached policy: kept, and retried soon */
	stsrecord_make(&d, &sts, STS_PLAN_CACHED, &policy, true, NOW, MIN_TTL,
	    MAX_TTL, &rec, text);
	ck_assert_ptr_nonnull(rec.sts);
	ck_assert_int_eq(rec.expires, NOW + MIN_TTL);
	/* the record could not be looked up: the same */
	sts.txt.answer = POLICY_ANSWER_FAILED;
	sts.have_id = false;
	stsrecord_make(&d, &sts, STS_PLAN_NONE, NULL, false, NOW, MIN_TTL,
	    MAX_TTL, &rec, text);
	ck_assert_int_eq(rec.expires, NOW + MIN_TTL);
}
END_TEST

START_TEST(fetched_and_cached)
{
	struct sts_cached c, out;

	stsrecord_fetched(&c, &sts, &policy.policy, NOW);
	ck_assert_int_eq(c.fetched, NOW);
	ck_assert_str_eq(c.id, "abc");
	ck_assert_int_eq(sts_cached_encode(&c, text, sizeof(text)) > 0, 1);
	ck_assert_ptr_eq(stsrecord_cached(text, strlen(text), &out), &out);
	ck_assert_str_eq(out.policy.mx[0], "mx.example.com");
	ck_assert_ptr_null(stsrecord_cached(NULL, 0, &out));
	ck_assert_ptr_null(stsrecord_cached("x", 1, &out));
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("stsrecord");
	TCase *tc = tcase_create("rfc8461 5.1");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, ttl_is_the_shorter);
	tcase_add_test(tc, never_past_the_policy);
	tcase_add_test(tc, failures_retry_soon);
	tcase_add_test(tc, fetched_and_cached);
	suite_add_tcase(s, tc);
	return s;
}
