/*
 * elapsed: how long something took, on the monotonic clock (wall-clock
 * jumps must not make a lookup look slow or a connection look idle).
 *
 * Deliberately not here: timers themselves (libevent's; elapsed_timeval
 * only spells a duration the way they take it) and wall-clock time (expiry
 * of cached answers uses time(NULL)).
 */
#ifndef DANEMAP_ELAPSED_H
#define DANEMAP_ELAPSED_H

#include <sys/time.h>
#include <time.h>

/* elapsed_start: set *t to now. */
void elapsed_start(struct timespec *t);

/* elapsed_ms: milliseconds from *since to now. */
double elapsed_ms(const struct timespec *since);

/* elapsed_timeval: ms milliseconds as a struct timeval (for a timer). */
struct timeval elapsed_timeval(unsigned ms);

#endif
