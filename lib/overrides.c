/* overrides: the administrator's answers for chosen keys (overrides.h). */
#include "overrides.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WORDS_MAX 64

static const char *const levels[] = { "none", "may", "encrypt", "dane",
	"dane-only", "fingerprint", "verify", "secure" };
static const char *const attributes[] = { "ciphers", "connection_reuse",
	"exclude", "match", "protocols", "servername", "tafile" };

/* Split line[0..len) at blanks into words (NUL-terminated in buf). */
static size_t
split(const char *line, size_t len, char *buf, char *words[WORDS_MAX + 1])
{
	size_t n = 0, i = 0;

	memcpy(buf, line, len);
	buf[len] = '\0';
	while (i < len && n <= WORDS_MAX) {
		while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
			buf[i++] = '\0';
		if (i == len)
			break;
		words[n++] = &buf[i];
		while (i < len && buf[i] != ' ' && buf[i] != '\t')
			i++;
	}
	return n;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (UTC) into *t. */
static int
parse_until(const char *s, int64_t *t)
{
	struct tm tm;
	unsigned y, mo, d, h = 0, mi = 0;
	int used = 0;
	time_t v;

	if (sscanf(s, "%4u-%2u-%2u%n", &y, &mo, &d, &used) != 3 || used != 10)
		return -1;
	if (s[10] == 'T') {
		int more = 0;

		if (sscanf(s + 11, "%2u:%2u%n", &h, &mi, &more) != 2 ||
		    more != 5 || s[16] != '\0')
			return -1;
	} else if (s[10] != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	v = timegm(&tm);
	if (v == (time_t)-1 || tm.tm_mday != (int)d) /* 2027-02-30 */
		return -1;
	*t = (int64_t)v;
	return 0;
}

/* A policy attribute: one of Postfix's names, "=", a value printable
 * without blank, comma or brace (Postfix splits a policy at blanks and
 * commas, and braces group). */
static bool
attribute_ok(const char *w)
{
	const char *eq = strchr(w, '=');
	bool known = false;

	if (eq == NULL || eq[1] == '\0')
		return false;
	for (size_t i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++)
		known |= strlen(attributes[i]) == (size_t)(eq - w) &&
		    memcmp(attributes[i], w, (size_t)(eq - w)) == 0;
	if (!known)
		return false;
	for (const char *p = eq + 1; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '{' || *p == '}' || *p == ',')
			return false;
	return true;
}

/* words[0..n) are REPLY: into ov, or a reason why not. */
static const char *
parse_reply(char **words, size_t n, struct override *ov)
{
	size_t off = 0, first = 1;

	if (strcmp(words[0], "NOTFOUND") == 0) {
		if (n != 1)
			return "NOTFOUND takes nothing after it";
		ov->status = SOCKMAP_NOTFOUND;
		return NULL;
	}
	if (strcmp(words[0], "TEMP") == 0)
		ov->status = SOCKMAP_TEMP;
	else if (strcmp(words[0], "OK") == 0) {
		bool known = false, match = false;

		if (n < 2)
			return "OK needs a TLS security level";
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			known |= strcmp(words[1], levels[i]) == 0;
		if (!known)
			return "not a Postfix TLS security level after OK";
		for (size_t i = 2; i < n; i++) {
			if (!attribute_ok(words[i]))
				return "an attribute is not one of Postfix's "
				       "name=value (no blank, comma or brace)";
			match |= strncmp(words[i], "match=", 6) == 0;
		}
		if (strcmp(words[1], "fingerprint") == 0 && !match)
			return "fingerprint needs match=";
		ov->status = SOCKMAP_OK;
	} else
		return "the reply is not OK, NOTFOUND or TEMP";
	for (size_t i = first; i < n; i++) {
		size_t wl = strlen(words[i]);

		for (const char *p = words[i]; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				return "a byte that is not printable";
		if (off + wl + 1 > OVERRIDES_TEXT_MAX)
			return "the reply is too long";
		memcpy(ov->text + off, words[i], wl);
		off += wl;
		ov->text[off++] = ' ';
	}
	ov->text[off > 0 ? off - 1 : 0] = '\0';
	if (ov->status == SOCKMAP_TEMP && off == 0)
		snprintf(ov->text, sizeof(ov->text), "override");
	return NULL;
}

/* One line into ov; NULL, or why it is bad. */
static const char *
parse_line(const char *line, size_t len, struct override *ov)
{
	char buf[2048], *words[WORDS_MAX + 1];
	size_t n;
	struct mapkey mk;
	const char *why = NULL;

	if (len >= sizeof(buf))
		return "the line is too long";
	if (memchr(line, '\0', len) != NULL)
		return "a NUL byte";
	n = split(line, len, buf, words);
	if (n > WORDS_MAX)
		return "too many words";
	if (n < 2)
		return "a key and a reply are needed";
	if (mapkey_parse(words[0], strlen(words[0]), &mk, &why) !=
	    MAPKEY_LOOKUP)
		return why != NULL ? why : "not a key that is looked up";
	memset(ov, 0, sizeof(*ov));
	snprintf(ov->key, sizeof(ov->key), "%s", mk.norm);
	if (n >= 4 && strcmp(words[n - 2], "until") == 0) {
		if (parse_until(words[n - 1], &ov->until) != 0)
			return "until wants YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)";
		ov->has_until = true;
		n -= 2;
	}
	return parse_reply(words + 1, n - 1, ov);
}

static int
by_key(const void *a, const void *b)
{
	const struct override *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	/* the same key twice: the earlier line first */
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

void
overrides_free(struct overrides *o)
{
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

int
overrides_parse(const char *text, size_t len, struct overrides *o,
    overrides_bad_fn *bad, void *arg)
{
	size_t cap = 0, out = 0;
	unsigned line = 0;

	overrides_free(o);
	for (size_t i = 0; i < len;) {
		const char *s = text + i, *nl = memchr(s, '\n', len - i);
		size_t l = nl != NULL ? (size_t)(nl - s) : len - i;
		const char *why;
		size_t k = 0;

		i += l + (nl != NULL);
		line++;
		if (l > 0 && s[l - 1] == '\r')
			l--;
		while (k < l && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k == l || s[k] == '#')
			continue;
		if (o->n == cap) {
			struct override *v;

			cap = cap ? 2 * cap : 16;
			if ((v = realloc(o->v, cap * sizeof(*v))) == NULL) {
				overrides_free(o);
				return -1;
			}
			o->v = v;
		}
		if ((why = parse_line(s, l, &o->v[o->n])) != NULL) {
			bad(arg, line, why);
			continue;
		}
		o->v[o->n++].line = line;
	}
	if (o->n == 0)
		return 0;
	qsort(o->v, o->n, sizeof(*o->v), by_key);
	for (size_t i = 0; i < o->n; i++) { /* one line per key: the first */
		if (out > 0 && strcmp(o->v[out - 1].key, o->v[i].key) == 0) {
			char why[MAPKEY_NORM_MAX + 64];

			snprintf(why, sizeof(why),
			    "%s is overridden already at line %u",
			    o->v[i].key, o->v[out - 1].line);
			bad(arg, o->v[i].line, why);
			continue;
		}
		o->v[out++] = o->v[i];
	}
	o->n = out;
	return 0;
}

int
overrides_load(const char *path, struct overrides *o,
    overrides_bad_fn *bad, void *arg, struct stat *st_out, char *err,
    size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	int rc = -1;

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > OVERRIDES_FILE_MAX) {
		snprintf(err, err_size, "%s: %s", path,
		    S_ISREG(st.st_mode) ? "larger than 4 MiB"
		                        : "not a regular file");
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, err_size, "%s: out of memory", path);
		goto out;
	}
	while (have <= (size_t)st.st_size) {
		ssize_t r = read(fd, buf + have, (size_t)st.st_size + 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, err_size, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	if (have > (size_t)st.st_size) {
		snprintf(err, err_size, "%s: grew while read", path);
		goto out;
	}
	{
		struct overrides next = { NULL, 0 };

		if (overrides_parse(buf, have, &next, bad, arg) != 0) {
			snprintf(err, err_size, "%s: out of memory", path);
			goto out;
		}
		overrides_free(o);
		*o = next;
	}
	if (st_out != NULL)
		*st_out = st;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

struct override *
overrides_find(const struct overrides *o, const char *key)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, o->v[mid].key);

		if (c == 0)
			return &o->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool
override_applies(const struct override *ov, int64_t now)
{
	return !ov->has_until || now < ov->until;
}

const char *
overrides_until_text(const struct override *ov, char *buf, size_t size)
{
	time_t t = (time_t)ov->until;
	struct tm tm;

	if (!ov->has_until)
		snprintf(buf, size, "for ever");
	else if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%MZ", &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}
