/*
 * controlcmd: `danemap flush` and `danemap stats` ask the running danemapd
 * over its control socket (control_socket in danemap.conf; lib/control
 * says what is sent). Only root and the daemon's user may: the daemon
 * checks.
 *
 *   danemap flush KEY...         the daemon looks these keys up again
 *   danemap flush -f FILE...     the keys of FILE (one a line; - is stdin)
 *   danemap flush --all          every key
 *   danemap stats                the counters, "name{label} value" lines
 *
 * Exit status: 0 done; 69 no daemon on the socket (or none configured);
 * 77 refused; 75 the daemon is busy (too many control connections); 65
 * the daemon found a key it does not look up (nothing of that request was
 * flushed); 76 the reply was not one; 74 output failed.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "mapkey.h"
#include "netstring.h"

/* The longest reply read (the counters are a few KiB). */
#define REPLY_MAX (1 << 20)
/* How long the daemon may take to answer, in milliseconds. */
#define REPLY_WAIT_MS 30000

static int
control_connect(const struct config *cfg)
{
	const char *path = cfg->control_socket.path;
	struct sockaddr_un sun;
	int fd;

	if (path[0] == '\0') {
		fprintf(stderr,
		    "danemap: control_socket is not set in the configuration: "
		    "the daemon has no control socket\n");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "danemap: %s: %s%s\n", path, strerror(errno),
		    errno == EACCES ? " (run as root or the daemon's user)"
		                    : " (is danemapd running?)");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One request, one reply: *ok and the reply's text (NUL-terminated, the
 * caller frees *text). Returns 0, or an exit status with a message
 * printed.
 */
static int
control_ask(int fd, const char *payload, size_t len, bool *ok, char **text)
{
	char *frame = malloc(len + 32), *in = malloc(REPLY_MAX + 32);
	size_t have = 0, plen, used, tlen;
	const char *p, *t;
	long flen;
	int status = EX_PROTOCOL, send_errno = 0;

	*text = NULL;
	if (frame == NULL || in == NULL) {
		fprintf(stderr, "danemap: out of memory\n");
		status = EX_OSERR;
		goto out;
	}
	flen = netstring_encode(frame, len + 32, payload, len);
	/* A refusal is sent at once, and the connection closed: a request
	 * that could not be sent may still have its reply waiting. */
	if (flen < 0 || send_all(fd, frame, (size_t)flen) != 0)
		send_errno = flen < 0 ? EMSGSIZE : errno;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		enum netstring_status st =
		    netstring_decode(in, have, REPLY_MAX, &p, &plen, &used);
		ssize_t n;

		if (st == NETSTRING_DONE)
			break;
		if (st != NETSTRING_NEED_MORE) {
			fprintf(stderr,
			    "danemap: bad reply from danemapd: %s\n",
			    netstring_status_text(st));
			goto out;
		}
		if (poll(&pfd, 1, REPLY_WAIT_MS) == 0) {
			fprintf(stderr,
			    "danemap: danemapd did not answer "
			    "within %d s\n",
			    REPLY_WAIT_MS / 1000);
			status = EX_UNAVAILABLE;
			goto out;
		}
		n = recv(fd, in + have, REPLY_MAX + 32 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 && send_errno != 0) {
			fprintf(stderr,
			    "danemap: cannot send to danemapd: %s\n",
			    strerror(send_errno));
			status = EX_UNAVAILABLE;
			goto out;
		}
		if (n <= 0) {
			fprintf(stderr,
			    "danemap: danemapd closed the connection before "
			    "its reply%s%s\n",
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			goto out;
		}
		have += (size_t)n;
	}
	if (!control_reply_parse(p, plen, ok, &t, &tlen)) {
		fprintf(stderr,
		    "danemap: danemapd sent something that is not a "
		    "reply\n");
		goto out;
	}
	if ((*text = malloc(tlen + 1)) == NULL) {
		fprintf(stderr, "danemap: out of memory\n");
		status = EX_OSERR;
		goto out;
	}
	memcpy(*text, t, tlen);
	(*text)[tlen] = '\0';
	status = 0;
out:
	free(frame);
	free(in);
	return status;
}

/* A refusal is EX_NOPERM, a busy daemon EX_TEMPFAIL, any other ERR is
 * about the request. */
static int
reply_status(bool ok, const char *text)
{
	if (ok)
		return EX_OK;
	fprintf(stderr, "danemap: %s\n", text);
	if (strncmp(text, "permission denied", 17) == 0)
		return EX_NOPERM;
	return strncmp(text, "busy", 4) == 0 ? EX_TEMPFAIL : EX_DATAERR;
}

int
stats_main(const struct config *cfg, int argc, char **argv)
{
	char *text = NULL, *line, *save = NULL;
	bool ok;
	int fd, status;

	(void)argv;
	if (argc != 1)
		return cli_usage(stderr);
	if ((fd = control_connect(cfg)) < 0)
		return EX_UNAVAILABLE;
	status = control_ask(fd, "stats", 5, &ok, &text);
	close(fd);
	if (status != 0)
		return status;
	if ((status = reply_status(ok, text)) == EX_OK)
		/* the samples; the HELP and TYPE lines are for Prometheus */
		for (line = strtok_r(text, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			if (line[0] != '#')
				puts(line);
	free(text);
	return status;
}

/* The keys of a flush, space-separated, all read before any is sent. */
struct flush_keys {
	char *buf;
	size_t len, cap;
	bool bad;
};

static void
flush_add(const char *key, size_t len, void *arg)
{
	struct flush_keys *k = arg;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] <= ' ' ||
		    (unsigned char)key[i] >= 0x7f) {
			fprintf(stderr,
			    "danemap: \"%.*s\" is not a key: white space or "
			    "a byte that is not printable ASCII\n",
			    (int)(len < 200 ? len : 200), key);
			k->bad = true;
			return;
		}
	if (len == 0 || k->bad)
		return;
	if (len > MAPKEY_NORM_MAX + 1) {
		fprintf(stderr,
		    "danemap: \"%.200s...\" is too long to be a "
		    "key\n",
		    key);
		k->bad = true;
		return;
	}
	if (k->len + len + 1 > k->cap) {
		size_t cap = k->cap > 0 ? k->cap * 2 : 4096;
		char *grown;

		while (cap < k->len + len + 1)
			cap *= 2;
		if ((grown = realloc(k->buf, cap)) == NULL) {
			fprintf(stderr, "danemap: out of memory\n");
			k->bad = true;
			return;
		}
		k->buf = grown;
		k->cap = cap;
	}
	if (k->len > 0)
		k->buf[k->len++] = ' ';
	memcpy(k->buf + k->len, key, len);
	k->len += len;
}

/* Send payload, print the reply's text: 0 or an exit status. */
static int
flush_ask(int fd, const char *payload, size_t len)
{
	char *text;
	bool ok;
	int status = control_ask(fd, payload, len, &ok, &text);

	if (status != 0)
		return status;
	if ((status = reply_status(ok, text)) == EX_OK)
		printf("%s\n", text);
	free(text);
	return status;
}

/* The keys in requests of at most CONTROL_REQUEST_MAX bytes, each cut at
 * a space; stops at the first failure. */
static int
flush_keys_send(int fd, const struct flush_keys *k)
{
	static char req[CONTROL_REQUEST_MAX];
	size_t pos = 0;
	int status = 0;

	while (status == 0 && pos < k->len) {
		size_t room = sizeof(req) - 6, n = k->len - pos;

		if (n > room) { /* cut after the last whole key that fits */
			n = room;
			while (n > 0 && k->buf[pos + n] != ' ')
				n--;
		}
		memcpy(req, "flush ", 6);
		memcpy(req + 6, k->buf + pos, n);
		status = flush_ask(fd, req, n + 6);
		pos += n + 1;
	}
	return status;
}

int
flush_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct flush_keys k = { NULL, 0, 0, false };
	const char *files[64];
	size_t nfiles = 0;
	bool all = false;
	char err[1100];
	int opt, fd, status;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+af:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'f':
			if (nfiles == sizeof(files) / sizeof(files[0])) {
				fprintf(stderr, "danemap: too many -f files\n");
				return EX_USAGE;
			}
			files[nfiles++] = optarg;
			break;
		default:
			return cli_usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (all == (argc > 0 || nfiles > 0))
		return cli_usage(stderr); /* --all, or keys: one of them */
	for (int i = 0; i < argc; i++)
		flush_add(argv[i], strlen(argv[i]), &k);
	for (size_t i = 0; i < nfiles; i++)
		if (cli_read_keys(files[i], flush_add, &k, err, sizeof(err)) !=
		    0) {
			fprintf(stderr, "danemap: %s\n", err);
			free(k.buf);
			return EX_NOINPUT;
		}
	if (k.bad || (!all && k.len == 0)) {
		if (!k.bad)
			fprintf(stderr, "danemap: no key to flush\n");
		free(k.buf);
		return EX_DATAERR; /* nothing sent */
	}
	if ((fd = control_connect(cfg)) < 0) {
		free(k.buf);
		return EX_UNAVAILABLE;
	}
	status = all ? flush_ask(fd, "flush-all", 9) : flush_keys_send(fd, &k);
	close(fd);
	free(k.buf);
	return status;
}
