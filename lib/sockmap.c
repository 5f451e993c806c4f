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

/* A reply payload "<word> <text>", measured before it is written. */
struct payload {
	const char *word, *text;
	size_t wlen, tlen, len;
};

static void
payload_plan(struct payload *p, enum sockmap_status status, const char *text)
{
	p->word = sockmap_status_word(status);
	p->wlen = strlen(p->word);
	p->text = text;
	/* "NOTFOUND " carries nothing after its space */
	p->tlen = 0;
	if (status != SOCKMAP_NOTFOUND && text != NULL)
		p->tlen = strnlen(text, SOCKMAP_MAX_REPLY - p->wlen - 1);
	p->len = p->wlen + 1 + p->tlen;
}

/* Write p at dst (room checked by the caller), non-printable bytes of the
 * text as '?'. */
static void
payload_write(const struct payload *p, char *dst)
{
	size_t off = p->wlen;

	memcpy(dst, p->word, p->wlen);
	dst[off++] = ' ';
	for (size_t i = 0; i < p->tlen; i++) {
		char c = p->text[i];

		dst[off++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
}

long
sockmap_format_payload(char *dst, size_t dst_size, enum sockmap_status status,
    const char *text)
{
	struct payload p;

	payload_plan(&p, status, text);
	if (p.len + 1 > dst_size)
		return -1;
	payload_write(&p, dst);
	dst[p.len] = '\0';
	return (long)p.len;
}

long
sockmap_format_reply(char *dst, size_t dst_size, enum sockmap_status status,
    const char *text)
{
	struct payload p;
	int plen;

	payload_plan(&p, status, text);
	plen = snprintf(dst, dst_size, "%zu:", p.len);
	if (plen < 0 || (size_t)plen + p.len + 1 > dst_size)
		return -1;
	payload_write(&p, dst + plen);
	dst[(size_t)plen + p.len] = ',';
	return (long)((size_t)plen + p.len + 1);
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
