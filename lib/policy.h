/*
 * policy: the DANE decision of RFC 7672 as a pure function.
 *
 * Facts in (what every DNS lookup for one socketmap key returned, already
 * classified), socketmap reply out. No I/O, no getdns types, no clock: the
 * resolver gathers the facts, this module only judges them, so every corner
 * of doc/design.md §4 is a table-driven unit test.
 *
 * Deliberately not here: asking DNS (resolve), parsing keys (mapkey),
 * formatting netstrings (sockmap).
 */
#ifndef DANEMAP_POLICY_H
#define DANEMAP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockmap.h"
#include "tlsa.h"

/* DNSSEC status of one answer as the validator reported it. */
enum policy_dnssec {
	POLICY_DNSSEC_SECURE,
	POLICY_DNSSEC_INSECURE,
	POLICY_DNSSEC_BOGUS,
	POLICY_DNSSEC_INDETERMINATE,
};

/* How the exchange with the upstream ended, before any DNS content. */
enum policy_transport {
	POLICY_TRANSPORT_OK,       /* a reply arrived */
	POLICY_TRANSPORT_TIMEOUT,  /* query timeout or the lookup deadline */
	POLICY_TRANSPORT_ERROR,    /* network or resolver-internal error */
	POLICY_TRANSPORT_MISMATCH, /* the reply answers another question */
};

/* What one RRset lookup amounts to, once classified. */
enum policy_answer {
	POLICY_ANSWER_NOT_ASKED, /* the walk never needed it */
	POLICY_ANSWER_DATA,      /* NOERROR with records of the asked type */
	POLICY_ANSWER_NODATA,    /* NOERROR, no records of the asked type */
	POLICY_ANSWER_NXDOMAIN,  /* the name does not exist */
	POLICY_ANSWER_FAILED,    /* see enum policy_failure */
	POLICY_ANSWER_TOOLONG, /* the name would exceed 255 octets: cannot exist
	                        */
};

enum policy_failure {
	POLICY_FAIL_NONE,
	POLICY_FAIL_BOGUS,
	POLICY_FAIL_INDETERMINATE,
	POLICY_FAIL_TIMEOUT,
	POLICY_FAIL_NETWORK,
	POLICY_FAIL_RCODE,    /* SERVFAIL, REFUSED, FORMERR, ...: see rcode */
	POLICY_FAIL_CNAME,    /* CNAME chain too long or looping */
	POLICY_FAIL_MISMATCH, /* reply for another question, or QR clear */
};

/*
 * One RRset lookup, following CNAMEs: `secure` holds only if every step of
 * the chain and the final answer (or its denial) validated as SECURE.
 * `ttl` is the smallest TTL seen on the way (for denials, the negative TTL).
 */
struct policy_fact {
	enum policy_answer answer;
	enum policy_failure failure; /* POLICY_FAIL_NONE unless FAILED */
	bool secure;                 /* meaningful for DATA/NODATA/NXDOMAIN */
	int rcode;                   /* last rcode seen, -1 if none */
	uint32_t ttl;
};

/* Everything learnt about one MX host (or the [host] of a nexthop key). */
struct policy_host {
	const char *name;     /* as in the MX RR, lower case, no trailing dot */
	const char *expanded; /* CNAME-expanded address name; == name if none */
	uint16_t preference;
	struct policy_fact a;
	struct policy_fact aaaa;
	/* TLSA at _port._tcp.<expanded>; then, only if that gave no secure
	 * TLSA RRset and expanded != name, at _port._tcp.<name>. */
	struct policy_fact tlsa_expanded;
	const struct tlsa_record *tlsa_expanded_rrs;
	size_t tlsa_expanded_count;
	struct policy_fact tlsa_original;
	const struct tlsa_record *tlsa_original_rrs;
	size_t tlsa_original_count;
};

/* The facts for one socketmap key. */
struct policy_facts {
	const char *domain;    /* normalised domain or [host] name */
	bool nexthop;          /* key was [host] or [host]:port: no MX stage */
	unsigned port;         /* TLSA port: _port._tcp (for reasons only) */
	struct policy_fact mx; /* NOT_ASKED when nexthop */
	bool null_mx;          /* MX RRset held only "0 ." */
	const struct policy_host *hosts;
	size_t host_count;
};

/* The per-host verdict of doc/design.md §4. */
enum policy_host_state {
	POLICY_HOST_UNKNOWN,       /* a lookup failed: cannot tell */
	POLICY_HOST_NO_ADDRESS,    /* A and AAAA securely denied: skipped */
	POLICY_HOST_NON_DANE,      /* insecure, or securely no TLSA */
	POLICY_HOST_DANE,          /* secure TLSA RRset, >= 1 usable record */
	POLICY_HOST_UNUSABLE_TLSA, /* secure TLSA RRset, nothing usable */
};

enum policy_reply {
	POLICY_REPLY_DANE_ONLY, /* "OK dane-only" */
	POLICY_REPLY_DANE,      /* "OK dane" */
	POLICY_REPLY_NOTFOUND,  /* "NOTFOUND " */
	POLICY_REPLY_TEMP,      /* "TEMP <reason>" */
};

#define POLICY_REASON_MAX 512

struct policy_decision {
	enum policy_reply reply;
	/* Why, in one line of printable ASCII; for TEMP it is the reply text.
	 */
	char reason[POLICY_REASON_MAX];
	/* Smallest TTL among the RRsets that decided it; 0 if none. */
	uint32_t ttl;
	/* True when the failure behind a TEMP was transport (timeout, network,
	 * rcode), false when it was validation (bogus/indeterminate): only
	 * the former may be answered from a stale cache entry. */
	bool transient;
	/* For a TEMP, the failure of the lookup its reason names, and that
	 * lookup's rcode (-1 if none): what a failure count is kept by.
	 * POLICY_FAIL_NONE when no DNS lookup failed (a name too long to
	 * exist, no MX host to evaluate). */
	enum policy_failure failure;
	int rcode;
};

/*
 * policy_classify: turn one raw lookup outcome into a fact. The order is the
 * safety rule of doc/design.md §4: transport first, then the DNSSEC status (a
 * BOGUS or INDETERMINATE answer fails whatever its rcode), then the rcode
 * (anything but NOERROR/NXDOMAIN fails), and only then the data.
 * `has_data` says whether records of the asked type were present.
 */
struct policy_fact policy_classify(enum policy_transport transport,
    enum policy_dnssec dnssec, int rcode, bool has_data, uint32_t ttl);

/*
 * policy_fact_chain: fold the next step of a CNAME chain into *chain (which
 * starts as the first step's fact). A failure anywhere fails the chain; the
 * chain is secure only if every step is; the TTL is the smallest; the
 * answer is the last step's.
 */
void policy_fact_chain(struct policy_fact *chain,
    const struct policy_fact *next);

/*
 * The two questions the resolver asks while it walks a host, answered here
 * so the rules live in one place:
 * policy_host_needs_tlsa: both address lookups are in, neither failed, both
 * are secure and at least one has data: look up TLSA at the expanded name.
 * policy_host_needs_original_tlsa: the TLSA lookup at the expanded name
 * neither failed nor gave a secure TLSA RRset, and the expanded name differs
 * from the MX name: look up TLSA at the original name too (RFC 7672 §2.2.2).
 */
bool policy_host_needs_tlsa(const struct policy_host *host);
bool policy_host_needs_original_tlsa(const struct policy_host *host);

/* policy_host_state: the verdict for one host; *why gets a static string. */
enum policy_host_state policy_host_state(const struct policy_host *host,
    const char **why);

/* policy_decide: the reply for the whole key. Never fails. */
void policy_decide(const struct policy_facts *facts,
    struct policy_decision *out);

/*
 * policy_reply_words: a decision as a socketmap status and its text: OK
 * "dane-only", OK "dane", NOTFOUND "", TEMP and the reason. sockmap frames
 * them (sockmap_format_reply, or sockmap_format_payload unframed).
 */
enum sockmap_status policy_reply_words(const struct policy_decision *decision,
    const char **text);

/*
 * policy_tlsa_owner: the TLSA owner name "_PORT._tcp.HOST" (RFC 7672 §2.2)
 * in buf. Returns its length, or -1 if it does not fit (buf then holds a
 * cut name).
 */
int policy_tlsa_owner(char *buf, size_t size, unsigned port, const char *host);

/* Short names for logs and evidence output; policy_rcode_name gives
 * "unknown rcode" for a value it has no name for. */
const char *policy_rcode_name(int rcode);
const char *policy_host_state_name(enum policy_host_state state);
const char *policy_answer_name(enum policy_answer answer);
const char *policy_failure_name(enum policy_failure failure);

#endif
