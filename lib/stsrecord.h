/*
 * stsrecord: what is kept for a domain key once MTA-STS has had its say
 * (RFC 8461 §5.1, doc/design.md §9), the same for the daemon and the
 * warmer: the answer DANE gave (NOTFOUND), fresh for the shorter of its
 * TTL and the _mta-sts record's, and the policy that applies, if any,
 * which the answer never outlives.
 *
 * Deliberately not here: the §5.1 decision itself (sts_plan), fetching
 * (stsfetch), where records are kept (store, cdbwrite).
 */
#ifndef DANEMAP_STSRECORD_H
#define DANEMAP_STSRECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy.h"
#include "record.h"
#include "resolve.h"
#include "sts.h"

/*
 * stsrecord_make: the record for a key whose DANE decision d was NOTFOUND
 * and whose MTA-STS plan came out as plan (CACHED with policy, or NONE).
 * failed: a fetch was due and did not happen or failed; an answer
 * then lives only min_ttl (and never past its policy), so the fetch is
 * tried again soon; the same when the _mta-sts record itself could not
 * be looked up (a timeout, a validation failure). An answer never
 * outlives its policy, unless the policy's max_age is below min_ttl:
 * then it lives min_ttl (answered without the policy once that expired),
 * so such a domain is not fetched from at every request. rec->sts points
 * into text (STS_CACHED_TEXT_MAX + 1 bytes).
 */
void stsrecord_make(const struct policy_decision *d,
    const struct resolve_sts *sts, enum sts_plan plan,
    const struct sts_cached *policy, bool failed, time_t now,
    unsigned min_ttl, unsigned max_ttl, struct record *rec, char *text);

/* stsrecord_fetched: the cached form of a policy fetched now under the
 * record sts found. */
void stsrecord_fetched(struct sts_cached *c, const struct resolve_sts *sts,
    const struct sts_policy *p, time_t now);

/* stsrecord_cached: the policy kept as text (NULL: none), decoded into
 * c; NULL if there is none or it does not decode. */
const struct sts_cached *stsrecord_cached(const char *text, size_t len,
    struct sts_cached *c);

/* stsrecord_addrs: the policy host's addresses as stsfetch_start takes
 * them; their number. */
size_t stsrecord_addrs(const struct resolve_sts *sts,
    const char *addrs[RESOLVE_STS_ADDRS]);

#endif
