/*
 * fuzz_sockmap: request parsing on arbitrary payloads stays inside them,
 * and reply formatting of arbitrary text yields one well-formed netstring
 * of printable ASCII within Postfix's reply limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"
#include "sockmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *map, *key, *payload;
	size_t map_len, key_len, plen, used;
	static char reply[SOCKMAP_MAX_REPLY + 64];
	char *text;
	long n;

	if (sockmap_parse_request(buf, size, &map, &map_len, &key, &key_len) ==
	    0) {
		if (map < buf || map + map_len > buf + size || key < buf ||
		    key + key_len > buf + size || map_len == 0)
			abort();
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (int st = SOCKMAP_OK; st <= SOCKMAP_PERM; st++) {
		n = sockmap_format_reply(reply, sizeof(reply),
		    (enum sockmap_status)st, text);
		if (n < 0)
			abort(); /* the buffer is big enough for any text */
		if (netstring_decode(reply, (size_t)n, SOCKMAP_MAX_REPLY,
		        &payload, &plen, &used) != NETSTRING_DONE ||
		    used != (size_t)n)
			abort();
		for (size_t i = 0; i < plen; i++)
			if (payload[i] < 0x20 || payload[i] > 0x7e)
				abort();
	}
	free(text);
	return 0;
}
