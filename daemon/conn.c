/*
 * conn.c: one client connection (see server.h). Bytes are read into the
 * connection's buffer, cut into netstrings, each split into map and key
 * (lib/sockmap) and handed to request_handle; replies go back in the
 * order the requests came, however their lookups finish. Malformed input
 * closes only its own connection (logged once); a connection idle past
 * idle_timeout, or trickling a request slower than that, is closed.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "elapsed.h"
#include "netstring.h"
#include "server.h"
#include "xalloc.h"

/*
 * Send one reply. When nothing is queued before it, write it to the socket
 * at once: one send() per answer, no extra loop pass (profiling showed the
 * event changes of a buffered write as the largest cost of a cached
 * answer). Whatever the socket does not take, or an error, goes to the
 * output buffer and the write event, which sends it or closes the
 * connection; order is kept.
 */
void
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
	xevbuffer_add(c->out, buf, len);
	xevent_add(c->wev, NULL);
}

static void
conn_watch(struct conn *c)
{
	struct timeval idle = elapsed_timeval(c->srv->cfg.idle_timeout_ms);

	xevent_add(c->rev, &idle);
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

/* Write whatever is done at the head of the queue, in order. */
void
conn_flush(struct conn *c)
{
	struct request *r;
	bool sent = false;

	while ((r = STAILQ_FIRST(&c->requests)) != NULL && r->done) {
		conn_send(c, r->reply, r->reply_len);
		sent = true;
		STAILQ_REMOVE_HEAD(&c->requests, queue);
		c->pending--;
		request_free(r);
	}
	/* While parsing, conn_on_read has just read the clock for c. */
	if (sent && !c->parsing)
		elapsed_start(&c->active);
	if (STAILQ_EMPTY(&c->requests) && (c->closing || c->srv->stopping)) {
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

void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;
	struct request *r;

	while ((r = STAILQ_FIRST(&c->requests)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->requests, queue);
		if (r->lookup != NULL) /* leave its lookup running */
			TAILQ_REMOVE(&r->lookup->waiters, r, waiting);
		request_free(r);
	}
	LIST_REMOVE(c, link);
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
		request_handle(c, map, map_len, key, key_len);
		c->parsing = false;
		if (c->closing) { /* stopping */
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
			c->in = xmalloc(REQUEST_MAX);
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
		xevent_add(c->wev, NULL);
		return;
	}
	if (c->closing && STAILQ_EMPTY(&c->requests))
		conn_free(c);
}

void
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

		srv->totals.conns_refused++;
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
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	c->in = c->inbuf;
	STAILQ_INIT(&c->requests);
	LIST_INSERT_HEAD(&srv->conns, c, link);
	srv->conn_count++;
	srv->totals.conns_accepted++;
	elapsed_start(&c->active);
	c->rev =
	    xevent_new(srv->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
	c->wev = xevent_new(srv->base, fd, EV_WRITE, conn_on_write, c);
	if ((c->out = evbuffer_new()) == NULL)
		xfail("evbuffer_new");
	conn_watch(c);
}
