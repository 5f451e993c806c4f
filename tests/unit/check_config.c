/*
 * check_config: danemap.conf as configfile.h and danemap.conf(5) describe it:
 * defaults, every key's good and bad values, file:line messages, and the
 * cross-key checks.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "check_main.h"
#include "configfile.h"
#include "log.h"

static struct config cfg;
static char err[1024];

static int
parse_len(const char *text, size_t len)
{
	config_defaults(&cfg);
	memset(err, 0, sizeof(err));
	return config_parse(&cfg, "test.conf", text, len, err, sizeof(err));
}

static int
parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static unsigned
field_u(size_t offset)
{
	unsigned v;

	/* every numeric field (unsigned, int, enum) is 4 bytes */
	memcpy(&v, (const char *)&cfg + offset, sizeof(v));
	return v;
}

#define F(field) offsetof(struct config, field)

START_TEST(defaults_are_documented_ones)
{
	config_defaults(&cfg);
	ck_assert_int_eq(cfg.resolution, CONFIG_RESOLUTION_RECURSIVE);
	ck_assert_int_eq(cfg.transport, CONFIG_TRANSPORT_TCP);
	ck_assert_uint_eq(cfg.upstream_count, 0);
	ck_assert_str_eq(cfg.trust_anchor_file, "/usr/share/dns/root.key");
	ck_assert_str_eq(cfg.root_hints, ""); /* getdns's built-in roots */
	ck_assert_uint_eq(cfg.query_timeout_ms, 3000);
	ck_assert_uint_eq(cfg.lookup_deadline_ms, 10000);
	ck_assert_uint_eq(cfg.max_cname_depth, 8);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(cfg.syslog_facility, LOG_MAIL);
	ck_assert_uint_eq(cfg.listen_count, 1);
	ck_assert_int_eq(cfg.listen[0].kind, CONFIG_LISTEN_UNIX);
	ck_assert_str_eq(cfg.listen[0].path, "/run/danemap/danemapd.sock");
	ck_assert_str_eq(cfg.map_name, "tlspolicy");
	ck_assert_str_eq(cfg.user, "");
	ck_assert_str_eq(cfg.socket_group, "");
	ck_assert_uint_eq(cfg.socket_mode, 0660);
	ck_assert_uint_eq(cfg.max_connections, 1024);
	ck_assert_uint_eq(cfg.max_lookups, 256);
	ck_assert_uint_eq(cfg.idle_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.cache_entries, 100000);
	ck_assert_uint_eq(cfg.min_ttl, 300);
	ck_assert_uint_eq(cfg.max_ttl, 86400);
	ck_assert_str_eq(cfg.state_dir, "/var/lib/danemap");
	ck_assert_uint_gt(cfg.warm_concurrency, 0);
	ck_assert(cfg.mta_sts);
	ck_assert_str_eq(cfg.mta_sts_ca_file, ""); /* the system's store */
	ck_assert_uint_eq(cfg.mta_sts_timeout_ms, 15000);
	ck_assert_uint_eq(cfg.mta_sts_max_fetches, 64);
	ck_assert_uint_eq(cfg.mta_sts_port, 443);
	ck_assert(!cfg.tlsrpt);
	/* the defaults pass their own cross checks */
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(parse("\n\n# nothing\n"), 0);
}
END_TEST

/* Numeric keys at both ends of their documented range, and symbols. */
START_TEST(good_numeric_values)
{
	static const struct {
		const char *text;
		size_t offset;
		unsigned want;
	} cases[] = {
		{ "query_timeout = 100", F(query_timeout_ms), 100 },
		{ "query_timeout = 10000", F(query_timeout_ms), 10000 },
		{ "lookup_deadline = 90000", F(lookup_deadline_ms), 90000 },
		{ "query_timeout = 60000\nlookup_deadline = 60000",
		    F(query_timeout_ms), 60000 },
		{ "query_timeout=100\nlookup_deadline=100",
		    F(lookup_deadline_ms), 100 },
		{ "max_cname_depth = 1", F(max_cname_depth), 1 },
		{ "max_cname_depth = 32", F(max_cname_depth), 32 },
		{ "max_connections = 1", F(max_connections), 1 },
		{ "max_connections = 1000000", F(max_connections), 1000000 },
		{ "max_lookups = 1", F(max_lookups), 1 },
		{ "max_lookups = 100000", F(max_lookups), 100000 },
		{ "idle_timeout = 1000", F(idle_timeout_ms), 1000 },
		{ "idle_timeout = 3600000", F(idle_timeout_ms), 3600000 },
		{ "cache_entries = 0", F(cache_entries), 0 },
		{ "cache_entries = 100000000", F(cache_entries), 100000000 },
		{ "min_ttl = 0", F(min_ttl), 0 },
		{ "min_ttl = 604800\nmax_ttl = 604800", F(min_ttl), 604800 },
		{ "min_ttl = 1\nmax_ttl = 1", F(max_ttl), 1 },
		{ "max_ttl = 31536000", F(max_ttl), 31536000 },
		{ "socket_mode = 0660", F(socket_mode), 0660 },
		{ "socket_mode = 660", F(socket_mode), 0660 },
		{ "socket_mode = 0600", F(socket_mode), 0600 },
		{ "socket_mode = 0777", F(socket_mode), 0777 },
		{ "socket_mode = 0", F(socket_mode), 0 },
		{ "resolution = recursive", F(resolution),
		    CONFIG_RESOLUTION_RECURSIVE },
		{ "resolution = stub\nupstream = 127.0.0.1", F(resolution),
		    CONFIG_RESOLUTION_STUB },
		{ "transport = udp", F(transport), CONFIG_TRANSPORT_UDP },
		{ "transport = tcp", F(transport), CONFIG_TRANSPORT_TCP },
		{ "log_level = err", F(log_level), LOG_LEVEL_ERR },
		{ "log_level = warning", F(log_level), LOG_LEVEL_WARNING },
		{ "log_level = notice", F(log_level), LOG_LEVEL_NOTICE },
		{ "log_level = info", F(log_level), LOG_LEVEL_INFO },
		{ "log_level = debug", F(log_level), LOG_LEVEL_DEBUG },
		{ "syslog_facility = daemon", F(syslog_facility), LOG_DAEMON },
		{ "syslog_facility = local7", F(syslog_facility), LOG_LOCAL7 },
		{ "syslog_facility = mail", F(syslog_facility), LOG_MAIL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].text) == 0, "%s: %s",
		    cases[i].text, err);
		ck_assert_msg(field_u(cases[i].offset) == cases[i].want,
		    "%s: got %u", cases[i].text, field_u(cases[i].offset));
	}
}
END_TEST

START_TEST(good_string_values)
{
	static const struct {
		const char *text;
		size_t offset;
		const char *want;
	} cases[] = {
		{ "trust_anchor_file = /etc/unbound/root.key",
		    F(trust_anchor_file), "/etc/unbound/root.key" },
		{ "root_hints = /usr/share/dns/root.hints", F(root_hints),
		    "/usr/share/dns/root.hints" },
		{ "state_dir = /srv/danemap", F(state_dir), "/srv/danemap" },
		{ "cache_file = /srv/danemap/cache.cdb", F(cache_file),
		    "/srv/danemap/cache.cdb" },
		{ "map_name = dane", F(map_name), "dane" },
		{ "map_name = tls-policy_2", F(map_name), "tls-policy_2" },
		{ "user = danemap", F(user), "danemap" },
		{ "socket_group = postfix", F(socket_group), "postfix" },
		/* white space around key and value is not part of them */
		{ "  \tmap_name\t =\t x  \t", F(map_name), "x" },
		/* a comment after the value */
		{ "map_name = y # the map", F(map_name), "y" },
		{ "map_name = y#tight", F(map_name), "y" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].text) == 0, "%s: %s",
		    cases[i].text, err);
		ck_assert_str_eq((const char *)&cfg + cases[i].offset,
		    cases[i].want);
	}
}
END_TEST

/* yes and no, nothing else (the refusals are in bad_values_are_refused). */
START_TEST(boolean_values)
{
	ck_assert_int_eq(parse("mta_sts = no\ntlsrpt = yes\n"
	                       "mta_sts_ca_file = /etc/danemap/ca.pem\n"),
	    0);
	ck_assert(!cfg.mta_sts);
	ck_assert(cfg.tlsrpt);
	ck_assert_str_eq(cfg.mta_sts_ca_file, "/etc/danemap/ca.pem");
	ck_assert_int_eq(parse("mta_sts = yes\ntlsrpt = no\n"), 0);
	ck_assert(cfg.mta_sts);
	ck_assert(!cfg.tlsrpt);
}
END_TEST

/* The probe's keys: defaults, values, limits. */
START_TEST(probe_keys)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_str_eq(cfg.probe_helo, "");
	ck_assert_uint_eq(cfg.probe_expiry_warn, 14);
	ck_assert_uint_eq(cfg.probe_connections, 8);
	ck_assert_uint_eq(cfg.probe_timeout_ms, 10000);
	ck_assert_int_eq(parse("probe_helo = mail.example.com\n"
	                       "probe_expiry_warn = 30\n"
	                       "probe_connections = 1\n"
	                       "probe_timeout = 2500\n"),
	    0);
	ck_assert_str_eq(cfg.probe_helo, "mail.example.com");
	ck_assert_uint_eq(cfg.probe_expiry_warn, 30);
	ck_assert_uint_eq(cfg.probe_connections, 1);
	ck_assert_uint_eq(cfg.probe_timeout_ms, 2500);
	ck_assert_int_eq(parse("probe_expiry_warn = 3651\n"), -1);
	ck_assert_int_eq(parse("probe_connections = 0\n"), -1);
	ck_assert_int_eq(parse("probe_timeout = 999\n"), -1);
	ck_assert_int_eq(cfg.probe_inet_protocols, CONFIG_INET_ALL);
	ck_assert_int_eq(parse("probe_inet_protocols = ipv4\n"), 0);
	ck_assert_int_eq(cfg.probe_inet_protocols, CONFIG_INET_IPV4);
	ck_assert_int_eq(parse("probe_inet_protocols = ipv6\n"), 0);
	ck_assert_int_eq(cfg.probe_inet_protocols, CONFIG_INET_IPV6);
	ck_assert_int_eq(parse("probe_inet_protocols = ip4\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:1: bad value for probe_inet_protocols: "
	    "\"ip4\" (expected all, ipv4 or ipv6)");
	/* every word-valued key says its words the same way */
	ck_assert_int_eq(parse("resolution = forward\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:1: bad value for resolution: "
	    "\"forward\" (expected stub or recursive)");
	ck_assert_int_eq(parse("upstream = 127.0.0.1\ntransport = dot\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: bad value for transport: \"dot\" "
	    "(expected tcp or udp)");
	ck_assert_int_eq(parse("resolution = stub\nupstream = 127.0.0.1\n"
	                       "transport = udp\n"),
	    0);
	ck_assert_int_eq(cfg.resolution, CONFIG_RESOLUTION_STUB);
	ck_assert_int_eq(cfg.transport, CONFIG_TRANSPORT_UDP);
}
END_TEST

/* temp_alert_after: an hour by default, 0 turns the warning off. */
START_TEST(temp_alert_key)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_uint_eq(cfg.temp_alert_after, 3600);
	ck_assert_str_eq(cfg.overrides_file, "");
	ck_assert_int_eq(parse("overrides_file = /etc/danemap/overrides\n"), 0);
	ck_assert_str_eq(cfg.overrides_file, "/etc/danemap/overrides");
	ck_assert_int_eq(parse("overrides_file = overrides\n"), -1);
	ck_assert_int_eq(parse("temp_alert_after = 0\n"), 0);
	ck_assert_uint_eq(cfg.temp_alert_after, 0);
	ck_assert_int_eq(parse("temp_alert_after = 2592000\n"), 0);
	ck_assert_int_eq(parse("temp_alert_after = 2592001\n"), -1);
}
END_TEST

/* Exactly the documented message for a bad number. */
START_TEST(bad_value_message_is_exact)
{
	ck_assert_int_eq(parse("\n\nquery_timeout = abc\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:3: bad value for query_timeout: \"abc\" "
	    "(expected milliseconds 100..60000)");
	ck_assert_int_eq(parse("socket_mode = 0778"), -1);
	ck_assert_str_eq(err,
	    "test.conf:1: bad value for socket_mode: \"0778\" "
	    "(expected octal mode 0..0777)");
	/* a control byte in a value is shown escaped */
	ck_assert_int_eq(parse("user = a\x1b[2Jb"), -1);
	ck_assert_str_eq(err,
	    "test.conf:1: bad value for user: \"a\\x1b[2Jb\" "
	    "(expected a name without spaces, under 64 bytes)");
}
END_TEST

/* Each bad value names the file, the line and the key. */
START_TEST(bad_values_are_refused)
{
	static const char *const cases[] = {
		"query_timeout = 99",
		"query_timeout = 60001",
		"query_timeout = -1",
		"query_timeout = +100",
		"query_timeout = 0x100",
		"query_timeout = 1e3",
		"query_timeout = 100 ms",
		"query_timeout = 1 000",
		"query_timeout = 18446744073709551716",
		"query_timeout = 4294967396",
		"query_timeout = 99999999999999999999999999999",
		"lookup_deadline = 99",
		"lookup_deadline = 90001",
		"lookup_deadline = 100000",
		"max_cname_depth = 0",
		"max_cname_depth = 33",
		"max_connections = 0",
		"max_connections = 1000001",
		"max_lookups = 0",
		"max_lookups = 100001",
		"mta_sts = true",
		"mta_sts = YES",
		"mta_sts = 1",
		"tlsrpt = on",
		"mta_sts_ca_file = ca.pem",
		"mta_sts_timeout = 99",
		"mta_sts_max_fetches = 0",
		"mta_sts_port = 0",
		"mta_sts_port = 65536",
		"idle_timeout = 999",
		"idle_timeout = 3600001",
		"cache_entries = 100000001",
		"cache_entries = -0",
		"min_ttl = 604801",
		"max_ttl = 0",
		"max_ttl = 31536001",
		"socket_mode = 0778",
		"socket_mode = 0800",
		"socket_mode = 1000",
		"socket_mode = 01000",
		"socket_mode = rw-rw----",
		"socket_mode = -660",
		"resolution = Stub",
		"resolution = forward",
		"transport = TCP",
		"transport = tls",
		"transport = udp tcp",
		"log_level = verbose",
		"log_level = INFO",
		"syslog_facility = local8",
		"syslog_facility = kern",
		"trust_anchor_file = root.key",
		"trust_anchor_file = ./root.key",
		"root_hints = named.root",
		"state_dir = var/lib/danemap",
		"cache_file = cache.cdb",
		"map_name = two words",
		"map_name = 0123456789012345678901234567890123456789"
		"012345678901234567890123",
		"user = a b",
		"user = \x01root",
		"socket_group = caf\xc3\xa9",
		"upstream = localhost",
		"upstream = 127.0.0.1@0",
		"upstream = 127.0.0.1@65536",
		"upstream = 127.0.0.1@",
		"upstream = 127.0.0.1@53x",
		"upstream = 127.0.0.1@+53",
		"upstream = ::1@053",
		"upstream = [::1]",
		"upstream = 127.0.0.1:53",
		"upstream = 256.0.0.1",
		"upstream = 127.0.0.1 nope",
		"listen = unix:relative.sock",
		"listen = unix:",
		"listen = /run/x.sock",
		"listen = tcp:127.0.0.1:10025",
		"listen = inet:localhost:10025",
		"listen = inet:127.0.0.1",
		"listen = inet:127.0.0.1:",
		"listen = inet:127.0.0.1:0",
		"listen = inet:127.0.0.1:65536",
		"listen = inet:127.0.0.1:010025",
		"listen = inet:127.0.0.1:smtp",
		"listen = inet:[::1]",
		"listen = inet:[::1:10025",
		"listen = inet:[localhost]:10025",
		"listen = inet::10025",
		"listen = inet:::1:10025", /* IPv6 needs brackets */
		"listen = inet:[127.0.0.1]:10025",
		"listen = inet:10025", /* only metrics_listen takes a port */
		"metrics_listen = unix:/run/m.sock",
		"metrics_listen = 9100",
		"metrics_listen = inet:localhost:9100",
		"metrics_listen = inet:0",
		"metrics_listen = inet:[::1]",
		"control_socket = inet:127.0.0.1:9100",
		"control_socket = unix:relative",
		"control_socket = /run/c.sock",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char key[64], want[128];

		snprintf(key, sizeof(key), "%.*s", (int)strcspn(cases[i], " ="),
		    cases[i]);
		ck_assert_msg(parse(cases[i]) == -1, "accepted: %s", cases[i]);
		snprintf(want, sizeof(want), "test.conf:1: ");
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s -> %s",
		    cases[i], err);
		ck_assert_msg(strstr(err, key) != NULL, "%s -> %s", cases[i],
		    err);
		/* messages are printable, whatever the value held */
		for (const char *p = err; *p != '\0'; p++)
			ck_assert_msg(*p >= 0x20 && *p < 0x7f, "%s -> %s",
			    cases[i], err);
	}
}
END_TEST

/* Path and name sizes: exactly at the limit fails, one less fits. */
START_TEST(string_sizes)
{
	char text[2200], path[1100];

	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[CONFIG_PATH_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "state_dir = %s", path);
	ck_assert_msg(parse(text) == 0, "%s", err);
	ck_assert_uint_eq(strlen(cfg.state_dir), CONFIG_PATH_MAX - 1);
	path[CONFIG_PATH_MAX - 1] = 'p';
	path[CONFIG_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "state_dir = %s", path);
	ck_assert_int_eq(parse(text), -1);

	/* sun_path holds 107 bytes and the NUL */
	path[107] = '\0';
	snprintf(text, sizeof(text), "listen = unix:%s", path);
	ck_assert_msg(parse(text) == 0, "%s", err);
	ck_assert_str_eq(cfg.listen[0].path, path);
	path[107] = 'p';
	path[108] = '\0';
	snprintf(text, sizeof(text), "listen = unix:%s", path);
	ck_assert_int_eq(parse(text), -1);

	memset(path, 'n', CONFIG_NAME_MAX);
	path[CONFIG_NAME_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "map_name = %s", path);
	ck_assert_msg(parse(text) == 0, "%s", err);
	path[CONFIG_NAME_MAX - 1] = 'n';
	path[CONFIG_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "map_name = %s", path);
	ck_assert_int_eq(parse(text), -1);
}
END_TEST

/* upstream: several per line, repeatable, port 53 unless given; the
 * file's first occurrence replaces the list it started with. */
START_TEST(upstreams_accumulate)
{
	static const struct {
		const char *address;
		unsigned port;
	} want[] = {
		{ "127.0.0.1", 5353 },
		{ "::1", 53 },
		{ "192.0.2.1", 53 },
		{ "2001:db8::53", 65535 },
	};

	ck_assert_msg(parse("resolution = stub\n"
	                    "upstream = 127.0.0.1@5353 ::1@53\t192.0.2.1\n"
	                    "upstream = 2001:db8::53@65535\n") == 0,
	    "%s", err);
	ck_assert_uint_eq(cfg.upstream_count, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_str_eq(cfg.upstream[i].address, want[i].address);
		ck_assert_uint_eq(cfg.upstream[i].port, want[i].port);
	}
	/* parsing on top: this file's first upstream line replaces */
	ck_assert_int_eq(config_parse(&cfg, "second.conf",
	                     "upstream = 198.51.100.7\n", 23, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(cfg.upstream_count, 1);
	ck_assert_str_eq(cfg.upstream[0].address, "198.51.100.7");
	/* at most CONFIG_MAX_UPSTREAMS */
	ck_assert_int_eq(parse("upstream = 10.0.0.1 10.0.0.2 10.0.0.3 "
	                       "10.0.0.4\nupstream = 10.0.0.5 10.0.0.6 "
	                       "10.0.0.7 10.0.0.8\n"),
	    0);
	ck_assert_uint_eq(cfg.upstream_count, CONFIG_MAX_UPSTREAMS);
	ck_assert_int_eq(parse("upstream = 10.0.0.1 10.0.0.2 10.0.0.3 "
	                       "10.0.0.4\nupstream = 10.0.0.5 10.0.0.6 "
	                       "10.0.0.7 10.0.0.8 10.0.0.9\n"),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:2: "));
}
END_TEST

/* listen: unix and inet forms; repeatable; replaces the default. */
START_TEST(listens_accumulate)
{
	ck_assert_msg(parse("listen = inet:127.0.0.1:10025\n"
	                    "listen = inet:[::1]:10026\n"
	                    "listen = unix:/tmp/danemap.sock\n") == 0,
	    "%s", err);
	ck_assert_uint_eq(cfg.listen_count, 3);
	ck_assert_int_eq(cfg.listen[0].kind, CONFIG_LISTEN_INET);
	ck_assert_str_eq(cfg.listen[0].address, "127.0.0.1");
	ck_assert_uint_eq(cfg.listen[0].port, 10025);
	ck_assert_int_eq(cfg.listen[1].kind, CONFIG_LISTEN_INET);
	ck_assert_str_eq(cfg.listen[1].address, "::1");
	ck_assert_uint_eq(cfg.listen[1].port, 10026);
	ck_assert_int_eq(cfg.listen[2].kind, CONFIG_LISTEN_UNIX);
	ck_assert_str_eq(cfg.listen[2].path, "/tmp/danemap.sock");

	ck_assert_int_eq(parse("listen = inet:127.0.0.1:1\nlisten = "
	                       "inet:127.0.0.1:65535\n"),
	    0);
	ck_assert_uint_eq(cfg.listen[1].port, 65535);
	ck_assert_int_eq(parse("listen = unix:/a\nlisten = unix:/b\n"
	                       "listen = unix:/c\nlisten = unix:/d\n"
	                       "listen = unix:/e\nlisten = unix:/f\n"
	                       "listen = unix:/g\nlisten = unix:/h\n"),
	    0);
	ck_assert_uint_eq(cfg.listen_count, CONFIG_MAX_LISTEN);
	ck_assert_int_eq(parse("listen = unix:/a\nlisten = unix:/b\n"
	                       "listen = unix:/c\nlisten = unix:/d\n"
	                       "listen = unix:/e\nlisten = unix:/f\n"
	                       "listen = unix:/g\nlisten = unix:/h\n"
	                       "listen = unix:/i\n"),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:9: "));
}
END_TEST

/* metrics_listen: off unless set; a port alone is loopback, any other
 * address only as written. control_socket: a unix path, off unless set. */
START_TEST(metrics_and_control_addresses)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_uint_eq(cfg.metrics_listen.port, 0);
	ck_assert_str_eq(cfg.control_socket.path, "");
	ck_assert_msg(parse(
	                  "metrics_listen = inet:9464\n"
	                  "control_socket = unix:/run/danemap/control\n") == 0,
	    "%s", err);
	ck_assert_int_eq(cfg.metrics_listen.kind, CONFIG_LISTEN_INET);
	ck_assert_str_eq(cfg.metrics_listen.address, "127.0.0.1");
	ck_assert_uint_eq(cfg.metrics_listen.port, 9464);
	ck_assert_int_eq(cfg.control_socket.kind, CONFIG_LISTEN_UNIX);
	ck_assert_str_eq(cfg.control_socket.path, "/run/danemap/control");
	ck_assert_int_eq(parse("metrics_listen = inet:192.0.2.1:9464\n"), 0);
	ck_assert_str_eq(cfg.metrics_listen.address, "192.0.2.1");
	ck_assert_int_eq(parse("metrics_listen = inet:[::1]:9464\n"), 0);
	ck_assert_str_eq(cfg.metrics_listen.address, "::1");
	ck_assert_int_eq(parse("metrics_listen = inet:1\n"
	                       "metrics_listen = inet:2\n"),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
}
END_TEST

/* Single-valued keys may appear once per file. */
START_TEST(duplicate_keys_are_errors)
{
	static const char *const lines[] = {
		"resolution = recursive",
		"trust_anchor_file = /a",
		"query_timeout = 1000",
		"lookup_deadline = 20000",
		"max_cname_depth = 4",
		"log_level = info",
		"syslog_facility = mail",
		"map_name = tlspolicy",
		"user = danemap",
		"socket_group = postfix",
		"socket_mode = 0660",
		"max_connections = 10",
		"max_lookups = 10",
		"idle_timeout = 10000",
		"cache_entries = 10",
		"min_ttl = 10",
		"max_ttl = 100",
		"state_dir = /var/lib/x",
		"cache_file = /var/lib/x/c.cdb",
		"stale_ttl = 60",
		"warm_concurrency = 4",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char text[256], want[128];
		int klen = (int)strcspn(lines[i], " ");

		snprintf(text, sizeof(text), "%s\n# again:\n%s\n", lines[i],
		    lines[i]);
		ck_assert_int_eq(parse(text), -1);
		snprintf(want, sizeof(want),
		    "test.conf:3: duplicate key \"%.*s\"", klen, lines[i]);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(unknown_keys_and_syntax_errors)
{
	static const struct {
		const char *text;
		const char *want; /* prefix of the message */
	} cases[] = {
		{ "foo = 1", "test.conf:1: unknown key \"foo\"" },
		{ "# c\n\nMap_Name = x",
		    "test.conf:3: unknown key \"Map_Name\"" },
		{ "map_name x", "test.conf:1: " },
		{ "map_name", "test.conf:1: " },
		{ "\n\n\nquery_timeout 100\n", "test.conf:4: " },
		{ "= x", "test.conf:1: " },
		{ "map_name =", "test.conf:1: " },
		{ "map_name = # nothing", "test.conf:1: " },
		{ "[main]", "test.conf:1: " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].text) == -1, "%s", cases[i].text);
		ck_assert_msg(strncmp(err, cases[i].want,
		                  strlen(cases[i].want)) == 0,
		    "%s -> %s", cases[i].text, err);
	}
	/* the unknown key is quoted printable in the message */
	ck_assert_int_eq(parse("fo\x1bo = 1"), -1);
	ck_assert_ptr_null(strchr(err, '\x1b'));
}
END_TEST

/* Line numbers count every line: comments, blanks, CRLF lines. */
START_TEST(line_numbers_are_right)
{
	static const char text[] = "# danemap.conf\r\n"
	                           "\r\n"
	                           "map_name = tlspolicy\r\n"
	                           "   # indented comment\n"
	                           "\t\n"
	                           "query_timeout = 1000\n"
	                           "foo = bar\n"
	                           "max_ttl = 1\n";

	ck_assert_int_eq(parse(text), -1);
	ck_assert_str_eq(err, "test.conf:7: unknown key \"foo\"");
}
END_TEST

/* CR of CRLF is not part of the value; the last line needs no newline. */
START_TEST(line_ends)
{
	static const struct {
		const char *text;
		const char *map_name;
		unsigned timeout;
	} cases[] = {
		{ "map_name = a\r\nquery_timeout = 200\r\n", "a", 200 },
		{ "map_name = b\nquery_timeout = 300", "b", 300 },
		{ "map_name = c\r\nquery_timeout = 400\r", "c", 400 },
		{ "query_timeout = 500\nmap_name = d", "d", 500 },
		{ "query_timeout = 600\n\n\n\nmap_name = e\n\n", "e", 600 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].text) == 0, "case %zu: %s", i,
		    err);
		ck_assert_str_eq(cfg.map_name, cases[i].map_name);
		ck_assert_uint_eq(cfg.query_timeout_ms, cases[i].timeout);
	}
	/* a bare CR inside a line is not a line end */
	ck_assert_int_eq(parse("map_name = a\rb\n"), -1);
}
END_TEST

/* The text is counted bytes: a NUL is an error, not an end. */
START_TEST(nul_byte_is_an_error)
{
	static const char text[] = "map_name = a\nuser = x\0y\nfoo = 1\n";

	ck_assert_int_eq(parse_len(text, sizeof(text) - 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:2: "));
	ck_assert_int_eq(parse_len("# \0\n", 4), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:1: "));
	/* the length, not a NUL, ends the text */
	ck_assert_int_eq(parse_len("map_name = abcfoo", 14), 0);
	ck_assert_str_eq(cfg.map_name, "abc");
}
END_TEST

/* Lines are at most 4096 bytes (without the line end). */
START_TEST(long_lines)
{
	static char text[3 * 5000];
	size_t n;

	/* 4096 bytes of comment: fine */
	memset(text, 'x', 4096);
	text[0] = '#';
	memcpy(text + 4096, "\nmap_name = z\n", 14);
	ck_assert_msg(parse_len(text, 4096 + 14) == 0, "%s", err);
	ck_assert_str_eq(cfg.map_name, "z");
	/* ... and with CRLF */
	memcpy(text + 4096, "\r\nmap_name = z\n", 15);
	ck_assert_msg(parse_len(text, 4096 + 15) == 0, "%s", err);
	/* 4097: refused, with its line number */
	n = (size_t)snprintf(text, sizeof(text), "map_name = a\n\n");
	memset(text + n, 'y', 4097);
	text[n] = '#';
	ck_assert_int_eq(parse_len(text, n + 4097), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:3: "));
	/* a long value cannot overflow the message */
	n = (size_t)snprintf(text, sizeof(text), "map_name = ");
	memset(text + n, 'v', 4000);
	ck_assert_int_eq(parse_len(text, n + 4000), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:1: "));
	ck_assert_uint_lt(strlen(err), sizeof(err));
}
END_TEST

/* Cross-key checks run after the whole file: "NAME: message". */
START_TEST(cross_checks)
{
	static const struct {
		const char *text;
		int ok;
	} cases[] = {
		{ "resolution = stub", 0 },
		{ "resolution = stub\nupstream = ::1", 1 },
		{ "upstream = ::1\nresolution = stub", 1 },
		{ "min_ttl = 600\nmax_ttl = 300", 0 },
		{ "min_ttl = 300\nmax_ttl = 300", 1 },
		{ "max_ttl = 299", 0 },         /* default min_ttl 300 */
		{ "query_timeout = 20000", 0 }, /* default deadline 10000 */
		{ "query_timeout = 20000\nlookup_deadline = 20000", 1 },
		{ "lookup_deadline = 2999", 0 }, /* default timeout 3000 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text);

		ck_assert_msg((rc == 0) == cases[i].ok, "%s: %s", cases[i].text,
		    err);
		if (!cases[i].ok)
			ck_assert_msg(strncmp(err, "test.conf: ", 11) == 0,
			    "%s -> %s", cases[i].text, err);
	}
}
END_TEST

/* A small error buffer is filled, terminated, never overrun. */
START_TEST(small_error_buffer)
{
	char small[12];

	memset(small, '#', sizeof(small));
	config_defaults(&cfg);
	ck_assert_int_eq(config_parse(&cfg, "test.conf", "foo = 1", 7, small,
	                     8),
	    -1);
	ck_assert_str_eq(small, "test.co");
	ck_assert_int_eq(small[8], '#');
}
END_TEST

/* ---------------------------------------------------------- config_load */

static char dir[64];

static void
load_setup(void)
{
	check_tmpdir(dir, sizeof(dir), "check_config");
}

static void
load_teardown(void)
{
	check_tmpdir_remove(dir);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(load_reads_a_file)
{
	static const char text[] = "# test\nresolution = stub\n"
	                           "upstream = 127.0.0.1@5353\n"
	                           "map_name = dane\n";
	char path[128];

	snprintf(path, sizeof(path), "%s/danemap.conf", dir);
	write_file(path, text, sizeof(text) - 1);
	memset(&cfg, 0xff, sizeof(cfg));
	ck_assert_msg(config_load(&cfg, path, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(cfg.resolution, CONFIG_RESOLUTION_STUB);
	ck_assert_uint_eq(cfg.upstream[0].port, 5353);
	ck_assert_str_eq(cfg.map_name, "dane");
	/* the rest are defaults */
	ck_assert_uint_eq(cfg.query_timeout_ms, 3000);
	ck_assert_uint_eq(cfg.listen_count, 1);
}
END_TEST

/* Messages name the file as given. */
START_TEST(load_errors_name_the_file)
{
	char path[128], want[200];

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	ck_assert_int_eq(config_load(&cfg, path, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);

	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	write_file(path, "map_name = x\nfoo = 1\n", 21);
	ck_assert_int_eq(config_load(&cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: unknown key \"foo\"", path);
	ck_assert_str_eq(err, want);

	/* a directory is not a configuration file */
	ck_assert_int_eq(config_load(&cfg, dir, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, dir, strlen(dir)) == 0, "%s", err);
}
END_TEST

/* At most 1 MiB is read: exactly 1 MiB loads, one byte more does not. */
START_TEST(load_size_cap)
{
	size_t size = 1024 * 1024;
	char *text = malloc(size + 1), path[128];

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < size + 1; i++)
		text[i] = i % 1024 == 0 ? '#' : i % 1024 == 1023 ? '\n' : 'c';
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	write_file(path, text, size);
	ck_assert_msg(config_load(&cfg, path, err, sizeof(err)) == 0, "%s",
	    err);
	write_file(path, text, size + 1);
	ck_assert_int_eq(config_load(&cfg, path, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
	free(text);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults_are_documented_ones);
	tcase_add_test(tc, good_numeric_values);
	tcase_add_test(tc, good_string_values);
	tcase_add_test(tc, bad_value_message_is_exact);
	tcase_add_test(tc, bad_values_are_refused);
	tcase_add_test(tc, boolean_values);
	tcase_add_test(tc, probe_keys);
	tcase_add_test(tc, temp_alert_key);
	tcase_add_test(tc, string_sizes);
	tcase_add_test(tc, upstreams_accumulate);
	tcase_add_test(tc, listens_accumulate);
	tcase_add_test(tc, duplicate_keys_are_errors);
	tcase_add_test(tc, unknown_keys_and_syntax_errors);
	tcase_add_test(tc, line_numbers_are_right);
	tcase_add_test(tc, line_ends);
	tcase_add_test(tc, nul_byte_is_an_error);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, cross_checks);
	tcase_add_test(tc, metrics_and_control_addresses);
	tcase_add_test(tc, small_error_buffer);
	suite_add_tcase(s, tc);
	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, load_setup, load_teardown);
	tcase_add_test(tc, load_reads_a_file);
	tcase_add_test(tc, load_errors_name_the_file);
	tcase_add_test(tc, load_size_cap);
	suite_add_tcase(s, tc);
	return s;
}
