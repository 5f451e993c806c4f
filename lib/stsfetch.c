/*
 * stsfetch: HTTPS policy fetches on libcurl's multi interface (see
 * stsfetch.h). libcurl tells us which sockets to watch (sock_cb) and when
 * to call it back (timer_cb); libevent watches, and on_socket/on_timer hand
 * the events back with curl_multi_socket_action. A finished transfer is
 * judged (status, media type, size, certificate) and parsed, then its
 * callback runs.
 */
#include "stsfetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include "elapsed.h"

struct stsfetch_ctx {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char ca_file[4096];
	unsigned timeout_ms;
	LIST_HEAD(, stsfetch) fetches;
	LIST_HEAD(, sockwatch) watches;
};

struct stsfetch {
	struct stsfetch_ctx *ctx;
	LIST_ENTRY(stsfetch) link;
	CURL *easy;
	struct curl_slist *connect_to, *resolve;
	stsfetch_cb *cb;
	void *arg;
	struct timespec started;
	char error[CURL_ERROR_SIZE];
	size_t len;
	char body[STS_BODY_MAX];
	struct stsfetch_result result;
};

/* One socket libcurl asked us to watch. */
struct sockwatch {
	LIST_ENTRY(sockwatch) link;
	struct event *ev;
};

static void check_done(struct stsfetch_ctx *ctx);

const char *
stsfetch_status_name(enum stsfetch_status status)
{
	static const char *const names[] = {
		[STSFETCH_OK] = "ok",
		[STSFETCH_WEBPKI] = "webpki",
		[STSFETCH_HTTP] = "http",
		[STSFETCH_TYPE] = "type",
		[STSFETCH_TOO_BIG] = "too-big",
		[STSFETCH_TIMEOUT] = "timeout",
		[STSFETCH_NETWORK] = "network",
		[STSFETCH_INVALID] = "invalid",
	};

	return (unsigned)status < sizeof(names) / sizeof(names[0])
	    ? names[status]
	    : "unknown";
}

const char *
stsfetch_tlsrpt_failure(enum stsfetch_status status)
{
	switch (status) {
	case STSFETCH_OK:
		return NULL;
	case STSFETCH_WEBPKI:
		return "sts-webpki-invalid";
	case STSFETCH_INVALID:
		return "sts-policy-invalid";
	default:
		return "sts-policy-fetch-error";
	}
}

/* ------------------------------------------------------------ the loop */

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct stsfetch_ctx *ctx = arg;
	int running, action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
	    (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(ctx->multi, fd, action, &running);
	check_done(ctx);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stsfetch_ctx *ctx = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(ctx->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(ctx);
}

static void
watch_free(struct sockwatch *w)
{
	LIST_REMOVE(w, link);
	event_free(w->ev);
	free(w);
}

/* libcurl: watch s for what (or stop watching it). */
static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct stsfetch_ctx *ctx = userp;
	struct sockwatch *w = socketp;
	short kind;

	(void)easy;
	if (w != NULL) {
		curl_multi_assign(ctx->multi, s, NULL);
		watch_free(w);
	}
	if (what == CURL_POLL_REMOVE)
		return 0;
	kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0));
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->ev = event_new(ctx->base, s, kind, on_socket, ctx)) == NULL ||
	    event_add(w->ev, NULL) != 0) {
		if (w != NULL && w->ev != NULL)
			event_free(w->ev);
		free(w);
		return -1; /* libcurl fails the transfer */
	}
	LIST_INSERT_HEAD(&ctx->watches, w, link);
	curl_multi_assign(ctx->multi, s, w);
	return 0;
}

/* libcurl: call back in timeout_ms (-1: no timer). Never calls libcurl
 * from here: the timer does, from the loop. */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct stsfetch_ctx *ctx = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return event_del(ctx->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return event_add(ctx->timer, &tv) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ a fetch */

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct stsfetch *f = arg;
	size_t len = size * n;

	if (len > sizeof(f->body) - f->len)
		return 0; /* libcurl stops: CURLE_WRITE_ERROR, judged too big */
	memcpy(f->body + f->len, data, len);
	f->len += len;
	return len;
}

/* Is the media type text/plain (RFC 8461 §3.2: parameters ignored)? */
static bool
text_plain(const char *type)
{
	size_t n = strlen("text/plain");

	if (type == NULL || strncasecmp(type, "text/plain", n) != 0)
		return false;
	type += n;
	while (*type == ' ' || *type == '\t')
		type++;
	return *type == '\0' || *type == ';';
}

/* Judge a finished transfer into f->result. */
static void
judge(struct stsfetch *f, CURLcode code)
{
	struct stsfetch_result *r = &f->result;
	char *type = NULL;
	const char *why;

	r->ms = elapsed_ms(&f->started);
	r->size = f->len;
	(void)curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &r->http_code);
	switch (code) {
	case CURLE_OK:
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		r->status = STSFETCH_WEBPKI;
		snprintf(r->detail, sizeof(r->detail), "%s",
		    f->error[0] != '\0' ? f->error : curl_easy_strerror(code));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		r->status = STSFETCH_TIMEOUT;
		snprintf(r->detail, sizeof(r->detail), "no policy within %u ms",
		    f->ctx->timeout_ms);
		return;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
		r->status = STSFETCH_TOO_BIG;
		snprintf(r->detail, sizeof(r->detail), "larger than %u bytes",
		    STS_BODY_MAX);
		return;
	default:
		r->status = STSFETCH_NETWORK;
		snprintf(r->detail, sizeof(r->detail), "%s",
		    f->error[0] != '\0' ? f->error : curl_easy_strerror(code));
		return;
	}
	if (r->http_code != 200) {
		r->status = STSFETCH_HTTP;
		snprintf(r->detail, sizeof(r->detail),
		    "HTTP status %ld (only 200 counts; redirects are not "
		    "followed)",
		    r->http_code);
		return;
	}
	(void)curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &type);
	if (!text_plain(type)) {
		r->status = STSFETCH_TYPE;
		snprintf(r->detail, sizeof(r->detail),
		    "media type %.100s, not text/plain",
		    type != NULL ? type : "(none)");
		return;
	}
	if (sts_policy_parse(f->body, f->len, &r->policy, &why) != 0) {
		r->status = STSFETCH_INVALID;
		snprintf(r->detail, sizeof(r->detail), "invalid policy: %s",
		    why);
		return;
	}
	r->status = STSFETCH_OK;
}

static void
fetch_free(struct stsfetch *f)
{
	LIST_REMOVE(f, link);
	curl_multi_remove_handle(f->ctx->multi, f->easy);
	curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->connect_to);
	curl_slist_free_all(f->resolve);
	free(f);
}

/* Hand every finished transfer to its callback, once it is freed. */
static void
check_done(struct stsfetch_ctx *ctx)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(ctx->multi, &left)) != NULL) {
		struct stsfetch *f = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&f);
		judge(f, msg->data.result);
		{
			struct stsfetch_result result = f->result;
			stsfetch_cb *cb = f->cb;
			void *arg = f->arg;

			fetch_free(f);
			cb(&result, arg);
		}
	}
}

/* "mta-sts.DOMAIN:PORT:A1,[A2],..." for CURLOPT_RESOLVE; -1 if too long. */
static int
resolve_line(char *buf, size_t size, const char *domain, unsigned port,
    const char *const *addrs, size_t n)
{
	int used = snprintf(buf, size, "mta-sts.%s:%u:", domain, port);

	for (size_t i = 0; i < n && used >= 0 && (size_t)used < size; i++) {
		bool v6 = strchr(addrs[i], ':') != NULL;

		used += snprintf(buf + used, size - (size_t)used, "%s%s%s%s",
		    i > 0 ? "," : "", v6 ? "[" : "", addrs[i], v6 ? "]" : "");
	}
	return used >= 0 && (size_t)used < size ? 0 : -1;
}

struct stsfetch *
stsfetch_start(struct stsfetch_ctx *ctx, const char *domain,
    const char *const *addrs, size_t n, unsigned port, stsfetch_cb *cb,
    void *arg)
{
	struct stsfetch *f;
	char route[600], where[1024];
	CURL *e;

	if (n == 0 || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((f->easy = e = curl_easy_init()) == NULL) {
		free(f);
		return NULL;
	}
	f->ctx = ctx;
	f->cb = cb;
	f->arg = arg;
	snprintf(f->result.url, sizeof(f->result.url),
	    "https://mta-sts.%s/.well-known/mta-sts.txt", domain);
	/* Connect where our resolver says, whatever the system's would:
	 * the URL's name and port 443 go to that name at port (443 but in
	 * tests), and that name and port to our addresses, all of them. */
	snprintf(route, sizeof(route), "mta-sts.%s:443:mta-sts.%s:%u", domain,
	    domain, port);
	LIST_INSERT_HEAD(&ctx->fetches, f, link);
	elapsed_start(&f->started);
	if (resolve_line(where, sizeof(where), domain, port, addrs, n) != 0 ||
	    (f->connect_to = curl_slist_append(NULL, route)) == NULL ||
	    (f->resolve = curl_slist_append(NULL, where)) == NULL ||
	    curl_easy_setopt(e, CURLOPT_RESOLVE, f->resolve) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_URL, f->result.url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECT_TO, f->connect_to) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (ctx->ca_file[0] != '\0' &&
	        curl_easy_setopt(e, CURLOPT_CAINFO, ctx->ca_file) !=
	            CURLE_OK) ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ctx->timeout_ms) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long)STS_BODY_MAX) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "danemap/" PACKAGE_VERSION) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->error) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, f) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, f) != CURLE_OK ||
	    curl_multi_add_handle(ctx->multi, e) != CURLM_OK) {
		LIST_REMOVE(f, link);
		curl_easy_cleanup(e);
		curl_slist_free_all(f->connect_to);
		curl_slist_free_all(f->resolve);
		free(f);
		return NULL;
	}
	return f;
}

void
stsfetch_cancel(struct stsfetch *f)
{
	if (f != NULL)
		fetch_free(f);
}

/* ------------------------------------------------------------ context */

struct stsfetch_ctx *
stsfetch_ctx_new(struct event_base *base, const char *ca_file,
    unsigned timeout_ms, char *err, size_t err_size)
{
	static bool global_done;
	struct stsfetch_ctx *ctx;

	/* once per process, before any thread of ours runs a transfer */
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, err_size, "cannot set up libcurl");
			return NULL;
		}
		global_done = true;
	}
	/* a CA file we cannot read is our fault, not every domain's */
	if (ca_file[0] != '\0' && access(ca_file, R_OK) != 0) {
		snprintf(err, err_size, "mta_sts_ca_file %s: %s", ca_file,
		    strerror(errno));
		return NULL;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	ctx->base = base;
	ctx->timeout_ms = timeout_ms;
	snprintf(ctx->ca_file, sizeof(ctx->ca_file), "%s", ca_file);
	LIST_INIT(&ctx->fetches);
	LIST_INIT(&ctx->watches);
	if ((ctx->multi = curl_multi_init()) == NULL ||
	    (ctx->timer = evtimer_new(base, on_timer, ctx)) == NULL ||
	    curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) !=
	        CURLM_OK ||
	    curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETDATA, ctx) !=
	        CURLM_OK ||
	    curl_multi_setopt(ctx->multi, CURLMOPT_TIMERFUNCTION, timer_cb) !=
	        CURLM_OK ||
	    curl_multi_setopt(ctx->multi, CURLMOPT_TIMERDATA, ctx) !=
	        CURLM_OK) {
		snprintf(err, err_size, "cannot set up libcurl");
		stsfetch_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void
stsfetch_ctx_free(struct stsfetch_ctx *ctx)
{
	if (ctx == NULL)
		return;
	while (!LIST_EMPTY(&ctx->fetches))
		fetch_free(LIST_FIRST(&ctx->fetches));
	if (ctx->multi != NULL)
		curl_multi_cleanup(ctx->multi);
	while (!LIST_EMPTY(&ctx->watches))
		watch_free(LIST_FIRST(&ctx->watches));
	if (ctx->timer != NULL)
		event_free(ctx->timer);
	free(ctx);
}
