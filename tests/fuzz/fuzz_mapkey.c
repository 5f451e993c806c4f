/*
 * fuzz_mapkey: any key either is refused or yields a valid, lower-case name
 * whose normal form parses again to the same result (idempotence).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapkey a, b;
	const char *why;

	if (mapkey_parse((const char *)data, size, &a, &why) != MAPKEY_LOOKUP)
		return 0;
	if (!mapkey_name_valid(a.name, strlen(a.name)) || a.port == 0 ||
	    a.port > 65535)
		abort();
	for (const char *p = a.name; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	if (mapkey_parse(a.norm, strlen(a.norm), &b, &why) != MAPKEY_LOOKUP ||
	    strcmp(a.norm, b.norm) != 0 || strcmp(a.name, b.name) != 0 ||
	    a.port != b.port || a.nexthop != b.nexthop)
		abort();
	return 0;
}
