/*
 * kv.c -- a key-value store in a hash table of fixed-size records (a stand-in
 * for Memcached or Redis): a seeded mix of lookups and updates, every value
 * read checked.
 *
 * Arguments: size=SIZE (8M) the table, ops=N (100000), update=PCT (10) the
 *   share of updates, hot=PCT (20) the share of keys that 80 % of the
 *   operations go to (100: uniform), seed=N (1).
 *
 * The table holds size/64 records of 64 bytes (key, version, six value words
 * derived from both) by open addressing, three quarters full. A lookup finds
 * its key and checks every word of its value; an update bumps the version
 * and rewrites the value.
 *
 * Results: ops, lookups, updates, differ (records not as last written, or
 * keys not found), ops_ticks (the operations alone), tsc_khz.
 */
#include "runtime.h"

#define WORDS 6

struct record {
	uint64_t key; /* key + 1: 0 is an empty slot */
	uint64_t version;
	uint64_t value[WORDS];
};

static const char *const known_args[] = {"size", "ops", "update", "hot", "seed", NULL};

static uint64_t word(uint64_t seed, uint64_t key, uint64_t version, unsigned i)
{
	return splitmix64(seed ^ (key << 20) ^ (version << 4) ^ i);
}

static void write_value(struct record *r, uint64_t seed)
{
	for (unsigned i = 0; i < WORDS; i++)
		r->value[i] = word(seed, r->key, r->version, i);
}

/* The slot holding key (or the empty one it would go to). */
static struct record *slot(struct record *t, uint64_t n, uint64_t key)
{
	uint64_t i = splitmix64(key) % n;

	while (t[i].key && t[i].key != key + 1)
		i = (i + 1) % n;
	return &t[i];
}

int main(int argc, char **argv)
{
	uint64_t size, ops, update, hot, seed, n, keys, x, differ = 0, lookups = 0, updates = 0, t0, t1;
	struct record *t;

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 8 * MIB);
	ops = arg_u64(argc, argv, "ops", 100000);
	update = arg_u64(argc, argv, "update", 10);
	hot = arg_u64(argc, argv, "hot", 20);
	seed = arg_u64(argc, argv, "seed", 1);
	n = size / sizeof(struct record);
	keys = n / 4 * 3;
	if (n < 16 || update > 100 || !hot || hot > 100) {
		printf("error: size=%llu update=%llu hot=%llu: at least 1K, percentages up to 100 (hot from 1)\n",
		       (unsigned long long)size, (unsigned long long)update, (unsigned long long)hot);
		return 2;
	}
	t = free_region(n * sizeof(*t));
	for (uint64_t k = 0; k < keys; k++) {
		struct record *r = slot(t, n, k);

		r->key = k + 1;
		r->version = 0;
		write_value(r, seed);
	}
	t0 = tsc_read();
	for (uint64_t i = 0, hot_keys = keys * hot / 100 ? keys * hot / 100 : 1; i < ops; i++) {
		struct record *r;
		uint64_t k;

		x = splitmix64(seed + 2 * i);
		/* 80 % of the operations on the hot keys (the first hot %), the rest on any key */
		k = x % 100 < 80 ? (x >> 8) % hot_keys : (x >> 8) % keys;
		r = slot(t, n, k);
		if (r->key != k + 1) {
			differ++; /* lost */
			continue;
		}
		for (unsigned w = 0; w < WORDS; w++)
			differ += r->value[w] != word(seed, r->key, r->version, w);
		if (splitmix64(seed + 2 * i + 1) % 100 < update) {
			r->version++;
			write_value(r, seed);
			updates++;
		} else {
			lookups++;
		}
	}
	t1 = tsc_read();
	hc_result("ops", (int64_t)ops);
	hc_result("lookups", (int64_t)lookups);
	hc_result("updates", (int64_t)updates);
	hc_result("differ", (int64_t)differ);
	hc_result("ops_ticks", (int64_t)(t1 - t0));
	hc_result("tsc_khz", (int64_t)boot_params()->tsc_khz);
	printf("kv: %llu ops (%llu lookups, %llu updates) on %llu keys in %llu ticks; %llu differ\n",
	       (unsigned long long)ops, (unsigned long long)lookups, (unsigned long long)updates,
	       (unsigned long long)keys, (unsigned long long)(t1 - t0), (unsigned long long)differ);
	return differ ? 1 : 0;
}
