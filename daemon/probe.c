/*
 * probe: `danemap probe KEY...` checks that each MX host serves what the
 * key's policy promises, the policy computed exactly as `danemap query`
 * computes it (keyrun.c: DANE first, then a live MTA-STS fetch). For
 * every address of every host Postfix would try, in preference order
 * (of the families probe_inet_protocols allows): connect, greeting, EHLO,
 * STARTTLS, a TLS handshake, QUIT; never mail.
 *  - DANE (dane-only, dane): OpenSSL's DANE verification against the
 *    host's validated TLSA records (usage 2 with the RFC 7672 §3.2.2
 *    name checks, usage 3 without);
 *  - MTA-STS secure: the chain against the CA store (mta_sts_ca_file,
 *    else the system's), the certificate valid for the MX host's name,
 *    and that name matching one of the policy's mx patterns (RFC 8461
 *    §4.1, §4.2; a host outside them is not connected to).
 *
 * One line per address: verified (for DANE: which TLSA record matched,
 * at which depth), no-match, no-starttls, handshake-failed or
 * unreachable (no connection, or no 220 greeting: a server refusing
 * everyone fails no policy), and when the certificate expires (flagged within
 * probe_expiry_warn days); -v adds the chain as served and the TLSA
 * records, -j prints one JSON object per key instead, -q only the
 * problems, one self-contained line each (for syslog). Keys come from
 * the command line and from -f lists (as warm reads them). With
 * -C CERTFILE nothing is connected to: would each host accept that
 * certificate (a rollover about to happen)?
 *
 * Keys are taken PROBE_BATCH_KEYS at a time: resolved together, then
 * their addresses probed by at most probe_connections threads, each
 * connection within probe_timeout; output stays in key order.
 *
 * Exit status, the worst over the keys in the order 75 > 65 > 69 > 0 > 1
 * (66 an unreadable list): 75 the policy is TEMP; 65 a reachable address
 * would fail the policy; 69 nothing fails but some address could not be
 * reached; 0 every probed address satisfies it; 1 no DANE or MTA-STS
 * policy, nothing probed.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "elapsed.h"
#include "keyrun.h"
#include "log.h"
#include "mapkey.h"
#include "policy.h"
#include "resolve.h"
#include "smtpreply.h"
#include "sockmap.h"
#include "sts.h"
#include "tlsa.h"
#include "xalloc.h"

#define PROBE_EX_FAILED 65 /* EX_DATAERR: the server fails the policy */
#define PROBE_BATCH_KEYS 64
#define PROBE_CHAIN_MAX 8 /* certificates of a served chain shown */

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
	unsigned timeout_ms;
	char buf[4096];
	size_t have;
};

static int
remaining_ms(const struct smtp_conn *c)
{
	double left = c->timeout_ms - elapsed_ms(&c->started);

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
			int r;

			ERR_clear_error(); /* SSL_get_error reads the queue */
			r = SSL_read(c->ssl, c->buf + c->have,
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
			int r;

			ERR_clear_error(); /* SSL_get_error reads the queue */
			r = SSL_write(c->ssl, line + off, (int)(len - off));

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

/* How the addresses of one host are judged. */
struct probe_check {
	SSL_CTX *ctx;
	const struct policy_host *host;
	const struct tlsa_record *rrs; /* DANE: the host's records */
	size_t n;
	const struct sts_policy *sts; /* MTA-STS: the policy, else NULL */
};

/* An SSL object that verifies check's host by DANE against its usable
 * records; NULL on failure. */
static SSL *
dane_ssl(const struct probe_check *chk)
{
	const struct policy_host *h = chk->host;
	/* the TLSA base domain: the CNAME target if the records are there,
	 * else the MX host name (RFC 7672 §2.2.2); OpenSSL sends it as SNI
	 * (§8.1) */
	const char *base =
	    h->tlsa_expanded_count ? h->expanded : h->name;
	const char *other = base == h->name ? h->expanded : h->name;
	SSL *ssl = SSL_new(chk->ctx);

	if (ssl == NULL || SSL_dane_enable(ssl, base) <= 0) {
		SSL_free(ssl);
		return NULL;
	}
	/* RFC 7672 §3.2.2: usage 2 names are the MX host name and, if it
	 * is an alias, its CNAME target; usage 3 is not checked by name */
	if (strcmp(other, base) != 0)
		(void)SSL_add1_host(ssl, other);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < chk->n; i++)
		if (tlsa_usable(&chk->rrs[i], NULL))
			(void)SSL_dane_tlsa_add(ssl, chk->rrs[i].usage,
			    chk->rrs[i].selector, chk->rrs[i].mtype,
			    chk->rrs[i].data, chk->rrs[i].len);
	return ssl;
}

/* An SSL object for an MTA-STS host: the chain against the context's
 * CA store, the certificate valid for the MX host's name (RFC 8461 §4.2:
 * a subjectAltName DNS-ID, never the subject's CN; a wildcard only as
 * the whole left-most label), sent as SNI. */
static SSL *
sts_ssl(const struct probe_check *chk)
{
	SSL *ssl = SSL_new(chk->ctx);

	if (ssl == NULL || SSL_set1_host(ssl, chk->host->name) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
	        X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	(void)SSL_set_tlsext_host_name(ssl, chk->host->name);
	return ssl;
}

/* The SSL object check asks for, leaving the verdict to the caller;
 * setting it up leaves nothing on this thread's error queue. */
static SSL *
check_ssl(const struct probe_check *chk)
{
	SSL *ssl = chk->sts != NULL ? sts_ssl(chk) : dane_ssl(chk);

	ERR_clear_error();
	if (ssl == NULL)
		return NULL;
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	return ssl;
}

/* The policy pattern host matches, NULL if none. */
static const char *
sts_pattern_of(const struct sts_policy *p, const char *host)
{
	for (size_t i = 0; i < p->mx_count; i++)
		if (sts_mx_match(p->mx[i], host))
			return p->mx[i];
	return NULL;
}

/* One certificate as -v shows it. */
struct chain_cert {
	char subject[256];
	char issuer[256];
	char spki[2 * 32 + 1]; /* SHA-256 of the SubjectPublicKeyInfo */
	char not_after[32];
};

/* What one address showed. */
struct addr_report {
	enum probe_result result;
	char detail[400];
	bool has_tlsa; /* verified by DANE: the record that matched, where */
	unsigned usage, selector, mtype;
	int depth;
	bool has_cert; /* a certificate was seen: */
	char expires[32];
	int days;
	size_t chain_count; /* the chain as served, leaf first */
	struct chain_cert chain[PROBE_CHAIN_MAX];
};

/* x's notAfter as YYYY-MM-DD into when, days from now into *days. */
static void
not_after(X509 *x, char *when, size_t size, int *days)
{
	int d = 0, secs = 0;
	struct tm tm;

	if (ASN1_TIME_diff(&d, &secs, NULL, X509_get0_notAfter(x)) != 1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    strftime(when, size, "%Y-%m-%d", &tm) == 0)
		snprintf(when, size, "?");
	/* whole days left, rounded down: expired is fewer than 0 */
	if (days != NULL)
		*days = d - (d <= 0 && secs < 0);
}

static void
describe_cert(X509 *x, struct chain_cert *out)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	X509_NAME_oneline(X509_get_subject_name(x), out->subject,
	    sizeof(out->subject));
	X509_NAME_oneline(X509_get_issuer_name(x), out->issuer,
	    sizeof(out->issuer));
	snprintf(out->spki, sizeof(out->spki), "?");
	if (len > 0 &&
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) ==
	        1)
		for (unsigned int i = 0; i < mdlen && i < 32; i++)
			snprintf(out->spki + 2 * i, 3, "%02x", md[i]);
	OPENSSL_free(der);
	not_after(x, out->not_after, sizeof(out->not_after), NULL);
}

/* The peer's certificate and chain after a handshake, into rep. */
static void
take_certs(SSL *ssl, struct addr_report *rep)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);

	if (cert == NULL)
		return;
	rep->has_cert = true;
	not_after(cert, rep->expires, sizeof(rep->expires), &rep->days);
	X509_free(cert);
	for (int i = 0; chain != NULL && i < sk_X509_num(chain) &&
	     rep->chain_count < PROBE_CHAIN_MAX;
	     i++)
		describe_cert(sk_X509_value(chain, i),
		    &rep->chain[rep->chain_count++]);
}

/* After the handshake: does the server satisfy check? Into rep. */
static void
judge(SSL *ssl, const struct probe_check *chk, struct addr_report *rep)
{
	long v = SSL_get_verify_result(ssl);

	take_certs(ssl, rep);
	if (chk->sts != NULL) {
		rep->result = v == X509_V_OK ? PROBE_VERIFIED : PROBE_NO_MATCH;
		if (v == X509_V_OK)
			snprintf(rep->detail, sizeof(rep->detail),
			    "certificate trusted and valid for %s",
			    chk->host->name);
		else
			snprintf(rep->detail, sizeof(rep->detail),
			    "certificate: %s",
			    X509_verify_cert_error_string(v));
		return;
	}
	{
		uint8_t usage, selector, mtype;
		const unsigned char *data;
		size_t dlen;

		rep->depth = SSL_get0_dane_tlsa(ssl, &usage, &selector,
		    &mtype, &data, &dlen);
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
	}
}

/* Probe one address for chk into *rep, within timeout_ms. */
static void
probe_address(const struct probe_check *chk, const char *addr,
    unsigned port, const char *helo, unsigned timeout_ms,
    struct addr_report *rep)
{
	struct smtp_conn c = { .fd = -1, .timeout_ms = timeout_ms };
	struct smtpreply r;
	char line[300], ebuf[128];
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (chk->sts != NULL && sts_pattern_of(chk->sts, chk->host->name) ==
	        NULL) { /* RFC 8461 §4.1: not a host to deliver to */
		rep->result = PROBE_NO_MATCH;
		snprintf(rep->detail, sizeof(rep->detail),
		    "%s matches no mx pattern of the policy (not connected)",
		    chk->host->name);
		return;
	}
	elapsed_start(&c.started);
	if (connect_to(&c, addr, port) != 0) {
		snprintf(rep->detail, sizeof(rep->detail), "connect: %s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		rep->result = PROBE_UNREACHABLE;
		goto out;
	}
	/* no greeting, or a refusal (421, 554): the server takes no mail
	 * now, which is not the policy's failure; a sender tries the next
	 * MX host, as for an address where nothing listens */
	if ((rc = read_reply(&c, &r)) != 0 || r.code != 220) {
		if (rc == 0)
			snprintf(rep->detail, sizeof(rep->detail),
			    "the greeting is %d, not 220", r.code);
		else if (remaining_ms(&c) == 0)
			snprintf(rep->detail, sizeof(rep->detail),
			    "no SMTP greeting within %u ms", timeout_ms);
		else
			snprintf(rep->detail, sizeof(rep->detail),
			    "no SMTP greeting (the connection closed, or it "
			    "is not SMTP)");
		rep->result = PROBE_UNREACHABLE;
		goto out;
	}
	snprintf(line, sizeof(line), "EHLO %s\r\n", helo);
	rep->result = PROBE_NO_STARTTLS;
	if (send_line(&c, line) != 0 || read_reply(&c, &r) != 0 ||
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
	if ((c.ssl = check_ssl(chk)) == NULL || SSL_set_fd(c.ssl, c.fd) != 1) {
		snprintf(rep->detail, sizeof(rep->detail),
		    "cannot set up TLS");
		goto out;
	}
	while ((ERR_clear_error(), rc = SSL_connect(c.ssl)) != 1)
		if (ssl_wait(&c, rc) != 0) {
			unsigned long e = ERR_get_error();
			const char *why =
			    e != 0 ? ERR_reason_error_string(e) : NULL;

			snprintf(rep->detail, sizeof(rep->detail), "%s",
			    why != NULL ? why : "the TLS handshake failed");
			goto out;
		}
	judge(c.ssl, chk, rep);
	(void)send_line(&c, "QUIT\r\n");
out:
	if (c.ssl != NULL)
		SSL_free(c.ssl);
	if (c.fd >= 0)
		close(c.fd);
	ERR_clear_error();
}

/*
 * -C: would check's host accept chain (leaf first)? Verified offline
 * with the code a handshake uses: DANE against the records, or (MTA-STS)
 * the CA store, the host's name and the policy's patterns. detail says
 * which record matched, or why it is not accepted.
 */
static bool
cert_accepted(const struct probe_check *chk, STACK_OF(X509) *chain,
    char *detail, size_t size)
{
	SSL *ssl = check_ssl(chk);
	X509_STORE *store = chk->sts != NULL
	    ? SSL_CTX_get_cert_store(chk->ctx)
	    : X509_STORE_new();
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	bool ok = false;

	snprintf(detail, size, "cannot set up the check");
	if (chk->sts != NULL && sts_pattern_of(chk->sts, chk->host->name) ==
	        NULL)
		snprintf(detail, size, "%s matches no mx pattern of the policy",
		    chk->host->name);
	else if (ssl != NULL && store != NULL && vctx != NULL &&
	    X509_STORE_CTX_init(vctx, store, sk_X509_value(chain, 0), chain) ==
	        1 &&
	    /* as a TLS client checks a server: its purpose and trust */
	    X509_STORE_CTX_set_default(vctx, "ssl_server") == 1 &&
	    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(vctx),
	        SSL_get0_param(ssl)) == 1) {
		uint8_t usage, selector, mtype;
		const unsigned char *data;
		size_t dlen;
		int depth = -1;

		if (chk->sts == NULL)
			X509_STORE_CTX_set0_dane(vctx, SSL_get0_dane(ssl));
		if (X509_verify_cert(vctx) == 1 &&
		    (chk->sts != NULL ||
		        (depth = SSL_get0_dane_tlsa(ssl, &usage, &selector,
		             &mtype, &data, &dlen)) >= 0)) {
			if (chk->sts != NULL)
				snprintf(detail, size,
				    "trusted and valid for %s",
				    chk->host->name);
			else
				snprintf(detail, size,
				    "TLSA %u %u %u matches at depth %d", usage,
				    selector, mtype, depth);
			ok = true;
		} else
			snprintf(detail, size, "%s",
			    X509_verify_cert_error_string(
			        X509_STORE_CTX_get_error(vctx)));
	}
	X509_STORE_CTX_free(vctx);
	if (chk->sts == NULL)
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

/* ------------------------------------------------------------ a run */

/* What the command was asked for, and what every key shares. */
struct probe_opts {
	const struct config *cfg;
	char helo[256];
	bool json, verbose, quiet;
	STACK_OF(X509) *chain; /* -C: the certificate to check, else NULL */
	SSL_CTX *dane_ctx, *sts_ctx;
};

/* One address to probe, and (once probed) what it showed. */
struct probe_task {
	struct probe_check check;
	const char *addr;
	unsigned port;
	struct addr_report rep;
};

/* What a key's policy asks the probe to do. */
enum key_kind { KEY_NONE, KEY_DANE, KEY_STS, KEY_TEMP };

static enum key_kind
key_kind(const struct keyrun_item *item)
{
	if (item->kind != MAPKEY_LOOKUP)
		return KEY_NONE;
	if (keyrun_sts_enforced(item))
		return KEY_STS;
	switch (resolve_job_decision(item->job)->reply) {
	case POLICY_REPLY_DANE_ONLY:
	case POLICY_REPLY_DANE:
		return KEY_DANE;
	case POLICY_REPLY_TEMP:
		return KEY_TEMP;
	default:
		return KEY_NONE;
	}
}

/*
 * Is host i of item (a DANE or MTA-STS key) probed? Fills chk if so;
 * else *why says why not. Under DANE the hosts with usable TLSA records
 * (the others are not verified by DANE); under MTA-STS every host that
 * has an address.
 */
static bool
host_check(const struct probe_opts *o, const struct keyrun_item *item,
    size_t i, struct probe_check *chk, const char **why)
{
	const struct policy_host *h = &resolve_job_facts(item->job)->hosts[i];
	size_t count;

	memset(chk, 0, sizeof(*chk));
	chk->host = h;
	if (key_kind(item) == KEY_STS) {
		chk->ctx = o->sts_ctx;
		chk->sts = &item->fetch.policy;
		(void)resolve_job_host_addrs(item->job, i, &count);
		*why = "no address";
		return count > 0;
	}
	if (policy_host_state(h, why) != POLICY_HOST_DANE)
		return false;
	chk->ctx = o->dane_ctx;
	chk->rrs = h->tlsa_expanded_count ? h->tlsa_expanded_rrs
	                                  : h->tlsa_original_rrs;
	chk->n = h->tlsa_expanded_count ? h->tlsa_expanded_count
	                                : h->tlsa_original_count;
	return true;
}

/* The addresses of a batch, shared by the probing threads. */
struct pool {
	const struct probe_opts *o;
	struct probe_task *tasks;
	size_t count;
	size_t next; /* under lock */
	pthread_mutex_t lock;
};

static void *
pool_worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->count)
			return NULL;
		probe_address(&p->tasks[i].check, p->tasks[i].addr,
		    p->tasks[i].port, p->o->helo, p->o->cfg->probe_timeout_ms,
		    &p->tasks[i].rep);
	}
}

/* Probe tasks[0..count) with at most probe_connections threads (this
 * one among them). */
static void
probe_all(const struct probe_opts *o, struct probe_task *tasks,
    size_t count)
{
	struct pool p = { o, tasks, count, 0, PTHREAD_MUTEX_INITIALIZER };
	size_t want = count < o->cfg->probe_connections
	    ? count
	    : o->cfg->probe_connections;
	pthread_t *threads = xcalloc(want > 1 ? want - 1 : 1, sizeof(*threads));
	size_t started = 0;

	while (started + 1 < want &&
	    pthread_create(&threads[started], NULL, pool_worker, &p) == 0)
		started++;
	(void)pool_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
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

/* Does rep call for the administrator's attention (-q prints it)? */
static bool
is_problem(const struct probe_opts *o, const struct addr_report *rep)
{
	return rep->result != PROBE_VERIFIED ||
	    (rep->has_cert && rep->days < (int)o->cfg->probe_expiry_warn);
}

/* One address's line (prefixed with the key under -q) and, with -v, its
 * chain; or its JSON object. */
static void
report_address(const struct probe_opts *o, const char *key,
    const struct probe_task *t, bool first)
{
	const struct addr_report *rep = &t->rep;
	const char *host = t->check.host->name;
	bool soon = rep->has_cert &&
	    rep->days < (int)o->cfg->probe_expiry_warn;

	if (o->json) {
		printf("%s{\"host\":", first ? "" : ",");
		json_string(host);
		printf(",\"address\":");
		json_string(t->addr);
		printf(",\"port\":%u,\"result\":\"%s\",\"detail\":", t->port,
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
		if (o->verbose) {
			printf(",\"chain\":[");
			for (size_t i = 0; i < rep->chain_count; i++) {
				const struct chain_cert *c = &rep->chain[i];

				printf("%s{\"subject\":", i ? "," : "");
				json_string(c->subject);
				printf(",\"issuer\":");
				json_string(c->issuer);
				printf(",\"spki_sha256\":\"%s\",\"not_after\":",
				    c->spki);
				json_string(c->not_after);
				putchar('}');
			}
			putchar(']');
		}
		putchar('}');
		return;
	}
	if (o->quiet && !is_problem(o, rep))
		return;
	if (o->quiet)
		printf("%s: %s[%s]:%u %s: %s", key, host, t->addr, t->port,
		    result_names[rep->result], rep->detail);
	else
		printf("  %s[%s]:%u %s: %s", host, t->addr, t->port,
		    result_names[rep->result], rep->detail);
	if (rep->has_cert)
		printf("; certificate expires %s (%d days)%s", rep->expires,
		    rep->days, soon ? ", EXPIRES SOON" : "");
	putchar('\n');
	if (!o->verbose || o->quiet)
		return;
	for (size_t i = 0; i < rep->chain_count; i++) {
		const struct chain_cert *c = &rep->chain[i];

		printf("    certificate %zu: subject %s\n", i, c->subject);
		printf("      issuer %s\n", c->issuer);
		printf("      SPKI SHA-256 %s, not after %s\n", c->spki,
		    c->not_after);
	}
}

/* -v: a DANE host's records (an MTA-STS policy's patterns are in the
 * key's line). */
static void
print_host_verbose(const struct probe_check *chk)
{
	for (size_t i = 0; i < chk->n; i++) {
		const struct tlsa_record *rr = &chk->rrs[i];
		const char *unusable = NULL;

		printf("  %s: TLSA %u %u %u ", chk->host->name, rr->usage,
		    rr->selector, rr->mtype);
		for (size_t b = 0; b < rr->len; b++)
			printf("%02x", rr->data[b]);
		printf("%s%s\n", tlsa_usable(rr, &unusable) ? "" : " unusable: ",
		    tlsa_usable(rr, &unusable) ? "" : unusable);
	}
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

/* An MTA-STS record without a policy behind it (the policy host has no
 * address, or the fetch failed), in words into buf: the key then has no
 * policy to probe, and its domain's senders none to enforce. */
static bool
sts_trouble(const struct keyrun_item *item, char *buf, size_t size)
{
	const struct resolve_sts *sts;
	char clean[300];

	if (item->kind != MAPKEY_LOOKUP)
		return false;
	sts = resolve_job_sts(item->job);
	if (item->fetched && item->fetch.status != STSFETCH_OK) {
		snprintf(buf, size, "MTA-STS policy fetch failed: %s%s%s",
		    stsfetch_status_name(item->fetch.status),
		    item->fetch.detail[0] != '\0' ? ": " : "",
		    log_sanitize(clean, sizeof(clean), item->fetch.detail,
		        strlen(item->fetch.detail), 200));
		return true;
	}
	if (sts->asked && sts->have_id && sts->addr_count == 0) {
		snprintf(buf, size,
		    "MTA-STS record id=%s, but mta-sts.%s has no address",
		    sts->id, item->key.name);
		return true;
	}
	return false;
}

/* The key's output, from its probed tasks (*next: the first of them,
 * moved past them); its exit status. */
static int
report_key(const struct probe_opts *o, const struct keyrun_item *item,
    const struct probe_task *tasks, size_t *next)
{
	enum key_kind kind = key_kind(item);
	const struct policy_facts *f;
	char clean[300], payload[STS_REPLY_MAX + 8], trouble[400];
	bool probed = false, failed = false, unreachable = false;
	int status;

	log_sanitize(clean, sizeof(clean), item->arg, strlen(item->arg), 200);
	if (item->kind != MAPKEY_LOOKUP)
		snprintf(payload, sizeof(payload), "NOTFOUND ");
	else if (keyrun_reply(item, payload, sizeof(payload)) != 0)
		snprintf(payload, sizeof(payload), "?");
	if (o->json) {
		printf("{\"key\":");
		json_string(item->kind == MAPKEY_LOOKUP ? item->key.norm
		                                        : clean);
		printf(",\"policy\":");
		json_string(payload);
		printf(",\"addresses\":[");
	} else if (o->quiet) {
		if (kind == KEY_TEMP)
			printf("%s: %s\n", clean, payload);
	} else if (item->kind != MAPKEY_LOOKUP)
		printf("%s: NOTFOUND (no DNS lookup for this key)\n", clean);
	else
		printf("%s: %s\n", clean, payload);
	if (sts_trouble(item, trouble, sizeof(trouble))) {
		if (o->json) {
			/* after the addresses, which are none */
		} else if (o->quiet)
			printf("%s: %s\n", clean, trouble);
		else
			printf("  %s\n", trouble);
	} else
		trouble[0] = '\0';
	if (kind == KEY_DANE || kind == KEY_STS) {
		f = resolve_job_facts(item->job);
		for (size_t i = 0; i < f->host_count; i++) {
			struct probe_check chk;
			const char *why;
			char detail[300];
			bool ok;

			if (!host_check(o, item, i, &chk, &why)) {
				if (!o->json && !o->quiet)
					printf("  %s: not probed (%s)\n",
					    chk.host->name, why);
				continue;
			}
			if (o->verbose && !o->json && !o->quiet)
				print_host_verbose(&chk);
			if (o->chain == NULL) {
				for (; tasks[*next].check.host == chk.host;
				     (*next)++) {
					const struct addr_report *rep =
					    &tasks[*next].rep;

					report_address(o, clean, &tasks[*next],
					    !probed);
					probed = true;
					failed |= rep->result != PROBE_VERIFIED &&
					    rep->result != PROBE_UNREACHABLE;
					unreachable |=
					    rep->result == PROBE_UNREACHABLE;
				}
				continue;
			}
			/* -C: no connection */
			ok = cert_accepted(&chk, o->chain, detail,
			    sizeof(detail));
			if (o->quiet && !ok)
				printf("%s: %s: rejects: %s\n", clean,
				    chk.host->name, detail);
			else if (!o->quiet)
				printf("  %s: %s: %s\n", chk.host->name,
				    ok ? "accepts" : "rejects", detail);
			probed = true;
			failed |= !ok;
		}
	}
	status = kind == KEY_TEMP ? EX_TEMPFAIL
	    : failed              ? PROBE_EX_FAILED
	    : unreachable         ? EX_UNAVAILABLE
	    : probed              ? EX_OK
	                          : CLI_EX_NOTFOUND;
	if (o->json) {
		printf("]");
		if (trouble[0] != '\0') {
			printf(",\"mta_sts_problem\":");
			json_string(trouble);
		}
		printf(",\"status\":%d}\n", status);
	}
	return status;
}

/* Is addr of a family probe_inet_protocols lets the probe connect to?
 * (As Postfix's inet_protocols: the others are left out, not failed.) */
static bool
family_wanted(const struct config *cfg, const char *addr)
{
	bool v6 = strchr(addr, ':') != NULL;

	return cfg->probe_inet_protocols == CONFIG_INET_ALL ||
	    (cfg->probe_inet_protocols == CONFIG_INET_IPV6) == v6;
}

/* Resolve, probe and report items[0..n); the worst exit status (or an
 * error's). */
static int
probe_batch(const struct probe_opts *o, struct keyrun *run,
    struct keyrun_item *items, size_t n)
{
	struct probe_task *tasks = NULL;
	size_t count = 0, cap = 0, next = 0;
	char err[512];
	int status = CLI_EX_NOTFOUND, s;

	if ((s = keyrun_resolve(run, items, n, RESOLVE_ADDRS, err,
	         sizeof(err))) != 0) {
		fprintf(stderr, "danemap: %s\n", err);
		return s;
	}
	for (size_t k = 0; k < n && o->chain == NULL; k++) {
		enum key_kind kind = key_kind(&items[k]);
		const struct policy_facts *f;

		if (kind != KEY_DANE && kind != KEY_STS)
			continue;
		f = resolve_job_facts(items[k].job);
		for (size_t i = 0; i < f->host_count; i++) {
			struct probe_check chk;
			const char *why;
			size_t na;
			const char(*addrs)[ANSWER_ADDR_SIZE] =
			    resolve_job_host_addrs(items[k].job, i, &na);

			if (!host_check(o, &items[k], i, &chk, &why))
				continue;
			for (size_t a = 0; a < na; a++) {
				if (!family_wanted(o->cfg, addrs[a]))
					continue;
				if (count == cap) {
					cap = cap ? 2 * cap : 16;
					tasks = xrealloc(tasks,
					    cap * sizeof(*tasks));
				}
				tasks[count].check = chk;
				tasks[count].addr = addrs[a];
				tasks[count].port = items[k].key.port;
				count++;
			}
		}
	}
	/* a sentinel: report_key stops at a task of another host */
	tasks = xrealloc(tasks, (count + 1) * sizeof(*tasks));
	memset(&tasks[count], 0, sizeof(tasks[count]));
	probe_all(o, tasks, count);
	for (size_t k = 0; k < n; k++) {
		s = report_key(o, &items[k], tasks, &next);
		if (k == 0 || rank(s) > rank(status))
			status = s;
	}
	free(tasks);
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

/* The contexts: DANE's, and (mta_sts = yes) MTA-STS's with the CA store
 * policy fetches use (mta_sts_ca_file, else the system's). 0, or an exit
 * status. */
static int
make_contexts(struct probe_opts *o)
{
	const char *ca = o->cfg->mta_sts_ca_file;

	if ((o->dane_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_dane_enable(o->dane_ctx) <= 0 ||
	    (o->cfg->mta_sts &&
	        (o->sts_ctx = SSL_CTX_new(TLS_client_method())) == NULL)) {
		fprintf(stderr, "danemap: out of memory\n");
		return EX_SOFTWARE;
	}
	if (o->sts_ctx != NULL &&
	    (ca[0] != '\0'
	            ? SSL_CTX_load_verify_locations(o->sts_ctx, ca, NULL)
	            : SSL_CTX_set_default_verify_paths(o->sts_ctx)) != 1) {
		fprintf(stderr, "danemap: mta_sts_ca_file %s: cannot read it\n",
		    ca);
		ERR_clear_error();
		return EX_CONFIG;
	}
	return 0;
}

int
probe_main(const struct config *cfg, int argc, char **argv)
{
	struct event_base *base = NULL;
	struct keyrun run = { .cfg = cfg };
	struct keyrun_item *items = NULL;
	struct probe_opts o = { .cfg = cfg };
	struct key_list list = { NULL, 0 };
	char err[512];
	int opt, status = CLI_EX_NOTFOUND;
	const char *cert_file = NULL;
	size_t total;

	/* a server that resets the connection must not end the run */
	signal(SIGPIPE, SIG_IGN);
	optind = 1;
	while ((opt = getopt(argc, argv, "+jqvf:C:")) != -1) {
		if (opt == 'j')
			o.json = true;
		else if (opt == 'q')
			o.quiet = true;
		else if (opt == 'v')
			o.verbose = true;
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
	total = (size_t)argc + list.count;
	if (total == 0 || (cert_file != NULL && o.json) ||
	    (o.quiet && (o.json || o.verbose))) {
		status = cli_usage(stderr);
		goto out;
	}
	if (cert_file != NULL && (o.chain = read_chain(cert_file)) == NULL) {
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
		snprintf(o.helo, sizeof(o.helo), "%s", cfg->probe_helo);
	} else if (gethostname(o.helo, sizeof(o.helo)) != 0 ||
	    o.helo[0] == '\0' ||
	    !mapkey_name_valid(o.helo, strnlen(o.helo, sizeof(o.helo))))
		snprintf(o.helo, sizeof(o.helo), "localhost");
	if ((status = make_contexts(&o)) != 0)
		goto out;
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "danemap: out of memory\n");
		status = EX_SOFTWARE;
		goto out;
	}
	run.base = base;
	items = xcalloc(PROBE_BATCH_KEYS, sizeof(*items));
	for (size_t first = 0; first < total; first += PROBE_BATCH_KEYS) {
		size_t n = total - first < PROBE_BATCH_KEYS ? total - first
		                                            : PROBE_BATCH_KEYS;
		int s;

		memset(items, 0, PROBE_BATCH_KEYS * sizeof(*items));
		for (size_t i = 0; i < n; i++)
			items[i].arg = first + i < (size_t)argc
			    ? argv[first + i]
			    : list.keys[first + i - (size_t)argc];
		s = probe_batch(&o, &run, items, n);
		keyrun_items_free(items, n);
		if (s == EX_CONFIG || s == EX_SOFTWARE) {
			status = s;
			goto out;
		}
		if (first == 0 || rank(s) > rank(status))
			status = s;
		if (fflush(stdout) != 0) {
			status = EX_IOERR;
			goto out;
		}
	}
out:
	free(items);
	sk_X509_pop_free(o.chain, X509_free);
	for (size_t i = 0; i < list.count; i++)
		free(list.keys[i]);
	free(list.keys);
	keyrun_free(&run);
	SSL_CTX_free(o.dane_ctx);
	SSL_CTX_free(o.sts_ctx);
	if (base != NULL)
		event_base_free(base);
	return status;
}
