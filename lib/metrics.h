/*
 * metrics: text in the Prometheus exposition format (text format 0.0.4),
 * and the histogram the daemon keeps of lookup durations.
 *
 * A writer appends families and samples to a growing buffer; a failed
 * allocation marks the text failed (metrics_text_failed) and later calls do
 * nothing, so a caller checks once at the end. Names and label names are
 * the caller's constants; label values are escaped as the format asks
 * (backslash, double quote, new line). Every series has at most one label:
 * the daemon's label sets are fixed (reply, source, kind, result), never a
 * domain, so a scrape's size does not grow with the traffic.
 *
 * Deliberately not here: what the numbers are (the daemon gathers them),
 * HTTP (the daemon serves the text with libevent's evhttp).
 */
#ifndef DANEMAP_METRICS_H
#define DANEMAP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics_text {
	char *buf; /* NUL-terminated while not failed; NULL before any text */
	size_t len, cap;
	bool failed;
};

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

/* metrics_text_init: an empty text. metrics_text_free: release it (the
 * struct can be initialised again). */
void metrics_text_init(struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);

/* metrics_text_failed: true if memory ran out while writing: the text is
 * incomplete and must not be served. */
bool metrics_text_failed(const struct metrics_text *t);

/* metrics_family: the "# HELP" and "# TYPE" lines that start a family. */
void metrics_family(struct metrics_text *t, const char *name,
    enum metrics_type type, const char *help);

/*
 * metrics_sample: one sample line, `name value` or, with a label,
 * `name{label="value"} value`. metrics_sample_real writes a real number
 * (shortest form that reads back the same; +Inf, -Inf, NaN as the format
 * spells them).
 */
void metrics_sample(struct metrics_text *t, const char *name, const char *label,
    const char *label_value, uint64_t value);
void metrics_sample_real(struct metrics_text *t, const char *name,
    const char *label, const char *label_value, double value);

/* Upper bounds of the histogram's buckets, in seconds (the last, +Inf,
 * is implicit): from a cached-looking 5 ms to a lookup deadline. */
#define METRICS_BUCKETS 12
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

struct metrics_histogram {
	uint64_t bucket[METRICS_BUCKETS]; /* observations <= bound, each
	                                   * counted in its own bucket only */
	uint64_t count;
	double sum;
};

/* metrics_observe: count one observation of value (seconds). A negative
 * or NaN value counts as 0. */
void metrics_observe(struct metrics_histogram *h, double value);

/* metrics_histogram: the family and its _bucket (cumulative, le="..."),
 * _sum and _count lines. */
void metrics_histogram(struct metrics_text *t, const char *name,
    const char *help, const struct metrics_histogram *h);

#endif
