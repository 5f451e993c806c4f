/* xalloc: allocation that logs and exits on failure (see xalloc.h). */
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"

void
xfail(const char *what)
{
	log_msg(LOG_LEVEL_ERR, "out of memory: %s; exiting", what);
	log_close();
	exit(EX_OSERR);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		xfail("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		xfail("calloc");
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (q == NULL)
		xfail("realloc");
	return q;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		xfail("strndup");
	return p;
}

struct event *
xevent_new(struct event_base *base, evutil_socket_t fd, short what,
    event_callback_fn fn, void *arg)
{
	struct event *ev = event_new(base, fd, what, fn, arg);

	if (ev == NULL)
		xfail("event_new");
	return ev;
}

void
xevent_add(struct event *ev, const struct timeval *tv)
{
	if (event_add(ev, tv) != 0)
		xfail("event_add");
}

void
xevbuffer_add(struct evbuffer *buf, const void *data, size_t len)
{
	if (evbuffer_add(buf, data, len) != 0)
		xfail("evbuffer_add");
}
