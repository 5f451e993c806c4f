/*
 * fuzz_sts: MTA-STS policy files and TXT records of arbitrary bytes. The
 * parsers never read past their input; whatever policy they accept holds
 * only well-formed mx patterns, matches its own patterns' hosts as §4.1
 * says, and its Postfix reply (with TLS-RPT attributes) holds nothing but
 * printable ASCII, no "{" or "}" of the policy's own, and fits. A cached
 * policy's text (sts_cached_decode) that is accepted encodes back to the
 * same bytes, with mx patterns held to the same rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sts_policy p;
	static char reply[STS_MX_MAX * 600 + 512];
	char id[STS_ID_MAX + 1];
	const char *why;
	int n;

	static struct sts_cached c;
	static char again[STS_CACHED_TEXT_MAX + 1];

	if (sts_txt_parse((const char *)data, size, id) == STS_TXT_OK &&
	    (strlen(id) == 0 || strlen(id) > STS_ID_MAX))
		abort();
	if (sts_cached_decode((const char *)data, size, &c) == 0) {
		n = sts_cached_encode(&c, again, sizeof(again));
		if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
			abort();
		for (size_t i = 0; i < c.policy.mx_count; i++)
			if (strpbrk(c.policy.mx[i], " =:{},\t") != NULL)
				abort();
	}
	if (sts_policy_parse((const char *)data, size, &p, &why) != 0)
		return 0;
	if (p.mode != STS_MODE_NONE && p.mx_count == 0)
		abort();
	for (size_t i = 0; i < p.mx_count; i++) {
		const char *mx = p.mx[i];
		size_t len = strlen(mx);

		if (len == 0 || strpbrk(mx, " =:{},\t") != NULL)
			abort();
		if (mx[0] != '*' && !sts_mx_match(mx, mx))
			abort();
		if (mx[0] == '*' && len < 3)
			abort();
	}
	n = sts_reply_format(&p, "example.com", true, p.max_age, reply,
	    sizeof(reply));
	if (n < 0)
		abort();
	for (int i = 0; i < n; i++)
		if (reply[i] < 0x20 || reply[i] > 0x7e)
			abort();
	/* braces come only from the reply's own policy_string framing */
	{
		size_t open = 0, close = 0;

		for (int i = 0; i < n; i++) {
			open += reply[i] == '{';
			close += reply[i] == '}';
		}
		if (open != close || open != 3 + p.mx_count)
			abort();
	}
	return 0;
}
