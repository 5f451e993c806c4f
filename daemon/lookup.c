/*
 * lookup.c: live lookups (see server.h). One lookup per normalised key
 * however many requests wait on it, found through a hash table (seeded:
 * keys are chosen by whoever sends mail); at most max_lookups run, the
 * rest wait in a queue until a slot frees or lookup_deadline passes (then
 * TEMP). A lookup's decision is cached unless TEMP and its key journalled
 * for the warmer; a TEMP after a transient failure may be replaced by the
 * expired answer the caches still held (store_stale_usable).
 *
 * MTA-STS (RFC 8461) follows a DANE NOTFOUND for a domain key: lib/sts's
 * plan says, from the _mta-sts record found now and the policy cached
 * with the key's last answer, whether the cached policy applies, there
 * is none, or a fetch is due. A fetch runs on the loop (lib/stsfetch)
 * while the lookup, no longer holding a lookup slot, stays in the table:
 * later requests for the domain wait on the same fetch. At most
 * mta_sts_max_fetches run; one that cannot start, or fails, leaves the
 * cached policy in force while it lasts (§5.1), else no policy, and the
 * answer then lives only min_ttl so the fetch is tried again soon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elapsed.h"
#include "journal.h"
#include "keyhash.h"
#include "stsrecord.h"
#include "server.h"
#include "xalloc.h"

/* ------------------------------------------------------------ the table */

void
lookup_table_init(struct lookup_table *t)
{
	t->mask = 63;
	t->count = 0;
	t->buckets = xcalloc(t->mask + 1, sizeof(*t->buckets));
	t->seed = keyhash_seed();
}

static struct lookup *
table_find(const struct lookup_table *t, const char *norm, uint32_t hash)
{
	for (struct lookup *lk = t->buckets[hash & t->mask]; lk != NULL;
	     lk = lk->chain)
		if (lk->hash == hash && strcmp(lk->key.norm, norm) == 0)
			return lk;
	return NULL;
}

/* Add lk; the table doubles when it holds as many lookups as buckets. */
static void
table_add(struct lookup_table *t, struct lookup *lk)
{
	if (t->count > t->mask) {
		size_t mask = t->mask * 2 + 1;
		struct lookup **b = xcalloc(mask + 1, sizeof(*b));

		for (size_t i = 0; i <= t->mask; i++)
			while (t->buckets[i] != NULL) {
				struct lookup *m = t->buckets[i];

				t->buckets[i] = m->chain;
				m->chain = b[m->hash & mask];
				b[m->hash & mask] = m;
			}
		free(t->buckets);
		t->buckets = b;
		t->mask = mask;
	}
	lk->chain = t->buckets[lk->hash & t->mask];
	t->buckets[lk->hash & t->mask] = lk;
	t->count++;
}

static void
table_remove(struct lookup_table *t, struct lookup *lk)
{
	for (struct lookup **pp = &t->buckets[lk->hash & t->mask]; *pp != NULL;
	     pp = &(*pp)->chain)
		if (*pp == lk) {
			*pp = lk->chain;
			t->count--;
			return;
		}
}

/* ------------------------------------------------------------ lookups */

/* Free lk, out of the table (and of the running and queued lists). */
static void
lookup_free(struct lookup *lk)
{
	table_remove(&lk->srv->lookups, lk);
	if (lk->queue_timer != NULL)
		event_free(lk->queue_timer);
	if (lk->fetch != NULL) {
		stsfetch_cancel(lk->fetch);
		lk->srv->fetch_count--;
	}
	resolve_job_free(lk->job);
	free(lk->stale_sts);
	free(lk);
}

/* The next request waiting on lk, taken off its list; NULL if none. */
static struct request *
next_waiter(struct lookup *lk)
{
	struct request *r = TAILQ_FIRST(&lk->waiters);

	if (r != NULL) {
		TAILQ_REMOVE(&lk->waiters, r, waiting);
		r->lookup = NULL;
	}
	return r;
}

/* Answer every request waiting on lk with TEMP reason (a failure of ours,
 * never of the DNS: transient), then free lk. */
static void
lookup_fail(struct lookup *lk, const char *reason, enum answer_source source)
{
	struct policy_decision d;
	struct request *r;

	memset(&d, 0, sizeof(d));
	d.reply = POLICY_REPLY_TEMP;
	d.transient = true;
	snprintf(d.reason, sizeof(d.reason), "%s", reason);
	while ((r = next_waiter(lk)) != NULL)
		request_answer(r, &d, source);
	lookup_free(lk);
}

static void lookup_done(struct resolve_job *job, void *arg);

static void
lookup_start(struct server *srv, struct lookup *lk)
{
	lk->ctx = srv->resolver;
	lk->job = resolve_start(lk->ctx, &lk->key,
	    srv->cfg.mta_sts && srv->fetcher != NULL ? RESOLVE_STS : 0,
	    lookup_done, lk);
	if (lk->job == NULL) {
		lookup_fail(lk, "cannot start a lookup", SOURCE_LIVE);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->running, lk, link);
	srv->running_count++;
}

static void
start_queued(struct server *srv)
{
	struct lookup *lk;

	while ((lk = TAILQ_FIRST(&srv->queued)) != NULL &&
	    srv->running_count < srv->cfg.max_lookups) {
		TAILQ_REMOVE(&srv->queued, lk, link);
		lk->queued = false;
		event_free(lk->queue_timer);
		lk->queue_timer = NULL;
		lookup_start(srv, lk);
	}
}

/* Remember an answer: in memory, and its key in the journal. */
static void
lookup_keep(struct server *srv, const struct lookup *lk,
    const struct record *rec, time_t now)
{
	size_t len = strlen(lk->key.norm);

	if (!lk->flushed) /* else the flush would be undone */
		(void)store_put(srv->store, lk->key.norm, len, rec);
	if (journal_append(srv->journal, lk->key.norm, len, now) != 0 &&
	    !srv->journal_warned) {
		srv->journal_warned = true;
		log_msg(LOG_LEVEL_WARNING,
		    "cannot append to the journal in %s: %s (the warmer will "
		    "not learn live keys; logged once)",
		    srv->cfg.state_dir, strerror(errno));
	}
}

/* Answer every waiter of lk: with frame (an enforced MTA-STS policy) if
 * not NULL, else with d; then free lk. */
static void
lookup_answer(struct lookup *lk, const struct policy_decision *d,
    const char *frame, long frame_len)
{
	enum answer_source source = SOURCE_LIVE;
	struct request *r;

	/* the request that started the lookup first: it is "live" */
	while ((r = next_waiter(lk)) != NULL) {
		if (frame != NULL)
			request_answer_frame(r, frame, (size_t)frame_len,
			    KIND_STS, source, "mta-sts policy enforced");
		else
			request_answer(r, d, source);
		source = SOURCE_SHARED;
	}
	lookup_free(lk);
}

/* The MTA-STS plan carried out: keep the answer (with the policy that
 * applies, if any) and give it. failed: a fetch was due and did not
 * happen or failed, so an answer without a policy is retried soon.
 * fetched: policy was fetched just now for the requests waiting, which
 * it answers whatever its max_age. */
static void
lookup_sts_answer(struct lookup *lk, enum sts_plan plan,
    const struct sts_cached *policy, bool failed, bool fetched, time_t now)
{
	struct server *srv = lk->srv;
	const struct policy_decision *d = resolve_job_decision(lk->job);
	static char text[STS_CACHED_TEXT_MAX + 1], frame[STS_FRAME_MAX];
	struct record rec;
	long frame_len = -1;

	stsrecord_make(d, resolve_job_sts(lk->job), plan, policy, failed, now,
	    srv->cfg.min_ttl, srv->cfg.max_ttl, &rec, text);
	if (rec.sts != NULL)
		frame_len = sts_frame(srv, lk->key.name, rec.sts, rec.sts_len,
		    now, fetched, frame, sizeof(frame));
	lookup_keep(srv, lk, &rec, now);
	lookup_answer(lk, d, frame_len >= 0 ? frame : NULL, frame_len);
}

/* The policy cached with the key's last answer, if any. */
static const struct sts_cached *
lookup_cached(const struct lookup *lk, struct sts_cached *c)
{
	return stsrecord_cached(lk->stale_sts,
	    lk->stale_sts != NULL ? strlen(lk->stale_sts) : 0, c);
}

/* A fetch was due and did not happen (what: "not fetched") or failed
 * ("fetch failed"), for the reason why: logged once, then the cached
 * policy while it lasts (§5.1), else none (§3.3). */
static void
lookup_sts_failed(struct lookup *lk, const struct sts_cached *old,
    const char *what, const char *why, time_t now)
{
	enum sts_plan plan = sts_plan_failed(old, (int64_t)now);
	char key_log[KEY_LOG_MAX];

	log_msg(LOG_LEVEL_NOTICE, "key=%s mta-sts policy %s: %s: %s",
	    key_for_log(key_log, sizeof(key_log), lk->key.norm,
	        strlen(lk->key.norm)),
	    what, why,
	    plan == STS_PLAN_CACHED ? "the cached policy stays in force"
	                            : "no cached policy: none applies");
	lookup_sts_answer(lk, plan, old, true, false, now);
}

static void
lookup_fetched(const struct stsfetch_result *res, void *arg)
{
	struct lookup *lk = arg;
	struct server *srv = lk->srv;
	const struct resolve_sts *sts = resolve_job_sts(lk->job);
	static struct sts_cached cached, fresh;
	const struct sts_cached *old = lookup_cached(lk, &cached);
	time_t now = time(NULL);
	char key_log[KEY_LOG_MAX], detail[300], why[400];

	lk->fetch = NULL;
	TAILQ_REMOVE(&srv->fetching, lk, link);
	srv->fetch_count--;
	srv->totals.sts_fetches[res->status]++;
	if (res->status == STSFETCH_OK) {
		key_for_log(key_log, sizeof(key_log), lk->key.norm,
		    strlen(lk->key.norm));
		log_msg(LOG_LEVEL_INFO,
		    "key=%s mta-sts policy fetched: id=%s mode=%s max_age=%u "
		    "mx=%zu ms=%.1f",
		    key_log, sts->id, sts_mode_name(res->policy.mode),
		    (unsigned)res->policy.max_age, res->policy.mx_count,
		    res->ms);
		stsrecord_fetched(&fresh, sts, &res->policy, now);
		lookup_sts_answer(lk, STS_PLAN_CACHED, &fresh, false, true,
		    now);
	} else {
		snprintf(why, sizeof(why), "%s (%s)",
		    stsfetch_status_name(res->status),
		    log_sanitize(detail, sizeof(detail), res->detail,
		        strlen(res->detail), 250));
		lookup_sts_failed(lk, old, "fetch failed", why, now);
	}
	retired_reap(srv);
	maybe_finish_stop(srv);
}

/* After a DANE NOTFOUND for a domain: what MTA-STS says (RFC 8461 §5.1). */
static void
lookup_sts(struct lookup *lk, time_t now)
{
	struct server *srv = lk->srv;
	const struct resolve_sts *sts = resolve_job_sts(lk->job);
	static struct sts_cached cached;
	const struct sts_cached *old = lookup_cached(lk, &cached);
	enum sts_plan plan =
	    sts_plan(sts->have_id, sts->id, old, (int64_t)now, false);
	const char *why = NULL;

	if (plan != STS_PLAN_FETCH) {
		lookup_sts_answer(lk, plan, old, false, false, now);
		return;
	}
	if (sts->addr_count == 0)
		why = "the policy host has no address";
	else if (srv->fetch_count >= srv->cfg.mta_sts_max_fetches)
		why = "mta_sts_max_fetches fetches are running";
	else {
		const char *addrs[RESOLVE_STS_ADDRS];
		size_t n = stsrecord_addrs(sts, addrs);

		lk->fetch = stsfetch_start(srv->fetcher, lk->key.name, addrs, n,
		    srv->cfg.mta_sts_port, lookup_fetched, lk);
		if (lk->fetch == NULL)
			why = "cannot start a fetch";
	}
	if (why == NULL) {
		TAILQ_INSERT_TAIL(&srv->fetching, lk, link);
		srv->fetch_count++;
		return;
	}
	srv->totals.sts_fetches[STSFETCH_STATUS_COUNT]++; /* not started */
	lookup_sts_failed(lk, old, "not fetched", why, now);
}

static void
lookup_done(struct resolve_job *job, void *arg)
{
	struct lookup *lk = arg;
	struct server *srv = lk->srv;
	const struct policy_decision *d = resolve_job_decision(job);
	time_t now = time(NULL);
	const struct fixed_reply *stale = fixed_reply_of(srv, lk->stale.reply);
	struct request *r;

	TAILQ_REMOVE(&srv->running, lk, link);
	srv->running_count--;
	metrics_observe(&srv->totals.lookup_seconds,
	    resolve_job_elapsed_ms(job) / 1e3);
	if (d->reply == POLICY_REPLY_TEMP)
		srv->totals.dns_failures[dns_failure_kind_of(d)]++;
	if (d->reply == POLICY_REPLY_NOTFOUND && resolve_job_sts(job)->asked &&
	    srv->cfg.mta_sts)        /* (a reload may have turned it off) */
		lookup_sts(lk, now); /* answers now, or after a fetch */
	else if (d->reply != POLICY_REPLY_TEMP) {
		struct record rec = { d->reply,
			store_expiry(now, d->ttl, srv->cfg.min_ttl,
			    srv->cfg.max_ttl),
			now, NULL, 0 };

		lookup_keep(srv, lk, &rec, now);
		lookup_answer(lk, d, NULL, 0);
	} else {
		static char frame[STS_FRAME_MAX];
		long frame_len = -1;

		if (!lk->has_stale || stale == NULL ||
		    !store_stale_usable(lk->stale.expires, d->transient, now,
		        srv->cfg.stale_ttl))
			stale = NULL;
		else if (lk->stale_sts != NULL && srv->cfg.mta_sts &&
		    lk->stale.reply == POLICY_REPLY_NOTFOUND)
			frame_len = sts_frame(srv, lk->key.name, lk->stale_sts,
			    strlen(lk->stale_sts), now, false, frame,
			    sizeof(frame));
		while (stale != NULL && (r = next_waiter(lk)) != NULL) {
			char key_log[KEY_LOG_MAX];

			log_msg(LOG_LEVEL_NOTICE,
			    "key=%s refresh failed (%s): serving the expired "
			    "answer",
			    key_for_log(key_log, sizeof(key_log), r->key,
			        r->key_len),
			    d->reason);
			if (frame_len >= 0)
				request_answer_frame(r, frame,
				    (size_t)frame_len, KIND_STS, SOURCE_STALE,
				    "");
			else
				request_answer_fixed(r, stale, SOURCE_STALE);
		}
		lookup_answer(lk, d, NULL, 0);
	}
	start_queued(srv);
	retired_reap(srv);
	maybe_finish_stop(srv);
}

/* A lookup that waited in the queue past the deadline: answer TEMP rather
 * than run into Postfix's own timeout. */
static void
lookup_queue_expired(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;
	struct server *srv = lk->srv;
	char reason[POLICY_REASON_MAX];

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&srv->queued, lk, link);
	snprintf(reason, sizeof(reason),
	    "server busy: %u lookups already running", srv->cfg.max_lookups);
	lookup_fail(lk, reason, SOURCE_QUEUE);
	maybe_finish_stop(srv);
}

void
lookup_join(struct server *srv, struct request *r, const struct mapkey *mk,
    enum store_result sr, const struct store_hit *hit)
{
	uint32_t hash = keyhash(srv->lookups.seed, mk->norm, strlen(mk->norm));
	struct lookup *lk = table_find(&srv->lookups, mk->norm, hash);
	struct timeval wait;

	if (lk == NULL) {
		lk = xcalloc(1, sizeof(*lk));
		lk->srv = srv;
		lk->key = *mk;
		lk->hash = hash;
		TAILQ_INIT(&lk->waiters);
		if (sr == STORE_STALE) {
			lk->has_stale = true;
			lk->stale = *hit;
			/* the store's text lasts only until its next call */
			if (hit->sts != NULL)
				lk->stale_sts =
				    xstrndup(hit->sts, hit->sts_len);
			lk->stale.sts = NULL;
			lk->stale.sts_len = 0;
			lk->stale.frame = NULL; /* the store's, too */
			lk->stale.frame_len = 0;
		}
		table_add(&srv->lookups, lk);
		r->lookup = lk;
		TAILQ_INSERT_TAIL(&lk->waiters, r, waiting);
		if (srv->running_count < srv->cfg.max_lookups) {
			lookup_start(srv, lk);
			return;
		}
		wait = elapsed_timeval(srv->cfg.lookup_deadline_ms);
		lk->queued = true;
		lk->queue_timer =
		    xevent_new(srv->base, -1, 0, lookup_queue_expired, lk);
		xevent_add(lk->queue_timer, &wait);
		TAILQ_INSERT_TAIL(&srv->queued, lk, link);
		return;
	}
	r->lookup = lk;
	TAILQ_INSERT_TAIL(&lk->waiters, r, waiting);
}

/* lk began before a flush (a queued lookup has not: it is left alone). */
static void
lookup_mark_flushed(struct lookup *lk)
{
	if (lk->queued)
		return;
	lk->flushed = true;
	lk->has_stale = false;
	free(lk->stale_sts);
	lk->stale_sts = NULL;
}

void
lookup_flushed(struct server *srv, const char *norm)
{
	struct lookup *lk;

	if (norm != NULL) {
		lk = table_find(&srv->lookups, norm,
		    keyhash(srv->lookups.seed, norm, strlen(norm)));
		if (lk != NULL)
			lookup_mark_flushed(lk);
		return;
	}
	TAILQ_FOREACH(lk, &srv->running, link)
		lookup_mark_flushed(lk);
	TAILQ_FOREACH(lk, &srv->fetching, link)
		lookup_mark_flushed(lk);
}

/* At exit: every lookup goes, its requests unanswered (their connections
 * are gone already). */
void
lookups_free(struct server *srv)
{
	struct lookup_list *lists[] = { &srv->queued, &srv->running,
		&srv->fetching };

	for (size_t i = 0; i < 3; i++) {
		struct lookup *lk;

		while ((lk = TAILQ_FIRST(lists[i])) != NULL) {
			TAILQ_REMOVE(lists[i], lk, link);
			lookup_free(lk); /* cancels its job */
		}
	}
	free(srv->lookups.buckets);
	srv->lookups.buckets = NULL;
}

/* ------------------------------------------------------------ contexts */

/* A resolver context replaced by a reload: freed once no lookup runs on
 * it. */
void
retired_add(struct server *srv, struct resolve_ctx *ctx)
{
	struct retired_ctx *r = xcalloc(1, sizeof(*r));

	r->ctx = ctx;
	LIST_INSERT_HEAD(&srv->retired, r, link);
}

void
retired_reap(struct server *srv)
{
	struct retired_ctx *r, *next;

	for (r = LIST_FIRST(&srv->retired); r != NULL; r = next) {
		next = LIST_NEXT(r, link);
		if (resolve_ctx_jobs(r->ctx) == 0) {
			LIST_REMOVE(r, link);
			resolve_ctx_free(r->ctx);
			free(r);
		}
	}
}
