/*
 * check_policy: the DANE decision of doc/design.md §4 / RFC 7672, row by row.
 * Facts are built by hand here; the integration tests get the same facts
 * from real signed zones.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "policy.h"

/* Fact shorthands: S = secure, I = insecure. */
#define FACT(ans, fail, sec, rc, t)                                            \
	((struct policy_fact){ POLICY_ANSWER_##ans, POLICY_FAIL_##fail, sec,   \
	    rc, t })
#define S_DATA FACT(DATA, NONE, true, 0, 3600)
#define S_NODATA FACT(NODATA, NONE, true, 0, 3600)
#define S_NX FACT(NXDOMAIN, NONE, true, 3, 3600)
#define I_DATA FACT(DATA, NONE, false, 0, 3600)
#define I_NODATA FACT(NODATA, NONE, false, 0, 3600)
#define I_NX FACT(NXDOMAIN, NONE, false, 3, 3600)
#define BOGUS FACT(FAILED, BOGUS, false, 0, 0)
#define TIMEOUT FACT(FAILED, TIMEOUT, false, -1, 0)
#define SERVFAIL FACT(FAILED, RCODE, false, 2, 0)
#define NOT_ASKED FACT(NOT_ASKED, NONE, false, -1, 0)
#define TOOLONG FACT(TOOLONG, NONE, false, -1, 0)

static const uint8_t digest32[32] = { 1 };
static const uint8_t digest31[31] = { 1 };
static const struct tlsa_record usable_rrs[] = { { 3, 1, 1, 32, digest32 } };
/* usage 0 and 1 (PKIX), unknown selector, unknown matching type, short
 * digest: all present, none usable */
static const struct tlsa_record unusable_rrs[] = {
	{ 0, 1, 1, 32, digest32 },
	{ 1, 1, 1, 32, digest32 },
	{ 3, 7, 1, 32, digest32 },
	{ 3, 1, 9, 32, digest32 },
	{ 3, 1, 1, 31, digest31 },
};
static const struct tlsa_record mixed_rrs[] = {
	{ 1, 1, 1, 32, digest32 },
	{ 2, 0, 1, 32, digest32 },
};

#define USABLE usable_rrs, 1
#define UNUSABLE unusable_rrs, 5
#define MIXED mixed_rrs, 2
#define NONE_RRS NULL, 0

static struct policy_host
host(const char *name, const char *expanded, struct policy_fact a,
    struct policy_fact aaaa, struct policy_fact tlsa_exp,
    const struct tlsa_record *exp_rrs, size_t exp_count,
    struct policy_fact tlsa_orig, const struct tlsa_record *orig_rrs,
    size_t orig_count)
{
	struct policy_host h = {
		.name = name,
		.expanded = expanded != NULL ? expanded : name,
		.preference = 10,
		.a = a,
		.aaaa = aaaa,
		.tlsa_expanded = tlsa_exp,
		.tlsa_expanded_rrs = exp_rrs,
		.tlsa_expanded_count = exp_count,
		.tlsa_original = tlsa_orig,
		.tlsa_original_rrs = orig_rrs,
		.tlsa_original_count = orig_count,
	};
	return h;
}

/* Host shorthands by verdict. */
#define H_DANE(n)                                                              \
	host(n, NULL, S_DATA, S_NODATA, S_DATA, USABLE, NOT_ASKED, NONE_RRS)
#define H_NON_DANE(n)                                                          \
	host(n, NULL, S_DATA, S_NODATA, S_NX, NONE_RRS, NOT_ASKED, NONE_RRS)
#define H_INSECURE(n)                                                          \
	host(n, NULL, I_DATA, I_NODATA, NOT_ASKED, NONE_RRS, NOT_ASKED,        \
	    NONE_RRS)
#define H_UNUSABLE(n)                                                          \
	host(n, NULL, S_DATA, S_NODATA, S_DATA, UNUSABLE, NOT_ASKED, NONE_RRS)
#define H_NO_ADDR(n)                                                           \
	host(n, NULL, S_NODATA, S_NX, NOT_ASKED, NONE_RRS, NOT_ASKED, NONE_RRS)
#define H_TLSA_BOGUS(n)                                                        \
	host(n, NULL, S_DATA, S_NODATA, BOGUS, NONE_RRS, NOT_ASKED, NONE_RRS)
#define H_A_TIMEOUT(n)                                                         \
	host(n, NULL, TIMEOUT, S_NODATA, NOT_ASKED, NONE_RRS, NOT_ASKED,       \
	    NONE_RRS)

/* ---------------------------------------------------------------- classify */

START_TEST(classify_table)
{
	static const struct {
		const char *rule;
		enum policy_transport transport;
		enum policy_dnssec dnssec;
		int rcode;
		bool data;
		enum policy_answer answer;
		enum policy_failure failure;
		bool secure;
	} cases[] = {
		{ "secure data", POLICY_TRANSPORT_OK, POLICY_DNSSEC_SECURE, 0,
		    true, POLICY_ANSWER_DATA, POLICY_FAIL_NONE, true },
		{ "secure nodata", POLICY_TRANSPORT_OK, POLICY_DNSSEC_SECURE, 0,
		    false, POLICY_ANSWER_NODATA, POLICY_FAIL_NONE, true },
		{ "secure nxdomain", POLICY_TRANSPORT_OK, POLICY_DNSSEC_SECURE,
		    3, false, POLICY_ANSWER_NXDOMAIN, POLICY_FAIL_NONE, true },
		{ "insecure data", POLICY_TRANSPORT_OK, POLICY_DNSSEC_INSECURE,
		    0, true, POLICY_ANSWER_DATA, POLICY_FAIL_NONE, false },
		{ "insecure nxdomain", POLICY_TRANSPORT_OK,
		    POLICY_DNSSEC_INSECURE, 3, false, POLICY_ANSWER_NXDOMAIN,
		    POLICY_FAIL_NONE, false },
		/* DESIGN §4: DNSSEC status is checked before the rcode */
		{ "bogus nxdomain is a failure, not no-such-name",
		    POLICY_TRANSPORT_OK, POLICY_DNSSEC_BOGUS, 3, false,
		    POLICY_ANSWER_FAILED, POLICY_FAIL_BOGUS, false },
		{ "bogus data", POLICY_TRANSPORT_OK, POLICY_DNSSEC_BOGUS, 0,
		    true, POLICY_ANSWER_FAILED, POLICY_FAIL_BOGUS, false },
		{ "indeterminate", POLICY_TRANSPORT_OK,
		    POLICY_DNSSEC_INDETERMINATE, 0, true, POLICY_ANSWER_FAILED,
		    POLICY_FAIL_INDETERMINATE, false },
		/* DESIGN §5: getdns labels SERVFAIL/REFUSED "insecure" */
		{ "servfail labelled insecure", POLICY_TRANSPORT_OK,
		    POLICY_DNSSEC_INSECURE, 2, false, POLICY_ANSWER_FAILED,
		    POLICY_FAIL_RCODE, false },
		{ "refused labelled insecure", POLICY_TRANSPORT_OK,
		    POLICY_DNSSEC_INSECURE, 5, false, POLICY_ANSWER_FAILED,
		    POLICY_FAIL_RCODE, false },
		{ "formerr labelled secure", POLICY_TRANSPORT_OK,
		    POLICY_DNSSEC_SECURE, 1, false, POLICY_ANSWER_FAILED,
		    POLICY_FAIL_RCODE, false },
		{ "timeout", POLICY_TRANSPORT_TIMEOUT, POLICY_DNSSEC_SECURE, 0,
		    true, POLICY_ANSWER_FAILED, POLICY_FAIL_TIMEOUT, false },
		{ "network error", POLICY_TRANSPORT_ERROR,
		    POLICY_DNSSEC_INSECURE, 0, true, POLICY_ANSWER_FAILED,
		    POLICY_FAIL_NETWORK, false },
		/* getdns 1.6.0 recursive mode: a stale packet for another
		 * question, labelled insecure NOERROR, must not downgrade */
		{ "reply to another question labelled insecure",
		    POLICY_TRANSPORT_MISMATCH, POLICY_DNSSEC_INSECURE, 0, false,
		    POLICY_ANSWER_FAILED, POLICY_FAIL_MISMATCH, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_fact f = policy_classify(cases[i].transport,
		    cases[i].dnssec, cases[i].rcode, cases[i].data, 300);

		ck_assert_msg(f.answer == cases[i].answer, "%s: answer %s",
		    cases[i].rule, policy_answer_name(f.answer));
		ck_assert_msg(f.failure == cases[i].failure, "%s: failure %s",
		    cases[i].rule, policy_failure_name(f.failure));
		ck_assert_msg(f.secure == cases[i].secure, "%s: secure",
		    cases[i].rule);
		ck_assert_int_eq(f.rcode, cases[i].rcode);
		ck_assert_uint_eq(f.ttl, 300);
	}
}
END_TEST

START_TEST(cname_chain_folding)
{
	struct policy_fact chain = S_DATA, step;

	/* secure CNAME into a secure answer stays secure, TTL is the min */
	step = S_NODATA;
	step.ttl = 60;
	policy_fact_chain(&chain, &step);
	ck_assert_int_eq(chain.answer, POLICY_ANSWER_NODATA);
	ck_assert(chain.secure);
	ck_assert_uint_eq(chain.ttl, 60);
	/* one insecure step makes the whole chain insecure */
	step = I_DATA;
	policy_fact_chain(&chain, &step);
	ck_assert(!chain.secure);
	ck_assert_int_eq(chain.answer, POLICY_ANSWER_DATA);
	/* a failure anywhere fails it, and later steps cannot undo that */
	chain = S_DATA;
	step = BOGUS;
	policy_fact_chain(&chain, &step);
	ck_assert_int_eq(chain.answer, POLICY_ANSWER_FAILED);
	ck_assert_int_eq(chain.failure, POLICY_FAIL_BOGUS);
	step = S_DATA;
	policy_fact_chain(&chain, &step);
	ck_assert_int_eq(chain.answer, POLICY_ANSWER_FAILED);
}
END_TEST

/* ---------------------------------------------------------------- hosts */

START_TEST(host_state_table)
{
	const struct {
		const char *rule;
		struct policy_host host;
		enum policy_host_state state;
	} cases[] = {
		{ "secure addresses, usable TLSA", H_DANE("mx.example"),
		    POLICY_HOST_DANE },
		{ "usable record among unusable ones",
		    host("mx.example", NULL, S_DATA, S_DATA, S_DATA, MIXED,
		        NOT_ASKED, NONE_RRS),
		    POLICY_HOST_DANE },
		{ "bogus A: unknown",
		    host("mx.example", NULL, BOGUS, S_DATA, NOT_ASKED, NONE_RRS,
		        NOT_ASKED, NONE_RRS),
		    POLICY_HOST_UNKNOWN },
		{ "AAAA timeout while A secure: unknown",
		    host("mx.example", NULL, S_DATA, TIMEOUT, NOT_ASKED,
		        NONE_RRS, NOT_ASKED, NONE_RRS),
		    POLICY_HOST_UNKNOWN },
		{ "A SERVFAIL: unknown",
		    host("mx.example", NULL, SERVFAIL, S_DATA, NOT_ASKED,
		        NONE_RRS, NOT_ASKED, NONE_RRS),
		    POLICY_HOST_UNKNOWN },
		{ "insecure A: non-DANE, no TLSA lookup",
		    H_INSECURE("mx.example"), POLICY_HOST_NON_DANE },
		{ "secure A but insecure AAAA denial: non-DANE",
		    host("mx.example", NULL, S_DATA, I_NODATA, S_DATA, USABLE,
		        NOT_ASKED, NONE_RRS),
		    POLICY_HOST_NON_DANE },
		{ "both families securely denied: no address",
		    H_NO_ADDR("mx.example"), POLICY_HOST_NO_ADDRESS },
		{ "insecure denial of both: non-DANE, not skipped",
		    host("mx.example", NULL, I_NX, I_NX, NOT_ASKED, NONE_RRS,
		        NOT_ASKED, NONE_RRS),
		    POLICY_HOST_NON_DANE },
		{ "bogus TLSA: unknown", H_TLSA_BOGUS("mx.example"),
		    POLICY_HOST_UNKNOWN },
		{ "TLSA SERVFAIL: unknown",
		    host("mx.example", NULL, S_DATA, S_NODATA, SERVFAIL,
		        NONE_RRS, NOT_ASKED, NONE_RRS),
		    POLICY_HOST_UNKNOWN },
		{ "TLSA never asked (deadline): unknown",
		    host("mx.example", NULL, S_DATA, S_NODATA, NOT_ASKED,
		        NONE_RRS, NOT_ASKED, NONE_RRS),
		    POLICY_HOST_UNKNOWN },
		{ "insecure TLSA: non-DANE",
		    host("mx.example", NULL, S_DATA, S_NODATA, I_DATA, USABLE,
		        NOT_ASKED, NONE_RRS),
		    POLICY_HOST_NON_DANE },
		{ "TLSA securely denied: non-DANE", H_NON_DANE("mx.example"),
		    POLICY_HOST_NON_DANE },
		{ "secure TLSA, nothing usable: unusable-TLSA",
		    H_UNUSABLE("mx.example"), POLICY_HOST_UNUSABLE_TLSA },
		{ "TLSA name over 255 octets cannot exist: non-DANE",
		    host("mx.example", NULL, S_DATA, S_NODATA, TOOLONG,
		        NONE_RRS, NOT_ASKED, NONE_RRS),
		    POLICY_HOST_NON_DANE },
		/* RFC 7672 §2.2.2: expanded name first, then the original */
		{ "RFC 7672 2.2.2: usable TLSA at the CNAME-expanded name",
		    host("mx.example", "real.other", S_DATA, S_NODATA, S_DATA,
		        USABLE, NOT_ASKED, NONE_RRS),
		    POLICY_HOST_DANE },
		{ "RFC 7672 2.2.2: secure denial at expanded, usable at "
		  "original",
		    host("mx.example", "real.other", S_DATA, S_NODATA, S_NX,
		        NONE_RRS, S_DATA, USABLE),
		    POLICY_HOST_DANE },
		{ "RFC 7672 2.2.2: insecure at expanded, usable at original",
		    host("mx.example", "real.other", S_DATA, S_NODATA, I_DATA,
		        USABLE, S_DATA, USABLE),
		    POLICY_HOST_DANE },
		{ "RFC 7672 2.2.2: first secure RRset decides (unusable at "
		  "expanded)",
		    host("mx.example", "real.other", S_DATA, S_NODATA, S_DATA,
		        UNUSABLE, S_DATA, USABLE),
		    POLICY_HOST_UNUSABLE_TLSA },
		{ "RFC 7672 2.2.2: a failure at the expanded name stops",
		    host("mx.example", "real.other", S_DATA, S_NODATA, BOGUS,
		        NONE_RRS, S_DATA, USABLE),
		    POLICY_HOST_UNKNOWN },
		{ "failure at the original name after a denial: unknown",
		    host("mx.example", "real.other", S_DATA, S_NODATA, S_NODATA,
		        NONE_RRS, TIMEOUT, NONE_RRS),
		    POLICY_HOST_UNKNOWN },
		{ "denied at both names: non-DANE",
		    host("mx.example", "real.other", S_DATA, S_NODATA, S_NX,
		        NONE_RRS, S_NODATA, NONE_RRS),
		    POLICY_HOST_NON_DANE },
		{ "no CNAME: the original name is not asked twice",
		    host("mx.example", NULL, S_DATA, S_NODATA, S_NX, NONE_RRS,
		        S_DATA, USABLE),
		    POLICY_HOST_NON_DANE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		enum policy_host_state got =
		    policy_host_state(&cases[i].host, &why);

		ck_assert_msg(got == cases[i].state, "%s: got %s",
		    cases[i].rule, policy_host_state_name(got));
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

/* ---------------------------------------------------------------- domains */

struct domain_case {
	const char *rule;
	bool nexthop;
	struct policy_fact mx;
	bool null_mx;
	struct policy_host hosts[3];
	size_t host_count;
	enum policy_reply reply;
	const char *reason_part; /* must appear in the reason */
	bool transient;          /* checked for TEMP only */
};

START_TEST(domain_table)
{
	const struct domain_case cases[] = {
		{ "MX timeout: TEMP", false, TIMEOUT, false, { { 0 } }, 0,
		    POLICY_REPLY_TEMP, "dns timeout: MX example.com", true },
		{ "MX bogus: TEMP, never stale", false, BOGUS, false, { { 0 } },
		    0, POLICY_REPLY_TEMP,
		    "dnssec validation failure: MX example.com", false },
		{ "MX SERVFAIL: TEMP", false, SERVFAIL, false, { { 0 } }, 0,
		    POLICY_REPLY_TEMP, "dns SERVFAIL: MX example.com", true },
		{ "MX name too long: TEMP, said so (not a timeout)", false,
		    TOOLONG, false, { { 0 } }, 0, POLICY_REPLY_TEMP,
		    "name too long to exist: MX example.com", true },
		{ "MX NXDOMAIN: NOTFOUND", false, S_NX, false, { { 0 } }, 0,
		    POLICY_REPLY_NOTFOUND, "does not exist", false },
		{ "null MX: NOTFOUND", false, S_DATA, true, { { 0 } }, 0,
		    POLICY_REPLY_NOTFOUND, "null MX", false },
		{ "one secure MX with usable TLSA: dane-only", false, S_DATA,
		    false, { H_DANE("mx1.example.com") }, 1,
		    POLICY_REPLY_DANE_ONLY, "all 1 MX", false },
		{ "two secure MX with usable TLSA: dane-only", false, S_DATA,
		    false,
		    { H_DANE("mx1.example.com"), H_DANE("mx2.example.com") }, 2,
		    POLICY_REPLY_DANE_ONLY, "all 2 MX", false },
		{ "one DANE, one non-DANE: dane", false, S_DATA, false,
		    { H_DANE("mx1.example.com"),
		        H_NON_DANE("mx2.example.com") },
		    2, POLICY_REPLY_DANE, "1 of 2", false },
		{ "one DANE, one insecure host: dane", false, S_DATA, false,
		    { H_DANE("mx1.example.com"),
		        H_INSECURE("mx2.example.net") },
		    2, POLICY_REPLY_DANE, "1 of 2", false },
		{ "RFC 7672 2.2.1: insecure MX RRset, DANE host: dane, never "
		  "dane-only",
		    false, I_DATA, false, { H_DANE("mx1.example.net") }, 1,
		    POLICY_REPLY_DANE, "insecure", false },
		{ "implicit MX (NODATA) to a DANE host: dane-only", false,
		    S_NODATA, false, { H_DANE("example.com") }, 1,
		    POLICY_REPLY_DANE_ONLY, "all 1", false },
		{ "only unusable TLSA: dane (Postfix insists on TLS)", false,
		    S_DATA, false, { H_UNUSABLE("mx1.example.com") }, 1,
		    POLICY_REPLY_DANE, "1 with only unusable", false },
		{ "no TLSA anywhere: NOTFOUND", false, S_DATA, false,
		    { H_NON_DANE("mx1.example.com"),
		        H_INSECURE("mx2.example.net") },
		    2, POLICY_REPLY_NOTFOUND, "no MX host", false },
		{ "insecure MX, insecure host: NOTFOUND", false, I_DATA, false,
		    { H_INSECURE("mx1.example.net") }, 1, POLICY_REPLY_NOTFOUND,
		    "secure TLSA", false },
		{ "DANE host and unknown host: dane", false, S_DATA, false,
		    { H_DANE("mx1.example.com"),
		        H_A_TIMEOUT("mx2.example.com") },
		    2, POLICY_REPLY_DANE, "1 unknown", false },
		{ "unknown host next to a non-DANE host: dane, not NOTFOUND",
		    false, S_DATA, false,
		    { H_NON_DANE("mx1.example.com"),
		        H_A_TIMEOUT("mx2.example.com") },
		    2, POLICY_REPLY_DANE, "could not be checked", false },
		{ "every host unknown (bogus TLSA): TEMP", false, S_DATA, false,
		    { H_TLSA_BOGUS("mx1.example.com") }, 1, POLICY_REPLY_TEMP,
		    "dnssec validation failure: TLSA _25._tcp.mx1.example.com",
		    false },
		{ "every host unknown (timeouts): TEMP, transient", false,
		    S_DATA, false,
		    { H_A_TIMEOUT("mx1.example.com"),
		        H_A_TIMEOUT("mx2.example.com") },
		    2, POLICY_REPLY_TEMP, "dns timeout: A mx1.example.com",
		    true },
		{ "every host unknown, one bogus: not transient", false, S_DATA,
		    false,
		    { H_A_TIMEOUT("mx1.example.com"),
		        H_TLSA_BOGUS("mx2.example.com") },
		    2, POLICY_REPLY_TEMP, "dns timeout", false },
		{ "address-less host skipped next to DANE: dane-only", false,
		    S_DATA, false,
		    { H_NO_ADDR("mx0.example.com"), H_DANE("mx1.example.com") },
		    2, POLICY_REPLY_DANE_ONLY, "all 1", false },
		{ "no host has an address: NOTFOUND", false, S_DATA, false,
		    { H_NO_ADDR("mx1.example.com") }, 1, POLICY_REPLY_NOTFOUND,
		    "has an address", false },
		{ "[host] key, DANE: dane-only (the admin named it)", true,
		    NOT_ASKED, false, { H_DANE("mx1.example.com") }, 1,
		    POLICY_REPLY_DANE_ONLY, "[host]", false },
		{ "[host] key, no TLSA: NOTFOUND", true, NOT_ASKED, false,
		    { H_NON_DANE("mx1.example.com") }, 1, POLICY_REPLY_NOTFOUND,
		    "secure TLSA", false },
		{ "[host] key, host unknown: TEMP", true, NOT_ASKED, false,
		    { H_A_TIMEOUT("mx1.example.com") }, 1, POLICY_REPLY_TEMP,
		    "dns timeout: A mx1.example.com", true },
		{ "no hosts at all from the resolver: TEMP, not NOTFOUND",
		    false, S_DATA, false, { { 0 } }, 0, POLICY_REPLY_TEMP,
		    "no MX host", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_facts facts = {
			.domain = cases[i].nexthop ? "mx1.example.com"
			                           : "example.com",
			.nexthop = cases[i].nexthop,
			.port = 25,
			.mx = cases[i].mx,
			.null_mx = cases[i].null_mx,
			.hosts = cases[i].hosts,
			.host_count = cases[i].host_count,
		};
		struct policy_decision d;

		policy_decide(&facts, &d);
		ck_assert_msg(d.reply == cases[i].reply, "%s: reply %d (%s)",
		    cases[i].rule, d.reply, d.reason);
		ck_assert_msg(strstr(d.reason, cases[i].reason_part) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", cases[i].rule, d.reason,
		    cases[i].reason_part);
		if (d.reply == POLICY_REPLY_TEMP)
			ck_assert_msg(d.transient == cases[i].transient,
			    "%s: transient", cases[i].rule);
	}
}
END_TEST

/* A TEMP names the failure behind it, so failures can be counted by kind
 * (the daemon's metrics); any other reply names none. */
START_TEST(temp_names_its_failure)
{
	const struct {
		const char *rule;
		struct policy_fact mx;
		struct policy_host hosts[1];
		size_t host_count;
		enum policy_failure failure;
		int rcode;
	} cases[] = {
		{ "MX SERVFAIL: rcode 2", SERVFAIL, { { 0 } }, 0,
		    POLICY_FAIL_RCODE, 2 },
		{ "MX timeout", TIMEOUT, { { 0 } }, 0, POLICY_FAIL_TIMEOUT,
		    -1 },
		{ "MX bogus", BOGUS, { { 0 } }, 0, POLICY_FAIL_BOGUS, 0 },
		{ "the only host's TLSA bogus", S_DATA,
		    { H_TLSA_BOGUS("mx1.example.com") }, 1, POLICY_FAIL_BOGUS,
		    0 },
		{ "no hosts at all: no DNS failure", S_DATA, { { 0 } }, 0,
		    POLICY_FAIL_NONE, -1 },
		{ "dane-only: no failure", S_DATA,
		    { H_DANE("mx1.example.com") }, 1, POLICY_FAIL_NONE, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_facts facts = { .domain = "example.com",
			.port = 25,
			.mx = cases[i].mx,
			.hosts = cases[i].hosts,
			.host_count = cases[i].host_count };
		struct policy_decision d;

		policy_decide(&facts, &d);
		ck_assert_msg(d.failure == cases[i].failure, "%s: failure %s",
		    cases[i].rule, policy_failure_name(d.failure));
		ck_assert_msg(d.rcode == cases[i].rcode, "%s: rcode %d",
		    cases[i].rule, d.rcode);
	}
}
END_TEST

START_TEST(ttl_is_the_minimum_of_deciding_rrsets)
{
	struct policy_host hosts[2] = { H_DANE("mx1.example.com"),
		H_DANE("mx2.example.com") };
	struct policy_facts facts = { .domain = "example.com",
		.port = 25,
		.mx = S_DATA,
		.hosts = hosts,
		.host_count = 2 };
	struct policy_decision d;

	facts.mx.ttl = 7200;
	hosts[1].tlsa_expanded.ttl = 120;
	hosts[0].aaaa.ttl = 600;
	policy_decide(&facts, &d);
	ck_assert_int_eq(d.reply, POLICY_REPLY_DANE_ONLY);
	ck_assert_uint_eq(d.ttl, 120);
	hosts[1].tlsa_expanded.ttl = 3600;
	policy_decide(&facts, &d);
	ck_assert_uint_eq(d.ttl, 600);
}
END_TEST

/* A decision's payload as the daemon and `danemap query` give it. */
static long
payload(const struct policy_decision *d, char *buf, size_t size)
{
	const char *text;
	enum sockmap_status st = policy_reply_words(d, &text);

	return sockmap_format_payload(buf, size, st, text);
}

START_TEST(hostile_names_never_reach_the_reply)
{
	struct policy_host hosts[1] = { H_TLSA_BOGUS("mx\n1.exa mple") };
	struct policy_facts facts = { .domain = "example.com",
		.port = 25,
		.mx = S_DATA,
		.hosts = hosts,
		.host_count = 1 };
	struct policy_decision d;
	char buf[600];

	policy_decide(&facts, &d);
	ck_assert_int_eq(d.reply, POLICY_REPLY_TEMP);
	ck_assert_int_gt(payload(&d, buf, sizeof(buf)), 0);
	/* the reason itself is clean, before sockmap's own guard */
	for (const char *p = d.reason; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable in reply");
	ck_assert_ptr_nonnull(strstr(buf, "mx?1.exa?mple"));
}
END_TEST

START_TEST(reply_format_exact)
{
	struct policy_decision d = { .reply = POLICY_REPLY_DANE_ONLY };
	char buf[64];

	ck_assert_int_eq(payload(&d, buf, sizeof(buf)), 12);
	ck_assert_str_eq(buf, "OK dane-only");
	d.reply = POLICY_REPLY_DANE;
	ck_assert_int_eq(payload(&d, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "OK dane");
	d.reply = POLICY_REPLY_NOTFOUND;
	ck_assert_int_eq(payload(&d, buf, sizeof(buf)), 9);
	ck_assert_str_eq(buf, "NOTFOUND ");
	d.reply = POLICY_REPLY_TEMP;
	strcpy(d.reason, "dns timeout: MX example.com");
	payload(&d, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TEMP dns timeout: MX example.com");
	ck_assert_int_eq(payload(&d, buf, 10), -1);
}
END_TEST

/* One spelling of the TLSA owner name and of rcodes, for every caller. */
START_TEST(tlsa_owner_and_rcode_names)
{
	char buf[32];

	ck_assert_int_eq(policy_tlsa_owner(buf, sizeof(buf), 25, "mx.example"),
	    19);
	ck_assert_str_eq(buf, "_25._tcp.mx.example");
	ck_assert_int_eq(policy_tlsa_owner(buf, 10, 587, "mx.example"), -1);
	ck_assert_str_eq(policy_rcode_name(2), "SERVFAIL");
	ck_assert_str_eq(policy_rcode_name(5), "REFUSED");
	ck_assert_str_eq(policy_rcode_name(9), "NOTAUTH");
	ck_assert_str_eq(policy_rcode_name(4095), "unknown rcode");
	ck_assert_str_eq(policy_rcode_name(-1), "unknown rcode");
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("rfc7672");

	tcase_add_test(tc, classify_table);
	tcase_add_test(tc, cname_chain_folding);
	tcase_add_test(tc, host_state_table);
	tcase_add_test(tc, domain_table);
	tcase_add_test(tc, temp_names_its_failure);
	tcase_add_test(tc, ttl_is_the_minimum_of_deciding_rrsets);
	tcase_add_test(tc, hostile_names_never_reach_the_reply);
	tcase_add_test(tc, reply_format_exact);
	tcase_add_test(tc, tlsa_owner_and_rcode_names);
	suite_add_tcase(s, tc);
	return s;
}
