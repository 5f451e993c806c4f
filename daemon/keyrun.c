/*
 * keyrun: resolve a set of keys and fetch their MTA-STS policies, as
 * `danemap query` and `danemap probe` both need them (keyrun.h).
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "keyrun.h"
#include "policy.h"
#include "sockmap.h"
#include "sts.h"
#include "stsrecord.h"

/* One lookup or fetch of the run is over: the loop ends with the last. */
static void
step_done(struct keyrun_item *item)
{
	if (--item->run->outstanding == 0)
		event_base_loopbreak(item->run->base);
}

static void
resolve_done(struct resolve_job *job, void *arg)
{
	(void)job;
	step_done(arg);
}

static void
fetch_done(const struct stsfetch_result *result, void *arg)
{
	struct keyrun_item *item = arg;

	item->fetch = *result;
	item->fetched = true;
	step_done(item);
}

/* MTA-STS's part (RFC 8461), after DANE said NOTFOUND: fetch the policy
 * of each domain whose _mta-sts TXT record and policy host were found.
 * Returns how many fetches started. */
static size_t
fetch_policies(struct keyrun *run, struct keyrun_item *items, size_t n)
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
		if (stsfetch_start(run->fctx, items[i].key.name, addrs, count,
		        run->cfg->mta_sts_port, fetch_done, &items[i]) == NULL)
			continue; /* memory: as if unreachable */
		run->outstanding++;
		started++;
	}
	return started;
}

int
keyrun_resolve(struct keyrun *run, struct keyrun_item *items, size_t n,
    unsigned flags, char *err, size_t err_size)
{
	const struct config *cfg = run->cfg;
	bool lookups = false;

	if (cfg->mta_sts)
		flags |= RESOLVE_STS;
	for (size_t i = 0; i < n; i++) {
		items[i].kind = mapkey_parse(items[i].arg, strlen(items[i].arg),
		    &items[i].key, &items[i].invalid_why);
		if (items[i].kind != MAPKEY_LOOKUP)
			continue;
		if (run->rctx == NULL &&
		    (run->rctx = resolve_ctx_new(cfg, run->base, err,
		         err_size)) == NULL)
			return EX_CONFIG;
		items[i].run = run;
		items[i].job = resolve_start(run->rctx, &items[i].key, flags,
		    resolve_done, &items[i]);
		if (items[i].job == NULL) {
			snprintf(err, err_size, "cannot start a lookup");
			return EX_SOFTWARE;
		}
		run->outstanding++;
		lookups = true;
	}
	if (run->outstanding > 0)
		event_base_dispatch(run->base);
	if (!cfg->mta_sts || !lookups)
		return 0;
	/* an unreadable mta_sts_ca_file, mostly */
	if (run->fctx == NULL &&
	    (run->fctx = stsfetch_ctx_new(run->base, cfg->mta_sts_ca_file,
	         cfg->mta_sts_timeout_ms, err, err_size)) == NULL)
		return EX_CONFIG;
	if (fetch_policies(run, items, n) > 0)
		event_base_dispatch(run->base);
	return 0;
}

bool
keyrun_sts_enforced(const struct keyrun_item *item)
{
	return item->fetched && item->fetch.status == STSFETCH_OK &&
	    item->fetch.policy.mode == STS_MODE_ENFORCE;
}

int
keyrun_reply(const struct keyrun_item *item, char *buf, size_t size)
{
	const struct policy_decision *d = resolve_job_decision(item->job);
	const char *text;
	enum sockmap_status st;

	if (keyrun_sts_enforced(item)) {
		if (size < 4)
			return -1;
		memcpy(buf, "OK ", 3);
		return sts_reply_format(&item->fetch.policy, item->key.name,
		           item->run->cfg->tlsrpt, item->fetch.policy.max_age,
		           buf + 3, size - 3) < 0
		    ? -1
		    : 0;
	}
	st = policy_reply_words(d, &text);
	return sockmap_format_payload(buf, size, st, text) < 0 ? -1 : 0;
}

void
keyrun_items_free(struct keyrun_item *items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		resolve_job_free(items[i].job);
		items[i].job = NULL;
	}
}

void
keyrun_free(struct keyrun *run)
{
	stsfetch_ctx_free(run->fctx);
	resolve_ctx_free(run->rctx);
	run->fctx = NULL;
	run->rctx = NULL;
}
