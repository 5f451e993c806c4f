/*
 * configfile: parse danemap.conf (see configfile.h). One table names every key,
 * its kind, its range and where it goes, so the parser, the defaults and
 * the man page have one list to agree with.
 */
#include "configfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)

enum kind {
	K_UINT,  /* decimal, in [min, max] */
	K_OCTAL, /* octal, in [min, max] */
	K_PATH,  /* absolute path */
	K_NAME,  /* printable, no spaces */
	K_WORD,  /* one of the key's words (struct word) */
	K_LOG_LEVEL,
	K_FACILITY,
	K_UPSTREAM,
	K_LISTEN,
	K_BOOL,    /* yes or no */
	K_METRICS, /* inet:ADDR:PORT, or inet:PORT on 127.0.0.1 */
	K_CONTROL, /* unix:PATH */
};

/* A word a K_WORD key takes, and the enum value it stands for. */
struct word {
	const char *name;
	int value;
};

struct key {
	const char *name;
	enum kind kind;
	size_t offset;
	size_t size; /* for strings and words */
	unsigned long min, max;
	const char *unit;         /* for messages */
	const struct word *words; /* K_WORD: ends with a NULL name */
};

static const struct word resolution_words[] = {
	{ "stub", CONFIG_RESOLUTION_STUB },
	{ "recursive", CONFIG_RESOLUTION_RECURSIVE },
	{ NULL, 0 },
};
static const struct word transport_words[] = {
	{ "tcp", CONFIG_TRANSPORT_TCP },
	{ "udp", CONFIG_TRANSPORT_UDP },
	{ NULL, 0 },
};
static const struct word inet_words[] = {
	{ "all", CONFIG_INET_ALL },
	{ "ipv4", CONFIG_INET_IPV4 },
	{ "ipv6", CONFIG_INET_IPV6 },
	{ NULL, 0 },
};

/* clang-format off */
#define U(n, field, lo, hi, unit)                                              \
	{ n, K_UINT, offsetof(struct config, field), 0, lo, hi, unit, NULL }
#define S(n, kind, field)                                                      \
	{ n, kind, offsetof(struct config, field),                             \
	    sizeof(((struct config *)0)->field), 0, 0, NULL, NULL }
#define W(n, field, words)                                                     \
	{ n, K_WORD, offsetof(struct config, field),                           \
	    sizeof(((struct config *)0)->field), 0, 0, NULL, words }
/* clang-format on */

static const struct key keys[] = {
	W("resolution", resolution, resolution_words),
	S("upstream", K_UPSTREAM, upstream),
	W("transport", transport, transport_words),
	S("trust_anchor_file", K_PATH, trust_anchor_file),
	S("root_hints", K_PATH, root_hints),
	U("query_timeout", query_timeout_ms, 100, 60000, "milliseconds"),
	U("lookup_deadline", lookup_deadline_ms, 100, 90000, "milliseconds"),
	U("max_cname_depth", max_cname_depth, 1, 32, "steps"),
	S("log_level", K_LOG_LEVEL, log_level),
	S("syslog_facility", K_FACILITY, syslog_facility),
	S("listen", K_LISTEN, listen),
	S("map_name", K_NAME, map_name),
	S("user", K_NAME, user),
	S("socket_group", K_NAME, socket_group),
	{ "socket_mode", K_OCTAL, offsetof(struct config, socket_mode), 0, 0,
	    0777, "octal mode", NULL },
	U("max_connections", max_connections, 1, 1000000, "connections"),
	U("max_lookups", max_lookups, 1, 100000, "lookups"),
	U("idle_timeout", idle_timeout_ms, 1000, 3600000, "milliseconds"),
	U("cache_entries", cache_entries, 0, 100000000, "entries"),
	U("min_ttl", min_ttl, 0, 604800, "seconds"),
	U("max_ttl", max_ttl, 1, 31536000, "seconds"),
	S("state_dir", K_PATH, state_dir),
	S("cache_file", K_PATH, cache_file),
	U("stale_ttl", stale_ttl, 0, 604800, "seconds"),
	U("warm_concurrency", warm_concurrency, 1, 10000, "lookups"),
	S("mta_sts", K_BOOL, mta_sts),
	S("mta_sts_ca_file", K_PATH, mta_sts_ca_file),
	U("mta_sts_timeout", mta_sts_timeout_ms, 100, 120000, "milliseconds"),
	U("mta_sts_max_fetches", mta_sts_max_fetches, 1, 10000, "fetches"),
	U("mta_sts_port", mta_sts_port, 1, 65535, "port"),
	S("tlsrpt", K_BOOL, tlsrpt),
	S("probe_helo", K_NAME, probe_helo),
	U("probe_expiry_warn", probe_expiry_warn, 0, 3650, "days"),
	U("probe_connections", probe_connections, 1, 1000, "connections"),
	U("probe_timeout", probe_timeout_ms, 1000, 300000, "milliseconds"),
	W("probe_inet_protocols", probe_inet_protocols, inet_words),
	U("temp_alert_after", temp_alert_after, 0, 2592000, "seconds"),
	S("overrides_file", K_PATH, overrides_file),
	S("metrics_listen", K_METRICS, metrics_listen),
	S("control_socket", K_CONTROL, control_socket),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->resolution = CONFIG_RESOLUTION_RECURSIVE;
	cfg->transport = CONFIG_TRANSPORT_TCP;
	snprintf(cfg->trust_anchor_file, sizeof(cfg->trust_anchor_file),
	    "/usr/share/dns/root.key");
	cfg->query_timeout_ms = 3000;
	cfg->lookup_deadline_ms = 10000;
	cfg->max_cname_depth = 8;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->syslog_facility = LOG_MAIL;
	cfg->listen[0].kind = CONFIG_LISTEN_UNIX;
	snprintf(cfg->listen[0].path, sizeof(cfg->listen[0].path),
	    "/run/danemap/danemapd.sock");
	cfg->listen_count = 1;
	snprintf(cfg->map_name, sizeof(cfg->map_name), "tlspolicy");
	cfg->socket_mode = 0660;
	cfg->max_connections = 1024;
	cfg->max_lookups = 256;
	cfg->idle_timeout_ms = 30000;
	cfg->cache_entries = 100000;
	cfg->min_ttl = 300;
	cfg->max_ttl = 86400;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/danemap");
	snprintf(cfg->cache_file, sizeof(cfg->cache_file),
	    "/var/lib/danemap/cache.cdb");
	cfg->stale_ttl = 3600;
	cfg->warm_concurrency = 32;
	cfg->mta_sts = true;
	cfg->mta_sts_timeout_ms = 15000;
	cfg->mta_sts_max_fetches = 64;
	cfg->mta_sts_port = 443;
	cfg->tlsrpt = false;
	cfg->probe_helo[0] = '\0';
	cfg->probe_expiry_warn = 14;
	cfg->probe_connections = 8;
	cfg->probe_timeout_ms = 10000;
	cfg->probe_inet_protocols = CONFIG_INET_ALL;
	cfg->temp_alert_after = 3600;
}

struct parse {
	struct config *cfg;
	const char *name;
	unsigned line;
	char *err;
	size_t err_size;
	bool seen[NKEYS];
};

static int fail(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct parse *p, const char *fmt, ...)
{
	char msg[512], clean[sizeof(msg) + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote values from the file; a control byte in one must
	 * not reach a terminal or the log as itself. */
	log_sanitize(clean, sizeof(clean), msg, strlen(msg), sizeof(msg));
	if (p->line > 0)
		snprintf(p->err, p->err_size, "%s:%u: %s", p->name, p->line,
		    clean);
	else
		snprintf(p->err, p->err_size, "%s: %s", p->name, clean);
	return -1;
}

/* Decimal (base 10) or octal (base 8), digits only, overflow-checked. */
static int
parse_number(const char *s, unsigned base, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*s < '0' || d >= base || v > (max - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static bool
printable_word(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

static bool
numeric_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* "ADDR" or "ADDR@PORT" */
static int
parse_upstream(struct parse *p, const char *word)
{
	struct config *cfg = p->cfg;
	struct config_upstream *u;
	const char *at = strchr(word, '@');
	size_t alen = at != NULL ? (size_t)(at - word) : strlen(word);
	unsigned long port = 53;

	if (cfg->upstream_count >= CONFIG_MAX_UPSTREAMS)
		return fail(p, "too many upstreams (at most %d)",
		    CONFIG_MAX_UPSTREAMS);
	u = &cfg->upstream[cfg->upstream_count];
	if (alen == 0 || alen >= sizeof(u->address))
		return fail(p, "bad upstream \"%s\" (expected ADDRESS[@PORT])",
		    word);
	memcpy(u->address, word, alen);
	u->address[alen] = '\0';
	if (!numeric_address(u->address))
		return fail(p,
		    "bad upstream address \"%s\" (expected a numeric IPv4 or "
		    "IPv6 address)",
		    u->address);
	if (at != NULL &&
	    (at[1] == '0' || parse_number(at + 1, 10, 65535, &port) != 0 ||
	        port == 0))
		return fail(p,
		    "bad upstream port in \"%s\" (expected 1..65535)", word);
	u->port = (unsigned)port;
	cfg->upstream_count++;
	return 0;
}

/*
 * An address to listen on, for key: "unix:/path", "inet:ADDR:PORT",
 * "inet:[V6]:PORT"; with port_only, "inet:PORT" too, meaning 127.0.0.1
 * (a non-loopback address only when written). kinds: which of
 * 1 << CONFIG_LISTEN_UNIX, 1 << CONFIG_LISTEN_INET the key takes.
 */
static int
parse_address(struct parse *p, const char *key, const char *value,
    unsigned kinds, bool port_only, struct config_listen *l)
{
	const char *want = kinds == 1u << CONFIG_LISTEN_UNIX ? "unix:PATH"
	    : kinds == 1u << CONFIG_LISTEN_INET
	    ? (port_only ? "inet:ADDRESS:PORT or inet:PORT"
	                 : "inet:ADDRESS:PORT")
	    : "unix:PATH or inet:ADDRESS:PORT";
	unsigned long port;

	memset(l, 0, sizeof(*l));
	if (strncmp(value, "unix:", 5) == 0 &&
	    (kinds & 1u << CONFIG_LISTEN_UNIX) != 0) {
		const char *path = value + 5;

		if (path[0] != '/' || strlen(path) >= sizeof(l->path))
			return fail(p,
			    "bad %s \"%s\" (unix: needs an absolute path "
			    "under %zu bytes)",
			    key, value, sizeof(l->path));
		l->kind = CONFIG_LISTEN_UNIX;
		snprintf(l->path, sizeof(l->path), "%s", path);
		return 0;
	}
	if (strncmp(value, "inet:", 5) == 0 &&
	    (kinds & 1u << CONFIG_LISTEN_INET) != 0) {
		const char *addr = value + 5, *colon;
		unsigned char bin[16];
		size_t alen;
		int family = AF_INET;

		/* IPv6 only in brackets, IPv4 only without: then the last
		 * ':' always starts the port, with no guessing. */
		if (addr[0] == '[') {
			const char *close = strchr(addr, ']');

			family = AF_INET6;
			if (close == NULL || close[1] != ':')
				goto bad_inet;
			addr++;
			alen = (size_t)(close - addr);
			colon = close + 1;
		} else if ((colon = strrchr(addr, ':')) != NULL)
			alen = (size_t)(colon - addr);
		else if (port_only) {
			addr = "127.0.0.1";
			alen = strlen(addr);
			colon = value + 4; /* the ':' before the port */
		} else
			goto bad_inet;
		if (alen == 0 || alen >= sizeof(l->address))
			goto bad_inet;
		memcpy(l->address, addr, alen);
		l->address[alen] = '\0';
		if (inet_pton(family, l->address, bin) != 1 ||
		    colon[1] == '0' ||
		    parse_number(colon + 1, 10, 65535, &port) != 0 || port == 0)
			goto bad_inet;
		l->kind = CONFIG_LISTEN_INET;
		l->port = (unsigned)port;
		return 0;
	}
	return fail(p, "bad %s \"%s\" (expected %s)", key, value, want);
bad_inet:
	return fail(p,
	    "bad %s \"%s\" (expected %s with a numeric address, IPv6 in "
	    "brackets, port 1..65535)",
	    key, value, want);
}

static int
parse_listen(struct parse *p, const char *value)
{
	struct config *cfg = p->cfg;

	if (cfg->listen_count >= CONFIG_MAX_LISTEN)
		return fail(p, "too many listen entries (at most %d)",
		    CONFIG_MAX_LISTEN);
	if (parse_address(p, "listen", value,
	        1u << CONFIG_LISTEN_UNIX | 1u << CONFIG_LISTEN_INET, false,
	        &cfg->listen[cfg->listen_count]) != 0)
		return -1;
	cfg->listen_count++;
	return 0;
}

/* A K_WORD key: the value of its word, or a message listing the words. */
static int
set_word(struct parse *p, const struct key *k, const char *value, char *field)
{
	char want[128];
	size_t n = 0, used = 0;

	for (const struct word *w = k->words; w->name != NULL; w++, n++)
		if (strcmp(value, w->name) == 0) {
			if (k->size != sizeof(int))
				return fail(p, "internal error: %s", k->name);
			*(int *)(void *)field = w->value;
			return 0;
		}
	want[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(want); i++)
		used +=
		    (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
		        i == 0          ? ""
		            : i + 1 < n ? ", "
		                        : " or ",
		        k->words[i].name);
	return fail(p, "bad value for %s: \"%s\" (expected %s)", k->name, value,
	    want);
}

static int
set_value(struct parse *p, const struct key *k, char *value)
{
	char *field = (char *)p->cfg + k->offset;
	unsigned long v;
	int n;

	switch (k->kind) {
	case K_UINT:
		/* no leading zeros: "0660" here would look octal */
		if ((value[0] == '0' && value[1] != '\0') ||
		    parse_number(value, 10, k->max, &v) != 0 || v < k->min)
			return fail(p,
			    "bad value for %s: \"%s\" (expected %s %lu..%lu)",
			    k->name, value, k->unit, k->min, k->max);
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case K_OCTAL:
		if (parse_number(value, 8, k->max, &v) != 0 || v < k->min)
			return fail(p,
			    "bad value for %s: \"%s\" (expected %s %lo..0%lo)",
			    k->name, value, k->unit, k->min, k->max);
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case K_PATH:
		if (value[0] != '/' || strlen(value) >= k->size ||
		    !printable_word(value))
			return fail(p,
			    "bad value for %s: \"%s\" (expected an absolute "
			    "path)",
			    k->name, value);
		snprintf(field, k->size, "%s", value);
		return 0;
	case K_NAME:
		if (strlen(value) >= k->size || !printable_word(value))
			return fail(p,
			    "bad value for %s: \"%s\" (expected a name without "
			    "spaces, under %zu bytes)",
			    k->name, value, k->size);
		snprintf(field, k->size, "%s", value);
		return 0;
	case K_WORD:
		return set_word(p, k, value, field);
	case K_LOG_LEVEL:
		if ((n = log_level_parse(value)) < 0)
			return fail(p,
			    "bad value for log_level: \"%s\" (expected err, "
			    "warning, notice, info or debug)",
			    value);
		p->cfg->log_level = n;
		return 0;
	case K_FACILITY:
		if ((n = log_facility_parse(value)) < 0)
			return fail(p,
			    "bad value for syslog_facility: \"%s\" (expected "
			    "mail, daemon, user or local0..local7)",
			    value);
		p->cfg->syslog_facility = n;
		return 0;
	case K_UPSTREAM:
		for (char *save = NULL, *w = strtok_r(value, " \t", &save);
		     w != NULL; w = strtok_r(NULL, " \t", &save))
			if (parse_upstream(p, w) != 0)
				return -1;
		return 0;
	case K_LISTEN:
		return parse_listen(p, value);
	case K_METRICS:
		return parse_address(p, k->name, value,
		    1u << CONFIG_LISTEN_INET, true, &p->cfg->metrics_listen);
	case K_CONTROL:
		return parse_address(p, k->name, value,
		    1u << CONFIG_LISTEN_UNIX, false, &p->cfg->control_socket);
	case K_BOOL:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return fail(p,
			    "bad value for %s: \"%s\" (expected yes or no)",
			    k->name, value);
		*(bool *)(void *)field = value[0] == 'y';
		return 0;
	}
	return fail(p, "internal error");
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int
parse_line(struct parse *p, char *line)
{
	char *hash = strchr(line, '#'), *eq, *name, *value;
	size_t i;

	if (hash != NULL)
		*hash = '\0';
	line = trim(line);
	if (*line == '\0')
		return 0;
	if ((eq = strchr(line, '=')) == NULL)
		return fail(p, "expected \"key = value\"");
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			break;
	if (i == NKEYS)
		return fail(p, "unknown key \"%.60s\"", name);
	if (*value == '\0')
		return fail(p, "empty value for %s", name);
	if (p->seen[i] && keys[i].kind != K_UPSTREAM &&
	    keys[i].kind != K_LISTEN)
		return fail(p, "duplicate key \"%s\"", name);
	if (!p->seen[i] && keys[i].kind == K_UPSTREAM)
		p->cfg->upstream_count = 0; /* a file's list replaces */
	if (!p->seen[i] && keys[i].kind == K_LISTEN)
		p->cfg->listen_count = 0;
	p->seen[i] = true;
	return set_value(p, &keys[i], value);
}

static int
cross_check(struct parse *p)
{
	const struct config *cfg = p->cfg;

	p->line = 0;
	if (cfg->resolution == CONFIG_RESOLUTION_STUB &&
	    cfg->upstream_count == 0)
		return fail(p, "resolution = stub needs at least one upstream");
	if (cfg->min_ttl > cfg->max_ttl)
		return fail(p, "min_ttl (%u) is above max_ttl (%u)",
		    cfg->min_ttl, cfg->max_ttl);
	if (cfg->query_timeout_ms > cfg->lookup_deadline_ms)
		return fail(p,
		    "query_timeout (%u ms) is above lookup_deadline (%u ms)",
		    cfg->query_timeout_ms, cfg->lookup_deadline_ms);
	if (cfg->listen_count == 0)
		return fail(p, "no listen entry");
	if (cfg->map_name[0] == '\0')
		return fail(p, "map_name is empty");
	return 0;
}

int
config_parse(struct config *cfg, const char *name, const char *text, size_t len,
    char *err, size_t err_size)
{
	struct parse p = { .cfg = cfg,
		.name = name,
		.err = err,
		.err_size = err_size };
	char line[CONFIG_LINE_MAX + 1];
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen =
		    nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		if (llen > 0 && text[pos + llen - 1] == '\r')
			llen--;
		if (llen > CONFIG_LINE_MAX)
			return fail(&p, "line longer than %d bytes",
			    CONFIG_LINE_MAX);
		if (memchr(text + pos, '\0', llen) != NULL)
			return fail(&p, "NUL byte in line");
		memcpy(line, text + pos, llen);
		line[llen] = '\0';
		if (parse_line(&p, line) != 0)
			return -1;
		pos = nl != NULL ? (size_t)(nl - text) + 1 : len;
	}
	return cross_check(&p);
}

int
config_load(struct config *cfg, const char *path, char *err, size_t err_size)
{
	struct stat st;
	char *text = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	config_defaults(cfg);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		snprintf(err, err_size, "%s: larger than %d bytes", path,
		    CONFIG_FILE_MAX);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, err_size, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* a half-read file must not pass as a whole one */
			snprintf(err, err_size, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: parse what is there */
		got += (size_t)n;
	}
	rc = config_parse(cfg, path, text, got, err, err_size);
out:
	free(text);
	close(fd);
	return rc;
}
