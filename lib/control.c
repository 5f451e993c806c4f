/*
 * control: the control socket's requests and replies (see control.h).
 */
#include "control.h"

#include <string.h>

/* Does payload start with word, followed by the end or a space? */
static bool
starts_with_word(const char *payload, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(payload, word, n) == 0 &&
	    (len == n || payload[n] == ' ');
}

enum control_command
control_parse(const char *payload, size_t len, const char **args,
    size_t *args_len, const char **why)
{
	*args = NULL;
	*args_len = 0;
	*why = NULL;
	if (len == 5 && memcmp(payload, "stats", 5) == 0)
		return CONTROL_STATS;
	if (len == 9 && memcmp(payload, "flush-all", 9) == 0)
		return CONTROL_FLUSH_ALL;
	if (!starts_with_word(payload, len, "flush")) {
		*why = "unknown request (expected stats, flush KEY... or "
		       "flush-all)";
		return CONTROL_BAD;
	}
	if (len <= 6) {
		*why = "flush needs at least one key";
		return CONTROL_BAD;
	}
	for (size_t i = 6; i < len; i++) {
		unsigned char c = (unsigned char)payload[i];

		if (c == ' ' &&
		    (i == 6 || i == len - 1 || payload[i - 1] == ' '))
			goto spaces;
		if (c != ' ' && (c <= 0x20 || c >= 0x7f)) {
			*why = "a key holds a byte that is not printable ASCII";
			return CONTROL_BAD;
		}
	}
	*args = payload + 6;
	*args_len = len - 6;
	return CONTROL_FLUSH;
spaces:
	*why = "keys must be separated by single spaces";
	return CONTROL_BAD;
}

bool
control_next_key(const char *args, size_t args_len, size_t *pos,
    const char **key, size_t *key_len)
{
	const char *space;
	size_t at = *pos;

	if (at >= args_len)
		return false;
	space = memchr(args + at, ' ', args_len - at);
	*key = args + at;
	*key_len =
	    space != NULL ? (size_t)(space - (args + at)) : args_len - at;
	*pos = at + *key_len + 1;
	return true;
}

bool
control_reply_parse(const char *payload, size_t len, bool *ok,
    const char **text, size_t *text_len)
{
	*text = NULL;
	*text_len = 0;
	if (len >= 3 && memcmp(payload, "OK ", 3) == 0)
		*ok = true;
	else if (len >= 4 && memcmp(payload, "ERR ", 4) == 0)
		*ok = false;
	else
		return false;
	*text = payload + (*ok ? 3 : 4);
	*text_len = len - (*ok ? 3 : 4);
	return true;
}
