/*
 * fuzz_smtpreply: SMTP replies of arbitrary bytes. The reader never reads
 * past its input; fed whole or one byte at a time it comes to the same
 * end at the same place; a reply it accepts has a code from 200 to 599
 * and printable text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtpreply whole, bytes;
	const char *why;
	size_t used, at = 0, u;
	enum smtpreply_status st, sb = SMTPREPLY_MORE;

	smtpreply_init(&whole);
	st = smtpreply_feed(&whole, (const char *)data, size, &used, &why);
	smtpreply_init(&bytes);
	while (at < size) {
		sb = smtpreply_feed(&bytes, (const char *)data + at, 1, &u,
		    &why);
		if (sb == SMTPREPLY_ERROR)
			break;
		at += u;
		if (sb == SMTPREPLY_DONE)
			break;
	}
	if (st != sb)
		abort();
	if (st == SMTPREPLY_DONE) {
		if (used != at || whole.code < 200 || whole.code > 599 ||
		    whole.code != bytes.code ||
		    whole.starttls != bytes.starttls ||
		    strcmp(whole.text, bytes.text) != 0)
			abort();
		for (const char *p = whole.text; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();
	}
	return 0;
}
