/*
 * query: `danemap query [-v] KEY...` runs the very resolver and policy the
 * daemon uses and prints, as the first line for each key, the exact
 * socketmap reply payload the daemon would send; with -v the evidence
 * follows, indented: every RRset looked up with its DNSSEC status, rcode,
 * TTL and records, the verdict per host, and why the policy follows. Keys
 * are resolved concurrently.
 *
 * Exit status: 0 every key OK, 1 some key NOTFOUND (and none TEMP), 75
 * some key TEMP, 74 the answers could not be written.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "mapkey.h"
#include "policy.h"
#include "resolve.h"
#include "sockmap.h"
#include "stsfetch.h"
#include "stsrecord.h"
#include "xalloc.h"

struct query_item {
	const char *arg;
	enum mapkey_result kind;
	const char *invalid_why;
	struct mapkey key;
	struct resolve_job *job; /* finished job, freed at the end */
	struct query_run *run;
	bool fetched; /* an MTA-STS policy fetch was made: */
	struct stsfetch_result fetch;
};

struct query_run {
	size_t outstanding;
	struct event_base *base;
};

/* One lookup or fetch of the run is over: the loop ends with the last. */
static void
item_step_done(struct query_item *item)
{
	if (--item->run->outstanding == 0)
		event_base_loopbreak(item->run->base);
}

static void
query_done(struct resolve_job *job, void *arg)
{
	(void)job;
	item_step_done(arg);
}

static int exit_for(enum policy_reply reply);
static void print_fact_line(const char *label, const struct policy_fact *f);

static void
fetch_done(const struct stsfetch_result *result, void *arg)
{
	struct query_item *item = arg;

	item->fetch = *result;
	item->fetched = true;
	item_step_done(item);
}

/* Did a fetched MTA-STS policy in mode enforce decide the item? */
static bool
sts_enforced(const struct query_item *item)
{
	return item->fetched && item->fetch.status == STSFETCH_OK &&
	    item->fetch.policy.mode == STS_MODE_ENFORCE;
}

/* MTA-STS's part (RFC 8461), after DANE said NOTFOUND: fetch the policy
 * of each domain whose _mta-sts TXT record and policy host were found.
 * Returns how many fetches started. */
static size_t
fetch_policies(const struct config *cfg, struct query_item *items, size_t n,
    struct stsfetch_ctx *fctx)
{
	size_t started = 0;

	for (size_t i = 0; i < n; i++) {
		const struct resolve_sts *sts;
		const char *addrs[RESOLVE_STS_ADDRS];
		size_t count;

		if (items[i].job == NULL)
			continue;
		sts = resolve_job_sts(items[i].job);
		if (!sts->asked || !sts->have_id || sts->addr_count == 0)
			continue;
		/* every address our resolver found, as libcurl tries them */
		count = stsrecord_addrs(sts, addrs);
		if (stsfetch_start(fctx, items[i].key.name, addrs, count,
		        cfg->mta_sts_port, fetch_done, &items[i]) == NULL)
			continue; /* memory: as if unreachable */
		items[i].run->outstanding++;
		started++;
	}
	return started;
}

/* The reply for an item: an enforced MTA-STS policy, else DANE's. */
static int
item_reply(const struct config *cfg, const struct query_item *item,
    char *buf, size_t size, int *exit_status)
{
	const struct policy_decision *d = resolve_job_decision(item->job);
	const char *text;
	enum sockmap_status st;

	if (sts_enforced(item)) {
		int len;

		if (size < 4)
			return -1;
		memcpy(buf, "OK ", 3);
		len = sts_reply_format(&item->fetch.policy, item->key.name,
		    cfg->tlsrpt, item->fetch.policy.max_age, buf + 3, size - 3);
		*exit_status = EX_OK;
		return len < 0 ? -1 : 0;
	}
	st = policy_reply_words(d, &text);
	*exit_status = exit_for(d->reply);
	return sockmap_format_payload(buf, size, st, text) < 0 ? -1 : 0;
}

/* query -v: what MTA-STS looked at, and which of DANE and MTA-STS
 * decided. */
static void
print_sts(const struct query_item *item)
{
	const struct resolve_sts *sts = resolve_job_sts(item->job);
	const struct stsfetch_result *f = &item->fetch;
	char clean[400];

	if (!sts->asked) {
		printf("  decided by: DANE\n");
		return;
	}
	print_fact_line("MTA-STS TXT", &sts->txt);
	if (sts->have_id)
		printf("  MTA-STS record: id=%s\n", sts->id);
	else
		printf("  MTA-STS record: none: %s\n", sts->txt_why);
	for (size_t i = 0; i < sts->addr_count; i++)
		printf("  policy host address: %s\n", sts->addrs[i]);
	if (sts->have_id && sts->addr_count == 0)
		printf("  policy host: no address\n");
	if (item->fetched) {
		printf("  fetch %s: %s, HTTP %ld, %zu bytes, %.1f ms%s%s\n",
		    f->url, stsfetch_status_name(f->status), f->http_code,
		    f->size, f->ms, f->detail[0] != '\0' ? ": " : "",
		    log_sanitize(clean, sizeof(clean), f->detail,
		        strlen(f->detail), 300));
		if (f->status == STSFETCH_OK) {
			printf("  policy: mode %s, max_age %u\n",
			    sts_mode_name(f->policy.mode),
			    (unsigned)f->policy.max_age);
			for (size_t i = 0; i < f->policy.mx_count; i++)
				printf("    mx: %s\n", f->policy.mx[i]);
		}
	}
	printf("  decided by: %s\n",
	    sts_enforced(item) ? "MTA-STS (enforce)"
	        : item->fetched && f->status == STSFETCH_OK
	        ? "DANE (the MTA-STS policy is not enforced)"
	        : "DANE (no MTA-STS policy)");
}

static const char *
type_name(uint16_t type)
{
	switch (type) {
	case 1:
		return "A";
	case 28:
		return "AAAA";
	case 15:
		return "MX";
	case 52:
		return "TLSA";
	case 5:
		return "CNAME";
	case 16:
		return "TXT";
	}
	return "TYPE?";
}

static const char *
rcode_text(int rcode)
{
	return rcode < 0 ? "none" : policy_rcode_name(rcode);
}

static void
print_fact_line(const char *label, const struct policy_fact *f)
{
	printf("  %s: %s%s%s, %s, ttl %u\n", label,
	    policy_answer_name(f->answer),
	    f->answer == POLICY_ANSWER_FAILED ? " " : "",
	    f->answer == POLICY_ANSWER_FAILED ? policy_failure_name(f->failure)
	                                      : "",
	    f->secure ? "secure" : "not secure", f->ttl);
}

static void
print_evidence(const struct resolve_job *job)
{
	const struct policy_facts *facts = resolve_job_facts(job);
	const struct policy_decision *d = resolve_job_decision(job);
	const struct resolve_evidence *ev;
	size_t count;
	char clean[1024];

	printf("  key: %s (%s, port %u)\n", resolve_job_key(job)->norm,
	    facts->nexthop ? "[host]: no MX lookup" : "domain",
	    resolve_job_key(job)->port);
	ev = resolve_job_evidence(job, &count);
	for (size_t i = 0; i < count; i++) {
		printf("  lookup %s %s: dnssec %s, rcode %s, ttl %u -> "
		       "%s%s%s\n",
		    log_sanitize(clean, sizeof(clean), ev[i].qname,
		        strlen(ev[i].qname), 255),
		    type_name(ev[i].qtype),
		    ev[i].transport == POLICY_TRANSPORT_OK
		        ? resolve_dnssec_name(ev[i].dnssec)
		        : (ev[i].transport == POLICY_TRANSPORT_TIMEOUT
		                  ? "(timeout)"
		                  : "(error)"),
		    rcode_text(ev[i].rcode), ev[i].ttl,
		    policy_answer_name(ev[i].fact.answer),
		    ev[i].fact.answer == POLICY_ANSWER_FAILED ? " " : "",
		    ev[i].fact.answer == POLICY_ANSWER_FAILED
		        ? policy_failure_name(ev[i].fact.failure)
		        : (ev[i].fact.secure ? " (secure)" : " (insecure)"));
		for (char *p = ev[i].rdata; p != NULL && *p != '\0';) {
			char *nl = strchr(p, '\n');
			size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

			for (size_t c = 0; c < len; c++)
				if (p[c] == '\t') /* presentation format */
					p[c] = ' ';
			printf("    %s\n",
			    log_sanitize(clean, sizeof(clean), p, len, 400));
			p += len + (nl != NULL);
		}
	}
	if (!facts->nexthop) {
		print_fact_line("MX RRset", &facts->mx);
		if (facts->null_mx)
			printf("  null MX (RFC 7505)\n");
	}
	for (size_t i = 0; i < facts->host_count; i++) {
		const struct policy_host *h = &facts->hosts[i];
		const char *why;
		enum policy_host_state st = policy_host_state(h, &why);

		printf("  host %s (preference %u%s%s): %s: %s\n",
		    log_sanitize(clean, sizeof(clean), h->name, strlen(h->name),
		        255),
		    h->preference,
		    strcmp(h->expanded, h->name) ? ", CNAME to " : "",
		    strcmp(h->expanded, h->name) ? h->expanded : "",
		    policy_host_state_name(st), why);
		{
			size_t n;
			const char(*addrs)[ANSWER_ADDR_SIZE] =
			    resolve_job_host_addrs(job, i, &n);

			for (size_t a = 0; a < n; a++)
				printf("    address %s\n", addrs[a]);
		}
		for (size_t r = 0; r < h->tlsa_expanded_count; r++) {
			const struct tlsa_record *rr = &h->tlsa_expanded_rrs[r];
			const char *unusable = NULL;

			printf("    TLSA %u %u %u (%zu bytes): %s\n", rr->usage,
			    rr->selector, rr->mtype, rr->len,
			    tlsa_usable(rr, &unusable) ? "usable" : unusable);
		}
		for (size_t r = 0; r < h->tlsa_original_count; r++) {
			const struct tlsa_record *rr = &h->tlsa_original_rrs[r];
			const char *unusable = NULL;

			printf("    TLSA at original name %u %u %u (%zu "
			       "bytes): "
			       "%s\n",
			    rr->usage, rr->selector, rr->mtype, rr->len,
			    tlsa_usable(rr, &unusable) ? "usable" : unusable);
		}
	}
	printf("  decision: %s (ttl %u, %.1f ms)\n", d->reason, d->ttl,
	    resolve_job_elapsed_ms(job));
}

static int
exit_for(enum policy_reply reply)
{
	switch (reply) {
	case POLICY_REPLY_DANE_ONLY:
	case POLICY_REPLY_DANE:
		return EX_OK;
	case POLICY_REPLY_NOTFOUND:
		return CLI_EX_NOTFOUND;
	case POLICY_REPLY_TEMP:
	default:
		return EX_TEMPFAIL;
	}
}

static int
worse(int a, int b)
{
	static const int
	    rank[] = { [EX_OK] = 0, [CLI_EX_NOTFOUND] = 1, [EX_TEMPFAIL] = 2 };

	return rank[b] > rank[a] ? b : a;
}

int
query_main(const struct config *cfg, int argc, char **argv)
{
	struct query_item *items = NULL;
	struct event_base *base = NULL;
	struct resolve_ctx *ctx = NULL;
	struct stsfetch_ctx *fctx = NULL;
	struct query_run run = { 0, NULL };
	char err[512], reply[STS_REPLY_MAX + 8], clean[256];
	bool verbose = false;
	int opt, status = EX_OK, rc;
	size_t n;

	optind = 1;
	while ((opt = getopt(argc, argv, "+v")) != -1) {
		if (opt != 'v') {
			return cli_usage(stderr);
		}
		verbose = true;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		return cli_usage(stderr);
	}
	n = (size_t)argc;
	items = xcalloc(n, sizeof(*items));
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "danemap: out of memory\n");
		status = EX_SOFTWARE;
		goto out;
	}
	run.base = base;
	for (size_t i = 0; i < n; i++) {
		items[i].arg = argv[i];
		items[i].kind = mapkey_parse(argv[i], strlen(argv[i]),
		    &items[i].key, &items[i].invalid_why);
		if (items[i].kind != MAPKEY_LOOKUP)
			continue;
		if (ctx == NULL &&
		    (ctx = resolve_ctx_new(cfg, base, err, sizeof(err))) ==
		        NULL) {
			fprintf(stderr, "danemap: %s\n", err);
			status = EX_CONFIG;
			goto out;
		}
		items[i].run = &run;
		items[i].job = resolve_start(ctx, &items[i].key,
		    (verbose ? RESOLVE_EVIDENCE | RESOLVE_ADDRS : 0) |
		        (cfg->mta_sts ? RESOLVE_STS : 0),
		    query_done, &items[i]);
		if (items[i].job == NULL) {
			fprintf(stderr, "danemap: cannot start a lookup\n");
			status = EX_SOFTWARE;
			goto out;
		}
		run.outstanding++;
	}
	if (run.outstanding > 0)
		event_base_dispatch(base);
	if (cfg->mta_sts && ctx != NULL) {
		if ((fctx = stsfetch_ctx_new(base, cfg->mta_sts_ca_file,
		         cfg->mta_sts_timeout_ms, err, sizeof(err))) == NULL) {
			/* an unreadable mta_sts_ca_file, mostly */
			fprintf(stderr, "danemap: %s\n", err);
			status = EX_CONFIG;
			goto out;
		}
		if (fetch_policies(cfg, items, n, fctx) > 0)
			event_base_dispatch(base);
	}

	for (size_t i = 0; i < n; i++) {
		const char *arg = log_sanitize(clean, sizeof(clean),
		    items[i].arg, strlen(items[i].arg), 200);

		if (items[i].kind != MAPKEY_LOOKUP) {
			printf("NOTFOUND \n");
			if (verbose)
				printf("  key: %s: %s\n", arg,
				    items[i].kind == MAPKEY_SKIP
				        ? "parent-domain key or IP literal: "
				          "no DNS lookup"
				        : items[i].invalid_why);
			status = worse(status, CLI_EX_NOTFOUND);
			continue;
		}
		if (item_reply(cfg, &items[i], reply, sizeof(reply), &rc) != 0) {
			status = EX_SOFTWARE;
			goto out;
		}
		printf("%s\n", reply);
		if (verbose) {
			print_evidence(items[i].job);
			print_sts(&items[i]);
		}
		status = worse(status, rc);
	}
	/* The answers go out before anything is torn down, so nothing at
	 * exit can lose them; a write that failed is an error of its own. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "danemap: cannot write the answers: %s\n",
		    strerror(errno));
		status = EX_IOERR;
	}
out:
	if (items != NULL)
		for (size_t i = 0; i < n; i++)
			resolve_job_free(items[i].job);
	free(items);
	stsfetch_ctx_free(fctx);
	resolve_ctx_free(ctx);
	if (base != NULL)
		event_base_free(base);
	return status;
}
