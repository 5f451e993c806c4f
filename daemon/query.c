/*
 * query: `danemap query [-v] KEY...` runs the very resolver and policy the
 * daemon uses and prints, as the first line for each key, the exact
 * socketmap reply payload the daemon would send (an overrides_file line
 * in force first, as the daemon has it); with -v the evidence
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
#include <time.h>

#include "cli.h"
#include "keyrun.h"
#include "log.h"
#include "mapkey.h"
#include "overrides.h"
#include "policy.h"
#include "resolve.h"
#include "sockmap.h"
#include "sts.h"
#include "xalloc.h"

static int exit_for(enum policy_reply reply);
static void print_fact_line(const char *label, const struct policy_fact *f);

/* query -v: what MTA-STS looked at, and which of DANE and MTA-STS
 * decided. */
static void
print_sts(const struct keyrun_item *item, const char *decided)
{
	const struct resolve_sts *sts = resolve_job_sts(item->job);
	const struct stsfetch_result *f = &item->fetch;
	char clean[400];

	if (!sts->asked) {
		printf("  %s: DANE\n", decided);
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
	printf("  %s: %s\n", decided,
	    keyrun_sts_enforced(item) ? "MTA-STS (enforce)"
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

static void
override_bad(void *arg, unsigned line, const char *why)
{
	fprintf(stderr, "danemap: %s:%u: %s; the line is skipped\n",
	    (const char *)arg, line, why);
}

/* The override in force for item, as danemapd would apply it (NULL if
 * none); *ended gets a line that no longer applies. */
static const struct override *
item_override(const struct overrides *ovs, const struct keyrun_item *item,
    const struct override **ended)
{
	const struct override *ov = item->kind == MAPKEY_LOOKUP
	    ? overrides_find(ovs, item->key.norm)
	    : NULL;

	*ended = NULL;
	if (ov != NULL && !override_applies(ov, (int64_t)time(NULL))) {
		*ended = ov;
		return NULL;
	}
	return ov;
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
	struct keyrun_item *items = NULL;
	struct event_base *base = NULL;
	struct keyrun run = { .cfg = cfg };
	struct overrides ovs = { NULL, 0 };
	char err[512], reply[STS_REPLY_MAX + 8], clean[256], until[32];
	bool verbose = false;
	int opt, status = EX_OK;
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
	for (size_t i = 0; i < n; i++)
		items[i].arg = argv[i];
	if ((status = keyrun_resolve(&run, items, n,
	         verbose ? RESOLVE_EVIDENCE | RESOLVE_ADDRS : 0, err,
	         sizeof(err))) != 0) {
		fprintf(stderr, "danemap: %s\n", err);
		goto out;
	}
	/* as the daemon has them: an unreadable file is said, not fatal */
	if (cfg->overrides_file[0] != '\0' &&
	    overrides_load(cfg->overrides_file, &ovs, override_bad,
	        (void *)cfg->overrides_file, NULL, err, sizeof(err)) != 0)
		fprintf(stderr, "danemap: overrides_file %s\n", err);

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
		const struct override *ended, *ov =
		    item_override(&ovs, &items[i], &ended);

		if (keyrun_reply(&items[i], reply, sizeof(reply)) != 0) {
			status = EX_SOFTWARE;
			goto out;
		}
		if (ov != NULL) {
			char over[OVERRIDES_TEXT_MAX + 16];

			(void)sockmap_format_payload(over, sizeof(over),
			    ov->status, ov->text);
			printf("%s\n", over);
			status = worse(status,
			    ov->status == SOCKMAP_OK         ? EX_OK
			        : ov->status == SOCKMAP_NOTFOUND ? CLI_EX_NOTFOUND
			                                         : EX_TEMPFAIL);
		} else {
			printf("%s\n", reply);
			status = worse(status, keyrun_sts_enforced(&items[i])
			        ? EX_OK
			        : exit_for(
			              resolve_job_decision(items[i].job)->reply));
		}
		if (!verbose)
			continue;
		print_evidence(items[i].job);
		print_sts(&items[i],
		    ov != NULL ? "without the override, decided by"
		               : "decided by");
		if (ov != NULL)
			printf("  decided by: an override, %s:%u (until %s); "
			       "without it: %s\n",
			    cfg->overrides_file, ov->line,
			    overrides_until_text(ov, until, sizeof(until)),
			    reply);
		else if (ended != NULL)
			printf("  override %s:%u ended at %s: not applied\n",
			    cfg->overrides_file, ended->line,
			    overrides_until_text(ended, until, sizeof(until)));
	}
	/* The answers go out before anything is torn down, so nothing at
	 * exit can lose them; a write that failed is an error of its own. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "danemap: cannot write the answers: %s\n",
		    strerror(errno));
		status = EX_IOERR;
	}
out:
	keyrun_items_free(items, n);
	free(items);
	overrides_free(&ovs);
	keyrun_free(&run);
	if (base != NULL)
		event_base_free(base);
	return status;
}
