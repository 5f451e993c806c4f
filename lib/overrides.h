/*
 * overrides: the administrator's own answers for chosen keys
 * (overrides_file), consulted before anything else. A line is
 *
 *     KEY REPLY [until YYYY-MM-DD[THH:MM]]
 *
 * with KEY a lookup key as Postfix sends it (normalised as requests are),
 * REPLY one of `NOTFOUND`, `TEMP [reason]`, `OK LEVEL [name=value...]`
 * (LEVEL a Postfix TLS security level, the names those of Postfix's
 * policy table: ciphers, connection_reuse, exclude, match, protocols,
 * servername, tafile; values printable without blanks, commas or braces,
 * which Postfix would read as separators; fingerprint needs match=), and
 * `until` a moment in UTC (a date alone: its 00:00) from
 * which the line no longer applies. "#" starts a comment line; blank
 * lines are skipped. A bad line (or a second line for a key) is reported
 * through the callback with its line number and skipped: the rest of the
 * file still applies.
 *
 * Deliberately not here: when the file is re-read, logging, expiry
 * notices (the daemon and `danemap query` do those).
 */
#ifndef DANEMAP_OVERRIDES_H
#define DANEMAP_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapkey.h"
#include "sockmap.h"

#define OVERRIDES_TEXT_MAX 512       /* a reply's text, after its word */
#define OVERRIDES_FILE_MAX (4 << 20) /* a bigger file is refused */

struct override {
	char key[MAPKEY_NORM_MAX + 1]; /* normalised */
	enum sockmap_status status;    /* OK, NOTFOUND or TEMP */
	char text[OVERRIDES_TEXT_MAX + 1];
	bool has_until;
	int64_t until; /* with has_until: no longer applies from then */
	unsigned line;
	bool expiry_told; /* for the caller: its expiry was logged */
};

struct overrides {
	struct override *v; /* sorted by key */
	size_t n;
};

typedef void overrides_bad_fn(void *arg, unsigned line, const char *why);

/* overrides_parse: the file's text into *o (emptied first). Returns 0, or
 * -1 if out of memory (*o then empty). */
int overrides_parse(const char *text, size_t len, struct overrides *o,
    overrides_bad_fn *bad, void *arg);

/* overrides_load: the same from the file at path, whose fstat goes to
 * *st if st is not NULL. -1 with err set if it cannot be read (or is over
 * OVERRIDES_FILE_MAX): *o is then unchanged. */
struct stat;
int overrides_load(const char *path, struct overrides *o,
    overrides_bad_fn *bad, void *arg, struct stat *st, char *err,
    size_t err_size);

/* overrides_find: the line for a normalised key, or NULL. */
struct override *overrides_find(const struct overrides *o, const char *key);

/* override_applies: is it still in force at now? */
bool override_applies(const struct override *ov, int64_t now);

/* overrides_until_text: ov->until as "YYYY-MM-DDTHH:MMZ" into buf. */
const char *overrides_until_text(const struct override *ov, char *buf,
    size_t size);

void overrides_free(struct overrides *o);

#endif
