/*
 * target: see target.h.
 */
#include "target.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

int
target_parse(const char *target, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
		    target + 5);
		*len = sizeof(*sun);
		return 0;
	}
	if (strncmp(target, "inet:", 5) == 0) {
		char host[256], *port;
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

		snprintf(host, sizeof(host), "%s", target + 5);
		if ((port = strrchr(host, ':')) == NULL)
			return -1;
		*port++ = '\0';
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			return -1;
		memcpy(ss, ai->ai_addr, ai->ai_addrlen);
		*len = ai->ai_addrlen;
		freeaddrinfo(ai);
		return 0;
	}
	return -1;
}
