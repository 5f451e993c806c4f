/*
 * store: bounded LRU map from normalised key to reply and expiry, in front
 * of a read-only CDB (see store.h). Chained hash table sized to a power of
 * two at least twice the bound, so chains stay short; the hash is seeded
 * per store, so a peer that can choose keys cannot aim them all at one
 * chain.
 *
 * A CDB is checked from end to end when opened (cdb_verify), which catches
 * truncated and random files before they are used. Lookups read it with
 * pread (its 2 KiB table of contents is kept in memory): a hit costs two
 * small reads, and the file never sits in the daemon's resident set.
 *
 * Memory comes first. An entry remembers the CDB generation it was last
 * compared with (or that it cannot lose to, being from a lookup made after
 * every record in the file): while it is fresh and the file has not
 * changed, the CDB is not read for it at all. A CDB answer that wins is
 * copied into memory, so a key asked often costs no read either.
 */
#include "store.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elapsed.h"
#include "log.h"

#define STORE_KEY_MAX 1024

struct store_entry {
	struct store_entry *chain;         /* next in the hash bucket */
	struct store_entry *newer, *older; /* LRU list */
	uint32_t hash;
	time_t expires;
	time_t stored;        /* when the lookup behind it was made */
	uint32_t checked_gen; /* CDB generation it beats; 0: not compared */
	uint8_t reply;
	bool from_cdb; /* a copy of a CDB record */
	uint16_t key_len;
	char key[];
};

/* What identifies one version of the file on disk. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct store {
	struct store_entry **buckets;
	size_t mask;
	size_t count, max;
	struct store_entry *newest, *oldest;
	uint32_t seed;
	/* the CDB behind the memory */
	char *cdb_path;
	int cdb_fd; /* -1 when none is open */
	unsigned char cdb_toc[2048];
	uint32_t cdb_gen;      /* changes with every file opened or closed */
	time_t cdb_max_stored; /* latest lookup time of any record in it */
	struct file_id cdb_id;
	size_t cdb_records;
	time_t cdb_checked;
	bool cdb_warned;          /* bad records in this file already logged */
	struct file_id failed_id; /* last unusable file, logged once */
	bool failed_valid;
};

static uint32_t
store_hash(const struct store *store, const char *key, size_t len)
{
	uint32_t h = 2166136261u ^ store->seed; /* FNV-1a, seeded */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
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
	store->max = max_entries;
	store->cdb_fd = -1;
	store->cdb_gen = 1;
	if (getrandom(&store->seed, sizeof(store->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(store->seed))
		store->seed = (uint32_t)(uintptr_t)store ^ (uint32_t)time(NULL);
	return store;
}

static void
lru_unlink(struct store *store, struct store_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		store->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		store->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(struct store *store, struct store_entry *e)
{
	e->older = store->newest;
	e->newer = NULL;
	if (store->newest != NULL)
		store->newest->newer = e;
	store->newest = e;
	if (store->oldest == NULL)
		store->oldest = e;
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
	lru_unlink(store, e);
	store->count--;
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
	lru_unlink(store, e);
	lru_push(store, e);
	hit->reply = (enum policy_reply)e->reply;
	hit->expires = e->expires;
	hit->stored = e->stored;
	hit->source = e->from_cdb ? STORE_SOURCE_CDB : STORE_SOURCE_MEMORY;
	*entry = e;
	return now < e->expires ? STORE_FRESH : STORE_STALE;
}

static void
cdb_warn_once(struct store *store, const char *what)
{
	if (store->cdb_warned)
		return;
	store->cdb_warned = true;
	log_msg(LOG_LEVEL_WARNING,
	    "cache file %s: %s; such records are ignored (logged once per "
	    "file)",
	    store->cdb_path, what);
}

/* Read the record at rpos into buf (8-byte header, key, value); 1 with
 * *val and *vlen set if its key is key[0..len), 0 if another key, -1 if
 * the file no longer reads as it did when checked. */
static int
cdb_read_record(const struct store *store, uint64_t rpos, const char *key,
    size_t len, unsigned char *buf, size_t size, const unsigned char **val,
    size_t *vlen)
{
	ssize_t got = pread(store->cdb_fd, buf, size, (off_t)rpos);
	uint64_t klen, dlen;

	if (got < 8)
		return -1;
	klen = cdb_unpack(buf);
	dlen = cdb_unpack(buf + 4);
	if (klen != len)
		return 0;
	if ((uint64_t)got < 8 + klen)
		return -1;
	if (memcmp(buf + 8, key, len) != 0)
		return 0;
	*val = NULL; /* longer than any record of ours: not one */
	*vlen = 0;
	if (dlen > RECORD_MAX)
		return 1;
	if ((uint64_t)got < 8 + klen + dlen)
		return -1;
	*val = buf + 8 + len;
	*vlen = (size_t)dlen;
	return 1;
}

/* Find key in the open CDB with pread, as tinycdb's cdb_find does through
 * the mapping: the key's table from the contents, then its slots from
 * (hash >> 8) mod size, wrapping, until an empty one. 1 with *val, *vlen
 * (pointing into buf), 0 if absent, -1 if the file reads wrong. */
static int
cdb_pread_find(const struct store *store, const char *key, size_t len,
    unsigned char *buf, size_t size, const unsigned char **val, size_t *vlen)
{
	uint32_t hash = cdb_hash(key, (unsigned)len);
	const unsigned char *toc = store->cdb_toc + (hash & 255) * 8;
	uint64_t tpos = cdb_unpack(toc), slots = cdb_unpack(toc + 4);
	uint64_t done = 0, at;
	unsigned char batch[16 * 8];

	if (slots == 0)
		return 0;
	at = (hash >> 8) % slots;
	while (done < slots) {
		uint64_t n = slots - at < 16 ? slots - at : 16;

		if (n > slots - done)
			n = slots - done;
		if (pread(store->cdb_fd, batch, (size_t)n * 8,
		        (off_t)(tpos + at * 8)) != (ssize_t)(n * 8))
			return -1;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t rpos = cdb_unpack(batch + i * 8 + 4);
			int r;

			if (rpos == 0)
				return 0;
			if (cdb_unpack(batch + i * 8) != hash)
				continue;
			r = cdb_read_record(store, rpos, key, len, buf, size,
			    val, vlen);
			if (r != 0)
				return r;
		}
		done += n;
		at = (at + n) % slots;
	}
	return 0;
}

static enum store_result
cdb_get_record(struct store *store, const char *key, size_t len, time_t now,
    struct store_hit *hit)
{
	unsigned char buf[8 + STORE_KEY_MAX + RECORD_MAX];
	const unsigned char *val = NULL;
	size_t vlen = 0;
	struct record rec;
	int found;

	if (store->cdb_fd < 0)
		return STORE_MISS;
	found = cdb_pread_find(store, key, len, buf, 8 + len + RECORD_MAX, &val,
	    &vlen);
	if (found < 0) {
		cdb_warn_once(store, "file changed or unreadable");
		return STORE_MISS;
	}
	if (found == 0)
		return STORE_MISS;
	switch (val == NULL ? RECORD_CORRUPT
	                    : record_decode((const char *)val, vlen, &rec)) {
	case RECORD_OK:
		break;
	case RECORD_UNKNOWN_VERSION:
		cdb_warn_once(store, "record of an unknown version");
		return STORE_MISS;
	case RECORD_CORRUPT:
	default:
		cdb_warn_once(store, "corrupt record");
		return STORE_MISS;
	}
	hit->reply = rec.reply;
	hit->expires = (time_t)rec.expires;
	hit->stored = (time_t)rec.stored;
	hit->source = STORE_SOURCE_CDB;
	return now < hit->expires ? STORE_FRESH : STORE_STALE;
}

static int memory_put(struct store *store, const char *key, size_t len,
    uint32_t hash, enum policy_reply reply, time_t expires, time_t stored,
    bool from_cdb);

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
	d = cdb_get_record(store, key, len, now, &disk);
	if (store_prefer_disk(m, &mem, d, &disk)) {
		if (d == STORE_FRESH)
			(void)memory_put(store, key, len, hash, disk.reply,
			    disk.expires, disk.stored, true);
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
    enum policy_reply reply, time_t expires, time_t stored, bool from_cdb)
{
	struct store_entry **link, *e;
	uint32_t gen =
	    from_cdb || store->cdb_fd < 0 || stored >= store->cdb_max_stored
	    ? store->cdb_gen
	    : 0;

	if (store->max == 0)
		return 0;
	e = find(store, key, len, hash, &link);
	if (e != NULL) {
		e->reply = (uint8_t)reply;
		e->expires = expires;
		e->stored = stored;
		e->checked_gen = gen;
		e->from_cdb = from_cdb;
		lru_unlink(store, e);
		lru_push(store, e);
		return 0;
	}
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return -1;
	e->hash = hash;
	e->expires = expires;
	e->stored = stored;
	e->checked_gen = gen;
	e->reply = (uint8_t)reply;
	e->from_cdb = from_cdb;
	e->key_len = (uint16_t)len;
	memcpy(e->key, key, len);
	e->chain = *link;
	*link = e;
	lru_push(store, e);
	store->count++;
	while (store->count > store->max)
		remove_entry(store, store->oldest);
	return 0;
}

int
store_put(struct store *store, const char *key, size_t len,
    enum policy_reply reply, time_t expires, time_t stored)
{
	if (reply == POLICY_REPLY_TEMP || len == 0 || len > STORE_KEY_MAX)
		return -1;
	return memory_put(store, key, len, store_hash(store, key, len), reply,
	    expires, stored, false);
}

size_t
store_count(const struct store *store)
{
	return store->count;
}

static void
cdb_close(struct store *store)
{
	if (store->cdb_fd < 0)
		return;
	close(store->cdb_fd);
	store->cdb_fd = -1;
	store->cdb_records = 0;
	store->cdb_max_stored = 0;
	store->cdb_gen++;
}

void
store_free(struct store *store)
{
	if (store == NULL)
		return;
	cdb_close(store);
	free(store->cdb_path);
	while (store->oldest != NULL) {
		struct store_entry *e = store->oldest;

		lru_unlink(store, e);
		free(e);
	}
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

static void
file_id_of(const struct stat *st, struct file_id *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

static bool
file_id_same(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* A buffered reader over the file for cdb_verify: pread in 64 KiB
 * windows, so checking a file never maps all of it into our RSS. */
struct verify_reader {
	int fd;
	uint64_t off; /* file offset of buf[0] */
	size_t len;
	unsigned char buf[65536];
};

/* Point *p at n (<= sizeof buf) bytes at file offset pos; -1 on a short
 * read (the file shrank under us, or an I/O error). */
static int
verify_get(struct verify_reader *r, uint64_t pos, size_t n,
    const unsigned char **p)
{
	if (pos < r->off || pos + n > r->off + r->len) {
		ssize_t got = pread(r->fd, r->buf, sizeof(r->buf), (off_t)pos);

		if (got < 0 || (size_t)got < n)
			return -1;
		r->off = pos;
		r->len = (size_t)got;
	}
	*p = r->buf + (pos - r->off);
	return 0;
}

/* Keys and values larger than danemap ever writes make the file not ours
 * (and keep every record within one reader window). */
#define VERIFY_KEY_MAX 2048
#define VERIFY_VAL_MAX 4096

struct verify_rec {
	uint32_t pos, hash;
};

/* The index of the record starting at pos in recs (sorted by pos, as the
 * walk found them), or n if no record starts there. */
static size_t
verify_find(const struct verify_rec *recs, size_t n, uint64_t pos)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (recs[mid].pos == pos)
			return mid;
		if (recs[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n;
}

/*
 * Check the whole structure of a CDB before trusting it: the records must
 * tile the data section exactly, every hash table must lie after them and
 * inside the file, every used slot must point at the start of a record
 * whose key hashes to that slot, and every record must be indexed exactly
 * once. Walking the records with cdb_seqnext alone is not enough: random
 * bytes pass that walk now and then (seen with 8 KiB of /dev/urandom).
 *
 * Reads the file with pread in bounded windows, so the check of a large
 * file does not leave it in the daemon's resident set; its own memory is 8
 * bytes a record, freed before it returns. header is the file's first
 * 2048 bytes (the table of contents). Returns 0 with the record count and
 * the latest lookup time of any valid record (0 if none), or -1.
 */
static int
cdb_verify(int fd, uint64_t fsize, const unsigned char *header, size_t *count,
    time_t *max_stored)
{
	uint64_t dend = cdb_unpack(header), pos = 2048;
	struct verify_reader *r = malloc(sizeof(*r));
	struct verify_rec *recs = NULL;
	unsigned char *seen = NULL;
	size_t n = 0, cap = 0, indexed = 0;
	const unsigned char *p;
	time_t latest = 0;
	int rc = -1;

	if (r == NULL)
		return -1;
	r->fd = fd;
	r->off = 0;
	r->len = 0;
	if (dend < 2048 || dend > fsize)
		goto out;
	while (pos < dend) {
		uint64_t klen, vlen;
		struct record rec;

		if (dend - pos < 8 || verify_get(r, pos, 8, &p) != 0)
			goto out;
		klen = cdb_unpack(p);
		vlen = cdb_unpack(p + 4);
		if (klen > VERIFY_KEY_MAX || vlen > VERIFY_VAL_MAX ||
		    klen + vlen > dend - pos - 8 ||
		    verify_get(r, pos + 8, (size_t)(klen + vlen), &p) != 0)
			goto out;
		if (record_decode((const char *)p + klen, (size_t)vlen, &rec) ==
		        RECORD_OK &&
		    rec.stored > latest)
			latest = (time_t)rec.stored;
		if (n == cap) {
			struct verify_rec *more;

			cap = cap ? cap * 2 : 4096;
			if ((more = realloc(recs, cap * sizeof(*recs))) == NULL)
				goto out;
			recs = more;
		}
		recs[n].pos = (uint32_t)pos;
		recs[n].hash = cdb_hash(p, (unsigned)klen);
		n++;
		pos += 8 + klen + vlen;
	}
	if ((seen = calloc(n / 8 + 1, 1)) == NULL)
		goto out;
	for (unsigned t = 0; t < 256; t++) {
		uint64_t tpos = cdb_unpack(header + t * 8);
		uint64_t slots = cdb_unpack(header + t * 8 + 4);

		if (slots == 0)
			continue;
		if (tpos < dend || slots > (fsize - tpos) / 8)
			goto out;
		for (uint64_t i = 0; i < slots; i++) {
			uint64_t hash, rpos;
			size_t k;

			if (verify_get(r, tpos + i * 8, 8, &p) != 0)
				goto out;
			hash = cdb_unpack(p);
			rpos = cdb_unpack(p + 4);
			if (rpos == 0)
				continue;
			k = verify_find(recs, n, rpos);
			if (k == n || recs[k].hash != hash ||
			    (hash & 255) != t ||
			    (seen[k / 8] & (1u << (k % 8))) != 0)
				goto out;
			seen[k / 8] |= (unsigned char)(1u << (k % 8));
			indexed++;
		}
	}
	if (indexed == n) {
		*count = n;
		*max_stored = latest;
		rc = 0;
	}
out:
	free(seen);
	free(recs);
	free(r);
	return rc;
}

/* Open path as a CDB, checked from end to end; toc gets its first 2048
 * bytes. Returns the fd, or -1 with a reason in why. */
static int
cdb_open_checked(const char *path, unsigned char *toc, struct file_id *id,
    size_t *records, time_t *max_stored, const char **why)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto err;
	}
	file_id_of(&st, id);
	if (st.st_size < 2048 || pread(fd, toc, 2048, 0) != 2048) {
		*why = "too short to be a CDB file";
		goto err;
	}
	if (cdb_verify(fd, (uint64_t)st.st_size, toc, records, max_stored) !=
	    0) {
		*why = "truncated or corrupt CDB file";
		goto err;
	}
	return fd;
err:
	close(fd);
	/* Not the errno some call above left: callers tell "no file"
	 * (ENOENT) from "a file that is no CDB" by it. */
	errno = EINVAL;
	return -1;
}

static int
cdb_reopen(struct store *store)
{
	unsigned char toc[2048];
	struct file_id id;
	size_t records;
	time_t max_stored;
	const char *why = "unknown error";
	struct timespec t0;
	int fd;

	elapsed_start(&t0);
	fd = cdb_open_checked(store->cdb_path, toc, &id, &records, &max_stored,
	    &why);
	if (fd < 0) {
		struct stat st;

		/* Log a given broken file once, not every second. */
		if (stat(store->cdb_path, &st) == 0) {
			struct file_id bad;

			file_id_of(&st, &bad);
			if (store->failed_valid &&
			    file_id_same(&bad, &store->failed_id))
				return -1;
			store->failed_id = bad;
			store->failed_valid = true;
		}
		log_msg(LOG_LEVEL_WARNING, "cache file %s: %s: ignored%s",
		    store->cdb_path, why,
		    store->cdb_fd >= 0 ? ", still using the previous one" : "");
		return -1;
	}
	cdb_close(store);
	memcpy(store->cdb_toc, toc, sizeof(toc));
	store->cdb_max_stored = max_stored;
	store->cdb_gen++;
	store->cdb_fd = fd;
	store->cdb_id = id;
	store->cdb_records = records;
	store->cdb_warned = false;
	store->failed_valid = false;
	log_msg(LOG_LEVEL_NOTICE,
	    "cache file %s: %zu records (checked in %.0f ms)", store->cdb_path,
	    records, elapsed_ms(&t0));
	return 1;
}

int
store_cdb_use(struct store *store, const char *path)
{
	char *copy;

	/* Never trade a verified file for a worse one: the open file stays
	 * in use until a sound file replaces it, and the same path with
	 * the same file is not read again. */
	if (store->cdb_path != NULL && strcmp(store->cdb_path, path) == 0)
		return store_cdb_check(store, time(NULL), 1) < 0 ||
		        store->cdb_fd < 0
		    ? -1
		    : 0;
	if ((copy = strdup(path)) == NULL)
		return -1;
	free(store->cdb_path);
	store->cdb_path = copy;
	store->failed_valid = false;
	store->cdb_checked = 0;
	if (access(path, F_OK) != 0)
		return -1; /* none yet: the warmer has not run */
	return cdb_reopen(store) == 1 ? 0 : -1;
}

int
store_cdb_check(struct store *store, time_t now, int force)
{
	struct stat st;
	struct file_id id;

	if (store->cdb_path == NULL)
		return 0;
	if (!force && store->cdb_checked != 0 && now - store->cdb_checked < 1)
		return 0;
	store->cdb_checked = now;
	if (stat(store->cdb_path, &st) != 0)
		return 0; /* gone: keep what is mapped until a new one comes */
	file_id_of(&st, &id);
	if (store->cdb_fd >= 0 && file_id_same(&id, &store->cdb_id))
		return 0;
	if (store->failed_valid && file_id_same(&id, &store->failed_id))
		return 0;
	return cdb_reopen(store);
}

size_t
store_cdb_records(const struct store *store)
{
	return store->cdb_records;
}

int
store_cdb_scan(const char *path,
    int (*fn)(const char *key, size_t key_len, enum record_status status,
        const struct record *rec, void *arg),
    void *arg, char *err, size_t err_size)
{
	struct cdb cdb;
	unsigned char toc[2048];
	struct file_id id;
	size_t records;
	time_t max_stored;
	const char *why = "unknown error";
	unsigned pos;
	int fd = cdb_open_checked(path, toc, &id, &records, &max_stored, &why),
	    r;

	if (fd < 0) {
		int e = errno;

		snprintf(err, err_size, "%s: %s", path, why);
		errno = e;
		return -1;
	}
	if (cdb_init(&cdb, fd) != 0) { /* checked: only out of memory */
		close(fd);
		snprintf(err, err_size, "%s: cannot map the file", path);
		errno = ENOMEM;
		return -1;
	}
	cdb_seqinit(&pos, &cdb);
	while ((r = cdb_seqnext(&pos, &cdb)) > 0) {
		const char *key = cdb_getkey(&cdb);
		const char *val = cdb_getdata(&cdb);
		struct record rec;
		enum record_status st;

		if (key == NULL || val == NULL) {
			r = -1;
			break;
		}
		st = record_decode(val, cdb_datalen(&cdb), &rec);
		if (fn(key, cdb_keylen(&cdb), st, &rec, arg) != 0)
			break;
	}
	cdb_free(&cdb);
	close(fd);
	if (r < 0) {
		snprintf(err, err_size, "%s: truncated or corrupt CDB file",
		    path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}
