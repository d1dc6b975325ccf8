/* A deterministic PRNG (splitmix64) for the randomized unit tests: seed rng_state, then call rnd(). */
#ifndef EMHV_TEST_RNG_H
#define EMHV_TEST_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

#endif
