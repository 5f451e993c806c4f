/*
 * stats.c: what danemapd has done since it started, as Prometheus text
 * (see server.h): GET /metrics (scrape.c) and `danemap stats` (control.c)
 * serve the same text. Gauges are read when the text is made; counters
 * are the totals the daemon keeps (struct server_counters), plus the
 * answers the statistics line has not added in yet. Every label set is
 * fixed here: no series per domain.
 */
#include <stdio.h>
#include <time.h>

#include "journal.h"
#include "server.h"

/* The "reply" label of an answer kind. */
static const char *const reply_labels[KIND_COUNT] = {
	[KIND_DANE_ONLY] = "dane_only",
	[KIND_DANE] = "dane",
	[KIND_NOTFOUND] = "notfound",
	[KIND_STS] = "secure", /* Postfix's policy level for MTA-STS */
	[KIND_TEMP] = "temp",
	[KIND_PERM] = "perm",
};

static const char *const failure_labels[DNSFAIL_COUNT] = {
	[DNSFAIL_BOGUS] = "bogus",
	[DNSFAIL_INDETERMINATE] = "indeterminate",
	[DNSFAIL_TIMEOUT] = "timeout",
	[DNSFAIL_NETWORK] = "network",
	[DNSFAIL_SERVFAIL] = "servfail",
	[DNSFAIL_REFUSED] = "refused",
	[DNSFAIL_RCODE] = "other_rcode",
	[DNSFAIL_CNAME] = "cname",
	[DNSFAIL_MISMATCH] = "mismatch",
	[DNSFAIL_OTHER] = "other",
};

enum dns_failure_kind
dns_failure_kind_of(const struct policy_decision *d)
{
	switch (d->failure) {
	case POLICY_FAIL_BOGUS:
		return DNSFAIL_BOGUS;
	case POLICY_FAIL_INDETERMINATE:
		return DNSFAIL_INDETERMINATE;
	case POLICY_FAIL_TIMEOUT:
		return DNSFAIL_TIMEOUT;
	case POLICY_FAIL_NETWORK:
		return DNSFAIL_NETWORK;
	case POLICY_FAIL_RCODE:
		return d->rcode == 2 ? DNSFAIL_SERVFAIL
		    : d->rcode == 5  ? DNSFAIL_REFUSED
		                     : DNSFAIL_RCODE;
	case POLICY_FAIL_CNAME:
		return DNSFAIL_CNAME;
	case POLICY_FAIL_MISMATCH:
		return DNSFAIL_MISMATCH;
	case POLICY_FAIL_NONE:
		break;
	}
	return DNSFAIL_OTHER;
}

/* A family of one series. */
static void
one(struct metrics_text *t, const char *name, enum metrics_type type,
    const char *help, uint64_t value)
{
	metrics_family(t, name, type, help);
	metrics_sample(t, name, NULL, NULL, value);
}

static void
answers(struct server *srv, struct metrics_text *t)
{
	const struct answer_stats *now = &srv->stats;
	const struct server_counters *c = &srv->totals;

	metrics_family(t, "danemap_answers_total", METRICS_COUNTER,
	    "Answers given, by reply (secure: an MTA-STS policy enforced).");
	for (unsigned i = 0; i < KIND_COUNT; i++)
		metrics_sample(t, "danemap_answers_total", "reply",
		    reply_labels[i], c->by_kind[i] + now->by_kind[i]);
	metrics_family(t, "danemap_answers_by_source_total", METRICS_COUNTER,
	    "Answers given, by where they came from.");
	for (unsigned i = 0; i < SOURCE_COUNT; i++)
		metrics_sample(t, "danemap_answers_by_source_total", "source",
		    answer_source_name((enum answer_source)i),
		    c->by_source[i] + now->by_source[i]);
}

static void
lookups(struct server *srv, struct metrics_text *t)
{
	const struct server_counters *c = &srv->totals;
	size_t queued = 0;
	struct lookup *lk;

	TAILQ_FOREACH(lk, &srv->queued, link)
		queued++;
	one(t, "danemap_lookups_running", METRICS_GAUGE,
	    "Live lookups resolving now.", srv->running_count);
	one(t, "danemap_lookups_queued", METRICS_GAUGE,
	    "Live lookups waiting for one of max_lookups.", queued);
	metrics_histogram(t, "danemap_lookup_duration_seconds",
	    "How long the DNS part of each live lookup took.",
	    &c->lookup_seconds);
	metrics_family(t, "danemap_dns_failures_total", METRICS_COUNTER,
	    "Live lookups that answered TEMP, by the DNS failure behind it.");
	for (unsigned i = 0; i < DNSFAIL_COUNT; i++)
		metrics_sample(t, "danemap_dns_failures_total", "kind",
		    failure_labels[i], c->dns_failures[i]);
	metrics_family(t, "danemap_mta_sts_fetches_total", METRICS_COUNTER,
	    "MTA-STS policy fetches, by result (not_started: due, but no "
	    "address or no free slot).");
	for (unsigned i = 0; i <= STSFETCH_STATUS_COUNT; i++)
		metrics_sample(t, "danemap_mta_sts_fetches_total", "result",
		    i < STSFETCH_STATUS_COUNT
		        ? stsfetch_status_name((enum stsfetch_status)i)
		        : "not_started",
		    c->sts_fetches[i]);
	one(t, "danemap_mta_sts_fetches_running", METRICS_GAUGE,
	    "MTA-STS policy fetches under way.", srv->fetch_count);
}

static void
caches(struct server *srv, struct metrics_text *t, time_t now)
{
	struct store_cdb_info info;
	size_t alerted, watched = tempwatch_count(srv->tempwatch, &alerted);
	size_t active = 0;
	long long journal = journal_size(srv->journal);

	store_cdb_info(srv->store, now, &info);
	one(t, "danemap_memory_cache_entries", METRICS_GAUGE,
	    "Answers held in memory, fresh or expired.",
	    store_count(srv->store));
	one(t, "danemap_cache_file_open", METRICS_GAUGE,
	    "1 if a cache file is in use.", info.open);
	one(t, "danemap_cache_file_generation", METRICS_GAUGE,
	    "Cache files taken into use since start: it changes with each "
	    "new file.",
	    info.files_opened);
	one(t, "danemap_cache_file_records", METRICS_GAUGE,
	    "Records in the cache file in use.", info.records);
	one(t, "danemap_cache_file_age_seconds", METRICS_GAUGE,
	    "Seconds since the cache file in use was written.",
	    (uint64_t)info.age);
	one(t, "danemap_journal_bytes", METRICS_GAUGE,
	    "Size of the journal of live keys the next warm run reads.",
	    journal > 0 ? (uint64_t)journal : 0);
	one(t, "danemap_flushed_keys_total", METRICS_COUNTER,
	    "Keys flushed through the control socket.",
	    srv->totals.keys_flushed);
	one(t, "danemap_flushes_all_total", METRICS_COUNTER,
	    "Flushes of every key through the control socket.",
	    srv->totals.flushes_all);
	one(t, "danemap_temp_keys_watched", METRICS_GAUGE,
	    "Keys whose last answer was TEMP.", watched);
	one(t, "danemap_temp_keys_alerted", METRICS_GAUGE,
	    "Keys answering TEMP for longer than temp_alert_after: mail to "
	    "them is piling up.",
	    alerted);
	for (size_t i = 0; i < srv->overrides.n; i++)
		if (override_applies(&srv->overrides.v[i], (int64_t)now))
			active++;
	one(t, "danemap_overrides_active", METRICS_GAUGE,
	    "Lines of overrides_file in force.", active);
}

void
stats_render(struct server *srv, struct metrics_text *t)
{
	const struct server_counters *c = &srv->totals;
	time_t now = time(NULL);

	metrics_family(t, "danemap_build_info", METRICS_GAUGE,
	    "The running version.");
	metrics_sample(t, "danemap_build_info", "version", PACKAGE_VERSION, 1);
	metrics_family(t, "danemap_start_time_seconds", METRICS_GAUGE,
	    "When danemapd started, in Unix time.");
	metrics_sample(t, "danemap_start_time_seconds", NULL, NULL,
	    (uint64_t)c->started);
	answers(srv, t);
	lookups(srv, t);
	caches(srv, t, now);
	one(t, "danemap_connections_open", METRICS_GAUGE,
	    "Client connections open now.", srv->conn_count);
	one(t, "danemap_connections_accepted_total", METRICS_COUNTER,
	    "Client connections accepted.", c->conns_accepted);
	one(t, "danemap_connections_refused_total", METRICS_COUNTER,
	    "Client connections refused at max_connections (or stopping).",
	    c->conns_refused);
	one(t, "danemap_control_refused_total", METRICS_COUNTER,
	    "Control socket connections refused: neither root nor the "
	    "daemon's user.",
	    c->control_refused);
}
