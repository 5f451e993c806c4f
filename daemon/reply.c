/*
 * reply.c: how danemapd answers (see server.h): every reply is framed by
 * sockmap_format_reply from a status and a text (policy_reply_words for a
 * decision), queued in its connection's order, logged by its source, and
 * counted for the statistics line.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "elapsed.h"
#include "server.h"
#include "xalloc.h"

static const struct {
	const char *name;
	enum log_level level;
} answer_sources[SOURCE_COUNT] = {
	[SOURCE_MEMORY] = { "memory", LOG_LEVEL_DEBUG },
	[SOURCE_CDB] = { "cdb", LOG_LEVEL_DEBUG },
	[SOURCE_LIVE] = { "live", LOG_LEVEL_INFO },
	[SOURCE_SHARED] = { "shared", LOG_LEVEL_INFO },
	[SOURCE_STALE] = { "stale", LOG_LEVEL_INFO },
	[SOURCE_QUEUE] = { "queue", LOG_LEVEL_INFO },
	[SOURCE_NOLOOKUP] = { "nolookup", LOG_LEVEL_DEBUG },
	[SOURCE_OVERRIDE] = { "override", LOG_LEVEL_NOTICE },
};

static const char *const answer_kinds[KIND_COUNT] = {
	[KIND_DANE_ONLY] = "dane-only",
	[KIND_DANE] = "dane",
	[KIND_NOTFOUND] = "notfound",
	[KIND_STS] = "sts",
	[KIND_TEMP] = "temp",
	[KIND_PERM] = "perm",
};

static enum answer_kind
answer_kind_of(enum policy_reply reply)
{
	switch (reply) {
	case POLICY_REPLY_DANE_ONLY:
		return KIND_DANE_ONLY;
	case POLICY_REPLY_DANE:
		return KIND_DANE;
	case POLICY_REPLY_NOTFOUND:
		return KIND_NOTFOUND;
	case POLICY_REPLY_TEMP:
	default:
		return KIND_TEMP;
	}
}

const char *
answer_source_name(enum answer_source source)
{
	return answer_sources[source].name;
}

const char *
key_for_log(char *buf, size_t size, const char *key, size_t len)
{
	return log_sanitize(buf, size, key, len, KEY_LOG_IN);
}

/* TEMP warnings and recovery notices a minute: when the resolver or the
 * network fails, every destination would get its own line; past this
 * many, a minute's lines are counted and said in one. */
#define TEMP_LINES_PER_MINUTE 10

void
temp_lines_roll(struct server *srv, time_t now, bool force)
{
	if (srv->temp_lines_since == 0 ||
	    (!force && now - srv->temp_lines_since < 60))
		return;
	if (srv->temp_held_alerts > 0)
		log_msg(LOG_LEVEL_WARNING,
		    "%lu more key(s) have answered TEMP for longer than "
		    "temp_alert_after (not named: more than %d such lines "
		    "a minute); danemap_temp_keys_alerted counts them all",
		    srv->temp_held_alerts, TEMP_LINES_PER_MINUTE);
	if (srv->temp_held_recoveries > 0)
		log_msg(LOG_LEVEL_NOTICE,
		    "%lu more key(s) recovered from TEMP (not named: more "
		    "than %d such lines a minute)",
		    srv->temp_held_recoveries, TEMP_LINES_PER_MINUTE);
	srv->temp_lines_since = 0;
	srv->temp_lines = 0;
	srv->temp_held_alerts = srv->temp_held_recoveries = 0;
}

/* May one more TEMP warning or notice be written this minute? If not,
 * it is counted (alert or recovery) for temp_lines_roll. */
static bool
temp_line_allowed(struct server *srv, time_t now, bool alert)
{
	temp_lines_roll(srv, now, false);
	if (srv->temp_lines_since == 0)
		srv->temp_lines_since = now;
	if (srv->temp_lines < TEMP_LINES_PER_MINUTE) {
		srv->temp_lines++;
		return true;
	}
	if (alert)
		srv->temp_held_alerts++;
	else
		srv->temp_held_recoveries++;
	return false;
}

/*
 * A key that keeps answering TEMP (lib/tempwatch): a warning once it has
 * lasted temp_alert_after, and every hour while it lasts (Postfix defers
 * the mail, so it piles up); a notice when the key answers something
 * else again. At most TEMP_LINES_PER_MINUTE of them a minute name their
 * key; the rest are counted in one line.
 */
static void
temp_watch(struct server *srv, const char *key, size_t key_len,
    enum answer_kind kind, const char *frame, size_t frame_len,
    const char *reason)
{
	struct tempwatch_info info;
	int64_t now = (int64_t)time(NULL);
	char key_log[KEY_LOG_MAX], since[32], why[TEMPWATCH_REASON_MAX + 1];
	const char *text;
	size_t text_len;

	text = sockmap_reply_payload(frame, frame_len, &text_len);
	if (reason[0] == '\0' && kind == KIND_TEMP && text_len > 5)
		/* a cached TEMP has no reason but its reply's text */
		reason = log_sanitize(why, sizeof(why), text + 5, text_len - 5,
		    TEMPWATCH_REASON_MAX - 4);
	switch (tempwatch_note(srv->tempwatch, key, key_len, kind == KIND_TEMP,
	    reason, now, &info)) {
	case TEMPWATCH_ALERT:
		if (!temp_line_allowed(srv, (time_t)now, true))
			break;
		log_msg(LOG_LEVEL_WARNING,
		    "key=%s has answered TEMP for %lld s, since %s: mail to "
		    "it is deferred; last reason: %s",
		    key_for_log(key_log, sizeof(key_log), key, key_len),
		    (long long)(now - info.since),
		    log_utc_time(since, sizeof(since), info.since),
		    info.reason[0] != '\0' ? info.reason : "none given");
		break;
	case TEMPWATCH_RECOVERED:
		if (!temp_line_allowed(srv, (time_t)now, false))
			break;
		log_msg(LOG_LEVEL_NOTICE,
		    "key=%s recovered: reply=\"%.*s\" after %lld s of TEMP "
		    "since %s",
		    key_for_log(key_log, sizeof(key_log), key, key_len),
		    (int)text_len, text, (long long)(now - info.since),
		    log_utc_time(since, sizeof(since), info.since));
		break;
	case TEMPWATCH_NONE:
		break;
	}
}

/* Count an answer, and log it if its source's level is written: only then
 * is the key made printable and the clock read. frame is the reply as
 * sent; reason, if not empty, is logged after it. */
static void
answer_note(struct server *srv, enum answer_source source,
    enum answer_kind kind, const char *key, size_t key_len,
    const struct timespec *started, const char *frame, size_t frame_len,
    const char *reason)
{
	enum log_level level = answer_sources[source].level;
	char key_log[KEY_LOG_MAX];
	const char *text;
	size_t text_len;

	srv->stats.by_source[source]++;
	srv->stats.by_kind[kind]++;
	/* an override's TEMP is the administrator's own choice */
	if ((kind == KIND_TEMP || tempwatch_count(srv->tempwatch, NULL) > 0) &&
	    source != SOURCE_OVERRIDE)
		temp_watch(srv, key,
		    key_len < KEY_LOG_IN ? key_len : KEY_LOG_IN, /* as r->key */
		    kind, frame, frame_len, reason);
	if (!log_enabled(level))
		return;
	text = sockmap_reply_payload(frame, frame_len, &text_len);
	log_msg(level, "key=%s reply=\"%.*s\" source=%s ms=%.1f%s%s",
	    key_for_log(key_log, sizeof(key_log), key, key_len), (int)text_len,
	    text, answer_sources[source].name, elapsed_ms(started),
	    reason[0] != '\0' ? " reason=" : "", reason);
}

struct request *
request_new(struct conn *c, const char *key, size_t key_len)
{
	struct request *r = xcalloc(1, sizeof(*r));

	r->conn = c;
	r->reply = r->reply_buf;
	r->key_len = key_len < sizeof(r->key) ? key_len : sizeof(r->key);
	memcpy(r->key, key, r->key_len);
	r->started = c->active; /* when its bytes were read */
	STAILQ_INSERT_TAIL(&c->requests, r, queue);
	c->pending++;
	return r;
}

void
request_free(struct request *r)
{
	if (r->reply != r->reply_buf)
		free(r->reply);
	free(r);
}

/* Keep frame as r's reply: in the request, or on the heap if longer (an
 * MTA-STS policy with many patterns). */
static void
request_keep(struct request *r, const char *frame, size_t len)
{
	if (len > sizeof(r->reply_buf))
		r->reply = xmalloc(len);
	memcpy(r->reply, frame, len);
	r->reply_len = len;
	r->done = true;
}

/* Answer r with a policy decision (the same words `danemap query` prints
 * as its first line) and log it. */
void
request_answer(struct request *r, const struct policy_decision *d,
    enum answer_source source)
{
	const char *text;
	enum sockmap_status st = policy_reply_words(d, &text);
	char frame[REPLY_MAX];
	long len = sockmap_format_reply(frame, sizeof(frame), st, text);

	if (len < 0) /* cannot happen: reasons are bounded */
		len = sockmap_format_reply(frame, sizeof(frame), SOCKMAP_TEMP,
		    "internal error");
	request_answer_frame(r, frame, (size_t)len, answer_kind_of(d->reply),
	    source, d->reason);
}

/* Answer r, already queued, with a framed reply, and log it with reason
 * ("" for none). */
void
request_answer_frame(struct request *r, const char *frame, size_t len,
    enum answer_kind kind, enum answer_source source, const char *reason)
{
	request_keep(r, frame, len);
	answer_note(r->conn->srv, source, kind, r->key, r->key_len, &r->started,
	    r->reply, r->reply_len, reason);
	conn_flush(r->conn);
}

/* Answer r, already queued, with a reply known in advance. */
void
request_answer_fixed(struct request *r, const struct fixed_reply *fr,
    enum answer_source source)
{
	request_answer_frame(r, fr->frame, fr->frame_len, fr->kind, source, "");
}

/*
 * Answer c's newest request, not yet queued, with a reply known in
 * advance. With nothing queued before it, as for nearly every Postfix
 * request, it is sent straight away and no request is allocated;
 * otherwise it waits in the queue behind the requests before it.
 */
void
conn_answer_frame(struct conn *c, const char *key, size_t key_len,
    const char *frame, size_t len, enum answer_kind kind,
    enum answer_source source)
{
	answer_note(c->srv, source, kind, key, key_len, &c->active, frame, len,
	    "");
	if (STAILQ_EMPTY(&c->requests)) {
		conn_send(c, frame, len);
		conn_flush(c); /* closes c if it is closing */
		return;
	}
	request_keep(request_new(c, key, key_len), frame, len);
}

void
conn_answer_fixed(struct conn *c, const char *key, size_t key_len,
    const struct fixed_reply *fr, enum answer_source source)
{
	conn_answer_frame(c, key, key_len, fr->frame, fr->frame_len, fr->kind,
	    source);
}

long
sts_frame(const struct server *srv, const char *domain, const char *sts,
    size_t sts_len, time_t now, bool fetched, char *buf, size_t size)
{
	struct sts_cached c;
	static char text[STS_REPLY_MAX];
	int len;

	if (sts == NULL || sts_cached_decode(sts, sts_len, &c) != 0 ||
	    (!fetched && !sts_cached_valid(&c, (int64_t)now)) ||
	    c.policy.mode != STS_MODE_ENFORCE)
		return -1;
	len = sts_reply_format(&c.policy, domain, srv->cfg.tlsrpt,
	    c.policy.max_age, text, sizeof(text));
	if (len < 0)
		return -1;
	return sockmap_format_reply(buf, size, SOCKMAP_OK, text);
}

const struct fixed_reply *
fixed_reply_of(const struct server *srv, enum policy_reply reply)
{
	return (unsigned)reply <= POLICY_REPLY_NOTFOUND ? &srv->fixed[reply]
	                                                : NULL;
}

static void
fixed_reply_set(struct fixed_reply *fr, enum sockmap_status st,
    const char *text, enum answer_kind kind)
{
	long len = sockmap_format_reply(fr->frame, sizeof(fr->frame), st, text);

	if (len < 0) /* cannot happen: the texts are short */
		xfail("a fixed reply does not fit");
	fr->frame_len = (size_t)len;
	fr->kind = kind;
}

void
fixed_replies_init(struct server *srv)
{
	for (unsigned i = 0; i <= POLICY_REPLY_NOTFOUND; i++) {
		struct policy_decision d = { .reply = (enum policy_reply)i };
		const char *text;
		enum sockmap_status st = policy_reply_words(&d, &text);

		fixed_reply_set(&srv->fixed[i], st, text,
		    answer_kind_of(d.reply));
	}
	fixed_reply_set(&srv->unknown_map, SOCKMAP_PERM, "unknown map name",
	    KIND_PERM);
}

/* The statistics line, if anything was answered since the last one:
 * answers by source and by reply. The counts are added to the totals
 * since start (the metrics) and start again either way. */
void
stats_log(struct server *srv)
{
	struct answer_stats *st = &srv->stats;
	unsigned long total = 0;
	char line[512]; /* 12 fields of at most 31 bytes */
	size_t off = 0;

	for (unsigned i = 0; i < SOURCE_COUNT; i++)
		total += st->by_source[i];
	if (total > 0 && log_enabled(LOG_LEVEL_INFO)) {
		for (unsigned i = 0; i < SOURCE_COUNT; i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
			    "%s%s=%lu", i > 0 ? " " : "",
			    answer_sources[i].name, st->by_source[i]);
		for (unsigned i = 0; i < KIND_COUNT; i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
			    "%s %s=%lu", i > 0 ? "" : ";", answer_kinds[i],
			    st->by_kind[i]);
		log_msg(LOG_LEVEL_INFO, "statistics: %lu answers in %.0f s: %s",
		    total, elapsed_ms(&st->since) / 1e3, line);
	}
	for (unsigned i = 0; i < SOURCE_COUNT; i++)
		srv->totals.by_source[i] += st->by_source[i];
	for (unsigned i = 0; i < KIND_COUNT; i++)
		srv->totals.by_kind[i] += st->by_kind[i];
	memset(st, 0, sizeof(*st));
	elapsed_start(&st->since);
}
