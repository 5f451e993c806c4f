/*
 * sts: MTA-STS records and policies (see sts.h). The grammar is RFC 8461
 * §3.1 and §3.2, read strictly; where the RFC's prose and ABNF disagree
 * (LF line ends, errata 6253; spaces before ";", errata 6285) the ABNF's
 * wider reading is taken, and a policy file may end in blank lines.
 */
#include "sts.h"

#include <stdio.h>
#include <string.h>

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

const char *
sts_mode_name(enum sts_mode mode)
{
	switch (mode) {
	case STS_MODE_ENFORCE:
		return "enforce";
	case STS_MODE_TESTING:
		return "testing";
	case STS_MODE_NONE:
	default:
		return "none";
	}
}

/* ------------------------------------------------------------ TXT record */

/* A field name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."),
 * used by both grammars; its length, or 0 if s does not start with one. */
static size_t
field_name(const char *s, size_t len)
{
	size_t n = 0;

	if (len == 0 || !is_alnum((unsigned char)s[0]))
		return 0;
	for (n = 1; n < len && n < 32; n++) {
		unsigned char c = (unsigned char)s[n];

		if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
			break;
	}
	return n;
}

static enum sts_txt_result txt_parse(const char *text, size_t len,
    char id[STS_ID_MAX + 1]);

enum sts_txt_result
sts_txt_parse(const char *text, size_t len, char id[STS_ID_MAX + 1])
{
	enum sts_txt_result r = txt_parse(text, len, id);

	if (r != STS_TXT_OK)
		id[0] = '\0';
	return r;
}

static enum sts_txt_result
txt_parse(const char *text, size_t len, char id[STS_ID_MAX + 1])
{
	static const char version[] = "v=STSv1";
	size_t off = sizeof(version) - 1;
	bool have_id = false;

	id[0] = '\0';
	if (len < off || memcmp(text, version, off) != 0 ||
	    (len > off && text[off] != ';' && !is_wsp(text[off])))
		return STS_TXT_OTHER;
	for (;;) {
		size_t name_len, val_start, val_len;

		while (off < len && is_wsp(text[off]))
			off++;
		if (off == len)
			break;
		if (text[off++] != ';')
			return STS_TXT_INVALID;
		while (off < len && is_wsp(text[off]))
			off++;
		if (off == len)
			break; /* a trailing delimiter */
		name_len = field_name(text + off, len - off);
		if (name_len == 0 || off + name_len >= len ||
		    text[off + name_len] != '=')
			return STS_TXT_INVALID;
		val_start = off + name_len + 1;
		for (val_len = 0; val_start + val_len < len; val_len++) {
			unsigned char c = (unsigned char)text[val_start + val_len];

			if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
				break;
		}
		if (val_len == 0)
			return STS_TXT_INVALID;
		if (name_len == 2 && memcmp(text + off, "id", 2) == 0 &&
		    !have_id) {
			if (val_len > STS_ID_MAX)
				return STS_TXT_INVALID;
			for (size_t i = 0; i < val_len; i++)
				if (!is_alnum((unsigned char)text[val_start + i]))
					return STS_TXT_INVALID;
			memcpy(id, text + val_start, val_len);
			id[val_len] = '\0';
			have_id = true;
		}
		off = val_start + val_len;
		/* the value ends at a delimiter, a space or the end */
		if (off < len && text[off] != ';' && !is_wsp(text[off]))
			return STS_TXT_INVALID;
	}
	return have_id ? STS_TXT_OK : STS_TXT_INVALID;
}

void
sts_txt_pick_init(struct sts_txt_pick *pick)
{
	memset(pick, 0, sizeof(*pick));
}

void
sts_txt_pick_add(struct sts_txt_pick *pick, const char *text, size_t len)
{
	char one[STS_ID_MAX + 1];

	switch (sts_txt_parse(text, len, one)) {
	case STS_TXT_OK:
		if (pick->ours++ == 0) {
			memcpy(pick->id, one, sizeof(one));
			pick->valid = true;
		}
		break;
	case STS_TXT_INVALID:
		pick->ours++;
		pick->valid = false;
		break;
	case STS_TXT_OTHER:
		break;
	}
}

bool
sts_txt_pick_done(const struct sts_txt_pick *pick, char id[STS_ID_MAX + 1],
    const char **why)
{
	id[0] = '\0';
	if (pick->ours == 0)
		*why = "no v=STSv1 TXT record";
	else if (pick->ours > 1)
		*why = "more than one v=STSv1 TXT record";
	else if (!pick->valid)
		*why = "invalid v=STSv1 TXT record";
	else {
		memcpy(id, pick->id, STS_ID_MAX + 1);
		return true;
	}
	return false;
}

bool
sts_txt_pick(const char *const *texts, const size_t *lens, size_t n,
    char id[STS_ID_MAX + 1], const char **why)
{
	struct sts_txt_pick pick;

	sts_txt_pick_init(&pick);
	for (size_t i = 0; i < n; i++)
		sts_txt_pick_add(&pick, texts[i], lens[i]);
	return sts_txt_pick_done(&pick, id, why);
}

/* ------------------------------------------------------------ policy */

/* An mx value: ["*."] Domain (RFC 5321 §4.1.2: LDH labels, each starting
 * and ending with a letter or digit), at most 253 octets. */
static bool
mx_pattern_valid(const char *s, size_t len)
{
	size_t label = 0;

	/* the whole value, "*." included, must fit a name */
	if (len > STS_NAME_MAX)
		return false;
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && !(c == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* max_age: 1*10 DIGIT, at most STS_MAX_AGE_MAX. */
static bool
max_age_parse(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > STS_MAX_AGE_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool
value_is(const char *v, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(v, word, len) == 0;
}

/* Split one line (no terminator) into key and value: a field name, ":",
 * *WSP, then a value of visible characters (UTF-8 allowed) and inner
 * spaces, trailing WSP dropped. false if the line is not that. */
static bool
split_line(const char *line, size_t len, const char **key, size_t *key_len,
    const char **val, size_t *val_len)
{
	size_t k = field_name(line, len), off;

	if (k == 0 || k >= len || line[k] != ':')
		return false;
	off = k + 1;
	while (off < len && is_wsp(line[off]))
		off++;
	while (len > off && is_wsp(line[len - 1]))
		len--;
	if (off == len)
		return false;
	for (size_t i = off; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			return false; /* tabs, CR, NUL and other controls */
	}
	*key = line;
	*key_len = k;
	*val = line + off;
	*val_len = len - off;
	return true;
}

/* One field of the policy; -1 with *why if it breaks the grammar. */
static int
policy_field(struct sts_policy *p, const char *key, size_t key_len,
    const char *val, size_t val_len, unsigned *seen, const char **why)
{
	enum { SEEN_VERSION = 1, SEEN_MODE = 2, SEEN_MAX_AGE = 4 };

	if (value_is(key, key_len, "version")) {
		if (!value_is(val, val_len, "STSv1")) {
			*why = "version is not STSv1";
			return -1;
		}
		*seen |= SEEN_VERSION;
	} else if (value_is(key, key_len, "mode")) {
		enum sts_mode m;

		if (value_is(val, val_len, "enforce"))
			m = STS_MODE_ENFORCE;
		else if (value_is(val, val_len, "testing"))
			m = STS_MODE_TESTING;
		else if (value_is(val, val_len, "none"))
			m = STS_MODE_NONE;
		else {
			*why = "mode is not enforce, testing or none";
			return -1;
		}
		if (!(*seen & SEEN_MODE)) /* the first of a repeated field */
			p->mode = m;
		*seen |= SEEN_MODE;
	} else if (value_is(key, key_len, "max_age")) {
		uint32_t age;

		if (!max_age_parse(val, val_len, &age)) {
			*why = "max_age is not a number from 0 to 31557600";
			return -1;
		}
		if (!(*seen & SEEN_MAX_AGE))
			p->max_age = age;
		*seen |= SEEN_MAX_AGE;
	} else if (value_is(key, key_len, "mx")) {
		if (!mx_pattern_valid(val, val_len)) {
			*why = "an mx value is not a host name pattern";
			return -1;
		}
		if (p->mx_count == STS_MX_MAX) {
			*why = "more than 32 mx values";
			return -1;
		}
		for (size_t i = 0; i < val_len; i++) {
			char c = val[i];

			p->mx[p->mx_count][i] =
			    c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		p->mx[p->mx_count][val_len] = '\0';
		p->mx_count++;
	}
	/* anything else: an extension, ignored */
	return 0;
}

int
sts_policy_parse(const char *body, size_t len, struct sts_policy *p,
    const char **why)
{
	unsigned seen = 0;
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	if (len > STS_BODY_MAX) {
		*why = "larger than 64 KiB";
		return -1;
	}
	while (off < len) {
		const char *line = body + off;
		const char *lf = memchr(line, '\n', len - off);
		size_t line_len = lf != NULL ? (size_t)(lf - line) : len - off;
		const char *key, *val;
		size_t key_len, val_len;

		off += line_len + (lf != NULL);
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (line_len == 0) {
			/* blank lines may only end the file */
			for (; off < len; off++)
				if (body[off] != '\r' && body[off] != '\n') {
					*why = "a blank line inside the policy";
					return -1;
				}
			break;
		}
		if (!split_line(line, line_len, &key, &key_len, &val,
		        &val_len)) {
			*why = "a line that is not \"key: value\"";
			return -1;
		}
		if (policy_field(p, key, key_len, val, val_len, &seen, why) !=
		    0)
			return -1;
	}
	if (!(seen & 1))
		*why = "no version";
	else if (!(seen & 2))
		*why = "no mode";
	else if (!(seen & 4))
		*why = "no max_age";
	else if (p->mode != STS_MODE_NONE && p->mx_count == 0)
		*why = "no mx (required unless mode is none)";
	else
		return 0;
	return -1;
}

bool
sts_mx_match(const char *pattern, const char *host)
{
	const char *dot;

	if (pattern[0] != '*')
		return strcmp(pattern, host) == 0;
	/* "*.example.net": exactly one label before "example.net" */
	dot = strchr(host, '.');
	return dot != NULL && dot != host && strcmp(dot + 1, pattern + 2) == 0;
}

/* ------------------------------------------------------------ the reply */

/* A reply being written: once something does not fit, ok stays false. */
struct out {
	char *buf;
	size_t size, off;
	bool ok;
};

static void
put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (!o->ok || n >= o->size - o->off) {
		o->ok = false;
		return;
	}
	memcpy(o->buf + o->off, s, n + 1);
	o->off += n;
}

static void
put_uint(struct out *o, uint32_t v)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)v);
	put(o, num);
}

int
sts_reply_format(const struct sts_policy *p, const char *domain,
    bool tlsrpt, uint32_t ttl, char *buf, size_t size)
{
	struct out o = { buf, size, 0, size > 0 };

	put(&o, "secure match=");
	for (size_t i = 0; i < p->mx_count; i++) {
		if (i > 0)
			put(&o, ":");
		/* Postfix spells "*.example.net" ".example.net" */
		put(&o, p->mx[i][0] == '*' ? p->mx[i] + 1 : p->mx[i]);
	}
	put(&o, " servername=hostname");
	if (tlsrpt) {
		put(&o, " policy_type=sts policy_domain=");
		put(&o, domain);
		put(&o, " policy_ttl=");
		put_uint(&o, ttl);
		put(&o, " { policy_string = version: STSv1 }");
		put(&o, " { policy_string = mode: ");
		put(&o, sts_mode_name(p->mode));
		put(&o, " } { policy_string = max_age: ");
		put_uint(&o, p->max_age);
		put(&o, " }");
		for (size_t i = 0; i < p->mx_count; i++) {
			put(&o, " { policy_string = mx: ");
			put(&o, p->mx[i]);
			put(&o, " }");
		}
		for (size_t i = 0; i < p->mx_count; i++) {
			put(&o, " mx_host_pattern=");
			put(&o, p->mx[i]);
		}
	}
	return o.ok ? (int)o.off : -1;
}

/* ------------------------------------------------------------ the cache */

bool
sts_cached_valid(const struct sts_cached *c, int64_t now)
{
	return c != NULL && now < c->fetched + (int64_t)c->policy.max_age;
}

int
sts_cached_encode(const struct sts_cached *c, char *buf, size_t size)
{
	struct out o = { buf, size, 0, size > 0 };
	char num[24];

	if (c->fetched < 0)
		return -1;
	snprintf(num, sizeof(num), "%lld", (long long)c->fetched);
	put(&o, num);
	put(&o, " ");
	put(&o, c->id);
	put(&o, " ");
	put(&o, sts_mode_name(c->policy.mode));
	put(&o, " ");
	put_uint(&o, c->policy.max_age);
	for (size_t i = 0; i < c->policy.mx_count; i++) {
		put(&o, " ");
		put(&o, c->policy.mx[i]);
	}
	return o.ok ? (int)o.off : -1;
}

/* The next space-separated field of text; false at the end. */
static bool
next_word(const char **p, const char *end, const char **w, size_t *len)
{
	if (*p >= end)
		return false;
	*w = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*len = (size_t)(*p - *w);
	if (*p < end && ++(*p) == end)
		return false; /* a trailing space */
	return *len > 0;
}

int
sts_cached_decode(const char *text, size_t len, struct sts_cached *c)
{
	const char *p = text, *end = text + len, *w;
	size_t wl;
	int64_t fetched = 0;

	/* not memset: the struct is ~8 KB and this runs for every cached
	 * answer; every field read later is set here */
	c->policy.mode = STS_MODE_NONE;
	c->policy.mx_count = 0;
	if (len > STS_CACHED_TEXT_MAX || !next_word(&p, end, &w, &wl) ||
	    wl > 18 || (wl > 1 && w[0] == '0'))
		return -1;
	for (size_t i = 0; i < wl; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		fetched = fetched * 10 + (w[i] - '0');
	}
	c->fetched = fetched;
	if (!next_word(&p, end, &w, &wl) || wl > STS_ID_MAX)
		return -1;
	for (size_t i = 0; i < wl; i++)
		if (!is_alnum((unsigned char)w[i]))
			return -1;
	memcpy(c->id, w, wl);
	c->id[wl] = '\0';
	if (!next_word(&p, end, &w, &wl))
		return -1;
	if (value_is(w, wl, "enforce"))
		c->policy.mode = STS_MODE_ENFORCE;
	else if (value_is(w, wl, "testing"))
		c->policy.mode = STS_MODE_TESTING;
	else if (!value_is(w, wl, "none"))
		return -1;
	if (!next_word(&p, end, &w, &wl) ||
	    !max_age_parse(w, wl, &c->policy.max_age) ||
	    (wl > 1 && w[0] == '0'))
		return -1;
	while (p < end) {
		if (!next_word(&p, end, &w, &wl) || !mx_pattern_valid(w, wl) ||
		    c->policy.mx_count == STS_MX_MAX)
			return -1;
		for (size_t i = 0; i < wl; i++)
			if (w[i] >= 'A' && w[i] <= 'Z')
				return -1; /* kept lower-cased */
		memcpy(c->policy.mx[c->policy.mx_count], w, wl);
		c->policy.mx[c->policy.mx_count][wl] = '\0';
		c->policy.mx_count++;
	}
	if (c->policy.mode != STS_MODE_NONE && c->policy.mx_count == 0)
		return -1;
	return 0;
}

enum sts_plan
sts_plan(bool have_id, const char *id, const struct sts_cached *cached,
    int64_t now, bool refresh)
{
	bool valid = sts_cached_valid(cached, now);

	if (!have_id)
		return valid ? STS_PLAN_CACHED : STS_PLAN_NONE;
	if (!valid || strcmp(cached->id, id) != 0 || refresh)
		return STS_PLAN_FETCH;
	return STS_PLAN_CACHED;
}

enum sts_plan
sts_plan_failed(const struct sts_cached *cached, int64_t now)
{
	return sts_cached_valid(cached, now) ? STS_PLAN_CACHED : STS_PLAN_NONE;
}

bool
sts_refresh_due(const struct sts_cached *c, int64_t now)
{
	return c->fetched + (int64_t)c->policy.max_age - now <
	    (int64_t)c->policy.max_age / 2;
}
