/*
 * dnsloop: getdns events as libevent events (see dnsloop.h). Each getdns
 * event gets one libevent event, created when getdns schedules it and
 * freed when getdns clears it; getdns_eventloop_event.ev points to it.
 */
#include "dnsloop.h"

#include <event2/event.h>
#include <stdlib.h>

struct dnsloop {
	getdns_eventloop loop; /* first: getdns hands us this pointer */
	struct event_base *base;
};

static void
dnsloop_cleanup(getdns_eventloop *loop)
{
	/* Owned by the caller, who frees it after the context: see the
	 * top of dnsloop.h. */
	(void)loop;
}

static void
dnsloop_fire(evutil_socket_t fd, short what, void *arg)
{
	getdns_eventloop_event *gev = arg;

	(void)fd;
	/* One callback per wake-up, read first, as getdns expects. */
	if ((what & EV_READ) && gev->read_cb != NULL)
		gev->read_cb(gev->userarg);
	else if ((what & EV_WRITE) && gev->write_cb != NULL)
		gev->write_cb(gev->userarg);
	else if ((what & EV_TIMEOUT) && gev->timeout_cb != NULL)
		gev->timeout_cb(gev->userarg);
}

static getdns_return_t
dnsloop_schedule(getdns_eventloop *loop, int fd, uint64_t timeout,
    getdns_eventloop_event *gev)
{
	struct dnsloop *dl = (struct dnsloop *)loop;
	struct timeval tv = { .tv_sec = (time_t)(timeout / 1000),
		.tv_usec = (suseconds_t)(timeout % 1000) * 1000 };
	short what = (short)((gev->read_cb != NULL ? EV_READ | EV_PERSIST : 0) |
	    (gev->write_cb != NULL ? EV_WRITE | EV_PERSIST : 0) |
	    (gev->timeout_cb != NULL ? EV_TIMEOUT : 0));
	struct event *ev;

	if ((gev->read_cb != NULL || gev->write_cb != NULL) && fd < 0)
		return GETDNS_RETURN_INVALID_PARAMETER;
	ev = event_new(dl->base,
	    gev->read_cb != NULL || gev->write_cb != NULL ? fd : -1, what,
	    dnsloop_fire, gev);
	if (ev == NULL)
		return GETDNS_RETURN_MEMORY_ERROR;
	if (event_add(ev, gev->timeout_cb != NULL ? &tv : NULL) != 0) {
		event_free(ev);
		return GETDNS_RETURN_GENERIC_ERROR;
	}
	gev->ev = ev;
	return GETDNS_RETURN_GOOD;
}

static getdns_return_t
dnsloop_clear(getdns_eventloop *loop, getdns_eventloop_event *gev)
{
	(void)loop;
	if (gev->ev != NULL) {
		event_free(gev->ev); /* event_free deletes it first */
		gev->ev = NULL;
	}
	return GETDNS_RETURN_GOOD;
}

static void
dnsloop_run(getdns_eventloop *loop)
{
	(void)event_base_dispatch(((struct dnsloop *)loop)->base);
}

static void
dnsloop_run_once(getdns_eventloop *loop, int blocking)
{
	(void)event_base_loop(((struct dnsloop *)loop)->base,
	    EVLOOP_ONCE | (blocking ? 0 : EVLOOP_NONBLOCK));
}

static getdns_eventloop_vmt dnsloop_vmt = {
	dnsloop_cleanup,
	dnsloop_schedule,
	dnsloop_clear,
	dnsloop_run,
	dnsloop_run_once,
};

struct dnsloop *
dnsloop_new(struct event_base *base)
{
	struct dnsloop *dl = calloc(1, sizeof(*dl));

	if (dl == NULL)
		return NULL;
	dl->loop.vmt = &dnsloop_vmt;
	dl->base = base;
	return dl;
}

getdns_eventloop *
dnsloop_getdns(struct dnsloop *loop)
{
	return &loop->loop;
}

void
dnsloop_free(struct dnsloop *loop)
{
	free(loop);
}
