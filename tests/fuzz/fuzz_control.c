/*
 * fuzz_control: control_parse and control_reply_parse on arbitrary bytes
 * must never read out of bounds; a flush's keys, walked, are never empty,
 * hold only printable ASCII without spaces, and put back together with
 * single spaces give the arguments again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *args, *why, *key, *text;
	size_t args_len, pos = 0, key_len, text_len, rebuilt = 0;
	bool ok;
	char *again;

	(void)control_reply_parse(buf, size, &ok, &text, &text_len);
	if (text != NULL && text + text_len != buf + size)
		abort();
	if (control_parse(buf, size, &args, &args_len, &why) != CONTROL_FLUSH)
		return 0;
	if ((again = malloc(args_len + 1)) == NULL)
		return 0;
	while (control_next_key(args, args_len, &pos, &key, &key_len)) {
		if (key_len == 0)
			abort();
		for (size_t i = 0; i < key_len; i++)
			if ((unsigned char)key[i] <= 0x20 ||
			    (unsigned char)key[i] >= 0x7f)
				abort();
		if (rebuilt > 0)
			again[rebuilt++] = ' ';
		memcpy(again + rebuilt, key, key_len);
		rebuilt += key_len;
	}
	if (rebuilt != args_len || memcmp(again, args, args_len) != 0)
		abort();
	free(again);
	return 0;
}
