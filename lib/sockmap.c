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

/* Write "<word> <text>" at dst (room for it checked by the caller),
 * non-printable bytes of text as '?'; returns its length. */
static size_t
write_payload(char *dst, const char *word, size_t wlen, const char *text,
    size_t tlen)
{
	size_t off = wlen;

	memcpy(dst, word, wlen);
	dst[off++] = ' ';
	for (size_t i = 0; i < tlen; i++) {
		char c = text[i];

		dst[off++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	return off;
}

/* The payload's length for status and text; *tlen: the text's share. */
static size_t
payload_len(enum sockmap_status status, const char *text, size_t wlen,
    size_t *tlen)
{
	/* "NOTFOUND " carries nothing after its space */
	*tlen = 0;
	if (status != SOCKMAP_NOTFOUND && text != NULL)
		*tlen = strnlen(text, SOCKMAP_MAX_REPLY - wlen - 1);
	return wlen + 1 + *tlen;
}

long
sockmap_format_payload(char *dst, size_t dst_size, enum sockmap_status status,
    const char *text)
{
	const char *word = sockmap_status_word(status);
	size_t wlen = strlen(word), tlen, n = payload_len(status, text, wlen,
	                                         &tlen);

	if (n + 1 > dst_size)
		return -1;
	write_payload(dst, word, wlen, text, tlen);
	dst[n] = '\0';
	return (long)n;
}

long
sockmap_format_reply(char *dst, size_t dst_size, enum sockmap_status status,
    const char *text)
{
	const char *word = sockmap_status_word(status);
	size_t wlen = strlen(word), tlen, n = payload_len(status, text, wlen,
	                                         &tlen);
	int plen = snprintf(dst, dst_size, "%zu:", n);

	if (plen < 0 || (size_t)plen + n + 1 > dst_size)
		return -1;
	write_payload(dst + plen, word, wlen, text, tlen);
	dst[(size_t)plen + n] = ',';
	return (long)((size_t)plen + n + 1);
}

const char *
sockmap_reply_payload(const char *frame, size_t frame_len, size_t *len)
{
	const char *colon = memchr(frame, ':', frame_len);

	if (colon == NULL || frame_len < (size_t)(colon - frame) + 2) {
		*len = 0;
		return frame;
	}
	*len = frame_len - (size_t)(colon - frame) - 2;
	return colon + 1;
}
