/*
 * resolve: the DNS walk of doc/design.md §4 through getdns, asynchronously on a
 * libevent base, ending in a policy decision.
 *
 * For a domain key: MX -> per host A and AAAA (CNAMEs chased here, since
 * getdns in stub mode does not) -> TLSA at _port._tcp.<expanded name>, then
 * at _port._tcp.<MX name> if that gave no secure TLSA RRset. Hosts run in
 * parallel. For a [host] key the MX stage is skipped. Every answer is
 * validated by getdns itself against the configured trust anchor; the
 * resolver never trusts an upstream's AD bit.
 *
 * Each query has the configured query timeout; the whole job has the lookup
 * deadline, after which unanswered queries count as timeouts and the policy
 * decides on what is known (never weaker than the evidence).
 *
 * The same code serves the daemon (one long-lived context on its event base)
 * and the CLI (a private event base run until the jobs finish).
 *
 * Deliberately not here: caching (store), the decision rules (policy).
 */
#ifndef DANEMAP_RESOLVE_H
#define DANEMAP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "mapkey.h"
#include "answer.h"
#include "policy.h"
#include "sts.h"

struct event_base;
struct resolve_ctx;
struct resolve_job;

/*
 * resolve_ctx_new: a getdns context attached to base, configured from cfg:
 * stub mode to cfg->upstream or recursive mode, trust anchors read from
 * cfg->trust_anchor_file, no /etc/resolv.conf, no zero-config trust-anchor
 * fetch (appdata dir = cfg->state_dir, or a private one). Returns NULL with
 * a message in err on failure. cfg is copied.
 */
struct resolve_ctx *resolve_ctx_new(const struct config *cfg,
    struct event_base *base, char *err, size_t err_size);

/* resolve_ctx_free: cancels and frees every job still running (their
 * callbacks are not called), then the context. NULL is a no-op. */
void resolve_ctx_free(struct resolve_ctx *ctx);

/* resolve_ctx_jobs: number of jobs started and not yet finished. */
size_t resolve_ctx_jobs(const struct resolve_ctx *ctx);

/* Called once when the job's decision is ready, from the event loop, never
 * from inside resolve_start. The callee owns the job and must eventually
 * resolve_job_free it (it may do so inside the callback). */
typedef void resolve_done_fn(struct resolve_job *job, void *arg);

enum resolve_flags {
	RESOLVE_EVIDENCE = 1, /* keep every RRset as text for the CLI */
	RESOLVE_STS = 2,      /* MTA-STS facts after a DANE NOTFOUND */
	RESOLVE_ADDRS = 4,    /* keep each host's addresses (a probe) */
};

/*
 * What the DNS says about a domain's MTA-STS (RFC 8461 §3.1), looked up
 * with RESOLVE_STS when the DANE decision for a domain key (not [host],
 * not a port) is NOTFOUND and the domain exists and has no null MX: the
 * _mta-sts TXT RRset, and the policy host mta-sts.DOMAIN's addresses,
 * validated like every other answer.
 */
#define RESOLVE_STS_ADDRS 8
struct resolve_sts {
	bool asked;
	struct policy_fact txt;
	bool have_id; /* exactly one valid v=STSv1 record */
	char id[STS_ID_MAX + 1];
	const char *txt_why; /* why not, when !have_id (static) */
	struct policy_fact a, aaaa;
	size_t addr_count;
	char addrs[RESOLVE_STS_ADDRS][ANSWER_ADDR_SIZE];
};

/*
 * resolve_start: begin the walk for key (copied). Returns the job, or NULL
 * on memory or getdns failure (errno-style: nothing started, cb not called).
 */
struct resolve_job *resolve_start(struct resolve_ctx *ctx,
    const struct mapkey *key, unsigned flags, resolve_done_fn *cb, void *arg);

/* resolve_job_cancel: stop a running job and free it; its callback is not
 * called. Also valid (same as resolve_job_free) after the callback. */
void resolve_job_cancel(struct resolve_job *job);

/* resolve_job_free: free a finished job. NULL is a no-op. */
void resolve_job_free(struct resolve_job *job);

/* Results, valid until the job is freed. */
const struct mapkey *resolve_job_key(const struct resolve_job *job);
const struct policy_facts *resolve_job_facts(const struct resolve_job *job);
const struct policy_decision *resolve_job_decision(
    const struct resolve_job *job);
/* The MTA-STS facts (asked false unless looked up). */
const struct resolve_sts *resolve_job_sts(const struct resolve_job *job);

/* With RESOLVE_ADDRS, the addresses of facts->hosts[host] (A then AAAA,
 * as answered, at most RESOLVE_HOST_ADDRS): what a probe of the host
 * connects to. NULL with *count 0 if none. */
#define RESOLVE_HOST_ADDRS 16
const char (*resolve_job_host_addrs(const struct resolve_job *job,
    size_t host, size_t *count))[ANSWER_ADDR_SIZE];
/* Wall-clock time from start to decision, in milliseconds. */
double resolve_job_elapsed_ms(const struct resolve_job *job);

/* One query as it happened, for `danemap query -v`. */
struct resolve_evidence {
	char qname[256];
	uint16_t qtype;
	enum policy_transport transport;
	enum policy_dnssec dnssec;
	int rcode; /* -1 if no reply */
	uint32_t ttl;
	struct policy_fact fact; /* as classified */
	char *rdata; /* records as text, one per line; may be NULL */
};

/* resolve_job_evidence: the queries made, in the order they completed.
 * Empty unless RESOLVE_EVIDENCE was given. */
const struct resolve_evidence *
resolve_job_evidence(const struct resolve_job *job, size_t *count);

/* resolve_dnssec_name: "secure", "insecure", "bogus", "indeterminate". */
const char *resolve_dnssec_name(enum policy_dnssec dnssec);

#endif
