/*
 * stsget: fetch one MTA-STS policy with lib/stsfetch and print what came
 * of it, for tests/integration/sts.sh.
 *
 *   stsget [-c CAFILE] [-t TIMEOUT_MS] DOMAIN ADDR PORT
 *
 * Prints one line: status=NAME http=CODE size=BYTES failure=TLSRPT
 * [mode=MODE max_age=N mx=P1,P2] detail="..." and exits 0 if a valid
 * policy came back, 1 if not, 64 on a usage error.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stsfetch.h"

static int status = 1;

static void
done(const struct stsfetch_result *r, void *arg)
{
	const char *failure = stsfetch_tlsrpt_failure(r->status);

	(void)arg;
	printf("status=%s http=%ld size=%zu failure=%s",
	    stsfetch_status_name(r->status), r->http_code, r->size,
	    failure != NULL ? failure : "-");
	if (r->status == STSFETCH_OK) {
		printf(" mode=%s max_age=%u mx=", sts_mode_name(r->policy.mode),
		    (unsigned)r->policy.max_age);
		for (size_t i = 0; i < r->policy.mx_count; i++)
			printf("%s%s", i > 0 ? "," : "", r->policy.mx[i]);
		status = 0;
	}
	printf(" detail=\"%s\"\n", r->detail);
}

int
main(int argc, char **argv)
{
	const char *ca = "", *addr;
	unsigned timeout = 5000;
	struct event_base *base;
	struct stsfetch_ctx *ctx;
	char err[256];
	int opt;

	while ((opt = getopt(argc, argv, "c:t:")) != -1) {
		if (opt == 'c')
			ca = optarg;
		else if (opt == 't')
			timeout = (unsigned)strtoul(optarg, NULL, 10);
		else
			return 64;
	}
	if (argc - optind != 3) {
		fputs("usage: stsget [-c CAFILE] [-t MS] DOMAIN ADDR PORT\n",
		    stderr);
		return 64;
	}
	if ((base = event_base_new()) == NULL ||
	    (ctx = stsfetch_ctx_new(base, ca, timeout, err, sizeof(err))) ==
	        NULL) {
		fprintf(stderr, "stsget: %s\n", base != NULL ? err : "no base");
		return 70;
	}
	addr = argv[optind + 1];
	if (stsfetch_start(ctx, argv[optind], &addr, 1,
	        (unsigned)strtoul(argv[optind + 2], NULL, 10), done,
	        NULL) == NULL) {
		fputs("stsget: cannot start the fetch\n", stderr);
		return 70;
	}
	event_base_dispatch(base);
	stsfetch_ctx_free(ctx);
	event_base_free(base);
	return status;
}
