/*
 * lookup.c: live lookups (see server.h). One lookup per normalised key
 * however many requests wait on it, found through a hash table (seeded:
 * keys are chosen by whoever sends mail); at most max_lookups run, the
 * rest wait in a queue until a slot frees or lookup_deadline passes (then
 * TEMP). A lookup's decision is cached unless TEMP and its key journalled
 * for the warmer; a TEMP after a transient failure may be replaced by the
 * expired answer the caches still held (store_stale_usable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elapsed.h"
#include "journal.h"
#include "keyhash.h"
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
	resolve_job_free(lk->job);
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
	lk->job = resolve_start(lk->ctx, &lk->key, 0, lookup_done, lk);
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

/* Remember a decision: in memory, and its key in the journal. */
static void
lookup_keep(struct server *srv, const struct lookup *lk,
    const struct policy_decision *d, time_t now)
{
	size_t len = strlen(lk->key.norm);

	(void)store_put(srv->store, lk->key.norm, len, d->reply,
	    store_expiry(now, d->ttl, srv->cfg.min_ttl, srv->cfg.max_ttl), now);
	if (journal_append(srv->journal, lk->key.norm, len, now) != 0 &&
	    !srv->journal_warned) {
		srv->journal_warned = true;
		log_msg(LOG_LEVEL_WARNING,
		    "cannot append to the journal in %s: %s (the warmer will "
		    "not learn live keys; logged once)",
		    srv->cfg.state_dir, strerror(errno));
	}
}

static void
lookup_done(struct resolve_job *job, void *arg)
{
	struct lookup *lk = arg;
	struct server *srv = lk->srv;
	const struct policy_decision *d = resolve_job_decision(job);
	time_t now = time(NULL);
	enum answer_source source = SOURCE_LIVE;
	const struct fixed_reply *stale = fixed_reply_of(srv, lk->stale.reply);
	struct request *r;

	TAILQ_REMOVE(&srv->running, lk, link);
	srv->running_count--;
	if (d->reply != POLICY_REPLY_TEMP)
		lookup_keep(srv, lk, d, now);
	else if (!lk->has_stale || stale == NULL ||
	    !store_stale_usable(lk->stale.expires, d->transient, now,
	        srv->cfg.stale_ttl))
		stale = NULL;
	/* the request that started the lookup first: it is "live" */
	while ((r = next_waiter(lk)) != NULL) {
		if (d->reply == POLICY_REPLY_TEMP && stale != NULL) {
			char key_log[KEY_LOG_MAX];

			log_msg(LOG_LEVEL_NOTICE,
			    "key=%s refresh failed (%s): serving the expired "
			    "answer",
			    key_for_log(key_log, sizeof(key_log), r->key,
			        r->key_len),
			    d->reason);
			request_answer_fixed(r, stale, SOURCE_STALE);
		} else
			request_answer(r, d, source);
		source = SOURCE_SHARED;
	}
	lookup_free(lk);
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

/* At exit: every lookup goes, its requests unanswered (their connections
 * are gone already). */
void
lookups_free(struct server *srv)
{
	struct lookup_list *lists[] = { &srv->queued, &srv->running };

	for (size_t i = 0; i < 2; i++) {
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
