/*
 * check_tempwatch: when a key that keeps answering TEMP is worth a
 * warning, how often, and when it has recovered.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "tempwatch.h"

#define NOW 1800000000
#define AFTER 3600

static struct tempwatch *tw;
static struct tempwatch_info info;

static void
setup(void)
{
	tw = tempwatch_new(AFTER);
	ck_assert_ptr_nonnull(tw);
	memset(&info, 0, sizeof(info));
}

static void
teardown(void)
{
	tempwatch_free(tw);
}

static enum tempwatch_event
note(const char *key, bool temp, const char *reason, int64_t now)
{
	return tempwatch_note(tw, key, strlen(key), temp, reason, now, &info);
}

/* Quiet until the threshold has passed, then one warning an hour. */
START_TEST(alert_after_threshold_then_hourly)
{
	ck_assert_int_eq(note("a.example", true, "bogus TLSA", NOW),
	    TEMPWATCH_NONE);
	ck_assert_int_eq(note("a.example", true, "", NOW + AFTER),
	    TEMPWATCH_NONE); /* exactly the threshold: not longer */
	ck_assert_int_eq(note("a.example", true, "", NOW + AFTER + 1),
	    TEMPWATCH_ALERT);
	ck_assert_int_eq(info.since, NOW);
	ck_assert_uint_eq(info.alerts, 1);
	ck_assert_str_eq(info.reason, "bogus TLSA"); /* the last non-empty */
	ck_assert_int_eq(note("a.example", true, "servfail", NOW + AFTER + 2),
	    TEMPWATCH_NONE);
	ck_assert_int_eq(note("a.example", true, "",
	                     NOW + AFTER + 1 + TEMPWATCH_REPEAT - 1),
	    TEMPWATCH_NONE);
	ck_assert_int_eq(note("a.example", true, "",
	                     NOW + AFTER + 1 + TEMPWATCH_REPEAT),
	    TEMPWATCH_ALERT);
	ck_assert_uint_eq(info.alerts, 2);
	ck_assert_str_eq(info.reason, "servfail");
	ck_assert_int_eq(info.since, NOW);
}
END_TEST

/* A non-TEMP answer ends the watch: a notice only if it was alerted on,
 * and the next TEMP starts a new watch. */
START_TEST(recovery)
{
	size_t alerted;

	ck_assert_int_eq(note("a.example", true, "x", NOW), TEMPWATCH_NONE);
	ck_assert_int_eq(note("b.example", true, "y", NOW), TEMPWATCH_NONE);
	ck_assert_int_eq(note("a.example", true, "", NOW + AFTER + 5),
	    TEMPWATCH_ALERT);
	ck_assert_uint_eq(tempwatch_count(tw, &alerted), 2);
	ck_assert_uint_eq(alerted, 1);
	ck_assert_int_eq(note("a.example", false, "", NOW + AFTER + 6),
	    TEMPWATCH_RECOVERED);
	ck_assert_int_eq(info.since, NOW);
	ck_assert_uint_eq(info.alerts, 1);
	/* b was never alerted on: it recovers quietly */
	ck_assert_int_eq(note("b.example", false, "", NOW + AFTER + 6),
	    TEMPWATCH_NONE);
	ck_assert_uint_eq(tempwatch_count(tw, NULL), 0);
	/* a TEMP again: a new watch, from now */
	ck_assert_int_eq(note("a.example", true, "", NOW + AFTER + 7),
	    TEMPWATCH_NONE);
	ck_assert_int_eq(note("a.example", true, "", NOW + 2 * AFTER + 7),
	    TEMPWATCH_NONE);
	ck_assert_int_eq(note("a.example", true, "", NOW + 2 * AFTER + 8),
	    TEMPWATCH_ALERT);
	ck_assert_int_eq(info.since, NOW + AFTER + 7);
	/* keys are told apart exactly */
	ck_assert_int_eq(note("a.example.", false, "", NOW + 2 * AFTER + 9),
	    TEMPWATCH_NONE);
	ck_assert_uint_eq(tempwatch_count(tw, NULL), 1);
}
END_TEST

/* Keys nobody asks for any more are forgotten; 0 switches it all off. */
START_TEST(prune_and_off)
{
	ck_assert_int_eq(note("old.example", true, "", NOW), TEMPWATCH_NONE);
	ck_assert_int_eq(note("new.example", true, "", NOW + 100),
	    TEMPWATCH_NONE);
	tempwatch_prune(tw, NOW + TEMPWATCH_FORGET + 50);
	ck_assert_uint_eq(tempwatch_count(tw, NULL), 1);
	ck_assert_int_eq(note("old.example", false, "", NOW + 1),
	    TEMPWATCH_NONE); /* gone: nothing to recover */
	ck_assert_uint_eq(tempwatch_count(tw, NULL), 1);
	tempwatch_set_after(tw, 0);
	ck_assert_uint_eq(tempwatch_count(tw, NULL), 0);
	ck_assert_int_eq(note("x.example", true, "", NOW), TEMPWATCH_NONE);
	ck_assert_uint_eq(tempwatch_count(tw, NULL), 0);
}
END_TEST

/* At most TEMPWATCH_MAX keys; a long key is watched by its first bytes. */
START_TEST(bounded)
{
	char key[TEMPWATCH_KEY_MAX + 50];

	for (unsigned i = 0; i < TEMPWATCH_MAX + 10; i++) {
		snprintf(key, sizeof(key), "k%u.example", i);
		(void)note(key, true, "", NOW);
	}
	ck_assert_uint_eq(tempwatch_count(tw, NULL), TEMPWATCH_MAX);
	/* the ones beyond are not watched: never alerted on */
	snprintf(key, sizeof(key), "k%u.example", TEMPWATCH_MAX + 5);
	ck_assert_int_eq(note(key, true, "", NOW + AFTER + 1),
	    TEMPWATCH_NONE);
	snprintf(key, sizeof(key), "k%u.example", 7);
	ck_assert_int_eq(note(key, true, "", NOW + AFTER + 1),
	    TEMPWATCH_ALERT);
	/* keys leave from anywhere in their chains; the others stay found */
	for (unsigned i = 0; i < 1000; i += 2) {
		snprintf(key, sizeof(key), "k%u.example", i);
		(void)note(key, false, "", NOW + AFTER + 2);
	}
	ck_assert_uint_eq(tempwatch_count(tw, NULL), TEMPWATCH_MAX - 500);
	for (unsigned i = 1; i < 1000; i += 2) {
		snprintf(key, sizeof(key), "k%u.example", i);
		ck_assert_int_eq(note(key, true, "", NOW + AFTER + 3),
		    i == 7 ? TEMPWATCH_NONE : TEMPWATCH_ALERT);
	}
	for (unsigned i = 1000; i < TEMPWATCH_MAX; i++) { /* not seen since */
		snprintf(key, sizeof(key), "k%u.example", i);
		(void)note(key, true, "", NOW + TEMPWATCH_FORGET + 10);
	}
	tempwatch_prune(tw, NOW + AFTER + 3 + TEMPWATCH_FORGET + 1);
	ck_assert_uint_eq(tempwatch_count(tw, NULL), TEMPWATCH_MAX - 1000);
	tempwatch_set_after(tw, 0);
	tempwatch_set_after(tw, AFTER);
	memset(key, 'a', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	ck_assert_int_eq(note(key, true, "", NOW), TEMPWATCH_NONE);
	key[TEMPWATCH_KEY_MAX + 3] = '\0'; /* the same first bytes */
	ck_assert_int_eq(note(key, true, "", NOW + AFTER + 1),
	    TEMPWATCH_ALERT);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("tempwatch");
	TCase *tc = tcase_create("tempwatch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, alert_after_threshold_then_hourly);
	tcase_add_test(tc, recovery);
	tcase_add_test(tc, prune_and_off);
	tcase_add_test(tc, bounded);
	suite_add_tcase(s, tc);
	return s;
}
