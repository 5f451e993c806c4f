/*
 * probe: `danemap probe KEY...` checks that each MX host serves what the
 * key's DANE policy promises (issue 12, first part): the policy exactly
 * as `danemap query` computes it, then for every address of every host
 * with usable TLSA records, in preference order: connect, banner, EHLO,
 * STARTTLS, a TLS handshake verified by OpenSSL's DANE code against the
 * validated TLSA records, QUIT. It never sends mail.
 *
 * One line per address: verified (which TLSA record matched, at which
 * depth of the chain), no-match, no-starttls, handshake-failed or
 * unreachable, and when the certificate expires (flagged within
 * probe_expiry_warn days); with -j one JSON object per key instead.
 * Keys come from the command line and from -f lists (as warm reads
 * them). With -C CERTFILE nothing is connected to: each host's records
 * are checked against that certificate (a rollover about to happen).
 *
 * Exit status, the worst over the keys in the order 75 > 65 > 69 > 0 > 1
 * (66 an unreadable list):
 * 75 the policy is TEMP; 65 a reachable address would fail the policy;
 * 69 nothing fails but some address could not be reached; 0 every
 * probed address satisfies it; 1 no DANE policy, nothing probed.
 *
 * Addresses are probed one at a time, each within PROBE_TIMEOUT_MS.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "elapsed.h"
#include "log.h"
#include "mapkey.h"
#include "policy.h"
#include "resolve.h"
#include "smtpreply.h"
#include "sockmap.h"
#include "tlsa.h"
#include "xalloc.h"

#define PROBE_TIMEOUT_MS 10000
#define PROBE_EX_FAILED 65 /* EX_DATAERR: the server fails the policy */

enum probe_result {
	PROBE_VERIFIED,
	PROBE_NO_MATCH,
	PROBE_NO_STARTTLS,
	PROBE_HANDSHAKE_FAILED,
	PROBE_UNREACHABLE,
};

static const char *const result_names[] = {
	[PROBE_VERIFIED] = "verified",
	[PROBE_NO_MATCH] = "no-match",
	[PROBE_NO_STARTTLS] = "no-starttls",
	[PROBE_HANDSHAKE_FAILED] = "handshake-failed",
	[PROBE_UNREACHABLE] = "unreachable",
};

/* One SMTP connection, plain or (after STARTTLS) through ssl. */
struct smtp_conn {
	int fd;
	SSL *ssl;
	struct timespec started;
	char buf[4096];
	size_t have;
};

static int
remaining_ms(const struct smtp_conn *c)
{
	double left = PROBE_TIMEOUT_MS - elapsed_ms(&c->started);

	return left > 0 ? (int)left : 0;
}

/* Wait until fd is ready for events; -1 at the deadline. */
static int
wait_ready(struct smtp_conn *c, short events)
{
	struct pollfd p = { c->fd, events, 0 };
	int ms, n;

	while ((ms = remaining_ms(c)) > 0) {
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	return -1;
}

/* After an SSL call returned r: 0 once the socket is ready for a retry,
 * -1 if r is an error or the deadline passed. */
static int
ssl_wait(struct smtp_conn *c, int r)
{
	r = SSL_get_error(c->ssl, r);
	if (r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE)
		return -1;
	return wait_ready(c, r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
}

static int
connect_to(struct smtp_conn *c, const char *addr, unsigned port)
{
	struct addrinfo hints, *ai = NULL;
	char service[8];
	int err = 0;
	socklen_t len = sizeof(err);

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(addr, service, &hints, &ai) != 0) {
		errno = EINVAL;
		return -1;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd < 0 ||
	    (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	        errno != EINPROGRESS) ||
	    (wait_ready(c, POLLOUT) != 0 && (errno = ETIMEDOUT)) ||
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
	    (err != 0 && (errno = err))) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

/* Bytes from the server into c->buf; -1 on error, deadline or EOF. */
static int
fill(struct smtp_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, c->buf + c->have,
			    (int)(sizeof(c->buf) - c->have));

			if (r > 0) {
				c->have += (size_t)r;
				return 0;
			}
			if (ssl_wait(c, r) != 0)
				return -1;
			continue;
		}
		n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (n > 0) {
			c->have += (size_t)n;
			return 0;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
		    wait_ready(c, POLLIN) != 0)
			return -1;
	}
}

/* Read one reply into *r; -1 if none came whole. */
static int
read_reply(struct smtp_conn *c, struct smtpreply *r)
{
	const char *why;

	smtpreply_init(r);
	for (;;) {
		size_t used;
		enum smtpreply_status st =
		    smtpreply_feed(r, c->buf, c->have, &used, &why);

		memmove(c->buf, c->buf + used, c->have - used);
		c->have -= used;
		if (st == SMTPREPLY_DONE)
			return 0;
		if (st == SMTPREPLY_ERROR || fill(c) != 0)
			return -1;
	}
}

static int
send_line(struct smtp_conn *c, const char *line)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, line + off, (int)(len - off));

			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			if (ssl_wait(c, r) != 0)
				return -1;
			continue;
		}
		ssize_t n = write(c->fd, line + off, len - off);

		if (n > 0)
			off += (size_t)n;
		else if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
		    wait_ready(c, POLLOUT) != 0)
			return -1;
	}
	return 0;
}

/* An SSL object that verifies host h's certificate by DANE against its
 * usable records rrs[0..n); NULL on failure. */
static SSL *
dane_ssl(SSL_CTX *ctx, const struct policy_host *h,
    const struct tlsa_record *rrs, size_t n)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL || SSL_dane_enable(ssl, h->name) <= 0) {
		SSL_free(ssl);
		return NULL;
	}
	/* RFC 7672 §3.2.2: usage 2 names are the MX host name and, if it
	 * is an alias, its CNAME target; usage 3 is not checked by name */
	if (strcmp(h->expanded, h->name) != 0)
		(void)SSL_add1_host(ssl, h->expanded);
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < n; i++)
		if (tlsa_usable(&rrs[i], NULL))
			(void)SSL_dane_tlsa_add(ssl, rrs[i].usage,
			    rrs[i].selector, rrs[i].mtype, rrs[i].data,
			    rrs[i].len);
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL); /* judged by the caller */
	return ssl;
}

/* The TLS handshake with DANE verification for host against rrs. */
static int
handshake(struct smtp_conn *c, SSL_CTX *ctx, const struct policy_host *h,
    const struct tlsa_record *rrs, size_t n)
{
	int r;

	if ((c->ssl = dane_ssl(ctx, h, rrs, n)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	while ((r = SSL_connect(c->ssl)) != 1)
		if (ssl_wait(c, r) != 0)
			return -1;
	return 0;
}

/* Days from now until the peer certificate's notAfter (negative: past),
 * and the date, into when. */
static int
expiry_days(SSL *ssl, char *when, size_t size)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	int days = 0, secs = 0;
	struct tm tm;

	snprintf(when, size, "?");
	if (cert == NULL)
		return 0;
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) !=
	        1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    strftime(when, size, "%Y-%m-%d", &tm) == 0)
		snprintf(when, size, "?");
	X509_free(cert);
	return days;
}

/* What one address showed. */
struct addr_report {
	enum probe_result result;
	char detail[400];
	bool has_tlsa; /* verified: the record that matched, and where */
	unsigned usage, selector, mtype;
	int depth;
	bool has_cert; /* a certificate was seen: */
	char expires[32];
	int days;
};

/* Probe one address of host h into *rep. */
static void
probe_address(SSL_CTX *ctx, const struct policy_host *h,
    const struct tlsa_record *rrs, size_t n, const char *addr,
    unsigned port, const char *helo, struct addr_report *rep)
{
	struct smtp_conn c = { .fd = -1 };
	struct smtpreply r;
	char line[300];

	memset(rep, 0, sizeof(*rep));
	rep->result = PROBE_HANDSHAKE_FAILED;
	elapsed_start(&c.started);
	if (connect_to(&c, addr, port) != 0) {
		snprintf(rep->detail, sizeof(rep->detail), "connect: %s",
		    strerror(errno));
		rep->result = PROBE_UNREACHABLE;
		goto out;
	}
	snprintf(line, sizeof(line), "EHLO %s\r\n", helo);
	rep->result = PROBE_NO_STARTTLS;
	if (read_reply(&c, &r) != 0 || r.code != 220 ||
	    send_line(&c, line) != 0 || read_reply(&c, &r) != 0 ||
	    r.code != 250) {
		snprintf(rep->detail, sizeof(rep->detail),
		    "the SMTP dialogue failed before STARTTLS");
		goto out;
	}
	if (!r.starttls) {
		snprintf(rep->detail, sizeof(rep->detail),
		    "EHLO does not offer STARTTLS");
		goto out;
	}
	if (send_line(&c, "STARTTLS\r\n") != 0 || read_reply(&c, &r) != 0 ||
	    r.code != 220) {
		snprintf(rep->detail, sizeof(rep->detail), "STARTTLS refused");
		goto out;
	}
	rep->result = PROBE_HANDSHAKE_FAILED;
	if (handshake(&c, ctx, h, rrs, n) != 0) {
		unsigned long e = ERR_get_error();
		const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

		snprintf(rep->detail, sizeof(rep->detail), "%s",
		    why != NULL ? why : "the TLS handshake failed");
		goto out;
	} else {
		long v = SSL_get_verify_result(c.ssl);
		uint8_t usage, selector, mtype;
		const unsigned char *data;
		size_t dlen;

		rep->depth = SSL_get0_dane_tlsa(c.ssl, &usage, &selector,
		    &mtype, &data, &dlen);
		rep->has_cert = true;
		rep->days = expiry_days(c.ssl, rep->expires,
		    sizeof(rep->expires));
		if (v == X509_V_OK && rep->depth >= 0) {
			rep->has_tlsa = true;
			rep->usage = usage;
			rep->selector = selector;
			rep->mtype = mtype;
			snprintf(rep->detail, sizeof(rep->detail),
			    "TLSA %u %u %u matched at depth %d", usage,
			    selector, mtype, rep->depth);
			rep->result = PROBE_VERIFIED;
		} else {
			snprintf(rep->detail, sizeof(rep->detail), "%s",
			    X509_verify_cert_error_string(v));
			rep->result = PROBE_NO_MATCH;
		}
		(void)send_line(&c, "QUIT\r\n");
	}
out:
	if (c.ssl != NULL)
		SSL_free(c.ssl);
	if (c.fd >= 0)
		close(c.fd);
	ERR_clear_error();
}

/*
 * -C: would host h's TLSA records accept chain (leaf first)? Verified
 * offline with the same DANE code a handshake uses; detail says which
 * record matched, or why none did.
 */
static bool
cert_accepted(SSL_CTX *ctx, const struct policy_host *h,
    const struct tlsa_record *rrs, size_t n, STACK_OF(X509) *chain,
    char *detail, size_t size)
{
	SSL *ssl = dane_ssl(ctx, h, rrs, n);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	bool ok = false;

	snprintf(detail, size, "cannot set up the check");
	if (ssl != NULL && store != NULL && vctx != NULL &&
	    X509_STORE_CTX_init(vctx, store, sk_X509_value(chain, 0), chain) ==
	        1 &&
	    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(vctx),
	        SSL_get0_param(ssl)) == 1) {
		uint8_t usage, selector, mtype;
		const unsigned char *data;
		size_t dlen;
		int depth;

		X509_STORE_CTX_set0_dane(vctx, SSL_get0_dane(ssl));
		if (X509_verify_cert(vctx) == 1 &&
		    (depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype,
		         &data, &dlen)) >= 0) {
			snprintf(detail, size, "TLSA %u %u %u matches at depth %d",
			    usage, selector, mtype, depth);
			ok = true;
		} else
			snprintf(detail, size, "%s",
			    X509_verify_cert_error_string(
			        X509_STORE_CTX_get_error(vctx)));
	}
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	SSL_free(ssl);
	ERR_clear_error();
	return ok;
}

/* The certificates of a PEM file, leaf first; NULL if there are none. */
static STACK_OF(X509) *
read_chain(const char *path)
{
	FILE *fp = fopen(path, "re");
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;

	if (fp == NULL || chain == NULL) {
		if (fp != NULL)
			fclose(fp);
		sk_X509_free(chain);
		return NULL;
	}
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(chain, x) <= 0) {
			X509_free(x);
			break;
		}
	fclose(fp);
	ERR_clear_error();
	if (sk_X509_num(chain) == 0) {
		sk_X509_free(chain);
		return NULL;
	}
	return chain;
}

/* s as a JSON string (quoted, escaped). */
static void
json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* One address's line, or its JSON object. */
static void
report_address(const char *host, const char *addr, unsigned port,
    const struct addr_report *rep, unsigned warn_days, bool json,
    bool first)
{
	bool soon = rep->has_cert && rep->days < (int)warn_days;

	if (json) {
		printf("%s{\"host\":", first ? "" : ",");
		json_string(host);
		printf(",\"address\":");
		json_string(addr);
		printf(",\"port\":%u,\"result\":\"%s\",\"detail\":", port,
		    result_names[rep->result]);
		json_string(rep->detail);
		if (rep->has_tlsa)
			printf(",\"tlsa\":\"%u %u %u\",\"depth\":%d",
			    rep->usage, rep->selector, rep->mtype, rep->depth);
		if (rep->has_cert) {
			printf(",\"expires\":");
			json_string(rep->expires);
			printf(",\"days_left\":%d,\"expiring\":%s", rep->days,
			    soon ? "true" : "false");
		}
		putchar('}');
		return;
	}
	printf("  %s[%s]:%u %s: %s", host, addr, port,
	    result_names[rep->result], rep->detail);
	if (rep->has_cert)
		printf("; certificate expires %s (%d days)%s", rep->expires,
		    rep->days, soon ? ", EXPIRES SOON" : "");
	putchar('\n');
}

static void
probe_done(struct resolve_job *job, void *arg)
{
	(void)job;
	event_base_loopbreak(arg);
}

/* The rank of an exit status among keys: the worst wins. */
static int
rank(int status)
{
	switch (status) {
	case EX_TEMPFAIL:
		return 4;
	case PROBE_EX_FAILED:
		return 3;
	case EX_UNAVAILABLE:
		return 2;
	case EX_OK:
		return 1;
	default:
		return 0; /* CLI_EX_NOTFOUND */
	}
}

/* Probe one key; its exit status. */
static int
probe_key(const struct config *cfg, struct event_base *base,
    struct resolve_ctx *rctx, SSL_CTX *sctx, const char *arg,
    const char *helo, bool json, STACK_OF(X509) *chain)
{
	struct mapkey mk;
	struct resolve_job *job;
	const struct policy_decision *d;
	const struct policy_facts *f;
	const char *text;
	enum sockmap_status st;
	char clean[300], payload[POLICY_REASON_MAX + 32];
	int status = CLI_EX_NOTFOUND;
	bool probed = false, failed = false, unreachable = false;

	log_sanitize(clean, sizeof(clean), arg, strlen(arg), 200);
	if (mapkey_parse(arg, strlen(arg), &mk, NULL) != MAPKEY_LOOKUP) {
		if (json) {
			printf("{\"key\":");
			json_string(clean);
			printf(",\"policy\":\"NOTFOUND \",\"status\":%d,"
			       "\"addresses\":[]}\n",
			    CLI_EX_NOTFOUND);
		} else
			printf("%s: NOTFOUND (no DNS lookup for this key)\n",
			    clean);
		return CLI_EX_NOTFOUND;
	}
	job = resolve_start(rctx, &mk, RESOLVE_ADDRS, probe_done, base);
	if (job == NULL) {
		fprintf(stderr, "danemap: cannot start a lookup\n");
		return EX_SOFTWARE;
	}
	event_base_dispatch(base);
	d = resolve_job_decision(job);
	f = resolve_job_facts(job);
	st = policy_reply_words(d, &text);
	if (sockmap_format_payload(payload, sizeof(payload), st, text) < 0)
		snprintf(payload, sizeof(payload), "?");
	if (json) {
		printf("{\"key\":");
		json_string(mk.norm);
		printf(",\"policy\":");
		json_string(payload);
		printf(",\"addresses\":[");
	} else
		printf("%s: %s\n", clean, payload);
	if (d->reply == POLICY_REPLY_DANE_ONLY ||
	    d->reply == POLICY_REPLY_DANE) {
		for (size_t i = 0; i < f->host_count; i++) {
			const struct policy_host *h = &f->hosts[i];
			const struct tlsa_record *rrs = h->tlsa_expanded_count
			    ? h->tlsa_expanded_rrs
			    : h->tlsa_original_rrs;
			size_t n = h->tlsa_expanded_count
			    ? h->tlsa_expanded_count
			    : h->tlsa_original_count;
			const char *why;
			size_t count;
			const char(*addrs)[ANSWER_ADDR_SIZE] =
			    resolve_job_host_addrs(job, i, &count);

			if (policy_host_state(h, &why) != POLICY_HOST_DANE) {
				if (!json)
					printf("  %s: not probed (%s)\n",
					    h->name, why);
				continue;
			}
			if (chain != NULL) { /* -C: no connection */
				char detail[300];
				bool ok = cert_accepted(sctx, h, rrs, n, chain,
				    detail, sizeof(detail));

				printf("  %s: %s: %s\n", h->name,
				    ok ? "accepts" : "rejects", detail);
				probed = true;
				failed |= !ok;
				continue;
			}
			for (size_t a = 0; a < count; a++) {
				struct addr_report rep;

				probe_address(sctx, h, rrs, n, addrs[a],
				    mk.port, helo, &rep);
				report_address(h->name, addrs[a], mk.port, &rep,
				    cfg->probe_expiry_warn, json, !probed);
				probed = true;
				failed |= rep.result != PROBE_VERIFIED &&
				    rep.result != PROBE_UNREACHABLE;
				unreachable |= rep.result == PROBE_UNREACHABLE;
			}
		}
		status = failed ? PROBE_EX_FAILED
		    : unreachable ? EX_UNAVAILABLE
		    : probed      ? EX_OK
		                  : CLI_EX_NOTFOUND;
	} else if (d->reply == POLICY_REPLY_TEMP)
		status = EX_TEMPFAIL;
	if (json)
		printf("],\"status\":%d}\n", status);
	resolve_job_free(job);
	return status;
}

/* Keys from -f lists, collected. */
struct key_list {
	char **keys;
	size_t count;
};

static void
list_key(const char *key, size_t len, void *arg)
{
	struct key_list *l = arg;

	l->keys = xrealloc(l->keys, (l->count + 1) * sizeof(*l->keys));
	l->keys[l->count++] = xstrndup(key, len);
}

int
probe_main(const struct config *cfg, int argc, char **argv)
{
	struct event_base *base = NULL;
	struct resolve_ctx *rctx = NULL;
	SSL_CTX *sctx = NULL;
	struct key_list list = { NULL, 0 };
	char err[512], helo[256];
	int opt, status = CLI_EX_NOTFOUND;
	bool json = false, any = false;
	const char *cert_file = NULL;
	STACK_OF(X509) *chain = NULL;

	optind = 1;
	while ((opt = getopt(argc, argv, "+jf:C:")) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 'C')
			cert_file = optarg;
		else if (opt != 'f' ||
		    cli_read_keys(optarg, list_key, &list, err, sizeof(err)) !=
		        0) {
			if (opt == 'f')
				fprintf(stderr, "danemap: probe: %s\n", err);
			status = opt == 'f' ? EX_NOINPUT : cli_usage(stderr);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if ((argc < 1 && list.count == 0) || (cert_file != NULL && json)) {
		status = cli_usage(stderr);
		goto out;
	}
	if (cert_file != NULL && (chain = read_chain(cert_file)) == NULL) {
		fprintf(stderr, "danemap: probe: %s: no PEM certificate\n",
		    cert_file);
		status = EX_NOINPUT;
		goto out;
	}
	if (cfg->probe_helo[0] != '\0') {
		if (!mapkey_name_valid(cfg->probe_helo,
		        strlen(cfg->probe_helo))) {
			fprintf(stderr,
			    "danemap: probe_helo %s is not a host name\n",
			    cfg->probe_helo);
			status = EX_CONFIG;
			goto out;
		}
		snprintf(helo, sizeof(helo), "%s", cfg->probe_helo);
	} else if (gethostname(helo, sizeof(helo)) != 0 || helo[0] == '\0' ||
	    !mapkey_name_valid(helo, strnlen(helo, sizeof(helo))))
		snprintf(helo, sizeof(helo), "localhost");
	if ((base = event_base_new()) == NULL ||
	    (sctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_dane_enable(sctx) <= 0) {
		fprintf(stderr, "danemap: out of memory\n");
		status = EX_SOFTWARE;
		goto out;
	}
	if ((rctx = resolve_ctx_new(cfg, base, err, sizeof(err))) == NULL) {
		fprintf(stderr, "danemap: %s\n", err);
		status = EX_CONFIG;
		goto out;
	}
	for (size_t i = 0; i < (size_t)argc + list.count; i++) {
		const char *key = i < (size_t)argc ? argv[i]
		                                   : list.keys[i - (size_t)argc];
		int s =
		    probe_key(cfg, base, rctx, sctx, key, helo, json, chain);

		if (!any || rank(s) > rank(status))
			status = s;
		any = true;
	}
	if (fflush(stdout) != 0)
		status = EX_IOERR;
out:
	sk_X509_pop_free(chain, X509_free);
	for (size_t i = 0; i < list.count; i++)
		free(list.keys[i]);
	free(list.keys);
	resolve_ctx_free(rctx);
	SSL_CTX_free(sctx);
	if (base != NULL)
		event_base_free(base);
	return status;
}
