/*
 * kvfill -- writes COUNT Redis SET commands in the Redis protocol (RESP) to
 * standard output, for `redis-cli --pipe`: keys key:000000000000 onwards,
 * the names redis-benchmark's -r gives (key:__rand_int__, twelve digits),
 * each holding SIZE bytes of letters from a seeded generator. Loading a
 * server with every key once, in one stream, takes neither round trips nor
 * overwrites (redis-benchmark's random keys would set a third of them twice
 * and leave a third unset).
 *
 *   kvfill COUNT SIZE [SEED]
 *
 * Exits 0, or 2 on bad arguments or a failed write. A static program of its
 * own, built by mk/linux.mk like memfill.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int parse(const char *s, unsigned long long *out)
{
	char *end;

	*out = strtoull(s, &end, 10);
	return *s && !*end ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long long count, size, seed = 1;
	char *value;

	if (argc < 3 || argc > 4 || parse(argv[1], &count) || parse(argv[2], &size) || !size ||
	    size > (64ULL << 20) || (argc == 4 && parse(argv[3], &seed))) {
		fprintf(stderr, "usage: kvfill COUNT SIZE [SEED]   (SIZE: 1 to 64 MiB of bytes per value)\n");
		return 2;
	}
	value = malloc(size);
	if (!value) {
		fprintf(stderr, "kvfill: no memory for a %llu-byte value\n", size);
		return 2;
	}
	for (unsigned long long i = 0; i < count; i++) {
		uint64_t s = (seed << 32) ^ (i + 1) ^ 0x9e3779b97f4a7c15ULL;

		for (unsigned long long k = 0; k < size; k++)
			value[k] = (char)('a' + next(&s) % 26);
		printf("*3\r\n$3\r\nSET\r\n$16\r\nkey:%012llu\r\n$%llu\r\n", i, size);
		fwrite(value, 1, size, stdout);
		fputs("\r\n", stdout);
	}
	if (fflush(stdout) || ferror(stdout)) {
		perror("kvfill: write");
		return 2;
	}
	return 0;
}
