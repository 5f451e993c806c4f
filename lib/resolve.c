/*
 * resolve: the asynchronous MX -> A/AAAA -> TLSA walk through getdns (see
 * resolve.h), built around the getdns 1.6.0 traps of doc/design.md §5:
 *  - dnssec_return_all_statuses, or bogus replies vanish into NO_NAME;
 *  - the DNSSEC status is read before the rcode (policy_classify), since a
 *    SERVFAIL arrives labelled "insecure";
 *  - CNAME chains that end without data are chased here, bounded;
 *  - RRSIGs in the answer section are skipped by type;
 *  - no OS settings, no zero-config trust-anchor fetch;
 *  - getdns_fp2rr_list with origin "." fails at random: origin NULL;
 *  - getdns' own query timeout, driven by its libevent adapter, leaves
 *    freed request memory behind that a later event reads (valgrind shows
 *    it under load; getdns issue #507 is the same family). So getdns is
 *    given a timeout it never reaches, and each query's timeout is a
 *    libevent timer of ours that cancels the query instead;
 *  - its fallback to TCP after a truncated UDP answer breaks when several
 *    queries fall back at once under the libevent adapter: it closes the
 *    UDP socket, then adds an event for the closed descriptor ("Epoll ADD
 *    ... Bad file descriptor"), and the query hangs until cancelled, when
 *    it closes that descriptor number again, whoever holds it by then.
 *    So stub queries go over TCP by default (transport = tcp): one
 *    connection to the upstream, kept open and pipelined; no truncation.
 *
 * Ownership: a job owns its queries (struct rquery), host facts and TLSA
 * data. Each in-flight query is the getdns user argument; it is freed by
 * query_done() when it completes, or by the CANCEL callback that
 * getdns_cancel_callback() delivers when we stop it. Everything borrowed
 * from a getdns dict is copied before the dict is destroyed.
 */
#include "resolve.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "answer.h"
#include "dnsloop.h"
#include "elapsed.h"

/* A hostile MX RRset must not fan out without bound. */
#define RESOLVE_MAX_HOSTS 32
/* How long the TCP connection to an upstream stays open when idle. */
#define RESOLVE_TCP_IDLE_MS 10000

enum rq_kind {
	RQ_MX,
	RQ_A,
	RQ_AAAA,
	RQ_TLSA_EXPANDED,
	RQ_TLSA_ORIGINAL,
	RQ_STS_TXT,
	RQ_STS_A,
	RQ_STS_AAAA,
};

struct rquery {
	struct resolve_job *job;
	LIST_ENTRY(rquery) link; /* the job's in-flight list */
	enum rq_kind kind;
	size_t host;
	uint16_t qtype;
	getdns_transaction_t tid;
	struct event *timer;          /* our per-query timeout */
	char qname[ANSWER_NAME_SIZE]; /* name asked in the current step */
	unsigned steps;               /* CNAME steps followed so far */
	struct policy_fact chain;
};

struct rhost {
	char name[ANSWER_NAME_SIZE];
	char expanded[ANSWER_NAME_SIZE];
	struct tlsa_record *rrs[2]; /* [0] expanded, [1] original */
	size_t count[2];
	unsigned addr_pending;
	/* with RESOLVE_ADDRS: its addresses, A then AAAA as they came
	 * (RESOLVE_HOST_ADDRS of them, allocated with the first) */
	char (*addrs)[ANSWER_ADDR_SIZE];
	size_t addr_count;
};

struct resolve_ctx {
	getdns_context *gd;
	struct dnsloop *loop; /* outlives gd: see dnsloop.h */
	struct event_base *base;
	getdns_dict *extensions;
	unsigned max_cname_depth;
	unsigned deadline_ms;
	unsigned query_timeout_ms;
	LIST_HEAD(, resolve_job) jobs; /* running: not yet delivered */
	size_t job_count;
};

struct resolve_job {
	struct resolve_ctx *ctx;
	LIST_ENTRY(resolve_job) link; /* ctx->jobs while running */
	bool running;
	struct mapkey key;
	unsigned flags;
	resolve_done_fn *cb;
	void *cb_arg;
	LIST_HEAD(, rquery) queries; /* in flight */
	size_t pending;
	unsigned busy; /* inside getdns_general: see query_send */
	bool decided;
	struct event *deadline_ev;
	struct event *finish_ev;
	struct policy_facts facts;
	struct policy_host *hosts;
	struct rhost *rhosts;
	struct policy_decision decision;
	struct timespec started;
	double elapsed_ms;
	struct resolve_evidence *evidence;
	size_t evidence_count, evidence_cap;
	struct resolve_sts sts;
	bool dane_decided;  /* decision holds DANE's verdict */
	bool deadline_hit;  /* nothing new starts after the deadline */
};

static void query_done(getdns_context *gd, getdns_callback_type_t type,
    getdns_dict *response, void *arg, getdns_transaction_t tid);

/* ------------------------------------------------------------ evidence */

static char *
answer_text(getdns_list *answer)
{
	size_t n = 0, used = 0, cap = 0;
	char *text = NULL;

	if (answer != NULL)
		(void)getdns_list_get_length(answer, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;
		char *line = NULL;
		size_t len;

		if (getdns_list_get_dict(answer, i, &rr) !=
		        GETDNS_RETURN_GOOD ||
		    answer_rr_type(rr) == GETDNS_RRTYPE_RRSIG ||
		    getdns_rr_dict2str(rr, &line) != GETDNS_RETURN_GOOD ||
		    line == NULL)
			continue;
		len = strlen(line);
		while (
		    len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
			len--;
		if (used + len + 2 > cap) {
			size_t ncap = (used + len + 2) * 2;
			char *grown = realloc(text, ncap);

			if (grown == NULL) {
				free(line);
				break;
			}
			text = grown;
			cap = ncap;
		}
		memcpy(text + used, line, len);
		used += len;
		text[used++] = '\n';
		text[used] = '\0';
		free(line);
	}
	return text;
}

static void
add_evidence(struct resolve_job *job, const struct rquery *q,
    const struct answer_view *v, const struct policy_fact *fact)
{
	struct resolve_evidence *e;

	if (!(job->flags & RESOLVE_EVIDENCE))
		return;
	if (job->evidence_count == job->evidence_cap) {
		size_t ncap = job->evidence_cap ? job->evidence_cap * 2 : 16;
		struct resolve_evidence *grown =
		    realloc(job->evidence, ncap * sizeof(*grown));

		if (grown == NULL)
			return; /* evidence is best effort */
		job->evidence = grown;
		job->evidence_cap = ncap;
	}
	e = &job->evidence[job->evidence_count++];
	memset(e, 0, sizeof(*e));
	snprintf(e->qname, sizeof(e->qname), "%s", q->qname);
	e->qtype = q->qtype;
	e->fact = *fact;
	e->transport = v->transport;
	e->dnssec = v->dnssec;
	e->rcode = v->rcode;
	e->ttl = v->ttl;
	e->rdata = answer_text(v->answer);
}

/* ------------------------------------------------------------ the walk */

static void job_maybe_finish(struct resolve_job *job);
static void query_complete(struct resolve_job *job, struct rquery *q,
    const struct answer_view *v);

/* Fold one step's fact into the query's CNAME chain. */
static void
fold_step(struct rquery *q, const struct policy_fact *step)
{
	if (q->steps == 0)
		q->chain = *step;
	else
		policy_fact_chain(&q->chain, step);
}

static void
unlink_query(struct resolve_job *job, struct rquery *q)
{
	LIST_REMOVE(q, link);
	job->pending--;
}

static struct policy_fact *
query_fact(struct resolve_job *job, enum rq_kind kind, size_t host)
{
	switch (kind) {
	case RQ_MX:
		return &job->facts.mx;
	case RQ_A:
		return &job->hosts[host].a;
	case RQ_AAAA:
		return &job->hosts[host].aaaa;
	case RQ_TLSA_EXPANDED:
		return &job->hosts[host].tlsa_expanded;
	case RQ_STS_TXT:
		return &job->sts.txt;
	case RQ_STS_A:
		return &job->sts.a;
	case RQ_STS_AAAA:
		return &job->sts.aaaa;
	case RQ_TLSA_ORIGINAL:
	default:
		return &job->hosts[host].tlsa_original;
	}
}

/*
 * A step of q that got no reply: our timeout (POLICY_TRANSPORT_TIMEOUT),
 * or getdns would not send it (POLICY_TRANSPORT_ERROR, treated like a
 * network error). It is noted as evidence and folded into q's chain; *v
 * is set to the reply it stands for, ending at q's name.
 */
static void
step_failed(struct resolve_job *job, struct rquery *q,
    enum policy_transport transport, struct answer_view *v)
{
	struct policy_fact step;

	memset(v, 0, sizeof(*v));
	v->transport = transport;
	v->dnssec = POLICY_DNSSEC_INDETERMINATE;
	v->rcode = -1;
	snprintf(v->end, sizeof(v->end), "%s", q->qname);
	step = policy_classify(v->transport, v->dnssec, v->rcode, false, 0);
	add_evidence(job, q, v, &step);
	fold_step(q, &step);
}

/* A lookup whose result could not be kept (out of memory): failed. */
static void
fail_fact(struct policy_fact *fact)
{
	*fact = policy_classify(POLICY_TRANSPORT_ERROR,
	    POLICY_DNSSEC_INDETERMINATE, -1, false, 0);
}

static void query_timed_out(evutil_socket_t fd, short what, void *arg);

/* The one place an rquery is freed. */
static void
query_release(struct rquery *q)
{
	if (q->timer != NULL)
		event_free(q->timer);
	free(q);
}

/*
 * Send one step of a query, with its timeout. Returns 0, or -1 if getdns
 * refused it (q is still ours then, its timer stopped).
 *
 * In recursive mode getdns answers from libunbound's cache *inside*
 * getdns_general: query_done runs, and frees q, before the call returns.
 * So the timer is armed first and q is not touched after a successful
 * call; and the job is held (busy) meanwhile, so that a nested completion
 * cannot decide the job while the caller is still starting queries.
 */
static int
query_send(struct resolve_job *job, struct rquery *q)
{
	struct timeval tv = elapsed_timeval(job->ctx->query_timeout_ms);
	char fqdn[ANSWER_NAME_SIZE + 1];
	getdns_return_t r;

	if (q->timer == NULL &&
	    (q->timer = evtimer_new(job->ctx->base, query_timed_out, q)) ==
	        NULL)
		return -1;
	if (evtimer_add(q->timer, &tv) != 0)
		return -1;
	snprintf(fqdn, sizeof(fqdn), "%s.", q->qname);
	job->busy++;
	r = getdns_general(job->ctx->gd, fqdn, q->qtype, job->ctx->extensions,
	    q, &q->tid, query_done);
	job->busy--;
	if (r != GETDNS_RETURN_GOOD) {
		evtimer_del(q->timer);
		return -1;
	}
	return 0;
}

static void
query_start(struct resolve_job *job, enum rq_kind kind, size_t host,
    uint16_t qtype, const char *name)
{
	struct rquery *q = calloc(1, sizeof(*q));
	struct policy_fact *fact = query_fact(job, kind, host);

	if (q == NULL) {
		fail_fact(fact);
		return;
	}
	q->job = job;
	q->kind = kind;
	q->host = host;
	q->qtype = qtype;
	snprintf(q->qname, sizeof(q->qname), "%s", name);
	LIST_INSERT_HEAD(&job->queries, q, link);
	job->pending++;
	if (query_send(job, q) != 0) {
		/* The fact fails; the walk goes on with what else it can
		 * learn. */
		struct answer_view v;

		step_failed(job, q, POLICY_TRANSPORT_ERROR, &v);
		unlink_query(job, q);
		query_complete(job, q, &v);
		query_release(q);
	}
}

static void
start_tlsa(struct resolve_job *job, size_t i, enum rq_kind kind)
{
	struct rhost *rh = &job->rhosts[i];
	const char *base = kind == RQ_TLSA_EXPANDED ? rh->expanded : rh->name;
	char owner[ANSWER_NAME_SIZE + 16];

	(void)policy_tlsa_owner(owner, sizeof(owner), job->key.port, base);
	/* 253 presentation octets without the trailing dot is the 255-octet
	 * wire limit: a longer TLSA name cannot exist. */
	if (strlen(owner) > MAPKEY_NAME_MAX) {
		struct policy_fact *f = query_fact(job, kind, i);

		memset(f, 0, sizeof(*f));
		f->answer = POLICY_ANSWER_TOOLONG;
		f->rcode = -1;
		if (kind == RQ_TLSA_EXPANDED &&
		    policy_host_needs_original_tlsa(&job->hosts[i]))
			start_tlsa(job, i, RQ_TLSA_ORIGINAL);
		return;
	}
	query_start(job, kind, i, GETDNS_RRTYPE_TLSA, owner);
}

static int
add_host(struct resolve_job *job, const char *name, uint16_t pref)
{
	size_t i = job->facts.host_count;

	for (size_t j = 0; j < i; j++)
		if (strcmp(job->rhosts[j].name, name) == 0)
			return 0; /* listed twice: the first (lowest) wins */
	if (i >= RESOLVE_MAX_HOSTS)
		return -1;
	snprintf(job->rhosts[i].name, ANSWER_NAME_SIZE, "%s", name);
	snprintf(job->rhosts[i].expanded, ANSWER_NAME_SIZE, "%s", name);
	job->hosts[i].name = job->rhosts[i].name;
	job->hosts[i].expanded = job->rhosts[i].expanded;
	job->hosts[i].preference = pref;
	job->facts.host_count++;
	return 0;
}

/* Hosts from the MX RRset, by preference; "." (RFC 7505) entries dropped,
 * and a set of nothing but "." is a null MX. Returns -1 when the RRset
 * could not be read whole (memory): the MX lookup then counts as failed. */
static int
take_mx_hosts(struct resolve_job *job, getdns_list *answer)
{
	struct answer_mx mx[RESOLVE_MAX_HOSTS];
	int count =
	    answer_mx(answer, mx, RESOLVE_MAX_HOSTS, &job->facts.null_mx);

	for (int i = 0; i < count; i++)
		if (add_host(job, mx[i].name, mx[i].preference) != 0)
			break;
	return count < 0 ? -1 : 0;
}

/* The TLSA RRset of a completed TLSA query; -1 if it could not be copied
 * whole (memory): the lookup then counts as failed, never as fewer
 * records, which could turn "dane-only" into "dane". */
static int
take_tlsa(struct resolve_job *job, struct rquery *q, getdns_list *answer)
{
	struct rhost *rh = &job->rhosts[q->host];
	int slot = q->kind == RQ_TLSA_EXPANDED ? 0 : 1;
	struct tlsa_record *rrs;
	int count = answer_tlsa(answer, &rrs);

	if (count < 0)
		return -1;
	rh->rrs[slot] = rrs;
	rh->count[slot] = (size_t)count;
	if (slot == 0) {
		job->hosts[q->host].tlsa_expanded_rrs = rrs;
		job->hosts[q->host].tlsa_expanded_count = (size_t)count;
	} else {
		job->hosts[q->host].tlsa_original_rrs = rrs;
		job->hosts[q->host].tlsa_original_count = (size_t)count;
	}
	return 0;
}

static void
add_sts_txt(const char *text, size_t len, void *arg)
{
	sts_txt_pick_add(arg, text, len);
}

/* The _mta-sts TXT RRset: exactly one valid v=STSv1 record, or why not. */
static void
take_sts_txt(struct resolve_job *job, getdns_list *answer)
{
	struct resolve_sts *sts = &job->sts;
	struct sts_txt_pick pick;

	if (sts->txt.answer != POLICY_ANSWER_DATA) {
		sts->txt_why = sts->txt.answer == POLICY_ANSWER_FAILED
		    ? "the _mta-sts TXT lookup failed"
		    : "no _mta-sts TXT record";
		return;
	}
	sts_txt_pick_init(&pick);
	if (answer_txt_each(answer, add_sts_txt, &pick) < 0) {
		fail_fact(&sts->txt);
		sts->txt_why = "the _mta-sts TXT lookup failed";
		return;
	}
	sts->have_id = sts_txt_pick_done(&pick, sts->id, &sts->txt_why);
}

/* Addresses from an A or AAAA answer, appended to addrs[*count..max). */
static int
take_addrs(char (*addrs)[ANSWER_ADDR_SIZE], size_t *count, size_t max,
    uint16_t qtype, getdns_list *answer)
{
	int n = answer_addrs(answer, qtype, addrs + *count, max - *count);

	if (n < 0)
		return -1;
	*count += (size_t)n;
	return 0;
}

/* After a DANE NOTFOUND for a domain that exists: MTA-STS's DNS part. */
static bool
sts_wanted(const struct resolve_job *job)
{
	const struct policy_fact *mx = &job->facts.mx;

	return (job->flags & RESOLVE_STS) && !job->deadline_hit &&
	    !job->key.nexthop &&
	    job->key.port == 25 && !job->facts.null_mx &&
	    mx->answer != POLICY_ANSWER_NXDOMAIN &&
	    job->decision.reply == POLICY_REPLY_NOTFOUND;
}

static void
start_sts(struct resolve_job *job)
{
	char name[ANSWER_NAME_SIZE + 16];

	job->sts.asked = true;
	/* until the TXT lookup says more (the deadline may end it first) */
	job->sts.txt_why = "the _mta-sts TXT lookup did not finish";
	/* "_mta-sts." + a name near 253 octets cannot exist */
	if (strlen(job->key.name) + 9 > MAPKEY_NAME_MAX) {
		job->sts.txt.answer = POLICY_ANSWER_TOOLONG;
		job->sts.txt.rcode = -1;
		job->sts.txt_why = "the _mta-sts name would be too long";
		return;
	}
	snprintf(name, sizeof(name), "_mta-sts.%s", job->key.name);
	query_start(job, RQ_STS_TXT, 0, GETDNS_RRTYPE_TXT, name);
	snprintf(name, sizeof(name), "mta-sts.%s", job->key.name);
	query_start(job, RQ_STS_A, 0, GETDNS_RRTYPE_A, name);
	query_start(job, RQ_STS_AAAA, 0, GETDNS_RRTYPE_AAAA, name);
}

static void
start_hosts(struct resolve_job *job)
{
	for (size_t i = 0; i < job->facts.host_count; i++) {
		job->rhosts[i].addr_pending = 2;
		query_start(job, RQ_A, i, GETDNS_RRTYPE_A, job->rhosts[i].name);
		query_start(job, RQ_AAAA, i, GETDNS_RRTYPE_AAAA,
		    job->rhosts[i].name);
	}
}

/* A query's chain is complete: record its fact and take the next steps.
 * v is the last step's reply (its answer holds the records). */
static void
query_complete(struct resolve_job *job, struct rquery *q,
    const struct answer_view *v)
{
	*query_fact(job, q->kind, q->host) = q->chain;

	switch (q->kind) {
	case RQ_MX:
		if (q->chain.answer == POLICY_ANSWER_DATA &&
		    take_mx_hosts(job, v->answer) != 0)
			fail_fact(&job->facts.mx);
		else if (q->chain.answer == POLICY_ANSWER_NODATA)
			(void)add_host(job, job->key.name, 0); /* implicit MX */
		start_hosts(job);
		break;
	case RQ_A:
	case RQ_AAAA: {
		struct rhost *rh = &job->rhosts[q->host];

		if (q->kind == RQ_A && v->end[0] != '\0')
			snprintf(rh->expanded, ANSWER_NAME_SIZE, "%s", v->end);
		if (q->chain.answer == POLICY_ANSWER_DATA &&
		    (job->flags & RESOLVE_ADDRS) &&
		    (rh->addrs != NULL ||
		        (rh->addrs = calloc(RESOLVE_HOST_ADDRS,
		             sizeof(*rh->addrs))) != NULL))
			(void)take_addrs(rh->addrs, &rh->addr_count,
			    RESOLVE_HOST_ADDRS, q->qtype, v->answer);
		if (--rh->addr_pending == 0 &&
		    policy_host_needs_tlsa(&job->hosts[q->host]))
			start_tlsa(job, q->host, RQ_TLSA_EXPANDED);
		break;
	}
	case RQ_TLSA_EXPANDED:
	case RQ_TLSA_ORIGINAL:
		if (q->chain.answer == POLICY_ANSWER_DATA &&
		    take_tlsa(job, q, v->answer) != 0)
			fail_fact(query_fact(job, q->kind, q->host));
		if (q->kind == RQ_TLSA_EXPANDED &&
		    policy_host_needs_original_tlsa(&job->hosts[q->host]))
			start_tlsa(job, q->host, RQ_TLSA_ORIGINAL);
		break;
	case RQ_STS_TXT:
		take_sts_txt(job, v->answer);
		break;
	case RQ_STS_A:
	case RQ_STS_AAAA:
		if (q->chain.answer == POLICY_ANSWER_DATA &&
		    take_addrs(job->sts.addrs, &job->sts.addr_count,
		        RESOLVE_STS_ADDRS, q->qtype, v->answer) != 0)
			fail_fact(query_fact(job, q->kind, q->host));
		break;
	}
}

static void
query_done(getdns_context *gd, getdns_callback_type_t type,
    getdns_dict *response, void *arg, getdns_transaction_t tid)
{
	struct rquery *q = arg;
	struct resolve_job *job = q->job;
	struct answer_view v;
	struct policy_fact step;

	(void)gd;
	(void)tid;
	if (type == GETDNS_CALLBACK_CANCEL) {
		/* We cancelled it and already accounted for it. */
		getdns_dict_destroy(response);
		query_release(q);
		return;
	}
	evtimer_del(q->timer);
	answer_view(type, response, q->qname, q->qtype, &v);
	step =
	    policy_classify(v.transport, v.dnssec, v.rcode, v.has_data, v.ttl);
	add_evidence(job, q, &v, &step);
	fold_step(q, &step);

	/* The answer ends at a CNAME whose target the upstream did not
	 * resolve (it is not authoritative there): ask for the target,
	 * a bounded number of times (this also ends CNAME loops). */
	if (step.answer == POLICY_ANSWER_NODATA && v.end[0] != '\0' &&
	    strcmp(v.end, q->qname) != 0) {
		if (q->steps >= job->ctx->max_cname_depth) {
			q->chain.answer = POLICY_ANSWER_FAILED;
			q->chain.failure = POLICY_FAIL_CNAME;
		} else {
			q->steps++;
			snprintf(q->qname, sizeof(q->qname), "%s", v.end);
			if (query_send(job, q) == 0) {
				/* q may be gone already (see query_send) */
				getdns_dict_destroy(response);
				job_maybe_finish(job);
				return;
			}
			q->chain.answer = POLICY_ANSWER_FAILED;
			q->chain.failure = POLICY_FAIL_NETWORK;
		}
	}
	unlink_query(job, q);
	query_complete(job, q, &v);
	getdns_dict_destroy(response);
	query_release(q);
	job_maybe_finish(job);
}

/* Our timeout for one query: count it as timed out, go on with the walk,
 * and cancel it in getdns (whose CANCEL callback releases q). */
static void
query_timed_out(evutil_socket_t fd, short what, void *arg)
{
	struct rquery *q = arg;
	struct resolve_job *job = q->job;
	struct answer_view v;
	getdns_transaction_t tid = q->tid;

	(void)fd;
	(void)what;
	step_failed(job, q, POLICY_TRANSPORT_TIMEOUT, &v);
	unlink_query(job, q);
	query_complete(job, q, &v);
	if (getdns_cancel_callback(job->ctx->gd, tid) != GETDNS_RETURN_GOOD)
		query_release(q);
	job_maybe_finish(job);
}

/* ------------------------------------------------------------ job life */

static void
job_unlink(struct resolve_job *job)
{
	struct resolve_ctx *ctx = job->ctx;

	if (!job->running)
		return;
	LIST_REMOVE(job, link);
	job->running = false;
	ctx->job_count--;
}

/* Stop every in-flight query; with as_timeout, record each as timed out. */
static void
job_cancel_queries(struct resolve_job *job, bool as_timeout)
{
	while (!LIST_EMPTY(&job->queries)) {
		struct rquery *q = LIST_FIRST(&job->queries);
		getdns_transaction_t tid = q->tid;

		unlink_query(job, q);
		if (as_timeout) { /* no next steps: the deadline passed */
			struct answer_view v;

			step_failed(job, q, POLICY_TRANSPORT_TIMEOUT, &v);
			*query_fact(job, q->kind, q->host) = q->chain;
		}
		/* getdns calls query_done with CANCEL, which frees q. */
		evtimer_del(q->timer);
		if (getdns_cancel_callback(job->ctx->gd, tid) !=
		    GETDNS_RETURN_GOOD)
			query_release(q);
	}
}

static void
job_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct resolve_job *job = arg;

	(void)fd;
	(void)what;
	job->deadline_hit = true;
	job_cancel_queries(job, true);
	job_maybe_finish(job);
}

static void
job_finish(evutil_socket_t fd, short what, void *arg)
{
	struct resolve_job *job = arg;

	(void)fd;
	(void)what;
	job_unlink(job);
	job->cb(job, job->cb_arg);
}

static void
job_maybe_finish(struct resolve_job *job)
{
	if (job->pending > 0 || job->decided || job->busy > 0)
		return;
	if (!job->dane_decided) {
		/* once: the MTA-STS queries after it change no fact it reads */
		job->dane_decided = true;
		policy_decide(&job->facts, &job->decision);
		if (sts_wanted(job)) {
			job->busy++; /* see query_send */
			start_sts(job);
			job->busy--;
			if (job->pending > 0)
				return;
		}
	}
	job->decided = true;
	event_del(job->deadline_ev);
	job->elapsed_ms = elapsed_ms(&job->started);
	/* Deliver from the loop, never from inside resolve_start. */
	event_active(job->finish_ev, EV_TIMEOUT, 1);
}

struct resolve_job *
resolve_start(struct resolve_ctx *ctx, const struct mapkey *key, unsigned flags,
    resolve_done_fn *cb, void *arg)
{
	struct resolve_job *job = calloc(1, sizeof(*job));
	struct timeval deadline;

	if (job == NULL)
		return NULL;
	job->ctx = ctx;
	job->key = *key;
	job->flags = flags;
	job->cb = cb;
	job->cb_arg = arg;
	job->hosts = calloc(RESOLVE_MAX_HOSTS, sizeof(*job->hosts));
	job->rhosts = calloc(RESOLVE_MAX_HOSTS, sizeof(*job->rhosts));
	job->deadline_ev = evtimer_new(ctx->base, job_deadline, job);
	job->finish_ev = evtimer_new(ctx->base, job_finish, job);
	if (job->hosts == NULL || job->rhosts == NULL ||
	    job->deadline_ev == NULL || job->finish_ev == NULL)
		goto err;
	job->facts.domain = job->key.name;
	job->facts.nexthop = key->nexthop;
	job->facts.port = key->port;
	job->facts.hosts = job->hosts;
	elapsed_start(&job->started);
	deadline = elapsed_timeval(ctx->deadline_ms);
	if (evtimer_add(job->deadline_ev, &deadline) != 0)
		goto err;

	job->running = true;
	LIST_INSERT_HEAD(&ctx->jobs, job, link);
	ctx->job_count++;

	if (key->nexthop) {
		(void)add_host(job, key->name, 0);
		start_hosts(job);
	} else
		query_start(job, RQ_MX, 0, GETDNS_RRTYPE_MX, key->name);
	job_maybe_finish(job);
	return job;
err:
	resolve_job_free(job);
	return NULL;
}

void
resolve_job_free(struct resolve_job *job)
{
	if (job == NULL)
		return;
	job_cancel_queries(job, false);
	job_unlink(job);
	if (job->deadline_ev != NULL)
		event_free(job->deadline_ev);
	if (job->finish_ev != NULL)
		event_free(job->finish_ev);
	if (job->rhosts != NULL)
		for (size_t i = 0; i < RESOLVE_MAX_HOSTS; i++) {
			for (int s = 0; s < 2; s++)
				answer_tlsa_free(job->rhosts[i].rrs[s],
				    job->rhosts[i].count[s]);
			free(job->rhosts[i].addrs);
		}
	for (size_t i = 0; i < job->evidence_count; i++)
		free(job->evidence[i].rdata);
	free(job->evidence);
	free(job->rhosts);
	free(job->hosts);
	free(job);
}

void
resolve_job_cancel(struct resolve_job *job)
{
	resolve_job_free(job);
}

const struct mapkey *
resolve_job_key(const struct resolve_job *job)
{
	return &job->key;
}

const struct policy_facts *
resolve_job_facts(const struct resolve_job *job)
{
	return &job->facts;
}

const struct resolve_sts *
resolve_job_sts(const struct resolve_job *job)
{
	return &job->sts;
}

const char (*resolve_job_host_addrs(const struct resolve_job *job,
    size_t host, size_t *count))[ANSWER_ADDR_SIZE]
{
	*count = host < job->facts.host_count ? job->rhosts[host].addr_count
	                                      : 0;
	return *count > 0 ? (const char(*)[ANSWER_ADDR_SIZE])job->rhosts[host].addrs
	                  : NULL;
}

const struct policy_decision *
resolve_job_decision(const struct resolve_job *job)
{
	return &job->decision;
}

double
resolve_job_elapsed_ms(const struct resolve_job *job)
{
	return job->elapsed_ms;
}

const struct resolve_evidence *
resolve_job_evidence(const struct resolve_job *job, size_t *count)
{
	*count = job->evidence_count;
	return job->evidence;
}

const char *
resolve_dnssec_name(enum policy_dnssec dnssec)
{
	switch (dnssec) {
	case POLICY_DNSSEC_SECURE:
		return "secure";
	case POLICY_DNSSEC_INSECURE:
		return "insecure";
	case POLICY_DNSSEC_BOGUS:
		return "bogus";
	case POLICY_DNSSEC_INDETERMINATE:
		return "indeterminate";
	}
	return "?";
}

/* ------------------------------------------------------------ context */

static int
set_upstreams(getdns_context *gd, const struct config *cfg, char *err,
    size_t err_size)
{
	getdns_list *list = getdns_list_create();
	int rc = -1;

	if (list == NULL)
		goto out;
	for (size_t i = 0; i < cfg->upstream_count; i++) {
		const struct config_upstream *u = &cfg->upstream[i];
		unsigned char addr[16];
		getdns_bindata type, data;
		getdns_dict *d;
		bool v6 = strchr(u->address, ':') != NULL;

		if (inet_pton(v6 ? AF_INET6 : AF_INET, u->address, addr) != 1) {
			snprintf(err, err_size, "bad upstream address %s",
			    u->address);
			goto out;
		}
		type.data = (uint8_t *)(v6 ? "IPv6" : "IPv4");
		type.size = 4;
		data.data = addr;
		data.size = v6 ? 16 : 4;
		if ((d = getdns_dict_create()) == NULL)
			goto out;
		if (getdns_dict_set_bindata(d, "address_type", &type) ||
		    getdns_dict_set_bindata(d, "address_data", &data) ||
		    getdns_dict_set_int(d, "port", u->port) ||
		    getdns_list_set_dict(list, i, d)) {
			getdns_dict_destroy(d);
			snprintf(err, err_size, "cannot set upstream %s",
			    u->address);
			goto out;
		}
		getdns_dict_destroy(d);
	}
	if (getdns_context_set_upstream_recursive_servers(gd, list) !=
	    GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "getdns refused the upstream list");
		goto out;
	}
	rc = 0;
out:
	getdns_list_destroy(list);
	return rc;
}

/*
 * read_rr_file: the zone-file records in path (a trust anchor or root
 * hints file) as a getdns list in *out, which the caller destroys.
 * Fails, with "WHAT PATH: why" in err, when the file cannot be read or
 * parsed, or holds no record of type t1 or t2 (named in need).
 */
static int
read_rr_file(const char *path, const char *what, uint32_t t1, uint32_t t2,
    const char *need, getdns_list **out, char *err, size_t err_size)
{
	FILE *fp = fopen(path, "r");
	getdns_list *list = NULL;
	size_t n = 0, wanted = 0;

	*out = NULL;
	if (fp == NULL) {
		snprintf(err, err_size, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	/* Origin NULL, not ".": getdns 1.6.0 fails with "." (valgrind shows
	 * it branching on uninitialised memory, so it even works by luck
	 * now and then). These files name their owners in full anyway. */
	if (getdns_fp2rr_list(fp, &list, NULL, 3600) != GETDNS_RETURN_GOOD ||
	    list == NULL) {
		snprintf(err, err_size,
		    "%s %s: cannot parse it as zone-file records", what, path);
		goto err;
	}
	(void)getdns_list_get_length(list, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;
		uint32_t type;

		if (getdns_list_get_dict(list, i, &rr) == GETDNS_RETURN_GOOD &&
		    ((type = answer_rr_type(rr)) == t1 || type == t2))
			wanted++;
	}
	if (wanted == 0) {
		snprintf(err, err_size, "%s %s: no %s record in it", what, path,
		    need);
		goto err;
	}
	fclose(fp);
	*out = list;
	return 0;
err:
	getdns_list_destroy(list);
	fclose(fp);
	return -1;
}

static int
set_trust_anchors(getdns_context *gd, const char *path, char *err,
    size_t err_size)
{
	getdns_list *anchors;
	int rc = 0;

	if (read_rr_file(path, "trust anchor file", GETDNS_RRTYPE_DS,
	        GETDNS_RRTYPE_DNSKEY, "DS or DNSKEY", &anchors, err,
	        err_size) != 0)
		return -1;
	if (getdns_context_set_dnssec_trust_anchors(gd, anchors) !=
	    GETDNS_RETURN_GOOD) {
		snprintf(err, err_size,
		    "trust anchor file %s: getdns refused it", path);
		rc = -1;
	}
	getdns_list_destroy(anchors);
	return rc;
}

/*
 * getdns 1.6.0's set_dns_root_servers copies its temporary file name into
 * the context without the terminating NUL, and destroy unlinks that name:
 * with a fresh context from plain malloc the name runs into uninitialised
 * bytes (a wrong file name; valgrind reports it). A context allocated
 * zeroed has the NUL in place.
 */
static void *
zalloc(size_t size)
{
	return calloc(1, size);
}

/*
 * Root hints for recursive mode: a zone-file list of the root's NS
 * records and their A/AAAA addresses (the format of named.root). getdns
 * hands the records to libunbound as its root hints.
 */
static int
set_root_hints(getdns_context *gd, const char *path, char *err, size_t err_size)
{
	getdns_list *hints;
	int rc = 0;

	if (read_rr_file(path, "root hints file", GETDNS_RRTYPE_A,
	        GETDNS_RRTYPE_AAAA, "A or AAAA", &hints, err, err_size) != 0)
		return -1;
	if (getdns_context_set_dns_root_servers(gd, hints) !=
	    GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "root hints file %s: getdns refused it",
		    path);
		rc = -1;
	}
	getdns_list_destroy(hints);
	return rc;
}

struct resolve_ctx *
resolve_ctx_new(const struct config *cfg, struct event_base *base, char *err,
    size_t err_size)
{
	struct resolve_ctx *ctx = calloc(1, sizeof(*ctx));
	bool stub = cfg->resolution == CONFIG_RESOLUTION_STUB;
	getdns_transport_list_t tcp_only[] = { GETDNS_TRANSPORT_TCP };

	if (ctx == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	ctx->base = base;
	ctx->max_cname_depth = cfg->max_cname_depth;
	ctx->deadline_ms = cfg->lookup_deadline_ms;
	ctx->query_timeout_ms = cfg->query_timeout_ms;
	/* 0: no /etc/resolv.conf, no /etc/hosts. The zero-filling
	 * allocator: see zalloc. */
	if (getdns_context_create_with_memory_functions(&ctx->gd, 0, zalloc,
	        realloc, free) != GETDNS_RETURN_GOOD) {
		ctx->gd = NULL;
		snprintf(err, err_size, "cannot create a getdns context");
		goto err;
	}
	/* Only the context itself needs zeroing: everything getdns
	 * allocates from now on (dicts, requests) comes from plain malloc,
	 * which frees what calloc gave alike. */
	if (getdns_context_set_memory_functions(ctx->gd, malloc, realloc,
	        free) != GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "getdns: cannot set memory functions");
		goto err;
	}
	if (getdns_context_set_resolution_type(ctx->gd,
	        stub ? GETDNS_RESOLUTION_STUB : GETDNS_RESOLUTION_RECURSING) !=
	    GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "getdns: %s resolution unavailable",
		    stub ? "stub" : "recursive");
		goto err;
	}
	if (stub && set_upstreams(ctx->gd, cfg, err, err_size) != 0)
		goto err;
	if (!stub && cfg->root_hints[0] != '\0' &&
	    set_root_hints(ctx->gd, cfg->root_hints, err, err_size) != 0)
		goto err;
	if (stub && cfg->transport == CONFIG_TRANSPORT_TCP &&
	    (getdns_context_set_dns_transport_list(ctx->gd, 1, tcp_only) !=
	            GETDNS_RETURN_GOOD ||
	        getdns_context_set_idle_timeout(ctx->gd, RESOLVE_TCP_IDLE_MS) !=
	            GETDNS_RETURN_GOOD)) {
		snprintf(err, err_size, "getdns: cannot use TCP alone");
		goto err;
	}
	/* An empty verify CA and e-mail disable the zero-config root trust
	 * anchor fetch (data.iana.org): the configured anchor is the only
	 * one, and a wrong one fails closed. */
	if (getdns_context_set_trust_anchors_verify_CA(ctx->gd, "") !=
	        GETDNS_RETURN_GOOD ||
	    getdns_context_set_trust_anchors_verify_email(ctx->gd, "") !=
	        GETDNS_RETURN_GOOD ||
	    (cfg->state_dir[0] != '\0' &&
	        getdns_context_set_appdata_dir(ctx->gd, cfg->state_dir) !=
	            GETDNS_RETURN_GOOD)) {
		snprintf(err, err_size,
		    "getdns: cannot disable zero-config "
		    "trust anchors");
		goto err;
	}
	if (set_trust_anchors(ctx->gd, cfg->trust_anchor_file, err, err_size) !=
	    0)
		goto err;
	/* Far beyond our own timers, so getdns never times out by itself
	 * (see the top of this file). */
	if (getdns_context_set_timeout(ctx->gd,
	        (uint64_t)cfg->lookup_deadline_ms + 60000) !=
	    GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "getdns: cannot set the query timeout");
		goto err;
	}
	ctx->extensions = getdns_dict_create();
	if (ctx->extensions == NULL ||
	    getdns_dict_set_int(ctx->extensions, "dnssec_return_status",
	        GETDNS_EXTENSION_TRUE) != GETDNS_RETURN_GOOD ||
	    getdns_dict_set_int(ctx->extensions, "dnssec_return_all_statuses",
	        GETDNS_EXTENSION_TRUE) != GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "getdns: cannot set extensions");
		goto err;
	}
	if ((ctx->loop = dnsloop_new(base)) == NULL ||
	    getdns_context_set_eventloop(ctx->gd, dnsloop_getdns(ctx->loop)) !=
	        GETDNS_RETURN_GOOD) {
		snprintf(err, err_size, "getdns: cannot attach to libevent");
		goto err;
	}
	return ctx;
err:
	resolve_ctx_free(ctx);
	return NULL;
}

void
resolve_ctx_free(struct resolve_ctx *ctx)
{
	if (ctx == NULL)
		return;
	while (!LIST_EMPTY(&ctx->jobs))
		resolve_job_free(LIST_FIRST(&ctx->jobs));
	getdns_dict_destroy(ctx->extensions);
	/* The loop goes after the context: libunbound clears its events
	 * through it during the destroy (dnsloop.h). */
	if (ctx->gd != NULL)
		getdns_context_destroy(ctx->gd);
	dnsloop_free(ctx->loop);
	free(ctx);
}

size_t
resolve_ctx_jobs(const struct resolve_ctx *ctx)
{
	return ctx->job_count;
}
