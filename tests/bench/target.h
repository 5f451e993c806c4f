/*
 * target: the "unix:PATH" / "inet:HOST:PORT" addresses the benchmark tools
 * take, as a socket address. Only for tests/bench.
 */
#ifndef DANEMAP_BENCH_TARGET_H
#define DANEMAP_BENCH_TARGET_H

#include <sys/socket.h>

/* target_parse: fill *ss and *len from target. Returns 0, or -1 if it is
 * neither form or the host does not resolve. */
int target_parse(const char *target, struct sockaddr_storage *ss,
    socklen_t *len);

#endif
