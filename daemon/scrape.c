/*
 * scrape.c: GET /metrics on metrics_listen (see server.h), with libevent's
 * HTTP server on the daemon's own loop: the text stats.c makes, in the
 * Prometheus text format. Only GET and HEAD of /metrics: another path is
 * 404, another method 501 (evhttp's answer). Requests are small and slow
 * clients time out, but evhttp (libevent 2.1) has no connection limit:
 * metrics_listen is on loopback unless an address is written, and should stay
 * behind a firewall then.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

/* Seconds an HTTP connection may stay silent; bytes a request's headers
 * and body may take (a scrape sends a few hundred). */
#define SCRAPE_TIMEOUT 10
#define SCRAPE_HEADERS_MAX 8192
#define SCRAPE_BODY_MAX 1024

static void
on_metrics(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct metrics_text t;
	struct evbuffer *body = evhttp_request_get_output_buffer(req);

	metrics_text_init(&t);
	stats_render(srv, &t);
	if (metrics_text_failed(&t) || evbuffer_add(body, t.buf, t.len) != 0) {
		metrics_text_free(&t);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	metrics_text_free(&t);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static void
on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
}

int
scrape_start(struct server *srv, char *err, size_t err_size)
{
	const struct config_listen *l = &srv->cfg.metrics_listen;
	int fd;

	if (l->port == 0)
		return 0;
	if ((fd = listen_inet_fd(l, err, err_size)) < 0)
		return -1;
	evutil_make_socket_nonblocking(fd);
	/* evhttp takes a socket that listens already */
	if (listen(fd, 64) != 0 ||
	    (srv->metrics_http = evhttp_new(srv->base)) == NULL ||
	    evhttp_accept_socket_with_handle(srv->metrics_http, fd) == NULL) {
		snprintf(err, err_size,
		    "metrics_listen inet:%s:%u: cannot "
		    "listen",
		    l->address, l->port);
		close(fd);
		return -1;
	}
	evhttp_set_allowed_methods(srv->metrics_http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(srv->metrics_http, SCRAPE_TIMEOUT);
	evhttp_set_max_headers_size(srv->metrics_http, SCRAPE_HEADERS_MAX);
	evhttp_set_max_body_size(srv->metrics_http, SCRAPE_BODY_MAX);
	evhttp_set_cb(srv->metrics_http, "/metrics", on_metrics, srv);
	evhttp_set_gencb(srv->metrics_http, on_other, srv);
	log_msg(LOG_LEVEL_INFO, "metrics on http://%s%s%s:%u/metrics",
	    strchr(l->address, ':') != NULL ? "[" : "", l->address,
	    strchr(l->address, ':') != NULL ? "]" : "", l->port);
	return 0;
}

void
scrape_stop(struct server *srv)
{
	if (srv->metrics_http != NULL)
		evhttp_free(srv->metrics_http);
	srv->metrics_http = NULL;
}
