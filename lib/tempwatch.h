/*
 * tempwatch: which keys have answered TEMP without a break, and since
 * when, so that the daemon can warn when one stays TEMP for longer than
 * temp_alert_after: mail to that destination is piling up in Postfix's
 * queue (broken DNSSEC or TLSA at the recipient, mostly).
 *
 * Every answer is noted: a TEMP answer starts or continues its key's
 * watch, any other answer ends it. tempwatch_note says what to log:
 * ALERT once the watch is older than the threshold, again at most every
 * TEMPWATCH_REPEAT seconds while it lasts, RECOVERED when a key that was
 * alerted on answers something else. Pure (time is passed in): the
 * daemon logs, this decides.
 *
 * Bounded: at most TEMPWATCH_MAX keys are watched (TEMP answers for more
 * are not watched until room is made), and a key not answered for
 * TEMPWATCH_FORGET seconds is forgotten by tempwatch_prune. A hash table
 * by key, seeded (keys come from clients); a non-TEMP answer costs one
 * branch while nothing is watched.
 */
#ifndef DANEMAP_TEMPWATCH_H
#define DANEMAP_TEMPWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEMPWATCH_MAX 4096
#define TEMPWATCH_REPEAT 3600    /* seconds between warnings for a key */
#define TEMPWATCH_FORGET 21600   /* a key not answered for 6 h is dropped */
#define TEMPWATCH_KEY_MAX 300    /* longer keys are watched cut */
#define TEMPWATCH_REASON_MAX 200 /* the last reason, cut to this */

enum tempwatch_event {
	TEMPWATCH_NONE,
	TEMPWATCH_ALERT,     /* log a warning: *info says since when, why */
	TEMPWATCH_RECOVERED, /* log a notice: the watch that ended */
};

/* What the caller logs. */
struct tempwatch_info {
	int64_t since;     /* the first TEMP answer without a break */
	unsigned alerts;   /* warnings given so far, this one included */
	char reason[TEMPWATCH_REASON_MAX + 1]; /* the last reason given */
};

struct tempwatch;

/* tempwatch_new: after = temp_alert_after in seconds (0: never alert,
 * and nothing is watched). */
struct tempwatch *tempwatch_new(uint32_t after);
void tempwatch_free(struct tempwatch *tw);

/* tempwatch_set_after: a new threshold (reload); 0 forgets every key. */
void tempwatch_set_after(struct tempwatch *tw, uint32_t after);

/*
 * tempwatch_note: key[0..len) was answered at now, TEMP or not (reason:
 * the TEMP reason, "" if the answer had none: the last non-empty one is
 * kept). Returns what to log, with *info filled for ALERT and RECOVERED.
 */
enum tempwatch_event tempwatch_note(struct tempwatch *tw, const char *key,
    size_t len, bool temp, const char *reason, int64_t now,
    struct tempwatch_info *info);

/* tempwatch_prune: forget keys not answered since now - TEMPWATCH_FORGET. */
void tempwatch_prune(struct tempwatch *tw, int64_t now);

/* How many keys are watched, and how many of them have been alerted on
 * (the ones whose mail is piling up). */
size_t tempwatch_count(const struct tempwatch *tw, size_t *alerted);

#endif
