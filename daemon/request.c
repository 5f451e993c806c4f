/*
 * request.c: one request, split into map and key by conn.c (see
 * server.h). The map name must be ours (else PERM); a key that is not a
 * host name gets NOTFOUND; an answer the caches hold is given at once
 * (with the MTA-STS policy cached beside it, if one is enforced);
 * otherwise the request waits on a live lookup (lookup.c).
 */
#include <string.h>
#include <time.h>

#include "server.h"

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
