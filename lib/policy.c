/*
 * policy: facts -> socketmap reply, the rules of doc/design.md §4 / RFC 7672.
 *
 * The governing rule is "never answer weaker than the evidence": anything
 * that failed is TEMP or at least keeps "dane" (so Postfix does its own
 * per-host checks and defers where it must), never NOTFOUND, which would
 * let Postfix fall back to opportunistic TLS or plaintext.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct policy_fact
policy_classify(enum policy_transport transport, enum policy_dnssec dnssec,
    int rcode, bool has_data, uint32_t ttl)
{
	struct policy_fact fact = {
		.answer = POLICY_ANSWER_FAILED,
		.failure = POLICY_FAIL_NONE,
		.secure = false,
		.rcode = rcode,
		.ttl = ttl,
	};

	/* Order matters: a bogus answer fails whatever its rcode says, and a
	 * SERVFAIL labelled "insecure" (getdns 1.6.0 does that) must not be
	 * read as an insecure answer. */
	if (transport == POLICY_TRANSPORT_TIMEOUT)
		fact.failure = POLICY_FAIL_TIMEOUT;
	else if (transport == POLICY_TRANSPORT_MISMATCH)
		fact.failure = POLICY_FAIL_MISMATCH;
	else if (transport != POLICY_TRANSPORT_OK)
		fact.failure = POLICY_FAIL_NETWORK;
	else if (dnssec == POLICY_DNSSEC_BOGUS)
		fact.failure = POLICY_FAIL_BOGUS;
	else if (dnssec != POLICY_DNSSEC_SECURE &&
	    dnssec != POLICY_DNSSEC_INSECURE)
		fact.failure = POLICY_FAIL_INDETERMINATE;
	else if (rcode != 0 && rcode != 3)
		fact.failure = POLICY_FAIL_RCODE;
	else {
		fact.secure = dnssec == POLICY_DNSSEC_SECURE;
		if (rcode == 3)
			fact.answer = POLICY_ANSWER_NXDOMAIN;
		else
			fact.answer = has_data ? POLICY_ANSWER_DATA
			                       : POLICY_ANSWER_NODATA;
	}
	return fact;
}

void
policy_fact_chain(struct policy_fact *chain, const struct policy_fact *next)
{
	if (chain->answer == POLICY_ANSWER_FAILED)
		return;
	chain->secure = chain->secure && next->secure;
	if (next->ttl < chain->ttl)
		chain->ttl = next->ttl;
	chain->answer = next->answer;
	chain->failure = next->failure;
	chain->rcode = next->rcode;
}

static bool
fact_failed(const struct policy_fact *fact)
{
	return fact->answer == POLICY_ANSWER_FAILED ||
	    fact->answer == POLICY_ANSWER_NOT_ASKED;
}

static bool
fact_denied(const struct policy_fact *fact)
{
	return fact->answer == POLICY_ANSWER_NODATA ||
	    fact->answer == POLICY_ANSWER_NXDOMAIN;
}

/* A TLSA RRset that decides the host: secure and present. */
static bool
fact_secure_data(const struct policy_fact *fact)
{
	return fact->answer == POLICY_ANSWER_DATA && fact->secure;
}

static enum policy_host_state
tlsa_rrset_state(const struct tlsa_record *rrs, size_t count, const char **why)
{
	for (size_t i = 0; i < count; i++)
		if (tlsa_usable(&rrs[i], NULL)) {
			*why = "secure TLSA RRset with a usable record";
			return POLICY_HOST_DANE;
		}
	*why = "secure TLSA RRset, but no record is usable";
	return POLICY_HOST_UNUSABLE_TLSA;
}

static bool
fact_answered(const struct policy_fact *fact)
{
	return !fact_failed(fact) && fact->answer != POLICY_ANSWER_TOOLONG;
}

bool
policy_host_needs_tlsa(const struct policy_host *host)
{
	return fact_answered(&host->a) && fact_answered(&host->aaaa) &&
	    host->a.secure && host->aaaa.secure &&
	    !(fact_denied(&host->a) && fact_denied(&host->aaaa));
}

/* RFC 7672 §2.2.2: TLSA at the CNAME-expanded name first; the first secure
 * TLSA RRset decides; a failed lookup stops the search (falling back past
 * a failure could skip a bogus RRset); only an insecure answer or a secure
 * denial moves on to the original MX host name. */
bool
policy_host_needs_original_tlsa(const struct policy_host *host)
{
	const struct policy_fact *tlsa = &host->tlsa_expanded;

	return policy_host_needs_tlsa(host) && !fact_failed(tlsa) &&
	    !fact_secure_data(tlsa) && host->expanded != NULL &&
	    strcmp(host->expanded, host->name) != 0;
}

enum policy_host_state
policy_host_state(const struct policy_host *host, const char **why)
{
	const struct policy_fact *a = &host->a, *aaaa = &host->aaaa;

	if (!fact_answered(a) || !fact_answered(aaaa)) {
		*why = "address lookup failed";
		return POLICY_HOST_UNKNOWN;
	}
	if (!a->secure || !aaaa->secure) {
		*why = "address records are not DNSSEC-secure";
		return POLICY_HOST_NON_DANE;
	}
	if (!policy_host_needs_tlsa(host)) {
		*why = "no A or AAAA records (securely denied)";
		return POLICY_HOST_NO_ADDRESS;
	}
	if (fact_failed(&host->tlsa_expanded)) {
		*why = "TLSA lookup failed";
		return POLICY_HOST_UNKNOWN;
	}
	if (fact_secure_data(&host->tlsa_expanded))
		return tlsa_rrset_state(host->tlsa_expanded_rrs,
		    host->tlsa_expanded_count, why);
	if (!policy_host_needs_original_tlsa(host)) {
		*why = "no secure TLSA RRset";
		return POLICY_HOST_NON_DANE;
	}
	if (fact_failed(&host->tlsa_original)) {
		*why = "TLSA lookup at the original name failed";
		return POLICY_HOST_UNKNOWN;
	}
	if (fact_secure_data(&host->tlsa_original))
		return tlsa_rrset_state(host->tlsa_original_rrs,
		    host->tlsa_original_count, why);
	*why = "no secure TLSA RRset at the expanded or the original name";
	return POLICY_HOST_NON_DANE;
}

/* Names in replies come from DNS: keep only what a host name may hold. */
static void
copy_name(char *dst, size_t size, const char *name)
{
	size_t i = 0;

	for (; name != NULL && name[i] != '\0' && i + 1 < size; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';

		dst[i] = ok ? c : '?';
	}
	dst[i] = '\0';
}

const char *
policy_rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
		"NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
		"NXRRSET", "NOTAUTH", "NOTZONE" };

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return "unknown rcode";
}

static void set_reason(struct policy_decision *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct policy_decision *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* "dns timeout: TLSA _25._tcp.mx.example" and the like, for TEMP. */
static void
set_failure(struct policy_decision *out, const struct policy_fact *fact,
    const char *what, const char *name)
{
	char clean[256];

	copy_name(clean, sizeof(clean), name);
	out->reply = POLICY_REPLY_TEMP;
	out->transient = fact->failure != POLICY_FAIL_BOGUS &&
	    fact->failure != POLICY_FAIL_INDETERMINATE;
	out->failure = fact->failure;
	out->rcode = fact->rcode;
	switch (fact->failure) {
	case POLICY_FAIL_BOGUS:
		set_reason(out, "dnssec validation failure: %s %s", what,
		    clean);
		break;
	case POLICY_FAIL_INDETERMINATE:
		set_reason(out, "dnssec status indeterminate: %s %s", what,
		    clean);
		break;
	case POLICY_FAIL_RCODE:
		set_reason(out, "dns %s: %s %s", policy_rcode_name(fact->rcode),
		    what, clean);
		break;
	case POLICY_FAIL_NETWORK:
		set_reason(out, "dns network error: %s %s", what, clean);
		break;
	case POLICY_FAIL_CNAME:
		set_reason(out, "CNAME chain too long or looping: %s %s", what,
		    clean);
		break;
	case POLICY_FAIL_MISMATCH:
		set_reason(out, "dns reply does not answer the question: %s %s",
		    what, clean);
		break;
	case POLICY_FAIL_NONE: /* the question could not be asked */
		if (fact->answer == POLICY_ANSWER_TOOLONG) {
			set_reason(out, "name too long to exist: %s %s", what,
			    clean);
			break;
		}
		/* FALLTHROUGH */
	case POLICY_FAIL_TIMEOUT:
	default:
		set_reason(out, "dns timeout: %s %s", what, clean);
		break;
	}
}

/* The first failed lookup of an unknown host, as a TEMP reason. */
static void
set_host_failure(struct policy_decision *out, const struct policy_host *host,
    unsigned port)
{
	char owner[300];
	const char *base = host->expanded != NULL ? host->expanded : host->name;

	if (fact_failed(&host->a) || host->a.answer == POLICY_ANSWER_TOOLONG) {
		set_failure(out, &host->a, "A", host->name);
		return;
	}
	if (fact_failed(&host->aaaa) ||
	    host->aaaa.answer == POLICY_ANSWER_TOOLONG) {
		set_failure(out, &host->aaaa, "AAAA", host->name);
		return;
	}
	if (!fact_failed(&host->tlsa_expanded))
		base = host->name;
	(void)policy_tlsa_owner(owner, sizeof(owner), port, base);
	set_failure(out,
	    fact_failed(&host->tlsa_expanded) ? &host->tlsa_expanded
	                                      : &host->tlsa_original,
	    "TLSA", owner);
}

int
policy_tlsa_owner(char *buf, size_t size, unsigned port, const char *host)
{
	int n = snprintf(buf, size, "_%u._tcp.%s", port, host);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

static void
ttl_take(uint32_t *ttl, const struct policy_fact *fact)
{
	if (fact->answer == POLICY_ANSWER_DATA ||
	    fact->answer == POLICY_ANSWER_NODATA ||
	    fact->answer == POLICY_ANSWER_NXDOMAIN)
		if (fact->ttl < *ttl)
			*ttl = fact->ttl;
}

void
policy_decide(const struct policy_facts *facts, struct policy_decision *out)
{
	size_t dane = 0, unusable = 0, unknown = 0, no_address = 0;
	const struct policy_host *first_unknown = NULL;
	bool mx_secure = true, all_transient = true;
	uint32_t ttl = UINT32_MAX;
	char domain[256];
	size_t resolved;

	memset(out, 0, sizeof(*out));
	out->rcode = -1;
	copy_name(domain, sizeof(domain), facts->domain);

	if (!facts->nexthop) {
		const struct policy_fact *mx = &facts->mx;

		if (fact_failed(mx) || mx->answer == POLICY_ANSWER_TOOLONG) {
			set_failure(out, mx, "MX", facts->domain);
			return;
		}
		ttl_take(&ttl, mx);
		out->ttl = ttl;
		if (mx->answer == POLICY_ANSWER_NXDOMAIN) {
			out->reply = POLICY_REPLY_NOTFOUND;
			set_reason(out, "%s does not exist (%s NXDOMAIN)",
			    domain, mx->secure ? "secure" : "insecure");
			return;
		}
		if (facts->null_mx) {
			out->reply = POLICY_REPLY_NOTFOUND;
			set_reason(out, "%s has a null MX (RFC 7505)", domain);
			return;
		}
		mx_secure = mx->secure;
	}

	for (size_t i = 0; i < facts->host_count; i++) {
		const struct policy_host *host = &facts->hosts[i];
		const char *why;

		ttl_take(&ttl, &host->a);
		ttl_take(&ttl, &host->aaaa);
		ttl_take(&ttl, &host->tlsa_expanded);
		ttl_take(&ttl, &host->tlsa_original);
		switch (policy_host_state(host, &why)) {
		case POLICY_HOST_DANE:
			dane++;
			break;
		case POLICY_HOST_UNUSABLE_TLSA:
			unusable++;
			break;
		case POLICY_HOST_NO_ADDRESS:
			no_address++;
			break;
		case POLICY_HOST_UNKNOWN:
			if (first_unknown == NULL)
				first_unknown = host;
			unknown++;
			break;
		case POLICY_HOST_NON_DANE:
			break;
		}
	}
	out->ttl = ttl == UINT32_MAX ? 0 : ttl;

	if (facts->host_count == 0) {
		/* The resolver always gives a host for a non-null MX set or
		 * an implicit MX; none means something went wrong there. */
		out->reply = POLICY_REPLY_TEMP;
		out->transient = true;
		set_reason(out, "no MX host to evaluate for %s", domain);
		return;
	}
	resolved = facts->host_count - no_address;
	if (resolved == 0) {
		out->reply = POLICY_REPLY_NOTFOUND;
		set_reason(out, "no MX host of %s has an address", domain);
		return;
	}
	if (dane == resolved && mx_secure) {
		out->reply = POLICY_REPLY_DANE_ONLY;
		set_reason(out,
		    "all %zu MX host(s) have usable TLSA, MX RRset %s", dane,
		    facts->nexthop ? "not used ([host] key)" : "secure");
		return;
	}
	if (dane + unusable > 0) {
		out->reply = POLICY_REPLY_DANE;
		set_reason(out,
		    "%zu of %zu MX host(s) with usable TLSA, %zu with only "
		    "unusable TLSA, %zu unknown, MX RRset %s",
		    dane, resolved, unusable, unknown,
		    mx_secure ? "secure" : "insecure");
		return;
	}
	if (unknown == resolved) {
		set_host_failure(out, first_unknown, facts->port);
		for (size_t i = 0; i < facts->host_count; i++) {
			const char *why;

			if (policy_host_state(&facts->hosts[i], &why) ==
			    POLICY_HOST_UNKNOWN) {
				struct policy_decision one;

				set_host_failure(&one, &facts->hosts[i],
				    facts->port);
				all_transient = all_transient && one.transient;
			}
		}
		out->transient = all_transient;
		return;
	}
	if (unknown > 0) {
		out->reply = POLICY_REPLY_DANE;
		set_reason(out,
		    "%zu of %zu MX host(s) could not be checked, the others "
		    "have no secure TLSA: Postfix checks each host itself",
		    unknown, resolved);
		return;
	}
	out->reply = POLICY_REPLY_NOTFOUND;
	set_reason(out, "no MX host of %s has a secure TLSA RRset", domain);
}

enum sockmap_status
policy_reply_words(const struct policy_decision *decision, const char **text)
{
	switch (decision->reply) {
	case POLICY_REPLY_DANE_ONLY:
		*text = "dane-only";
		return SOCKMAP_OK;
	case POLICY_REPLY_DANE:
		*text = "dane";
		return SOCKMAP_OK;
	case POLICY_REPLY_NOTFOUND:
		*text = "";
		return SOCKMAP_NOTFOUND;
	case POLICY_REPLY_TEMP:
	default:
		*text = decision->reason;
		return SOCKMAP_TEMP;
	}
}

const char *
policy_host_state_name(enum policy_host_state state)
{
	switch (state) {
	case POLICY_HOST_UNKNOWN:
		return "unknown";
	case POLICY_HOST_NO_ADDRESS:
		return "no-address";
	case POLICY_HOST_NON_DANE:
		return "non-dane";
	case POLICY_HOST_DANE:
		return "dane";
	case POLICY_HOST_UNUSABLE_TLSA:
		return "unusable-tlsa";
	}
	return "?";
}

const char *
policy_answer_name(enum policy_answer answer)
{
	switch (answer) {
	case POLICY_ANSWER_NOT_ASKED:
		return "not-asked";
	case POLICY_ANSWER_DATA:
		return "data";
	case POLICY_ANSWER_NODATA:
		return "nodata";
	case POLICY_ANSWER_NXDOMAIN:
		return "nxdomain";
	case POLICY_ANSWER_FAILED:
		return "failed";
	case POLICY_ANSWER_TOOLONG:
		return "name-too-long";
	}
	return "?";
}

const char *
policy_failure_name(enum policy_failure failure)
{
	switch (failure) {
	case POLICY_FAIL_NONE:
		return "none";
	case POLICY_FAIL_BOGUS:
		return "bogus";
	case POLICY_FAIL_INDETERMINATE:
		return "indeterminate";
	case POLICY_FAIL_TIMEOUT:
		return "timeout";
	case POLICY_FAIL_NETWORK:
		return "network";
	case POLICY_FAIL_RCODE:
		return "rcode";
	case POLICY_FAIL_CNAME:
		return "cname";
	case POLICY_FAIL_MISMATCH:
		return "mismatch";
	}
	return "?";
}
