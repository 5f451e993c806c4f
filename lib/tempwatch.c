/* tempwatch: keys that stay TEMP (see tempwatch.h). */
#include "tempwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhash.h"

#define BUCKETS 1024 /* a power of two */

struct watch {
	struct watch *next;
	int64_t last;        /* the last answer, TEMP */
	int64_t last_alert;  /* 0: none yet */
	struct tempwatch_info info;
	size_t len;
	char key[TEMPWATCH_KEY_MAX];
};

struct tempwatch {
	uint32_t after;
	uint32_t seed;
	size_t count;
	struct watch *bucket[BUCKETS];
};

struct tempwatch *
tempwatch_new(uint32_t after)
{
	struct tempwatch *tw = calloc(1, sizeof(*tw));

	if (tw == NULL)
		return NULL;
	tw->after = after;
	tw->seed = keyhash_seed();
	return tw;
}

/* Drop every watch for which drop(w, now) holds. */
static void
drop_if(struct tempwatch *tw, bool (*drop)(const struct watch *, int64_t),
    int64_t now)
{
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct watch **p = &tw->bucket[b]; *p != NULL;) {
			struct watch *w = *p;

			if (drop(w, now)) {
				*p = w->next;
				free(w);
				tw->count--;
			} else
				p = &w->next;
		}
}

static bool
always(const struct watch *w, int64_t now)
{
	(void)w;
	(void)now;
	return true;
}

static bool
forgotten(const struct watch *w, int64_t now)
{
	return w->last < now - TEMPWATCH_FORGET;
}

void
tempwatch_free(struct tempwatch *tw)
{
	if (tw == NULL)
		return;
	drop_if(tw, always, 0);
	free(tw);
}

void
tempwatch_set_after(struct tempwatch *tw, uint32_t after)
{
	tw->after = after;
	if (after == 0)
		drop_if(tw, always, 0);
}

void
tempwatch_prune(struct tempwatch *tw, int64_t now)
{
	if (tw->count > 0)
		drop_if(tw, forgotten, now);
}

size_t
tempwatch_count(const struct tempwatch *tw, size_t *alerted)
{
	size_t n = 0;

	for (size_t b = 0; alerted != NULL && b < BUCKETS; b++)
		for (const struct watch *w = tw->bucket[b]; w != NULL;
		     w = w->next)
			n += w->info.alerts > 0;
	if (alerted != NULL)
		*alerted = n;
	return tw->count;
}

enum tempwatch_event
tempwatch_note(struct tempwatch *tw, const char *key, size_t len, bool temp,
    const char *reason, int64_t now, struct tempwatch_info *info)
{
	struct watch **p, *w;

	if (tw->after == 0 || (!temp && tw->count == 0))
		return TEMPWATCH_NONE;
	if (len > TEMPWATCH_KEY_MAX)
		len = TEMPWATCH_KEY_MAX;
	p = &tw->bucket[keyhash(tw->seed, key, len) & (BUCKETS - 1)];
	while ((w = *p) != NULL &&
	    (w->len != len || memcmp(w->key, key, len) != 0))
		p = &w->next;
	if (!temp) {
		bool alerted = w != NULL && w->info.alerts > 0;

		if (w == NULL)
			return TEMPWATCH_NONE;
		*info = w->info;
		*p = w->next;
		free(w);
		tw->count--;
		return alerted ? TEMPWATCH_RECOVERED : TEMPWATCH_NONE;
	}
	if (w == NULL) {
		if (tw->count >= TEMPWATCH_MAX ||
		    (w = calloc(1, sizeof(*w))) == NULL)
			return TEMPWATCH_NONE; /* not watched, for now */
		memcpy(w->key, key, len);
		w->len = len;
		w->info.since = now;
		*p = w; /* p is the end of the key's chain, found above */
		tw->count++;
	}
	w->last = now;
	if (reason != NULL && reason[0] != '\0')
		snprintf(w->info.reason, sizeof(w->info.reason), "%s", reason);
	if (now - w->info.since <= (int64_t)tw->after ||
	    (w->last_alert != 0 && now - w->last_alert < TEMPWATCH_REPEAT))
		return TEMPWATCH_NONE;
	w->last_alert = now;
	w->info.alerts++;
	*info = w->info;
	return TEMPWATCH_ALERT;
}
