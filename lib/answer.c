/*
 * answer: reading one getdns response (see answer.h). Everything here
 * borrows from the response dict; only answer_tlsa copies, because TLSA
 * data outlives the response.
 */
#include "answer.h"

#include <arpa/inet.h>

#include <getdns/getdns_extra.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Wire name -> presentation, by hand rather than through getdns: getdns
 * prints a label holding a '.' (or any other byte) as it is, so "m." +
 * "example" came out as "m..example", a different name. Letters are
 * lowered; bytes other than letters, digits, '-' and '_' are written as
 * \DDD (RFC 1035 §5.1), which getdns reads back as the same byte.
 */
int
answer_name(const getdns_bindata *wire, char *dst, size_t size)
{
	size_t pos = 0, out = 0;

	if (wire == NULL || wire->data == NULL || size == 0)
		return -1;
	while (pos < wire->size) {
		size_t len = wire->data[pos++];

		if (len == 0) {
			dst[out] = '\0';
			return pos == wire->size ? 0 : -1;
		}
		if (len > 63 || pos + len > wire->size)
			return -1;
		if (out > 0) {
			if (out + 1 >= size)
				return -1;
			dst[out++] = '.';
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char c = wire->data[pos + i];

			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_') {
				if (out + 1 >= size)
					return -1;
				dst[out++] = (char)c;
			} else if (c >= 'A' && c <= 'Z') {
				if (out + 1 >= size)
					return -1;
				dst[out++] = (char)(c - 'A' + 'a');
			} else {
				if (out + 4 >= size)
					return -1;
				snprintf(dst + out, 5, "\\%03u", c);
				out += 4;
			}
		}
		pos += len;
	}
	return -1; /* no terminating root label */
}

uint32_t
answer_rr_type(const getdns_dict *rr)
{
	uint32_t type = 0;

	(void)getdns_dict_get_int(rr, "type", &type);
	return type;
}

static int
rr_owner(const getdns_dict *rr, char *dst, size_t size)
{
	getdns_bindata *owner;

	if (getdns_dict_get_bindata(rr, "name", &owner) != GETDNS_RETURN_GOOD)
		return -1;
	return answer_name(owner, dst, size);
}

static uint32_t
rr_ttl(const getdns_dict *rr)
{
	uint32_t ttl = 0;

	(void)getdns_dict_get_int(rr, "ttl", &ttl);
	return ttl;
}

static enum policy_dnssec
dnssec_from_getdns(uint32_t status)
{
	switch (status) {
	case GETDNS_DNSSEC_SECURE:
		return POLICY_DNSSEC_SECURE;
	case GETDNS_DNSSEC_INSECURE:
		return POLICY_DNSSEC_INSECURE;
	case GETDNS_DNSSEC_BOGUS:
		return POLICY_DNSSEC_BOGUS;
	default: /* INDETERMINATE, NOT_PERFORMED: never trusted */
		return POLICY_DNSSEC_INDETERMINATE;
	}
}

/* RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM). Without
 * an SOA (a CNAME step whose target another server holds) there is no
 * limit here: UINT32_MAX. */
static uint32_t
negative_ttl(getdns_dict *reply)
{
	getdns_list *authority;
	size_t n = 0;
	uint32_t ttl = UINT32_MAX;

	if (getdns_dict_get_list(reply, "authority", &authority) !=
	    GETDNS_RETURN_GOOD)
		return ttl;
	(void)getdns_list_get_length(authority, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;
		uint32_t minimum;

		if (getdns_list_get_dict(authority, i, &rr) !=
		        GETDNS_RETURN_GOOD ||
		    answer_rr_type(rr) != GETDNS_RRTYPE_SOA)
			continue;
		ttl = rr_ttl(rr);
		if (getdns_dict_get_int(rr, "/rdata/minimum", &minimum) ==
		        GETDNS_RETURN_GOOD &&
		    minimum < ttl)
			ttl = minimum;
		break;
	}
	return ttl;
}

/* Does reply answer qname/qtype/IN, as a response (QR set)? */
static bool
answers_question(getdns_dict *reply, const char *qname, uint16_t qtype)
{
	getdns_bindata *wire;
	uint32_t qr = 0, type = 0, class = 0;
	char name[ANSWER_NAME_SIZE];

	return getdns_dict_get_int(reply, "/header/qr", &qr) ==
	    GETDNS_RETURN_GOOD &&
	    qr == 1 &&
	    getdns_dict_get_bindata(reply, "/question/qname", &wire) ==
	    GETDNS_RETURN_GOOD &&
	    answer_name(wire, name, sizeof(name)) == 0 &&
	    strcasecmp(name, qname) == 0 &&
	    getdns_dict_get_int(reply, "/question/qtype", &type) ==
	    GETDNS_RETURN_GOOD &&
	    type == qtype &&
	    getdns_dict_get_int(reply, "/question/qclass", &class) ==
	    GETDNS_RETURN_GOOD &&
	    class == GETDNS_RRCLASS_IN;
}

/* Follow the CNAMEs inside the answer from qname to its end, taking the
 * smallest TTL on the way; then the records of the asked type. */
static void
read_answer(struct answer_view *v, uint16_t qtype)
{
	size_t n = 0;

	if (v->answer != NULL)
		(void)getdns_list_get_length(v->answer, &n);
	v->ttl = UINT32_MAX;
	for (unsigned hop = 0; hop <= n; hop++) {
		bool moved = false;

		for (size_t i = 0; i < n; i++) {
			getdns_dict *rr;
			getdns_bindata *target;
			char owner[ANSWER_NAME_SIZE];

			if (getdns_list_get_dict(v->answer, i, &rr) !=
			        GETDNS_RETURN_GOOD ||
			    answer_rr_type(rr) != GETDNS_RRTYPE_CNAME ||
			    rr_owner(rr, owner, sizeof(owner)) != 0 ||
			    strcmp(owner, v->end) != 0 ||
			    getdns_dict_get_bindata(rr, "/rdata/cname",
			        &target) != GETDNS_RETURN_GOOD)
				continue;
			if (rr_ttl(rr) < v->ttl)
				v->ttl = rr_ttl(rr);
			if (answer_name(target, v->end, sizeof(v->end)) != 0)
				v->end[0] = '\0';
			moved = true;
			break;
		}
		if (!moved)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;

		if (getdns_list_get_dict(v->answer, i, &rr) ==
		        GETDNS_RETURN_GOOD &&
		    answer_rr_type(rr) == qtype) {
			v->has_data = true;
			if (rr_ttl(rr) < v->ttl)
				v->ttl = rr_ttl(rr);
		}
	}
}

void
answer_view(getdns_callback_type_t type, getdns_dict *response,
    const char *qname, uint16_t qtype, struct answer_view *v)
{
	getdns_list *replies;
	getdns_dict *reply;
	uint32_t status = 0, value;
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	v->transport = POLICY_TRANSPORT_ERROR;
	v->dnssec = POLICY_DNSSEC_INDETERMINATE;
	v->rcode = -1;
	snprintf(v->end, sizeof(v->end), "%s", qname);

	if (type == GETDNS_CALLBACK_TIMEOUT) {
		v->transport = POLICY_TRANSPORT_TIMEOUT;
		return;
	}
	if (type != GETDNS_CALLBACK_COMPLETE || response == NULL)
		return;
	(void)getdns_dict_get_int(response, "status", &status);
	if (status == GETDNS_RESPSTATUS_ALL_TIMEOUT) {
		v->transport = POLICY_TRANSPORT_TIMEOUT;
		return;
	}
	if (getdns_dict_get_list(response, "replies_tree", &replies) !=
	        GETDNS_RETURN_GOOD ||
	    getdns_list_get_length(replies, &n) != GETDNS_RETURN_GOOD ||
	    n == 0 ||
	    getdns_list_get_dict(replies, 0, &reply) != GETDNS_RETURN_GOOD) {
		/* No reply to read. With all statuses requested a bogus
		 * reply is still listed, so this is an error, never a
		 * "no such name". */
		if (status == GETDNS_RESPSTATUS_ALL_BOGUS_ANSWERS) {
			v->transport = POLICY_TRANSPORT_OK;
			v->dnssec = POLICY_DNSSEC_BOGUS;
		}
		return;
	}
	if (!answers_question(reply, qname, qtype)) {
		v->transport = POLICY_TRANSPORT_MISMATCH;
		return;
	}
	v->transport = POLICY_TRANSPORT_OK;
	if (getdns_dict_get_int(reply, "dnssec_status", &value) ==
	    GETDNS_RETURN_GOOD)
		v->dnssec = dnssec_from_getdns(value);
	if (getdns_dict_get_int(reply, "/header/rcode", &value) ==
	    GETDNS_RETURN_GOOD)
		v->rcode = (int)value;
	if (getdns_dict_get_list(reply, "answer", &v->answer) !=
	    GETDNS_RETURN_GOOD)
		v->answer = NULL;
	read_answer(v, qtype);
	if (!v->has_data) {
		uint32_t neg = negative_ttl(reply);

		if (neg < v->ttl)
			v->ttl = neg;
	}
	if (v->ttl == UINT32_MAX)
		v->ttl = 0;
}

/* ------------------------------------------------------------ MX */

struct mx_sort {
	struct answer_mx mx;
	size_t order;
};

static int
mx_compare(const void *a, const void *b)
{
	const struct mx_sort *x = a, *y = b;

	if (x->mx.preference != y->mx.preference)
		return x->mx.preference < y->mx.preference ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int
answer_mx(getdns_list *answer, struct answer_mx *mx, size_t max, bool *null_mx)
{
	struct mx_sort *all;
	size_t n = 0, count = 0, dots = 0, stored;

	*null_mx = false;
	if (answer != NULL)
		(void)getdns_list_get_length(answer, &n);
	if (n == 0)
		return 0;
	if ((all = calloc(n, sizeof(*all))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;
		getdns_bindata *exchange;
		uint32_t pref;

		if (getdns_list_get_dict(answer, i, &rr) !=
		        GETDNS_RETURN_GOOD ||
		    answer_rr_type(rr) != GETDNS_RRTYPE_MX)
			continue;
		/* An MX record we cannot read is not skipped: one host
		 * less could make the rest look like dane-only. */
		if (getdns_dict_get_int(rr, "/rdata/preference", &pref) !=
		        GETDNS_RETURN_GOOD ||
		    getdns_dict_get_bindata(rr, "/rdata/exchange", &exchange) !=
		        GETDNS_RETURN_GOOD ||
		    answer_name(exchange, all[count].mx.name,
		        sizeof(all[count].mx.name)) != 0) {
			free(all);
			return -1;
		}
		if (all[count].mx.name[0] == '\0') {
			dots++;
			continue;
		}
		all[count].mx.preference = (uint16_t)pref;
		all[count].order = count;
		count++;
	}
	qsort(all, count, sizeof(*all), mx_compare);
	*null_mx = count == 0 && dots > 0;
	stored = count < max ? count : max;
	for (size_t i = 0; i < stored; i++)
		mx[i] = all[i].mx;
	free(all);
	return (int)stored;
}

/* ------------------------------------------------------------ TLSA */

void
answer_tlsa_free(struct tlsa_record *rrs, size_t count)
{
	if (rrs == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((void *)rrs[i].data);
	free(rrs);
}

int
answer_tlsa(getdns_list *answer, struct tlsa_record **out)
{
	struct tlsa_record *rrs;
	size_t n = 0, count = 0;

	*out = NULL;
	if (answer != NULL)
		(void)getdns_list_get_length(answer, &n);
	if (n == 0)
		return 0;
	if ((rrs = calloc(n, sizeof(*rrs))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;
		getdns_bindata *data;
		uint32_t usage, selector, mtype;
		uint8_t *copy;

		if (getdns_list_get_dict(answer, i, &rr) !=
		        GETDNS_RETURN_GOOD ||
		    answer_rr_type(rr) != GETDNS_RRTYPE_TLSA ||
		    getdns_dict_get_int(rr, "/rdata/certificate_usage",
		        &usage) != GETDNS_RETURN_GOOD ||
		    getdns_dict_get_int(rr, "/rdata/selector", &selector) !=
		        GETDNS_RETURN_GOOD ||
		    getdns_dict_get_int(rr, "/rdata/matching_type", &mtype) !=
		        GETDNS_RETURN_GOOD ||
		    getdns_dict_get_bindata(rr,
		        "/rdata/certificate_association_data",
		        &data) != GETDNS_RETURN_GOOD)
			continue;
		if ((copy = malloc(data->size > 0 ? data->size : 1)) == NULL) {
			answer_tlsa_free(rrs, count);
			return -1;
		}
		if (data->size > 0)
			memcpy(copy, data->data, data->size);
		rrs[count].usage = (uint8_t)usage;
		rrs[count].selector = (uint8_t)selector;
		rrs[count].mtype = (uint8_t)mtype;
		rrs[count].len = data->size;
		rrs[count].data = copy;
		count++;
	}
	if (count == 0) {
		free(rrs);
		return 0;
	}
	*out = rrs;
	return (int)count;
}

int
answer_txt_each(getdns_list *answer,
    void (*fn)(const char *text, size_t len, void *arg), void *arg)
{
	size_t n = 0, count = 0;
	char *text = NULL;

	if (answer != NULL)
		(void)getdns_list_get_length(answer, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr;
		getdns_list *strings;
		size_t parts = 0, used = 0;

		if (getdns_list_get_dict(answer, i, &rr) != GETDNS_RETURN_GOOD ||
		    answer_rr_type(rr) != GETDNS_RRTYPE_TXT)
			continue;
		/* an RR's data is at most 65535 octets: so is its text */
		if ((text == NULL && (text = malloc(65536)) == NULL) ||
		    getdns_dict_get_list(rr, "/rdata/txt_strings", &strings) !=
		        GETDNS_RETURN_GOOD ||
		    getdns_list_get_length(strings, &parts) != GETDNS_RETURN_GOOD)
			goto fail;
		for (size_t j = 0; j < parts; j++) {
			getdns_bindata *b;

			if (getdns_list_get_bindata(strings, j, &b) !=
			        GETDNS_RETURN_GOOD ||
			    b->size > 65536 - used)
				goto fail;
			memcpy(text + used, b->data, b->size);
			used += b->size;
		}
		fn(text, used, arg);
		count++;
	}
	free(text);
	return (int)count;
fail:
	free(text);
	return -1;
}

int
answer_addrs(getdns_list *answer, uint16_t qtype,
    char (*addrs)[ANSWER_ADDR_SIZE], size_t max)
{
	const char *field = qtype == GETDNS_RRTYPE_A ? "/rdata/ipv4_address"
	                                             : "/rdata/ipv6_address";
	int family = qtype == GETDNS_RRTYPE_A ? AF_INET : AF_INET6;
	size_t want = qtype == GETDNS_RRTYPE_A ? 4 : 16, n = 0, count = 0;

	if (answer != NULL)
		(void)getdns_list_get_length(answer, &n);
	for (size_t i = 0; i < n && count < max; i++) {
		getdns_dict *rr;
		getdns_bindata *b;

		if (getdns_list_get_dict(answer, i, &rr) != GETDNS_RETURN_GOOD ||
		    answer_rr_type(rr) != qtype)
			continue;
		if (getdns_dict_get_bindata(rr, field, &b) !=
		        GETDNS_RETURN_GOOD ||
		    b->size != want ||
		    inet_ntop(family, b->data, addrs[count], ANSWER_ADDR_SIZE) ==
		        NULL)
			return -1;
		count++;
	}
	return (int)count;
}
