/* Host benchmark of the buddy frame allocator (mm/frame.c): ns per alloc+free pair. Not a test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mm/frame.h"

#define SPAN_LO		0x40000000ULL		/* 1 GiB, fake addresses */
#define SPAN_HI		0x80000000ULL
#define SPAN_FRAMES	((SPAN_HI - SPAN_LO) / FRAME_SIZE)
#define PAIRS		2000000UL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_frame: %s: %s\n", what, frame_strerror(err));
	exit(1);
}

/* Fresh allocator over the whole span, everything free. */
static void setup_empty(void *meta, size_t bytes)
{
	int err = frame_init(SPAN_LO, SPAN_HI, meta, bytes);

	if (!err)
		err = frame_add_free(SPAN_LO, SPAN_HI);
	if (err)
		die("setup", err);
}

/*
 * Fragmented: every frame allocated as 4 KiB, then every other frame of the
 * first half and all of the second half freed, so the first half holds
 * 65536 unmergeable 4 KiB holes next to live 4 KiB blocks.
 */
static void setup_fragmented(void *meta, size_t bytes)
{
	uint64_t i;
	int err;

	setup_empty(meta, bytes);
	for (i = 0; i < SPAN_FRAMES; i++)
		if (frame_alloc(FRAME_ORDER_4K, 1) == FRAME_NONE)
			die("fill", -FRAME_ECORRUPT);
	for (i = 0; i < SPAN_FRAMES; i++) {
		if (i < SPAN_FRAMES / 2 && !(i & 1))
			continue;
		err = frame_free(SPAN_LO + i * FRAME_SIZE, FRAME_ORDER_4K, 1);
		if (err)
			die("fragment", err);
	}
}

/* ns per alloc+free pair of one block of the order, in steady state. */
static double time_pairs(unsigned order)
{
	uint64_t t0, t1;
	unsigned long i;
	paddr_t pa;

	for (i = 0; i < PAIRS / 10; i++) {	/* warm-up */
		pa = frame_alloc(order, 2);
		if (pa == FRAME_NONE || frame_free(pa, order, 2))
			die("warm-up", -FRAME_ECORRUPT);
	}
	t0 = now_ns();
	for (i = 0; i < PAIRS; i++) {
		pa = frame_alloc(order, 2);
		if (pa == FRAME_NONE || frame_free(pa, order, 2))
			die("pair", -FRAME_ECORRUPT);
	}
	t1 = now_ns();
	return (double)(t1 - t0) / PAIRS;
}

static double time_check_us(void)
{
	uint64_t t0 = now_ns();
	int err = frame_check();

	if (err)
		die("check", err);
	return (double)(now_ns() - t0) / 1000.0;
}

int main(void)
{
	size_t bytes = frame_meta_bytes(SPAN_LO, SPAN_HI);
	void *meta = malloc(bytes);
	double e4, e2, e1, f4, f2, ce, cf;

	if (!meta)
		return 1;
	setup_empty(meta, bytes);
	e4 = time_pairs(FRAME_ORDER_4K);
	e2 = time_pairs(FRAME_ORDER_2M);
	e1 = time_pairs(FRAME_ORDER_1G);
	ce = time_check_us();
	setup_fragmented(meta, bytes);
	f4 = time_pairs(FRAME_ORDER_4K);
	f2 = time_pairs(FRAME_ORDER_2M);
	cf = time_check_us();

	printf("## Frame allocator (1 GiB fake span, %llu frames, %lu pairs per row)\n\n",
	       (unsigned long long)SPAN_FRAMES, PAIRS);
	printf("| pool | block | ns per alloc+free pair |\n");
	printf("|------|-------|-----------------------:|\n");
	printf("| empty | 4 KiB | %.1f |\n", e4);
	printf("| empty | 2 MiB | %.1f |\n", e2);
	printf("| empty | 1 GiB | %.1f |\n", e1);
	printf("| half fragmented by live 4 KiB | 4 KiB | %.1f |\n", f4);
	printf("| half fragmented by live 4 KiB | 2 MiB | %.1f |\n", f2);
	printf("\n");
	printf("frame_check() on the span: %.0f us empty, %.0f us fragmented\n\n", ce, cf);
	printf("metadata bytes per 4 KiB frame: %zu\n", bytes / (size_t)SPAN_FRAMES);
	free(meta);
	return 0;
}
