/*
 * answer: what one getdns response says, read with the getdns 1.6.0 traps
 * of doc/design.md ("getdns traps") in mind. Pure: no I/O, no events; the
 * resolver hands each response here and acts on the view.
 *
 *  - The DNSSEC status is taken as reported; the rcode is kept beside it
 *    so policy_classify can read the status first (a SERVFAIL arrives
 *    labelled "insecure").
 *  - A reply that does not answer the question asked (name, type, class),
 *    or is not a response (QR clear), is a failure: in recursive mode
 *    getdns 1.6.0 hands back, for a failed lookup, whatever packet
 *    libunbound last held, labelled INSECURE/NOERROR. Believing it would
 *    turn a resolver failure into "no TLSA": a silent downgrade.
 *  - RRSIGs in the answer section are skipped by type.
 *
 * Deliberately not here: sending queries, following CNAMEs across queries
 * (resolve), judging the facts (policy).
 */
#ifndef DANEMAP_ANSWER_H
#define DANEMAP_ANSWER_H

#include <getdns/getdns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Presentation names here: lower case, no trailing dot, root = "". */
#define ANSWER_NAME_SIZE 256

/* What one response says, before classification. */
struct answer_view {
	enum policy_transport transport;
	enum policy_dnssec dnssec;
	int rcode;           /* -1 if no usable reply */
	getdns_list *answer; /* answer section, borrowed from the response */
	bool has_data;       /* RRs of the asked type present */
	uint32_t ttl;        /* min TTL of the answer, or the negative TTL */
	char end[ANSWER_NAME_SIZE]; /* where the CNAME chain in it ends */
};

/*
 * answer_view: read response (the dict a getdns callback of the given type
 * delivered; may be NULL) for the question qname/qtype (class IN). Never
 * fails: what cannot be read becomes transport ERROR (or TIMEOUT, or a
 * BOGUS status). A reply that answers another question, or lacks QR, is
 * transport MISMATCH. v->answer stays valid while response lives.
 */
void answer_view(getdns_callback_type_t type, getdns_dict *response,
    const char *qname, uint16_t qtype, struct answer_view *v);

/*
 * answer_name: a wire-format name as a presentation name (see above) in
 * dst[size]. Returns 0, or -1 if it cannot be converted or does not fit.
 */
int answer_name(const getdns_bindata *wire, char *dst, size_t size);

/* answer_rr_type: the "type" of an RR dict, 0 if it has none. */
uint32_t answer_rr_type(const getdns_dict *rr);

/* One MX target, as answer_mx returns them. */
struct answer_mx {
	uint16_t preference;
	char name[ANSWER_NAME_SIZE];
};

/*
 * answer_mx: the MX records of answer, in preference order (the order of
 * the section among equals), at most max of them, into mx[]. "." targets
 * (RFC 7505) are not listed; *null_mx is set when "." targets were all
 * there was. Returns how many were stored, or -1 on memory failure or an
 * MX record that cannot be read (the RRset is taken whole or not at all).
 */
int answer_mx(getdns_list *answer, struct answer_mx *mx, size_t max,
    bool *null_mx);

/*
 * answer_tlsa: copies of the TLSA records of answer. Returns the count and
 * sets *out to an array the caller frees with answer_tlsa_free (NULL when
 * the count is 0), or -1 on memory failure (nothing to free): a TLSA RRset
 * must be taken whole or not at all, since a partial copy could turn
 * "dane-only" into "dane".
 */
int answer_tlsa(getdns_list *answer, struct tlsa_record **out);

/* answer_tlsa_free: free what answer_tlsa returned. NULL is a no-op. */
void answer_tlsa_free(struct tlsa_record *rrs, size_t count);

/* Room for an address literal (INET6_ADDRSTRLEN). */
#define ANSWER_ADDR_SIZE 46

/*
 * answer_txt_each: call fn with each TXT record of answer, its strings
 * joined without spaces (as RFC 8461 §3.1 reads them): text[0..len), which
 * may hold NUL bytes. Every record of the RRset is passed, however many.
 * Returns how many, or -1 for a record that cannot be read (or memory).
 */
int answer_txt_each(getdns_list *answer,
    void (*fn)(const char *text, size_t len, void *arg), void *arg);

/* answer_addrs: the A (qtype 1) or AAAA (28) records of answer as address
 * literals, at most max. Returns how many, or -1 for an unreadable one. */
int answer_addrs(getdns_list *answer, uint16_t qtype,
    char (*addrs)[ANSWER_ADDR_SIZE], size_t max);

#endif
