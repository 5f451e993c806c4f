/*
 * cdbread: read the CDB file `danemap warm` writes (doc/design.md §6), the
 * counterpart of cdbwrite.
 *
 * A file is checked from end to end before it is trusted (cdbread_open):
 * truncated, random or foreign files are refused, never half used.
 * Lookups then read it with pread, not a mapping: its pages never count in
 * a reader's resident set, and a file changed in place reads as missing
 * records instead of killing the reader with SIGBUS.
 *
 * Checking a large file takes a while (~0.3 s per million records), so it
 * can also run on a thread of its own (cdbread_check_start): the daemon
 * goes on answering from the file it has meanwhile.
 *
 * Errors come back to the caller as text; nothing here logs.
 * Deliberately not here: what records mean (record), memory caching and
 * choosing between memory and the file (store).
 */
#ifndef DANEMAP_CDBREAD_H
#define DANEMAP_CDBREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "record.h"

/* What identifies one version of a file on disk. */
struct cdbread_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* One checked, open CDB file. */
struct cdbread {
	int fd; /* -1: none open */
	unsigned char toc[2048];
	struct cdbread_id id;
	size_t records;
	time_t max_stored; /* latest lookup time of any record (0: none) */
	double check_ms;   /* how long the check took */
};

/*
 * cdbread_open: open path and check its whole structure; fills *f. Returns
 * 0, or -1 with the reason in err and errno set: ENOENT (or another open
 * error) when there is no file to read, EINVAL when it is not a sound CDB,
 * ENOMEM.
 */
int cdbread_open(const char *path, struct cdbread *f, char *err,
    size_t err_size);

/* cdbread_close: close f (fd -1 afterwards). A closed f is a no-op. */
void cdbread_close(struct cdbread *f);

/*
 * cdbread_close_start: close f on a thread of its own. When a replaced
 * file's last descriptor closes, the kernel frees its pages and blocks
 * there and then: tens of milliseconds for a large file, which a daemon
 * must not spend away from its clients. Returns a handle for
 * cdbread_close_wait, or NULL when f was closed here (no thread to be
 * had, or nothing open). cdbread_close_wait(NULL) is a no-op.
 */
struct cdbread_closing;

struct cdbread_closing *cdbread_close_start(struct cdbread *f);
void cdbread_close_wait(struct cdbread_closing *c);

enum cdbread_status {
	CDBREAD_ABSENT,     /* no record for the key */
	CDBREAD_FOUND,      /* *rec filled */
	CDBREAD_UNKNOWN,    /* a record of a version we do not know */
	CDBREAD_CORRUPT,    /* a record that does not decode */
	CDBREAD_UNREADABLE, /* the file no longer reads as it did */
};

/* The longest key cdbread_find looks up (longer ones are absent). */
#define CDBREAD_KEY_MAX 1024

/* The buffer cdbread_find reads a record into. */
#define CDBREAD_FIND_BUF (8 + CDBREAD_KEY_MAX + RECORD_MAX)

/* cdbread_find: the record for key[0..len) in the open file f, read into
 * buf (CDBREAD_FIND_BUF bytes): rec->sts points into it. */
enum cdbread_status cdbread_find(const struct cdbread *f, const char *key,
    size_t len, struct record *rec, unsigned char buf[CDBREAD_FIND_BUF]);

/* cdbread_stat: the identity of the file now at path; -1 if none. */
int cdbread_stat(const char *path, struct cdbread_id *id);

bool cdbread_id_same(const struct cdbread_id *a, const struct cdbread_id *b);

/*
 * cdbread_scan: call fn for every record of the CDB file at path, in file
 * order, with its decode status (records of an unknown version or corrupt
 * ones are passed too, rec undefined then). fn returns 0 to go on, non-zero
 * to stop. The file is checked first. Returns 0, or -1 with a message in
 * err and errno set as cdbread_open sets it.
 */
int cdbread_scan(const char *path,
    int (*fn)(const char *key, size_t key_len, enum record_status status,
        const struct record *rec, void *arg),
    void *arg, char *err, size_t err_size);

/*
 * A check on a thread of its own. cdbread_check_start opens and checks
 * path there and writes one byte to notify_fd when it is done (the
 * caller watches the other end of a pipe). cdbread_check_done reads that
 * byte from wait_fd without blocking: true once the check is over.
 * cdbread_check_finish then takes the result (as cdbread_open) and frees
 * the check. cdbread_check_cancel stops a check early and frees it.
 * Returns NULL (errno set) if no thread could be started.
 */
struct cdbread_check;

struct cdbread_check *cdbread_check_start(const char *path, int notify_fd);
bool cdbread_check_done(struct cdbread_check *c, int wait_fd);
const char *cdbread_check_path(const struct cdbread_check *c);
int cdbread_check_finish(struct cdbread_check *c, struct cdbread *f,
    char *err, size_t err_size);
void cdbread_check_cancel(struct cdbread_check *c);

#endif
