/*
 * coldsign: signs the many small child zones of the cold validation
 * benchmark (coldzones.sh) in one process; ldns-signzone, a process per
 * zone, takes minutes for 8,000 zones on a small machine.
 *
 *   coldsign DIR INCEPTION EXPIRATION < NAMES
 *
 * For each zone name read from stdin (one per line), reads DIR/NAME.zone
 * and writes DIR/NAME.signed: the records plus a DNSKEY, an NSEC chain and
 * an RRSIG for every RRset, ECDSAP256SHA256 (algorithm 13), valid from
 * INCEPTION to EXPIRATION (seconds since 1970). Prints the DS record
 * (SHA-256) of every zone on stdout, in zone-file form for the parent.
 *
 * One key, made here, signs every zone (a combined signing key, flags
 * 257, as the test bed uses): the DNSKEY RRset and so the DS still
 * differ per zone, and a validator does the same work.
 *
 * Deliberately minimal: input lines are "owner ttl IN type rdata" with
 * absolute names, no escapes, no $ directives, and only the types the
 * benchmark writes (SOA, NS, MX, A, AAAA, TLSA); no delegations inside a
 * zone. Anything else stops it with a message. Only for tests/bench.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RRS 64
#define NAME_WIRE 256
#define RDATA_MAX 512
#define LINE_MAX_LEN 1024

enum {
	T_A = 1,
	T_NS = 2,
	T_SOA = 6,
	T_MX = 15,
	T_AAAA = 28,
	T_DS = 43,
	T_RRSIG = 46,
	T_NSEC = 47,
	T_DNSKEY = 48,
	T_TLSA = 52,
};

static const struct {
	const char *name;
	uint16_t code;
} types[] = {
	{ "A", T_A },
	{ "NS", T_NS },
	{ "SOA", T_SOA },
	{ "MX", T_MX },
	{ "AAAA", T_AAAA },
	{ "RRSIG", T_RRSIG },
	{ "NSEC", T_NSEC },
	{ "DNSKEY", T_DNSKEY },
	{ "TLSA", T_TLSA },
};

struct rr {
	char owner[NAME_WIRE]; /* presentation, lower case, trailing dot */
	uint8_t wire[NAME_WIRE];
	size_t wire_len;
	uint16_t type;
	uint32_t ttl;
	uint8_t rdata[RDATA_MAX];
	size_t rdlen;
	char text[LINE_MAX_LEN]; /* the whole record in zone-file form */
};

struct key {
	EVP_PKEY *pkey;
	uint8_t dnskey[4 + 64]; /* DNSKEY rdata */
	char b64[100];
	uint16_t tag;
};

static const char *zone_path; /* for messages */

static void
die(const char *what)
{
	fprintf(stderr, "coldsign: %s%s%s\n", zone_path ? zone_path : "",
	    zone_path ? ": " : "", what);
	exit(1);
}

static const char *
type_name(uint16_t code)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].code == code)
			return types[i].name;
	die("unknown type");
	return NULL;
}

/* Absolute presentation name -> lower-case wire form; its length. */
static size_t
name_wire(const char *name, uint8_t *out)
{
	size_t o = 0;

	if (strcmp(name, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	while (*name != '\0') {
		size_t len = strcspn(name, ".");

		if (len == 0 || len > 63 || o + len + 2 > NAME_WIRE ||
		    name[len] != '.')
			die("bad name (absolute names only)");
		out[o++] = (uint8_t)len;
		for (size_t i = 0; i < len; i++)
			out[o++] = (uint8_t)tolower((unsigned char)name[i]);
		name += len + 1;
	}
	out[o++] = 0;
	return o;
}

static unsigned
name_labels(const uint8_t *wire)
{
	unsigned n = 0;

	for (; *wire != 0; wire += *wire + 1)
		n++;
	return n;
}

/* RFC 4034 §6.1: compare label by label from the right. */
static int
name_compare(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128] = { NULL }, *lb[128] = { NULL };
	size_t na = 0, nb = 0;

	for (; *a != 0; a += *a + 1)
		la[na++] = a;
	for (; *b != 0; b += *b + 1)
		lb[nb++] = b;
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		size_t n = x[0] < y[0] ? x[0] : y[0];
		int c = memcmp(x + 1, y + 1, n);

		if (c != 0)
			return c;
		if (x[0] != y[0])
			return x[0] < y[0] ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

static int
rr_compare(const void *pa, const void *pb)
{
	const struct rr *a = pa, *b = pb;
	int c = name_compare(a->wire, b->wire);
	size_t n;

	if (c != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	if ((c = memcmp(a->rdata, b->rdata, n)) != 0)
		return c;
	return a->rdlen == b->rdlen ? 0 : a->rdlen < b->rdlen ? -1 : 1;
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void
rdata_add(struct rr *rr, const void *data, size_t len)
{
	if (rr->rdlen + len > RDATA_MAX)
		die("record too long");
	memcpy(rr->rdata + rr->rdlen, data, len);
	rr->rdlen += len;
}

static void
rdata_name(struct rr *rr, const char *name)
{
	uint8_t wire[NAME_WIRE] = { 0 };

	rdata_add(rr, wire, name_wire(name, wire));
}

static void
rdata_int(struct rr *rr, const char *s, int bytes)
{
	uint8_t b[4];
	unsigned long v = strtoul(s, NULL, 10);

	if (bytes == 1)
		b[0] = (uint8_t)v;
	else if (bytes == 2)
		put16(b, (uint32_t)v);
	else
		put32(b, (uint32_t)v);
	rdata_add(rr, b, (size_t)bytes);
}

/* One zone-file line into rr (rdata in wire form, canonical). */
static void
rr_parse(struct rr *rr, const char *line)
{
	char copy[LINE_MAX_LEN], *f[16], *save = NULL;
	size_t n = 0;

	memset(rr, 0, sizeof(*rr));
	if (strlen(line) >= sizeof(copy))
		die("line too long");
	snprintf(rr->text, sizeof(rr->text), "%s", line);
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *t = strtok_r(copy, " \t", &save); t != NULL && n < 16;
	     t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	if (n < 5 || strcmp(f[2], "IN") != 0)
		die("expected \"owner ttl IN type rdata\"");
	rr->wire_len = name_wire(f[0], rr->wire);
	for (size_t i = 0; f[0][i] != '\0' && i + 1 < sizeof(rr->owner); i++)
		rr->owner[i] = (char)tolower((unsigned char)f[0][i]);
	rr->ttl = (uint32_t)strtoul(f[1], NULL, 10);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(f[3], types[i].name) == 0)
			rr->type = types[i].code;
	switch (rr->type) {
	case T_SOA:
		if (n != 11)
			die("bad SOA");
		rdata_name(rr, f[4]);
		rdata_name(rr, f[5]);
		for (size_t i = 6; i < 11; i++)
			rdata_int(rr, f[i], 4);
		break;
	case T_NS:
		rdata_name(rr, f[4]);
		break;
	case T_MX:
		if (n != 6)
			die("bad MX");
		rdata_int(rr, f[4], 2);
		rdata_name(rr, f[5]);
		break;
	case T_A:
	case T_AAAA: {
		uint8_t addr[16];

		if (inet_pton(rr->type == T_A ? AF_INET : AF_INET6, f[4],
		        addr) != 1)
			die("bad address");
		rdata_add(rr, addr, rr->type == T_A ? 4 : 16);
		break;
	}
	case T_TLSA:
		if (n != 8 || strlen(f[7]) % 2 != 0)
			die("bad TLSA");
		for (size_t i = 4; i < 7; i++)
			rdata_int(rr, f[i], 1);
		for (const char *h = f[7]; *h != '\0'; h += 2) {
			unsigned v;

			if (sscanf(h, "%2x", &v) != 1)
				die("bad TLSA data");
			rdata_add(rr, &(uint8_t){ (uint8_t)v }, 1);
		}
		break;
	default:
		die("unsupported type");
	}
}

/* ------------------------------------------------------------ crypto */

static void
key_make(struct key *k)
{
	uint8_t pub[65];
	size_t len = 0;
	uint32_t ac = 0;

	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (k->pkey == NULL ||
	    !EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY,
	        pub, sizeof(pub), &len) ||
	    len != 65 || pub[0] != 4)
		die("cannot make a P-256 key");
	put16(k->dnskey, 257); /* zone key, SEP */
	k->dnskey[2] = 3;
	k->dnskey[3] = 13;
	memcpy(k->dnskey + 4, pub + 1, 64);
	EVP_EncodeBlock((unsigned char *)k->b64, pub + 1, 64);
	/* RFC 4034 appendix B */
	for (size_t i = 0; i < sizeof(k->dnskey); i++)
		ac += (i & 1) ? k->dnskey[i] : (uint32_t)k->dnskey[i] << 8;
	ac += (ac >> 16) & 0xffff;
	k->tag = (uint16_t)(ac & 0xffff);
}

/* ECDSA P-256 over data: r || s, 64 bytes, as RFC 6605 wants. */
static void
key_sign(const struct key *k, const uint8_t *data, size_t len, uint8_t *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;

	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, der, &der_len, data, len) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		die("signing failed");
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, 32) != 32 ||
	    BN_bn2binpad(s, out + 32, 32) != 32)
		die("signing failed");
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
}

/* ------------------------------------------------------------ a zone */

static void
stamp(uint32_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y%m%d%H%M%S", &tm);
}

/* RRSIG over rrs[0..n) (one RRset, canonical order); written to out. */
static void
sign_rrset(FILE *out, const struct key *k, const struct rr *rrs, size_t n,
    const uint8_t *apex, size_t apex_len, const char *apex_text,
    uint32_t inception, uint32_t expiration)
{
	static uint8_t buf[MAX_RRS * (NAME_WIRE + 10 + RDATA_MAX) + 512];
	size_t len = 0;
	uint8_t sig[64];
	char b64[100], inc[16], exp[16];

	put16(buf, rrs[0].type);
	buf[2] = 13;
	buf[3] = (uint8_t)name_labels(rrs[0].wire);
	put32(buf + 4, rrs[0].ttl);
	put32(buf + 8, expiration);
	put32(buf + 12, inception);
	put16(buf + 16, k->tag);
	memcpy(buf + 18, apex, apex_len);
	len = 18 + apex_len;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + len, rrs[i].wire, rrs[i].wire_len);
		len += rrs[i].wire_len;
		put16(buf + len, rrs[i].type);
		put16(buf + len + 2, 1); /* IN */
		put32(buf + len + 4, rrs[0].ttl);
		put16(buf + len + 8, (uint32_t)rrs[i].rdlen);
		len += 10;
		memcpy(buf + len, rrs[i].rdata, rrs[i].rdlen);
		len += rrs[i].rdlen;
	}
	key_sign(k, buf, len, sig);
	EVP_EncodeBlock((unsigned char *)b64, sig, 64);
	stamp(expiration, exp, sizeof(exp));
	stamp(inception, inc, sizeof(inc));
	fprintf(out, "%s %u IN RRSIG %s 13 %u %u %s %s %u %s %s\n",
	    rrs[0].owner, rrs[0].ttl, type_name(rrs[0].type), buf[3],
	    rrs[0].ttl, exp, inc, k->tag, apex_text, b64);
}

static void
sign_zone(const char *dir, const char *name, const struct key *k,
    uint32_t inception, uint32_t expiration)
{
	static struct rr rrs[MAX_RRS];
	char path[1024], outpath[1024], line[LINE_MAX_LEN],
	    apex_text[NAME_WIRE];
	uint8_t apex[NAME_WIRE];
	size_t n = 0, apex_len;
	uint32_t minimum = 0;
	FILE *in, *out;

	snprintf(path, sizeof(path), "%s/%s.zone", dir, name);
	snprintf(outpath, sizeof(outpath), "%s/%s.signed", dir, name);
	snprintf(apex_text, sizeof(apex_text), "%s.", name);
	zone_path = path;
	apex_len = name_wire(apex_text, apex);
	if ((in = fopen(path, "r")) == NULL)
		die("cannot read it");
	while (fgets(line, sizeof(line), in) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == ';')
			continue;
		if (n + 1 >= MAX_RRS)
			die("too many records");
		rr_parse(&rrs[n], line);
		if (rrs[n].wire_len < apex_len ||
		    memcmp(rrs[n].wire + rrs[n].wire_len - apex_len, apex,
		        apex_len) != 0 ||
		    (rrs[n].type == T_NS && rrs[n].wire_len != apex_len))
			die("record outside the zone, or a delegation");
		if (rrs[n].type == T_SOA)
			minimum =
			    (uint32_t)((rrs[n].rdata[rrs[n].rdlen - 4] << 24) |
			        (rrs[n].rdata[rrs[n].rdlen - 3] << 16) |
			        (rrs[n].rdata[rrs[n].rdlen - 2] << 8) |
			        rrs[n].rdata[rrs[n].rdlen - 1]);
		n++;
	}
	fclose(in);
	if (minimum == 0)
		die("no SOA");
	/* the DNSKEY, with the SOA's TTL */
	{
		struct rr *d = &rrs[n++];

		memset(d, 0, sizeof(*d));
		snprintf(d->owner, sizeof(d->owner), "%s", apex_text);
		memcpy(d->wire, apex, apex_len);
		d->wire_len = apex_len;
		d->type = T_DNSKEY;
		d->ttl = 3600;
		memcpy(d->rdata, k->dnskey, sizeof(k->dnskey));
		d->rdlen = sizeof(k->dnskey);
		snprintf(d->text, sizeof(d->text),
		    "%s 3600 IN DNSKEY 257 3 13 %s", apex_text, k->b64);
	}
	qsort(rrs, n, sizeof(rrs[0]), rr_compare);

	if ((out = fopen(outpath, "w")) == NULL)
		die("cannot write the signed zone");
	for (size_t i = 0; i < n;) {
		size_t owner_end = i;
		uint8_t bitmap[32] = { 0 };
		size_t bitmap_len = 0;
		struct rr nsec;
		const struct rr *next;

		while (owner_end < n &&
		    name_compare(rrs[owner_end].wire, rrs[i].wire) == 0)
			owner_end++;
		/* each RRset of this owner, then its NSEC */
		for (size_t j = i; j < owner_end;) {
			size_t set_end = j;

			while (set_end < owner_end &&
			    rrs[set_end].type == rrs[j].type)
				set_end++;
			for (size_t m = j; m < set_end; m++)
				fprintf(out, "%s\n", rrs[m].text);
			sign_rrset(out, k, &rrs[j], set_end - j, apex, apex_len,
			    apex_text, inception, expiration);
			bitmap[rrs[j].type / 8] |=
			    (uint8_t)(0x80 >> (rrs[j].type % 8));
			j = set_end;
		}
		bitmap[T_RRSIG / 8] |= 0x80 >> (T_RRSIG % 8);
		bitmap[T_NSEC / 8] |= 0x80 >> (T_NSEC % 8);
		for (size_t b = 0; b < sizeof(bitmap); b++)
			if (bitmap[b] != 0)
				bitmap_len = b + 1;
		next = owner_end < n ? &rrs[owner_end] : &rrs[0];
		memset(&nsec, 0, sizeof(nsec));
		snprintf(nsec.owner, sizeof(nsec.owner), "%s", rrs[i].owner);
		memcpy(nsec.wire, rrs[i].wire, rrs[i].wire_len);
		nsec.wire_len = rrs[i].wire_len;
		nsec.type = T_NSEC;
		nsec.ttl = minimum;
		memcpy(nsec.rdata, next->wire, next->wire_len);
		nsec.rdlen = next->wire_len;
		nsec.rdata[nsec.rdlen++] = 0; /* window 0 */
		nsec.rdata[nsec.rdlen++] = (uint8_t)bitmap_len;
		memcpy(nsec.rdata + nsec.rdlen, bitmap, bitmap_len);
		nsec.rdlen += bitmap_len;
		fprintf(out, "%s %u IN NSEC %s", nsec.owner, minimum,
		    next->owner);
		for (unsigned t = 0; t < bitmap_len * 8; t++)
			if (bitmap[t / 8] & (0x80 >> (t % 8)))
				fprintf(out, " %s", type_name((uint16_t)t));
		fputc('\n', out);
		sign_rrset(out, k, &nsec, 1, apex, apex_len, apex_text,
		    inception, expiration);
		i = owner_end;
	}
	if (fclose(out) != 0)
		die("cannot write the signed zone");

	/* DS (RFC 4034 §5.1.4): SHA-256 over owner and DNSKEY rdata */
	{
		uint8_t data[NAME_WIRE + sizeof(k->dnskey)], digest[32];

		memcpy(data, apex, apex_len);
		memcpy(data + apex_len, k->dnskey, sizeof(k->dnskey));
		if (EVP_Digest(data, apex_len + sizeof(k->dnskey), digest, NULL,
		        EVP_sha256(), NULL) != 1)
			die("digest failed");
		printf("%s 3600 IN DS %u 13 2 ", apex_text, k->tag);
		for (size_t i = 0; i < sizeof(digest); i++)
			printf("%02x", digest[i]);
		putchar('\n');
	}
	zone_path = NULL;
}

int
main(int argc, char **argv)
{
	struct key k;
	char name[300];
	uint32_t inception, expiration;

	if (argc != 4) {
		fputs("usage: coldsign DIR INCEPTION EXPIRATION < NAMES\n",
		    stderr);
		return 64;
	}
	inception = (uint32_t)strtoul(argv[2], NULL, 10);
	expiration = (uint32_t)strtoul(argv[3], NULL, 10);
	key_make(&k);
	while (fgets(name, sizeof(name), stdin) != NULL) {
		name[strcspn(name, " \t\r\n")] = '\0';
		if (name[0] != '\0')
			sign_zone(argv[1], name, &k, inception, expiration);
	}
	EVP_PKEY_free(k.pkey);
	return fflush(stdout) == 0 ? 0 : 1;
}
