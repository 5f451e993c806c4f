/*
 * store: the answers danemap already knows (doc/design.md §6): a bounded memory
 * cache in front of an optional CDB file written by `danemap warm`.
 *
 * Maps a normalised key (mapkey's norm) to a cacheable reply and its
 * absolute expiry; store_get asks memory first, then the CDB (read through
 * cdbread). A fresh memory entry already compared with the open file skips
 * the file, and a CDB answer is copied into memory, so busy keys cost no
 * read at all. store_cdb_check notices a replaced file (new inode, size or
 * mtime; stat at most once a second) and switches to it once it has been
 * checked from end to end. A file that cannot be opened, is truncated or
 * holds records of an unknown version is reported once and ignored, never
 * trusted: lookups then go on from memory and live DNS, or from the file
 * that was open before.
 *
 * Memory is bounded: when full, the least recently used entry goes
 * (a hit or a put makes an entry most recent). LRU because Postfix asks
 * the same busy domains again and again, while one-off domains should
 * age out first. Expired entries are kept until evicted, so a caller can
 * tell "stale" from "never seen" (stale serving is the caller's decision).
 *
 * An administrator can flush a key, or all of them (store_flush): its
 * answers are then looked up again, not taken from memory or the file.
 *
 * TEMP is never stored: a failure must be retried, not remembered.
 * Nothing here logs: what happened to the file comes back as text.
 *
 * Deliberately not here: reading and checking the CDB (cdbread), writing
 * it (cdbwrite), deciding when a stale answer may be served (the daemon).
 */
#ifndef DANEMAP_STORE_H
#define DANEMAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"
#include "record.h"

struct store;

enum store_result {
	STORE_MISS,  /* nothing known */
	STORE_FRESH, /* known and not expired */
	STORE_STALE, /* known but expired: *hit still filled */
};

enum store_source {
	STORE_SOURCE_MEMORY,
	STORE_SOURCE_CDB,
};

struct store_hit {
	enum policy_reply reply; /* never POLICY_REPLY_TEMP */
	time_t expires;
	time_t stored; /* when the lookup behind it was made */
	enum store_source source;
	/* The MTA-STS policy cached with the answer (sts_cached_encode's
	 * text, checked), or NULL; valid until the next call on the store. */
	const char *sts;
	size_t sts_len;
	/* The reply the caller made for that policy (store_keep_frame), or
	 * NULL; same lifetime. frame_len 0: the caller found none applies. */
	const char *frame;
	size_t frame_len;
};

/*
 * store_new: an empty store holding at most max_entries (0: a store that
 * keeps nothing). Returns NULL on memory failure.
 */
struct store *store_new(size_t max_entries);

/* store_free: free the store and every entry. NULL is a no-op. */
void store_free(struct store *store);

/* store_get: look key[0..len) up as of now, in memory and in the CDB;
 * fills *hit unless MISS. A fresh answer beats a stale one; of two fresh
 * answers the one from the more recent lookup wins (so a new CDB from a
 * warm run that saw a change overrides what memory learnt before it, and
 * a live lookup made after the warm run overrides the CDB); of two stale
 * ones the later expiry. */
enum store_result store_get(struct store *store, const char *key, size_t len,
    time_t now, struct store_hit *hit);

/*
 * store_put: remember rec's reply (and MTA-STS policy, if any) for key
 * until rec->expires, as looked up at rec->stored, replacing any entry.
 * Returns 0, or -1 if the reply is TEMP (refused), the key is empty or
 * longer than 1024 bytes, the policy text is longer than a record may
 * hold, or memory ran out (the store is unchanged then).
 */
int store_put(struct store *store, const char *key, size_t len,
    const struct record *rec);

/*
 * store_keep_frame: keep frame[0..len) (len may be 0), made from the
 * policy text sts[0..sts_len), with key's memory entry if that entry
 * holds this very policy, for store_get to hand back until the entry is
 * replaced: a policy's reply is then formatted once, not at every answer.
 * Returns 0, or -1 if there is no such entry or memory ran out (nothing
 * kept; the caller formats again next time).
 */
int store_keep_frame(struct store *store, const char *key, size_t len,
    const char *sts, size_t sts_len, const char *frame, size_t frame_len);

/* store_drop_frames: forget every kept frame (the way replies are made
 * changed, e.g. tlsrpt on a reload). */
void store_drop_frames(struct store *store);

/* Keys store_flush remembers at most; one more flushes every key. */
#define STORE_FLUSH_MAX 4096

/*
 * store_flush: the administrator says key's answer must be looked up
 * again: its memory entry goes, and its CDB records from lookups made at
 * or before now are ignored, even as stale answers, until a record from
 * a later lookup appears (a warm run since). A put after the flush is
 * used as always. Returns false; true if it had to flush every key
 * instead (more than STORE_FLUSH_MAX keys flushed, or no memory to
 * remember one more): never less than asked.
 */
bool store_flush(struct store *store, const char *key, size_t len, time_t now);

/* store_flush_all: the same for every key: the memory cache is emptied,
 * and every CDB record from a lookup made at or before now is ignored. */
void store_flush_all(struct store *store, time_t now);

/* store_flushed_count: keys flushed one by one whose records are still
 * being ignored. */
size_t store_flushed_count(const struct store *store);

/* What the open CDB is, for the metrics. */
struct store_cdb_info {
	bool open;
	size_t records;
	time_t mtime;               /* its modification time */
	time_t age;                 /* now - mtime, 0 if in the future */
	unsigned long files_opened; /* files taken into use so far */
};

/* store_cdb_info: fill *info as of now. */
void store_cdb_info(const struct store *store, time_t now,
    struct store_cdb_info *info);

/* store_count: memory entries held, fresh or stale. */
size_t store_count(const struct store *store);

/* What store_cdb_use and store_cdb_check did; msg says it in words
 * (a line for the log) unless SAME or CHECKING. */
enum store_cdb_result {
	STORE_CDB_BAD = -1,     /* a new file is unusable: ignored */
	STORE_CDB_SAME = 0,     /* nothing changed */
	STORE_CDB_OPENED = 1,   /* a new file is in use */
	STORE_CDB_CHECKING = 2, /* a new file is being checked, off the
	                         * caller's thread */
};

/*
 * store_cdb_use: read records from the CDB at path (copied) from now on,
 * checking it at once if it exists. A file already open stays in use until
 * a sound one replaces it (a corrupt or missing file at path never costs
 * the verified one); the same path with the same file is not read again.
 * Later store_cdb_check calls keep watching path.
 */
int store_cdb_use(struct store *store, const char *path, char *msg,
    size_t msg_size);

/*
 * store_cdb_check: if at least a second passed since the last check (or
 * force), stat the path and check the file when it was replaced; with
 * background checks, take the result of one that is over. A given bad
 * file is reported once, not at every check.
 */
int store_cdb_check(struct store *store, time_t now, bool force, char *msg,
    size_t msg_size);

/*
 * store_cdb_background: from now on, check new files on a thread of their
 * own (a million records take ~0.3 s, which a daemon must not spend away
 * from its clients); the open file answers meanwhile. Returns a descriptor
 * that becomes readable when such a check is over (then call
 * store_cdb_check), or -1 (errno set; checks stay on the caller's thread).
 */
int store_cdb_background(struct store *store);

/* store_cdb_records: records in the open CDB (0 if none is open). */
size_t store_cdb_records(const struct store *store);

/* store_cdb_warning: a report about bad records met in the open file by
 * store_get (at most one a file), once; NULL if there is none. */
const char *store_cdb_warning(struct store *store);

/*
 * store_stale_usable: may an answer that expired at `expires` still be used
 * now, because its refresh failed with a TEMP? Only when the failure was
 * transient (timeout, network, SERVFAIL: policy's decision.transient),
 * never after a DNSSEC validation failure, and only until expires +
 * stale_ttl (doc/design.md §6). The daemon serves such an answer; the warmer
 * keeps it in the next CDB.
 */
bool store_stale_usable(time_t expires, bool transient, time_t now,
    unsigned stale_ttl);

/*
 * store_expiry: now + ttl, with ttl clamped to [min_ttl, max_ttl]
 * (doc/design.md §6). Saturates instead of overflowing time_t.
 */
time_t store_expiry(time_t now, uint32_t ttl, unsigned min_ttl,
    unsigned max_ttl);

#endif
