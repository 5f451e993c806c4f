/*
 * control: the protocol of danemapd's control socket, shared by the daemon
 * and `danemap flush` / `danemap stats`.
 *
 * A client sends requests, a netstring each, and reads one netstring reply
 * to each, in order:
 *
 *     stats                  the counters, in the Prometheus text format
 *     flush KEY [KEY...]     forget these keys' answers (one space apart)
 *     flush-all              forget every answer
 *
 * A reply is "OK " or "ERR " and a text (for stats, the counters; for a
 * flush, what was done; for ERR, why). Pure: parsing and formatting only,
 * with the payload size a parameter of neither (the framing's limit,
 * CONTROL_REQUEST_MAX, bounds it).
 *
 * Deliberately not here: who may ask (the daemon checks the peer's
 * credentials), what a key is (mapkey), what a flush does (store).
 */
#ifndef DANEMAP_CONTROL_H
#define DANEMAP_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

/* The longest request payload: room for a few hundred keys. */
#define CONTROL_REQUEST_MAX 65536

enum control_command {
	CONTROL_BAD, /* not a request: *why says what is wrong */
	CONTROL_STATS,
	CONTROL_FLUSH,
	CONTROL_FLUSH_ALL,
};

/*
 * control_parse: what payload[0..len) asks. For CONTROL_FLUSH, *args and
 * *args_len are the keys (control_next_key walks them); otherwise *args
 * is NULL. For CONTROL_BAD, *why is a static string.
 */
enum control_command control_parse(const char *payload, size_t len,
    const char **args, size_t *args_len, const char **why);

/*
 * control_next_key: the next key of a flush's args, starting at *pos (0
 * at first): true with *key and *key_len set and *pos moved past it, or
 * false when there is none left. Keys are separated by single spaces
 * (control_parse has checked: no empty key, no other white space).
 */
bool control_next_key(const char *args, size_t args_len, size_t *pos,
    const char **key, size_t *key_len);

/* control_reply_parse: split a reply payload into its status (true for
 * "OK ") and its text; false for anything that is not a reply too, with
 * *text NULL. */
bool control_reply_parse(const char *payload, size_t len, bool *ok,
    const char **text, size_t *text_len);

#endif
