/*
 * cdbwrite: build a new CDB file and put it in place atomically
 * (doc/design.md §6). Readers see either the old file or the complete new one,
 * never a half-written file; if anything fails (disk full, the 4 GiB limit
 * of tinycdb's 32-bit offsets, a crash) the old file stays as it was.
 *
 * Protocol: take an exclusive lock on PATH.lock (one writer at a time; a
 * second one fails at once), remove a PATH.tmp left by a crashed writer
 * (safe: we hold the lock), create PATH.tmp with O_EXCL|O_NOFOLLOW, add
 * records, cdb_make_finish, fsync, rename over PATH, fsync the directory.
 *
 * Deliberately not here: what the records mean (record), reading (store).
 */
#ifndef DANEMAP_CDBWRITE_H
#define DANEMAP_CDBWRITE_H

#include <stddef.h>
#include <stdint.h>

struct cdbwrite;

/* tinycdb's offsets are 32-bit: the whole file must stay below 4 GiB. */
#define CDBWRITE_LIMIT ((uint64_t)0xffffffffu)

/*
 * cdbwrite_open: start building the replacement for path. Returns NULL with
 * a message in err if the lock is held by another writer or PATH.tmp cannot
 * be created.
 */
struct cdbwrite *cdbwrite_open(const char *path, char *err, size_t err_size);

/* cdbwrite_set_limit: lower the size limit (tests exercise the 4 GiB path
 * with small files this way). */
void cdbwrite_set_limit(struct cdbwrite *w, uint64_t limit);

/*
 * cdbwrite_add: add one record. Returns 0, or -1 with a message in err when
 * the file would pass the limit or the write failed (e.g. ENOSPC); after a
 * failure only cdbwrite_abort is valid.
 */
int cdbwrite_add(struct cdbwrite *w, const void *key, size_t key_len,
    const void *val, size_t val_len, char *err, size_t err_size);

/* cdbwrite_count: records added so far. */
size_t cdbwrite_count(const struct cdbwrite *w);

/*
 * cdbwrite_commit: finish, fsync, rename into place, fsync the directory,
 * release the lock and free w. Either way w is freed. Returns
 *  0  the new file is in place;
 *  CDBWRITE_NOT_DURABLE  the new file is in place (readers see it), but
 *     the directory could not be synced, so the rename may not survive a
 *     power cut: message in err;
 *  -1 nothing changed: PATH.tmp is removed, the old file is untouched,
 *     message in err.
 */
#define CDBWRITE_NOT_DURABLE 1
int cdbwrite_commit(struct cdbwrite *w, char *err, size_t err_size);

/* cdbwrite_abort: remove PATH.tmp, release the lock, free w. NULL ok. */
void cdbwrite_abort(struct cdbwrite *w);

#endif
