/*
 * wss.c -- phases of working sets: in each phase the guest touches exactly the
 * first SIZE bytes of one region, again and again, for a given time, so that
 * the hypervisor's working-set estimate can be checked against the truth.
 *
 * Arguments:
 *   phases=SIZE:TIME,...  up to 8 phases (default 16M:2); SIZE a multiple of
 *                         4 KiB (0: an idle phase), K/M/G suffixes; TIME in
 *                         seconds ("2", "2s") or milliseconds ("500ms") of TSC
 *   release=0|1           at a phase's end give back (EMHV_HC_RELEASE) the part
 *                         of the region beyond the next phase's size; after the
 *                         last phase, all of it
 *   seed=N                the data (default 1)
 *   pass_ms=N             at least N ms from the start of one pass to the next
 *                         (default 0: back to back)
 *
 * The region is free_region() of the largest phase. Every 4 KiB page holds
 * seeded data: word 0 is a stamp that changes with every pass, words 1-511
 * are fixed. A phase first settles in: the pages leaving the working set (of
 * the phase before) are checked whole (and released with release=1), the
 * pages newly part of it are written (checked to read zero first if they
 * were never used or were released). Then it makes passes over the whole
 * working set until its time is up: each pass reads, checks and rewrites
 * every page's stamp and checks one more 64-byte line of it (a different
 * line each pass), so every page is read and written in every pass. After
 * the last phase the whole working set is checked (and released).
 *
 * Settling in touches other pages than the phase's working set (in Bochs,
 * writing 128 MiB takes seconds), so the exact working set is known only
 * from the phase's first pass on: while phase<i>_passes is 0 the phase is
 * settling in, once it is 1 or more every page of phase<i>_bytes has been
 * touched in each pass since, and no other page of the region.
 *
 * Results: phase (the phase running, set when it starts to settle in; the
 * number of phases once all are done), phase<i>_bytes (its exact working
 * set: SIZE) and phase<i>_passes (updated while it runs) for the first 6
 * phases, differ (bytes that differed from what was written, or were not
 * zero where zero was due: must be 0), released (bytes given back).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

#define MAX_PHASES	8
/* phase<i>_bytes and _passes for the first 6; with phase, differ and released: 15 results of 16 */
#define REPORTED_PHASES 6
#define PAGE_WORDS	512
#define LINE_WORDS	8
#define LINES		(PAGE_WORDS / LINE_WORDS) /* line 0 holds the stamp */
#define REPORT_MS	20 /* phase<i>_passes at most this often (and after the first pass) */
#define GOLDEN		0x9e3779b97f4a7c15ULL

static const char *const known_args[] = {"phases", "release", "seed", "pass_ms", NULL};

struct phase {
	uint64_t size;
	uint64_t ms;
};

static uint64_t seed;
static volatile uint64_t *region;

/* ---- arguments ---- */

static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'K':
	case 'k':
		return 10;
	case 'M':
	case 'm':
		return 20;
	case 'G':
	case 'g':
		return 30;
	}
	return 0;
}

/* One "SIZE:TIME" at s; 0 with *end after it, or -1. */
static int parse_phase(const char *s, const char **end, struct phase *ph)
{
	unsigned shift;
	char *e;

	if (*s < '0' || *s > '9')
		return -1;
	ph->size = strtoull(s, &e, 10);
	shift = suffix_shift(*e);
	e += shift != 0;
	if (ph->size > (UINT64_MAX >> shift) || *e != ':' || e[1] < '0' || e[1] > '9')
		return -1;
	ph->size <<= shift;
	ph->ms = strtoull(e + 1, &e, 10);
	if (!strncmp(e, "ms", 2)) {
		e += 2;
	} else {
		if (ph->ms > UINT64_MAX / 1000000)
			return -1;
		ph->ms *= 1000;
		e += *e == 's';
	}
	*end = e;
	return 0;
}

/* The phases from "SIZE:TIME,..."; their number, or -1 after one line saying why. */
static int parse_phases(const char *s, struct phase *ph)
{
	const char *p = s;
	int n = 0;

	for (;;) {
		if (n == MAX_PHASES) {
			printf("error: phases=%s: at most %d phases\n", s, MAX_PHASES);
			return -1;
		}
		if (parse_phase(p, &p, &ph[n]) || (*p && *p != ',')) {
			printf("error: phases=%s: expected SIZE:SECONDS[,SIZE:SECONDS...] "
			       "(e.g. 64M:2,16M:500ms)\n", s);
			return -1;
		}
		if (ph[n].size % 4096) {
			printf("error: phases=%s: phase %d: size %llu is not a multiple of 4096\n",
			       s, n, (unsigned long long)ph[n].size);
			return -1;
		}
		n++;
		if (!*p)
			return n;
		p++;
	}
}

/* ---- the data ---- */

static uint64_t page_hash(uint64_t page)
{
	return splitmix64(seed ^ (page << 12));
}

/* The stamp's key in pass version v (a page's stamp is its hash xor this). */
static uint64_t stamp_key(uint64_t v)
{
	return splitmix64(seed + GOLDEN * (v + 1));
}

static unsigned nonzero_bytes(uint64_t x)
{
	unsigned n = 0;

	for (; x; x >>= 8)
		n += (x & 0xff) != 0;
	return n;
}

static volatile uint64_t *page_at(uint64_t page)
{
	return region + page * PAGE_WORDS;
}

static void fill_page(uint64_t page, uint64_t key)
{
	volatile uint64_t *w = page_at(page);
	uint64_t h = page_hash(page);

	w[0] = h ^ key;
	for (unsigned j = 1; j < PAGE_WORDS; j++)
		w[j] = h ^ (j * GOLDEN);
}

/* Bytes of the page that differ from its data with the stamp of key (zero: from all zero). */
static uint64_t check(uint64_t page, bool zero, uint64_t key)
{
	volatile uint64_t *w = page_at(page);
	uint64_t h = zero ? 0 : page_hash(page), any = 0, differ = 0;

	/* the usual answer is none: find that with one OR a word, count bytes only if not */
	for (int count = 0; count < 2; count++) {
		for (unsigned j = 0; j < PAGE_WORDS; j++) {
			uint64_t x = zero ? w[j] : w[j] ^ h ^ (j ? j * GOLDEN : key);

			any |= x;
			if (count)
				differ += nonzero_bytes(x);
		}
		if (!any)
			break;
	}
	return differ;
}

/* One pass over pages [0, n): check and rewrite every stamp (old key to new), check line `line`. */
static uint64_t pass(uint64_t n, uint64_t old_key, uint64_t new_key, unsigned line)
{
	uint64_t differ = 0;

	for (uint64_t p = 0; p < n; p++) {
		volatile uint64_t *w = page_at(p);
		uint64_t h = page_hash(p);

		differ += nonzero_bytes(w[0] ^ h ^ old_key);
		w[0] = h ^ new_key;
		for (unsigned j = line * LINE_WORDS; j < (line + 1) * LINE_WORDS; j++)
			differ += nonzero_bytes(w[j] ^ h ^ (j * GOLDEN));
	}
	return differ;
}

/* ---- phases ---- */

struct run {
	uint64_t khz;
	uint64_t version; /* passes so far: the stamps in the working set hold stamp_key(version) */
	uint64_t have;	  /* bytes of the region holding current data */
	uint64_t used;	  /* bytes of the region ever written */
	bool release;
	uint64_t pass_ms;
	uint64_t differ, released;
};

static void result_i(const char *what, int i, int64_t value)
{
	char name[32];

	if (i >= REPORTED_PHASES)
		return;
	snprintf(name, sizeof(name), "phase%d_%s", i, what);
	hc_result(name, value);
}

static int leave(struct run *r, uint64_t next);

/* Phase i: settle in (the pages beyond size leave, those up to it join), then passes until ms are
 * up; the passes made, or -1 if a release failed. */
static int64_t run_phase(struct run *r, int i, const struct phase *ph)
{
	uint64_t t0 = tsc_read(), end = ph->ms * r->khz, last = t0, passes = 0, now, t;
	uint64_t pages = ph->size / 4096;

	hc_result("phase", i);
	result_i("bytes", i, (int64_t)ph->size);
	result_i("passes", i, 0);
	if (leave(r, ph->size))
		return -1;
	for (uint64_t p = r->have / 4096; p < pages; p++) {
		/* never used, or given back: it must read zero before it is written */
		if (r->release || p * 4096 >= r->used)
			r->differ += check(p, true, 0);
		fill_page(p, stamp_key(r->version));
	}
	if (ph->size > r->used)
		r->used = ph->size;
	r->have = ph->size;
	while ((now = tsc_read()) - t0 < end) {
		if (!pages)
			continue;
		r->differ += pass(pages, stamp_key(r->version), stamp_key(r->version + 1),
				  1 + (unsigned)(r->version % (LINES - 1)));
		r->version++;
		passes++;
		t = tsc_read();
		if (passes == 1 || t - last >= REPORT_MS * r->khz) {
			result_i("passes", i, (int64_t)passes);
			last = t;
		}
		while (r->pass_ms && tsc_read() - now < r->pass_ms * r->khz &&
		       tsc_read() - t0 < end)
			; /* pacing: the region is not touched meanwhile */
	}
	result_i("passes", i, (int64_t)passes);
	return (int64_t)passes;
}

/* The pages beyond next leave the working set (checked whole; released if asked). */
static int leave(struct run *r, uint64_t next)
{
	uint64_t len;
	int64_t err;

	if (next >= r->have)
		return 0;
	for (uint64_t p = next / 4096; p < r->have / 4096; p++)
		r->differ += check(p, false, stamp_key(r->version));
	len = r->have - next;
	r->have = next;
	if (!r->release)
		return 0;
	err = hc_release((uint64_t)(uintptr_t)page_at(next / 4096), len);
	if (err < 0) {
		printf("wss: error: release of %llu bytes at 0x%llx: error %lld\n",
		       (unsigned long long)len, (unsigned long long)(uintptr_t)page_at(next / 4096),
		       (long long)err);
		return -1;
	}
	r->released += len;
	hc_result("released", (int64_t)r->released);
	return 0;
}

int main(int argc, char **argv)
{
	struct phase ph[MAX_PHASES];
	struct run r = {0};
	uint64_t largest = 0, release;
	int64_t passes;
	char sz[32];
	int n, err = 0;

	arg_check(argc, argv, known_args);
	n = parse_phases(arg_str(argc, argv, "phases", "16M:2"), ph);
	if (n < 0)
		return 2;
	release = arg_u64(argc, argv, "release", 0);
	if (release > 1) {
		printf("error: release=%llu: 0 or 1\n", (unsigned long long)release);
		return 2;
	}
	seed = arg_u64(argc, argv, "seed", 1);
	r.pass_ms = arg_u64(argc, argv, "pass_ms", 0);
	r.release = release;
	r.khz = boot_params()->tsc_khz;
	if (!r.khz) {
		puts("error: the TSC rate is unknown: phases cannot be timed");
		return 2;
	}
	for (int i = 0; i < n; i++)
		if (ph[i].size > largest)
			largest = ph[i].size;
	region = free_region(largest);
	hc_result("differ", 0);
	hc_result("released", 0);
	for (int i = 0; i < n && !err; i++) {
		passes = run_phase(&r, i, &ph[i]);
		if (passes < 0) {
			err = 1;
			break;
		}
		printf("wss: phase %d: %s for %llu ms, %llu passes; %llu bytes differ so far\n", i,
		       size_str(sz, sizeof(sz), ph[i].size), (unsigned long long)ph[i].ms,
		       (unsigned long long)passes, (unsigned long long)r.differ);
		hc_result("differ", (int64_t)r.differ);
	}
	hc_result("phase", n);
	err = err || leave(&r, 0);
	hc_result("differ", (int64_t)r.differ);
	return err || r.differ ? 1 : 0;
}
