/*
 * mapkey: socketmap key -> lookup target (see mapkey.h, doc/design.md §3).
 *
 * Accepts only what a mail host name can be (LDH plus '_', labels 1..63,
 * at most 253 octets in presentation form): anything else is answered
 * NOTFOUND without DNS, so a hostile key never becomes a query.
 */
#include "mapkey.h"

#include <string.h>
#include <strings.h>

static bool
label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
mapkey_name_valid(const char *name, size_t len)
{
	size_t label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--; /* one trailing dot: the root */
	if (len == 0 || len > MAPKEY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			/* empty label, or one ending in '-' */
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!label_char(name[i]))
			return 0;
		if (label == 0 && name[i] == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	/* label == 0: a second trailing dot, an empty last label */
	return label > 0 && name[len - 1] != '-';
}

/* A dotted quad: four all-digit labels (one trailing dot allowed). No TLD
 * is all digits. */
static bool
dotted_quad(const char *s, size_t len)
{
	size_t labels = 1, digits = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (digits == 0)
				return false;
			labels++;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return false;
	}
	return labels == 4 && digits > 0;
}

/* Decimal 1..65535, no sign, no leading zero. */
static int
parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* The cache key: "name", "name:port", "[name]" or "[name]:port" (port 25
 * left out). Spelt out rather than with snprintf, which would be most of
 * the cost of parsing a key (every request parses one). norm has room for
 * MAPKEY_NORM_MAX + 1 bytes; name_len is at most MAPKEY_NAME_MAX. */
static void
norm_format(char *norm, const char *name, size_t name_len, bool nexthop,
    unsigned port)
{
	char digits[5];
	size_t n = 0;

	if (nexthop)
		*norm++ = '[';
	memcpy(norm, name, name_len);
	norm += name_len;
	if (nexthop)
		*norm++ = ']';
	if (port != 25) {
		*norm++ = ':';
		do {
			digits[n++] = (char)('0' + port % 10);
			port /= 10;
		} while (port > 0 && n < sizeof(digits));
		while (n > 0)
			*norm++ = digits[--n];
	}
	*norm = '\0';
}

static enum mapkey_result
invalid(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return MAPKEY_INVALID;
}

enum mapkey_result
mapkey_parse(const char *key, size_t len, struct mapkey *out, const char **why)
{
	const char *name = key, *port_str = NULL;
	size_t name_len = len, port_len = 0;
	bool nexthop = false;
	unsigned port = 25;

	if (len == 0)
		return invalid(why, "empty key");
	if (memchr(key, '\0', len) != NULL)
		return invalid(why, "NUL byte in key");
	if (key[0] == '.')
		return MAPKEY_SKIP; /* Postfix's parent-domain lookup */

	if (key[0] == '[') {
		const char *close = memchr(key, ']', len);

		if (close == NULL)
			return invalid(why, "'[' without ']'");
		name = key + 1;
		name_len = (size_t)(close - name);
		if (close + 1 < key + len) {
			if (close[1] != ':')
				return invalid(why, "bytes after ']'");
			port_str = close + 2;
			port_len = (size_t)(key + len - port_str);
		}
		/* [192.0.2.1], [ipv6:...]: IP literals, not names */
		if (name_len >= 5 && strncasecmp(name, "ipv6:", 5) == 0)
			return MAPKEY_SKIP;
		if (memchr(name, ':', name_len) != NULL ||
		    dotted_quad(name, name_len))
			return MAPKEY_SKIP;
		nexthop = true;
	} else {
		const char *colon = memchr(key, ':', len);

		if (colon != NULL) {
			name_len = (size_t)(colon - key);
			port_str = colon + 1;
			port_len = (size_t)(key + len - port_str);
		}
		if (dotted_quad(name, name_len))
			return MAPKEY_SKIP;
	}
	if (port_str != NULL && parse_port(port_str, port_len, &port) != 0)
		return invalid(why, "port is not a number in 1..65535");
	if (!mapkey_name_valid(name, name_len))
		return invalid(why, "not a valid host or domain name");
	if (name_len > 0 && name[name_len - 1] == '.')
		name_len--;

	for (size_t i = 0; i < name_len; i++) {
		char c = name[i];

		out->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	out->name[name_len] = '\0';
	out->nexthop = nexthop;
	out->port = port;
	norm_format(out->norm, out->name, name_len, nexthop, port);
	return MAPKEY_LOOKUP;
}
