/*
 * danemap: the command-line side of danemap.
 *
 *   danemap [-c FILE] query [-v] KEY...
 *   danemap [-c FILE] warm [-f FILE]...
 *   danemap [-c FILE] dump
 *   danemap [-c FILE] probe [-j | -C CERT] [-f FILE]... [KEY]...
 *   danemap [-c FILE] flush KEY... | -f FILE... | --all
 *   danemap [-c FILE] stats
 *
 * Reads the configuration (-c FILE, or the default file if it exists, or
 * the built-in defaults) and hands over to the command, one file each:
 *   query.c  the exact reply the daemon would send, and the evidence
 *   warm.c   re-validate every known key, write the cache file
 *   dump.c   list the cache file and the journal
 *   probe.c  check each MX host against the DANE policy, over STARTTLS
 *   controlcmd.c  flush and stats: ask the running daemon
 * What they share (usage text, exit statuses) is in cli.c. Whatever a
 * command printed is flushed before the exit status claims success.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "configfile.h"
#include "log.h"

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct config cfg;
	char err[1024];
	int opt, status;

	log_open("danemap", true, 0);
	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			(void)cli_usage(stdout);
			return EX_OK;
		case 'V':
			printf("danemap %s\n", PACKAGE_VERSION);
			return EX_OK;
		default:
			return cli_usage(stderr);
		}
	}
	if (optind >= argc) {
		return cli_usage(stderr);
	}
	if (config_path != NULL) {
		if (config_load(&cfg, config_path, err, sizeof(err)) != 0) {
			fprintf(stderr, "danemap: %s\n", err);
			return EX_CONFIG;
		}
	} else if (config_load(&cfg, CONFIG_DEFAULT_FILE, err, sizeof(err)) !=
	    0) {
		/* No file at the default place: built-in defaults. A file
		 * that exists but is wrong is still an error. */
		FILE *fp = fopen(CONFIG_DEFAULT_FILE, "r");

		if (fp != NULL) {
			fclose(fp);
			fprintf(stderr, "danemap: %s\n", err);
			return EX_CONFIG;
		}
		config_defaults(&cfg);
	}
	log_set_level((enum log_level)cfg.log_level);

	if (strcmp(argv[optind], "query") == 0)
		status = query_main(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "warm") == 0)
		status = warm_main(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "dump") == 0)
		status = dump_main(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "probe") == 0)
		status = probe_main(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "flush") == 0)
		status = flush_main(&cfg, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "stats") == 0)
		status = stats_main(&cfg, argc - optind, argv + optind);
	else {
		fprintf(stderr, "danemap: unknown command \"%s\"\n",
		    argv[optind]);
		return cli_usage(stderr);
	}
	/* What a command printed must be out before the exit status says
	 * all went well. */
	if (fflush(stdout) != 0 && status != EX_IOERR) {
		fprintf(stderr,
		    "danemap: cannot write to standard output: "
		    "%s\n",
		    strerror(errno));
		status = EX_IOERR;
	}
	return status;
}
