/*
 * cdbread: checked, pread-based reading of a tinycdb file (see cdbread.h).
 *
 * The check (cdb_verify) walks the records in file order and then every
 * hash table slot; lookups follow tinycdb's own layout (doc/design.md
 * §6): the key's table from the 2 KiB table of contents, then its slots
 * from (hash >> 8) mod size, wrapping, until an empty one.
 */
#include "cdbread.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elapsed.h"

/* Keys and values larger than danemap ever writes make the file not ours
 * (and keep every record within one reader window). */
#define VERIFY_KEY_MAX 2048
#define VERIFY_VAL_MAX 16384

static void
id_of(const struct stat *st, struct cdbread_id *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

bool
cdbread_id_same(const struct cdbread_id *a, const struct cdbread_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int
cdbread_stat(const char *path, struct cdbread_id *id)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	id_of(&st, id);
	return 0;
}

/* ------------------------------------------------------------ the check */

/* A buffered reader over the file for cdb_verify: pread in 64 KiB
 * windows, so checking a file never maps all of it into our RSS. */
struct verify_reader {
	int fd;
	uint64_t off; /* file offset of buf[0] */
	size_t len;
	const atomic_bool *cancel; /* NULL, or set to give up early */
	unsigned char buf[65536];
};

/* Point *p at n (<= sizeof buf) bytes at file offset pos; -1 on a short
 * read (the file shrank under us, or an I/O error) or when cancelled. */
static int
verify_get(struct verify_reader *r, uint64_t pos, size_t n,
    const unsigned char **p)
{
	if (pos < r->off || pos + n > r->off + r->len) {
		ssize_t got;

		if (r->cancel != NULL && atomic_load(r->cancel))
			return -1;
		got = pread(r->fd, r->buf, sizeof(r->buf), (off_t)pos);
		if (got < 0 || (size_t)got < n)
			return -1;
		r->off = pos;
		r->len = (size_t)got;
	}
	*p = r->buf + (pos - r->off);
	return 0;
}

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
 * Its own memory is 8 bytes a record, freed before it returns. header is
 * the file's first 2048 bytes (the table of contents). Returns 0 with the
 * record count and the latest lookup time of any valid record (0 if
 * none), or -1.
 */
static int
cdb_verify(int fd, uint64_t fsize, const unsigned char *header,
    const atomic_bool *cancel, size_t *count, time_t *max_stored)
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
	r->cancel = cancel;
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

/* cdbread_open, with a flag that can stop the check early. */
static int
open_checked(const char *path, const atomic_bool *cancel, struct cdbread *f,
    char *err, size_t err_size)
{
	struct stat st;
	struct timespec t0;
	const char *why;
	int e = EINVAL;

	elapsed_start(&t0);
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (f->fd < 0) {
		e = errno;
		why = strerror(e);
		goto err;
	}
	if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto err;
	}
	id_of(&st, &f->id);
	if (st.st_size < 2048 || pread(f->fd, f->toc, 2048, 0) != 2048) {
		why = "too short to be a CDB file";
		goto err;
	}
	if (cdb_verify(f->fd, (uint64_t)st.st_size, f->toc, cancel,
	        &f->records, &f->max_stored) != 0) {
		why = cancel != NULL && atomic_load(cancel)
		    ? "check cancelled"
		    : "truncated or corrupt CDB file";
		goto err;
	}
	f->check_ms = elapsed_ms(&t0);
	return 0;
err:
	snprintf(err, err_size, "%s", why);
	cdbread_close(f);
	/* Not the errno some call above left: callers tell "no file"
	 * (ENOENT) from "a file that is no CDB" (EINVAL) by it. */
	errno = e;
	return -1;
}

int
cdbread_open(const char *path, struct cdbread *f, char *err, size_t err_size)
{
	return open_checked(path, NULL, f, err, err_size);
}

void
cdbread_close(struct cdbread *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->records = 0;
	f->max_stored = 0;
}

struct cdbread_closing {
	pthread_t thread;
	int fd;
};

static void *
closing_main(void *arg)
{
	struct cdbread_closing *c = arg;

	close(c->fd);
	return NULL;
}

struct cdbread_closing *
cdbread_close_start(struct cdbread *f)
{
	struct cdbread_closing *c;

	if (f->fd < 0)
		return NULL;
	if ((c = malloc(sizeof(*c))) != NULL) {
		c->fd = f->fd;
		if (pthread_create(&c->thread, NULL, closing_main, c) == 0) {
			f->fd = -1;
			cdbread_close(f);
			return c;
		}
		free(c);
	}
	cdbread_close(f);
	return NULL;
}

void
cdbread_close_wait(struct cdbread_closing *c)
{
	if (c == NULL)
		return;
	pthread_join(c->thread, NULL);
	free(c);
}

/* ------------------------------------------------------------ lookups */

/* Read the record at rpos into buf (8-byte header, key, value); 1 with
 * *val and *vlen set if its key is key[0..len), 0 if another key, -1 if
 * the file no longer reads as it did when checked. */
static int
read_record(const struct cdbread *f, uint64_t rpos, const char *key,
    size_t len, unsigned char *buf, size_t size, const unsigned char **val,
    size_t *vlen)
{
	/* Most records are a few dozen bytes: read that much first, and the
	 * rest only for a long one (an MTA-STS policy). */
	size_t first = 8 + len + 120 < size ? 8 + len + 120 : size;
	ssize_t got = pread(f->fd, buf, first, (off_t)rpos);
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
	if ((uint64_t)got < 8 + klen + dlen) {
		if ((size_t)got < first || 8 + klen + dlen > size)
			return -1;
		got = pread(f->fd, buf + first, (size_t)(8 + klen + dlen) - first,
		    (off_t)(rpos + first));
		if (got < 0 || (size_t)got < (size_t)(8 + klen + dlen) - first)
			return -1;
	}
	*val = buf + 8 + len;
	*vlen = (size_t)dlen;
	return 1;
}

/* Find key with pread, as tinycdb's cdb_find does through a mapping. 1
 * with *val, *vlen (pointing into buf), 0 if absent, -1 if the file reads
 * wrong. */
static int
pread_find(const struct cdbread *f, const char *key, size_t len,
    unsigned char *buf, size_t size, const unsigned char **val, size_t *vlen)
{
	uint32_t hash = cdb_hash(key, (unsigned)len);
	const unsigned char *toc = f->toc + (hash & 255) * 8;
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
		if (pread(f->fd, batch, (size_t)n * 8,
		        (off_t)(tpos + at * 8)) != (ssize_t)(n * 8))
			return -1;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t rpos = cdb_unpack(batch + i * 8 + 4);
			int r;

			if (rpos == 0)
				return 0;
			if (cdb_unpack(batch + i * 8) != hash)
				continue;
			r = read_record(f, rpos, key, len, buf, size, val,
			    vlen);
			if (r != 0)
				return r;
		}
		done += n;
		at = (at + n) % slots;
	}
	return 0;
}

enum cdbread_status
cdbread_find(const struct cdbread *f, const char *key, size_t len,
    struct record *rec, unsigned char buf[CDBREAD_FIND_BUF])
{
	const unsigned char *val = NULL;
	size_t vlen = 0;
	int found;

	if (f->fd < 0 || len == 0 || len > CDBREAD_KEY_MAX)
		return CDBREAD_ABSENT;
	found = pread_find(f, key, len, buf, 8 + len + RECORD_MAX, &val, &vlen);
	if (found < 0)
		return CDBREAD_UNREADABLE;
	if (found == 0)
		return CDBREAD_ABSENT;
	switch (val == NULL ? RECORD_CORRUPT
	                    : record_decode((const char *)val, vlen, rec)) {
	case RECORD_OK:
		return CDBREAD_FOUND;
	case RECORD_UNKNOWN_VERSION:
		return CDBREAD_UNKNOWN;
	case RECORD_CORRUPT:
	default:
		return CDBREAD_CORRUPT;
	}
}

int
cdbread_scan(const char *path,
    int (*fn)(const char *key, size_t key_len, enum record_status status,
        const struct record *rec, void *arg),
    void *arg, char *err, size_t err_size)
{
	struct cdbread f;
	struct cdb cdb;
	char why[256];
	unsigned pos;
	int r;

	if (cdbread_open(path, &f, why, sizeof(why)) != 0) {
		int e = errno;

		snprintf(err, err_size, "%s: %s", path, why);
		errno = e;
		return -1;
	}
	if (cdb_init(&cdb, f.fd) != 0) { /* checked: only out of memory */
		cdbread_close(&f);
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
	cdbread_close(&f);
	if (r < 0) {
		snprintf(err, err_size, "%s: truncated or corrupt CDB file",
		    path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ on a thread */

struct cdbread_check {
	pthread_t thread;
	atomic_bool cancel;
	bool over; /* its byte was read */
	int notify_fd;
	/* the result, written by the thread before it notifies */
	int rc, err_no;
	struct cdbread f;
	char err[256];
	char path[];
};

static void *
check_main(void *arg)
{
	struct cdbread_check *c = arg;
	char byte = 1;

	c->rc = open_checked(c->path, &c->cancel, &c->f, c->err,
	    sizeof(c->err));
	c->err_no = errno;
	/* The pipe orders this write after the result for the reader. */
	while (write(c->notify_fd, &byte, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

struct cdbread_check *
cdbread_check_start(const char *path, int notify_fd)
{
	size_t len = strlen(path);
	struct cdbread_check *c = calloc(1, sizeof(*c) + len + 1);
	int e;

	if (c == NULL)
		return NULL;
	memcpy(c->path, path, len + 1);
	atomic_init(&c->cancel, false);
	c->notify_fd = notify_fd;
	c->f.fd = -1;
	if ((e = pthread_create(&c->thread, NULL, check_main, c)) != 0) {
		free(c);
		errno = e;
		return NULL;
	}
	return c;
}

bool
cdbread_check_done(struct cdbread_check *c, int wait_fd)
{
	char byte;

	if (!c->over && read(wait_fd, &byte, 1) == 1)
		c->over = true;
	return c->over;
}

const char *
cdbread_check_path(const struct cdbread_check *c)
{
	return c->path;
}

int
cdbread_check_finish(struct cdbread_check *c, struct cdbread *f, char *err,
    size_t err_size)
{
	int rc;

	pthread_join(c->thread, NULL);
	rc = c->rc;
	if (rc == 0)
		*f = c->f;
	else
		snprintf(err, err_size, "%s", c->err);
	errno = c->err_no;
	free(c);
	return rc;
}

void
cdbread_check_cancel(struct cdbread_check *c)
{
	struct cdbread unused;
	char err[8];

	if (c == NULL)
		return;
	atomic_store(&c->cancel, true);
	if (cdbread_check_finish(c, &unused, err, sizeof(err)) == 0)
		cdbread_close(&unused);
}
