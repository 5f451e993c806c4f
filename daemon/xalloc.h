/*
 * xalloc: how the programs meet a failed allocation (doc/design.md §7).
 *
 * One rule everywhere: lib/ hands an allocation failure back to its caller
 * (a lookup that cannot keep its result fails, which decides TEMP, never a
 * weaker policy); the programs allocate through these wrappers, which log
 * "out of memory" with what was being done and exit with EX_OSERR. A
 * daemon that half-works under memory pressure would drop clients or
 * answers in ways nobody sees; one that exits is restarted (the systemd
 * unit says Restart=on-failure) and Postfix retries its lookups, as with
 * Postfix's own and OpenBSD's daemons. The libevent calls that allocate
 * (a new event, a buffer, adding an event) are covered the same way.
 */
#ifndef DANEMAP_XALLOC_H
#define DANEMAP_XALLOC_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <stddef.h>

/* xfail: log "out of memory: <what>" and exit(EX_OSERR). */
__attribute__((noreturn)) void xfail(const char *what);

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrndup(const char *s, size_t n);

/* event_new / event_add / evbuffer_add that cannot fail. */
struct event *xevent_new(struct event_base *base, evutil_socket_t fd,
    short what, event_callback_fn fn, void *arg);
void xevent_add(struct event *ev, const struct timeval *tv);
void xevbuffer_add(struct evbuffer *buf, const void *data, size_t len);

#endif
