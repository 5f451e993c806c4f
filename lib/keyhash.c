/* keyhash: seeded FNV-1a (see keyhash.h). */
#include "keyhash.h"

#include <sys/random.h>
#include <time.h>

uint32_t
keyhash_seed(void)
{
	static int where;
	uint32_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint32_t)(uintptr_t)&where ^ (uint32_t)time(NULL);
	return seed;
}

uint32_t
keyhash(uint32_t seed, const char *key, size_t len)
{
	uint32_t h = 2166136261u ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}
