/*
 * fuzz_netstring: netstring_decode on arbitrary bytes, at every limit, must
 * never read out of bounds, and a decoded netstring must re-encode to the
 * very bytes it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 0, 1, 9, 10000, 100000 };
	const char *buf = (const char *)data;

	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		const char *payload;
		size_t plen, used, off = 0;

		while (off < size &&
		    netstring_decode(buf + off, size - off, limits[l], &payload,
		        &plen, &used) == NETSTRING_DONE) {
			char *again = malloc(used);

			if (plen > limits[l] || used > size - off ||
			    again == NULL ||
			    netstring_encode(again, used, payload, plen) !=
			        (long)used ||
			    memcmp(again, buf + off, used) != 0)
				abort();
			free(again);
			off += used;
		}
	}
	return 0;
}
