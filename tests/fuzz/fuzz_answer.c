/*
 * fuzz_answer: lib/answer reading any reply getdns could hand over. The
 * input is turned into a reply dict field by field (header flags, rcode,
 * question, answer and authority records with names and rdata straight
 * from the input), not through getdns's wire parser, which is not ours to
 * fuzz (getdns_wire2msg_dict reads past its buffer on some malformed
 * messages). Checked: no crash or out-of-bounds read, and the view keeps
 * its promises: a reply is read as an answer only when it answers the
 * question; names come out lower case without a trailing dot; an MX set is
 * taken whole or not at all; TLSA copies are whole.
 *
 * Input: byte 0 picks the question and the DNSSEC label; byte 1 the flags
 * (bit 0 QR, bits 1-4 rcode, bit 5 class CH, bit 6 another type, bit 7
 * another name); then records: TYPE TTL OWNERLEN OWNER... RDLEN RDATA...
 */
#include <getdns/getdns_extra.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const uint8_t wire[24];
	size_t len;
	uint16_t qtype;
	const char *qname;
} questions[] = {
	{ "\7example", 9, GETDNS_RRTYPE_MX, "example" },
	{ "\2mx\7example", 12, GETDNS_RRTYPE_A, "mx.example" },
	{ "\2mx\7example", 12, GETDNS_RRTYPE_AAAA, "mx.example" },
	{ "\3_25\4_tcp\2mx\7example", 21, GETDNS_RRTYPE_TLSA,
	    "_25._tcp.mx.example" },
};

static void
check_name(const char *name)
{
	size_t len = strlen(name);

	if (len >= ANSWER_NAME_SIZE || (len > 0 && name[len - 1] == '.'))
		abort();
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			abort();
}

static void
set_bin(getdns_dict *d, const char *key, const uint8_t *p, size_t n)
{
	getdns_bindata b = { n, (uint8_t *)(n > 0 ? p : (const uint8_t *)"") };

	(void)getdns_dict_set_bindata(d, key, &b);
}

/* One record from the input at *p; NULL when the input ends. */
static getdns_dict *
take_rr(const uint8_t **p, const uint8_t *end, int *authority)
{
	static const uint16_t types[] = { GETDNS_RRTYPE_MX, GETDNS_RRTYPE_CNAME,
		GETDNS_RRTYPE_A, GETDNS_RRTYPE_TLSA, GETDNS_RRTYPE_SOA,
		GETDNS_RRTYPE_RRSIG };
	getdns_dict *rr, *rdata;
	size_t olen, rlen;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *owner, *rd;

	if (end - *p < 3)
		return NULL;
	type = types[(*p)[0] % (sizeof(types) / sizeof(types[0]))];
	ttl = (uint32_t)(*p)[1] * 97u;
	olen = (*p)[2];
	*p += 3;
	if ((size_t)(end - *p) < olen + 1)
		return NULL;
	owner = *p;
	*p += olen;
	rlen = (*p)[0];
	*p += 1;
	if ((size_t)(end - *p) < rlen)
		rlen = (size_t)(end - *p);
	rd = *p;
	*p += rlen;

	rr = getdns_dict_create();
	rdata = getdns_dict_create();
	set_bin(rr, "name", owner, olen);
	(void)getdns_dict_set_int(rr, "type", type);
	(void)getdns_dict_set_int(rr, "class", GETDNS_RRCLASS_IN);
	(void)getdns_dict_set_int(rr, "ttl", ttl);
	*authority = type == GETDNS_RRTYPE_SOA;
	switch (type) {
	case GETDNS_RRTYPE_MX:
		(void)getdns_dict_set_int(rdata, "preference",
		    rlen > 0 ? rd[0] : 0);
		set_bin(rdata, "exchange", rd + (rlen > 0), rlen - (rlen > 0));
		break;
	case GETDNS_RRTYPE_CNAME:
		set_bin(rdata, "cname", rd, rlen);
		break;
	case GETDNS_RRTYPE_TLSA:
		(void)getdns_dict_set_int(rdata, "certificate_usage",
		    rlen > 0 ? rd[0] : 3);
		(void)getdns_dict_set_int(rdata, "selector",
		    rlen > 1 ? rd[1] : 1);
		(void)getdns_dict_set_int(rdata, "matching_type",
		    rlen > 2 ? rd[2] : 1);
		set_bin(rdata, "certificate_association_data",
		    rd + (rlen > 3 ? 3 : rlen), rlen > 3 ? rlen - 3 : 0);
		break;
	case GETDNS_RRTYPE_SOA:
		(void)getdns_dict_set_int(rdata, "minimum",
		    rlen > 0 ? rd[0] * 13u : 0);
		break;
	default:
		set_bin(rdata, "rdata_raw", rd, rlen);
		break;
	}
	(void)getdns_dict_set_dict(rr, "rdata", rdata);
	getdns_dict_destroy(rdata);
	return rr;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	getdns_dict *resp, *reply, *header, *question, *rr;
	getdns_list *replies, *answer, *authority;
	const uint8_t *p = data + 2, *end = data + size;
	struct answer_view v;
	struct answer_mx mx[8];
	struct tlsa_record *rrs;
	bool null_mx;
	int n, in_authority;
	size_t q, na = 0, ns = 0;
	unsigned flags;

	if (size < 2)
		return 0;
	q = data[0] % (sizeof(questions) / sizeof(questions[0]));
	flags = data[1];
	resp = getdns_dict_create();
	reply = getdns_dict_create();
	header = getdns_dict_create();
	question = getdns_dict_create();
	replies = getdns_list_create();
	answer = getdns_list_create();
	authority = getdns_list_create();

	(void)getdns_dict_set_int(header, "qr", flags & 1);
	(void)getdns_dict_set_int(header, "rcode", (flags >> 1) & 15);
	set_bin(question, "qname",
	    flags & 128 ? (const uint8_t *)"\5other" : questions[q].wire,
	    flags & 128 ? 7 : questions[q].len);
	(void)getdns_dict_set_int(question, "qtype",
	    flags & 64 ? GETDNS_RRTYPE_NS : questions[q].qtype);
	(void)getdns_dict_set_int(question, "qclass",
	    flags & 32 ? GETDNS_RRCLASS_CH : GETDNS_RRCLASS_IN);
	while ((rr = take_rr(&p, end, &in_authority)) != NULL) {
		if (in_authority)
			(void)getdns_list_set_dict(authority, ns++, rr);
		else
			(void)getdns_list_set_dict(answer, na++, rr);
		getdns_dict_destroy(rr);
	}
	(void)getdns_dict_set_dict(reply, "header", header);
	(void)getdns_dict_set_dict(reply, "question", question);
	(void)getdns_dict_set_list(reply, "answer", answer);
	(void)getdns_dict_set_list(reply, "authority", authority);
	(void)getdns_dict_set_int(reply, "dnssec_status", 400 + data[0] % 4);
	(void)getdns_list_set_dict(replies, 0, reply);
	(void)getdns_dict_set_list(resp, "replies_tree", replies);
	(void)getdns_dict_set_int(resp, "status", GETDNS_RESPSTATUS_GOOD);

	answer_view(GETDNS_CALLBACK_COMPLETE, resp, questions[q].qname,
	    questions[q].qtype, &v);
	if (v.transport == POLICY_TRANSPORT_OK) {
		if ((flags & (1 | 32 | 64 | 128)) != 1)
			abort(); /* read a reply to another question */
	} else if (v.has_data || v.answer != NULL)
		abort();
	check_name(v.end);
	/* -1: an MX record that cannot be read fails the whole RRset */
	n = answer_mx(v.answer, mx, 8, &null_mx);
	if (n < -1 || n > 8 || (null_mx && n != 0))
		abort();
	for (int i = 0; i < n; i++)
		check_name(mx[i].name);
	n = answer_tlsa(v.answer, &rrs);
	for (int i = 0; i < n; i++)
		if (rrs[i].len > 0 && rrs[i].data == NULL)
			abort();
	if (n > 0)
		answer_tlsa_free(rrs, (size_t)n);

	getdns_list_destroy(answer);
	getdns_list_destroy(authority);
	getdns_list_destroy(replies);
	getdns_dict_destroy(header);
	getdns_dict_destroy(question);
	getdns_dict_destroy(reply);
	getdns_dict_destroy(resp);
	return 0;
}
