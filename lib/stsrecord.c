/*
 * stsrecord: the record kept after MTA-STS (see stsrecord.h).
 */
#include "stsrecord.h"

#include <string.h>

#include "store.h"

void
stsrecord_make(const struct policy_decision *d,
    const struct resolve_sts *sts, enum sts_plan plan,
    const struct sts_cached *policy, bool failed, time_t now,
    unsigned min_ttl, unsigned max_ttl, struct record *rec, char *text)
{
	uint32_t ttl = d->ttl;
	int len;

	memset(rec, 0, sizeof(*rec));
	rec->reply = POLICY_REPLY_NOTFOUND;
	rec->stored = (int64_t)now;
	/* the record's TTL too: a changed id is noticed when it expires */
	if (sts->txt.answer == POLICY_ANSWER_DATA && sts->txt.ttl < ttl)
		ttl = sts->txt.ttl;
	/* a record that could not be looked up (timeout, bogus) is asked
	 * again soon, like a failed fetch */
	if (sts->txt.answer == POLICY_ANSWER_FAILED)
		failed = true;
	rec->expires =
	    (int64_t)store_expiry(now, failed ? 0 : ttl, min_ttl, max_ttl);
	if (plan != STS_PLAN_CACHED || policy == NULL ||
	    (len = sts_cached_encode(policy, text, STS_CACHED_TEXT_MAX + 1)) <
	        0)
		return;
	rec->sts = text;
	rec->sts_len = (size_t)len;
	/* fresh no longer than the policy is valid */
	if (policy->fetched + (int64_t)policy->policy.max_age < rec->expires)
		rec->expires = policy->fetched + (int64_t)policy->policy.max_age;
	/* but a policy that asks to be kept less than min_ttl (max_age 0,
	 * say) is not fetched again for every request: the answer lives
	 * min_ttl, without the policy once that has expired */
	if (policy->policy.max_age < min_ttl &&
	    rec->expires < (int64_t)now + (int64_t)min_ttl)
		rec->expires = (int64_t)store_expiry(now, 0, min_ttl, max_ttl);
}

void
stsrecord_fetched(struct sts_cached *c, const struct resolve_sts *sts,
    const struct sts_policy *p, time_t now)
{
	memset(c, 0, sizeof(*c));
	c->fetched = (int64_t)now;
	memcpy(c->id, sts->id, sizeof(c->id));
	c->policy = *p;
}

const struct sts_cached *
stsrecord_cached(const char *text, size_t len, struct sts_cached *c)
{
	if (text == NULL || sts_cached_decode(text, len, c) != 0)
		return NULL;
	return c;
}

size_t
stsrecord_addrs(const struct resolve_sts *sts,
    const char *addrs[RESOLVE_STS_ADDRS])
{
	for (size_t a = 0; a < sts->addr_count; a++)
		addrs[a] = sts->addrs[a];
	return sts->addr_count;
}
