/*
 * configfile: danemap.conf, shared by danemapd and danemap.
 *
 * Format: one "key = value" per line; '#' starts a comment that runs to
 * the end of the line (no value contains '#'); blank lines ignored;
 * white space around key and value ignored. Unknown keys, repeated
 * single-valued keys, and bad values are errors reported as
 * "FILE:LINE: message". Repeatable keys (upstream, listen) accumulate; the
 * first occurrence in a file replaces the built-in default list.
 * `upstream` also takes several addresses on one line, separated by spaces.
 *
 * The structure has no pointers, so a reload can parse into a fresh copy and
 * swap it in only if the whole file was good.
 *
 * Deliberately not here: resolving user/group names, binding sockets,
 * reading trust anchors (the programs and resolve do that).
 */
#ifndef DANEMAP_CONFIG_H
#define DANEMAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_UPSTREAMS 8
#define CONFIG_MAX_LISTEN 8
#define CONFIG_PATH_MAX 1024
#define CONFIG_NAME_MAX 64

#define CONFIG_DEFAULT_FILE "/etc/danemap/danemap.conf"

enum config_resolution {
	CONFIG_RESOLUTION_RECURSIVE, /* libunbound inside getdns (default) */
	CONFIG_RESOLUTION_STUB,      /* to the configured upstreams */
};

/* How stub queries travel (recursive resolution ignores it). */
enum config_transport {
	CONFIG_TRANSPORT_TCP, /* TCP only, one connection reused (default) */
	CONFIG_TRANSPORT_UDP, /* UDP, getdns's TCP fallback after TC=1 */
};

/* Address families the probe connects to (Postfix's inet_protocols). */
enum config_inet {
	CONFIG_INET_ALL,  /* IPv4 and IPv6 (default) */
	CONFIG_INET_IPV4, /* IPv4 only */
	CONFIG_INET_IPV6, /* IPv6 only */
};

struct config_upstream {
	char address[64]; /* numeric IPv4 or IPv6, as written */
	unsigned port;    /* 53 unless given as address@port */
};

enum config_listen_kind {
	CONFIG_LISTEN_UNIX, /* "unix:PATH" */
	CONFIG_LISTEN_INET, /* "inet:ADDR:PORT", "inet:[V6ADDR]:PORT" */
};

struct config_listen {
	enum config_listen_kind kind;
	char path[108];   /* unix: socket path (sun_path limit) */
	char address[64]; /* inet: numeric address */
	unsigned port;    /* inet: 1..65535 */
};

struct config {
	/* resolution (issue #2) */
	enum config_resolution resolution;                     /* resolution */
	struct config_upstream upstream[CONFIG_MAX_UPSTREAMS]; /* upstream */
	size_t upstream_count;
	enum config_transport transport;         /* transport */
	char trust_anchor_file[CONFIG_PATH_MAX]; /* trust_anchor_file */
	char root_hints[CONFIG_PATH_MAX]; /* root_hints ("" = built in) */
	unsigned query_timeout_ms;        /* query_timeout */
	unsigned lookup_deadline_ms;      /* lookup_deadline */
	unsigned max_cname_depth;         /* max_cname_depth */
	/* logging */
	int log_level;       /* log_level */
	int syslog_facility; /* syslog_facility */
	/* daemon (issue #3) */
	struct config_listen listen[CONFIG_MAX_LISTEN]; /* listen */
	size_t listen_count;
	char map_name[CONFIG_NAME_MAX];     /* map_name */
	char user[CONFIG_NAME_MAX];         /* user ("" = keep) */
	char socket_group[CONFIG_NAME_MAX]; /* socket_group ("" = keep) */
	unsigned socket_mode;               /* socket_mode (octal) */
	unsigned max_connections;           /* max_connections */
	unsigned max_lookups;               /* max_lookups */
	unsigned idle_timeout_ms;           /* idle_timeout */
	unsigned cache_entries;             /* cache_entries */
	unsigned min_ttl;                   /* min_ttl (seconds) */
	unsigned max_ttl;                   /* max_ttl (seconds) */
	/* store (issue #4) */
	char state_dir[CONFIG_PATH_MAX];  /* state_dir */
	char cache_file[CONFIG_PATH_MAX]; /* cache_file ("" = none) */
	unsigned stale_ttl;               /* stale_ttl (seconds) */
	unsigned warm_concurrency;        /* warm_concurrency */
	/* MTA-STS (issue #11) */
	bool mta_sts;                          /* mta_sts */
	char mta_sts_ca_file[CONFIG_PATH_MAX]; /* mta_sts_ca_file ("" = system)
	                                        */
	unsigned mta_sts_timeout_ms;           /* mta_sts_timeout */
	unsigned mta_sts_max_fetches;          /* mta_sts_max_fetches */
	unsigned mta_sts_port;                 /* mta_sts_port (tests) */
	bool tlsrpt;                           /* tlsrpt */
	/* danemap probe (issue #12) */
	char probe_helo[CONFIG_NAME_MAX]; /* probe_helo ("" = host name) */
	unsigned probe_expiry_warn;       /* probe_expiry_warn (days) */
	unsigned probe_connections;       /* at most this many at once */
	unsigned probe_timeout_ms;        /* one address's whole dialogue */
	enum config_inet probe_inet_protocols; /* probe_inet_protocols */
	/* danemapd: warn when a key stays TEMP this long (0: never) */
	unsigned temp_alert_after;            /* seconds */
	char overrides_file[CONFIG_PATH_MAX]; /* "" = none */
	/* danemapd: Prometheus metrics over HTTP (port 0: off) and the
	 * control socket (path "": none) */
	struct config_listen metrics_listen; /* metrics_listen */
	struct config_listen control_socket; /* control_socket */
};

/* config_defaults: fill *cfg with the built-in defaults (see danemap.conf(5)).
 */
void config_defaults(struct config *cfg);

/*
 * config_parse: parse text[0..len) (need not be NUL-terminated) on top of
 * the current contents of *cfg; name is used in messages. Returns 0, or -1
 * with "name:line: message" in err. *cfg may be half-updated on error: parse
 * into a scratch copy when the old one must survive. Checks cross-key
 * consistency at the end (stub mode needs an upstream, min_ttl <= max_ttl,
 * query_timeout <= lookup_deadline).
 */
int config_parse(struct config *cfg, const char *name, const char *text,
    size_t len, char *err, size_t err_size);

/*
 * config_load: config_defaults + config_parse of the file at path.
 * Returns 0, or -1 with a message in err (open/read errors included).
 */
int config_load(struct config *cfg, const char *path, char *err,
    size_t err_size);

#endif
