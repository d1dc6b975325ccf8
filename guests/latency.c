/*
 * latency.c -- what touching a page costs, as the guest sees it: the first
 * touch of pages the hypervisor may have moved to far memory, and a touch
 * of the same page right after (a local hit).
 *
 * Arguments: size=SIZE (16M) the region, probes=N (500, at most 2048) pages
 *   probed, seed=N (1).
 *
 * It writes the first word of every page of the region in order (with a far
 * share smaller than the region the earliest pages move out to far memory
 * meanwhile), then probes N distinct pages in a seeded random order: one
 * load of the page's first word, timed alone (RDTSC after LFENCE on either
 * side: the load is done before the second read), then the same load again
 * at once. Every value read is checked.
 *
 * Results: probes, differ (words not as written), first_median, first_p1,
 * first_p99, hit_median, hit_p1, hit_p99 (TSC ticks), tsc_khz. The medians
 * are what a far share's latency is checked against: with a region many
 * times the local share, most first touches are of far pages.
 */
#include <stdio.h>
#include "runtime.h"

#define MAX_PROBES 2048
#define PAGE	   4096ULL
#define MAX_PAGES  (1ULL << 18) /* a 1 GiB region */

static const char *const known_args[] = {"size", "probes", "seed", NULL};

static uint64_t first[MAX_PROBES], hit[MAX_PROBES];
static uint64_t probed[MAX_PAGES / 64];

static uint64_t value(uint64_t seed, uint64_t page)
{
	return splitmix64(seed ^ (page * PAGE));
}

/* Insertion sort: a few thousand entries at most. */
static void sort(uint64_t *v, uint64_t n)
{
	for (uint64_t i = 1; i < n; i++) {
		uint64_t x = v[i], j = i;

		for (; j && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* The p-th percentile (0..100) of n sorted values. */
static uint64_t pct(const uint64_t *v, uint64_t n, unsigned p)
{
	return v[(n - 1) * p / 100];
}

static void report(const char *name, uint64_t *v, uint64_t n)
{
	char key[24];

	sort(v, n);
	snprintf(key, sizeof(key), "%s_median", name);
	hc_result(key, (int64_t)pct(v, n, 50));
	snprintf(key, sizeof(key), "%s_p1", name);
	hc_result(key, (int64_t)pct(v, n, 1));
	snprintf(key, sizeof(key), "%s_p99", name);
	hc_result(key, (int64_t)pct(v, n, 99));
	printf("latency: %s touches: median %llu, p1 %llu, p99 %llu ticks\n", name,
	       (unsigned long long)pct(v, n, 50), (unsigned long long)pct(v, n, 1),
	       (unsigned long long)pct(v, n, 99));
}

int main(int argc, char **argv)
{
	uint64_t size, pages, n, seed, differ = 0, i, x, t0, t1, t2;
	volatile uint64_t *mem;

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 16 * MIB);
	n = arg_u64(argc, argv, "probes", 500);
	seed = arg_u64(argc, argv, "seed", 1);
	pages = size / PAGE;
	if (size % PAGE || !pages || pages > MAX_PAGES) {
		printf("error: size=%llu: a multiple of 4 KiB up to 1 GiB\n", (unsigned long long)size);
		return 2;
	}
	if (!n || n > MAX_PROBES || n > pages) {
		printf("error: probes=%llu: from 1 to %d, and at most the region's pages\n", (unsigned long long)n,
		       MAX_PROBES);
		return 2;
	}
	mem = free_region(size);
	for (i = 0; i < pages; i++)
		mem[i * PAGE / 8] = value(seed, i);
	for (i = 0, x = seed; i < n; i++) {
		uint64_t page, v, w;

		do /* the next page not probed yet */
			page = (x = splitmix64(x)) % pages;
		while (probed[page / 64] >> (page % 64) & 1);
		probed[page / 64] |= 1ULL << (page % 64);
		t0 = tsc_read();
		v = mem[page * PAGE / 8];
		t1 = tsc_read();
		w = mem[page * PAGE / 8];
		t2 = tsc_read();
		differ += (v != value(seed, page)) + (w != value(seed, page));
		first[i] = t1 - t0;
		hit[i] = t2 - t1;
	}
	hc_result("probes", (int64_t)n);
	hc_result("differ", (int64_t)differ);
	hc_result("tsc_khz", (int64_t)boot_params()->tsc_khz);
	report("first", first, n);
	report("hit", hit, n);
	return differ ? 1 : 0;
}
