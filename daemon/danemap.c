/*
 * danemap: the command-line side of danemap.
 *
 *   danemap [-c FILE] query [-v] KEY...
 *   danemap [-c FILE] warm [-f FILE]...
 *   danemap [-c FILE] dump
 *
 * `query` runs the very resolver and policy the daemon uses and prints, as
 * the first line for each key, the exact socketmap reply payload the daemon
 * would send; with -v the evidence follows, indented: every RRset looked up
 * with its DNSSEC status, rcode, TTL and records, the verdict per host, and
 * why the policy follows. Keys are resolved concurrently.
 *
 * `warm` re-validates every known key and writes the cache file (warm.c);
 * `dump` lists the cache file and the keys waiting in the journal.
 *
 * Exit status (sysexits): query: 0 every key OK, 1 some key NOTFOUND (and
 * none TEMP), 75 some key TEMP; warm: 0 new cache file in place, 73 it
 * could not be written (the old one is intact); dump: 0, 66 no cache file;
 * all: 64 usage error, 78 configuration error.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdbwrite.h"
#include "config.h"
#include "log.h"
#include "mapkey.h"
#include "policy.h"
#include "journal.h"
#include "record.h"
#include "resolve.h"
#include "store.h"
#include "warm.h"

#define EXIT_OK 0
#define EXIT_NOTFOUND 1
#define EXIT_TEMP 75
#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define EXIT_SOFTWARE 70
#define EXIT_NOINPUT 66
#define EXIT_CANTCREAT 73
#define EXIT_IOERR 74

static const char usage_text[] =
    "usage: danemap [-c FILE] query [-v] KEY...\n"
    "       danemap [-c FILE] warm [-f FILE]...\n"
    "       danemap [-c FILE] dump\n"
    "       danemap -h | -V\n"
    "\n"
    "  -c FILE   configuration file (default " CONFIG_DEFAULT_FILE ")\n"
    "  -h        show this help\n"
    "  -V        show the version\n"
    "\n"
    "commands:\n"
    "  query [-v] KEY...  print the socketmap reply for each key, as the\n"
    "                     daemon would send it; -v adds the DNS evidence\n"
    "  warm [-f FILE]...  re-validate the keys of the cache file, the\n"
    "                     daemon's journal and each FILE (- is stdin), and\n"
    "                     write a new cache file\n"
    "  dump               list the cache file and the journal\n"
    "\n"
    "exit status: query 0 OK, 1 NOTFOUND, 75 TEMP, 74 output failed;\n"
    "warm 0 written, "
    "73 not written (old file intact); dump 66 no cache file;\n"
    "64 usage, 78 configuration\n";

struct query_item {
	const char *arg;
	enum mapkey_result kind;
	const char *invalid_why;
	struct mapkey key;
	struct resolve_job *job; /* finished job, freed at the end */
};

struct query_run {
	size_t outstanding;
	struct event_base *base;
};

static void
query_done(struct resolve_job *job, void *arg)
{
	struct query_run *run = arg;

	(void)job;
	if (--run->outstanding == 0)
		event_base_loopbreak(run->base);
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
		return EXIT_OK;
	case POLICY_REPLY_NOTFOUND:
		return EXIT_NOTFOUND;
	case POLICY_REPLY_TEMP:
	default:
		return EXIT_TEMP;
	}
}

static int
worse(int a, int b)
{
	static const int
	    rank[] = { [EXIT_OK] = 0, [EXIT_NOTFOUND] = 1, [EXIT_TEMP] = 2 };

	return rank[b] > rank[a] ? b : a;
}

static int
cmd_query(const struct config *cfg, int argc, char **argv)
{
	struct query_item *items = NULL;
	struct event_base *base = NULL;
	struct resolve_ctx *ctx = NULL;
	struct query_run run = { 0, NULL };
	char err[512], reply[POLICY_REASON_MAX + 16], clean[256];
	int verbose = 0, opt, status = EXIT_OK;
	size_t n;

	optind = 1;
	while ((opt = getopt(argc, argv, "+v")) != -1) {
		if (opt != 'v') {
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
		verbose = 1;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	n = (size_t)argc;
	if ((items = calloc(n, sizeof(*items))) == NULL ||
	    (base = event_base_new()) == NULL) {
		fprintf(stderr, "danemap: out of memory\n");
		status = EXIT_SOFTWARE;
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
			status = EXIT_CONFIG;
			goto out;
		}
		items[i].job = resolve_start(ctx, &items[i].key,
		    verbose ? RESOLVE_EVIDENCE : 0, query_done, &run);
		if (items[i].job == NULL) {
			fprintf(stderr, "danemap: cannot start a lookup\n");
			status = EXIT_SOFTWARE;
			goto out;
		}
		run.outstanding++;
	}
	if (run.outstanding > 0)
		event_base_dispatch(base);

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
			status = worse(status, EXIT_NOTFOUND);
			continue;
		}
		if (policy_reply_format(resolve_job_decision(items[i].job),
		        reply, sizeof(reply)) < 0) {
			status = EXIT_SOFTWARE;
			goto out;
		}
		printf("%s\n", reply);
		if (verbose)
			print_evidence(items[i].job);
		status = worse(status,
		    exit_for(resolve_job_decision(items[i].job)->reply));
	}
	/* The answers go out before anything is torn down, so nothing at
	 * exit can lose them; a write that failed is an error of its own. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "danemap: cannot write the answers: %s\n",
		    strerror(errno));
		status = EXIT_IOERR;
	}
out:
	if (items != NULL)
		for (size_t i = 0; i < n; i++)
			resolve_job_free(items[i].job);
	free(items);
	resolve_ctx_free(ctx);
	if (base != NULL)
		event_base_free(base);
	return status;
}

static int
cmd_warm(const struct config *cfg, int argc, char **argv)
{
	struct warm_stats st;
	char err[1024];
	char **lists;
	size_t n = 0;
	int opt, rc;

	if ((lists = calloc((size_t)argc + 1, sizeof(*lists))) == NULL)
		return EXIT_SOFTWARE;
	optind = 1;
	while ((opt = getopt(argc, argv, "+f:")) != -1) {
		if (opt != 'f') {
			free(lists);
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
		lists[n++] = optarg;
	}
	if (optind != argc) {
		free(lists);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	rc = warm_run(cfg, lists, n, isatty(STDERR_FILENO) ? stderr : NULL, &st,
	    err, sizeof(err));
	free(lists);
	printf("warm: %zu keys (cdb %zu, journal %zu, lists %zu; %zu invalid "
	       "list lines) in %.2f s; resolved in %.2f s, %.1f keys/s\n",
	    st.keys, st.from_cdb, st.from_journal, st.from_lists, st.invalid,
	    st.seconds, st.resolve_seconds,
	    st.resolve_seconds > 0 ? (double)st.keys / st.resolve_seconds
	                           : 0.0);
	printf("warm: dane-only %zu, dane %zu, notfound %zu, temp %zu "
	       "(previous kept %zu, dropped %zu)\n",
	    st.dane_only, st.dane, st.notfound, st.temp, st.kept, st.dropped);
	if (rc < 0) {
		fprintf(stderr,
		    "danemap: warm: %s; the old cache file is "
		    "unchanged\n",
		    err);
		return EXIT_CANTCREAT;
	}
	printf("warm: wrote %s (%zu records); %zu late journal keys kept for "
	       "the next run\n",
	    cfg->cache_file, st.written, st.handed_back);
	if (rc == CDBWRITE_NOT_DURABLE) {
		/* In place and in use: only a power cut could undo it. */
		fprintf(stderr,
		    "danemap: warm: the new cache file is in place, but %s: "
		    "it may not survive a power cut\n",
		    err);
		return EXIT_IOERR;
	}
	return EXIT_OK;
}

static void
format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

static int
dump_record(const char *key, size_t key_len, enum record_status status,
    const struct record *rec, void *arg)
{
	time_t now = *(const time_t *)arg;
	char clean[600], when[64];

	log_sanitize(clean, sizeof(clean), key, key_len, 300);
	if (status != RECORD_OK) {
		printf("%s\t?\t-\tcdb (%s record, ignored)\n", clean,
		    status == RECORD_UNKNOWN_VERSION ? "unknown version"
		                                     : "corrupt");
		return 0;
	}
	format_time((time_t)rec->expires, when, sizeof(when));
	printf("%s\t%s\t%s\tcdb%s\n", clean, record_reply_word(rec->reply),
	    when, now >= (time_t)rec->expires ? " (expired)" : "");
	return 0;
}

static int
dump_journal_key(const char *key, size_t len, void *arg)
{
	char clean[600];

	(void)arg;
	printf("%s\t-\t-\tjournal\n",
	    log_sanitize(clean, sizeof(clean), key, len, 300));
	return 0;
}

static int
dump_rotated(const char *file, void *arg)
{
	return journal_read(file, dump_journal_key, arg, NULL);
}

static int
cmd_dump(const struct config *cfg, int argc, char **argv)
{
	char err[1024], journal[CONFIG_PATH_MAX + 16];
	time_t now = time(NULL);
	int status = EXIT_OK;

	(void)argv;
	if (argc != 1) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	printf("# key\treply\texpires\tsource\n");
	if (store_cdb_scan(cfg->cache_file, dump_record, &now, err,
	        sizeof(err)) != 0) {
		fprintf(stderr, "danemap: dump: %s\n", err);
		status = EXIT_NOINPUT;
	}
	snprintf(journal, sizeof(journal), "%s/journal", cfg->state_dir);
	(void)journal_read(journal, dump_journal_key, NULL, NULL);
	(void)journal_rotated_each(journal, dump_rotated, NULL);
	return status;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct config cfg;
	char err[1024];
	int opt, status;

	log_open("danemap", 1, 0);
	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("danemap %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (config_path != NULL) {
		if (config_load(&cfg, config_path, err, sizeof(err)) != 0) {
			fprintf(stderr, "danemap: %s\n", err);
			return EXIT_CONFIG;
		}
	} else if (config_load(&cfg, CONFIG_DEFAULT_FILE, err, sizeof(err)) !=
	    0) {
		/* No file at the default place: built-in defaults. A file
		 * that exists but is wrong is still an error. */
		FILE *fp = fopen(CONFIG_DEFAULT_FILE, "r");

		if (fp != NULL) {
			fclose(fp);
			fprintf(stderr, "danemap: %s\n", err);
			return EXIT_CONFIG;
		}
		config_defaults(&cfg);
	}
	log_set_level((enum log_level)cfg.log_level);

	if (strcmp(argv[optind], "query") == 0)
		status = cmd_query(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "warm") == 0)
		status = cmd_warm(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "dump") == 0)
		status = cmd_dump(&cfg, argc - optind, argv + optind);
	else {
		fprintf(stderr, "danemap: unknown command \"%s\"\n",
		    argv[optind]);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	/* What a command printed must be out before the exit status says
	 * all went well. */
	if (fflush(stdout) != 0 && status != EXIT_IOERR) {
		fprintf(stderr,
		    "danemap: cannot write to standard output: "
		    "%s\n",
		    strerror(errno));
		status = EXIT_IOERR;
	}
	return status;
}
