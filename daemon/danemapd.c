/*
 * danemapd: the socketmap daemon Postfix asks for a TLS policy
 * (doc/design.md §2, §7).
 *
 *   danemapd [-f] [-t] [-c FILE]
 *
 * One libevent loop, single-threaded; getdns runs on the same loop. Each
 * connection keeps its requests in arrival order and answers them in that
 * order, however the lookups finish. An answer comes from memory, then the
 * CDB written by `danemap warm`, then a live walk (lib/resolve), which
 * concurrent requests for one key share. Live answers are cached (never
 * TEMP) and their keys appended to the journal for the warmer. A failed
 * refresh may serve an expired answer, within stale_ttl, only after a
 * transient failure (store_stale_usable).
 *
 * Hostile input never harms another client: a malformed request closes
 * only its own connection; a wrong map name gets PERM; a bad key NOTFOUND.
 *
 * Ownership: a struct conn owns its requests; a struct lookup owns its
 * resolve job and points at (does not own) the requests waiting on it; a
 * request leaving (its connection closed) unlinks itself from the lookup,
 * which goes on to fill the cache.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "elapsed.h"
#include "journal.h"
#include "log.h"
#include "mapkey.h"
#include "netstring.h"
#include "policy.h"
#include "resolve.h"
#include "sockmap.h"
#include "store.h"

/* A whole request netstring: "10000:" + payload + ",". */
#define REQUEST_MAX (SOCKMAP_MAX_QUERY + 7)
#define REPLY_MAX (POLICY_REASON_MAX + 32)
/* Key bytes a log line shows; a request keeps one more, so a line can
 * still mark a longer key as cut. */
#define KEY_LOG_IN 255
#define KEY_LOG_MAX 300
/* Seconds between two statistics lines (also written at exit). */
#define STATS_INTERVAL 60
/* A connection's own input buffer holds any ordinary request; a longer one
 * (up to REQUEST_MAX) gets a heap buffer while it is read. */
#define CONN_INBUF 512
/* Requests one connection may have open at once: Postfix sends one and
 * waits, so this only bounds a client that pipelines (reading from it
 * pauses until answers go out). */
#define CONN_PIPELINE 64

struct server;
struct lookup;

/*
 * Where an answer came from: its log line's source= and its count in the
 * statistics line. Only what a live lookup decided is logged at info, a
 * line per answer (what an admin greps the mail log for); answers from a
 * cache or with nothing to look up are most answers, cost less to give
 * than a log line would, and are logged at debug, counted at info.
 */
enum answer_source {
	SOURCE_MEMORY,   /* the memory cache */
	SOURCE_CDB,      /* the cache file `danemap warm` writes */
	SOURCE_LIVE,     /* a live lookup this request started */
	SOURCE_SHARED,   /* a live lookup an earlier request started */
	SOURCE_STALE,    /* an expired answer: its refresh failed */
	SOURCE_QUEUE,    /* TEMP: no lookup slot before the deadline */
	SOURCE_NOLOOKUP, /* nothing to look up: not a host key, another map */
	SOURCE_COUNT
};

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
};

/* What an answer said, for the statistics line. */
enum answer_kind {
	KIND_DANE_ONLY,
	KIND_DANE,
	KIND_NOTFOUND,
	KIND_TEMP,
	KIND_PERM,
	KIND_COUNT
};

static const char *const answer_kinds[KIND_COUNT] = {
	[KIND_DANE_ONLY] = "dane-only",
	[KIND_DANE] = "dane",
	[KIND_NOTFOUND] = "notfound",
	[KIND_TEMP] = "temp",
	[KIND_PERM] = "perm",
};

/* Answers given since the last statistics line. */
struct answer_stats {
	unsigned long by_source[SOURCE_COUNT];
	unsigned long by_kind[KIND_COUNT];
	struct timespec since;
};

/*
 * A cacheable reply ("OK dane-only", "OK dane", "NOTFOUND "), framed once
 * at start by the functions that frame any other reply: a cached answer
 * then formats nothing.
 */
struct fixed_reply {
	char text[16]; /* the payload, for the log line */
	char frame[24];
	size_t frame_len;
	enum answer_kind kind;
};

struct request {
	struct conn *conn;
	struct request *next;  /* the connection's queue, in order */
	struct lookup *lookup; /* while waiting on one */
	struct request *lnext; /* the lookup's waiters */
	bool done;
	char reply[REPLY_MAX];
	size_t reply_len;
	char key[KEY_LOG_IN + 1]; /* as asked, cut: only for log lines */
	size_t key_len;
	struct timespec started;
};

struct conn {
	struct server *srv;
	evutil_socket_t fd;
	struct event *rev;    /* readable, or idle; pending while reading */
	struct event *wev;    /* writable; pending while out has bytes */
	struct evbuffer *out; /* what the socket did not take at once */
	struct conn *prev, *next;
	struct request *head, *tail;
	size_t pending;
	struct timespec active; /* last request bytes read or reply queued */
	bool closing;           /* close once the queued replies are written */
	bool paused;            /* CONN_PIPELINE requests open: not reading */
	bool parsing;           /* in conn_parse: it closes, not conn_flush */
	bool partial;           /* part of a request is buffered, since: */
	struct timespec partial_since;
	char *in; /* inbuf, or a heap buffer of REQUEST_MAX */
	size_t in_len;
	char inbuf[CONN_INBUF];
};

struct lookup {
	struct server *srv;
	struct lookup *next; /* running or queued list */
	struct mapkey key;
	struct resolve_job *job; /* NULL while queued */
	struct resolve_ctx *ctx; /* the context it runs on */
	struct request *waiters;
	bool has_stale;
	struct store_hit stale;
	struct event *queue_timer; /* while queued */
};

struct retired_ctx {
	struct resolve_ctx *ctx;
	struct retired_ctx *next;
};

struct listener {
	struct evconnlistener *ev;
	char unix_path[108]; /* to unlink at exit; "" if none */
};

struct server {
	struct config cfg;
	const char *config_path;
	struct event_base *base;
	struct resolve_ctx *resolver;
	struct retired_ctx *retired;
	struct store *store;
	struct journal *journal;
	bool journal_warned;
	bool foreground; /* -f: log to stderr */
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t listener_count;
	struct conn *conns;
	size_t conn_count;
	struct lookup *running, *queued, *queued_tail;
	size_t running_count;
	struct event *sig_hup, *sig_term, *sig_int, *tick, *hard_stop;
	struct event *stats_timer;
	struct event *cdb_checked; /* a cache file check on a thread is over */
	struct answer_stats stats;
	struct fixed_reply fixed[POLICY_REPLY_NOTFOUND + 1];
	bool stopping;
	time_t refused_logged;
};

static void conn_free(struct conn *c);
static void lookup_start(struct server *srv, struct lookup *lk);

/* ------------------------------------------------------------ replies */

/*
 * Send one reply. When nothing is queued before it, write it to the socket
 * at once: one send() per answer, no extra loop pass (profiling showed the
 * event changes of a buffered write as the largest cost of a cached
 * answer). Whatever the socket does not take, or an error, goes to the
 * output buffer and the write event, which sends it or closes the
 * connection; order is kept.
 */
static void
conn_send(struct conn *c, const char *buf, size_t len)
{
	if (evbuffer_get_length(c->out) == 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == (ssize_t)len)
			return;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	evbuffer_add(c->out, buf, len);
	event_add(c->wev, NULL);
}

static void conn_resume(struct conn *c);

/* Write whatever is done at the head of the queue, in order. */
static void
conn_flush(struct conn *c)
{
	bool sent = false;

	while (c->head != NULL && c->head->done) {
		struct request *r = c->head;

		conn_send(c, r->reply, r->reply_len);
		sent = true;
		c->head = r->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->pending--;
		free(r);
	}
	/* While parsing, conn_on_read has just read the clock for c. */
	if (sent && !c->parsing)
		elapsed_start(&c->active);
	if (c->head == NULL && (c->closing || c->srv->stopping)) {
		c->closing = true;
		if (c->parsing)
			return; /* conn_parse closes it, after the request */
		if (evbuffer_get_length(c->out) == 0)
			conn_free(c); /* else conn_on_write closes it */
		return;
	}
	if (c->paused && c->pending < CONN_PIPELINE)
		conn_resume(c);
}

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

/* Count an answer, and log it if its source's level is written: only then
 * is the key made printable and the clock read. */
static void
answer_note(struct server *srv, enum answer_source source,
    enum answer_kind kind, const char *key, size_t key_len,
    const struct timespec *started, const char *text, const char *reason)
{
	enum log_level level = answer_sources[source].level;
	char key_log[KEY_LOG_MAX];

	srv->stats.by_source[source]++;
	srv->stats.by_kind[kind]++;
	if (!log_enabled(level))
		return;
	log_msg(level, "key=%s reply=\"%s\" source=%s ms=%.1f%s%s",
	    log_sanitize(key_log, sizeof(key_log), key, key_len, KEY_LOG_IN),
	    text, answer_sources[source].name, elapsed_ms(started),
	    reason[0] != '\0' ? " reason=" : "", reason);
}

/* A request of c's that cannot be answered before earlier ones are,
 * queued after them; NULL when out of memory (c is closing then). */
static struct request *
request_new(struct conn *c, const char *key, size_t key_len)
{
	struct request *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_msg(LOG_LEVEL_ERR, "out of memory: closing a connection");
		c->closing = true;
		return NULL;
	}
	r->conn = c;
	r->key_len = key_len < sizeof(r->key) ? key_len : sizeof(r->key);
	memcpy(r->key, key, r->key_len);
	r->started = c->active; /* when its bytes were read */
	if (c->tail != NULL)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->pending++;
	return r;
}

/* Answer r with a policy decision (the same bytes `danemap query` prints
 * as its first line, netstring-framed) and log it. */
static void
request_answer(struct request *r, const struct policy_decision *d,
    enum answer_source source)
{
	char payload[REPLY_MAX];
	int n = policy_reply_format(d, payload, sizeof(payload));
	long len;

	if (n < 0) /* cannot happen: reasons are bounded */
		n = snprintf(payload, sizeof(payload), "TEMP internal error");
	len = netstring_encode(r->reply, sizeof(r->reply), payload, (size_t)n);
	r->reply_len = len > 0 ? (size_t)len : 0;
	r->done = true;
	answer_note(r->conn->srv, source, answer_kind_of(d->reply), r->key,
	    r->key_len, &r->started, payload, d->reason);
	conn_flush(r->conn);
}

/* Answer r with a cached reply. */
static void
request_answer_fixed(struct request *r, const struct fixed_reply *fr,
    enum answer_source source)
{
	memcpy(r->reply, fr->frame, fr->frame_len);
	r->reply_len = fr->frame_len;
	r->done = true;
	answer_note(r->conn->srv, source, fr->kind, r->key, r->key_len,
	    &r->started, fr->text, "");
	conn_flush(r->conn);
}

/*
 * Answer c's newest request, not yet queued, with a reply known at once
 * (frame: netstring-framed; text: its payload, for the log line). With
 * nothing queued before it, as for nearly every Postfix request, it is
 * sent straight away and no request is allocated; otherwise it waits in
 * the queue behind the requests before it.
 */
static void
conn_answer_now(struct conn *c, const char *key, size_t key_len,
    const char *frame, size_t frame_len, const char *text,
    enum answer_source source, enum answer_kind kind)
{
	struct request *r;

	answer_note(c->srv, source, kind, key, key_len, &c->active, text, "");
	if (c->head == NULL) {
		conn_send(c, frame, frame_len);
		conn_flush(c); /* closes c if it is closing */
		return;
	}
	if ((r = request_new(c, key, key_len)) == NULL)
		return;
	memcpy(r->reply, frame, frame_len);
	r->reply_len = frame_len;
	r->done = true;
}

static void
conn_answer_fixed(struct conn *c, const char *key, size_t key_len,
    const struct fixed_reply *fr, enum answer_source source)
{
	conn_answer_now(c, key, key_len, fr->frame, fr->frame_len, fr->text,
	    source, fr->kind);
}

/* The framed reply for a cached answer; NULL for TEMP, never cached. */
static const struct fixed_reply *
fixed_reply_of(const struct server *srv, enum policy_reply reply)
{
	return (unsigned)reply <= POLICY_REPLY_NOTFOUND ? &srv->fixed[reply]
	                                                : NULL;
}

/* Frame the cacheable replies once (see struct fixed_reply). */
static int
fixed_replies_init(struct server *srv)
{
	for (unsigned i = 0; i <= POLICY_REPLY_NOTFOUND; i++) {
		struct fixed_reply *fr = &srv->fixed[i];
		struct policy_decision d;
		int n;
		long len;

		memset(&d, 0, sizeof(d));
		d.reply = (enum policy_reply)i;
		n = policy_reply_format(&d, fr->text, sizeof(fr->text));
		if (n < 0)
			return -1;
		len = netstring_encode(fr->frame, sizeof(fr->frame), fr->text,
		    (size_t)n);
		if (len < 0)
			return -1;
		fr->frame_len = (size_t)len;
		fr->kind = answer_kind_of(d.reply);
	}
	return 0;
}

/* The statistics line, if anything was answered since the last one:
 * answers by source and by reply. The counts start again either way. */
static void
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
	memset(st, 0, sizeof(*st));
	elapsed_start(&st->since);
}

/* What became of a cache file check, for the log. */
static void
cdb_report(int rc, const char *msg)
{
	if (rc == STORE_CDB_OPENED)
		log_msg(LOG_LEVEL_NOTICE, "%s", msg);
	else if (rc == STORE_CDB_BAD)
		log_msg(LOG_LEVEL_WARNING, "%s", msg);
}

/* Bad records store_get met in the cache file, reported once a file. */
static void
cdb_warning(struct server *srv)
{
	const char *w = store_cdb_warning(srv->store);

	if (w != NULL)
		log_msg(LOG_LEVEL_WARNING, "%s", w);
}

/* Look at cache_file again: a new file is checked on a thread, and the
 * loop hears when that is over (on_cdb_checked). */
static void
cdb_check(struct server *srv, bool force)
{
	char msg[1200];
	int rc = store_cdb_check(srv->store, time(NULL), force, msg, sizeof(msg));

	cdb_report(rc, msg);
}

/* ------------------------------------------------------------ lookups */

static void
lookup_unlink(struct lookup **list, struct lookup *lk)
{
	for (struct lookup **pp = list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == lk) {
			*pp = lk->next;
			return;
		}
}

static void
lookup_free(struct lookup *lk)
{
	if (lk->queue_timer != NULL)
		event_free(lk->queue_timer);
	resolve_job_free(lk->job);
	free(lk);
}

/* Answer every request waiting on lk with TEMP reason (a failure of ours,
 * never of the DNS: transient), then free lk. */
static void
lookup_fail(struct lookup *lk, const char *reason, enum answer_source source)
{
	struct policy_decision d;

	memset(&d, 0, sizeof(d));
	d.reply = POLICY_REPLY_TEMP;
	d.transient = true;
	snprintf(d.reason, sizeof(d.reason), "%s", reason);
	while (lk->waiters != NULL) {
		struct request *r = lk->waiters;

		lk->waiters = r->lnext;
		r->lookup = NULL;
		request_answer(r, &d, source);
	}
	lookup_free(lk);
}

static void
retired_reap(struct server *srv)
{
	for (struct retired_ctx **pp = &srv->retired; *pp != NULL;) {
		struct retired_ctx *r = *pp;
		bool busy = false;

		for (struct lookup *lk = srv->running; lk != NULL;
		     lk = lk->next)
			busy = busy || lk->ctx == r->ctx;
		if (busy) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		resolve_ctx_free(r->ctx);
		free(r);
	}
}

static void maybe_finish_stop(struct server *srv);

static void
start_queued(struct server *srv)
{
	while (
	    srv->queued != NULL && srv->running_count < srv->cfg.max_lookups) {
		struct lookup *lk = srv->queued;

		srv->queued = lk->next;
		if (srv->queued == NULL)
			srv->queued_tail = NULL;
		event_free(lk->queue_timer);
		lk->queue_timer = NULL;
		lookup_start(srv, lk);
	}
}

static void
lookup_done(struct resolve_job *job, void *arg)
{
	struct lookup *lk = arg;
	struct server *srv = lk->srv;
	const struct policy_decision *d = resolve_job_decision(job);
	time_t now = time(NULL);
	enum answer_source source = SOURCE_LIVE;
	const struct fixed_reply *stale = fixed_reply_of(srv, lk->stale.reply);

	lookup_unlink(&srv->running, lk);
	srv->running_count--;
	if (d->reply != POLICY_REPLY_TEMP) {
		(void)store_put(srv->store, lk->key.norm, strlen(lk->key.norm),
		    d->reply,
		    store_expiry(now, d->ttl, srv->cfg.min_ttl,
		        srv->cfg.max_ttl),
		    now);
		if (journal_append(srv->journal, lk->key.norm,
		        strlen(lk->key.norm), now) != 0 &&
		    !srv->journal_warned) {
			srv->journal_warned = true;
			log_msg(LOG_LEVEL_WARNING,
			    "cannot append to the journal in %s: %s (the "
			    "warmer will not learn live keys; logged once)",
			    srv->cfg.state_dir, strerror(errno));
		}
	}
	while (lk->waiters != NULL) {
		struct request *r = lk->waiters;

		lk->waiters = r->lnext;
		r->lookup = NULL;
		if (d->reply == POLICY_REPLY_TEMP && lk->has_stale &&
		    stale != NULL &&
		    store_stale_usable(lk->stale.expires, d->transient, now,
		        srv->cfg.stale_ttl)) {
			char key_log[KEY_LOG_MAX];

			log_msg(LOG_LEVEL_NOTICE,
			    "key=%s refresh failed (%s): serving the expired "
			    "answer",
			    log_sanitize(key_log, sizeof(key_log), r->key,
			        r->key_len, KEY_LOG_IN),
			    d->reason);
			request_answer_fixed(r, stale, SOURCE_STALE);
		} else
			request_answer(r, d, source);
		source = SOURCE_SHARED;
	}
	lookup_free(lk);
	start_queued(srv);
	retired_reap(srv);
	maybe_finish_stop(srv);
}

static void
lookup_start(struct server *srv, struct lookup *lk)
{
	lk->ctx = srv->resolver;
	lk->job = resolve_start(lk->ctx, &lk->key, 0, lookup_done, lk);
	if (lk->job == NULL) {
		lookup_fail(lk, "cannot start a lookup", SOURCE_LIVE);
		return;
	}
	lk->next = srv->running;
	srv->running = lk;
	srv->running_count++;
}

/* A lookup that waited in the queue past the deadline: answer TEMP rather
 * than run into Postfix's own timeout. */
static void
lookup_queue_expired(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;
	struct server *srv = lk->srv;
	char reason[POLICY_REASON_MAX];
	struct lookup *prev = NULL;

	(void)fd;
	(void)what;
	for (struct lookup *q = srv->queued; q != NULL; prev = q, q = q->next)
		if (q == lk) {
			if (prev != NULL)
				prev->next = lk->next;
			else
				srv->queued = lk->next;
			if (srv->queued_tail == lk)
				srv->queued_tail = prev;
			break;
		}
	snprintf(reason, sizeof(reason),
	    "server busy: %u lookups already running", srv->cfg.max_lookups);
	lookup_fail(lk, reason, SOURCE_QUEUE);
}

static struct lookup *
lookup_find(struct lookup *list, const char *norm)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->key.norm, norm) == 0)
			return list;
	return NULL;
}

/* ------------------------------------------------------------ requests */

/*
 * One request, map and key split out of it by conn_parse. An answer known
 * at once (a cache hit, nothing to look up) is given at once; otherwise
 * the request is queued on c and waits on a live lookup.
 */
static void
handle_request(struct conn *c, const char *map, size_t map_len, const char *key,
    size_t key_len)
{
	struct server *srv = c->srv;
	const struct fixed_reply *fr;
	const char *why = NULL;
	struct request *r;
	struct mapkey mk;
	struct store_hit hit;
	enum store_result sr;
	struct lookup *lk;

	if (map_len != strlen(srv->cfg.map_name) ||
	    memcmp(map, srv->cfg.map_name, map_len) != 0) {
		char name[80], frame[REPLY_MAX];
		long n = sockmap_format_reply(frame, sizeof(frame),
		    SOCKMAP_PERM, "unknown map name");

		log_msg(LOG_LEVEL_WARNING,
		    "unknown map name \"%s\" (this daemon serves \"%s\")",
		    log_sanitize(name, sizeof(name), map, map_len, 60),
		    srv->cfg.map_name);
		conn_answer_now(c, key, key_len, frame, n > 0 ? (size_t)n : 0,
		    "PERM unknown map name", SOURCE_NOLOOKUP, KIND_PERM);
		return;
	}
	switch (mapkey_parse(key, key_len, &mk, &why)) {
	case MAPKEY_SKIP:
		conn_answer_fixed(c, key, key_len,
		    &srv->fixed[POLICY_REPLY_NOTFOUND], SOURCE_NOLOOKUP);
		return;
	case MAPKEY_INVALID:
		if (log_enabled(LOG_LEVEL_WARNING)) {
			char key_log[KEY_LOG_MAX];

			log_msg(LOG_LEVEL_WARNING, "key=%s invalid: %s",
			    log_sanitize(key_log, sizeof(key_log), key, key_len,
			        KEY_LOG_IN),
			    why);
		}
		conn_answer_fixed(c, key, key_len,
		    &srv->fixed[POLICY_REPLY_NOTFOUND], SOURCE_NOLOOKUP);
		return;
	case MAPKEY_LOOKUP:
		break;
	}
	sr = store_get(srv->store, mk.norm, strlen(mk.norm), time(NULL), &hit);
	cdb_warning(srv);
	if (sr == STORE_FRESH &&
	    (fr = fixed_reply_of(srv, hit.reply)) != NULL) {
		conn_answer_fixed(c, key, key_len, fr,
		    hit.source == STORE_SOURCE_CDB ? SOURCE_CDB
		                                   : SOURCE_MEMORY);
		return;
	}
	if ((r = request_new(c, key, key_len)) == NULL)
		return;
	if ((lk = lookup_find(srv->running, mk.norm)) == NULL)
		lk = lookup_find(srv->queued, mk.norm);
	if (lk == NULL) {
		struct timeval wait =
		    elapsed_timeval(srv->cfg.lookup_deadline_ms);

		if ((lk = calloc(1, sizeof(*lk))) == NULL) {
			struct policy_decision d = { .reply =
				                         POLICY_REPLY_TEMP };

			snprintf(d.reason, sizeof(d.reason), "out of memory");
			request_answer(r, &d, SOURCE_LIVE);
			return;
		}
		lk->srv = srv;
		lk->key = mk;
		if (sr == STORE_STALE) {
			lk->has_stale = true;
			lk->stale = hit;
		}
		r->lookup = lk;
		lk->waiters = r;
		if (srv->running_count < srv->cfg.max_lookups) {
			lookup_start(srv, lk);
			return;
		}
		lk->queue_timer =
		    evtimer_new(srv->base, lookup_queue_expired, lk);
		if (lk->queue_timer != NULL)
			evtimer_add(lk->queue_timer, &wait);
		if (srv->queued_tail != NULL)
			srv->queued_tail->next = lk;
		else
			srv->queued = lk;
		srv->queued_tail = lk;
		return;
	}
	r->lookup = lk;
	r->lnext = lk->waiters;
	lk->waiters = r;
}

/* ------------------------------------------------------------ connections */

static void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;

	while (c->head != NULL) {
		struct request *r = c->head;

		c->head = r->next;
		if (r->lookup != NULL) { /* leave its lookup running */
			for (struct request **pp = &r->lookup->waiters;
			     *pp != NULL; pp = &(*pp)->lnext)
				if (*pp == r) {
					*pp = r->lnext;
					break;
				}
		}
		free(r);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->conn_count--;
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->out != NULL)
		evbuffer_free(c->out);
	if (c->in != c->inbuf)
		free(c->in);
	evutil_closesocket(c->fd);
	free(c);
	maybe_finish_stop(srv);
}

static void
conn_watch(struct conn *c)
{
	struct timeval idle = elapsed_timeval(c->srv->cfg.idle_timeout_ms);

	event_add(c->rev, &idle);
}

/* Reading was paused (too many open requests) and may go on: parse what
 * is buffered in a loop pass of its own, then watch the socket again. */
static void
conn_resume(struct conn *c)
{
	c->paused = false;
	conn_watch(c);
	if (c->in_len > 0)
		event_active(c->rev, EV_READ, 0);
}

/* Malformed input: log it once, answer what is open, then close. */
static void
conn_reject(struct conn *c, const char *why, const char *buf, size_t len)
{
	char sample[80];

	log_msg(LOG_LEVEL_WARNING,
	    "malformed request (%s): \"%s\": closing the connection", why,
	    log_sanitize(sample, sizeof(sample), buf, len, 40));
	c->closing = true;
	event_del(c->rev);
	conn_flush(c);
}

/* Handle every whole request in the input buffer and keep the rest.
 * Returns false when c is gone or must not be read any more. */
static bool
conn_parse(struct conn *c)
{
	size_t off = 0;
	bool go_on = true;

	while (off < c->in_len) {
		const char *payload, *map, *key;
		size_t plen, used, map_len, key_len;
		enum netstring_status st;

		if (c->pending >= CONN_PIPELINE) {
			c->paused = true;
			event_del(c->rev);
			go_on = false;
			break;
		}
		st = netstring_decode(c->in + off, c->in_len - off,
		    SOCKMAP_MAX_QUERY, &payload, &plen, &used);
		if (st == NETSTRING_NEED_MORE)
			break;
		if (st != NETSTRING_DONE) {
			conn_reject(c, netstring_status_text(st), c->in + off,
			    c->in_len - off);
			return false;
		}
		if (sockmap_parse_request(payload, plen, &map, &map_len, &key,
		        &key_len) != 0) {
			conn_reject(c, "no \"map key\" in the payload",
			    c->in + off, c->in_len - off);
			return false;
		}
		off += used;
		c->parsing = true;
		handle_request(c, map, map_len, key, key_len);
		c->parsing = false;
		if (c->closing) { /* stopping, or out of memory */
			conn_flush(c);
			return false;
		}
	}
	if (off > 0) {
		c->in_len -= off;
		memmove(c->in, c->in + off, c->in_len);
		c->partial = false;
	}
	if (c->in_len > 0 && !c->partial) {
		c->partial = true;
		elapsed_start(&c->partial_since);
	}
	if (c->in != c->inbuf && c->in_len <= sizeof(c->inbuf)) {
		memcpy(c->inbuf, c->in, c->in_len);
		free(c->in);
		c->in = c->inbuf;
	}
	return go_on;
}

/*
 * The socket is readable, or the idle timer fired. One read() per wake-up
 * in the usual case (the request fits in the buffer); Postfix sends a
 * request and waits, so there is rarely a second one behind it.
 */
static void
conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (what & EV_TIMEOUT) {
		/* Waiting on DNS is not idleness, and idleness starts at the
		 * last reply, not at the last read. */
		if (c->pending > 0 ||
		    elapsed_ms(&c->active) <
		        (double)c->srv->cfg.idle_timeout_ms)
			return;
		log_msg(LOG_LEVEL_DEBUG, "idle connection closed");
		conn_free(c);
		return;
	}
	if (!conn_parse(c))
		return;
	for (;;) {
		size_t cap = c->in == c->inbuf ? sizeof(c->inbuf) : REQUEST_MAX;
		size_t space;
		ssize_t n;

		if (c->in_len == cap) {
			if (c->in != c->inbuf) { /* cannot happen: decode
				                  * refuses longer lengths */
				conn_reject(c, "request too long", c->in,
				    c->in_len);
				return;
			}
			if ((c->in = malloc(REQUEST_MAX)) == NULL) {
				c->in = c->inbuf;
				log_msg(LOG_LEVEL_ERR,
				    "out of memory: closing "
				    "a connection");
				conn_free(c);
				return;
			}
			memcpy(c->in, c->inbuf, c->in_len);
			cap = REQUEST_MAX;
		}
		space = cap - c->in_len;
		n = recv(fd, c->in + c->in_len, space, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* end of file, or the peer reset */
			conn_free(c);
			return;
		}
		c->in_len += (size_t)n;
		elapsed_start(&c->active);
		if (!conn_parse(c))
			return;
		/* A request sent a byte at a time must still end within the
		 * idle timeout (Postfix sends each in one piece): a trickle
		 * would otherwise hold the connection for ever. */
		if (c->partial &&
		    elapsed_ms(&c->partial_since) >=
		        (double)c->srv->cfg.idle_timeout_ms) {
			conn_reject(c, "not finished within idle_timeout",
			    c->in, c->in_len);
			return;
		}
		if ((size_t)n < space)
			return; /* the socket has nothing more */
	}
}

static void
conn_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)what;
	if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		conn_free(c);
		return;
	}
	if (evbuffer_get_length(c->out) > 0) {
		event_add(c->wev, NULL);
		return;
	}
	if (c->closing && c->head == NULL)
		conn_free(c);
}

static void
accept_conn(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *srv = arg;
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (srv->stopping || srv->conn_count >= srv->cfg.max_connections) {
		time_t now = time(NULL);

		if (now - srv->refused_logged >= 10) {
			srv->refused_logged = now;
			log_msg(LOG_LEVEL_WARNING,
			    "%s: refusing connections (max_connections %u; "
			    "logged at most every 10 s)",
			    srv->stopping ? "stopping" : "too many clients",
			    srv->cfg.max_connections);
		}
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->in = c->inbuf;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->conn_count++;
	elapsed_start(&c->active);
	c->rev =
	    event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
	c->wev = event_new(srv->base, fd, EV_WRITE, conn_on_write, c);
	c->out = evbuffer_new();
	if (c->rev == NULL || c->wev == NULL || c->out == NULL) {
		log_msg(LOG_LEVEL_ERR, "out of memory: closing a connection");
		conn_free(c);
		return;
	}
	conn_watch(c);
}

/* ------------------------------------------------------------ listeners */

/* systemd socket activation: LISTEN_PID is us, LISTEN_FDS sockets from 3. */
static int
activated_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long n;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 0;
	n = atol(fds);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n > 0 && n <= CONFIG_MAX_LISTEN ? (int)n : 0;
}

static int
bind_unix(const struct config *cfg, const char *path, char *err,
    size_t err_size)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, err_size, "%s exists and is not a socket",
			    path);
			return -1;
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, cfg->socket_mode) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (cfg->socket_group[0] != '\0') {
		struct group *gr = getgrnam(cfg->socket_group);

		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			snprintf(err, err_size,
			    "%s: cannot give it to group %s", path,
			    cfg->socket_group);
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int
bind_inet(const struct config_listen *l, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(l->address, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->address, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->address, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, err_size, "inet:%s:%u: %s", l->address, l->port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
add_listener(struct server *srv, int fd, const char *unix_path, char *err,
    size_t err_size)
{
	struct listener *l = &srv->listeners[srv->listener_count];

	evutil_make_socket_nonblocking(fd);
	l->ev = evconnlistener_new(srv->base, accept_conn, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024, fd);
	if (l->ev == NULL) {
		snprintf(err, err_size, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(l->unix_path, sizeof(l->unix_path), "%s",
	    unix_path != NULL ? unix_path : "");
	srv->listener_count++;
	return 0;
}

static int
open_listeners(struct server *srv, char *err, size_t err_size)
{
	int n = activated_fds();

	if (n > 0) {
		for (int i = 0; i < n; i++)
			if (add_listener(srv, 3 + i, NULL, err, err_size) != 0)
				return -1;
		log_msg(LOG_LEVEL_INFO, "using %d socket(s) from systemd", n);
		return 0;
	}
	for (size_t i = 0; i < srv->cfg.listen_count; i++) {
		const struct config_listen *l = &srv->cfg.listen[i];
		int fd = l->kind == CONFIG_LISTEN_UNIX
		    ? bind_unix(&srv->cfg, l->path, err, err_size)
		    : bind_inet(l, err, err_size);

		if (fd < 0 ||
		    add_listener(srv, fd,
		        l->kind == CONFIG_LISTEN_UNIX ? l->path : NULL, err,
		        err_size) != 0)
			return -1;
	}
	return 0;
}

static void
close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->listener_count; i++) {
		evconnlistener_free(srv->listeners[i].ev);
		if (srv->listeners[i].unix_path[0] != '\0')
			(void)unlink(srv->listeners[i].unix_path);
	}
	srv->listener_count = 0;
}

static int
drop_privileges(const struct config *cfg, char *err, size_t err_size)
{
	struct passwd *pw;

	if (cfg->user[0] == '\0') {
		if (geteuid() == 0)
			log_msg(LOG_LEVEL_WARNING,
			    "running as root: set user = NAME in the "
			    "configuration");
		return 0;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		snprintf(err, err_size, "unknown user %s", cfg->user);
		return -1;
	}
	/* setres*: real, effective and saved ids all change, so nothing
	 * can switch back to root later. */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		snprintf(err, err_size, "cannot become %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ signals */

static bool
resolver_config_changed(const struct config *a, const struct config *b)
{
	return a->resolution != b->resolution ||
	    a->upstream_count != b->upstream_count ||
	    memcmp(a->upstream, b->upstream, sizeof(a->upstream)) != 0 ||
	    a->transport != b->transport ||
	    strcmp(a->trust_anchor_file, b->trust_anchor_file) != 0 ||
	    a->query_timeout_ms != b->query_timeout_ms ||
	    a->lookup_deadline_ms != b->lookup_deadline_ms ||
	    a->max_cname_depth != b->max_cname_depth ||
	    strcmp(a->root_hints, b->root_hints) != 0 ||
	    strcmp(a->state_dir, b->state_dir) != 0;
}

/* Keys a reload cannot apply (the sockets are bound and privileges gone):
 * the names of those that changed, into buf ("" if none). */
static void
restart_only_changes(const struct config *a, const struct config *b, char *buf,
    size_t size)
{
	const struct {
		const char *name;
		bool changed;
	} keys[] = {
		{ "listen",
		    a->listen_count != b->listen_count ||
		        memcmp(a->listen, b->listen, sizeof(a->listen)) != 0 },
		{ "socket_mode", a->socket_mode != b->socket_mode },
		{ "socket_group",
		    strcmp(a->socket_group, b->socket_group) != 0 },
		{ "user", strcmp(a->user, b->user) != 0 },
		{ "cache_entries", a->cache_entries != b->cache_entries },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].changed && used < size)
			used += (size_t)snprintf(buf + used, size - used,
			    "%s%s", used > 0 ? ", " : "", keys[i].name);
}

/*
 * The state directory must be one the daemon's user can write in (the
 * journal lives there): a missing one is created for that user when
 * create is set (as Postfix's postfix-script sets up its queue); an
 * existing one that user cannot write is an error, never silently a
 * journal that stays off. Returns 0, or -1 with a message in err.
 */
static bool
dir_writable_by(const struct stat *st, const struct passwd *pw, uid_t uid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) ==
		    (S_IWUSR | S_IXUSR);
	if (pw != NULL) {
		gid_t groups[64];
		int n = 64;

		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
			for (int i = 0; i < n; i++)
				if (groups[i] == st->st_gid)
					return (st->st_mode &
					           (S_IWGRP | S_IXGRP)) ==
					    (S_IWGRP | S_IXGRP);
	} else if (st->st_gid == getegid())
		return (st->st_mode & (S_IWGRP | S_IXGRP)) ==
		    (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

static int
state_dir_ready(const struct config *cfg, bool create, char *err,
    size_t err_size)
{
	struct passwd *pw = NULL;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct stat st;

	if (cfg->user[0] != '\0') {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, err_size, "unknown user %s", cfg->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (stat(cfg->state_dir, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, err_size, "state_dir %s: %s",
			    cfg->state_dir, strerror(errno));
			return -1;
		}
		if (!create)
			return 0; /* created at start */
		if (mkdir(cfg->state_dir, 0750) != 0 ||
		    (geteuid() == 0 && chown(cfg->state_dir, uid, gid) != 0)) {
			snprintf(err, err_size,
			    "cannot create state_dir %s: %s", cfg->state_dir,
			    strerror(errno));
			return -1;
		}
		log_msg(LOG_LEVEL_NOTICE, "created state_dir %s for user %s",
		    cfg->state_dir, pw != NULL ? pw->pw_name : "(this one)");
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, err_size, "state_dir %s is not a directory",
		    cfg->state_dir);
		return -1;
	}
	if (!dir_writable_by(&st, pw, uid)) {
		snprintf(err, err_size,
		    "state_dir %s is not writable by user %s: the journal "
		    "of live keys could not be written (chown it to that "
		    "user, or remove it to have it created)",
		    cfg->state_dir, pw != NULL ? pw->pw_name : "(this one)");
		return -1;
	}
	return 0;
}

/* Append live keys to the journal in state_dir from now on. */
static int
journal_use(struct server *srv, const char *state_dir)
{
	char path[CONFIG_PATH_MAX + 16];
	struct journal *j;

	if (journal_path(state_dir, path, sizeof(path)) != 0 ||
	    (j = journal_open(path)) == NULL)
		return -1;
	journal_close(srv->journal);
	srv->journal = j;
	srv->journal_warned = false;
	return 0;
}

static void
reload(struct server *srv)
{
	struct config next;
	char err[2048], changed[128];

	if (config_load(&next, srv->config_path, err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERR,
		    "reload rejected, keeping the running "
		    "configuration: %s",
		    err);
		return;
	}
	if (resolver_config_changed(&srv->cfg, &next)) {
		struct resolve_ctx *ctx =
		    resolve_ctx_new(&next, srv->base, err, sizeof(err));
		struct retired_ctx *r;

		if (ctx == NULL) {
			log_msg(LOG_LEVEL_ERR,
			    "reload rejected, keeping the running "
			    "configuration: %s",
			    err);
			return;
		}
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			resolve_ctx_free(ctx);
			log_msg(LOG_LEVEL_ERR, "reload: out of memory");
			return;
		}
		/* running lookups finish on the old context */
		r->ctx = srv->resolver;
		r->next = srv->retired;
		srv->retired = r;
		srv->resolver = ctx;
	}
	restart_only_changes(&srv->cfg, &next, changed, sizeof(changed));
	if (changed[0] != '\0')
		log_msg(LOG_LEVEL_NOTICE,
		    "reload: %s changed: takes effect at the next start",
		    changed);
	/* What is bound stays as it was until the next start. */
	next.listen_count = srv->cfg.listen_count;
	memcpy(next.listen, srv->cfg.listen, sizeof(next.listen));
	next.socket_mode = srv->cfg.socket_mode;
	memcpy(next.socket_group, srv->cfg.socket_group,
	    sizeof(next.socket_group));
	memcpy(next.user, srv->cfg.user, sizeof(next.user));
	next.cache_entries = srv->cfg.cache_entries;
	if (strcmp(next.state_dir, srv->cfg.state_dir) != 0) {
		/* the warmer reads the journal in the new state_dir */
		int rc = state_dir_ready(&next, true, err, sizeof(err));

		if (rc == 0 && (rc = journal_use(srv, next.state_dir)) != 0)
			snprintf(err, sizeof(err), "out of memory");
		if (rc != 0) {
			log_msg(LOG_LEVEL_ERR, "reload: state_dir stays %s: %s",
			    srv->cfg.state_dir, err);
			memcpy(next.state_dir, srv->cfg.state_dir,
			    sizeof(next.state_dir));
		}
	}
	if (next.syslog_facility != srv->cfg.syslog_facility) {
		log_close();
		log_open("danemapd", srv->foreground, next.syslog_facility);
	}
	srv->cfg = next;
	log_set_level((enum log_level)srv->cfg.log_level);
	{
		char msg[1200];

		cdb_report(store_cdb_use(srv->store, srv->cfg.cache_file, msg,
		               sizeof(msg)),
		    msg);
	}
	retired_reap(srv);
	log_msg(LOG_LEVEL_NOTICE, "configuration reloaded from %s",
	    srv->config_path);
}

static void
maybe_finish_stop(struct server *srv)
{
	if (srv->stopping && srv->conn_count == 0 && srv->running == NULL &&
	    srv->queued == NULL)
		event_base_loopbreak(srv->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval grace;

	(void)what;
	if (sig == SIGHUP) {
		reload(srv);
		return;
	}
	if (srv->stopping)
		return;
	log_msg(LOG_LEVEL_NOTICE,
	    "stopping: answering %zu connection(s) "
	    "in flight",
	    srv->conn_count);
	srv->stopping = true;
	close_listeners(srv);
	/* idle connections go now; busy ones after their replies */
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->head == NULL)
			conn_free(c);
	}
	grace.tv_sec = srv->cfg.lookup_deadline_ms / 1000 + 2;
	grace.tv_usec = 0;
	evtimer_add(srv->hard_stop, &grace);
	maybe_finish_stop(srv);
}

static void
on_hard_stop(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_msg(LOG_LEVEL_WARNING, "stopping now: requests still open");
	event_base_loopbreak(srv->base);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	cdb_check(srv, false);
}

static void
on_cdb_checked(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cdb_check(arg, false);
}

static void
on_stats(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stats_log(arg);
}

/* ------------------------------------------------------------ main */

static const char usage_text[] =
    "usage: danemapd [-f] [-t] [-c FILE]\n"
    "  -c FILE  configuration file (default " CONFIG_DEFAULT_FILE ")\n"
    "  -f       log to stderr instead of syslog\n"
    "  -t       check the configuration and exit\n"
    "  -h       show this help\n"
    "  -V       show the version\n";

static void
server_free(struct server *srv)
{
	close_listeners(srv);
	while (srv->conns != NULL)
		conn_free(srv->conns);
	while (srv->queued != NULL) {
		struct lookup *lk = srv->queued;

		srv->queued = lk->next;
		lookup_free(lk);
	}
	while (srv->running != NULL) {
		struct lookup *lk = srv->running;

		srv->running = lk->next;
		lookup_free(lk); /* cancels its job */
	}
	while (srv->retired != NULL) {
		struct retired_ctx *r = srv->retired;

		srv->retired = r->next;
		resolve_ctx_free(r->ctx);
		free(r);
	}
	resolve_ctx_free(srv->resolver);
	if (srv->cdb_checked != NULL) /* before the store closes its fd */
		event_free(srv->cdb_checked);
	store_free(srv->store);
	journal_close(srv->journal);
	if (srv->sig_hup != NULL)
		event_free(srv->sig_hup);
	if (srv->sig_term != NULL)
		event_free(srv->sig_term);
	if (srv->sig_int != NULL)
		event_free(srv->sig_int);
	if (srv->tick != NULL)
		event_free(srv->tick);
	if (srv->stats_timer != NULL)
		event_free(srv->stats_timer);

	if (srv->hard_stop != NULL)
		event_free(srv->hard_stop);
	if (srv->base != NULL)
		event_base_free(srv->base);
}

/* libevent (and getdns through it) reports problems on stderr, which
 * syslog never sees: send them to our log instead, sanitised. */
static void
libevent_log(int severity, const char *msg)
{
	char clean[600];
	enum log_level level = severity >= EVENT_LOG_ERR ? LOG_LEVEL_ERR
	    : severity == EVENT_LOG_WARN                 ? LOG_LEVEL_WARNING
	                                                 : LOG_LEVEL_DEBUG;

	log_msg(level, "libevent: %s",
	    log_sanitize(clean, sizeof(clean), msg, strlen(msg), 400));
}

int
main(int argc, char **argv)
{
	static struct server srv;
	struct timeval second = { 1, 0 },
	               stats_interval = { STATS_INTERVAL, 0 };
	char err[2048];
	int opt, foreground = 0, check_only = 0, status = EX_SOFTWARE, cdb_fd;

	srv.config_path = CONFIG_DEFAULT_FILE;
	while ((opt = getopt(argc, argv, "c:fthV")) != -1) {
		switch (opt) {
		case 'c':
			srv.config_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			check_only = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("danemapd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	log_open("danemapd", 1, 0);
	if (config_load(&srv.cfg, srv.config_path, err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err);
		return EX_CONFIG;
	}
	if (check_only) {
		if (state_dir_ready(&srv.cfg, false, err, sizeof(err)) != 0) {
			log_msg(LOG_LEVEL_ERR, "%s", err);
			return EX_CONFIG;
		}
		printf("%s: configuration OK\n", srv.config_path);
		return 0;
	}
	srv.foreground = foreground;
	log_open("danemapd", foreground, srv.cfg.syslog_facility);
	event_set_log_callback(libevent_log);
	log_set_level((enum log_level)srv.cfg.log_level);
	signal(SIGPIPE, SIG_IGN);

	if ((srv.base = event_base_new()) == NULL ||
	    (srv.store = store_new(srv.cfg.cache_entries)) == NULL ||
	    fixed_replies_init(&srv) != 0) {
		log_msg(LOG_LEVEL_ERR, "out of memory");
		goto out;
	}
	if (open_listeners(&srv, err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err);
		status = EX_OSERR;
		goto out;
	}
	if (state_dir_ready(&srv.cfg, true, err, sizeof(err)) != 0 ||
	    drop_privileges(&srv.cfg, err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err);
		status = EX_CONFIG;
		goto out;
	}
	/* After dropping privileges: files are opened as the daemon user. */
	if ((srv.resolver = resolve_ctx_new(&srv.cfg, srv.base, err,
	         sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERR, "%s", err);
		status = EX_CONFIG;
		goto out;
	}
	if (journal_use(&srv, srv.cfg.state_dir) != 0) {
		log_msg(LOG_LEVEL_ERR, "out of memory");
		goto out;
	}
	/* The first file is checked before the first answer; later ones
	 * on a thread, while the one open answers. */
	cdb_report(store_cdb_use(srv.store, srv.cfg.cache_file, err,
	               sizeof(err)),
	    err);
	if ((cdb_fd = store_cdb_background(srv.store)) < 0 ||
	    (srv.cdb_checked = event_new(srv.base, cdb_fd, EV_READ | EV_PERSIST,
	         on_cdb_checked, &srv)) == NULL ||
	    event_add(srv.cdb_checked, NULL) != 0) {
		log_msg(LOG_LEVEL_ERR, "cannot set up cache file checks: %s",
		    strerror(errno));
		goto out;
	}
	srv.sig_hup = evsignal_new(srv.base, SIGHUP, on_signal, &srv);
	srv.sig_term = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
	srv.sig_int = evsignal_new(srv.base, SIGINT, on_signal, &srv);
	srv.tick = event_new(srv.base, -1, EV_PERSIST, on_tick, &srv);
	srv.hard_stop = evtimer_new(srv.base, on_hard_stop, &srv);
	srv.stats_timer = event_new(srv.base, -1, EV_PERSIST, on_stats, &srv);
	if (srv.sig_hup == NULL || srv.sig_term == NULL ||
	    srv.sig_int == NULL || srv.tick == NULL || srv.hard_stop == NULL ||
	    srv.stats_timer == NULL || event_add(srv.sig_hup, NULL) != 0 ||
	    event_add(srv.sig_term, NULL) != 0 ||
	    event_add(srv.sig_int, NULL) != 0 ||
	    event_add(srv.tick, &second) != 0 ||
	    event_add(srv.stats_timer, &stats_interval) != 0) {
		log_msg(LOG_LEVEL_ERR, "cannot set up events");
		goto out;
	}
	log_msg(LOG_LEVEL_NOTICE,
	    "ready: %zu listener(s), map \"%s\", %s "
	    "resolution",
	    srv.listener_count, srv.cfg.map_name,
	    srv.cfg.resolution == CONFIG_RESOLUTION_STUB ? "stub"
	                                                 : "recursive");
	elapsed_start(&srv.stats.since);
	event_base_dispatch(srv.base);
	stats_log(&srv); /* what the last interval answered */
	log_msg(LOG_LEVEL_NOTICE, "stopped");
	status = 0;
out:
	server_free(&srv);
	log_close();
	return status;
}
