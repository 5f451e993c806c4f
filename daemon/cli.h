/*
 * cli: what the danemap commands share: the usage text and the exit
 * statuses (sysexits(3), plus 1 for NOTFOUND as grep(1) has it).
 *
 * Deliberately not here: any command (one file each: query.c, warm.c,
 * dump.c), reading the configuration (danemap.c).
 */
#ifndef DANEMAP_CLI_H
#define DANEMAP_CLI_H

#include <stdio.h>
#include <sysexits.h>

#include "configfile.h"

/* Exit status of `danemap query` when a key got NOTFOUND and none TEMP. */
#define CLI_EX_NOTFOUND 1

/* cli_usage: print the usage text to fp; returns EX_USAGE, so a command
 * can end with `return cli_usage(stderr);`. */
int cli_usage(FILE *fp);

/*
 * cli_read_keys: call fn for each key of the list file at path ("-" is
 * standard input): a key a line, blank lines and "#" comments skipped,
 * line ends stripped. Returns 0, or -1 with a message in err.
 */
int cli_read_keys(const char *path,
    void (*fn)(const char *key, size_t len, void *arg), void *arg, char *err,
    size_t err_size);

/* The commands: argv[0] is the command's name, options follow. Each
 * returns the program's exit status. */
int query_main(const struct config *cfg, int argc, char **argv);
int warm_main(const struct config *cfg, int argc, char **argv);
int dump_main(const struct config *cfg, int argc, char **argv);
int probe_main(const struct config *cfg, int argc, char **argv);
int flush_main(const struct config *cfg, int argc, char **argv);
int stats_main(const struct config *cfg, int argc, char **argv);

#endif
