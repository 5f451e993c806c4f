/*
 * request.c: one request, split into map and key by conn.c (see
 * server.h). The map name must be ours (else PERM); a key that is not a
 * host name gets NOTFOUND; an answer the caches hold is given at once
 * (with the MTA-STS policy cached beside it, if one is enforced);
 * otherwise the request waits on a live lookup (lookup.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server.h"

static void
override_bad(void *arg, unsigned line, const char *why)
{
	const struct server *srv = arg;

	log_msg(LOG_LEVEL_WARNING, "%s:%u: %s; the line is skipped",
	    srv->cfg.overrides_file, line, why);
}

/*
 * Read overrides_file again if it changed (its inode, size or
 * modification time), or with force (start, SIGHUP). A file that cannot
 * be read is logged once and the lines read before stay in force; no
 * file configured: no overrides.
 */
void
overrides_check(struct server *srv, bool force)
{
	const char *path = srv->cfg.overrides_file;
	struct stat st;
	struct overrides old;
	char err[sizeof(srv->overrides_err)];

	if (path[0] == '\0') {
		overrides_free(&srv->overrides);
		memset(&srv->overrides_st, 0, sizeof(srv->overrides_st));
		return;
	}
	if (stat(path, &st) == 0 && !force &&
	    st.st_ino == srv->overrides_st.st_ino &&
	    st.st_dev == srv->overrides_st.st_dev &&
	    st.st_size == srv->overrides_st.st_size &&
	    st.st_mtim.tv_sec == srv->overrides_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == srv->overrides_st.st_mtim.tv_nsec)
		return;
	old = srv->overrides;
	srv->overrides = (struct overrides){ NULL, 0 };
	if (overrides_load(path, &srv->overrides, override_bad, srv, &st, err,
	        sizeof(err)) != 0) {
		srv->overrides = old;
		if (force || strcmp(err, srv->overrides_err) != 0)
			log_msg(LOG_LEVEL_ERR,
			    "overrides_file %s; the %zu override(s) read before "
			    "stay in force",
			    err, srv->overrides.n);
		snprintf(srv->overrides_err, sizeof(srv->overrides_err), "%s",
		    err);
		return;
	}
	/* a line that had ended before, and was said to, is not said again */
	for (size_t i = 0; i < srv->overrides.n; i++) {
		struct override *ov = &srv->overrides.v[i];
		const struct override *was = overrides_find(&old, ov->key);

		ov->expiry_told = was != NULL && was->expiry_told &&
		    was->has_until == ov->has_until && was->until == ov->until;
	}
	overrides_free(&old);
	srv->overrides_err[0] = '\0';
	srv->overrides_st = st;
	log_msg(LOG_LEVEL_NOTICE, "overrides_file %s: %zu override(s)", path,
	    srv->overrides.n);
	overrides_ended(srv, time(NULL));
}

/* Say once of each line whose until has passed that it no longer
 * applies (at load, and from the tick as its moment comes). */
void
overrides_ended(struct server *srv, time_t now)
{
	char until[32];

	for (size_t i = 0; i < srv->overrides.n; i++) {
		struct override *ov = &srv->overrides.v[i];

		if (ov->expiry_told || override_applies(ov, (int64_t)now))
			continue;
		log_msg(LOG_LEVEL_NOTICE,
		    "%s:%u: the override for %s ended at %s; answers come "
		    "from the DNS again",
		    srv->cfg.overrides_file, ov->line, ov->key,
		    overrides_until_text(ov, until, sizeof(until)));
		ov->expiry_told = true;
	}
}

/* The administrator's answer for mk, if overrides_file has one in force:
 * answered, and true. (An ended line is said by overrides_ended.) */
static bool
override_answer(struct server *srv, struct conn *c, const char *key,
    size_t key_len, const struct mapkey *mk, time_t now)
{
	struct override *ov = overrides_find(&srv->overrides, mk->norm);
	static char frame[REPLY_MAX + OVERRIDES_TEXT_MAX];
	enum answer_kind kind;
	long len;

	if (ov == NULL || !override_applies(ov, (int64_t)now))
		return false;
	len = sockmap_format_reply(frame, sizeof(frame), ov->status, ov->text);
	if (len < 0)
		return false; /* cannot happen: the text is bounded */
	kind = ov->status == SOCKMAP_NOTFOUND ? KIND_NOTFOUND
	    : ov->status == SOCKMAP_TEMP      ? KIND_TEMP
	    : strcmp(ov->text, "dane-only") == 0 ||
	        strncmp(ov->text, "dane-only ", 10) == 0
	    ? KIND_DANE_ONLY
	    : strcmp(ov->text, "dane") == 0 || strncmp(ov->text, "dane ", 5) == 0
	    ? KIND_DANE
	    : KIND_STS; /* any other OK: counted with MTA-STS's */
	conn_answer_frame(c, key, key_len, frame, (size_t)len, kind,
	    SOURCE_OVERRIDE);
	return true;
}

/* Bad records store_get met in the cache file, reported once a file. */
static void
cdb_warning(struct server *srv)
{
	const char *w = store_cdb_warning(srv->store);

	if (w != NULL)
		log_msg(LOG_LEVEL_WARNING, "%s", w);
}

void
request_handle(struct conn *c, const char *map, size_t map_len,
    const char *key, size_t key_len)
{
	struct server *srv = c->srv;
	const struct fixed_reply *fr;
	const char *why = NULL;
	struct mapkey mk;
	struct store_hit hit;
	enum store_result sr;
	enum answer_source source;
	static char frame[STS_FRAME_MAX];
	time_t now;
	long len;

	if (map_len != strlen(srv->cfg.map_name) ||
	    memcmp(map, srv->cfg.map_name, map_len) != 0) {
		char name[80];

		log_msg(LOG_LEVEL_WARNING,
		    "unknown map name \"%s\" (this daemon serves \"%s\")",
		    log_sanitize(name, sizeof(name), map, map_len, 60),
		    srv->cfg.map_name);
		conn_answer_fixed(c, key, key_len, &srv->unknown_map,
		    SOURCE_NOLOOKUP);
		return;
	}
	switch (mapkey_parse(key, key_len, &mk, &why)) {
	case MAPKEY_SKIP:
		conn_answer_fixed(c, key, key_len,
		    &srv->fixed[POLICY_REPLY_NOTFOUND], SOURCE_NOLOOKUP);
		return;
	case MAPKEY_INVALID:
		if (log_enabled(LOG_LEVEL_WARNING)) {
			char key_log[KEY_LOG_MAX];

			log_msg(LOG_LEVEL_WARNING, "key=%s invalid: %s",
			    key_for_log(key_log, sizeof(key_log), key, key_len),
			    why);
		}
		conn_answer_fixed(c, key, key_len,
		    &srv->fixed[POLICY_REPLY_NOTFOUND], SOURCE_NOLOOKUP);
		return;
	case MAPKEY_LOOKUP:
		break;
	}
	now = time(NULL);
	if (srv->overrides.n > 0 &&
	    override_answer(srv, c, key, key_len, &mk, now))
		return;
	sr = store_get(srv->store, mk.norm, strlen(mk.norm), now, &hit);
	cdb_warning(srv);
	source = sr == STORE_FRESH && hit.source == STORE_SOURCE_CDB
	    ? SOURCE_CDB
	    : SOURCE_MEMORY;
	/* an answer with an MTA-STS policy is fresh no longer than the
	 * policy: one that is enforced answers with it, formatted once and
	 * then kept with the entry (an empty frame: none is enforced) */
	if (sr == STORE_FRESH && hit.sts != NULL && srv->cfg.mta_sts &&
	    hit.reply == POLICY_REPLY_NOTFOUND) {
		if (hit.frame == NULL) {
			len = sts_frame(srv, mk.name, hit.sts, hit.sts_len, now,
			    false, frame, sizeof(frame));
			(void)store_keep_frame(srv->store, mk.norm,
			    strlen(mk.norm), hit.sts, hit.sts_len, frame,
			    len < 0 ? 0 : (size_t)len);
			hit.frame = frame;
			hit.frame_len = len < 0 ? 0 : (size_t)len;
		}
		if (hit.frame_len > 0) {
			conn_answer_frame(c, key, key_len, hit.frame,
			    hit.frame_len, KIND_STS, source);
			return;
		}
	}
	if (sr == STORE_FRESH &&
	    (fr = fixed_reply_of(srv, hit.reply)) != NULL) {
		conn_answer_fixed(c, key, key_len, fr, source);
		return;
	}
	lookup_join(srv, request_new(c, key, key_len), &mk, sr, &hit);
}
