/*
 * check_answer: reading one getdns response (lib/answer), from canned
 * wire-format replies turned into getdns dicts by getdns itself
 * (getdns_wire2msg_dict), wrapped the way a getdns callback delivers them.
 * Each case is named after the rule or the failure it pins down.
 */
#include <check.h>
#include <getdns/getdns_extra.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "check_main.h"

/* ------------------------------------------------------------ wire */

struct wire {
	uint8_t b[2048];
	size_t n;
};

static void
put8(struct wire *w, unsigned v)
{
	ck_assert_uint_lt(w->n, sizeof(w->b));
	w->b[w->n++] = (uint8_t)v;
}

static void
put16(struct wire *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v & 0xff);
}

static void
put32(struct wire *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v & 0xffff);
}

/* "a.b" -> 1a1b0; "" is the root */
static void
put_name(struct wire *w, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);

		put8(w, (unsigned)len);
		for (size_t i = 0; i < len; i++)
			put8(w, (unsigned char)name[i]);
		name += len + (dot != NULL);
	}
	put8(w, 0);
}

enum { QR = 0x8000, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3 };

static void
put_header(struct wire *w, unsigned flags, unsigned an, unsigned ns)
{
	put16(w, 0x1234);
	put16(w, flags);
	put16(w, 1);
	put16(w, an);
	put16(w, ns);
	put16(w, 0);
}

static void
put_question(struct wire *w, const char *name, unsigned type, unsigned class)
{
	put_name(w, name);
	put16(w, type);
	put16(w, class);
}

/* An RR whose rdata the caller writes next; returns where RDLENGTH is. */
static size_t
rr_begin(struct wire *w, const char *owner, unsigned type, uint32_t ttl)
{
	size_t at;

	put_name(w, owner);
	put16(w, type);
	put16(w, GETDNS_RRCLASS_IN);
	put32(w, ttl);
	at = w->n;
	put16(w, 0);
	return at;
}

static void
rr_end(struct wire *w, size_t at)
{
	size_t len = w->n - at - 2;

	w->b[at] = (uint8_t)(len >> 8);
	w->b[at + 1] = (uint8_t)len;
}

static void
put_mx(struct wire *w, const char *owner, uint32_t ttl, unsigned pref,
    const char *target)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_MX, ttl);

	put16(w, pref);
	put_name(w, target);
	rr_end(w, at);
}

static void
put_cname(struct wire *w, const char *owner, uint32_t ttl, const char *target)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_CNAME, ttl);

	put_name(w, target);
	rr_end(w, at);
}

static void
put_a(struct wire *w, const char *owner, uint32_t ttl)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_A, ttl);

	put32(w, 0x7f000101);
	rr_end(w, at);
}

static void
put_soa(struct wire *w, const char *owner, uint32_t ttl, uint32_t minimum)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_SOA, ttl);

	put_name(w, "ns.example");
	put_name(w, "hostmaster.example");
	put32(w, 1);
	put32(w, 3600);
	put32(w, 600);
	put32(w, 86400);
	put32(w, minimum);
	rr_end(w, at);
}

static void
put_tlsa(struct wire *w, const char *owner, uint32_t ttl, unsigned usage,
    unsigned fill, size_t len)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_TLSA, ttl);

	put8(w, usage);
	put8(w, 1);
	put8(w, 1);
	for (size_t i = 0; i < len; i++)
		put8(w, fill);
	rr_end(w, at);
}

/* A TXT record of the given character-strings (each under 256 bytes). */
static void
put_txt(struct wire *w, const char *owner, const char *const *strings,
    size_t n)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_TXT, 300);

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(strings[i]);

		put8(w, (unsigned)len);
		for (size_t c = 0; c < len; c++)
			put8(w, (unsigned char)strings[i][c]);
	}
	rr_end(w, at);
}

/* An RRSIG-typed record: only its type matters to the reader. */
static void
put_rrsig(struct wire *w, const char *owner, uint32_t ttl)
{
	size_t at = rr_begin(w, owner, GETDNS_RRTYPE_RRSIG, ttl);

	put16(w, GETDNS_RRTYPE_TLSA);
	put8(w, 13);
	put8(w, 3);
	put32(w, ttl);
	put32(w, 2000000000);
	put32(w, 1000000000);
	put16(w, 1);
	put_name(w, "example");
	for (int i = 0; i < 64; i++)
		put8(w, 0xab);
	rr_end(w, at);
}

/* The response dict a getdns callback delivers for this one reply. */
static getdns_dict *
response(const struct wire *w, uint32_t dnssec_status)
{
	getdns_dict *msg = NULL, *resp = getdns_dict_create();
	getdns_list *replies = getdns_list_create();

	ck_assert_int_eq(getdns_wire2msg_dict(w->b, w->n, &msg),
	    GETDNS_RETURN_GOOD);
	ck_assert_int_eq(getdns_dict_set_int(msg, "dnssec_status",
	                     dnssec_status),
	    GETDNS_RETURN_GOOD);
	ck_assert_int_eq(getdns_list_set_dict(replies, 0, msg),
	    GETDNS_RETURN_GOOD);
	ck_assert_int_eq(getdns_dict_set_list(resp, "replies_tree", replies),
	    GETDNS_RETURN_GOOD);
	ck_assert_int_eq(getdns_dict_set_int(resp, "status",
	                     GETDNS_RESPSTATUS_GOOD),
	    GETDNS_RETURN_GOOD);
	getdns_dict_destroy(msg);
	getdns_list_destroy(replies);
	return resp;
}

static void
view(const struct wire *w, uint32_t dnssec, const char *qname, uint16_t qtype,
    struct answer_view *v, getdns_dict **resp)
{
	*resp = response(w, dnssec);
	answer_view(GETDNS_CALLBACK_COMPLETE, *resp, qname, qtype, v);
}

/* A secure MX answer for example with the given header flags/question. */
static void
mx_reply(struct wire *w, unsigned flags, const char *qname, unsigned qtype,
    unsigned qclass)
{
	memset(w, 0, sizeof(*w));
	put_header(w, flags, 3, 0);
	put_question(w, qname, qtype, qclass);
	put_mx(w, "example", 3600, 20, "b.example");
	put_mx(w, "example", 1800, 10, "a.example");
	put_mx(w, "example", 3600, 10, "c.example");
}

/* ------------------------------------------------------------ tests */

START_TEST(reply_answering_the_question_is_read)
{
	struct wire w;
	struct answer_view v;
	struct answer_mx mx[8];
	getdns_dict *resp;
	bool null_mx = true;

	mx_reply(&w, QR, "example", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	view(&w, GETDNS_DNSSEC_SECURE, "example", GETDNS_RRTYPE_MX, &v, &resp);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_OK);
	ck_assert_int_eq(v.dnssec, POLICY_DNSSEC_SECURE);
	ck_assert_int_eq(v.rcode, 0);
	ck_assert(v.has_data);
	ck_assert_uint_eq(v.ttl, 1800); /* the smallest TTL */
	/* preference order, the section's order among equals */
	ck_assert_int_eq(answer_mx(v.answer, mx, 8, &null_mx), 3);
	ck_assert(!null_mx);
	ck_assert_str_eq(mx[0].name, "a.example");
	ck_assert_str_eq(mx[1].name, "c.example");
	ck_assert_str_eq(mx[2].name, "b.example");
	ck_assert_uint_eq(mx[2].preference, 20);
	/* at most max of them */
	ck_assert_int_eq(answer_mx(v.answer, mx, 2, &null_mx), 2);
	getdns_dict_destroy(resp);
}
END_TEST

START_TEST(question_compared_without_case)
{
	struct wire w;
	struct answer_view v;
	getdns_dict *resp;

	mx_reply(&w, QR, "ExAmple", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	view(&w, GETDNS_DNSSEC_SECURE, "example", GETDNS_RRTYPE_MX, &v, &resp);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_OK);
	getdns_dict_destroy(resp);
}
END_TEST

/* getdns 1.6.0 recursive mode hands back libunbound's last packet, for
 * another question, labelled insecure NOERROR: never believed. */
START_TEST(reply_for_another_question_is_a_failure)
{
	static const struct {
		const char *rule;
		unsigned flags;
		const char *qname;
		unsigned qtype, qclass;
	} cases[] = {
		{ "another name", QR, "other.example", GETDNS_RRTYPE_MX,
		    GETDNS_RRCLASS_IN },
		{ "the root's NS (unbound's priming query)", QR, "",
		    GETDNS_RRTYPE_NS, GETDNS_RRCLASS_IN },
		{ "another type", QR, "example", GETDNS_RRTYPE_AAAA,
		    GETDNS_RRCLASS_IN },
		{ "another class", QR, "example", GETDNS_RRTYPE_MX,
		    GETDNS_RRCLASS_CH },
		{ "a query, not a response (QR clear)", 0, "example",
		    GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wire w;
		struct answer_view v;
		getdns_dict *resp;
		struct policy_fact f;

		mx_reply(&w, cases[i].flags, cases[i].qname, cases[i].qtype,
		    cases[i].qclass);
		view(&w, GETDNS_DNSSEC_INSECURE, "example", GETDNS_RRTYPE_MX,
		    &v, &resp);
		ck_assert_msg(v.transport == POLICY_TRANSPORT_MISMATCH,
		    "%s: transport %d", cases[i].rule, v.transport);
		ck_assert_msg(!v.has_data, "%s: data read", cases[i].rule);
		f = policy_classify(v.transport, v.dnssec, v.rcode, v.has_data,
		    v.ttl);
		ck_assert_msg(f.answer == POLICY_ANSWER_FAILED &&
		        f.failure == POLICY_FAIL_MISMATCH,
		    "%s: classified %d/%d", cases[i].rule, f.answer, f.failure);
		getdns_dict_destroy(resp);
	}
}
END_TEST

/* The status is kept beside the rcode: policy_classify fails a SERVFAIL
 * that getdns labels insecure. */
START_TEST(servfail_labelled_insecure_keeps_its_rcode)
{
	struct wire w = { .n = 0 };
	struct answer_view v;
	getdns_dict *resp;

	put_header(&w, QR | RCODE_SERVFAIL, 0, 0);
	put_question(&w, "example", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	view(&w, GETDNS_DNSSEC_INSECURE, "example", GETDNS_RRTYPE_MX, &v,
	    &resp);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_OK);
	ck_assert_int_eq(v.dnssec, POLICY_DNSSEC_INSECURE);
	ck_assert_int_eq(v.rcode, RCODE_SERVFAIL);
	ck_assert_int_eq(policy_classify(v.transport, v.dnssec, v.rcode,
	                     v.has_data, v.ttl)
	                     .failure,
	    POLICY_FAIL_RCODE);
	getdns_dict_destroy(resp);
}
END_TEST

/* RFC 2308 §5: a denial lives min(SOA TTL, SOA MINIMUM). */
START_TEST(negative_ttl_is_min_of_soa_ttl_and_minimum)
{
	struct wire w = { .n = 0 };
	struct answer_view v;
	getdns_dict *resp;

	put_header(&w, QR | RCODE_NXDOMAIN, 0, 1);
	put_question(&w, "nx.example", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	put_soa(&w, "example", 3600, 300);
	view(&w, GETDNS_DNSSEC_SECURE, "nx.example", GETDNS_RRTYPE_MX, &v,
	    &resp);
	ck_assert_int_eq(v.rcode, RCODE_NXDOMAIN);
	ck_assert(!v.has_data);
	ck_assert_uint_eq(v.ttl, 300);
	getdns_dict_destroy(resp);

	w.n = 0;
	put_header(&w, QR, 0, 1);
	put_question(&w, "example", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	put_soa(&w, "example", 120, 300);
	view(&w, GETDNS_DNSSEC_SECURE, "example", GETDNS_RRTYPE_MX, &v, &resp);
	ck_assert_uint_eq(v.ttl, 120);
	getdns_dict_destroy(resp);
}
END_TEST

/* A stub upstream answers the CNAME without the target's data: the view
 * says where the chain ends, so the resolver asks there next. */
START_TEST(cname_chain_end_and_ttl)
{
	struct wire w = { .n = 0 };
	struct answer_view v;
	getdns_dict *resp;

	put_header(&w, QR, 2, 0);
	put_question(&w, "mx.example", GETDNS_RRTYPE_A, GETDNS_RRCLASS_IN);
	put_cname(&w, "mid.example", 60, "Target.Other");
	put_cname(&w, "mx.example", 600, "mid.example");
	view(&w, GETDNS_DNSSEC_SECURE, "mx.example", GETDNS_RRTYPE_A, &v,
	    &resp);
	ck_assert(!v.has_data);
	ck_assert_str_eq(v.end, "target.other");
	ck_assert_uint_eq(v.ttl, 60);
	getdns_dict_destroy(resp);

	/* the whole chain in one answer: data, end at the last name */
	w.n = 0;
	put_header(&w, QR, 2, 0);
	put_question(&w, "mx.example", GETDNS_RRTYPE_A, GETDNS_RRCLASS_IN);
	put_cname(&w, "mx.example", 600, "host.other");
	put_a(&w, "host.other", 30);
	view(&w, GETDNS_DNSSEC_SECURE, "mx.example", GETDNS_RRTYPE_A, &v,
	    &resp);
	ck_assert(v.has_data);
	ck_assert_str_eq(v.end, "host.other");
	ck_assert_uint_eq(v.ttl, 30);
	getdns_dict_destroy(resp);
}
END_TEST

/* RFC 7505: "0 ." alone is a null MX; next to real hosts it is dropped. */
START_TEST(null_mx_alone_is_no_mail)
{
	struct wire w = { .n = 0 };
	struct answer_view v;
	struct answer_mx mx[4];
	getdns_dict *resp;
	bool null_mx = false;

	put_header(&w, QR, 1, 0);
	put_question(&w, "example", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	put_mx(&w, "example", 3600, 0, "");
	view(&w, GETDNS_DNSSEC_SECURE, "example", GETDNS_RRTYPE_MX, &v, &resp);
	ck_assert_int_eq(answer_mx(v.answer, mx, 4, &null_mx), 0);
	ck_assert(null_mx);
	getdns_dict_destroy(resp);

	w.n = 0;
	put_header(&w, QR, 2, 0);
	put_question(&w, "example", GETDNS_RRTYPE_MX, GETDNS_RRCLASS_IN);
	put_mx(&w, "example", 3600, 0, "");
	put_mx(&w, "example", 3600, 10, "mx.example");
	view(&w, GETDNS_DNSSEC_SECURE, "example", GETDNS_RRTYPE_MX, &v, &resp);
	ck_assert_int_eq(answer_mx(v.answer, mx, 4, &null_mx), 1);
	ck_assert(!null_mx);
	ck_assert_str_eq(mx[0].name, "mx.example");
	getdns_dict_destroy(resp);
}
END_TEST

/* TLSA records are copied (they outlive the response); RRSIGs skipped. */
START_TEST(tlsa_rrset_copied_without_rrsigs)
{
	struct wire w = { .n = 0 };
	struct answer_view v;
	struct tlsa_record *rrs;
	getdns_dict *resp;
	const char *owner = "_25._tcp.mx.example";

	put_header(&w, QR, 3, 0);
	put_question(&w, owner, GETDNS_RRTYPE_TLSA, GETDNS_RRCLASS_IN);
	put_tlsa(&w, owner, 3600, 3, 0x11, 32);
	put_rrsig(&w, owner, 3600);
	put_tlsa(&w, owner, 3600, 2, 0x22, 64);
	view(&w, GETDNS_DNSSEC_SECURE, owner, GETDNS_RRTYPE_TLSA, &v, &resp);
	ck_assert(v.has_data);
	ck_assert_int_eq(answer_tlsa(v.answer, &rrs), 2);
	getdns_dict_destroy(resp); /* the copies must survive this */
	ck_assert_uint_eq(rrs[0].usage, 3);
	ck_assert_uint_eq(rrs[0].len, 32);
	ck_assert_uint_eq(rrs[0].data[31], 0x11);
	ck_assert_uint_eq(rrs[1].usage, 2);
	ck_assert_uint_eq(rrs[1].len, 64);
	ck_assert_uint_eq(rrs[1].data[0], 0x22);
	answer_tlsa_free(rrs, 2);
	answer_tlsa_free(NULL, 0);
}
END_TEST

/* What answer_txt_each passed: the texts, joined, with their lengths. */
struct seen_txt {
	size_t n;
	char text[4][800];
	size_t len[4];
};

static void
saw_txt(const char *text, size_t len, void *arg)
{
	struct seen_txt *seen = arg;

	ck_assert_uint_lt(seen->n, 4);
	ck_assert_uint_lt(len, sizeof(seen->text[0]));
	memcpy(seen->text[seen->n], text, len);
	seen->len[seen->n++] = len;
}

/* RFC 8461 §3.1: a TXT record's strings are joined without spaces; every
 * record is passed, whole, embedded NUL bytes and all. */
START_TEST(txt_strings_joined)
{
	static const char *const split[] = { "v=STSv1; ", "id=abc;" };
	static const char *const other[] = { "v=spf1 -all" };
	static char chunk[250];
	const char *longer[3] = { chunk, chunk, chunk };
	struct wire w = { .n = 0 };
	struct seen_txt seen = { .n = 0 };
	struct answer_view v;
	getdns_dict *resp;
	const char *owner = "_mta-sts.example";

	memset(chunk, 'x', sizeof(chunk) - 1);
	memcpy(chunk, "v=STSv1; id=1; x=", 17);
	put_header(&w, QR, 4, 0);
	put_question(&w, owner, GETDNS_RRTYPE_TXT, GETDNS_RRCLASS_IN);
	put_txt(&w, owner, split, 2);
	put_rrsig(&w, owner, 300);
	put_txt(&w, owner, other, 1);
	put_txt(&w, owner, longer, 3); /* 747 bytes */
	view(&w, GETDNS_DNSSEC_SECURE, owner, GETDNS_RRTYPE_TXT, &v, &resp);
	ck_assert(v.has_data);
	ck_assert_int_eq(answer_txt_each(v.answer, saw_txt, &seen), 3);
	ck_assert_uint_eq(seen.len[0], 16);
	ck_assert_mem_eq(seen.text[0], "v=STSv1; id=abc;", 16);
	ck_assert_uint_eq(seen.len[1], 11);
	ck_assert_uint_eq(seen.len[2], 747);
	ck_assert_mem_eq(seen.text[2] + 498, chunk, 249);
	getdns_dict_destroy(resp);
}
END_TEST

START_TEST(addresses_read)
{
	char addrs[4][ANSWER_ADDR_SIZE];
	struct wire w = { .n = 0 };
	struct answer_view v;
	getdns_dict *resp;

	put_header(&w, QR, 2, 0);
	put_question(&w, "mta-sts.example", GETDNS_RRTYPE_A, GETDNS_RRCLASS_IN);
	put_a(&w, "mta-sts.example", 300);
	put_rrsig(&w, "mta-sts.example", 300);
	view(&w, GETDNS_DNSSEC_SECURE, "mta-sts.example", GETDNS_RRTYPE_A, &v,
	    &resp);
	ck_assert_int_eq(answer_addrs(v.answer, GETDNS_RRTYPE_A, addrs, 4), 1);
	ck_assert_str_eq(addrs[0], "127.0.1.1");
	ck_assert_int_eq(answer_addrs(v.answer, GETDNS_RRTYPE_AAAA, addrs, 4),
	    0);
	getdns_dict_destroy(resp);
}
END_TEST

START_TEST(no_usable_reply)
{
	struct answer_view v;
	getdns_dict *resp = getdns_dict_create();
	getdns_list *empty = getdns_list_create();

	answer_view(GETDNS_CALLBACK_TIMEOUT, NULL, "example", GETDNS_RRTYPE_MX,
	    &v);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_TIMEOUT);
	answer_view(GETDNS_CALLBACK_ERROR, NULL, "example", GETDNS_RRTYPE_MX,
	    &v);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_ERROR);

	ck_assert_int_eq(getdns_dict_set_int(resp, "status",
	                     GETDNS_RESPSTATUS_ALL_TIMEOUT),
	    GETDNS_RETURN_GOOD);
	answer_view(GETDNS_CALLBACK_COMPLETE, resp, "example", GETDNS_RRTYPE_MX,
	    &v);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_TIMEOUT);

	/* nothing in replies_tree: bogus if getdns said so, else an error,
	 * never "no such name" */
	ck_assert_int_eq(getdns_dict_set_list(resp, "replies_tree", empty),
	    GETDNS_RETURN_GOOD);
	ck_assert_int_eq(getdns_dict_set_int(resp, "status",
	                     GETDNS_RESPSTATUS_ALL_BOGUS_ANSWERS),
	    GETDNS_RETURN_GOOD);
	answer_view(GETDNS_CALLBACK_COMPLETE, resp, "example", GETDNS_RRTYPE_MX,
	    &v);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_OK);
	ck_assert_int_eq(v.dnssec, POLICY_DNSSEC_BOGUS);
	ck_assert_int_eq(getdns_dict_set_int(resp, "status",
	                     GETDNS_RESPSTATUS_NO_NAME),
	    GETDNS_RETURN_GOOD);
	answer_view(GETDNS_CALLBACK_COMPLETE, resp, "example", GETDNS_RRTYPE_MX,
	    &v);
	ck_assert_int_eq(v.transport, POLICY_TRANSPORT_ERROR);
	getdns_list_destroy(empty);
	getdns_dict_destroy(resp);
}
END_TEST

/* A label may hold any byte: written so that it means the same name
 * again (RFC 1035 §5.1 escapes), never "m." + "example" as "m..example". */
START_TEST(names_round_trip)
{
	static const struct {
		const char *rule;
		const uint8_t wire[32];
		size_t len;
		const char *want; /* NULL: refused */
	} cases[] = {
		{ "root", { 0 }, 1, "" },
		{ "lower case",
		    { 2, 'M', 'x', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0 },
		    12, "mx.example" },
		{ "a dot inside a label", { 2, 'm', '.', 1, 'x', 0 }, 6,
		    "m\\046.x" },
		{ "space and a high byte", { 3, 'a', ' ', 0xff, 0 }, 5,
		    "a\\032\\255" },
		{ "no root label", { 1, 'a' }, 2, NULL },
		{ "label past the end", { 5, 'a', 'b', 0 }, 4, NULL },
		{ "bytes after the root", { 0, 1, 'a', 0 }, 4, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		getdns_bindata b = { cases[i].len, (uint8_t *)cases[i].wire };
		char out[ANSWER_NAME_SIZE];
		int rc = answer_name(&b, out, sizeof(out));

		if (cases[i].want == NULL)
			ck_assert_msg(rc == -1, "%s: accepted", cases[i].rule);
		else
			ck_assert_msg(rc == 0 &&
			        strcmp(out, cases[i].want) == 0,
			    "%s: rc %d, '%s'", cases[i].rule, rc,
			    rc == 0 ? out : "");
	}
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("answer");
	TCase *tc = tcase_create("reading a getdns response");

	tcase_add_test(tc, reply_answering_the_question_is_read);
	tcase_add_test(tc, question_compared_without_case);
	tcase_add_test(tc, reply_for_another_question_is_a_failure);
	tcase_add_test(tc, servfail_labelled_insecure_keeps_its_rcode);
	tcase_add_test(tc, negative_ttl_is_min_of_soa_ttl_and_minimum);
	tcase_add_test(tc, cname_chain_end_and_ttl);
	tcase_add_test(tc, null_mx_alone_is_no_mail);
	tcase_add_test(tc, tlsa_rrset_copied_without_rrsigs);
	tcase_add_test(tc, txt_strings_joined);
	tcase_add_test(tc, addresses_read);
	tcase_add_test(tc, no_usable_reply);
	tcase_add_test(tc, names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
