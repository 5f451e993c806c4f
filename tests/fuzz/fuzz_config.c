/*
 * fuzz_config: config_parse on arbitrary text either fails with a message
 * or leaves a configuration that passes its own invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "configfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char err[512];

	config_defaults(&cfg);
	err[0] = '\0';
	if (config_parse(&cfg, "fuzz.conf", (const char *)data, size, err,
	        sizeof(err)) != 0) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	if (cfg.upstream_count > CONFIG_MAX_UPSTREAMS ||
	    cfg.listen_count == 0 || cfg.listen_count > CONFIG_MAX_LISTEN ||
	    cfg.min_ttl > cfg.max_ttl ||
	    cfg.query_timeout_ms > cfg.lookup_deadline_ms ||
	    (cfg.resolution == CONFIG_RESOLUTION_STUB &&
	        cfg.upstream_count == 0) ||
	    cfg.map_name[0] == '\0')
		abort();
	return 0;
}
