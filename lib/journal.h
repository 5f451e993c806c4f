/*
 * journal: the keys the daemon resolved live, so the warmer learns them
 * (doc/design.md §6).
 *
 * One normalised key per line in STATE_DIR/journal, appended by the daemon
 * with O_APPEND (one write per key, so lines never interleave). The warmer
 * rotates it by renaming it to journal.<time>.<pid>; the daemon notices the
 * new inode (it checks at most once a second) and starts a fresh file.
 * Keys the daemon still wrote to the renamed file in that second are not
 * lost: after writing its CDB the warmer reads the renamed file again and
 * hands every key it had not seen back to the live journal before removing
 * the renamed file. A warmer that dies leaves its renamed file behind, and
 * the next run reads it too.
 *
 * Deliberately not here: what the keys mean (mapkey), deduplication (the
 * warmer sorts).
 */
#ifndef DANEMAP_JOURNAL_H
#define DANEMAP_JOURNAL_H

#include <stddef.h>
#include <time.h>

struct journal;

/* journal_path: the journal's path in state_dir ("STATE_DIR/journal") in
 * buf. Returns 0, or -1 if it does not fit. */
int journal_path(const char *state_dir, char *buf, size_t size);

/* journal_open: append to path (created 0640 if missing). Returns NULL on
 * memory failure only; open errors are retried on each append. */
struct journal *journal_open(const char *path);

/*
 * journal_append: add key[0..len) as one line. Keys with bytes outside
 * printable ASCII, or a space, are refused. Returns 0, or -1 (errno set;
 * the caller logs it, once). now paces the check for a rotated file.
 */
int journal_append(struct journal *j, const char *key, size_t len, time_t now);

/* journal_size: the size in bytes of the file at j's path (what the next
 * warm run reads): 0 if there is none yet, -1 if it cannot be told. */
long long journal_size(const struct journal *j);

/* journal_close: close and free. NULL is a no-op. */
void journal_close(struct journal *j);

/*
 * journal_rotate: rename path to path.<now>.<pid> and put that name in
 * rotated. Returns 1 if renamed, 0 if there was no journal, -1 on error.
 */
int journal_rotate(const char *path, time_t now, char *rotated, size_t size);

/*
 * journal_rotated_each: call fn for each rotated journal file of path
 * (path.*, left by this or an earlier, perhaps crashed, run). fn returns 0
 * to go on. Returns the number of files, or -1 if the directory cannot be
 * read.
 */
int journal_rotated_each(const char *path,
    int (*fn)(const char *file, void *arg), void *arg);

/*
 * journal_read: call fn for every well-formed line of file (a final line
 * without newline counts; blank and malformed lines are skipped and
 * counted in *skipped if not NULL). fn returns 0 to go on. Returns 0, or
 * -1 if the file cannot be read.
 */
int journal_read(const char *file,
    int (*fn)(const char *key, size_t len, void *arg), void *arg,
    size_t *skipped);

#endif
