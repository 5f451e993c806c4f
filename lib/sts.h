/*
 * sts: MTA-STS (RFC 8461) records and policies, read strictly, and the
 * Postfix policy they turn into (doc/design.md §9). Pure: no I/O.
 *
 * - sts_txt_parse reads one `_mta-sts` TXT record (§3.1): "v=STSv1" first,
 *   then ";"-separated fields, one of them id=1*32(ALPHA / DIGIT); unknown
 *   fields ignored if well-formed.
 * - sts_txt_pick applies §3.1 to a whole RRset: records not starting with
 *   "v=STSv1" are discarded; anything but exactly one valid record left
 *   means "no MTA-STS here".
 * - sts_policy_parse reads a policy file (§3.2): LF or CRLF lines of
 *   "key:" *WSP value; version, mode and max_age required (the first of
 *   a repeated field counts), max_age at most 31557600, at least one mx
 *   unless mode is none; unknown keys ignored if well-formed. An mx value
 *   that is not ["*."] followed by LDH labels makes the whole policy
 *   invalid: nothing from a policy file reaches a Postfix reply unchecked
 *   (a space, "=", ":", "{" or a control byte would inject attributes).
 * - sts_mx_match is §4.1: "*.example.net" matches exactly one more label.
 * - sts_reply_format writes the Postfix policy for an enforced policy:
 *   "secure match=P1:P2 servername=hostname", with "*.x" written ".x",
 *   and with TLS-RPT attributes (Postfix >= 3.10, TLSRPT_README) when
 *   asked.
 *
 * - sts_plan is §5.1 (and §3.3's failure rule): what a sender does given
 *   the TXT record found now and the policy it has cached, and
 *   sts_cached_encode/decode are the text a cached policy is kept as.
 *
 * Deliberately not here: fetching (HTTPS), where cached policies are kept
 * (store, the cache file), the DNS.
 */
#ifndef DANEMAP_STS_H
#define DANEMAP_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STS_ID_MAX 32
#define STS_BODY_MAX 65536      /* §3.3's suggested limit, enforced */
#define STS_MAX_AGE_MAX 31557600 /* §3.2 */
#define STS_MX_MAX 32           /* patterns a policy may list */
#define STS_NAME_MAX 253        /* a host name pattern, presentation form */
/* The longest reply sts_reply_format writes (tlsrpt, 32 patterns of 253
 * octets, a 253-octet domain), NUL included. */
#define STS_REPLY_MAX (STS_MX_MAX * (STS_NAME_MAX + 100) * 3 + 1024)

enum sts_mode {
	STS_MODE_NONE,
	STS_MODE_TESTING,
	STS_MODE_ENFORCE,
};

enum sts_txt_result {
	STS_TXT_OK,      /* an STSv1 record: *id filled */
	STS_TXT_OTHER,   /* does not begin with "v=STSv1": not ours */
	STS_TXT_INVALID, /* begins so, but breaks the grammar */
};

/* sts_txt_parse: one TXT record's text (its strings joined without
 * spaces, §3.1); id gets the policy id, NUL-terminated. */
enum sts_txt_result sts_txt_parse(const char *text, size_t len,
    char id[STS_ID_MAX + 1]);

/*
 * sts_txt_pick: §3.1 over every TXT record at _mta-sts (texts[i] of
 * lens[i] bytes). Returns true with the id when exactly one STSv1 record
 * is there and it is valid; false otherwise (*why says which case: no
 * STSv1 record, several, or an invalid one).
 */
bool sts_txt_pick(const char *const *texts, const size_t *lens, size_t n,
    char id[STS_ID_MAX + 1], const char **why);

/* The same, one record at a time (an RRset of any size): init, add each
 * record's text, then done gives what sts_txt_pick returns. */
struct sts_txt_pick {
	size_t ours; /* records beginning with v=STSv1 */
	bool valid;  /* the first of them is valid */
	char id[STS_ID_MAX + 1];
};

void sts_txt_pick_init(struct sts_txt_pick *pick);
void sts_txt_pick_add(struct sts_txt_pick *pick, const char *text,
    size_t len);
bool sts_txt_pick_done(const struct sts_txt_pick *pick,
    char id[STS_ID_MAX + 1], const char **why);

struct sts_policy {
	enum sts_mode mode;
	uint32_t max_age;
	size_t mx_count;
	char mx[STS_MX_MAX][STS_NAME_MAX + 1]; /* lower-cased, file order */
};

/* sts_policy_parse: a policy file's body. Returns 0 with *p filled, or -1
 * with *why (a static string) saying what is wrong. */
int sts_policy_parse(const char *body, size_t len, struct sts_policy *p,
    const char **why);

/* sts_mx_match: does host (lower case, no trailing dot) match pattern? */
bool sts_mx_match(const char *pattern, const char *host);

/*
 * sts_reply_format: the reply text (after "OK ") for an enforced policy of
 * domain: "secure match=... servername=hostname"; with tlsrpt, followed
 * by policy_type=sts, policy_domain, policy_ttl (ttl), a
 * "{ policy_string = ... }" for each policy line (rebuilt from what was
 * parsed, never copied) and an mx_host_pattern for each mx. Returns the
 * length, or -1 if size is too small.
 */
int sts_reply_format(const struct sts_policy *p, const char *domain,
    bool tlsrpt, uint32_t ttl, char *buf, size_t size);

/*
 * A policy as a sender caches it (§5.1): the policy, the TXT id it was
 * fetched under, and when it was fetched; it may be used until
 * fetched + max_age.
 */
struct sts_cached {
	int64_t fetched; /* Unix time */
	char id[STS_ID_MAX + 1];
	struct sts_policy policy;
};

/* sts_cached_valid: is c's policy unexpired at now? */
bool sts_cached_valid(const struct sts_cached *c, int64_t now);

/*
 * The cached policy as one line of text (the tail of a cache record):
 * "<fetched> <id> <mode> <max_age>" then " <mx>" for each mx, in order.
 * Every field is checked again on decode (an mx as a policy file's), so a
 * damaged cache can no more reach a reply than a hostile policy file.
 */
#define STS_CACHED_TEXT_MAX (64 + STS_MX_MAX * (STS_NAME_MAX + 1))

/* sts_cached_encode: returns the length written (NUL-terminated), or -1
 * if size is too small or fetched is negative. */
int sts_cached_encode(const struct sts_cached *c, char *buf, size_t size);

/* sts_cached_decode: text[0..len) strictly; 0, or -1 if it is not one. */
int sts_cached_decode(const char *text, size_t len, struct sts_cached *c);

/*
 * What §5.1 says to do now, given whether exactly one valid TXT record
 * with id was found (have_id), the policy cached for the domain (NULL if
 * none) and the time:
 *   STS_PLAN_FETCH  fetch the policy: a record, and no unexpired cached
 *                   policy or one fetched under another id (or refresh:
 *                   a proactive refresh of one that is still good);
 *   STS_PLAN_CACHED apply the cached policy: unexpired, and the record
 *                   unchanged or gone (§5.1: a policy outlives its record
 *                   until max_age);
 *   STS_PLAN_NONE   no MTA-STS for this domain.
 * A fetch that fails falls back to sts_plan_failed.
 */
enum sts_plan {
	STS_PLAN_NONE,
	STS_PLAN_CACHED,
	STS_PLAN_FETCH,
};

enum sts_plan sts_plan(bool have_id, const char *id,
    const struct sts_cached *cached, int64_t now, bool refresh);

/* sts_plan_failed: after a failed fetch (§3.3, §5.1): CACHED if the
 * cached policy is unexpired, else NONE. */
enum sts_plan sts_plan_failed(const struct sts_cached *cached, int64_t now);

/* sts_refresh_due: should a proactive refresh (§5.1) fetch c again now?
 * Yes once less than half its max_age is left. */
bool sts_refresh_due(const struct sts_cached *c, int64_t now);

/* sts_mode_name: "none", "testing" or "enforce". */
const char *sts_mode_name(enum sts_mode mode);

#endif
