/*
 * smfixed: the least a socketmap server can do, for benchmarks.
 *
 *   smfixed unix:PATH|inet:HOST:PORT [REPLY]
 *
 * Answers every complete request (netstring, decoded with the same
 * lib/netstring as danemapd) with the fixed REPLY (default
 * "OK dane-only"), on one thread with epoll. What smload measures against
 * it is the protocol round-trip limit of the machine; danemapd's cached
 * throughput is reported as a fraction of it. Runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "netstring.h"
#include "target.h"

struct client {
	int fd;
	char buf[16384];
	size_t have;
};

static int
listen_on(const char *target)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (target_parse(target, &ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_UNIX)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, 1024) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *text = argc > 2 ? argv[2] : "OK dane-only";
	char reply[256];
	long reply_len;
	struct rlimit rl;
	int lfd, ep;
	struct epoll_event ev = { .events = EPOLLIN };

	if (argc < 2) {
		fputs("usage: smfixed unix:PATH|inet:HOST:PORT [REPLY]\n",
		    stderr);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	reply_len = netstring_encode(reply, sizeof(reply), text, strlen(text));
	if ((lfd = listen_on(argv[1])) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "smfixed: %s: %s\n", argv[1], strerror(errno));
		return 71;
	}
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);

		for (int e = 0; e < n; e++) {
			struct client *c = evs[e].data.ptr;
			const char *payload;
			size_t plen, used, off = 0;
			ssize_t r;

			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				if (fd < 0)
					continue;
				if ((c = calloc(1, sizeof(*c))) == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			r = read(c->fd, c->buf + c->have,
			    sizeof(c->buf) - c->have);
			if (r <= 0) {
				close(c->fd);
				free(c);
				continue;
			}
			c->have += (size_t)r;
			while (
			    netstring_decode(c->buf + off, c->have - off, 10000,
			        &payload, &plen, &used) == NETSTRING_DONE) {
				if (write(c->fd, reply, (size_t)reply_len) !=
				    reply_len)
					break;
				off += used;
			}
			memmove(c->buf, c->buf + off, c->have - off);
			c->have -= off;
		}
	}
}
