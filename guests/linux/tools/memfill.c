/*
 * memfill -- takes SIZE of anonymous memory, fills every byte from a seeded
 * generator, then reads it all back and counts the bytes that differ: a
 * process that may use more memory than the VM has, so that the kernel must
 * swap, and that proves nothing was lost on the way out and back.
 *
 *   memfill SIZE[K|M|G] [SEED] [PASSES]
 *
 * Prints "memfill: <MiB> MiB, <passes> passes, <bad> bytes differ, <ms> ms"
 * and exits 0 when no byte differs, 1 when some do, 2 on bad arguments or
 * no memory. A static program of its own (built by mk/linux.mk with the
 * host's gcc and glibc), not a Debian package: nothing in Debian does
 * exactly this without mlock'ing its memory, which swap cannot take.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

/* xorshift64*: the byte stream of a seed, 8 bytes per step. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	int shift = 0;

	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: break;
	}
	if (*end || !v || v > (1ULL << (40 - shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	uint64_t size, seed = 1, passes = 1, bad = 0;
	struct timespec t0;
	uint64_t *mem;

	if (argc < 2 || argc > 4 || parse_size(argv[1], &size) || size % 8 ||
	    (argc > 2 && !(seed = strtoull(argv[2], NULL, 0))) || (argc > 3 && !(passes = strtoull(argv[3], NULL, 0)))) {
		fprintf(stderr, "usage: memfill SIZE[K|M|G] [SEED (not 0)] [PASSES]\n");
		return 2;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memfill: mmap");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t p = 0; p < passes; p++) {
		uint64_t s = seed + p;

		for (uint64_t i = 0; i < size / 8; i++)
			mem[i] = next(&s);
		s = seed + p;
		for (uint64_t i = 0; i < size / 8; i++) {
			uint64_t want = next(&s), got = mem[i];

			for (uint64_t x = want ^ got; x; x >>= 8)
				bad += (x & 0xff) != 0;
		}
	}
	printf("memfill: %llu MiB, %llu passes, %llu bytes differ, %.0f ms\n", (unsigned long long)(size >> 20),
	       (unsigned long long)passes, (unsigned long long)bad, ms_since(&t0));
	return bad != 0;
}
