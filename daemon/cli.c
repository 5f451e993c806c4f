/*
 * cli: the danemap usage text (see cli.h). README.md and danemap(1) say
 * the same; keep them in step.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>

static const char usage_text[] =
    "usage: danemap [-c FILE] query [-v] KEY...\n"
    "       danemap [-c FILE] warm [-f FILE]...\n"
    "       danemap [-c FILE] dump\n"
    "       danemap [-c FILE] probe [-v] [-j | -q] [-f FILE]... [KEY]...\n"
    "       danemap [-c FILE] probe -C CERT [-v | -q] [-f FILE]... "
    "[KEY]...\n"
    "       danemap [-c FILE] flush KEY... | -f FILE... | --all\n"
    "       danemap [-c FILE] stats\n"
    "       danemap -h | -V\n"
    "\n"
    "  -c FILE   configuration file (default " CONFIG_DEFAULT_FILE ")\n"
    "  -h        show this help\n"
    "  -V        show the version\n"
    "\n"
    "commands:\n"
    "  query [-v] KEY...  print the socketmap reply for each key, as the\n"
    "                     daemon would send it; -v adds the DNS evidence\n"
    "  warm [-f FILE]...  re-validate the keys of the cache file, the\n"
    "                     daemon's journal and each FILE (- is stdin), and\n"
    "                     write a new cache file\n"
    "  dump               list the cache file and the journal\n"
    "  probe [-v] [-j | -q] [-f FILE]... [KEY]...\n"
    "                     check each MX address of a DANE or MTA-STS policy\n"
    "                     with STARTTLS: TLSA records, or CA and mx names;\n"
    "                     -v the chains, -j JSON, -q problems only\n"
    "  probe -C CERT ...  would the hosts accept CERT? (no connection)\n"
    "  flush KEY...       the running daemon looks these keys up again\n"
    "                     (-f FILE: a list; --all: every key)\n"
    "  stats              the running daemon's counters\n"
    "\n"
    "exit status: query 0 OK, 1 NOTFOUND, 75 TEMP, 74 output failed;\n"
    "warm 0 written, "
    "73 not written (old file intact); dump 66 no cache file;\n"
    "probe 0 verified, 65 some address fails, 69 some unreachable,\n"
    "1 no DANE or MTA-STS policy, 75 TEMP, 66 list or CERT unreadable;\n"
    "flush/stats 0 done, 69 no daemon, 77 refused, 65 not a key;\n"
    "64 usage, 78 configuration\n";

int
cli_read_keys(const char *path,
    void (*fn)(const char *key, size_t len, void *arg), void *arg, char *err,
    size_t err_size)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char line[1100];

	if (fp == NULL) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strcspn(line, "\r\n");

		if (len > 0 && line[0] != '#')
			fn(line, len, arg);
	}
	if (fp != stdin)
		fclose(fp);
	return 0;
}

int
cli_usage(FILE *fp)
{
	fputs(usage_text, fp);
	return EX_USAGE;
}
