/*
 * netstring: the length-prefixed framing of Postfix's socketmap protocol,
 * "<len>:<payload>,".
 *
 * The decoder is pure and incremental: give it everything received so far,
 * it says whether a whole netstring is there, more bytes are needed, or the
 * bytes can never become a valid netstring (so the connection must close).
 * It keeps no state between calls; the caller keeps the buffer.
 *
 * Deliberately strict: no leading zeros ("0" alone is fine), no sign, no
 * white space, a length over the caller's limit is an error as soon as its
 * digits show it, even before the payload arrives.
 */
#ifndef DANEMAP_NETSTRING_H
#define DANEMAP_NETSTRING_H

#include <stddef.h>

enum netstring_status {
	NETSTRING_DONE = 0,      /* *payload, *payload_len, *consumed are set */
	NETSTRING_NEED_MORE,     /* valid so far; call again with more bytes */
	NETSTRING_ERR_LENGTH,    /* empty, non-digit or leading-zero length */
	NETSTRING_ERR_TOOLONG,   /* declared length exceeds max_payload */
	NETSTRING_ERR_TERMINATOR /* the byte after the payload is not ',' */
};

/*
 * netstring_decode: parse the netstring at the start of buf[0..len).
 * On NETSTRING_DONE, *payload points into buf, *payload_len is its length
 * and *consumed the number of bytes the whole netstring took (the next one,
 * if any, starts at buf + *consumed). Other outputs are untouched otherwise.
 */
enum netstring_status netstring_decode(const char *buf, size_t len,
    size_t max_payload, const char **payload, size_t *payload_len,
    size_t *consumed);

/*
 * netstring_encode: write "<len>:<payload>," into dst (not NUL-terminated).
 * Returns the number of bytes written, or -1 if dst_size is too small.
 */
long netstring_encode(char *dst, size_t dst_size, const char *payload,
    size_t payload_len);

/* netstring_status_text: a short English description, for logs. */
const char *netstring_status_text(enum netstring_status status);

#endif
