/*
 * cdbbuild: write a cache file of N synthetic records the way the warmer
 * does (cdbwrite: temporary file, cdb_make_finish, fsync, rename) and
 * time it, for the memory and build-time benchmark.
 *
 *   cdbbuild [-s] PATH N [KEYLIST]
 *
 * Keys are "dN.bench.test" (N = 0 .. N-1) with alternating replies, all
 * expiring in a day; with -s every record is instead a DANE NOTFOUND with
 * an MTA-STS policy in mode enforce (mx1.dN.bench.test, *.dN.bench.test)
 * fetched now for a day, as the warmer writes them. With KEYLIST, writes
 * "KEY=REPLY" lines for smload for every 10th key. Prints
 * "records=N bytes=B seconds=S".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cdbwrite.h"
#include "elapsed.h"
#include "record.h"

int
main(int argc, char **argv)
{
	static const enum policy_reply replies[] = { POLICY_REPLY_DANE_ONLY,
		POLICY_REPLY_DANE, POLICY_REPLY_NOTFOUND };
	static const char *const words[] = { "OK dane-only", "OK dane",
		"NOTFOUND " };
	char err[512], key[64], val[RECORD_MAX + 1], text[256], reply[256];
	struct timespec t0;
	struct cdbwrite *w;
	struct stat st;
	unsigned long n;
	FILE *list = NULL;
	time_t now = time(NULL);
	bool sts = argc > 1 && strcmp(argv[1], "-s") == 0;

	if (sts) {
		argc--;
		argv++;
	}
	if (argc < 3) {
		fputs("usage: cdbbuild [-s] PATH N [KEYLIST]\n", stderr);
		return 64;
	}
	n = strtoul(argv[2], NULL, 10);
	if (argc > 3 && (list = fopen(argv[3], "w")) == NULL) {
		perror(argv[3]);
		return 73;
	}
	elapsed_start(&t0);
	if ((w = cdbwrite_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "cdbbuild: %s\n", err);
		return 73;
	}
	for (unsigned long i = 0; i < n; i++) {
		struct record rec = { replies[i % 3], now + 86400, now, NULL, 0 };
		int klen = snprintf(key, sizeof(key), "d%lu.bench.test", i);
		int vlen;

		if (sts) {
			rec.reply = POLICY_REPLY_NOTFOUND;
			rec.sts = text;
			rec.sts_len = (size_t)snprintf(text, sizeof(text),
			    "%lld 20261130 enforce 86400 mx1.%s *.%s",
			    (long long)now, key, key);
			snprintf(reply, sizeof(reply),
			    "OK secure match=mx1.%s:.%s servername=hostname", key,
			    key);
		}
		vlen = record_encode(&rec, val, sizeof(val));

		if (cdbwrite_add(w, key, (size_t)klen, val, (size_t)vlen, err,
		        sizeof(err)) != 0) {
			fprintf(stderr, "cdbbuild: %s\n", err);
			cdbwrite_abort(w);
			return 73;
		}
		if (list != NULL && i % 10 == 0)
			fprintf(list, "%s=%s\n", key,
			    sts ? reply : words[i % 3]);
	}
	if (cdbwrite_commit(w, err, sizeof(err)) != 0) {
		fprintf(stderr, "cdbbuild: %s\n", err);
		return 73;
	}
	if (list != NULL)
		fclose(list);
	stat(argv[1], &st);
	printf("records=%lu bytes=%lld seconds=%.3f\n", n,
	    (long long)st.st_size, elapsed_ms(&t0) / 1e3);
	return 0;
}
