/*
 * dnsloop: getdns's event-loop interface on our libevent base.
 *
 * getdns ships a libevent adapter, but getdns 1.6.0 frees it inside
 * getdns_context_destroy before it deletes libunbound's context, whose
 * events (recursive mode) are still scheduled through it: a use after
 * free at every exit, and events left in our base that event_base_free
 * then walks for ever. This loop belongs to us, not to getdns: its
 * cleanup method frees nothing, so it outlives the context, and libunbound
 * clears its events through it during the destroy. The caller frees it
 * after the context is gone.
 *
 * Deliberately not here: any DNS; timeouts of our own (resolve keeps its
 * own per-query timers).
 */
#ifndef DANEMAP_DNSLOOP_H
#define DANEMAP_DNSLOOP_H

#include <getdns/getdns_extra.h>

struct event_base;
struct dnsloop;

/* dnsloop_new: a loop on base, or NULL when out of memory. */
struct dnsloop *dnsloop_new(struct event_base *base);

/* dnsloop_getdns: the loop as getdns_context_set_eventloop wants it. */
getdns_eventloop *dnsloop_getdns(struct dnsloop *loop);

/* dnsloop_free: free the loop, once no getdns context uses it any more
 * (after getdns_context_destroy). NULL is a no-op. */
void dnsloop_free(struct dnsloop *loop);

#endif
