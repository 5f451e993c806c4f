/*
 * server.h: what the parts of danemapd share (doc/design.md §1, §7).
 *
 * A request's path through the daemon, file by file:
 *   listen.c   the sockets it arrives on (and privileges, state_dir);
 *   conn.c     a connection: bytes read, netstring framing, the request
 *              split into map and key, replies written back in order;
 *   request.c  one request: the map name, the key (lib/mapkey), the memory
 *              cache and the cache file (lib/store), else a live lookup;
 *   lookup.c   live lookups: one per key however many ask (a table by
 *              key), a queue behind max_lookups, stale answers on failure;
 *              lib/resolve walks the DNS and lib/policy decides; after a
 *              DANE NOTFOUND, MTA-STS (lib/sts's §5.1 plan, a policy
 *              fetch through lib/stsfetch at most mta_sts_max_fetches at
 *              once);
 *   reply.c    the answer: framed by lib/sockmap, logged, counted;
 *   danemapd.c main, signals, reload, timers.
 * Beside the requests:
 *   stats.c    the counts since start, as Prometheus text (lib/metrics);
 *   scrape.c   GET /metrics on metrics_listen (libevent's evhttp);
 *   control.c  the control socket (lib/control): stats, flush, for root
 *              and the daemon's own user only.
 *
 * Ownership: a struct conn owns its requests; a struct lookup owns its
 * resolve job and points at (does not own) the requests waiting on it; a
 * request leaving (its connection closed) unlinks itself from the lookup,
 * which goes on to fill the cache. Allocation failures end the process
 * (xalloc.h); lib/ failures become TEMP answers.
 */
#ifndef DANEMAP_SERVER_H
#define DANEMAP_SERVER_H

#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>

#include "configfile.h"
#include "log.h"
#include "mapkey.h"
#include "metrics.h"
#include "overrides.h"
#include "policy.h"
#include "resolve.h"
#include "sockmap.h"
#include "store.h"
#include "stsfetch.h"
#include "tempwatch.h"

/* A whole request netstring: "10000:" + payload + ",". */
#define REQUEST_MAX (SOCKMAP_MAX_QUERY + 7)
/* A reply a request holds in itself; an MTA-STS reply may be longer
 * (up to STS_REPLY_MAX) and is then kept on the heap. */
#define REPLY_MAX (POLICY_REASON_MAX + 32)
/* The longest framed reply: an MTA-STS policy's. */
#define STS_FRAME_MAX (STS_REPLY_MAX + 16)
/* Key bytes a log line shows; a request keeps one more, so a line can
 * still mark a longer key as cut. */
#define KEY_LOG_IN 255
#define KEY_LOG_MAX 300
/* A connection's own input buffer holds any ordinary request; a longer one
 * (up to REQUEST_MAX) gets a heap buffer while it is read. */
#define CONN_INBUF 512
/* Requests one connection may have open at once: Postfix sends one and
 * waits, so this only bounds a client that pipelines (reading from it
 * pauses until answers go out). */
#define CONN_PIPELINE 64

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
	SOURCE_OVERRIDE, /* a line of overrides_file */
	SOURCE_COUNT
};

/* What an answer said, for the statistics line. */
enum answer_kind {
	KIND_DANE_ONLY,
	KIND_DANE,
	KIND_NOTFOUND,
	KIND_STS, /* an MTA-STS policy enforced */
	KIND_TEMP,
	KIND_PERM,
	KIND_COUNT
};

/* What a live TEMP's DNS failure was, for the metrics (label "kind"). */
enum dns_failure_kind {
	DNSFAIL_BOGUS,
	DNSFAIL_INDETERMINATE,
	DNSFAIL_TIMEOUT,
	DNSFAIL_NETWORK,
	DNSFAIL_SERVFAIL,
	DNSFAIL_REFUSED,
	DNSFAIL_RCODE, /* another rcode: FORMERR, NOTIMP, ... */
	DNSFAIL_CNAME,
	DNSFAIL_MISMATCH,
	DNSFAIL_OTHER, /* no DNS lookup failed: a name too long, no host */
	DNSFAIL_COUNT
};

/*
 * Counts since start, for /metrics and `danemap stats` (stats.c). Only
 * increments, on paths that already do more (a live lookup's end, a fetch,
 * an accept): the path of a cached answer counts only into answer_stats,
 * which the statistics line adds in here before it starts again.
 */
struct server_counters {
	unsigned long long by_source[SOURCE_COUNT]; /* until the last */
	unsigned long long by_kind[KIND_COUNT];     /* statistics line */
	struct metrics_histogram lookup_seconds;    /* DNS, per live lookup */
	unsigned long long dns_failures[DNSFAIL_COUNT];
	/* policy fetches by result; the last: due but not started */
	unsigned long long sts_fetches[STSFETCH_STATUS_COUNT + 1];
	unsigned long long conns_accepted, conns_refused;
	unsigned long long keys_flushed, flushes_all;
	unsigned long long control_refused;
	time_t started;
};

/* Answers given since the last statistics line. */
struct answer_stats {
	unsigned long by_source[SOURCE_COUNT];
	unsigned long by_kind[KIND_COUNT];
	struct timespec since;
};

/*
 * A reply known in advance ("OK dane-only", "OK dane", "NOTFOUND ", the
 * PERM for a wrong map name), framed once at start by the one reply
 * encoder: a cached answer then formats nothing.
 */
struct fixed_reply {
	char frame[64];
	size_t frame_len;
	enum answer_kind kind;
};

struct request {
	struct conn *conn;
	STAILQ_ENTRY(request) queue;  /* the connection's, in order */
	struct lookup *lookup;        /* while waiting on one */
	TAILQ_ENTRY(request) waiting; /* the lookup's waiters */
	bool done;
	char *reply; /* reply_buf, or the heap for a longer one */
	size_t reply_len;
	char reply_buf[REPLY_MAX];
	char key[KEY_LOG_IN + 1]; /* as asked, cut: only for log lines */
	size_t key_len;
	struct timespec started;
};

STAILQ_HEAD(request_queue, request);
TAILQ_HEAD(request_waiters, request);

struct conn {
	struct server *srv;
	evutil_socket_t fd;
	struct event *rev;    /* readable, or idle; pending while reading */
	struct event *wev;    /* writable; pending while out has bytes */
	struct evbuffer *out; /* what the socket did not take at once */
	LIST_ENTRY(conn) link;
	struct request_queue requests;
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
	TAILQ_ENTRY(lookup) link; /* running or queued */
	struct lookup *chain;     /* the key table's bucket */
	uint32_t hash;
	bool queued;
	struct mapkey key;
	struct resolve_job *job; /* NULL while queued */
	struct resolve_ctx *ctx; /* the context it runs on */
	struct request_waiters waiters;
	bool has_stale;
	struct store_hit stale; /* its sts is stale_sts, our copy */
	char *stale_sts;
	struct event *queue_timer; /* while queued */
	struct stsfetch *fetch;    /* while fetching an MTA-STS policy */
	bool flushed; /* flushed while running: its answer is not kept */
};

TAILQ_HEAD(lookup_list, lookup);

struct retired_ctx {
	struct resolve_ctx *ctx;
	LIST_ENTRY(retired_ctx) link;
};

struct listener {
	struct evconnlistener *ev;
	char unix_path[108]; /* to unlink at exit; "" if none */
};

/* The lookups in flight, by normalised key (lookup.c). */
struct lookup_table {
	struct lookup **buckets;
	size_t mask, count;
	uint32_t seed;
};

struct server {
	struct config cfg;
	const char *config_path;
	struct event_base *base;
	struct resolve_ctx *resolver;
	LIST_HEAD(, retired_ctx) retired;
	struct store *store;
	struct journal *journal;
	bool journal_warned;
	bool foreground; /* -f: log to stderr */
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t listener_count;
	LIST_HEAD(, conn) conns;
	size_t conn_count;
	struct lookup_list running, queued;
	size_t running_count;
	struct stsfetch_ctx *fetcher; /* NULL unless mta_sts */
	struct lookup_list fetching;  /* lookups waiting on a policy fetch */
	size_t fetch_count;
	struct lookup_table lookups;
	struct event *sig_hup, *sig_term, *sig_int, *tick, *hard_stop;
	struct event *stats_timer;
	struct event *cdb_checked; /* a cache file check on a thread is over */
	struct answer_stats stats;
	struct tempwatch *tempwatch; /* keys that keep answering TEMP */
	/* its warnings and notices this minute, and those held back */
	time_t temp_lines_since;
	unsigned temp_lines;
	unsigned long temp_held_alerts, temp_held_recoveries;
	struct overrides overrides; /* overrides_file, as last read */
	struct stat overrides_st;   /* the file read (0: none) */
	char overrides_err[300];    /* the last failure to read it, logged */
	struct fixed_reply fixed[POLICY_REPLY_NOTFOUND + 1];
	struct fixed_reply unknown_map;
	bool stopping;
	time_t refused_logged;
	struct server_counters totals;
	struct evhttp *metrics_http;    /* metrics_listen, or NULL */
	struct evconnlistener *control; /* control_socket, or NULL */
	char control_path[108];         /* to unlink at exit */
	LIST_HEAD(, control_conn) controls;
	size_t control_count;
	time_t control_refused_logged;
};

/* conn.c */
void accept_conn(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);
void conn_send(struct conn *c, const char *buf, size_t len);
void conn_flush(struct conn *c);
void conn_free(struct conn *c);

/* request.c; danemapd.c reads overrides_file */
void overrides_check(struct server *srv, bool force);
void overrides_ended(struct server *srv, time_t now);
void request_handle(struct conn *c, const char *map, size_t map_len,
    const char *key, size_t key_len);

/* lookup.c */
void lookup_table_init(struct lookup_table *t);
/* lookup_flushed: a running lookup of norm (NULL: every running lookup)
 * started before a flush: its answer is given but not kept, and no stale
 * answer is served for it. */
void lookup_flushed(struct server *srv, const char *norm);
void lookup_join(struct server *srv, struct request *r, const struct mapkey *mk,
    enum store_result sr, const struct store_hit *hit);
void lookups_free(struct server *srv);
void retired_add(struct server *srv, struct resolve_ctx *ctx);
void retired_reap(struct server *srv);

/* reply.c */
void fixed_replies_init(struct server *srv);
const struct fixed_reply *fixed_reply_of(const struct server *srv,
    enum policy_reply reply);
struct request *request_new(struct conn *c, const char *key, size_t key_len);
void request_free(struct request *r);
void request_answer(struct request *r, const struct policy_decision *d,
    enum answer_source source);
void request_answer_frame(struct request *r, const char *frame, size_t len,
    enum answer_kind kind, enum answer_source source, const char *reason);
void conn_answer_frame(struct conn *c, const char *key, size_t key_len,
    const char *frame, size_t len, enum answer_kind kind,
    enum answer_source source);
/* sts_frame: the framed reply for domain's cached MTA-STS policy (sts,
 * as the store keeps it) if one applies now (unexpired, or fetched just
 * now for the requests waiting; mode enforce); its length, or -1 if none
 * applies. */
long sts_frame(const struct server *srv, const char *domain, const char *sts,
    size_t sts_len, time_t now, bool fetched, char *buf, size_t size);
void request_answer_fixed(struct request *r, const struct fixed_reply *fr,
    enum answer_source source);
void conn_answer_fixed(struct conn *c, const char *key, size_t key_len,
    const struct fixed_reply *fr, enum answer_source source);
void stats_log(struct server *srv);
/* temp_lines_roll: once a minute has passed since the first TEMP warning
 * or recovery notice of the current minute (or with force, at exit), say
 * how many were held back, and start counting again. */
void temp_lines_roll(struct server *srv, time_t now, bool force);
const char *answer_source_name(enum answer_source source);
const char *key_for_log(char *buf, size_t size, const char *key, size_t len);

/* listen.c */
int open_listeners(struct server *srv, char *err, size_t err_size);
/* listen_inet_fd: a socket bound to l (inet), not yet listening; -1 with
 * a message in err. */
int listen_inet_fd(const struct config_listen *l, char *err, size_t err_size);
/* listen_unix_fd: a socket bound to path with mode, its group group (""
 * keeps it) and, when running as root, its owner the daemon's user;
 * not yet listening; -1 with a message in err. */
int listen_unix_fd(const struct config *cfg, const char *path, unsigned mode,
    const char *group, bool owned, char *err, size_t err_size);
void close_listeners(struct server *srv);
int drop_privileges(const struct config *cfg, char *err, size_t err_size);
int state_dir_ready(const struct config *cfg, bool create, char *err,
    size_t err_size);

/* stats.c */
void stats_render(struct server *srv, struct metrics_text *t);
enum dns_failure_kind dns_failure_kind_of(const struct policy_decision *d);

/* scrape.c: start serving /metrics on metrics_listen (if set) */
int scrape_start(struct server *srv, char *err, size_t err_size);
void scrape_stop(struct server *srv);

/* control.c: start the control socket (if set) */
int control_start(struct server *srv, char *err, size_t err_size);
void control_stop(struct server *srv);

/* danemapd.c */
void maybe_finish_stop(struct server *srv);
/* resolver_renew: a new resolver context for cfg (running lookups end on
 * the old one): a reload that changes it, and a flush, whose lookups must
 * not come from libunbound's cache. 0, or -1 with a message in err. */
int resolver_renew(struct server *srv, const struct config *cfg, char *err,
    size_t err_size);

#endif
