/*
 * control.c: the control socket (see server.h): `danemap stats` and
 * `danemap flush` talk to the running daemon here, in lib/control's
 * requests, a netstring each.
 *
 * Who may ask: the socket is mode 0600 and belongs to the daemon's user,
 * and each connection's peer credentials (SO_PEERCRED) are checked as
 * well, so a socket whose mode was loosened still serves only root and
 * the daemon's own user. Anyone else gets one ERR reply and the
 * connection closes; refusals are counted, and logged at most every 10 s.
 *
 * A flush makes the keys' next answers come from new lookups: the memory
 * entries go, their cache file records from before now are ignored until
 * a warm run writes newer ones (lib/store), a lookup already running for
 * them gives its answer but does not keep it, and in recursive mode the
 * resolver context is renewed, so libunbound's cache cannot answer the
 * new lookups with what it held before.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "netstring.h"
#include "server.h"
#include "xalloc.h"

/* Control connections open at once; more are closed at accept. */
#define CONTROL_CONNS_MAX 16
/* Seconds a control connection may stay silent. */
#define CONTROL_IDLE 30
/* Keys of a flush a log line or a reply names; the rest are counted. */
#define CONTROL_KEYS_SHOWN 400

struct control_conn {
	struct server *srv;
	struct bufferevent *bev;
	LIST_ENTRY(control_conn) link;
	unsigned long uid;
	bool closing; /* close once the reply is out */
};

static void
control_conn_free(struct control_conn *cc)
{
	LIST_REMOVE(cc, link);
	cc->srv->control_count--;
	bufferevent_free(cc->bev);
	free(cc);
}

/* Queue one reply: "OK " or "ERR ", then text[0..len), as a netstring. */
static void
control_reply(struct control_conn *cc, bool ok, const char *text, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	const char *status = ok ? "OK " : "ERR ";

	/* framed in place: the counters are too long to copy for
	 * netstring_encode */
	if (evbuffer_add_printf(out, "%zu:%s", strlen(status) + len, status) <
	    0)
		xfail("evbuffer_add_printf");
	xevbuffer_add(out, text, len);
	xevbuffer_add(out, ",", 1);
}

static void
control_stats(struct control_conn *cc)
{
	struct metrics_text t;

	metrics_text_init(&t);
	stats_render(cc->srv, &t);
	if (metrics_text_failed(&t))
		control_reply(cc, false, "out of memory", 13);
	else
		control_reply(cc, true, t.buf, t.len);
	metrics_text_free(&t);
}

/* After a flush: lookups must not be answered from libunbound's cache. */
static const char *
control_renew_resolver(struct server *srv)
{
	char err[1024];

	if (srv->cfg.resolution != CONFIG_RESOLUTION_RECURSIVE)
		return "";
	if (resolver_renew(srv, &srv->cfg, err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERR,
		    "flush: cannot renew the resolver, its DNS cache stays: "
		    "%s",
		    err);
		return "; the resolver's DNS cache could not be dropped";
	}
	retired_reap(srv);
	return "; the resolver's DNS cache was dropped";
}

static void
control_flush_all(struct control_conn *cc)
{
	struct server *srv = cc->srv;
	char text[256];
	const char *dns;
	int n;

	store_flush_all(srv->store, time(NULL));
	lookup_flushed(srv, NULL);
	dns = control_renew_resolver(srv);
	srv->totals.flushes_all++;
	log_msg(LOG_LEVEL_NOTICE, "control: every key flushed (uid %lu)%s",
	    cc->uid, dns);
	n = snprintf(text, sizeof(text),
	    "every key flushed: answers are looked up again%s", dns);
	control_reply(cc, true, text, (size_t)n);
}

static void
control_flush(struct control_conn *cc, const char *args, size_t args_len)
{
	struct server *srv = cc->srv;
	char shown[CONTROL_KEYS_SHOWN + 64], *text;
	const char *key, *why, *dns;
	size_t pos = 0, key_len, count = 0, used = 0;
	struct mapkey mk;
	bool all = false;
	time_t now = time(NULL);
	int n;

	/* every key first: a bad one flushes nothing */
	while (control_next_key(args, args_len, &pos, &key, &key_len)) {
		char key_log[KEY_LOG_MAX], msg[KEY_LOG_MAX + 160];

		why = NULL; /* a key with nothing to look up has no why */
		if (mapkey_parse(key, key_len, &mk, &why) == MAPKEY_LOOKUP)
			continue;
		n = snprintf(msg, sizeof(msg),
		    "%s is not a key danemapd looks up (%s): nothing flushed",
		    key_for_log(key_log, sizeof(key_log), key, key_len),
		    why != NULL ? why : "a parent-domain key or an IP literal");
		control_reply(cc, false, msg, (size_t)n);
		return;
	}
	shown[0] = '\0';
	for (pos = 0; control_next_key(args, args_len, &pos, &key, &key_len);
	     count++) {
		(void)mapkey_parse(key, key_len, &mk, &why);
		all = store_flush(srv->store, mk.norm, strlen(mk.norm), now) ||
		    all;
		lookup_flushed(srv, mk.norm);
		if (used < CONTROL_KEYS_SHOWN)
			used += (size_t)snprintf(shown + used,
			    sizeof(shown) - used, " %s", mk.norm);
	}
	if (used >= CONTROL_KEYS_SHOWN)
		snprintf(shown + CONTROL_KEYS_SHOWN,
		    sizeof(shown) - CONTROL_KEYS_SHOWN, " ...");
	srv->totals.keys_flushed += count;
	if (all) { /* the store flushed every key: so do the lookups */
		lookup_flushed(srv, NULL);
		srv->totals.flushes_all++;
	}
	dns = control_renew_resolver(srv);
	log_msg(LOG_LEVEL_NOTICE,
	    "control: %zu key(s) flushed (uid %lu):%s%s%s", count, cc->uid,
	    shown,
	    all ? "; more keys than are remembered one by one: every key "
	          "flushed"
	        : "",
	    dns);
	text = xmalloc(sizeof(shown) + 256);
	n = snprintf(text, sizeof(shown) + 256, "%zu key(s) flushed:%s%s%s",
	    count, shown,
	    all ? "; more keys than are remembered one by one: every key "
	          "flushed"
	        : "",
	    dns);
	control_reply(cc, true, text, (size_t)n);
	free(text);
}

static void
control_request(struct control_conn *cc, const char *payload, size_t len)
{
	const char *args, *why;
	size_t args_len;

	switch (control_parse(payload, len, &args, &args_len, &why)) {
	case CONTROL_STATS:
		control_stats(cc);
		break;
	case CONTROL_FLUSH_ALL:
		control_flush_all(cc);
		break;
	case CONTROL_FLUSH:
		control_flush(cc, args, args_len);
		break;
	case CONTROL_BAD:
		log_msg(LOG_LEVEL_WARNING, "control: bad request (uid %lu): %s",
		    cc->uid, why);
		control_reply(cc, false, why, strlen(why));
		break;
	}
}

static void
on_control_read(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!cc->closing && evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), plen, used;
		const char *buf, *payload;
		enum netstring_status st;

		if (len > CONTROL_REQUEST_MAX + 16)
			len = CONTROL_REQUEST_MAX + 16; /* enough to judge */
		buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
		st = netstring_decode(buf, len, CONTROL_REQUEST_MAX, &payload,
		    &plen, &used);
		if (st == NETSTRING_NEED_MORE)
			return;
		if (st != NETSTRING_DONE) {
			const char *why = netstring_status_text(st);

			log_msg(LOG_LEVEL_WARNING,
			    "control: not a request (uid %lu): %s", cc->uid,
			    why);
			control_reply(cc, false, why, strlen(why));
			cc->closing = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		control_request(cc, payload, plen);
		evbuffer_drain(in, used);
	}
}

/* The reply is out: close if asked to. */
static void
on_control_written(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;

	(void)bev;
	if (cc->closing)
		control_conn_free(cc);
}

static void
on_control_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* end of file, an error or the idle timeout: close */
	control_conn_free(arg);
}

/* The peer's uid, if it is root or this process's user: else refuse. */
static bool
peer_allowed(evutil_socket_t fd, unsigned long *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*uid = (unsigned long)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    len != sizeof(cred))
		return false;
	*uid = (unsigned long)cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

/* Send one ERR reply (text) on a connection not taken, and close it. */
static void
control_turn_away(evutil_socket_t fd, const char *text)
{
	char payload[160], reply[sizeof(payload) + 8];
	int n = snprintf(payload, sizeof(payload), "ERR %s", text);
	long len = n > 0 && (size_t)n < sizeof(payload)
	    ? netstring_encode(reply, sizeof(reply), payload, (size_t)n)
	    : -1;

	if (len > 0) /* the texts are this file's own, and short */
		(void)send(fd, reply, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	evutil_closesocket(fd);
}

static void
control_refuse(struct server *srv, evutil_socket_t fd, unsigned long uid)
{
	time_t now = time(NULL);

	srv->totals.control_refused++;
	control_turn_away(fd,
	    "permission denied: only root and the daemon's "
	    "user may use the control socket");
	if (now - srv->control_refused_logged < 10)
		return;
	srv->control_refused_logged = now;
	if (uid == (unsigned long)-1)
		log_msg(LOG_LEVEL_WARNING,
		    "control: connection refused: its peer's credentials "
		    "cannot be read (logged at most every 10 s)");
	else
		log_msg(LOG_LEVEL_WARNING,
		    "control: connection from uid %lu refused: neither root "
		    "nor the daemon's user (logged at most every 10 s)",
		    uid);
}

static void
on_control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
	struct control_conn *cc;
	struct timeval idle = { CONTROL_IDLE, 0 };
	unsigned long uid;

	(void)l;
	(void)sa;
	(void)salen;
	if (!peer_allowed(fd, &uid)) {
		control_refuse(srv, fd, uid);
		return;
	}
	if (srv->control_count >= CONTROL_CONNS_MAX) {
		control_turn_away(fd,
		    "busy: too many control connections, try "
		    "again");
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->srv = srv;
	cc->uid = uid;
	cc->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL)
		xfail("bufferevent_socket_new");
	LIST_INSERT_HEAD(&srv->controls, cc, link);
	srv->control_count++;
	bufferevent_setcb(cc->bev, on_control_read, on_control_written,
	    on_control_event, cc);
	bufferevent_set_timeouts(cc->bev, &idle, &idle);
	if (bufferevent_enable(cc->bev, EV_READ) != 0)
		xfail("bufferevent_enable");
}

int
control_start(struct server *srv, char *err, size_t err_size)
{
	const char *path = srv->cfg.control_socket.path;
	int fd;

	LIST_INIT(&srv->controls);
	if (path[0] == '\0')
		return 0;
	if ((fd = listen_unix_fd(&srv->cfg, path, 0600, "", true, err,
	         err_size)) < 0)
		return -1;
	evutil_make_socket_nonblocking(fd);
	srv->control = evconnlistener_new(srv->base, on_control_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (srv->control == NULL) {
		snprintf(err, err_size, "%s: cannot listen: %s", path,
		    strerror(errno));
		close(fd);
		(void)unlink(path);
		return -1;
	}
	snprintf(srv->control_path, sizeof(srv->control_path), "%s", path);
	return 0;
}

void
control_stop(struct server *srv)
{
	while (!LIST_EMPTY(&srv->controls))
		control_conn_free(LIST_FIRST(&srv->controls));
	if (srv->control != NULL) {
		evconnlistener_free(srv->control);
		(void)unlink(srv->control_path);
	}
	srv->control = NULL;
}
