/*
 * warm: `danemap warm`, the cache warmer (doc/design.md §6).
 *
 * Re-validates the union of the keys in the current CDB, the daemon's
 * journal and any lists given, with bounded concurrency, and writes the new
 * CDB atomically. A key whose refresh fails with a transient TEMP keeps its
 * previous record until it is stale (store_stale_usable); one that fails
 * validation is dropped, so the daemon looks it up live (and defers).
 * If the CDB cannot be written, the old one stays as it was and the
 * journal keys are kept for the next run.
 *
 * MTA-STS (mta_sts = yes) as the daemon does it, after a DANE NOTFOUND
 * (RFC 8461 §5.1): an unchanged id keeps the cached policy, a changed one
 * is fetched; and a policy with less than half its max_age left is
 * fetched again before it expires (the proactive refresh of §5.1). A
 * fetch that fails keeps the old policy while it lasts. A key holds its
 * warm_concurrency slot until its fetch is over, which bounds fetches.
 */
#ifndef DANEMAP_WARM_H
#define DANEMAP_WARM_H

#include <stdio.h>

#include "configfile.h"

struct warm_stats {
	size_t keys;         /* distinct keys re-validated */
	size_t from_cdb;     /* ... of which were in the previous CDB */
	size_t from_journal; /* ... in the daemon's journal */
	size_t from_lists;   /* ... in the given lists */
	size_t invalid;      /* list lines that are no lookup key */
	size_t dane_only, dane, notfound, temp;
	size_t sts_policies;      /* records written with an MTA-STS policy */
	size_t sts_fetched;       /* policies fetched */
	size_t sts_fetch_failed;  /* fetches that failed (or could not start) */
	size_t kept;            /* TEMP, previous record kept */
	size_t dropped;         /* TEMP, no usable previous record */
	size_t written;         /* records in the new CDB */
	size_t handed_back;     /* late journal keys returned to the journal */
	double seconds;         /* the whole run */
	double resolve_seconds; /* the lookups alone */
};

/*
 * warm_run: do one warm run with cfg (cache_file, state_dir,
 * warm_concurrency, stale_ttl, min_ttl, max_ttl and the resolver keys).
 * lists: paths of key lists ("-" is stdin), count n. progress: where to
 * draw a progress line (a terminal), or NULL. Returns 0 when the new CDB is
 * in place; CDBWRITE_NOT_DURABLE when it is in place but its directory
 * could not be synced (message in err); -1 with a message in err otherwise
 * (the old CDB untouched).
 */
int warm_run(const struct config *cfg, char *const *lists, size_t n,
    FILE *progress, struct warm_stats *stats, char *err, size_t err_size);

#endif
