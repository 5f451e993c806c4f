/*
 * record: the value stored for a key in the CDB cache file (doc/design.md §6).
 *
 * One line of ASCII, so `cdb -d` shows it as it is:
 *
 *     1 <reply> <expires> <stored>
 *     2 <reply> <expires> <stored> <sts>
 *
 * The first field is the record version; <reply> is dane-only, dane or
 * notfound (TEMP is never stored); <expires> and <stored> are Unix times
 * in decimal. Version 2 adds the MTA-STS policy cached for the domain
 * (RFC 8461 §5.1), as sts_cached_encode writes it; a record without one
 * is still written as version 1, so files stay readable by older
 * danemaps wherever nothing new is in them. A reader that meets another
 * version, or anything malformed, must ignore the record (and say so
 * once): never guess.
 *
 * Deliberately not here: reading or writing files (store, cdbwrite).
 */
#ifndef DANEMAP_RECORD_H
#define DANEMAP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#include "sts.h"

#define RECORD_VERSION 1     /* without an MTA-STS policy */
#define RECORD_VERSION_STS 2 /* with one */
/* longest record written or read */
#define RECORD_MAX (64 + STS_CACHED_TEXT_MAX)

struct record {
	enum policy_reply reply; /* never POLICY_REPLY_TEMP */
	int64_t expires;         /* Unix time */
	int64_t stored;          /* Unix time of the lookup */
	/* The cached MTA-STS policy's text (sts_cached_decode reads it),
	 * or NULL. record_decode points it into the data it was given. */
	const char *sts;
	size_t sts_len;
};

enum record_status {
	RECORD_OK,
	RECORD_UNKNOWN_VERSION, /* well-formed version field, not ours */
	RECORD_CORRUPT,         /* anything else that is not a record */
};

/* record_encode: write the record into buf (NUL-terminated). Returns its
 * length, or -1 if the reply is TEMP, a time is negative, or size is too
 * small. */
int record_encode(const struct record *rec, char *buf, size_t size);

/* record_decode: parse data[0..len) (not NUL-terminated) strictly. */
enum record_status record_decode(const char *data, size_t len,
    struct record *rec);

/* record_reply_word: "dane-only", "dane", "notfound" (NULL for TEMP). */
const char *record_reply_word(enum policy_reply reply);

#endif
