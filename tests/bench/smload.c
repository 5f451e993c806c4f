/*
 * smload: a socketmap load client for benchmarks.
 *
 *   smload [-c CONNS] [-n REQUESTS] [-r RATE] [-m MAP] [-f FILE] TARGET
 *          [KEY=REPLY...]
 *
 * (-f: more KEY=REPLY pairs, one per line.)
 * Opens CONNS connections to TARGET (unix:PATH or inet:HOST:PORT) and on
 * each runs Postfix's pattern: one request, wait for its reply, the next.
 * Connections take the keys in turn, starting at different keys. Stops
 * after REQUESTS replies in all. Every reply is checked against the
 * expected payload ("TEMP" matches any "TEMP ..."). Prints one line:
 *
 *   conns=C requests=N wrong=W errors=E seconds=S rps=R p50=.. p90=..
 *   p99=.. max=.. (latencies in microseconds)
 *
 * With -r RATE the load is offered at RATE requests a second in all (a
 * request every 1/RATE s, on whichever connection is idle), as many MTA
 * processes asking now and then would, instead of each connection asking
 * again the moment it has its reply. Latency is then counted from when a
 * request was due, not when it could be sent, so a server that falls
 * behind shows it (no coordinated omission). The line adds rate=RATE.
 *
 * and exits 1 if any reply was wrong or any connection failed. One thread,
 * epoll: the same client measures danemapd and smfixed, so their ratio is
 * fair. Only for tests/bench: it trusts its arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netstring.h"
#include "target.h"

struct key {
	char *req;
	size_t req_len;
	const char *want;
};

struct conn {
	int fd;
	size_t next; /* index of the key to ask next */
	char buf[4096];
	size_t have;
	uint64_t sent_ns;
	bool busy;
};

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
connect_target(const char *target)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (target_parse(target, &ss, &len) != 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* add "KEY=REPLY" (modified in place) to keys[*n] as a request */
static void
add_key(struct key *keys, size_t *n, const char *map, char *pair)
{
	char *eq = strchr(pair, '='), payload[1100];
	int len;

	if (eq == NULL) {
		fprintf(stderr, "smload: not KEY=REPLY: %s\n", pair);
		exit(64);
	}
	*eq = '\0';
	keys[*n].want = eq + 1;
	len = snprintf(payload, sizeof(payload), "%s %s", map, pair);
	if ((keys[*n].req = malloc((size_t)len + 16)) == NULL)
		exit(70);
	keys[*n].req_len = (size_t)netstring_encode(keys[*n].req,
	    (size_t)len + 16, payload, (size_t)len);
	(*n)++;
}

/* the lines of path, NUL-terminated in one buffer; their count in *n */
static char **
read_lines(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "r");
	char **lines = NULL, buf[1100];
	size_t cap = 0;

	*n = 0;
	if (fp == NULL) {
		perror(path);
		exit(66);
	}
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == '\0')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((lines = realloc(lines, cap * sizeof(*lines))) ==
			    NULL)
				exit(70);
		}
		if ((lines[(*n)++] = strdup(buf)) == NULL)
			exit(70);
	}
	fclose(fp);
	return lines;
}

static void
usage(void)
{
	fputs("usage: smload [-c CONNS] [-n REQUESTS] [-r RATE] [-m MAP] "
	      "[-f FILE] "
	      "unix:PATH|inet:HOST:PORT [KEY=REPLY...]\n",
	    stderr);
	exit(64);
}

int
main(int argc, char **argv)
{
	size_t conns = 1, total = 100000, nkeys, done = 0, sent = 0;
	size_t wrong = 0, errors = 0, nlat = 0, nidle = 0;
	double rate = 0;
	uint64_t every_ns = 0;
	struct conn **idle;
	const char *map = "tlspolicy", *target, *file = NULL;
	char **lines = NULL;
	size_t nlines = 0;
	struct key *keys;
	struct conn *cs;
	uint64_t *lat, t0, t1;
	struct rlimit rl;
	int opt, ep;

	while ((opt = getopt(argc, argv, "c:n:r:m:f:")) != -1) {
		switch (opt) {
		case 'c':
			conns = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			total = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 'm':
			map = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 1 || conns == 0 || total == 0 || rate < 0)
		usage();
	if (rate > 0)
		every_ns = (uint64_t)(1e9 / rate);
	target = argv[optind++];
	if (file != NULL)
		lines = read_lines(file, &nlines);
	if (nlines + (size_t)(argc - optind) == 0)
		usage();
	keys = calloc(nlines + (size_t)(argc - optind), sizeof(*keys));
	cs = calloc(conns, sizeof(*cs));
	lat = calloc(total, sizeof(*lat));
	idle = calloc(conns, sizeof(*idle));
	if (keys == NULL || cs == NULL || lat == NULL || idle == NULL) {
		perror("smload");
		return 70;
	}
	nkeys = 0;
	for (size_t i = 0; i < nlines; i++)
		add_key(keys, &nkeys, map, lines[i]);
	for (int i = optind; i < argc; i++)
		add_key(keys, &nkeys, map, argv[i]);
	/* many connections need many descriptors */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conns + 16) {
		rl.rlim_cur =
		    rl.rlim_max < conns + 16 ? rl.rlim_max : conns + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("epoll_create1");
		return 70;
	}
	for (size_t i = 0; i < conns; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
			.data.ptr = &cs[i] };

		cs[i].fd = connect_target(target);
		if (cs[i].fd < 0) {
			fprintf(stderr, "smload: connect %s: %s\n", target,
			    strerror(errno));
			return 1;
		}
		cs[i].next = i % nkeys;
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	t0 = now_ns();
	/* prime: one request in flight per connection (closed loop), or
	 * every connection idle (-r) */
	for (size_t i = 0; i < conns && every_ns != 0; i++)
		idle[nidle++] = &cs[i];
	for (size_t i = 0; i < conns && sent < total && every_ns == 0; i++) {
		struct key *k = &keys[cs[i].next];

		cs[i].sent_ns = now_ns();
		if (write(cs[i].fd, k->req, k->req_len) !=
		    (ssize_t)k->req_len) {
			errors++;
			continue;
		}
		cs[i].busy = true;
		sent++;
	}
	while (done < total) {
		struct epoll_event evs[256];
		int wait_ms = 10000, n;

		/* -r: send what is due on idle connections; wake for the next
		 * one (spinning the last millisecond: epoll_wait counts in
		 * milliseconds) */
		while (every_ns != 0 && sent < total && nidle > 0) {
			uint64_t due = t0 + (uint64_t)sent * every_ns, t = now_ns();
			struct conn *c;
			struct key *k;

			if (t < due) {
				wait_ms = (int)((due - t) / 1000000);
				break;
			}
			c = idle[--nidle];
			k = &keys[c->next];
			c->sent_ns = due;
			if (write(c->fd, k->req, k->req_len) !=
			    (ssize_t)k->req_len) {
				errors++;
				continue;
			}
			c->busy = true;
			sent++;
		}
		n = epoll_wait(ep, evs, 256, wait_ms);
		if (n == 0 && wait_ms < 10000)
			continue;
		if (n <= 0) {
			fprintf(stderr, "smload: no reply for 10 s\n");
			errors++;
			break;
		}
		for (int e = 0; e < n; e++) {
			struct conn *c = evs[e].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->have,
			    sizeof(c->buf) - c->have);
			const char *payload;
			size_t plen, used;

			if (r <= 0) {
				errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				c->busy = false;
				if (done + errors >= total)
					break;
				continue;
			}
			c->have += (size_t)r;
			while (netstring_decode(c->buf, c->have, 4000, &payload,
			           &plen, &used) == NETSTRING_DONE) {
				const struct key *k = &keys[c->next];
				uint64_t t = now_ns();
				bool ok = strncmp(k->want, "TEMP", 5) == 0
				    ? plen > 5 &&
				        memcmp(payload, "TEMP ", 5) == 0
				    : plen == strlen(k->want) &&
				        memcmp(payload, k->want, plen) == 0;

				if (!ok && wrong++ < 5)
					fprintf(stderr,
					    "smload: %.*s: got \"%.*s\", want "
					    "\"%s\"\n",
					    (int)k->req_len, k->req, (int)plen,
					    payload, k->want);
				lat[nlat++] = t - c->sent_ns;
				done++;
				memmove(c->buf, c->buf + used, c->have - used);
				c->have -= used;
				c->next = (c->next + 1) % nkeys;
				c->busy = false;
				if (every_ns != 0) {
					idle[nidle++] = c;
				} else if (sent < total) {
					k = &keys[c->next];
					c->sent_ns = now_ns();
					if (write(c->fd, k->req, k->req_len) ==
					    (ssize_t)k->req_len) {
						c->busy = true;
						sent++;
					} else {
						errors++;
					}
				}
			}
		}
		if (done + errors >= total)
			break;
	}
	t1 = now_ns();
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
#define PCT(p)                                                                 \
	(nlat ? (double)lat[(size_t)((double)(nlat - 1) * (p))] / 1e3 : 0)
	printf("conns=%zu requests=%zu wrong=%zu errors=%zu seconds=%.3f "
	       "rps=%.0f p50=%.1f p90=%.1f p99=%.1f max=%.1f",
	    conns, done, wrong, errors, (double)(t1 - t0) / 1e9,
	    (double)done / ((double)(t1 - t0) / 1e9), PCT(0.50), PCT(0.90),
	    PCT(0.99), PCT(1.0));
	if (every_ns != 0)
		printf(" rate=%.0f", rate);
	printf("\n");
	for (size_t i = 0; i < conns; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i].req);
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(keys);
	free(cs);
	free(idle);
	free(lat);
	close(ep);
	return wrong || errors ? 1 : 0;
}
