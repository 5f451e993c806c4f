/*
 * log: syslog or stderr, one line per message (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "danemap";
static int log_stderr = 1;
static int log_syslog_open;
static enum log_level log_threshold = LOG_LEVEL_INFO;

static const struct {
	const char *name;
	int priority;
} levels[] = {
	[LOG_LEVEL_ERR] = { "err", LOG_ERR },
	[LOG_LEVEL_WARNING] = { "warning", LOG_WARNING },
	[LOG_LEVEL_NOTICE] = { "notice", LOG_NOTICE },
	[LOG_LEVEL_INFO] = { "info", LOG_INFO },
	[LOG_LEVEL_DEBUG] = { "debug", LOG_DEBUG },
};

void
log_open(const char *ident, bool to_stderr, int facility)
{
	log_close();
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr) {
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
		log_syslog_open = 1;
	}
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char text[2048], line[2200];
	va_list ap;
	int n;

	if (!log_enabled(level) || (unsigned)level > LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!log_stderr) {
		syslog(levels[level].priority, "%s", text);
		return;
	}
	/* one write per line, so lines from several processes never mix */
	n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident,
	    levels[level].name, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		/* cut, but still end the line so the next one starts clean */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
log_close(void)
{
	if (log_syslog_open) {
		closelog();
		log_syslog_open = 0;
	}
}

/* One byte as it appears in a log line: printable ASCII as itself, '\\'
 * doubled, anything else as \\xHH. Returns the length written to esc. */
static size_t
log_escape(unsigned char c, char esc[4])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\') {
		esc[0] = esc[1] = '\\';
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		esc[0] = (char)c;
		return 1;
	}
	esc[0] = '\\';
	esc[1] = 'x';
	esc[2] = hex[c >> 4];
	esc[3] = hex[c & 15];
	return 4;
}

char *
log_utc_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

char *
log_sanitize(char *dst, size_t dst_size, const char *src, size_t len,
    size_t max_in)
{
	size_t o = 0, need = 0, room, i;
	int cut = len > max_in;
	char esc[4];

	if (dst_size == 0)
		return dst;
	if (cut)
		len = max_in;
	/* First measure, so output that fits exactly is not cut: "..."
	 * needs reserving only when something will be left out. */
	for (i = 0; i < len && need < dst_size; i++)
		need += log_escape((unsigned char)src[i], esc);
	if (cut)
		need += 3;
	if (need < dst_size)
		room = need;
	else {
		cut = 1;
		room = dst_size - 1 > 3 ? dst_size - 1 - 3 : 0;
	}
	for (i = 0; i < len; i++) {
		size_t elen = log_escape((unsigned char)src[i], esc);

		/* never split an escape: half of "\\x0a" would mislead */
		if (o + elen > room)
			break;
		memcpy(dst + o, esc, elen);
		o += elen;
	}
	if (cut) {
		size_t dots = dst_size - 1 - o < 3 ? dst_size - 1 - o : 3;

		memcpy(dst + o, "...", dots);
		o += dots;
	}
	dst[o] = '\0';
	return dst;
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, levels[i].name) == 0)
			return (int)i;
	return -1;
}

int
log_facility_parse(const char *name)
{
	static const struct {
		const char *name;
		int facility;
	} facilities[] = {
		{ "mail", LOG_MAIL },
		{ "daemon", LOG_DAEMON },
		{ "user", LOG_USER },
		{ "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}
