/*
 * sockmap: Postfix socketmap requests and replies (see sockmap.h).
 */
#include "sockmap.h"

#include <stdio.h>
#include <string.h>

int
sockmap_parse_request(const char *payload, size_t len, const char **map,
    size_t *map_len, const char **key, size_t *key_len)
{
	const char *space = memchr(payload, ' ', len);

	if (space == NULL || space == payload)
		return -1;
	*map = payload;
	*map_len = (size_t)(space - payload);
	*key = space + 1;
	*key_len = len - *map_len - 1;
	return 0;
}

const char *
sockmap_status_word(enum sockmap_status status)
{
	switch (status) {
	case SOCKMAP_OK:
		return "OK";
	case SOCKMAP_NOTFOUND:
		return "NOTFOUND";
	case SOCKMAP_TEMP:
		return "TEMP";
	case SOCKMAP_TIMEOUT:
		return "TIMEOUT";
	case SOCKMAP_PERM:
	default:
		return "PERM";
	}
}

long
sockmap_format_reply(char *dst, size_t dst_size, enum sockmap_status status,
    const char *text)
{
	const char *word = sockmap_status_word(status);
	size_t wlen = strlen(word), tlen = 0, n, off;
	char prefix[24];
	int plen;

	/* "NOTFOUND " carries nothing after its space */
	if (status != SOCKMAP_NOTFOUND && text != NULL)
		tlen = strnlen(text, SOCKMAP_MAX_REPLY - wlen - 1);
	n = wlen + 1 + tlen;
	plen = snprintf(prefix, sizeof(prefix), "%zu:", n);
	if (plen < 0 || (size_t)plen + n + 1 > dst_size)
		return -1;
	memcpy(dst, prefix, (size_t)plen);
	off = (size_t)plen;
	memcpy(dst + off, word, wlen);
	off += wlen;
	dst[off++] = ' ';
	for (size_t i = 0; i < tlen; i++) {
		char c = text[i];

		dst[off++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[off++] = ',';
	return (long)off;
}
