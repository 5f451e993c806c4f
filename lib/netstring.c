/*
 * netstring: "<len>:<payload>," framing (see netstring.h). Stateless: the
 * caller passes everything received so far; the length prefix is at most
 * a few digits, so re-reading it on each call costs nothing.
 */
#include "netstring.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

enum netstring_status
netstring_decode(const char *buf, size_t len, size_t max_payload,
    const char **payload, size_t *payload_len, size_t *consumed)
{
	size_t i = 0, n = 0;

	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		size_t d = (size_t)(buf[i] - '0');

		if (i > 0 && buf[0] == '0')
			return NETSTRING_ERR_LENGTH; /* leading zero */
		/* Judge the length as soon as its digits show it, before
		 * the payload arrives; comparing before multiplying keeps n
		 * from wrapping even when max_payload is SIZE_MAX. */
		if (d > max_payload || n > (max_payload - d) / 10)
			return NETSTRING_ERR_TOOLONG;
		n = n * 10 + d;
	}
	if (i == len)
		return NETSTRING_NEED_MORE; /* still in the digits, or empty */
	if (i == 0 || buf[i] != ':')
		return NETSTRING_ERR_LENGTH;
	/* Payload and ',' must both be there; "<= n" rather than
	 * "< n + 1" because n may be SIZE_MAX. */
	if (len - (i + 1) <= n)
		return NETSTRING_NEED_MORE;
	if (buf[i + 1 + n] != ',')
		return NETSTRING_ERR_TERMINATOR;
	*payload = buf + i + 1;
	*payload_len = n;
	*consumed = i + 1 + n + 1;
	return NETSTRING_DONE;
}

long
netstring_encode(char *dst, size_t dst_size, const char *payload,
    size_t payload_len)
{
	char prefix[24];
	int plen = snprintf(prefix, sizeof(prefix), "%zu:", payload_len);
	size_t total;

	if (plen < 0)
		return -1;
	/* Check against dst_size before adding, so a huge payload_len
	 * cannot wrap total around to something small. */
	if (payload_len >= dst_size ||
	    dst_size - payload_len < (size_t)plen + 1)
		return -1;
	total = (size_t)plen + payload_len + 1;
	if (total > (size_t)LONG_MAX)
		return -1;
	memcpy(dst, prefix, (size_t)plen);
	if (payload_len > 0)
		memcpy(dst + plen, payload, payload_len);
	dst[total - 1] = ',';
	return (long)total;
}

const char *
netstring_status_text(enum netstring_status status)
{
	switch (status) {
	case NETSTRING_DONE:
		return "complete";
	case NETSTRING_NEED_MORE:
		return "incomplete";
	case NETSTRING_ERR_LENGTH:
		return "malformed length (empty, non-digit or leading zero)";
	case NETSTRING_ERR_TOOLONG:
		return "length over the limit";
	case NETSTRING_ERR_TERMINATOR:
		return "missing ',' terminator";
	}
	return "unknown";
}
