/*
 * check_metrics: the Prometheus text format as its exposition rules have
 * it (HELP/TYPE lines, label quoting, cumulative buckets ending in +Inf,
 * _sum and _count), and a text that could not be written whole says so.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "metrics.h"

static struct metrics_text t;

static void
setup(void)
{
	metrics_text_init(&t);
}

static void
teardown(void)
{
	metrics_text_free(&t);
}

START_TEST(family_and_samples)
{
	metrics_family(&t, "danemap_answers_total", METRICS_COUNTER,
	    "Answers given, by reply.");
	metrics_sample(&t, "danemap_answers_total", "reply", "dane_only", 3);
	metrics_sample(&t, "danemap_answers_total", "reply", "temp", 0);
	metrics_family(&t, "danemap_lookups_running", METRICS_GAUGE, "Now.");
	metrics_sample(&t, "danemap_lookups_running", NULL, NULL,
	    18446744073709551615ULL);
	ck_assert(!metrics_text_failed(&t));
	ck_assert_str_eq(t.buf,
	    "# HELP danemap_answers_total Answers given, by reply.\n"
	    "# TYPE danemap_answers_total counter\n"
	    "danemap_answers_total{reply=\"dane_only\"} 3\n"
	    "danemap_answers_total{reply=\"temp\"} 0\n"
	    "# HELP danemap_lookups_running Now.\n"
	    "# TYPE danemap_lookups_running gauge\n"
	    "danemap_lookups_running 18446744073709551615\n");
	ck_assert_uint_eq(t.len, strlen(t.buf));
}
END_TEST

START_TEST(label_values_are_escaped)
{
	metrics_sample(&t, "x", "version", "a\\b\"c\nd", 1);
	ck_assert_str_eq(t.buf, "x{version=\"a\\\\b\\\"c\\nd\"} 1\n");
}
END_TEST

START_TEST(real_numbers)
{
	metrics_sample_real(&t, "a", NULL, NULL, 0.1);
	metrics_sample_real(&t, "b", NULL, NULL, 1700000000.25);
	metrics_sample_real(&t, "c", NULL, NULL, INFINITY);
	metrics_sample_real(&t, "d", NULL, NULL, -INFINITY);
	metrics_sample_real(&t, "e", NULL, NULL, NAN);
	metrics_sample_real(&t, "f", NULL, NULL, 0);
	ck_assert_str_eq(t.buf,
	    "a 0.1\nb 1700000000.25\nc +Inf\nd -Inf\ne NaN\nf 0\n");
}
END_TEST

/* A bucket counts what is <= its bound ("le"), cumulatively, and the
 * +Inf bucket equals _count. */
START_TEST(histogram_buckets_are_cumulative)
{
	struct metrics_histogram h = { { 0 }, 0, 0 };
	const char *want = "# HELP lookup_seconds How long.\n"
	                   "# TYPE lookup_seconds histogram\n"
	                   "lookup_seconds_bucket{le=\"0.005\"} 2\n"
	                   "lookup_seconds_bucket{le=\"0.01\"} 2\n"
	                   "lookup_seconds_bucket{le=\"0.025\"} 2\n"
	                   "lookup_seconds_bucket{le=\"0.05\"} 2\n"
	                   "lookup_seconds_bucket{le=\"0.1\"} 2\n"
	                   "lookup_seconds_bucket{le=\"0.25\"} 3\n"
	                   "lookup_seconds_bucket{le=\"0.5\"} 4\n"
	                   "lookup_seconds_bucket{le=\"1\"} 4\n"
	                   "lookup_seconds_bucket{le=\"2.5\"} 4\n"
	                   "lookup_seconds_bucket{le=\"5\"} 4\n"
	                   "lookup_seconds_bucket{le=\"10\"} 4\n"
	                   "lookup_seconds_bucket{le=\"30\"} 4\n"
	                   "lookup_seconds_bucket{le=\"+Inf\"} 5\n"
	                   "lookup_seconds_sum 100.75390625\n"
	                   "lookup_seconds_count 5\n";

	/* binary fractions, so the sum is exact */
	metrics_observe(&h, 0.00390625);
	metrics_observe(&h, 0.25); /* on a bound: that bucket */
	metrics_observe(&h, 0.5);
	metrics_observe(&h, -1); /* a clock step back: 0 */
	metrics_observe(&h, 100);
	metrics_histogram(&t, "lookup_seconds", "How long.", &h);
	ck_assert_str_eq(t.buf, want);
}
END_TEST

/* A text that could not be written whole is marked and stays as it was. */
START_TEST(failure_is_sticky)
{
	char name[700];

	metrics_sample(&t, "ok", NULL, NULL, 1);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	metrics_family(&t, name, METRICS_GAUGE, "too long a line");
	ck_assert(metrics_text_failed(&t));
	metrics_sample(&t, "later", NULL, NULL, 2);
	ck_assert_str_eq(t.buf, "ok 1\n");
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, family_and_samples);
	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, real_numbers);
	tcase_add_test(tc, histogram_buckets_are_cumulative);
	tcase_add_test(tc, failure_is_sticky);
	suite_add_tcase(s, tc);
	return s;
}
