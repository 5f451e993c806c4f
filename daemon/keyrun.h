/*
 * keyrun: the policy of a set of keys as `danemap query` computes it, for
 * the commands that need it (query, probe): each key parsed; the lookup
 * keys resolved concurrently on one event loop; then, for those whose
 * DANE answer is NOTFOUND and which publish an MTA-STS record with a
 * reachable policy host, the policy fetched live (no cache is read or
 * written). keyrun_reply gives the reply the daemon would send.
 *
 * Deliberately not here: printing (each command has its own output), the
 * cache (warm.c and the daemon apply §5.1 with a cache; a live look needs
 * none).
 */
#ifndef DANEMAP_KEYRUN_H
#define DANEMAP_KEYRUN_H

#include <event2/event.h>
#include <stdbool.h>

#include "configfile.h"
#include "mapkey.h"
#include "resolve.h"
#include "stsfetch.h"

/* The state of one run; zero it, then set cfg and base. */
struct keyrun {
	const struct config *cfg;
	struct event_base *base;
	struct resolve_ctx *rctx;  /* made with the first lookup key */
	struct stsfetch_ctx *fctx; /* made with the first fetch */
	size_t outstanding;
};

struct keyrun_item {
	const char *arg; /* the key as given */
	enum mapkey_result kind;
	const char *invalid_why;
	struct mapkey key;
	struct resolve_job *job; /* a lookup key's finished job */
	struct keyrun *run;
	bool fetched; /* an MTA-STS policy fetch was made: */
	struct stsfetch_result fetch;
};

/*
 * keyrun_resolve: parse items[i].arg (set by the caller) for i < n,
 * resolve the lookup keys with flags (RESOLVE_*; RESOLVE_STS is added
 * when mta_sts is on) and fetch their MTA-STS policies. Returns 0, or an
 * exit status (EX_CONFIG, EX_SOFTWARE) with err set. Free the items'
 * jobs with keyrun_items_free whatever it returned.
 */
int keyrun_resolve(struct keyrun *run, struct keyrun_item *items, size_t n,
    unsigned flags, char *err, size_t err_size);

/* keyrun_sts_enforced: did a fetched policy in mode enforce decide? */
bool keyrun_sts_enforced(const struct keyrun_item *item);

/* keyrun_reply: the reply payload for a lookup item into buf (an enforced
 * MTA-STS policy, else DANE's); 0, or -1 if it does not fit. */
int keyrun_reply(const struct keyrun_item *item, char *buf, size_t size);

void keyrun_items_free(struct keyrun_item *items, size_t n);
void keyrun_free(struct keyrun *run);

#endif
