/*
 * sockmap: Postfix socketmap requests and replies (doc/design.md §2).
 *
 * A request payload is "<mapname> <key>": the map name ends at the first
 * space, the key is everything after it (and may itself hold spaces or any
 * byte: it is validated by mapkey, not here). A reply payload is one of
 * "OK <value>", "NOTFOUND ", "TEMP <reason>", "TIMEOUT <reason>",
 * "PERM <reason>", framed as a netstring.
 *
 * Deliberately not here: framing of the request (netstring), key syntax
 * (mapkey), what the reply should be (policy).
 */
#ifndef DANEMAP_SOCKMAP_H
#define DANEMAP_SOCKMAP_H

#include <stddef.h>

/* Postfix's own limits (dict_sockmap.c). */
#define SOCKMAP_MAX_QUERY 10000
#define SOCKMAP_MAX_REPLY 100000

enum sockmap_status {
	SOCKMAP_OK,
	SOCKMAP_NOTFOUND,
	SOCKMAP_TEMP,
	SOCKMAP_TIMEOUT,
	SOCKMAP_PERM,
};

/*
 * sockmap_parse_request: split a request payload into map name and key.
 * Both point into payload. Returns 0, or -1 if there is no space, or the
 * map name is empty (a malformed request: the caller closes the
 * connection; PERM is only for a wrong map name).
 */
int sockmap_parse_request(const char *payload, size_t len, const char **map,
    size_t *map_len, const char **key, size_t *key_len);

/*
 * sockmap_format_reply: write the whole netstring-framed reply
 * "<status word> <text>" into dst. For SOCKMAP_NOTFOUND the text is ignored
 * and the payload is exactly "NOTFOUND ". Text must be printable ASCII
 * (others are replaced by '?'), and is cut to fit SOCKMAP_MAX_REPLY.
 * Returns bytes written (not NUL-terminated), or -1 if dst_size is too small.
 */
long sockmap_format_reply(char *dst, size_t dst_size,
    enum sockmap_status status, const char *text);

/*
 * sockmap_format_payload: the same reply unframed, NUL-terminated (what
 * `danemap query` prints). Returns its length, or -1 if dst_size is too
 * small.
 */
long sockmap_format_payload(char *dst, size_t dst_size,
    enum sockmap_status status, const char *text);

/* sockmap_reply_payload: the payload inside a frame sockmap_format_reply
 * wrote (for a log line), its length in *len. */
const char *sockmap_reply_payload(const char *frame, size_t frame_len,
    size_t *len);

/* sockmap_status_word: "OK", "NOTFOUND", "TEMP", "TIMEOUT" or "PERM". */
const char *sockmap_status_word(enum sockmap_status status);

#endif
