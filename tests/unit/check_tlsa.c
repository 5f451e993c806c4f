/*
 * check_tlsa: which TLSA records are usable for SMTP (RFC 7672 §3.1,
 * RFC 6698 §2.1), every usage/selector/matching-type combination, and
 * matching type 0 data that must parse as the selected DER object.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "tlsa.h"

static unsigned char *cert_der, *spki_der;
static int cert_len, spki_len;

/* A real self-signed EC certificate, made fresh for the test run. */
static void
make_der_objects(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
	    MBSTRING_ASC, (const unsigned char *)"mx.test", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_set_pubkey(cert, key);
	ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);
	cert_der = NULL;
	cert_len = i2d_X509(cert, &cert_der);
	spki_der = NULL;
	spki_len = i2d_PUBKEY(key, &spki_der);
	ck_assert_int_gt(cert_len, 0);
	ck_assert_int_gt(spki_len, 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void
free_der_objects(void)
{
	OPENSSL_free(cert_der);
	OPENSSL_free(spki_der);
}

static int
usable(uint8_t usage, uint8_t selector, uint8_t mtype, const uint8_t *data,
    size_t len)
{
	struct tlsa_record rr = { usage, selector, mtype, len, data };
	const char *why = NULL;
	int r = tlsa_usable(&rr, &why);

	if (r)
		ck_assert_ptr_null(why);
	else
		ck_assert_ptr_nonnull(why);
	return r;
}

/* Digest matching types need exactly the digest length. */
START_TEST(digest_lengths)
{
	static const uint8_t zeros[80];
	static const struct {
		uint8_t mtype;
		size_t len;
		int usable;
	} cases[] = {
		{ 1, 32, 1 },
		{ 1, 31, 0 },
		{ 1, 33, 0 },
		{ 1, 0, 0 },
		{ 1, 64, 0 },
		{ 2, 64, 1 },
		{ 2, 63, 0 },
		{ 2, 65, 0 },
		{ 2, 32, 0 },
		{ 2, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (uint8_t usage = 2; usage <= 3; usage++)
			for (uint8_t sel = 0; sel <= 1; sel++)
				ck_assert_msg(usable(usage, sel, cases[i].mtype,
				                  zeros, cases[i].len) ==
				        cases[i].usable,
				    "usage %u selector %u mtype %u len %zu",
				    usage, sel, cases[i].mtype, cases[i].len);
}
END_TEST

/* RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP; usages
 * above 3 are unknown. Only 2 and 3 are usable. */
START_TEST(every_usage_selector_mtype)
{
	static const uint8_t digest[64];

	for (unsigned usage = 0; usage <= 255; usage++)
		for (unsigned sel = 0; sel <= 255; sel++)
			for (unsigned mtype = 1; mtype <= 3; mtype++) {
				size_t len = mtype == 2 ? 64 : 32;
				int want = (usage == 2 || usage == 3) &&
				    sel <= 1 && mtype <= 2;

				ck_assert_msg(usable((uint8_t)usage,
				                  (uint8_t)sel, (uint8_t)mtype,
				                  digest, len) == want,
				    "usage %u selector %u mtype %u", usage, sel,
				    mtype);
			}
}
END_TEST

START_TEST(full_certificate_must_parse)
{
	make_der_objects();
	ck_assert_int_eq(usable(3, 0, 0, cert_der, (size_t)cert_len), 1);
	ck_assert_int_eq(usable(2, 0, 0, cert_der, (size_t)cert_len), 1);
	/* a certificate is not an SPKI and vice versa */
	ck_assert_int_eq(usable(3, 1, 0, cert_der, (size_t)cert_len), 0);
	ck_assert_int_eq(usable(3, 0, 0, spki_der, (size_t)spki_len), 0);
	/* truncated, trailing garbage, empty */
	ck_assert_int_eq(usable(3, 0, 0, cert_der, (size_t)cert_len - 1), 0);
	ck_assert_int_eq(usable(3, 0, 0, cert_der, 0), 0);
	{
		unsigned char *longer = malloc((size_t)cert_len + 1);

		memcpy(longer, cert_der, (size_t)cert_len);
		longer[cert_len] = 0;
		ck_assert_int_eq(usable(3, 0, 0, longer, (size_t)cert_len + 1),
		    0);
		free(longer);
	}
	/* still unusable with a PKIX usage, however well-formed */
	ck_assert_int_eq(usable(1, 0, 0, cert_der, (size_t)cert_len), 0);
	free_der_objects();
}
END_TEST

START_TEST(full_spki_must_parse)
{
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	make_der_objects();
	ck_assert_int_eq(usable(3, 1, 0, spki_der, (size_t)spki_len), 1);
	ck_assert_int_eq(usable(2, 1, 0, spki_der, (size_t)spki_len), 1);
	ck_assert_int_eq(usable(3, 1, 0, spki_der, (size_t)spki_len - 1), 0);
	ck_assert_int_eq(usable(3, 1, 0, junk, sizeof(junk)), 0);
	ck_assert_int_eq(usable(3, 0, 0, junk, sizeof(junk)), 0);
	free_der_objects();
}
END_TEST

START_TEST(why_is_optional)
{
	static const uint8_t digest[32];
	struct tlsa_record rr = { 0, 1, 1, 32, digest };

	ck_assert_int_eq(tlsa_usable(&rr, NULL), 0);
	rr.usage = 3;
	ck_assert_int_eq(tlsa_usable(&rr, NULL), 1);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("tlsa");
	TCase *tc = tcase_create("usability");

	tcase_add_test(tc, digest_lengths);
	tcase_add_test(tc, every_usage_selector_mtype);
	tcase_add_test(tc, full_certificate_must_parse);
	tcase_add_test(tc, full_spki_must_parse);
	tcase_add_test(tc, why_is_optional);
	suite_add_tcase(s, tc);
	return s;
}
