/*
 * elapsed: see elapsed.h.
 */
#include "elapsed.h"

void
elapsed_start(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

double
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

struct timeval
elapsed_timeval(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
		(suseconds_t)(ms % 1000) * 1000 };

	return tv;
}
