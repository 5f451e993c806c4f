/*
 * dnscold: the resolver side of the cold validation benchmark (run.sh
 * cold). For each domain of a list it makes the queries danemap's lookup
 * makes (lib/resolve.c), sends them to a validating resolver and reads
 * its AD bit:
 *
 *   dnscold [-c CONCURRENCY] [-t TIMEOUT_MS] ADDR@PORT FILE
 *
 * FILE: a domain as the first word of each line. CONCURRENCY domains
 * (default 32, as warm_concurrency) are in flight at once. Per domain:
 * MX; for each MX host (preference order, at most MAX_HOSTS) A and AAAA
 * at once; when both are answered with AD set and not both empty, TLSA at
 * _25._tcp.HOST. No MX RRset (NODATA) makes the domain its own host.
 * Prints one line:
 *
 *   domains=N queries=Q secure=S errors=E seconds=T dps=R dane-only=..
 *   dane=.. notfound=.. temp=..
 *
 * secure: answers with AD set; errors: timeouts and rcodes other than
 * NOERROR/NXDOMAIN. The reply counts follow doc/design.md §4 closely enough
 * to tell the benchmark's domains apart (no CNAME chasing, every TLSA
 * record counts as usable); they show a wrong answer, they are not the
 * policy. Exits 1 if any query failed.
 *
 * getdns in stub mode without validation of its own (the resolver's AD
 * bit is what is measured), with the DO bit set as a validating stub
 * sets it. Each query's timeout is a libevent timer that cancels it:
 * getdns 1.6.0's own timeout is unsafe under load (see lib/resolve.c).
 * Only for tests/bench: it trusts its arguments and the resolver.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsloop.h"
#include "elapsed.h"

#define MAX_HOSTS 8
#define NAME_SIZE 256

enum kind { Q_MX, Q_A, Q_AAAA, Q_TLSA };
enum answer { A_PENDING, A_DATA, A_EMPTY, A_FAILED };

struct result {
	enum answer answer;
	bool secure;
	bool nxdomain;
};

struct host {
	char name[NAME_SIZE];
	struct result a, aaaa, tlsa;
};

struct run;

struct domain {
	struct run *run;
	char name[NAME_SIZE];
	struct result mx;
	struct host hosts[MAX_HOSTS];
	size_t host_count;
	unsigned pending; /* queries in flight */
};

/* One query in flight: the getdns user argument, freed in query_free. */
struct query {
	struct domain *dom;
	enum kind kind;
	size_t host;
	getdns_transaction_t tid;
	struct event *timer;
};

struct run {
	getdns_context *gd;
	struct event_base *base;
	unsigned timeout_ms;
	char **names;
	size_t count, next, running, concurrency;
	unsigned long queries, secure, errors;
	unsigned long dane_only, dane, notfound, temp;
};

static void start_more(struct run *r);
static void query_done(getdns_context *gd, getdns_callback_type_t type,
    getdns_dict *response, void *arg, getdns_transaction_t tid);

static void
query_free(struct query *q)
{
	if (q->timer != NULL)
		event_free(q->timer);
	free(q);
}

static struct result *
query_result(struct query *q)
{
	struct host *h = &q->dom->hosts[q->host];

	switch (q->kind) {
	case Q_MX:
		return &q->dom->mx;
	case Q_A:
		return &h->a;
	case Q_AAAA:
		return &h->aaaa;
	case Q_TLSA:
	default:
		return &h->tlsa;
	}
}

/* The simplified policy of the header comment. */
static void
domain_finish(struct domain *d)
{
	struct run *r = d->run;
	size_t dane = 0, unknown = 0;

	for (size_t i = 0; i < d->host_count; i++) {
		struct host *h = &d->hosts[i];

		if (h->a.answer == A_FAILED || h->aaaa.answer == A_FAILED ||
		    h->tlsa.answer == A_FAILED)
			unknown++;
		else if (h->tlsa.answer == A_DATA && h->tlsa.secure)
			dane++;
	}
	if (d->mx.answer == A_FAILED ||
	    (d->host_count > 0 && unknown == d->host_count))
		r->temp++;
	else if (dane > 0 && dane == d->host_count && d->mx.secure)
		r->dane_only++;
	else if (dane > 0 || unknown > 0)
		r->dane++;
	else
		r->notfound++;
	free(d);
	r->running--;
	start_more(r);
	if (r->running == 0 && r->next == r->count)
		event_base_loopbreak(r->base);
}

static void query_timed_out(evutil_socket_t fd, short what, void *arg);

/* Returns 0 when the query is in flight, -1 when it failed at once (its
 * result then says so). */
static int
query_start(struct domain *d, enum kind kind, size_t host, const char *name)
{
	static const uint16_t types[] = { GETDNS_RRTYPE_MX, GETDNS_RRTYPE_A,
		GETDNS_RRTYPE_AAAA, GETDNS_RRTYPE_TLSA };
	struct run *r = d->run;
	struct query *q = calloc(1, sizeof(*q));
	struct timeval tv = elapsed_timeval(r->timeout_ms);
	char fqdn[NAME_SIZE + 16];

	if (q == NULL) {
		fputs("dnscold: out of memory\n", stderr);
		exit(1);
	}
	q->dom = d;
	q->kind = kind;
	q->host = host;
	if (kind == Q_TLSA)
		snprintf(fqdn, sizeof(fqdn), "_25._tcp.%s.", name);
	else
		snprintf(fqdn, sizeof(fqdn), "%s.", name);
	query_result(q)->answer = A_PENDING;
	if ((q->timer = evtimer_new(r->base, query_timed_out, q)) == NULL ||
	    getdns_general(r->gd, fqdn, types[kind], NULL, q, &q->tid,
	        query_done) != GETDNS_RETURN_GOOD) {
		query_result(q)->answer = A_FAILED;
		r->errors++;
		query_free(q);
		return -1;
	}
	evtimer_add(q->timer, &tv);
	d->pending++;
	r->queries++;
	return 0;
}

static void
host_add(struct domain *d, const char *name)
{
	for (size_t i = 0; i < d->host_count; i++)
		if (strcmp(d->hosts[i].name, name) == 0)
			return;
	if (d->host_count < MAX_HOSTS)
		snprintf(d->hosts[d->host_count++].name, NAME_SIZE, "%s", name);
}

struct mx {
	uint32_t pref;
	char name[NAME_SIZE];
};

static int
mx_compare(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

static void
take_mx(struct domain *d, getdns_list *answer)
{
	struct mx mx[MAX_HOSTS] = { { 0 } };
	size_t n = 0, count = 0;

	(void)getdns_list_get_length(answer, &n);
	for (size_t i = 0; i < n && count < MAX_HOSTS; i++) {
		getdns_dict *rr;
		getdns_bindata *exchange;
		uint32_t type = 0;
		char *fqdn = NULL;
		size_t len;

		if (getdns_list_get_dict(answer, i, &rr) !=
		        GETDNS_RETURN_GOOD ||
		    getdns_dict_get_int(rr, "type", &type) !=
		        GETDNS_RETURN_GOOD ||
		    type != GETDNS_RRTYPE_MX ||
		    getdns_dict_get_int(rr, "/rdata/preference",
		        &mx[count].pref) != GETDNS_RETURN_GOOD ||
		    getdns_dict_get_bindata(rr, "/rdata/exchange", &exchange) !=
		        GETDNS_RETURN_GOOD ||
		    getdns_convert_dns_name_to_fqdn(exchange, &fqdn) !=
		        GETDNS_RETURN_GOOD)
			continue;
		len = strlen(fqdn);
		if (len > 0 && fqdn[len - 1] == '.')
			len--;
		if (len > 0 && len < NAME_SIZE) { /* "." is a null MX */
			for (size_t j = 0; j < len; j++)
				mx[count].name[j] =
				    (char)tolower((unsigned char)fqdn[j]);
			mx[count].name[len] = '\0';
			count++;
		}
		free(fqdn);
	}
	qsort(mx, count, sizeof(*mx), mx_compare);
	for (size_t i = 0; i < count; i++)
		host_add(d, mx[i].name);
}

/* What to ask next once a query has its result. */
static void
query_next(struct query *q, getdns_list *answer)
{
	struct domain *d = q->dom;
	struct host *h = &d->hosts[q->host];

	switch (q->kind) {
	case Q_MX:
		if (d->mx.answer == A_DATA)
			take_mx(d, answer);
		else if (d->mx.answer == A_EMPTY && !d->mx.nxdomain)
			host_add(d, d->name); /* NODATA: implicit MX */
		for (size_t i = 0; i < d->host_count; i++) {
			(void)query_start(d, Q_A, i, d->hosts[i].name);
			(void)query_start(d, Q_AAAA, i, d->hosts[i].name);
		}
		break;
	case Q_A:
	case Q_AAAA:
		if (h->a.answer == A_PENDING || h->aaaa.answer == A_PENDING)
			break;
		if (h->a.secure && h->aaaa.secure &&
		    (h->a.answer == A_DATA || h->aaaa.answer == A_DATA))
			(void)query_start(d, Q_TLSA, q->host, h->name);
		break;
	case Q_TLSA:
		break;
	}
}

static void
query_done(getdns_context *gd, getdns_callback_type_t type,
    getdns_dict *response, void *arg, getdns_transaction_t tid)
{
	static const uint32_t types[] = { GETDNS_RRTYPE_MX, GETDNS_RRTYPE_A,
		GETDNS_RRTYPE_AAAA, GETDNS_RRTYPE_TLSA };
	struct query *q = arg;
	struct domain *d = q->dom;
	struct result *res = query_result(q);
	getdns_list *answer = NULL;
	uint32_t rcode = 0, ad = 0;
	size_t n = 0;

	(void)gd;
	(void)tid;
	if (type == GETDNS_CALLBACK_CANCEL) {
		/* query_timed_out already accounted for it */
		getdns_dict_destroy(response);
		query_free(q);
		return;
	}
	evtimer_del(q->timer);
	res->answer = A_FAILED;
	if (type == GETDNS_CALLBACK_COMPLETE &&
	    getdns_dict_get_int(response, "/replies_tree/0/header/rcode",
	        &rcode) == GETDNS_RETURN_GOOD &&
	    (rcode == GETDNS_RCODE_NOERROR || rcode == GETDNS_RCODE_NXDOMAIN)) {
		(void)getdns_dict_get_int(response, "/replies_tree/0/header/ad",
		    &ad);
		res->secure = ad != 0;
		d->run->secure += ad != 0;
		res->answer = A_EMPTY;
		if (getdns_dict_get_list(response, "/replies_tree/0/answer",
		        &answer) == GETDNS_RETURN_GOOD)
			(void)getdns_list_get_length(answer, &n);
		for (size_t i = 0; i < n; i++) {
			getdns_dict *rr;
			uint32_t t = 0;

			if (getdns_list_get_dict(answer, i, &rr) ==
			        GETDNS_RETURN_GOOD &&
			    getdns_dict_get_int(rr, "type", &t) ==
			        GETDNS_RETURN_GOOD &&
			    t == types[q->kind])
				res->answer = A_DATA;
		}
		res->nxdomain = rcode == GETDNS_RCODE_NXDOMAIN;
	} else
		d->run->errors++;
	d->pending--;
	query_next(q, answer);
	getdns_dict_destroy(response);
	query_free(q);
	if (d->pending == 0)
		domain_finish(d);
}

static void
query_timed_out(evutil_socket_t fd, short what, void *arg)
{
	struct query *q = arg;
	struct domain *d = q->dom;

	(void)fd;
	(void)what;
	query_result(q)->answer = A_FAILED;
	d->run->errors++;
	d->pending--;
	query_next(q, NULL);
	/* getdns calls query_done with CANCEL, which frees q */
	if (getdns_cancel_callback(d->run->gd, q->tid) != GETDNS_RETURN_GOOD)
		query_free(q);
	if (d->pending == 0)
		domain_finish(d);
}

static void
start_more(struct run *r)
{
	while (r->next < r->count && r->running < r->concurrency) {
		struct domain *d = calloc(1, sizeof(*d));

		if (d == NULL) {
			fputs("dnscold: out of memory\n", stderr);
			exit(1);
		}
		d->run = r;
		snprintf(d->name, sizeof(d->name), "%s", r->names[r->next++]);
		r->running++;
		if (query_start(d, Q_MX, 0, d->name) != 0)
			domain_finish(d); /* could not even ask */
	}
}

static int
read_names(struct run *r, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[1100];
	size_t cap = 0;

	if (fp == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strcspn(line, " \t\r\n");

		if (len == 0 || len >= NAME_SIZE)
			continue;
		if (r->count == cap) {
			char **grown;

			cap = cap ? cap * 2 : 1024;
			if ((grown = realloc(r->names, cap * sizeof(*grown))) ==
			    NULL)
				break;
			r->names = grown;
		}
		if ((r->names[r->count] = strndup(line, len)) == NULL)
			break;
		r->count++;
	}
	fclose(fp);
	return 0;
}

/* ADDR@PORT as the one upstream. */
static int
set_upstream(getdns_context *gd, const char *spec)
{
	char addr[64];
	unsigned char raw[4];
	const char *at = strchr(spec, '@');
	getdns_bindata type = { 4, (uint8_t *)"IPv4" }, data = { 4, raw };
	getdns_list *list = getdns_list_create();
	getdns_dict *d = getdns_dict_create();
	int rc = -1;

	if (at == NULL || (size_t)(at - spec) >= sizeof(addr) || list == NULL ||
	    d == NULL)
		goto out;
	memcpy(addr, spec, (size_t)(at - spec));
	addr[at - spec] = '\0';
	if (inet_pton(AF_INET, addr, raw) != 1 ||
	    getdns_dict_set_bindata(d, "address_type", &type) ||
	    getdns_dict_set_bindata(d, "address_data", &data) ||
	    getdns_dict_set_int(d, "port", (uint32_t)atoi(at + 1)) ||
	    getdns_list_set_dict(list, 0, d) ||
	    getdns_context_set_upstream_recursive_servers(gd, list))
		goto out;
	rc = 0;
out:
	getdns_dict_destroy(d);
	getdns_list_destroy(list);
	return rc;
}

int
main(int argc, char **argv)
{
	struct run r = { .concurrency = 32, .timeout_ms = 5000 };
	struct timespec t0;
	struct dnsloop *loop = NULL;
	double s;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "c:t:")) != -1) {
		switch (opt) {
		case 'c':
			r.concurrency = strtoul(optarg, NULL, 10);
			break;
		case 't':
			r.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || r.concurrency == 0)
		goto usage;
	if (read_names(&r, argv[optind + 1]) != 0)
		goto out;
	if ((r.base = event_base_new()) == NULL ||
	    getdns_context_create(&r.gd, 0) != GETDNS_RETURN_GOOD) {
		r.gd = NULL;
		fputs("dnscold: cannot create a getdns context\n", stderr);
		goto out;
	}
	if (getdns_context_set_resolution_type(r.gd, GETDNS_RESOLUTION_STUB) ||
	    set_upstream(r.gd, argv[optind]) != 0 ||
	    getdns_context_set_edns_do_bit(r.gd, 1) ||
	    /* never reached: our timers cancel first */
	    getdns_context_set_timeout(r.gd, (uint64_t)r.timeout_ms + 60000) ||
	    (loop = dnsloop_new(r.base)) == NULL ||
	    getdns_context_set_eventloop(r.gd, dnsloop_getdns(loop))) {
		fprintf(stderr, "dnscold: cannot set up getdns for %s\n",
		    argv[optind]);
		goto out;
	}
	elapsed_start(&t0);
	start_more(&r);
	if (r.running > 0)
		event_base_dispatch(r.base);
	s = elapsed_ms(&t0) / 1e3;
	printf("domains=%zu queries=%lu secure=%lu errors=%lu seconds=%.2f "
	       "dps=%.0f dane-only=%lu dane=%lu notfound=%lu temp=%lu\n",
	    r.count, r.queries, r.secure, r.errors, s,
	    s > 0 ? (double)r.count / s : 0.0, r.dane_only, r.dane, r.notfound,
	    r.temp);
	rc = r.errors == 0 ? 0 : 1;
out:
	if (r.gd != NULL)
		getdns_context_destroy(r.gd);
	dnsloop_free(loop); /* after the context: see dnsloop.h */
	if (r.base != NULL)
		event_base_free(r.base);
	for (size_t i = 0; i < r.count; i++)
		free(r.names[i]);
	free(r.names);
	return rc;
usage:
	fputs("usage: dnscold [-c CONCURRENCY] [-t TIMEOUT_MS] ADDR@PORT "
	      "FILE\n",
	    stderr);
	return 64;
}
