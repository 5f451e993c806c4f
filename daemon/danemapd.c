/*
 * danemapd: the socketmap daemon Postfix asks for a TLS policy
 * (doc/design.md §2, §7).
 *
 *   danemapd [-f] [-t] [-c FILE]
 *
 * This file is the daemon's life: start (listeners, privileges, resolver,
 * cache file), signals (SIGHUP reloads, SIGTERM stops after answering what
 * is open), and its timers (cache file checks, statistics). How a request
 * travels through the other files is told in server.h.
 *
 * One libevent loop; getdns runs on the same loop. The only other threads
 * check and close cache files (lib/cdbread) and meet the loop at a pipe.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "elapsed.h"
#include "journal.h"
#include "server.h"
#include "xalloc.h"

/* Seconds between two statistics lines (also written at exit). */
#define STATS_INTERVAL 60

/* What became of a cache file check, for the log. */
static void
cdb_report(int rc, const char *msg)
{
	if (rc == STORE_CDB_OPENED)
		log_msg(LOG_LEVEL_NOTICE, "%s", msg);
	else if (rc == STORE_CDB_BAD)
		log_msg(LOG_LEVEL_WARNING, "%s", msg);
}

/* Look at cache_file again: a new file is checked on a thread (once
 * store_cdb_background is on), and the loop hears when that is over
 * (on_cdb_checked). */
static void
cdb_check(struct server *srv)
{
	char msg[1200];

	cdb_report(store_cdb_check(srv->store, time(NULL), false, msg,
	               sizeof(msg)),
	    msg);
}

/* Read cache_file (a new path, or the same one at SIGHUP) from now on. */
static void
cdb_use(struct server *srv)
{
	char msg[1200];

	cdb_report(store_cdb_use(srv->store, srv->cfg.cache_file, msg,
	               sizeof(msg)),
	    msg);
}

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
		{ "mta_sts_ca_file",
		    strcmp(a->mta_sts_ca_file, b->mta_sts_ca_file) != 0 },
		{ "mta_sts_timeout",
		    a->mta_sts_timeout_ms != b->mta_sts_timeout_ms },
		{ "metrics_listen",
		    memcmp(&a->metrics_listen, &b->metrics_listen,
		        sizeof(a->metrics_listen)) != 0 },
		{ "control_socket",
		    memcmp(&a->control_socket, &b->control_socket,
		        sizeof(a->control_socket)) != 0 },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].changed && used < size)
			used += (size_t)snprintf(buf + used, size - used,
			    "%s%s", used > 0 ? ", " : "", keys[i].name);
}

/* Append live keys to the journal in state_dir from now on. */
static void
journal_use(struct server *srv, const char *state_dir)
{
	char path[CONFIG_PATH_MAX + 16];
	struct journal *j;

	(void)journal_path(state_dir, path, sizeof(path)); /* it fits */
	if ((j = journal_open(path)) == NULL)
		xfail("journal_open");
	journal_close(srv->journal);
	srv->journal = j;
	srv->journal_warned = false;
}

/* The MTA-STS policy fetcher, on the daemon's loop. */
static int
fetcher_start(struct server *srv, const struct config *cfg)
{
	char err[512];

	srv->fetcher = stsfetch_ctx_new(srv->base, cfg->mta_sts_ca_file,
	    cfg->mta_sts_timeout_ms, err, sizeof(err));
	if (srv->fetcher == NULL) {
		log_msg(LOG_LEVEL_ERR, "mta_sts: %s", err);
		return -1;
	}
	return 0;
}

int
resolver_renew(struct server *srv, const struct config *cfg, char *err,
    size_t err_size)
{
	struct resolve_ctx *ctx =
	    resolve_ctx_new(cfg, srv->base, err, err_size);

	if (ctx == NULL)
		return -1;
	/* running lookups finish on the old context */
	retired_add(srv, srv->resolver);
	srv->resolver = ctx;
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
		overrides_check(srv, true); /* SIGHUP reads it, whatever */
		return;
	}
	if (resolver_config_changed(&srv->cfg, &next) &&
	    resolver_renew(srv, &next, err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERR,
		    "reload rejected, keeping the running "
		    "configuration: %s",
		    err);
		overrides_check(srv, true);
		return;
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
	memcpy(next.mta_sts_ca_file, srv->cfg.mta_sts_ca_file,
	    sizeof(next.mta_sts_ca_file));
	next.mta_sts_timeout_ms = srv->cfg.mta_sts_timeout_ms;
	next.metrics_listen = srv->cfg.metrics_listen;
	next.control_socket = srv->cfg.control_socket;
	if (next.mta_sts && srv->fetcher == NULL &&
	    fetcher_start(srv, &next) != 0)
		next.mta_sts = false;
	if (strcmp(next.state_dir, srv->cfg.state_dir) != 0) {
		/* the warmer reads the journal in the new state_dir */
		if (state_dir_ready(&next, true, err, sizeof(err)) == 0)
			journal_use(srv, next.state_dir);
		else {
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
	if (next.tlsrpt != srv->cfg.tlsrpt)
		store_drop_frames(srv->store); /* MTA-STS replies change */
	if (next.temp_alert_after != srv->cfg.temp_alert_after)
		tempwatch_set_after(srv->tempwatch, next.temp_alert_after);
	srv->cfg = next;
	log_set_level((enum log_level)srv->cfg.log_level);
	cdb_use(srv);
	overrides_check(srv, true);
	retired_reap(srv);
	log_msg(LOG_LEVEL_NOTICE, "configuration reloaded from %s",
	    srv->config_path);
}

void
maybe_finish_stop(struct server *srv)
{
	if (srv->stopping && srv->conn_count == 0 &&
	    TAILQ_EMPTY(&srv->running) && TAILQ_EMPTY(&srv->queued) &&
	    TAILQ_EMPTY(&srv->fetching))
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
	for (struct conn *c = LIST_FIRST(&srv->conns), *next; c != NULL;
	     c = next) {
		next = LIST_NEXT(c, link);
		if (STAILQ_EMPTY(&c->requests))
			conn_free(c);
	}
	/* a lookup may still resolve and then fetch a policy */
	grace.tv_sec = srv->cfg.lookup_deadline_ms / 1000 + 2;
	if (srv->cfg.mta_sts)
		grace.tv_sec += srv->cfg.mta_sts_timeout_ms / 1000 + 1;
	grace.tv_usec = 0;
	xevent_add(srv->hard_stop, &grace);
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
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	cdb_check(srv);
	tempwatch_prune(srv->tempwatch, (int64_t)now);
	temp_lines_roll(srv, now, false);
	overrides_check(srv, false);
	overrides_ended(srv, now);
}

static void
on_cdb_checked(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cdb_check(arg);
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
	struct event *events[] = { srv->sig_hup, srv->sig_term, srv->sig_int,
		srv->tick, srv->stats_timer, srv->hard_stop,
		srv->cdb_checked /* before the store closes its pipe */ };
	struct retired_ctx *r;

	close_listeners(srv);
	control_stop(srv);
	scrape_stop(srv);
	while (!LIST_EMPTY(&srv->conns))
		conn_free(LIST_FIRST(&srv->conns));
	lookups_free(srv);
	while ((r = LIST_FIRST(&srv->retired)) != NULL) {
		LIST_REMOVE(r, link);
		resolve_ctx_free(r->ctx);
		free(r);
	}
	resolve_ctx_free(srv->resolver);
	stsfetch_ctx_free(srv->fetcher);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i] != NULL)
			event_free(events[i]);
	store_free(srv->store);
	tempwatch_free(srv->tempwatch);
	overrides_free(&srv->overrides);
	journal_close(srv->journal);
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
	bool foreground = false, check_only = false;
	int opt, status = EX_SOFTWARE, cdb_fd;

	srv.config_path = CONFIG_DEFAULT_FILE;
	while ((opt = getopt(argc, argv, "c:fthV")) != -1) {
		switch (opt) {
		case 'c':
			srv.config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			check_only = true;
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
	log_open("danemapd", true, 0);
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

	LIST_INIT(&srv.conns);
	LIST_INIT(&srv.retired);
	TAILQ_INIT(&srv.running);
	TAILQ_INIT(&srv.queued);
	TAILQ_INIT(&srv.fetching);
	lookup_table_init(&srv.lookups);
	fixed_replies_init(&srv);
	if ((srv.base = event_base_new()) == NULL)
		xfail("event_base_new");
	if ((srv.store = store_new(srv.cfg.cache_entries)) == NULL)
		xfail("store_new");
	if ((srv.tempwatch = tempwatch_new(srv.cfg.temp_alert_after)) == NULL)
		xfail("tempwatch_new");
	srv.totals.started = time(NULL);
	/* bound before privileges go: ports below 1024, sockets in /run */
	if (open_listeners(&srv, err, sizeof(err)) != 0 ||
	    control_start(&srv, err, sizeof(err)) != 0 ||
	    scrape_start(&srv, err, sizeof(err)) != 0) {
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
	overrides_check(&srv, true);
	if ((srv.resolver = resolve_ctx_new(&srv.cfg, srv.base, err,
	         sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERR, "%s", err);
		status = EX_CONFIG;
		goto out;
	}
	if (srv.cfg.mta_sts && fetcher_start(&srv, &srv.cfg) != 0) {
		status = EX_CONFIG;
		goto out;
	}
	journal_use(&srv, srv.cfg.state_dir);
	/* The first file is checked before the first answer; later ones
	 * on a thread, while the one open answers. */
	cdb_use(&srv);
	if ((cdb_fd = store_cdb_background(srv.store)) < 0) {
		log_msg(LOG_LEVEL_ERR, "cannot set up cache file checks: %s",
		    strerror(errno));
		goto out;
	}
	srv.cdb_checked = xevent_new(srv.base, cdb_fd, EV_READ | EV_PERSIST,
	    on_cdb_checked, &srv);
	srv.sig_hup = xevent_new(srv.base, SIGHUP, EV_SIGNAL | EV_PERSIST,
	    on_signal, &srv);
	srv.sig_term = xevent_new(srv.base, SIGTERM, EV_SIGNAL | EV_PERSIST,
	    on_signal, &srv);
	srv.sig_int = xevent_new(srv.base, SIGINT, EV_SIGNAL | EV_PERSIST,
	    on_signal, &srv);
	srv.tick = xevent_new(srv.base, -1, EV_PERSIST, on_tick, &srv);
	srv.hard_stop = xevent_new(srv.base, -1, 0, on_hard_stop, &srv);
	srv.stats_timer = xevent_new(srv.base, -1, EV_PERSIST, on_stats, &srv);
	xevent_add(srv.cdb_checked, NULL);
	xevent_add(srv.sig_hup, NULL);
	xevent_add(srv.sig_term, NULL);
	xevent_add(srv.sig_int, NULL);
	xevent_add(srv.tick, &second);
	xevent_add(srv.stats_timer, &stats_interval);
	log_msg(LOG_LEVEL_NOTICE,
	    "ready: %zu listener(s), map \"%s\", %s "
	    "resolution",
	    srv.listener_count, srv.cfg.map_name,
	    srv.cfg.resolution == CONFIG_RESOLUTION_STUB ? "stub"
	                                                 : "recursive");
	elapsed_start(&srv.stats.since);
	event_base_dispatch(srv.base);
	stats_log(&srv); /* what the last interval answered */
	temp_lines_roll(&srv, time(NULL), true);
	log_msg(LOG_LEVEL_NOTICE, "stopped");
	status = 0;
out:
	server_free(&srv);
	log_close();
	return status;
}
