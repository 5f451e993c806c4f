/*
 * elapsed: how long something took, on the monotonic clock (wall-clock
 * jumps must not make a lookup look slow or a connection look idle).
 *
 * Deliberately not here: timers (libevent's) and wall-clock time (expiry
 * of cached answers uses time(NULL)).
 */
#ifndef DANEMAP_ELAPSED_H
#define DANEMAP_ELAPSED_H

#include <time.h>

/* elapsed_start: set *t to now. */
void elapsed_start(struct timespec *t);

/* elapsed_ms: milliseconds from *since to now. */
double elapsed_ms(const struct timespec *since);

#endif
