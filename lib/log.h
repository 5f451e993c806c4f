/*
 * log: one place where danemap writes diagnostics, to syslog or stderr.
 *
 * Every line that carries text from the network (keys, DNS names) passes
 * it through log_sanitize first: shortened and made printable, so a hostile
 * peer cannot forge log lines or flood the log.
 *
 * Deliberately not here: deciding what is worth logging once (callers do).
 */
#ifndef DANEMAP_LOG_H
#define DANEMAP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/*
 * log_open: start logging as ident (borrowed for the process lifetime).
 * to_stderr: lines go to stderr as "ident: level: text"; otherwise to
 * syslog with facility (a LOG_* facility value from <syslog.h>).
 * May be called again (e.g. after a reload) to switch.
 */
void log_open(const char *ident, bool to_stderr, int facility);

/* log_set_level: messages above level are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

/* log_enabled: 1 if a message at level would be written. */
int log_enabled(enum log_level level);

/* log_msg: write one line (no trailing newline needed). */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_close: close syslog if open; harmless otherwise. */
void log_close(void);

/*
 * log_sanitize: copy untrusted bytes src[0..len) into dst for a log line:
 * printable ASCII kept except '\\' (written "\\\\"), every other byte as
 * "\\xHH"; at most max_in input bytes, "..." appended when cut. Output is
 * also cut (with "...") to fit dst_size. Always NUL-terminates when
 * dst_size > 0. Returns dst.
 */
char *log_sanitize(char *dst, size_t dst_size, const char *src, size_t len,
    size_t max_in);

/* log_utc_time: t as "2026-11-30T10:00:00Z" into buf (the seconds since
 * the epoch if it cannot be written so). Returns buf. */
char *log_utc_time(char *buf, size_t size, int64_t t);

/* log_level_parse: "err", "warning", "notice", "info", "debug" -> level;
 * returns -1 for anything else. */
int log_level_parse(const char *name);

/* log_facility_parse: "mail", "daemon", "user", "local0".."local7" ->
 * LOG_* value; returns -1 for anything else. */
int log_facility_parse(const char *name);

#endif
