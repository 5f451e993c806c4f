/*
 * tlsa: is one TLSA record usable for SMTP (RFC 7672 §3.1, RFC 6698 §2.1)?
 *
 * Usable means: certificate usage 2 (DANE-TA) or 3 (DANE-EE); selector 0
 * (full certificate) or 1 (SubjectPublicKeyInfo); matching type 0 with data
 * that parses completely as a DER certificate (selector 0) or DER
 * SubjectPublicKeyInfo (selector 1), 1 with exactly 32 bytes (SHA2-256) or
 * 2 with exactly 64 bytes (SHA2-512). Usages 0 and 1 (PKIX-TA, PKIX-EE) are
 * unusable for SMTP (RFC 7672 §3.1.3).
 *
 * Deliberately not here: matching against a server's certificate. Postfix
 * does that during the TLS handshake with its own TLSA lookup.
 */
#ifndef DANEMAP_TLSA_H
#define DANEMAP_TLSA_H

#include <stddef.h>
#include <stdint.h>

/* One TLSA record as it came off the wire; data is borrowed. */
struct tlsa_record {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	size_t len;
	const uint8_t *data;
};

/*
 * tlsa_usable: 1 if rr is usable for SMTP, else 0 with *why (if why is not
 * NULL) set to a static string naming the first rule it breaks.
 */
int tlsa_usable(const struct tlsa_record *rr, const char **why);

#endif
