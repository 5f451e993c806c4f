/*
 * record: encode/decode the CDB value "1 <reply> <expires> <stored>" or
 * "2 <reply> <expires> <stored> <sts>" (see record.h). Strict on input: one space between fields, decimal digits
 * without sign or leading zeros, no trailing bytes, overflow-checked.
 */
#include "record.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *
record_reply_word(enum policy_reply reply)
{
	switch (reply) {
	case POLICY_REPLY_DANE_ONLY:
		return "dane-only";
	case POLICY_REPLY_DANE:
		return "dane";
	case POLICY_REPLY_NOTFOUND:
		return "notfound";
	case POLICY_REPLY_TEMP:
	default:
		return NULL;
	}
}

int
record_encode(const struct record *rec, char *buf, size_t size)
{
	const char *word = record_reply_word(rec->reply);
	int n;

	if (word == NULL || rec->expires < 0 || rec->stored < 0)
		return -1;
	n = snprintf(buf, size, "%d %s %" PRId64 " %" PRId64 "%s%.*s",
	    rec->sts != NULL ? RECORD_VERSION_STS : RECORD_VERSION, word,
	    rec->expires, rec->stored, rec->sts != NULL ? " " : "",
	    rec->sts != NULL ? (int)rec->sts_len : 0,
	    rec->sts != NULL ? rec->sts : "");
	if (n < 0 || (size_t)n >= size || n > RECORD_MAX)
		return -1;
	return n;
}

/* One field: the bytes up to the next space (or the end). */
static int
next_field(const char **p, const char *end, const char **field, size_t *len)
{
	const char *start = *p;

	if (start >= end)
		return -1;
	*field = start;
	while (*p < end && **p != ' ')
		(*p)++;
	*len = (size_t)(*p - start);
	if (*len == 0)
		return -1;
	if (*p < end) {
		(*p)++; /* the single separating space */
		if (*p == end)
			return -1; /* trailing space */
	}
	return 0;
}

static int
parse_time(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

enum record_status
record_decode(const char *data, size_t len, struct record *rec)
{
	const char *p = data, *end = data + len, *f;
	size_t flen;
	int64_t version;
	static const enum policy_reply replies[] = { POLICY_REPLY_DANE_ONLY,
		POLICY_REPLY_DANE, POLICY_REPLY_NOTFOUND };
	bool known = false;
	struct sts_cached sts;

	if (len == 0 || len > RECORD_MAX)
		return RECORD_CORRUPT;
	if (next_field(&p, end, &f, &flen) != 0 ||
	    parse_time(f, flen, &version) != 0)
		return RECORD_CORRUPT;
	if (version != RECORD_VERSION && version != RECORD_VERSION_STS)
		return RECORD_UNKNOWN_VERSION;
	rec->sts = NULL;
	rec->sts_len = 0;
	if (next_field(&p, end, &f, &flen) != 0)
		return RECORD_CORRUPT;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		const char *w = record_reply_word(replies[i]);

		if (strlen(w) == flen && memcmp(w, f, flen) == 0) {
			rec->reply = replies[i];
			known = true;
		}
	}
	if (!known || next_field(&p, end, &f, &flen) != 0 ||
	    parse_time(f, flen, &rec->expires) != 0 ||
	    next_field(&p, end, &f, &flen) != 0 ||
	    parse_time(f, flen, &rec->stored) != 0)
		return RECORD_CORRUPT;
	if (version == RECORD_VERSION)
		return p == end ? RECORD_OK : RECORD_CORRUPT;
	/* the rest is the policy, checked as strictly as a fetched one */
	if (p == end || sts_cached_decode(p, (size_t)(end - p), &sts) != 0)
		return RECORD_CORRUPT;
	rec->sts = p;
	rec->sts_len = (size_t)(end - p);
	return RECORD_OK;
}
