/*
 * cdbwrite: atomic CDB replacement (see cdbwrite.h).
 *
 * The size check is ours, before tinycdb's: its cdb_make_add fails with
 * ENOMEM near 4 GiB, which reads like memory trouble. We count what the
 * final file will hold (2048-byte header, 8 bytes + key + value per record,
 * 16 bytes of hash table per record at a fill of one half) and refuse with
 * a message that names the limit.
 */
#include "cdbwrite.h"

#include <cdb.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct cdbwrite {
	struct cdb_make make;
	int fd;
	int lock_fd;
	bool making;   /* cdb_make_start done, cdb_make_finish not yet */
	uint64_t size; /* bytes the finished file will take */
	uint64_t limit;
	size_t count;
	bool failed;
	char path[4096];
	char tmp[4096 + 8];
};

/* Per record: 8-byte length header, and two 8-byte hash slots. */
#define RECORD_OVERHEAD 24

static void
set_err(char *err, size_t size, const char *what, const char *path, int e)
{
	snprintf(err, size, "%s %s: %s", what, path, strerror(e));
}

struct cdbwrite *
cdbwrite_open(const char *path, char *err, size_t err_size)
{
	struct cdbwrite *w = calloc(1, sizeof(*w));
	char lock[4096 + 8];

	if (w == NULL) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	w->fd = w->lock_fd = -1;
	w->limit = CDBWRITE_LIMIT;
	w->size = 2048;
	if (snprintf(w->path, sizeof(w->path), "%s", path) >=
	        (int)sizeof(w->path) ||
	    snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", path) >=
	        (int)sizeof(w->tmp) ||
	    snprintf(lock, sizeof(lock), "%s.lock", path) >=
	        (int)sizeof(lock)) {
		snprintf(err, err_size, "path too long: %s", path);
		goto err;
	}
	w->lock_fd =
	    open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->lock_fd < 0) {
		set_err(err, err_size, "cannot open lock file", lock, errno);
		goto err;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, err_size,
			    "%s is being written by another process (lock %s)",
			    path, lock);
		else
			set_err(err, err_size, "cannot lock", lock, errno);
		goto err;
	}
	/* We hold the lock: a PATH.tmp now is debris of a crashed writer. */
	if (unlink(w->tmp) != 0 && errno != ENOENT) {
		set_err(err, err_size, "cannot remove stale", w->tmp, errno);
		goto err;
	}
	w->fd = open(w->tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		set_err(err, err_size, "cannot create", w->tmp, errno);
		goto err;
	}
	if (cdb_make_start(&w->make, w->fd) != 0) {
		set_err(err, err_size, "cannot start", w->tmp, errno);
		goto err;
	}
	w->making = true;
	return w;
err:
	cdbwrite_abort(w);
	return NULL;
}

void
cdbwrite_set_limit(struct cdbwrite *w, uint64_t limit)
{
	w->limit = limit < CDBWRITE_LIMIT ? limit : CDBWRITE_LIMIT;
}

int
cdbwrite_add(struct cdbwrite *w, const void *key, size_t key_len,
    const void *val, size_t val_len, char *err, size_t err_size)
{
	uint64_t grow = RECORD_OVERHEAD + (uint64_t)key_len + val_len;

	if (w->failed) {
		snprintf(err, err_size, "%s: an earlier write failed", w->tmp);
		return -1;
	}
	if (w->size + grow > w->limit) {
		w->failed = true;
		snprintf(err, err_size,
		    "%s: refusing to pass %llu bytes (tinycdb uses 32-bit "
		    "offsets) after %zu records",
		    w->tmp, (unsigned long long)w->limit, w->count);
		return -1;
	}
	if (cdb_make_add(&w->make, key, (unsigned)key_len, val,
	        (unsigned)val_len) != 0) {
		w->failed = true;
		set_err(err, err_size, "cannot write", w->tmp, errno);
		return -1;
	}
	w->size += grow;
	w->count++;
	return 0;
}

size_t
cdbwrite_count(const struct cdbwrite *w)
{
	return w->count;
}

static int
fsync_dir(const char *path)
{
	char copy[4096];
	int fd, rc;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
cdbwrite_commit(struct cdbwrite *w, char *err, size_t err_size)
{
	int e;

	if (w->failed) {
		snprintf(err, err_size, "%s: an earlier write failed", w->tmp);
		goto err;
	}
	w->making = false;
	if (cdb_make_finish(&w->make) != 0) {
		e = errno;
		set_err(err, err_size, "cannot finish", w->tmp, e);
		goto err;
	}
	if (fsync(w->fd) != 0) {
		set_err(err, err_size, "cannot fsync", w->tmp, errno);
		goto err;
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		set_err(err, err_size, "cannot close", w->tmp, errno);
		goto err;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) != 0) {
		set_err(err, err_size, "cannot rename over", w->path, errno);
		goto err;
	}
	if (fsync_dir(w->path) != 0) {
		/* The new file is in place; only its durability across a
		 * power cut is in doubt. Say so, but do not undo it. */
		set_err(err, err_size, "cannot fsync the directory of", w->path,
		    errno);
		w->tmp[0] = '\0';
		cdbwrite_abort(w);
		return CDBWRITE_NOT_DURABLE;
	}
	w->tmp[0] = '\0'; /* nothing left to remove */
	cdbwrite_abort(w);
	return 0;
err:
	cdbwrite_abort(w);
	return -1;
}

void
cdbwrite_abort(struct cdbwrite *w)
{
	if (w == NULL)
		return;
	if (w->making) {
		/* tinycdb frees its record lists only in cdb_make_finish:
		 * let it finish into /dev/null instead of the file. */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0 && dup2(null, w->fd) >= 0)
			(void)cdb_make_finish(&w->make);
		if (null >= 0)
			close(null);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp[0] != '\0')
		(void)unlink(w->tmp);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* releases the flock */
	free(w);
}
