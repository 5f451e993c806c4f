/*
 * stsfetch: fetch MTA-STS policy files over HTTPS (RFC 8461 §3.3,
 * doc/design.md §9) with libcurl's multi interface on the caller's
 * libevent loop: a slow policy host never holds up anything else.
 *
 * What a fetch insists on: https://mta-sts.DOMAIN/.well-known/mta-sts.txt
 * only; the certificate verified for mta-sts.DOMAIN against the configured
 * CA file (or the system's store); no redirect followed, no proxy from
 * the environment, no HTTP cache; status 200 only; media type text/plain
 * (parameters ignored); at most 64 KiB of body; done within the timeout.
 * The body is then parsed by sts_policy_parse. The address to connect to
 * is the caller's (from danemap's own resolver), never the system
 * resolver's.
 *
 * Deliberately not here: which address (resolve), caching and when a
 * cached policy still applies, what the reply says (sts).
 */
#ifndef DANEMAP_STSFETCH_H
#define DANEMAP_STSFETCH_H

#include <event2/event.h>
#include <stddef.h>

#include "sts.h"

enum stsfetch_status {
	STSFETCH_OK,      /* a valid policy: result->policy */
	STSFETCH_WEBPKI,  /* the certificate did not verify */
	STSFETCH_HTTP,    /* a status other than 200 (redirects too) */
	STSFETCH_TYPE,    /* not text/plain */
	STSFETCH_TOO_BIG, /* more than 64 KiB */
	STSFETCH_TIMEOUT, /* not done within the timeout */
	STSFETCH_NETWORK, /* no connection, or it broke */
	STSFETCH_INVALID, /* fetched, but not a valid policy */
};
#define STSFETCH_STATUS_COUNT (STSFETCH_INVALID + 1)

struct stsfetch_result {
	enum stsfetch_status status;
	long http_code; /* 0 if none was received */
	char url[320];
	char detail[256]; /* what went wrong, in words ("" when OK) */
	double ms;
	size_t size;              /* body bytes received */
	struct sts_policy policy; /* when STSFETCH_OK */
};

struct stsfetch_ctx;
struct stsfetch;

typedef void stsfetch_cb(const struct stsfetch_result *result, void *arg);

/* stsfetch_ctx_new: fetches on base; ca_file "" for the system's store.
 * NULL with a message in err. */
struct stsfetch_ctx *stsfetch_ctx_new(struct event_base *base,
    const char *ca_file, unsigned timeout_ms, char *err, size_t err_size);

/* stsfetch_ctx_free: cancels every fetch (no callbacks), frees. NULL ok. */
void stsfetch_ctx_free(struct stsfetch_ctx *ctx);

/*
 * stsfetch_start: fetch domain's policy from the policy host at one of
 * addrs[0..n) (IPv4 or IPv6 literals, tried as libcurl tries a name's
 * addresses), port (443 but in tests). cb runs once, from the loop, never
 * from inside this call, after the fetch is freed (cancelling it there is
 * an error); it must not free ctx. NULL if the fetch could not be started
 * (memory, or no address).
 */
struct stsfetch *stsfetch_start(struct stsfetch_ctx *ctx, const char *domain,
    const char *const *addrs, size_t n, unsigned port, stsfetch_cb *cb,
    void *arg);

/* stsfetch_cancel: stop a fetch; its callback will not run. */
void stsfetch_cancel(struct stsfetch *f);

/* stsfetch_status_name: "ok", "webpki", "http", ... for logs. */
const char *stsfetch_status_name(enum stsfetch_status status);

/* stsfetch_tlsrpt_failure: the TLSRPT_README policy_failure value for a
 * failed fetch: sts-webpki-invalid, sts-policy-invalid or
 * sts-policy-fetch-error; NULL for STSFETCH_OK. */
const char *stsfetch_tlsrpt_failure(enum stsfetch_status status);

#endif
