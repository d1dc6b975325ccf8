/*
 * volatile.c -- a cache in volatile memory (Kawai's weak pointers): fill a
 * region with data it could rebuild, let the hypervisor drop pages of it while
 * it is unpinned, then pin it and count what was lost and what survived.
 *
 * Arguments: size=SIZE (16M, a multiple of 4 KiB), hold=SECS (5), seed=N (1),
 *   again=1: after the first round, rebuild the lost pages, unpin, hold and
 *   pin once more.
 *
 * Each round: the region is volatile (hc_volatile, later hc_unpin), `ready`
 * is reported (1, then 2 for the second round), the guest waits up to SECS
 * of TSC time or until a line arrives on the console ('vm send VM go')
 * without touching the region, then pins it (hc_pin says how many pages were
 * dropped) and reads every page: all zero means lost (every word of the data
 * is non-zero, so no intact page reads zero); anything else must equal its
 * data byte for byte.
 *
 * Results: pages, ready, pin_lost, lost, survived, bad (pages neither intact
 * nor zero: must be 0); with again=1 also pin_lost2, lost2, survived2 (bad
 * counts both rounds). A failed hypercall is reported as the result it
 * should have set, negative.
 */
#include <stdio.h>
#include "runtime.h"

static const char *const known_args[] = {"size", "hold", "seed", "again", NULL};

/* The data of word i of the region: never zero. */
static uint64_t data(uint64_t seed, uint64_t i)
{
	return splitmix64(seed ^ i) | 1;
}

static void fill_page(volatile uint64_t *mem, uint64_t page, uint64_t seed)
{
	uint64_t i;

	for (i = page * 512; i < (page + 1) * 512; i++)
		mem[i] = data(seed, i);
}

/* Wait up to secs of TSC time or until a line ends on the console (looked at once a ms). */
static void hold(uint64_t secs)
{
	uint64_t khz = boot_params()->tsc_khz, t0 = tsc_read(), last = t0, now;
	int c;

	while ((now = tsc_read()) - t0 < secs * khz * 1000) {
		if (now - last < khz)
			continue;
		last = now;
		while ((c = uart_trygetc()) >= 0)
			if (c == '\r' || c == '\n')
				return;
	}
}

struct tally {
	uint64_t lost, survived, bad;
};

/* Sort every page into lost (all zero), survived (intact) or bad; rebuild the lost ones. */
static void check(volatile uint64_t *mem, uint64_t pages, uint64_t seed, struct tally *t)
{
	uint64_t p, i, zero, same;

	for (p = 0; p < pages; p++) {
		zero = same = 0;
		for (i = p * 512; i < (p + 1) * 512; i++) {
			uint64_t v = mem[i];

			zero += v == 0;
			same += v == data(seed, i);
		}
		if (same == 512) {
			t->survived++;
		} else if (zero == 512) {
			t->lost++;
			fill_page(mem, p, seed);
		} else {
			if (t->bad < 4)
				printf("volatile: page %llu at 0x%llx: %llu of 512 words intact, "
				       "%llu zero\n",
				       (unsigned long long)p,
				       (unsigned long long)(uintptr_t)&mem[p * 512],
				       (unsigned long long)same, (unsigned long long)zero);
			t->bad++;
		}
	}
}

/* Round 1 or 2: wait, pin, count. Results pin_lost, lost, survived (+ "2" in round 2); 0 or -1. */
static int round_trip(volatile uint64_t *mem, uint64_t pages, uint64_t seed, uint64_t secs,
		      int round, struct tally *t)
{
	const char *sfx = round == 1 ? "" : "2";
	char name[32];
	int64_t lost;

	hold(secs);
	lost = hc_pin((uint64_t)(uintptr_t)mem, pages * 4096);
	snprintf(name, sizeof(name), "pin_lost%s", sfx);
	hc_result(name, lost);
	if (lost < 0) {
		printf("volatile: error: pin: error %lld\n", (long long)lost);
		return -1;
	}
	check(mem, pages, seed, t);
	snprintf(name, sizeof(name), "lost%s", sfx);
	hc_result(name, (int64_t)t->lost);
	snprintf(name, sizeof(name), "survived%s", sfx);
	hc_result(name, (int64_t)t->survived);
	printf("volatile: round %d: pin says %lld pages lost; %llu zero, %llu intact, %llu bad\n",
	       round, (long long)lost, (unsigned long long)t->lost, (unsigned long long)t->survived,
	       (unsigned long long)t->bad);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t size, secs, seed, again, pages, p;
	struct tally t1 = {0}, t2 = {0};
	volatile uint64_t *mem;
	int64_t r;
	int err;

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 16 * MIB);
	secs = arg_u64(argc, argv, "hold", 5);
	seed = arg_u64(argc, argv, "seed", 1);
	again = arg_u64(argc, argv, "again", 0);
	if (!size || size % 4096) {
		printf("error: size=%llu: must be a positive multiple of 4096\n",
		       (unsigned long long)size);
		return 2;
	}
	if (again > 1) {
		printf("error: again=%llu: 0 or 1\n", (unsigned long long)again);
		return 2;
	}
	mem = free_region(size);
	pages = size / 4096;
	hc_result("pages", (int64_t)pages);
	for (p = 0; p < pages; p++)
		fill_page(mem, p, seed);
	r = hc_volatile((uint64_t)(uintptr_t)mem, size);
	if (r < 0) {
		printf("volatile: error: volatile: error %lld\n", (long long)r);
		hc_result("ready", r);
		return 1;
	}
	hc_result("ready", 1);
	err = round_trip(mem, pages, seed, secs, 1, &t1);
	if (!err && again) {
		r = hc_unpin((uint64_t)(uintptr_t)mem, size);
		hc_result("ready", r < 0 ? r : 2);
		if (r < 0) {
			printf("volatile: error: unpin: error %lld\n", (long long)r);
			err = -1;
		} else {
			err = round_trip(mem, pages, seed, secs, 2, &t2);
		}
	}
	hc_result("bad", (int64_t)(t1.bad + t2.bad));
	return err || t1.bad || t2.bad ? 1 : 0;
}
