/*
 * dump: `danemap dump` lists the cache file (key, reply, expiry, source)
 * and the keys waiting in the daemon's journal. A record that holds an
 * MTA-STS policy gets a second line for it: the key, "mta-sts/MODE", the
 * policy's own expiry (fetched + max_age), and "policy id=ID mx=P1,P2". Exit status 0, or 66 when
 * there is no readable cache file (the journal is still listed).
 */
#include <stdio.h>
#include <time.h>

#include "cdbread.h"
#include "cli.h"
#include "journal.h"
#include "log.h"
#include "record.h"
#include "sts.h"

static int
dump_record(const char *key, size_t key_len, enum record_status status,
    const struct record *rec, void *arg)
{
	time_t now = *(const time_t *)arg;
	char clean[600], when[64];
	static struct sts_cached c;

	log_sanitize(clean, sizeof(clean), key, key_len, 300);
	if (status != RECORD_OK) {
		printf("%s\t?\t-\tcdb (%s record, ignored)\n", clean,
		    status == RECORD_UNKNOWN_VERSION ? "unknown version"
		                                     : "corrupt");
		return 0;
	}
	log_utc_time(when, sizeof(when), rec->expires);
	printf("%s\t%s\t%s\tcdb%s\n", clean, record_reply_word(rec->reply),
	    when, now >= (time_t)rec->expires ? " (expired)" : "");
	if (rec->sts != NULL && sts_cached_decode(rec->sts, rec->sts_len, &c) == 0) {
		int64_t until = c.fetched + (int64_t)c.policy.max_age;

		log_utc_time(when, sizeof(when), until);
		printf("%s\tmta-sts/%s\t%s\tpolicy id=%s mx=", clean,
		    sts_mode_name(c.policy.mode), when, c.id);
		for (size_t i = 0; i < c.policy.mx_count; i++)
			printf("%s%s", i > 0 ? "," : "", c.policy.mx[i]);
		printf("%s\n", now >= (time_t)until ? " (expired)" : "");
	}
	return 0;
}

static int
dump_journal_key(const char *key, size_t len, void *arg)
{
	char clean[600];

	(void)arg;
	printf("%s\t-\t-\tjournal\n",
	    log_sanitize(clean, sizeof(clean), key, len, 300));
	return 0;
}

static int
dump_rotated(const char *file, void *arg)
{
	return journal_read(file, dump_journal_key, arg, NULL);
}

int
dump_main(const struct config *cfg, int argc, char **argv)
{
	char err[1024], journal[CONFIG_PATH_MAX + 16];
	time_t now = time(NULL);
	int status = EX_OK;

	(void)argv;
	if (argc != 1) {
		return cli_usage(stderr);
	}
	printf("# key\treply\texpires\tsource\n");
	if (cdbread_scan(cfg->cache_file, dump_record, &now, err,
	        sizeof(err)) != 0) {
		fprintf(stderr, "danemap: dump: %s\n", err);
		status = EX_NOINPUT;
	}
	(void)journal_path(cfg->state_dir, journal, sizeof(journal));
	(void)journal_read(journal, dump_journal_key, NULL, NULL);
	(void)journal_rotated_each(journal, dump_rotated, NULL);
	return status;
}
