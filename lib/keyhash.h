/*
 * keyhash: the hash for tables keyed by a name a peer can choose (the
 * memory cache, the daemon's running lookups): FNV-1a, seeded per table
 * from getrandom, so nobody can aim their keys at one chain.
 */
#ifndef DANEMAP_KEYHASH_H
#define DANEMAP_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

/* keyhash_seed: a random seed (a weaker one if getrandom fails). */
uint32_t keyhash_seed(void);

/* keyhash: the hash of key[0..len) under seed. */
uint32_t keyhash(uint32_t seed, const char *key, size_t len);

#endif
