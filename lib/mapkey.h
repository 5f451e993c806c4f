/*
 * mapkey: what a socketmap key asks for (doc/design.md §3).
 *
 * Postfix hands keys over verbatim: any case, perhaps a trailing dot,
 * perhaps "[host]", "[host]:port", "domain:port", an IP literal, or a
 * ".parent" lookup key. This module turns one into a normalised lookup
 * target or says why there is nothing to look up. It is pure: no DNS, no
 * logging (the caller logs MAPKEY_INVALID once, through log_sanitize).
 */
#ifndef DANEMAP_MAPKEY_H
#define DANEMAP_MAPKEY_H

#include <stdbool.h>
#include <stddef.h>

#define MAPKEY_NAME_MAX 253 /* presentation form, no trailing dot */
/* room for "[" name "]:" 5 digits and the NUL */
#define MAPKEY_NORM_MAX (MAPKEY_NAME_MAX + 10)

enum mapkey_result {
	MAPKEY_LOOKUP,  /* look it up: *out is filled */
	MAPKEY_SKIP,    /* answer NOTFOUND, no DNS, nothing to log: leading
	                 * dot (parent-domain key) or IP literal */
	MAPKEY_INVALID, /* answer NOTFOUND, no DNS, log once: bad syntax,
	                 * bad port, non-ASCII, empty, too long */
};

struct mapkey {
	/* Lower case, no trailing dot, LDH and '_' only, each label 1..63. */
	char name[MAPKEY_NAME_MAX + 1];
	/* True for "[host]" and "[host]:port": no MX lookup, name is the
	 * only server. */
	bool nexthop;
	/* TCP port for the TLSA name _port._tcp.host; 25 unless given. */
	unsigned port;
	/* Canonical form, the cache key: "example.com", "example.com:587",
	 * "[mx.example.com]", "[mx.example.com]:587" (":25" is dropped). */
	char norm[MAPKEY_NORM_MAX + 1];
};

/*
 * mapkey_parse: classify key[0..len) (may contain any byte, including NUL).
 * On MAPKEY_LOOKUP fills *out. On MAPKEY_INVALID sets *why to a static
 * string (if why is not NULL).
 */
enum mapkey_result mapkey_parse(const char *key, size_t len, struct mapkey *out,
    const char **why);

/*
 * mapkey_name_valid: 1 if name[0..len) is a syntactically valid host name
 * in presentation form as mapkey accepts it (before case folding; one
 * trailing dot allowed), else 0. Used to vet DNS-derived names too.
 */
int mapkey_name_valid(const char *name, size_t len);

#endif
