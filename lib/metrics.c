/*
 * metrics: the Prometheus text writer and the duration histogram (see
 * metrics.h).
 */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_bucket_bounds[METRICS_BUCKETS] = { 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

void
metrics_text_init(struct metrics_text *t)
{
	memset(t, 0, sizeof(*t));
}

void
metrics_text_free(struct metrics_text *t)
{
	free(t->buf);
	metrics_text_init(t);
}

bool
metrics_text_failed(const struct metrics_text *t)
{
	return t->failed;
}

/* Room for n more bytes and the NUL. */
static bool
reserve(struct metrics_text *t, size_t n)
{
	size_t cap = t->cap > 0 ? t->cap : 4096;
	char *grown;

	if (t->failed)
		return false;
	if (t->len + n + 1 <= t->cap)
		return true;
	while (cap < t->len + n + 1) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if ((grown = realloc(t->buf, cap)) == NULL)
		goto fail;
	t->buf = grown;
	t->cap = cap;
	return true;
fail:
	t->failed = true;
	return false;
}

static void
append(struct metrics_text *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void
appendf(struct metrics_text *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		t->failed = true; /* the caller's names are too long: a bug */
		return;
	}
	append(t, line, (size_t)n);
}

/* A label value as the format quotes it. */
static void
append_label_value(struct metrics_text *t, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			append(t, "\\\\", 2);
		else if (*v == '"')
			append(t, "\\\"", 2);
		else if (*v == '\n')
			append(t, "\\n", 2);
		else
			append(t, v, 1);
	}
}

static void
append_name(struct metrics_text *t, const char *name, const char *label,
    const char *label_value)
{
	append(t, name, strlen(name));
	if (label == NULL)
		return;
	appendf(t, "{%s=\"", label);
	append_label_value(t, label_value);
	append(t, "\"}", 2);
}

/* The shortest of %.15g and %.17g that reads back as the same double. */
static void
append_real(struct metrics_text *t, double v)
{
	char num[40];

	if (isnan(v)) {
		append(t, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		append(t, v > 0 ? "+Inf" : "-Inf", 4);
		return;
	}
	snprintf(num, sizeof(num), "%.15g", v);
	if (strtod(num, NULL) != v)
		snprintf(num, sizeof(num), "%.17g", v);
	append(t, num, strlen(num));
}

void
metrics_family(struct metrics_text *t, const char *name, enum metrics_type type,
    const char *help)
{
	static const char *const types[] = {
		[METRICS_COUNTER] = "counter",
		[METRICS_GAUGE] = "gauge",
		[METRICS_HISTOGRAM] = "histogram",
	};

	appendf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    types[type]);
}

void
metrics_sample(struct metrics_text *t, const char *name, const char *label,
    const char *label_value, uint64_t value)
{
	append_name(t, name, label, label_value);
	appendf(t, " %llu\n", (unsigned long long)value);
}

void
metrics_sample_real(struct metrics_text *t, const char *name, const char *label,
    const char *label_value, double value)
{
	append_name(t, name, label, label_value);
	append(t, " ", 1);
	append_real(t, value);
	append(t, "\n", 1);
}

void
metrics_observe(struct metrics_histogram *h, double value)
{
	size_t i = 0;

	if (!(value > 0)) /* negative, zero or NaN */
		value = 0;
	while (i < METRICS_BUCKETS && value > metrics_bucket_bounds[i])
		i++;
	if (i < METRICS_BUCKETS)
		h->bucket[i]++;
	h->count++;
	h->sum += value;
}

void
metrics_histogram(struct metrics_text *t, const char *name, const char *help,
    const struct metrics_histogram *h)
{
	uint64_t cumulative = 0;
	char series[128], le[40];

	metrics_family(t, name, METRICS_HISTOGRAM, help);
	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t i = 0; i < METRICS_BUCKETS; i++) {
		cumulative += h->bucket[i];
		snprintf(le, sizeof(le), "%g", metrics_bucket_bounds[i]);
		metrics_sample(t, series, "le", le, cumulative);
	}
	metrics_sample(t, series, "le", "+Inf", h->count);
	snprintf(series, sizeof(series), "%s_sum", name);
	metrics_sample_real(t, series, NULL, NULL, h->sum);
	snprintf(series, sizeof(series), "%s_count", name);
	metrics_sample(t, series, NULL, NULL, h->count);
}
