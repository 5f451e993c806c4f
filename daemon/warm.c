/*
 * warm: the cache warmer behind `danemap warm` (see warm.h). Wiring only:
 * keys come from cdbread_scan, journal_* and plain list files; answers
 * from the same resolver and policy as the daemon; the file from cdbwrite.
 *
 * Order matters for "nothing is lost": the CDB lock is taken first (one
 * warmer at a time), the journal is rotated before reading, and the
 * rotated journal is removed only after the new CDB is in place and after
 * every key the daemon wrote to it late was handed back to the live
 * journal.
 */
#include "warm.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdbread.h"
#include "cdbwrite.h"
#include "cli.h"
#include "elapsed.h"
#include "journal.h"
#include "mapkey.h"
#include "record.h"
#include "resolve.h"
#include "store.h"
#include "stsfetch.h"
#include "stsrecord.h"
#include "xalloc.h"

enum { FROM_CDB = 1, FROM_JOURNAL = 2, FROM_LIST = 4 };

struct warm;

struct warm_key {
	struct warm *run; /* set when its lookup starts */
	char *key;
	unsigned from;
	bool has_old;
	struct record old; /* its sts is old_sts, our copy */
	char *old_sts;
	bool done;
	struct policy_decision decision;
	/* after MTA-STS: the record to write, its policy text our own */
	bool has_sts_rec;
	struct record sts_rec;
	char *sts_text;
	struct resolve_job *job; /* kept while its policy is fetched */
};

struct warm {
	const struct config *cfg;
	struct warm_key *keys;
	size_t count, cap;
	/* resolution */
	struct event_base *base;
	struct resolve_ctx *ctx;
	struct stsfetch_ctx *fetcher; /* NULL unless mta_sts */
	size_t next, running, finished;
	struct event *progress_ev;
	FILE *progress;
	struct timespec started;
	struct warm_stats *stats;
	/* journal handback */
	struct journal *live;
	time_t now;
};

static void
add_key(struct warm *w, const char *key, size_t len, unsigned from,
    const struct record *old)
{
	struct warm_key *k;

	/* Out of memory ends the run (xalloc.h): a key list cut short
	 * would write a cache file without those keys. */
	if (w->count == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->keys = xrealloc(w->keys, w->cap * sizeof(*w->keys));
	}
	k = &w->keys[w->count];
	memset(k, 0, sizeof(*k));
	k->key = xstrndup(key, len);
	k->from = from;
	if (old != NULL) {
		k->has_old = true;
		k->old = *old;
		/* the scan's buffer is gone after this call */
		if (old->sts != NULL)
			k->old.sts = k->old_sts =
			    xstrndup(old->sts, old->sts_len);
	}
	w->count++;
}

/* Only keys that parse back to themselves are looked up. */
static bool
lookup_key(const char *key, size_t len, struct mapkey *mk)
{
	return mapkey_parse(key, len, mk, NULL) == MAPKEY_LOOKUP &&
	    strlen(mk->norm) == len && memcmp(mk->norm, key, len) == 0;
}

static int
from_cdb(const char *key, size_t len, enum record_status status,
    const struct record *rec, void *arg)
{
	struct warm *w = arg;
	struct mapkey mk;

	if (!lookup_key(key, len, &mk))
		return 0;
	add_key(w, key, len, FROM_CDB,
	    status == RECORD_OK && rec->reply != POLICY_REPLY_TEMP ? rec
	                                                           : NULL);
	return 0;
}

static int
from_journal(const char *key, size_t len, void *arg)
{
	struct warm *w = arg;
	struct mapkey mk;

	if (!lookup_key(key, len, &mk))
		return 0;
	add_key(w, key, len, FROM_JOURNAL, NULL);
	return 0;
}

static int
read_rotated(const char *file, void *arg)
{
	return journal_read(file, from_journal, arg, NULL) == 0 ? 0 : -1;
}

/* A list holds keys as Postfix sends them; they are normalised here. */
static void
from_list_line(const char *line, size_t len, void *arg)
{
	struct warm *w = arg;
	struct mapkey mk;

	if (mapkey_parse(line, len, &mk, NULL) != MAPKEY_LOOKUP) {
		w->stats->invalid++;
		return;
	}
	add_key(w, mk.norm, strlen(mk.norm), FROM_LIST, NULL);
}

static int
from_list(struct warm *w, const char *path, char *err, size_t err_size)
{
	return cli_read_keys(path, from_list_line, w, err, err_size);
}

static int
key_compare(const void *a, const void *b)
{
	const struct warm_key *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Sort, merge duplicates (keeping any previous record), count origins. */
static void
merge_keys(struct warm *w)
{
	size_t out = 0;

	if (w->count == 0)
		return; /* keys is NULL then: qsort must not see it */
	qsort(w->keys, w->count, sizeof(*w->keys), key_compare);
	for (size_t i = 0; i < w->count; i++) {
		if (out > 0 &&
		    strcmp(w->keys[out - 1].key, w->keys[i].key) == 0) {
			struct warm_key *k = &w->keys[out - 1];

			k->from |= w->keys[i].from;
			if (!k->has_old && w->keys[i].has_old) {
				k->has_old = true;
				k->old = w->keys[i].old;
				k->old_sts = w->keys[i].old_sts;
				w->keys[i].old_sts = NULL;
			}
			free(w->keys[i].key);
			free(w->keys[i].old_sts);
			continue;
		}
		w->keys[out++] = w->keys[i];
	}
	w->count = out;
	for (size_t i = 0; i < w->count; i++) {
		w->stats->from_cdb += !!(w->keys[i].from & FROM_CDB);
		w->stats->from_journal += !!(w->keys[i].from & FROM_JOURNAL);
		w->stats->from_lists += !!(w->keys[i].from & FROM_LIST);
	}
	w->stats->keys = w->count;
}

static void start_more(struct warm *w);

/* A key is done: the next one may start, and the loop ends with the
 * last. */
static void
key_finished(struct warm *w)
{
	w->running--;
	w->finished++;
	start_more(w);
	if (w->running == 0 && w->next == w->count)
		event_base_loopbreak(w->base);
}

/* The record after MTA-STS (stsrecord), kept until the file is written. */
static void
sts_keep(struct warm_key *k, enum sts_plan plan,
    const struct sts_cached *policy, bool failed)
{
	static char text[STS_CACHED_TEXT_MAX + 1];
	const struct config *cfg = k->run->cfg;

	stsrecord_make(&k->decision, resolve_job_sts(k->job), plan, policy,
	    failed, k->run->now, cfg->min_ttl, cfg->max_ttl, &k->sts_rec, text);
	if (k->sts_rec.sts != NULL)
		k->sts_rec.sts = k->sts_text =
		    xstrndup(k->sts_rec.sts, k->sts_rec.sts_len);
	k->has_sts_rec = true;
	resolve_job_free(k->job);
	k->job = NULL;
}

/* The policy cached in the previous file for k, if any. */
static const struct sts_cached *
old_policy(const struct warm_key *k, struct sts_cached *c)
{
	return k->has_old ? stsrecord_cached(k->old.sts, k->old.sts_len, c)
	                  : NULL;
}

static void
sts_fetched(const struct stsfetch_result *res, void *arg)
{
	struct warm_key *k = arg;
	struct warm *w = k->run;
	static struct sts_cached cached, fresh;
	const struct sts_cached *old = old_policy(k, &cached);

	if (res->status == STSFETCH_OK) {
		w->stats->sts_fetched++;
		stsrecord_fetched(&fresh, resolve_job_sts(k->job), &res->policy,
		    w->now);
		sts_keep(k, STS_PLAN_CACHED, &fresh, false);
	} else {
		w->stats->sts_fetch_failed++;
		sts_keep(k, sts_plan_failed(old, (int64_t)w->now), old, true);
	}
	key_finished(w);
}

/* After a DANE NOTFOUND: RFC 8461 §5.1, with a proactive refresh of a
 * policy past half its life. True if a fetch was started. */
static bool
warm_sts(struct warm_key *k)
{
	struct warm *w = k->run;
	const struct resolve_sts *sts = resolve_job_sts(k->job);
	static struct sts_cached cached;
	const struct sts_cached *old = old_policy(k, &cached);
	bool refresh = old != NULL && sts_refresh_due(old, (int64_t)w->now);
	enum sts_plan plan =
	    sts_plan(sts->have_id, sts->id, old, (int64_t)w->now, refresh);
	const char *addrs[RESOLVE_STS_ADDRS];
	size_t n = stsrecord_addrs(sts, addrs);

	if (plan == STS_PLAN_FETCH) {
		struct mapkey mk;

		(void)lookup_key(k->key, strlen(k->key), &mk);
		if (n > 0 &&
		    stsfetch_start(w->fetcher, mk.name, addrs, n,
		        w->cfg->mta_sts_port, sts_fetched, k) != NULL)
			return true;
		w->stats->sts_fetch_failed++;
		sts_keep(k, sts_plan_failed(old, (int64_t)w->now), old, true);
		return false;
	}
	sts_keep(k, plan, old, false);
	return false;
}

static void
job_done(struct resolve_job *job, void *arg)
{
	struct warm_key *k = arg;
	struct warm *w = k->run;

	k->decision = *resolve_job_decision(job);
	k->done = true;
	k->job = job;
	if (k->decision.reply == POLICY_REPLY_NOTFOUND &&
	    resolve_job_sts(job)->asked && warm_sts(k))
		return; /* the fetch finishes the key */
	resolve_job_free(k->job);
	k->job = NULL;
	key_finished(w);
}

static void
start_more(struct warm *w)
{
	while (w->next < w->count &&
	    w->running < (size_t)w->cfg->warm_concurrency) {
		struct warm_key *k = &w->keys[w->next++];
		struct mapkey mk;
		struct resolve_job *job;

		if (!lookup_key(k->key, strlen(k->key), &mk)) {
			w->finished++;
			continue;
		}
		k->run = w;
		job = resolve_start(w->ctx, &mk,
		    w->fetcher != NULL ? RESOLVE_STS : 0, job_done, k);
		if (job == NULL) {
			/* counts as a transient failure: keep the old */
			k->done = true;
			k->decision.reply = POLICY_REPLY_TEMP;
			k->decision.transient = true;
			snprintf(k->decision.reason, sizeof(k->decision.reason),
			    "cannot start a lookup");
			w->finished++;
			continue;
		}
		w->running++;
	}
}

static void
draw_progress(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;

	(void)fd;
	(void)what;
	fprintf(w->progress, "\rwarm: %zu/%zu done, %zu in flight, %.1f s ",
	    w->finished, w->count, w->running, elapsed_ms(&w->started) / 1e3);
	fflush(w->progress);
}

static int
resolve_all(struct warm *w, char *err, size_t err_size)
{
	struct timeval tick = { 0, 250000 };

	if ((w->base = event_base_new()) == NULL) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if ((w->ctx = resolve_ctx_new(w->cfg, w->base, err, err_size)) == NULL)
		return -1;
	if (w->cfg->mta_sts &&
	    (w->fetcher = stsfetch_ctx_new(w->base, w->cfg->mta_sts_ca_file,
	         w->cfg->mta_sts_timeout_ms, err, err_size)) == NULL)
		return -1;
	if (w->progress != NULL) {
		w->progress_ev =
		    xevent_new(w->base, -1, EV_PERSIST, draw_progress, w);
		xevent_add(w->progress_ev, &tick);
	}
	start_more(w);
	if (w->running > 0)
		event_base_dispatch(w->base);
	if (w->progress != NULL) {
		draw_progress(-1, 0, w);
		fputc('\n', w->progress);
	}
	return 0;
}

/* Write every answer, or the previous record when the refresh failed
 * transiently and that record is not stale yet. */
static int
write_cdb(struct warm *w, struct cdbwrite *cw, char *err, size_t err_size)
{
	struct warm_stats *st = w->stats;

	for (size_t i = 0; i < w->count; i++) {
		struct warm_key *k = &w->keys[i];
		struct record rec;
		char val[RECORD_MAX + 1];
		int len;

		if (!k->done)
			continue;
		switch (k->decision.reply) {
		case POLICY_REPLY_DANE_ONLY:
			st->dane_only++;
			break;
		case POLICY_REPLY_DANE:
			st->dane++;
			break;
		case POLICY_REPLY_NOTFOUND:
			st->notfound++;
			break;
		case POLICY_REPLY_TEMP:
			st->temp++;
			break;
		}
		if (k->decision.reply == POLICY_REPLY_TEMP) {
			if (!k->has_old ||
			    !store_stale_usable((time_t)k->old.expires,
			        k->decision.transient, w->now,
			        w->cfg->stale_ttl)) {
				st->dropped++;
				continue;
			}
			st->kept++;
			rec = k->old;
		} else if (k->has_sts_rec)
			rec = k->sts_rec;
		else {
			memset(&rec, 0, sizeof(rec));
			rec.reply = k->decision.reply;
			rec.expires = (int64_t)store_expiry(w->now,
			    k->decision.ttl, w->cfg->min_ttl, w->cfg->max_ttl);
			rec.stored = (int64_t)w->now;
		}
		st->sts_policies += rec.sts != NULL;
		if ((len = record_encode(&rec, val, sizeof(val))) < 0)
			continue;
		if (cdbwrite_add(cw, k->key, strlen(k->key), val, (size_t)len,
		        err, err_size) != 0)
			return -1;
	}
	st->written = cdbwrite_count(cw);
	return 0;
}

static int
find_key(const struct warm *w, const char *key, size_t len)
{
	size_t lo = 0, hi = w->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(w->keys[mid].key, key, len);

		if (c == 0 && w->keys[mid].key[len] != '\0')
			c = 1;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
hand_back(const char *key, size_t len, void *arg)
{
	struct warm *w = arg;

	if (!find_key(w, key, len)) {
		if (journal_append(w->live, key, len, w->now) == 0)
			w->stats->handed_back++;
	}
	return 0;
}

static int
hand_back_file(const char *file, void *arg)
{
	struct warm *w = arg;

	if (journal_read(file, hand_back, w, NULL) == 0)
		(void)unlink(file);
	return 0;
}

int
warm_run(const struct config *cfg, char *const *lists, size_t n, FILE *progress,
    struct warm_stats *stats, char *err, size_t err_size)
{
	struct warm w = { .cfg = cfg, .progress = progress, .stats = stats };
	struct cdbwrite *cw = NULL;
	char journal[CONFIG_PATH_MAX + 16], rotated[CONFIG_PATH_MAX + 64];
	struct timespec rotated_at, resolving;
	int rc = -1, rotated_now;

	memset(stats, 0, sizeof(*stats));
	elapsed_start(&w.started);
	w.now = time(NULL);
	if (cfg->cache_file[0] == '\0') {
		snprintf(err, err_size, "no cache_file configured");
		return -1;
	}
	/* Lock first: a second warmer stops here, before any work. */
	if ((cw = cdbwrite_open(cfg->cache_file, err, err_size)) == NULL)
		return -1;

	if (cdbread_scan(cfg->cache_file, from_cdb, &w, err, err_size) != 0 &&
	    errno != ENOENT) {
		/* An unreadable old file is no reason to stop: its keys
		 * come back through the journal. Say it in the summary. */
		fprintf(stderr, "danemap: warm: ignoring %s\n", err);
	}
	(void)journal_path(cfg->state_dir, journal, sizeof(journal));
	if ((rotated_now = journal_rotate(journal, w.now, rotated,
	         sizeof(rotated))) < 0) {
		snprintf(err, err_size, "cannot rotate %s: %s", journal,
		    strerror(errno));
		goto out;
	}
	elapsed_start(&rotated_at);
	if (journal_rotated_each(journal, read_rotated, &w) < 0 &&
	    errno != ENOENT) {
		snprintf(err, err_size, "cannot read %s: %s", cfg->state_dir,
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (from_list(&w, lists[i], err, err_size) != 0)
			goto out;
	merge_keys(&w);

	elapsed_start(&resolving);
	if (resolve_all(&w, err, err_size) != 0)
		goto out;
	stats->resolve_seconds = elapsed_ms(&resolving) / 1e3;
	if (write_cdb(&w, cw, err, err_size) != 0)
		goto out;
	rc = cdbwrite_commit(cw, err, err_size);
	cw = NULL;
	if (rc < 0)
		goto out; /* rotated journals stay for the next run */

	/* The daemon notices the rotation within a second; give it two,
	 * then return whatever it wrote late to the live journal. */
	while (rotated_now == 1 && elapsed_ms(&rotated_at) / 1e3 < 2.0)
		usleep(100000);
	w.now = time(NULL);
	if ((w.live = journal_open(journal)) != NULL) {
		(void)journal_rotated_each(journal, hand_back_file, &w);
		journal_close(w.live);
	}
out:
	cdbwrite_abort(cw);
	stats->seconds = elapsed_ms(&w.started) / 1e3;
	if (w.progress_ev != NULL)
		event_free(w.progress_ev);
	for (size_t i = 0; i < w.count; i++) /* before what they run on */
		resolve_job_free(w.keys[i].job);
	stsfetch_ctx_free(w.fetcher);
	resolve_ctx_free(w.ctx);
	if (w.base != NULL)
		event_base_free(w.base);
	for (size_t i = 0; i < w.count; i++) {
		free(w.keys[i].key);
		free(w.keys[i].old_sts);
		free(w.keys[i].sts_text);
	}
	free(w.keys);
	return rc;
}

int
warm_main(const struct config *cfg, int argc, char **argv)
{
	struct warm_stats st;
	char err[1024];
	char **lists;
	size_t n = 0;
	int opt, rc;

	lists = xcalloc((size_t)argc + 1, sizeof(*lists));
	optind = 1;
	while ((opt = getopt(argc, argv, "+f:")) != -1) {
		if (opt != 'f') {
			free(lists);
			return cli_usage(stderr);
		}
		lists[n++] = optarg;
	}
	if (optind != argc) {
		free(lists);
		return cli_usage(stderr);
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
	printf("warm: mta-sts: %zu policies fetched, %zu fetches failed; "
	       "%zu records with a policy\n",
	    st.sts_fetched, st.sts_fetch_failed, st.sts_policies);
	if (rc < 0) {
		fprintf(stderr,
		    "danemap: warm: %s; the old cache file is "
		    "unchanged\n",
		    err);
		return EX_CANTCREAT;
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
		return EX_IOERR;
	}
	return EX_OK;
}
