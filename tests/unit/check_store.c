/*
 * check_store: the memory store keeps replies until their expiry, never
 * keeps TEMP, stays within its bound by evicting the least recently used
 * entry, and clamps TTLs as doc/design.md §6 says.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdbread.h"
#include "cdbwrite.h"
#include "check_main.h"
#include "record.h"
#include "store.h"

/* Memory entries in these tests were looked up at time 10; CDB records
 * at CDB_STORED unless a test says otherwise. */
#define PUT(s, k, r, e) PUT_AT(s, k, r, e, 10)
#define PUT_AT(s, k, r, e, at)                                                 \
	store_put(s, k, strlen(k), &(struct record){ r, e, at, NULL, 0 })
#define CDB_STORED 1
#define GET(s, k, now, hit) store_get(s, k, strlen(k), now, hit)

START_TEST(fresh_then_stale)
{
	struct store *s = store_new(10);
	struct store_hit hit;

	ck_assert_int_eq(GET(s, "example.com", 100, &hit), STORE_MISS);
	ck_assert_int_eq(PUT(s, "example.com", POLICY_REPLY_DANE_ONLY, 200), 0);
	ck_assert_int_eq(GET(s, "example.com", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE_ONLY);
	ck_assert_int_eq(hit.expires, 200);
	ck_assert_int_eq(GET(s, "example.com", 199, &hit), STORE_FRESH);
	/* at the expiry instant the entry is no longer fresh */
	ck_assert_int_eq(GET(s, "example.com", 200, &hit), STORE_STALE);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE_ONLY);
	/* keys are exact: no case folding here, mapkey did that */
	ck_assert_int_eq(GET(s, "Example.com", 100, &hit), STORE_MISS);
	store_free(s);
}
END_TEST

START_TEST(temp_is_never_stored)
{
	struct store *s = store_new(10);
	struct store_hit hit;

	ck_assert_int_eq(PUT(s, "a.example", POLICY_REPLY_TEMP, 500), -1);
	ck_assert_int_eq(GET(s, "a.example", 1, &hit), STORE_MISS);
	ck_assert_int_eq(store_count(s), 0);
	/* a TEMP does not wipe an older good answer either */
	ck_assert_int_eq(PUT(s, "a.example", POLICY_REPLY_DANE, 500), 0);
	ck_assert_int_eq(PUT(s, "a.example", POLICY_REPLY_TEMP, 900), -1);
	ck_assert_int_eq(GET(s, "a.example", 1, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE);
	store_free(s);
}
END_TEST

START_TEST(replace_updates_reply_and_expiry)
{
	struct store *s = store_new(10);
	struct store_hit hit;

	PUT(s, "b.example", POLICY_REPLY_DANE_ONLY, 100);
	PUT(s, "b.example", POLICY_REPLY_NOTFOUND, 300);
	ck_assert_int_eq(store_count(s), 1);
	ck_assert_int_eq(GET(s, "b.example", 150, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_NOTFOUND);
	store_free(s);
}
END_TEST

START_TEST(bounded_lru_eviction)
{
	struct store *s = store_new(3);
	struct store_hit hit;

	PUT(s, "1.example", POLICY_REPLY_DANE, 1000);
	PUT(s, "2.example", POLICY_REPLY_DANE, 1000);
	PUT(s, "3.example", POLICY_REPLY_DANE, 1000);
	/* touching 1 makes 2 the least recently used */
	ck_assert_int_eq(GET(s, "1.example", 0, &hit), STORE_FRESH);
	PUT(s, "4.example", POLICY_REPLY_DANE, 1000);
	ck_assert_int_eq(store_count(s), 3);
	ck_assert_int_eq(GET(s, "2.example", 0, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "1.example", 0, &hit), STORE_FRESH);
	ck_assert_int_eq(GET(s, "3.example", 0, &hit), STORE_FRESH);
	ck_assert_int_eq(GET(s, "4.example", 0, &hit), STORE_FRESH);
	store_free(s);
}
END_TEST

START_TEST(many_keys_stay_within_bound)
{
	struct store *s = store_new(1000);
	struct store_hit hit;
	char key[64];

	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "host%d.example", i);
		ck_assert_int_eq(PUT(s, key, POLICY_REPLY_DANE, i + 1), 0);
	}
	ck_assert_int_eq(store_count(s), 1000);
	for (int i = 19000; i < 20000; i++) {
		snprintf(key, sizeof(key), "host%d.example", i);
		ck_assert_int_eq(GET(s, key, 0, &hit), STORE_FRESH);
		ck_assert_int_eq(hit.expires, i + 1);
	}
	ck_assert_int_eq(GET(s, "host0.example", 0, &hit), STORE_MISS);
	store_free(s);
}
END_TEST

START_TEST(zero_capacity_keeps_nothing)
{
	struct store *s = store_new(0);
	struct store_hit hit;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(PUT(s, "c.example", POLICY_REPLY_DANE, 100), 0);
	ck_assert_int_eq(GET(s, "c.example", 0, &hit), STORE_MISS);
	store_free(s);
	store_free(NULL);
}
END_TEST

START_TEST(bad_keys_refused)
{
	struct store *s = store_new(4);
	char big[1100];

	memset(big, 'a', sizeof(big));
	struct record rec = { POLICY_REPLY_DANE, 1, 0, NULL, 0 };

	ck_assert_int_eq(store_put(s, "", 0, &rec), -1);
	ck_assert_int_eq(store_put(s, big, sizeof(big), &rec), -1);
	ck_assert_int_eq(store_count(s), 0);
	store_free(s);
}
END_TEST

/* doc/design.md §6: expiry = now + TTL clamped to [min_ttl, max_ttl] */
START_TEST(expiry_clamping)
{
	static const struct {
		uint32_t ttl;
		unsigned min, max;
		time_t want;
	} cases[] = {
		{ 3600, 300, 86400, 1000 + 3600 },
		{ 0, 300, 86400, 1000 + 300 },
		{ 60, 300, 86400, 1000 + 300 },
		{ 604800, 300, 86400, 1000 + 86400 },
		{ UINT32_MAX, 0, UINT32_MAX, 1000 + (time_t)UINT32_MAX },
		{ 5, 0, 10, 1005 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_int_eq(store_expiry(1000, cases[i].ttl, cases[i].min,
		                     cases[i].max),
		    cases[i].want);
	ck_assert_int_eq(store_expiry((time_t)INT64_MAX - 5, 100, 0, 1000),
	    (time_t)INT64_MAX);
}
END_TEST

/* doc/design.md §6: stale answers only after transport failures, only for
 * stale_ttl, never after a DNSSEC validation failure */
START_TEST(stale_rule)
{
	/* expired at 1000, stale_ttl 600 */
	ck_assert(store_stale_usable(1000, true, 900, 600));   /* not expired */
	ck_assert(store_stale_usable(1000, true, 1599, 600));  /* within */
	ck_assert(!store_stale_usable(1000, true, 1600, 600)); /* past */
	ck_assert(!store_stale_usable(1000, false, 900, 600)); /* bogus */
	ck_assert(!store_stale_usable(1000, false, 1200, 600));
	ck_assert(!store_stale_usable(1000, true, 1000, 0));
}
END_TEST

/* ---------------------------------------------------------------- CDB */

static char dir[64], path[128], msg[1200];

#define USE(s) store_cdb_use(s, path, msg, sizeof(msg))
#define CHECK(s, now, force) store_cdb_check(s, now, force, msg, sizeof(msg))

static void
cdb_setup(void)
{
	check_tmpdir(dir, sizeof(dir), "check_store");
	snprintf(path, sizeof(path), "%s/cache.cdb", dir);
}

static void
cdb_teardown(void)
{
	check_tmpdir_remove(dir);
}

/* Write a CDB with one record per key; raw != NULL writes that value. */
static void
write_cdb_at(const char *const *keys, size_t n, enum policy_reply reply,
    int64_t expires, int64_t stored, const char *raw)
{
	char err[256], val[RECORD_MAX + 1];
	struct cdbwrite *w = cdbwrite_open(path, err, sizeof(err));
	struct record rec = { reply, expires, stored, NULL, 0 };
	int len = raw != NULL ? (int)strlen(raw)
	                      : record_encode(&rec, val, sizeof(val));

	ck_assert_msg(w != NULL, "%s", err);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(cdbwrite_add(w, keys[i], strlen(keys[i]),
		                     raw != NULL ? raw : val, (size_t)len, err,
		                     sizeof(err)),
		    0);
	ck_assert_msg(cdbwrite_commit(w, err, sizeof(err)) == 0, "%s", err);
}

static void
write_cdb(const char *const *keys, size_t n, enum policy_reply reply,
    int64_t expires, const char *raw)
{
	write_cdb_at(keys, n, reply, expires, CDB_STORED, raw);
}

static void
write_bytes(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static const char *const keys[] = { "a.example", "b.example", "c.example" };

START_TEST(cdb_answers_behind_memory)
{
	struct store *s = store_new(10);
	struct store_hit hit;

	write_cdb(keys, 3, POLICY_REPLY_DANE_ONLY, 5000, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_uint_eq(store_cdb_records(s), 3);
	ck_assert_int_eq(GET(s, "b.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE_ONLY);
	ck_assert_int_eq(hit.source, STORE_SOURCE_CDB);
	ck_assert_int_eq(GET(s, "z.example", 100, &hit), STORE_MISS);
	/* expired in the CDB: stale, still readable */
	ck_assert_int_eq(GET(s, "b.example", 6000, &hit), STORE_STALE);
	/* a fresh memory entry from a later lookup wins over the CDB */
	PUT(s, "b.example", POLICY_REPLY_NOTFOUND, 9000);
	ck_assert_int_eq(GET(s, "b.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_MEMORY);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_NOTFOUND);
	/* a stale memory entry loses to a fresh CDB record */
	PUT(s, "c.example", POLICY_REPLY_NOTFOUND, 50);
	ck_assert_int_eq(GET(s, "c.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_CDB);
	store_free(s);
}
END_TEST

/* A warm run that saw a changed zone must take effect at once, though the
 * daemon still holds a fresh answer from before it; and a live lookup the
 * daemon makes after the warm run must win over that run's file. */
/* An MTA-STS policy cached with an answer (RFC 8461 §5.1) comes back from
 * memory and from the file, whatever its size (a 32-mx policy is a record
 * of ~8 KB, read past the reader's first small read). */
START_TEST(sts_policy_kept)
{
	struct store *s = store_new(10);
	struct store_hit hit;
	struct sts_cached c;
	static char text[STS_CACHED_TEXT_MAX + 1], val[RECORD_MAX + 1];
	char err[256];
	struct record rec = { POLICY_REPLY_NOTFOUND, 5000, CDB_STORED, NULL,
		0 };
	struct cdbwrite *w;
	int len;

	memset(&c, 0, sizeof(c));
	c.fetched = 100;
	strcpy(c.id, "abc");
	c.policy.mode = STS_MODE_ENFORCE;
	c.policy.max_age = 86400;
	c.policy.mx_count = STS_MX_MAX;
	for (size_t i = 0; i < STS_MX_MAX; i++) {
		memset(c.policy.mx[i], 'a', STS_NAME_MAX);
		for (size_t d = 60; d < STS_NAME_MAX; d += 61)
			c.policy.mx[i][d] = '.';
		c.policy.mx[i][0] = (char)('a' + i % 26);
	}
	rec.sts = text;
	rec.sts_len = (size_t)sts_cached_encode(&c, text, sizeof(text));
	ck_assert_int_gt((int)rec.sts_len, 8000);
	/* memory */
	ck_assert_int_eq(store_put(s, "m.example", 9, &rec), 0);
	ck_assert_int_eq(GET(s, "m.example", 100, &hit), STORE_FRESH);
	ck_assert_ptr_nonnull(hit.sts);
	ck_assert_uint_eq(hit.sts_len, rec.sts_len);
	ck_assert_int_eq(memcmp(hit.sts, text, rec.sts_len), 0);
	/* a reply kept with it comes back until the entry changes */
	ck_assert_ptr_null(hit.frame);
	ck_assert_int_eq(store_keep_frame(s, "m.example", 9, text, rec.sts_len,
	                     "7:OK x y,", 9),
	    0);
	ck_assert_int_eq(GET(s, "m.example", 100, &hit), STORE_FRESH);
	ck_assert_uint_eq(hit.frame_len, 9);
	ck_assert_int_eq(memcmp(hit.frame, "7:OK x y,", 9), 0);
	store_drop_frames(s);
	ck_assert_int_eq(GET(s, "m.example", 100, &hit), STORE_FRESH);
	ck_assert_ptr_null(hit.frame);
	ck_assert_int_eq(store_keep_frame(s, "m.example", 9, text, rec.sts_len,
	                     "", 0),
	    0);
	ck_assert_int_eq(GET(s, "m.example", 100, &hit), STORE_FRESH);
	ck_assert_ptr_nonnull(hit.frame);
	ck_assert_uint_eq(hit.frame_len, 0);
	ck_assert_int_eq(store_put(s, "m.example", 9, &rec), 0);
	ck_assert_int_eq(GET(s, "m.example", 100, &hit), STORE_FRESH);
	ck_assert_ptr_null(hit.frame);
	/* not for another policy than the entry's */
	ck_assert_int_eq(store_keep_frame(s, "m.example", 9, "5 x none 0", 10,
	                     "x", 1),
	    -1);
	/* only an entry with a policy keeps one */
	ck_assert_int_eq(PUT(s, "p.example", POLICY_REPLY_DANE, 500), 0);
	ck_assert_int_eq(store_keep_frame(s, "p.example", 9, text, rec.sts_len,
	                     "x", 1),
	    -1);
	ck_assert_int_eq(store_keep_frame(s, "q.example", 9, text, rec.sts_len,
	                     "x", 1),
	    -1);
	/* replaced by an answer without a policy */
	ck_assert_int_eq(PUT(s, "m.example", POLICY_REPLY_NOTFOUND, 500), 0);
	ck_assert_int_eq(GET(s, "m.example", 100, &hit), STORE_FRESH);
	ck_assert_ptr_null(hit.sts);
	/* the file: a version 2 record beside version 1 ones */
	ck_assert_int_gt(len = record_encode(&rec, val, sizeof(val)), 8000);
	ck_assert_int_eq(val[0], '2');
	w = cdbwrite_open(path, err, sizeof(err));
	ck_assert_msg(w != NULL, "%s", err);
	for (size_t i = 0; i < 3; i++) {
		struct record plain = { POLICY_REPLY_DANE, 5000, CDB_STORED,
			NULL, 0 };
		char v[RECORD_MAX + 1];
		int n = record_encode(&plain, v, sizeof(v));

		ck_assert_int_eq(v[0], '1');
		ck_assert_int_eq(cdbwrite_add(w, keys[i], strlen(keys[i]),
		                     i == 1 ? val : v,
		                     i == 1 ? (size_t)len : (size_t)n, err,
		                     sizeof(err)),
		    0);
	}
	ck_assert_msg(cdbwrite_commit(w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_FRESH);
	ck_assert_ptr_null(hit.sts);
	ck_assert_int_eq(GET(s, "b.example", 6000, &hit), STORE_STALE);
	ck_assert_ptr_nonnull(hit.sts);
	ck_assert_uint_eq(hit.sts_len, rec.sts_len);
	ck_assert_int_eq(memcmp(hit.sts, text, rec.sts_len), 0);
	/* fresh: copied into memory with its policy */
	ck_assert_int_eq(GET(s, "b.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(GET(s, "b.example", 101, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_CDB);
	ck_assert_uint_eq(hit.sts_len, rec.sts_len);
	ck_assert_int_eq(memcmp(hit.sts, text, rec.sts_len), 0);
	ck_assert_ptr_null(store_cdb_warning(s));
	store_free(s);
}
END_TEST

START_TEST(cdb_most_recent_lookup_wins)
{
	struct store *s = store_new(10);
	static const char *const one[] = { "a.example" };
	struct store_hit hit;

	PUT_AT(s, "a.example", POLICY_REPLY_DANE_ONLY, 5000, 100);
	write_cdb_at(one, 1, POLICY_REPLY_DANE, 4000, 200, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 300, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_CDB);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE);
	PUT_AT(s, "a.example", POLICY_REPLY_NOTFOUND, 5000, 300);
	ck_assert_int_eq(GET(s, "a.example", 301, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_MEMORY);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_NOTFOUND);
	/* same lookup time: memory, the daemon's own answer */
	PUT_AT(s, "a.example", POLICY_REPLY_DANE_ONLY, 5000, 200);
	ck_assert_int_eq(GET(s, "a.example", 301, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_MEMORY);
	/* a fresh memory answer beats a stale CDB one, however recent */
	write_cdb_at(one, 1, POLICY_REPLY_DANE, 250, 250, NULL);
	ck_assert_int_eq(CHECK(s, 400, 1), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 400, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_MEMORY);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE_ONLY);
	store_free(s);
}
END_TEST

/* A flushed key's memory entry goes and its file records from lookups
 * made until the flush are ignored, even as stale answers, until a record
 * from a later lookup (a warm run since) or a new put; other keys keep
 * theirs. */
START_TEST(flush_one_key)
{
	struct store *s = store_new(10);
	static const char *const two[] = { "a.example", "b.example" };
	struct store_hit hit;
	struct store_cdb_info info;

	write_cdb_at(two, 2, POLICY_REPLY_DANE_ONLY, 5000, 200, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 300, &hit), STORE_FRESH);
	ck_assert_int_eq(GET(s, "b.example", 300, &hit), STORE_FRESH);
	ck_assert_uint_eq(store_count(s), 2); /* copied into memory */
	ck_assert(!store_flush(s, "a.example", 9, 300));
	ck_assert_uint_eq(store_count(s), 1);
	ck_assert_uint_eq(store_flushed_count(s), 1);
	ck_assert_int_eq(GET(s, "a.example", 300, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "a.example", 6000, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "b.example", 300, &hit), STORE_FRESH);
	/* a live lookup after the flush is used */
	PUT_AT(s, "a.example", POLICY_REPLY_NOTFOUND, 5000, 301);
	ck_assert_int_eq(GET(s, "a.example", 302, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_NOTFOUND);
	/* flushed again; a new file with a record from the same second as
	 * the flush is still not trusted, a later one is and ends it */
	ck_assert(!store_flush(s, "a.example", 9, 400));
	ck_assert_uint_eq(store_flushed_count(s), 1);
	write_cdb_at(two, 2, POLICY_REPLY_DANE, 5000, 400, NULL);
	ck_assert_int_eq(CHECK(s, 401, 1), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 401, &hit), STORE_MISS);
	write_cdb_at(two, 2, POLICY_REPLY_DANE, 5000, 401, NULL);
	ck_assert_int_eq(CHECK(s, 402, 1), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 402, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE);
	ck_assert_uint_eq(store_flushed_count(s), 0);
	store_cdb_info(s, 402, &info);
	ck_assert(info.open);
	ck_assert_uint_eq(info.records, 2);
	ck_assert_uint_eq(info.files_opened, 3);
	store_free(s);
}
END_TEST

/* Flushing every key empties memory and ignores every older record; more
 * keys than the store remembers one by one become a flush of all. */
START_TEST(flush_all_and_too_many)
{
	struct store *s = store_new(10);
	struct store_hit hit;
	char key[32];

	write_cdb_at(keys, 3, POLICY_REPLY_DANE_ONLY, 5000, 200, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	PUT_AT(s, "m.example", POLICY_REPLY_DANE, 5000, 250);
	ck_assert_int_eq(GET(s, "c.example", 300, &hit), STORE_FRESH);
	store_flush_all(s, 300);
	ck_assert_uint_eq(store_count(s), 0);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(GET(s, keys[i], 300, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "m.example", 300, &hit), STORE_MISS);

	for (unsigned i = 0; i < STORE_FLUSH_MAX; i++) {
		snprintf(key, sizeof(key), "k%u.example", i);
		ck_assert(!store_flush(s, key, strlen(key), 500));
	}
	ck_assert_uint_eq(store_flushed_count(s), STORE_FLUSH_MAX);
	PUT_AT(s, "m.example", POLICY_REPLY_DANE, 5000, 499);
	ck_assert(store_flush(s, "one.more.example", 16, 500));
	ck_assert_uint_eq(store_flushed_count(s), 0);
	ck_assert_uint_eq(store_count(s), 0);
	store_free(s);
}
END_TEST

START_TEST(cdb_replaced_file_is_noticed)
{
	struct store *s = store_new(0);
	static const char *const newkeys[] = { "new.example" };
	struct store_hit hit;

	ck_assert_int_eq(USE(s), STORE_CDB_SAME); /* none yet */
	ck_assert_int_eq(CHECK(s, 100, 0), STORE_CDB_SAME);
	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	/* checked less than a second ago: not yet */
	ck_assert_int_eq(CHECK(s, 100, 0), STORE_CDB_SAME);
	ck_assert_int_eq(CHECK(s, 101, 0), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(CHECK(s, 102, 0), STORE_CDB_SAME); /* unchanged */
	write_cdb(newkeys, 1, POLICY_REPLY_NOTFOUND, 5000, NULL);
	ck_assert_int_eq(CHECK(s, 102, 1), STORE_CDB_OPENED); /* forced */
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "new.example", 100, &hit), STORE_FRESH);
	store_free(s);
}
END_TEST

START_TEST(cdb_broken_files_are_ignored)
{
	struct store *s = store_new(0);
	struct store_hit hit;
	char junk[8192], tmp[160];
	int fd;

	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);

	/* zero-length, truncated, random bytes, a directory: each is
	 * refused and the previous mapping keeps answering */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	write_bytes(tmp, "", 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	ck_assert_int_eq(CHECK(s, 200, 1), STORE_CDB_BAD);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_FRESH);
	/* the same broken file is not reported twice */
	ck_assert_int_eq(CHECK(s, 300, 1), STORE_CDB_SAME);

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	write_bytes(tmp, junk, sizeof(junk));
	ck_assert_int_eq(rename(tmp, path), 0);
	ck_assert_int_eq(CHECK(s, 400, 1), STORE_CDB_BAD);
	ck_assert_int_eq(GET(s, "b.example", 100, &hit), STORE_FRESH);
	store_free(s);

	/* truncated: a good file cut in half */
	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 2048 + 10), 0);
	close(fd);
	s = store_new(0);
	ck_assert_int_eq(USE(s), STORE_CDB_BAD);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	store_free(s);
}
END_TEST

/* Random bytes must never be taken for a CDB. Walking the records alone
 * accepted about one 8 KiB random file in five; the structural check must
 * refuse them all. Deterministic xorshift, so a failure reproduces. */
START_TEST(cdb_random_files_are_refused)
{
	static unsigned char junk[8192];
	uint32_t x = 2463534242u;
	struct store *s;

	for (int round = 0; round < 300; round++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			junk[i] = (unsigned char)x;
		}
		write_bytes(path, junk, sizeof(junk));
		s = store_new(0);
		ck_assert_msg(USE(s) == STORE_CDB_BAD,
		    "random file %d accepted as a CDB", round);
		store_free(s);
	}
}
END_TEST

/* Hash tables are checked too: a slot that points into the middle of a
 * record, or a second slot for the same record, makes the file unusable. */
START_TEST(cdb_bad_hash_table_is_refused)
{
	for (int variant = 0; variant < 2; variant++) {
		unsigned char buf[8192];
		struct store *s = store_new(0);
		uint32_t tpos, slots, used[2] = { 0, 0 }, nused = 0;
		ssize_t len;
		int fd;

		write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
		fd = open(path, O_RDWR);
		ck_assert_int_ge(fd, 0);
		len = read(fd, buf, sizeof(buf));
		ck_assert_int_gt(len, 2048);
		/* find the used slots (position of their record pointer) */
		for (int t = 0; t < 256 && nused < 2; t++) {
			memcpy(&tpos, buf + t * 8, 4);
			memcpy(&slots, buf + t * 8 + 4, 4);
			for (uint32_t i = 0; i < slots && nused < 2; i++) {
				uint32_t rpos;

				memcpy(&rpos, buf + tpos + i * 8 + 4, 4);
				if (rpos != 0)
					used[nused++] = tpos + i * 8 + 4;
			}
		}
		ck_assert_uint_eq(nused, 2);
		if (variant == 0) {
			uint32_t rpos;

			memcpy(&rpos, buf + used[0], 4);
			rpos += 1; /* into the record */
			memcpy(buf + used[0], &rpos, 4);
		} else {
			/* the second slot points at the first slot's record;
			 * the hash then differs too, so also copy the hash */
			memcpy(buf + used[1] - 4, buf + used[0] - 4, 8);
		}
		ck_assert_int_eq(pwrite(fd, buf, (size_t)len, 0), len);
		close(fd);
		ck_assert_int_eq(USE(s), STORE_CDB_BAD);
		store_free(s);
	}
}
END_TEST

START_TEST(cdb_unknown_record_version_is_not_trusted)
{
	struct store *s = store_new(0);
	struct store_hit hit;

	write_cdb(keys, 3, POLICY_REPLY_DANE, 0, "3 dane-only 99999999999 1");
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	store_free(s);
	write_cdb(keys, 3, POLICY_REPLY_DANE, 0, "garbage");
	s = store_new(0);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_int_eq(GET(s, "c.example", 100, &hit), STORE_MISS);
	store_free(s);
}
END_TEST

/* Bad records are reported to the caller once a file, never logged here. */
START_TEST(cdb_bad_records_reported_once)
{
	struct store *s = store_new(0);
	struct store_hit hit;
	const char *w;

	write_cdb(keys, 3, POLICY_REPLY_DANE, 0, "3 dane-only 99999999999 1");
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_ptr_null(store_cdb_warning(s));
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	w = store_cdb_warning(s);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(strstr(w, "unknown version"));
	ck_assert_ptr_nonnull(strstr(w, path));
	ck_assert_int_eq(GET(s, "b.example", 100, &hit), STORE_MISS);
	ck_assert_ptr_null(store_cdb_warning(s));
	store_free(s);
}
END_TEST

/* Wait until the background check's descriptor is readable. */
static void
wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	ck_assert_int_eq(poll(&p, 1, 10000), 1);
}

/* With background checks a new file is checked on a thread: the open
 * file answers until the check is over, a sound file then replaces it,
 * and an unusable one leaves it in place. */
START_TEST(cdb_background_check)
{
	static const char *const newkeys[] = { "new.example" };
	struct store *s = store_new(0);
	struct store_hit hit;
	char tmp[160];
	int fd;

	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED); /* at start: here */
	fd = store_cdb_background(s);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(store_cdb_background(s), fd);

	write_cdb(newkeys, 1, POLICY_REPLY_NOTFOUND, 5000, NULL);
	ck_assert_int_eq(CHECK(s, 200, 1), STORE_CDB_CHECKING);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_FRESH);
	wait_readable(fd);
	ck_assert_int_eq(CHECK(s, 200, 0), STORE_CDB_OPENED);
	ck_assert_ptr_nonnull(strstr(msg, "1 records"));
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "new.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(CHECK(s, 300, 1), STORE_CDB_SAME);

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	write_bytes(tmp, "junk", 4);
	ck_assert_int_eq(rename(tmp, path), 0);
	ck_assert_int_eq(CHECK(s, 400, 1), STORE_CDB_CHECKING);
	wait_readable(fd);
	ck_assert_int_eq(CHECK(s, 400, 0), STORE_CDB_BAD);
	ck_assert_ptr_nonnull(strstr(msg, "still using the previous one"));
	ck_assert_int_eq(GET(s, "new.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(CHECK(s, 500, 1), STORE_CDB_SAME); /* reported */

	/* freed while a check runs: the check stops, nothing leaks */
	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	ck_assert_int_eq(CHECK(s, 600, 1), STORE_CDB_CHECKING);
	store_free(s);
}
END_TEST

/* A reload naming another path while a check of the old one runs: the
 * old check's result is dropped and the new path is checked next. */
START_TEST(cdb_background_path_change)
{
	static const char *const newkeys[] = { "new.example" };
	struct store *s = store_new(0);
	struct store_hit hit;
	char other[sizeof(path)];
	int fd, rc;

	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	fd = store_cdb_background(s);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(USE(s), STORE_CDB_CHECKING);
	snprintf(other, sizeof(other), "%s", path);
	snprintf(path, sizeof(path), "%s/other.cdb", dir);
	write_cdb(newkeys, 1, POLICY_REPLY_NOTFOUND, 5000, NULL);
	/* the old check may still run (then its result is dropped) */
	rc = USE(s);
	for (int i = 0; i < 4 && rc != STORE_CDB_OPENED; i++) {
		ck_assert_int_ne(rc, STORE_CDB_BAD);
		if (rc == STORE_CDB_CHECKING)
			wait_readable(fd);
		rc = CHECK(s, 100, 0);
	}
	ck_assert_int_eq(rc, STORE_CDB_OPENED);
	ck_assert_ptr_nonnull(strstr(msg, "other.cdb"));
	ck_assert_int_eq(GET(s, "new.example", 100, &hit), STORE_FRESH);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	store_free(s);
	snprintf(path, sizeof(path), "%s", other);
}
END_TEST

static int
count_ok(const char *key, size_t key_len, enum record_status status,
    const struct record *rec, void *arg)
{
	int *n = arg;

	(void)key;
	(void)key_len;
	(void)rec;
	if (status == RECORD_OK)
		(*n)++;
	return 0;
}

/* A CDB answer is copied into memory: asked again it costs no file read
 * (it is still labelled as the CDB's), and it stays right when a newer
 * file replaces the one it came from. Many keys, so a lookup that got the
 * slot walk wrong would show. */
START_TEST(cdb_answers_are_kept_in_memory)
{
	enum { N = 3000 };
	static char names[N][32];
	static const char *many[N];
	struct store *s = store_new(2 * N);
	struct store_hit hit;

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "k%zu.example", i);
		many[i] = names[i];
	}
	write_cdb_at(many, N, POLICY_REPLY_DANE_ONLY, 5000, 100, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(GET(s, many[i], 200, &hit), STORE_FRESH);
		ck_assert_int_eq(hit.source, STORE_SOURCE_CDB);
	}
	ck_assert_int_eq(GET(s, "absent.example", 200, &hit), STORE_MISS);
	ck_assert_uint_eq(store_count(s), N);
	/* served from memory now: a file cut short in place (which warm
	 * never does) no longer matters for them, and costs nothing */
	ck_assert_int_eq(truncate(path, 2048), 0);
	ck_assert_int_eq(GET(s, "k7.example", 200, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.source, STORE_SOURCE_CDB);
	/* a newer file with a newer lookup wins over the copies */
	write_cdb_at(many, N, POLICY_REPLY_DANE, 6000, 300, NULL);
	ck_assert_int_eq(CHECK(s, 400, 1), STORE_CDB_OPENED);
	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(GET(s, many[i], 400, &hit), STORE_FRESH);
		ck_assert_int_eq(hit.reply, POLICY_REPLY_DANE);
	}
	/* a live lookup after that file's lookups needs no comparison, and
	 * wins */
	PUT_AT(s, "k9.example", POLICY_REPLY_NOTFOUND, 6000, 350);
	ck_assert_int_eq(GET(s, "k9.example", 400, &hit), STORE_FRESH);
	ck_assert_int_eq(hit.reply, POLICY_REPLY_NOTFOUND);
	ck_assert_int_eq(hit.source, STORE_SOURCE_MEMORY);
	store_free(s);
}
END_TEST

/* A file changed in place under the daemon (truncated: nothing of ours
 * does that) reads as missing records, with a warning; never a crash,
 * which a mapping would give (SIGBUS). */
START_TEST(cdb_file_cut_short_in_place)
{
	struct store *s = store_new(10);
	struct store_hit hit;

	write_cdb(keys, 3, POLICY_REPLY_DANE_ONLY, 5000, NULL);
	ck_assert_int_eq(USE(s), STORE_CDB_OPENED);
	ck_assert_int_eq(truncate(path, 2048 + 10), 0);
	ck_assert_int_eq(GET(s, "a.example", 100, &hit), STORE_MISS);
	ck_assert_int_eq(GET(s, "b.example", 100, &hit), STORE_MISS);
	store_free(s);
}
END_TEST

START_TEST(cdb_scan_visits_every_record)
{
	char err[256];
	int n = 0;

	write_cdb(keys, 3, POLICY_REPLY_DANE, 5000, NULL);
	ck_assert_int_eq(cdbread_scan(path, count_ok, &n, err, sizeof(err)), 0);
	ck_assert_int_eq(n, 3);
	write_bytes(path, "short", 5);
	ck_assert_int_eq(cdbread_scan(path, count_ok, &n, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("memory");

	tcase_add_test(tc, fresh_then_stale);
	tcase_add_test(tc, temp_is_never_stored);
	tcase_add_test(tc, replace_updates_reply_and_expiry);
	tcase_add_test(tc, bounded_lru_eviction);
	tcase_add_test(tc, many_keys_stay_within_bound);
	tcase_add_test(tc, zero_capacity_keeps_nothing);
	tcase_add_test(tc, bad_keys_refused);
	tcase_add_test(tc, expiry_clamping);
	tcase_add_test(tc, stale_rule);
	suite_add_tcase(s, tc);
	tc = tcase_create("cdb");
	tcase_add_checked_fixture(tc, cdb_setup, cdb_teardown);
	tcase_add_test(tc, cdb_answers_behind_memory);
	tcase_add_test(tc, sts_policy_kept);
	tcase_add_test(tc, cdb_most_recent_lookup_wins);
	tcase_add_test(tc, flush_one_key);
	tcase_add_test(tc, flush_all_and_too_many);
	tcase_add_test(tc, cdb_replaced_file_is_noticed);
	tcase_add_test(tc, cdb_broken_files_are_ignored);
	tcase_add_test(tc, cdb_unknown_record_version_is_not_trusted);
	tcase_add_test(tc, cdb_random_files_are_refused);
	tcase_add_test(tc, cdb_bad_hash_table_is_refused);
	tcase_add_test(tc, cdb_scan_visits_every_record);
	tcase_add_test(tc, cdb_answers_are_kept_in_memory);
	tcase_add_test(tc, cdb_file_cut_short_in_place);
	tcase_add_test(tc, cdb_bad_records_reported_once);
	tcase_add_test(tc, cdb_background_check);
	tcase_add_test(tc, cdb_background_path_change);
	suite_add_tcase(s, tc);
	return s;
}
