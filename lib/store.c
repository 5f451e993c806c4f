/*
 * store: bounded LRU map from normalised key to reply and expiry, in front
 * of a read-only CDB (see store.h). Chained hash table sized to a power of
 * two at least twice the bound, so chains stay short; the hash is seeded
 * per store, so a peer that can choose keys cannot aim them all at one
 * chain.
 *
 * The CDB is read through cdbread, which checks a file from end to end
 * before it is used: a hit costs two small preads. With
 * store_cdb_background a replaced file is checked on a thread of
 * cdbread's while the old one keeps answering.
 *
 * Memory comes first. An entry remembers the CDB generation it was last
 * compared with (or that it cannot lose to, being from a lookup made after
 * every record in the file): while it is fresh and the file has not
 * changed, the CDB is not read for it at all. A CDB answer that wins is
 * copied into memory, so a key asked often costs no read either.
 */
#include "store.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "cdbread.h"
#include "keyhash.h"

#define STORE_KEY_MAX CDBREAD_KEY_MAX

struct store_entry {
	struct store_entry *chain;    /* next in the hash bucket */
	TAILQ_ENTRY(store_entry) lru; /* most recent first */
	uint32_t hash;
	time_t expires;
	time_t stored;        /* when the lookup behind it was made */
	uint32_t checked_gen; /* CDB generation it beats; 0: not compared */
	char *sts;            /* the MTA-STS policy's text, or NULL */
	char *frame;          /* the caller's reply for it, or NULL */
	uint32_t frame_len;
	uint16_t sts_len;
	uint8_t reply;
	bool from_cdb; /* a copy of a CDB record */
	uint16_t key_len;
	char key[];
};

/* A key flushed by the administrator (store_flush). */
struct store_flushed {
	struct store_flushed *chain;
	uint32_t hash;
	time_t at; /* CDB records from lookups made until then are ignored */
	uint16_t key_len;
	char key[];
};

#define FLUSHED_BUCKETS 1024

struct store {
	struct store_entry **buckets;
	size_t mask;
	size_t count, max;
	TAILQ_HEAD(store_lru, store_entry) lru;
	uint32_t seed;
	/* the CDB behind the memory */
	char *cdb_path;
	struct cdbread cdb;       /* fd -1 when none is open */
	uint32_t cdb_gen;         /* changes with every file opened or closed */
	unsigned long cdb_opened; /* files taken into use */
	time_t cdb_checked;
	bool cdb_warned;      /* bad records in this file reported */
	bool warning_pending; /* warning not yet taken */
	char warning[1200];
	struct cdbread_id failed_id; /* last unusable file, reported once */
	bool failed_valid;
	struct cdbread_id checking_id; /* the file being checked */
	/* checks on a thread: the one running, and its notification pipe */
	struct cdbread_check *check;
	int pipe[2];
	struct cdbread_closing *closing; /* the file replaced last */
	/* flushed keys (buckets allocated at the first flush), and the time
	 * of the last flush of every key (0: none) */
	struct store_flushed **flushed;
	size_t flushed_count;
	time_t flushed_all_at;
	/* where a CDB record is read: a hit's sts may point into it */
	unsigned char find_buf[CDBREAD_FIND_BUF];
};

static uint32_t
store_hash(const struct store *store, const char *key, size_t len)
{
	return keyhash(store->seed, key, len);
}

struct store *
store_new(size_t max_entries)
{
	struct store *store = calloc(1, sizeof(*store));
	size_t size = 16;

	if (store == NULL)
		return NULL;
	while (size < max_entries * 2 && size < ((size_t)1 << 30))
		size <<= 1;
	store->buckets = calloc(size, sizeof(*store->buckets));
	if (store->buckets == NULL) {
		free(store);
		return NULL;
	}
	store->mask = size - 1;
	TAILQ_INIT(&store->lru);
	store->max = max_entries;
	store->cdb.fd = -1;
	store->cdb_gen = 1;
	store->pipe[0] = store->pipe[1] = -1;
	store->seed = keyhash_seed();
	return store;
}

/* A hit or a put makes an entry the most recent. */
static void
lru_touch(struct store *store, struct store_entry *e)
{
	TAILQ_REMOVE(&store->lru, e, lru);
	TAILQ_INSERT_HEAD(&store->lru, e, lru);
}

/* Find key; *link is set to the pointer that points at the entry. */
static struct store_entry *
find(struct store *store, const char *key, size_t len, uint32_t hash,
    struct store_entry ***link)
{
	struct store_entry **pp = &store->buckets[hash & store->mask];

	for (; *pp != NULL; pp = &(*pp)->chain) {
		struct store_entry *e = *pp;

		if (e->hash == hash && e->key_len == len &&
		    memcmp(e->key, key, len) == 0) {
			*link = pp;
			return e;
		}
	}
	*link = pp;
	return NULL;
}

static void
remove_entry(struct store *store, struct store_entry *e)
{
	struct store_entry **link;

	(void)find(store, e->key, e->key_len, e->hash, &link);
	*link = e->chain;
	TAILQ_REMOVE(&store->lru, e, lru);
	store->count--;
	free(e->sts);
	free(e->frame);
	free(e);
}

static enum store_result
memory_get(struct store *store, const char *key, size_t len, uint32_t hash,
    time_t now, struct store_hit *hit, struct store_entry **entry)
{
	struct store_entry **link, *e;

	*entry = NULL;
	if (store->max == 0)
		return STORE_MISS;
	e = find(store, key, len, hash, &link);
	if (e == NULL)
		return STORE_MISS;
	lru_touch(store, e);
	hit->reply = (enum policy_reply)e->reply;
	hit->expires = e->expires;
	hit->stored = e->stored;
	hit->source = e->from_cdb ? STORE_SOURCE_CDB : STORE_SOURCE_MEMORY;
	hit->sts = e->sts;
	hit->sts_len = e->sts_len;
	hit->frame = e->frame;
	hit->frame_len = e->frame_len;
	*entry = e;
	return now < e->expires ? STORE_FRESH : STORE_STALE;
}

/* Note a bad record of the open file, once per file (store_cdb_warning
 * hands the report to the caller). */
static void
cdb_warn_once(struct store *store, const char *what)
{
	if (store->cdb_warned)
		return;
	store->cdb_warned = true;
	snprintf(store->warning, sizeof(store->warning),
	    "cache file %s: %s; such records are ignored (reported once per "
	    "file)",
	    store->cdb_path, what);
	store->warning_pending = true;
}

static bool cdb_record_flushed(struct store *store, const char *key, size_t len,
    uint32_t hash, time_t stored);

static enum store_result
cdb_get_record(struct store *store, const char *key, size_t len, uint32_t hash,
    time_t now, struct store_hit *hit)
{
	struct record rec;

	switch (cdbread_find(&store->cdb, key, len, &rec, store->find_buf)) {
	case CDBREAD_FOUND:
		break;
	case CDBREAD_ABSENT:
		return STORE_MISS;
	case CDBREAD_UNKNOWN:
		cdb_warn_once(store, "record of an unknown version");
		return STORE_MISS;
	case CDBREAD_UNREADABLE:
		cdb_warn_once(store, "file changed or unreadable");
		return STORE_MISS;
	case CDBREAD_CORRUPT:
	default:
		cdb_warn_once(store, "corrupt record");
		return STORE_MISS;
	}
	if ((store->flushed_count > 0 || store->flushed_all_at != 0) &&
	    cdb_record_flushed(store, key, len, hash, (time_t)rec.stored))
		return STORE_MISS;
	hit->reply = rec.reply;
	hit->expires = (time_t)rec.expires;
	hit->stored = (time_t)rec.stored;
	hit->source = STORE_SOURCE_CDB;
	hit->sts = rec.sts;
	hit->sts_len = rec.sts_len;
	hit->frame = NULL;
	hit->frame_len = 0;
	return now < hit->expires ? STORE_FRESH : STORE_STALE;
}

static int memory_put(struct store *store, const char *key, size_t len,
    uint32_t hash, const struct store_hit *hit, bool from_cdb);

/* Fresh beats stale; between two fresh answers the more recent lookup
 * wins, so a warm run that saw a changed zone takes effect at once; between
 * two stale ones the later expiry. Ties go to memory. */
static bool
store_prefer_disk(enum store_result m, const struct store_hit *mem,
    enum store_result d, const struct store_hit *disk)
{
	if (d == STORE_MISS)
		return false;
	if (m == STORE_MISS)
		return true;
	if (m != d)
		return d == STORE_FRESH;
	if (d == STORE_FRESH)
		return disk->stored > mem->stored;
	return disk->expires > mem->expires;
}

enum store_result
store_get(struct store *store, const char *key, size_t len, time_t now,
    struct store_hit *hit)
{
	struct store_hit mem, disk;
	struct store_entry *e;
	enum store_result m, d;
	uint32_t hash;

	if (len == 0 || len > STORE_KEY_MAX)
		return STORE_MISS;
	/* hashed once, for the lookup and for a copy of a CDB answer */
	hash = store_hash(store, key, len);
	m = memory_get(store, key, len, hash, now, &mem, &e);
	/* Fresh and already compared with this file: the file cannot win
	 * (the comparison does not change while the entry stays fresh). */
	if (m == STORE_FRESH && e->checked_gen == store->cdb_gen) {
		*hit = mem;
		return m;
	}
	d = cdb_get_record(store, key, len, hash, now, &disk);
	if (store_prefer_disk(m, &mem, d, &disk)) {
		if (d == STORE_FRESH)
			(void)memory_put(store, key, len, hash, &disk, true);
		*hit = disk;
		return d;
	}
	if (m == STORE_FRESH)
		e->checked_gen = store->cdb_gen;
	if (m != STORE_MISS)
		*hit = mem;
	return m;
}

/* Remember an answer; from_cdb: a copy of the open file's record. It
 * counts as compared with the open file if it is that file's record or
 * from a lookup no record in the file is more recent than. */
static int
memory_put(struct store *store, const char *key, size_t len, uint32_t hash,
    const struct store_hit *hit, bool from_cdb)
{
	struct store_entry **link, *e;
	uint32_t gen = from_cdb || store->cdb.fd < 0 ||
	        hit->stored >= store->cdb.max_stored
	    ? store->cdb_gen
	    : 0;
	char *sts = NULL;

	if (store->max == 0)
		return 0;
	if (hit->sts != NULL) {
		if ((sts = malloc(hit->sts_len + 1)) == NULL)
			return -1;
		memcpy(sts, hit->sts, hit->sts_len);
		sts[hit->sts_len] = '\0';
	}
	e = find(store, key, len, hash, &link);
	if (e != NULL) {
		free(e->sts);
		free(e->frame);
	} else {
		if ((e = malloc(sizeof(*e) + len)) == NULL) {
			free(sts);
			return -1;
		}
		e->hash = hash;
		e->key_len = (uint16_t)len;
		memcpy(e->key, key, len);
		e->chain = *link;
		*link = e;
		TAILQ_INSERT_HEAD(&store->lru, e, lru);
		store->count++;
	}
	e->expires = hit->expires;
	e->stored = hit->stored;
	e->checked_gen = gen;
	e->reply = (uint8_t)hit->reply;
	e->from_cdb = from_cdb;
	e->sts = sts;
	e->sts_len = (uint16_t)hit->sts_len;
	e->frame = NULL;
	e->frame_len = 0;
	lru_touch(store, e);
	while (store->count > store->max)
		remove_entry(store, TAILQ_LAST(&store->lru, store_lru));
	return 0;
}

int
store_put(struct store *store, const char *key, size_t len,
    const struct record *rec)
{
	struct store_hit hit = { .reply = rec->reply,
		.expires = (time_t)rec->expires,
		.stored = (time_t)rec->stored,
		.sts = rec->sts,
		.sts_len = rec->sts != NULL ? rec->sts_len : 0 };

	if (rec->reply == POLICY_REPLY_TEMP || len == 0 ||
	    len > STORE_KEY_MAX || hit.sts_len > STS_CACHED_TEXT_MAX)
		return -1;
	return memory_put(store, key, len, store_hash(store, key, len), &hit,
	    false);
}

int
store_keep_frame(struct store *store, const char *key, size_t len,
    const char *sts, size_t sts_len, const char *frame, size_t frame_len)
{
	struct store_entry **link, *e;
	char *copy;

	if (store->max == 0 || len == 0 || len > STORE_KEY_MAX ||
	    frame_len > UINT32_MAX)
		return -1;
	e = find(store, key, len, store_hash(store, key, len), &link);
	/* only for the policy it was made from (a file's record that could
	 * not be copied into memory may differ from the entry's) */
	if (e == NULL || e->sts == NULL || e->sts_len != sts_len ||
	    memcmp(e->sts, sts, sts_len) != 0 ||
	    (copy = malloc(frame_len > 0 ? frame_len : 1)) == NULL)
		return -1;
	if (frame_len > 0)
		memcpy(copy, frame, frame_len);
	free(e->frame);
	e->frame = copy;
	e->frame_len = (uint32_t)frame_len;
	return 0;
}

void
store_drop_frames(struct store *store)
{
	struct store_entry *e;

	TAILQ_FOREACH(e, &store->lru, lru) {
		free(e->frame);
		e->frame = NULL;
		e->frame_len = 0;
	}
}

/* ------------------------------------------------------------ flush */

static struct store_flushed **
flushed_link(struct store *store, const char *key, size_t len, uint32_t hash)
{
	struct store_flushed **pp =
	    &store->flushed[hash & (FLUSHED_BUCKETS - 1)];

	for (; *pp != NULL; pp = &(*pp)->chain)
		if ((*pp)->hash == hash && (*pp)->key_len == len &&
		    memcmp((*pp)->key, key, len) == 0)
			break;
	return pp;
}

/* Was a record from a lookup at `stored` made before key was last
 * flushed? A record from a later lookup (a warm run since) ends the
 * key's flush. */
static bool
cdb_record_flushed(struct store *store, const char *key, size_t len,
    uint32_t hash, time_t stored)
{
	struct store_flushed **link, *f;

	if (stored <= store->flushed_all_at)
		return true;
	if (store->flushed_count == 0)
		return false;
	if ((f = *(link = flushed_link(store, key, len, hash))) == NULL)
		return false;
	if (stored <= f->at)
		return true;
	*link = f->chain;
	free(f);
	store->flushed_count--;
	return false;
}

static void
flushed_clear(struct store *store)
{
	if (store->flushed == NULL)
		return;
	for (size_t i = 0; i < FLUSHED_BUCKETS; i++)
		while (store->flushed[i] != NULL) {
			struct store_flushed *f = store->flushed[i];

			store->flushed[i] = f->chain;
			free(f);
		}
	store->flushed_count = 0;
}

void
store_flush_all(struct store *store, time_t now)
{
	while (!TAILQ_EMPTY(&store->lru))
		remove_entry(store, TAILQ_FIRST(&store->lru));
	flushed_clear(store);
	store->flushed_all_at = now;
}

bool
store_flush(struct store *store, const char *key, size_t len, time_t now)
{
	uint32_t hash;
	struct store_entry **elink, *e;
	struct store_flushed **link, *f;

	if (len == 0 || len > STORE_KEY_MAX)
		return false; /* never stored, never read */
	hash = store_hash(store, key, len);
	if ((e = find(store, key, len, hash, &elink)) != NULL)
		remove_entry(store, e);
	if (store->flushed == NULL &&
	    (store->flushed =
	            calloc(FLUSHED_BUCKETS, sizeof(*store->flushed))) == NULL)
		goto all;
	if ((f = *(link = flushed_link(store, key, len, hash))) != NULL) {
		f->at = now;
		return false;
	}
	if (store->flushed_count >= STORE_FLUSH_MAX ||
	    (f = malloc(sizeof(*f) + len)) == NULL)
		goto all;
	f->hash = hash;
	f->at = now;
	f->key_len = (uint16_t)len;
	memcpy(f->key, key, len);
	f->chain = NULL;
	*link = f;
	store->flushed_count++;
	return false;
all:
	/* more than ignoring one key's records, never less */
	store_flush_all(store, now);
	return true;
}

size_t
store_flushed_count(const struct store *store)
{
	return store->flushed_count;
}

void
store_cdb_info(const struct store *store, time_t now,
    struct store_cdb_info *info)
{
	memset(info, 0, sizeof(*info));
	info->open = store->cdb.fd >= 0;
	info->files_opened = store->cdb_opened;
	if (!info->open)
		return;
	info->records = store->cdb.records;
	info->mtime = store->cdb.id.mtime.tv_sec;
	info->age = now > info->mtime ? now - info->mtime : 0;
}

size_t
store_count(const struct store *store)
{
	return store->count;
}

void
store_free(struct store *store)
{
	if (store == NULL)
		return;
	cdbread_check_cancel(store->check);
	cdbread_close_wait(store->closing);
	cdbread_close(&store->cdb);
	free(store->cdb_path);
	if (store->pipe[0] >= 0) {
		close(store->pipe[0]);
		close(store->pipe[1]);
	}
	while (!TAILQ_EMPTY(&store->lru)) {
		struct store_entry *e = TAILQ_FIRST(&store->lru);

		TAILQ_REMOVE(&store->lru, e, lru);
		free(e->sts);
		free(e->frame);
		free(e);
	}
	flushed_clear(store);
	free(store->flushed);
	free(store->buckets);
	free(store);
}

bool
store_stale_usable(time_t expires, bool transient, time_t now,
    unsigned stale_ttl)
{
	if (!transient)
		return false;
	if ((uint64_t)expires > (uint64_t)INT64_MAX - stale_ttl)
		return true;
	return now < expires + (time_t)stale_ttl;
}

time_t
store_expiry(time_t now, uint32_t ttl, unsigned min_ttl, unsigned max_ttl)
{
	uint64_t t = ttl;

	if (t < min_ttl)
		t = min_ttl;
	if (t > max_ttl)
		t = max_ttl;
	/* time_t is 64-bit here; saturate rather than wrap */
	if ((uint64_t)now > (uint64_t)INT64_MAX - t)
		return (time_t)INT64_MAX;
	return now + (time_t)t;
}

/* ------------------------------------------------------------ CDB */

/* A check of the file at cdb_path (identified as checking_id when it
 * began) is over: use the file if it is sound, else keep the one open. */
static int
cdb_take(struct store *store, int rc, struct cdbread *f, const char *why,
    char *msg, size_t msg_size)
{
	if (rc != 0) {
		store->failed_id = store->checking_id;
		store->failed_valid = true;
		snprintf(msg, msg_size, "cache file %s: %s: ignored%s",
		    store->cdb_path, why,
		    store->cdb.fd >= 0 ? ", still using the previous one" : "");
		return STORE_CDB_BAD;
	}
	if (store->pipe[0] >= 0) { /* background: away from the caller */
		cdbread_close_wait(store->closing);
		store->closing = cdbread_close_start(&store->cdb);
	} else
		cdbread_close(&store->cdb);
	store->cdb = *f;
	store->cdb_gen++;
	store->cdb_opened++;
	store->cdb_warned = false;
	store->failed_valid = false;
	snprintf(msg, msg_size,
	    "cache file %s: %zu records (checked in %.0f ms)", store->cdb_path,
	    f->records, f->check_ms);
	return STORE_CDB_OPENED;
}

/* The check on the thread is over: take its result, unless the path
 * changed meanwhile (then the next check looks at the new one). */
static int
cdb_take_check(struct store *store, char *msg, size_t msg_size)
{
	struct cdbread_check *c = store->check;
	bool same = strcmp(cdbread_check_path(c), store->cdb_path) == 0;
	struct cdbread f;
	char why[256];
	int rc;

	store->check = NULL;
	rc = cdbread_check_finish(c, &f, why, sizeof(why));
	if (!same) {
		if (rc == 0)
			cdbread_close(&f);
		store->cdb_checked = 0;
		return STORE_CDB_SAME;
	}
	return cdb_take(store, rc, &f, why, msg, msg_size);
}

int
store_cdb_background(struct store *store)
{
	if (store->pipe[0] < 0 &&
	    pipe2(store->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		store->pipe[0] = store->pipe[1] = -1;
		return -1;
	}
	return store->pipe[0];
}

int
store_cdb_use(struct store *store, const char *path, char *msg, size_t msg_size)
{
	char *copy;
	int rc;

	/* Never trade a verified file for a worse one: the open file stays
	 * in use until a sound file replaces it, and the same path with
	 * the same file is not read again. */
	if (store->cdb_path == NULL || strcmp(store->cdb_path, path) != 0) {
		if ((copy = strdup(path)) == NULL) {
			snprintf(msg, msg_size, "out of memory");
			return STORE_CDB_BAD;
		}
		free(store->cdb_path);
		store->cdb_path = copy;
		store->failed_valid = false;
	}
	rc = store_cdb_check(store, time(NULL), true, msg, msg_size);
	store->cdb_checked = 0; /* outside the once-a-second rhythm */
	return rc;
}

int
store_cdb_check(struct store *store, time_t now, bool force, char *msg,
    size_t msg_size)
{
	struct cdbread f;
	struct cdbread_id id;
	char why[256];
	int rc;

	msg[0] = '\0';
	if (store->check != NULL)
		return cdbread_check_done(store->check, store->pipe[0])
		    ? cdb_take_check(store, msg, msg_size)
		    : STORE_CDB_CHECKING;
	if (store->cdb_path == NULL)
		return STORE_CDB_SAME;
	if (!force && store->cdb_checked != 0 && now - store->cdb_checked < 1)
		return STORE_CDB_SAME;
	store->cdb_checked = now;
	if (cdbread_stat(store->cdb_path, &id) != 0)
		return STORE_CDB_SAME; /* none (yet): keep what is open */
	if (store->cdb.fd >= 0 && cdbread_id_same(&id, &store->cdb.id))
		return STORE_CDB_SAME;
	if (store->failed_valid && cdbread_id_same(&id, &store->failed_id))
		return STORE_CDB_SAME;
	store->checking_id = id;
	if (store->pipe[1] >= 0 &&
	    (store->check = cdbread_check_start(store->cdb_path,
	         store->pipe[1])) != NULL)
		return STORE_CDB_CHECKING;
	/* no background, or no thread to be had: check it here */
	rc = cdbread_open(store->cdb_path, &f, why, sizeof(why));
	return cdb_take(store, rc, &f, why, msg, msg_size);
}

size_t
store_cdb_records(const struct store *store)
{
	return store->cdb.records;
}

const char *
store_cdb_warning(struct store *store)
{
	if (!store->warning_pending)
		return NULL;
	store->warning_pending = false;
	return store->warning;
}
