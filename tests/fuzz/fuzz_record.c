/*
 * fuzz_record: CDB record decoding of arbitrary bytes never reads past the
 * value, and whatever it accepts re-encodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record rec;
	char again[RECORD_MAX + 1];
	int n;

	if (record_decode((const char *)data, size, &rec) != RECORD_OK)
		return 0;
	n = record_encode(&rec, again, sizeof(again));
	if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
