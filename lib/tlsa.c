/*
 * tlsa: usability of one TLSA record for SMTP (see tlsa.h).
 *
 * Matching type 0 carries the full selected object; a record whose data
 * does not even parse as that object can never match, so it counts as
 * unusable instead of letting it turn a domain into dane-only.
 */
#include "tlsa.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

enum {
	TLSA_USAGE_DANE_TA = 2,
	TLSA_USAGE_DANE_EE = 3,
	TLSA_SELECTOR_CERT = 0,
	TLSA_SELECTOR_SPKI = 1,
	TLSA_MTYPE_FULL = 0,
	TLSA_MTYPE_SHA256 = 1,
	TLSA_MTYPE_SHA512 = 2,
};

/* The data must be exactly one DER object of the selected kind. */
static int
tlsa_full_data_parses(uint8_t selector, const uint8_t *data, size_t len)
{
	const unsigned char *p = data;
	int ok = 0;

	if (len == 0 || len > 65535)
		return 0;
	if (selector == TLSA_SELECTOR_CERT) {
		X509 *cert = d2i_X509(NULL, &p, (long)len);

		ok = cert != NULL && p == data + len;
		X509_free(cert);
	} else {
		EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)len);

		ok = key != NULL && p == data + len;
		EVP_PKEY_free(key);
	}
	return ok;
}

int
tlsa_usable(const struct tlsa_record *rr, const char **why)
{
	const char *reason = NULL;

	if (rr->usage != TLSA_USAGE_DANE_TA && rr->usage != TLSA_USAGE_DANE_EE)
		reason = rr->usage <= 1
		    ? "PKIX usage (0/1) is unusable for SMTP"
		    : "unknown certificate usage";
	else if (rr->selector != TLSA_SELECTOR_CERT &&
	    rr->selector != TLSA_SELECTOR_SPKI)
		reason = "unknown selector";
	else if (rr->mtype == TLSA_MTYPE_SHA256) {
		if (rr->len != 32)
			reason = "SHA2-256 digest is not 32 bytes";
	} else if (rr->mtype == TLSA_MTYPE_SHA512) {
		if (rr->len != 64)
			reason = "SHA2-512 digest is not 64 bytes";
	} else if (rr->mtype == TLSA_MTYPE_FULL) {
		if (!tlsa_full_data_parses(rr->selector, rr->data, rr->len))
			reason = rr->selector == TLSA_SELECTOR_CERT
			    ? "full data is not a DER certificate"
			    : "full data is not a DER SubjectPublicKeyInfo";
	} else
		reason = "unknown matching type";

	if (reason != NULL) {
		if (why != NULL)
			*why = reason;
		return 0;
	}
	return 1;
}
