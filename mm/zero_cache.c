/*
 * Pre-zeroed 2 MiB frames. A growth fault must hand the guest zeroed memory;
 * zeroing 2 MiB at fault time costs far more than mapping it, so the idle
 * CPU zeroes blocks ahead of time and a fault takes one from here. The
 * blocks belong to the hypervisor while cached (the pool's accounting shows
 * them there) and change owner when taken. When the pool runs dry the cache
 * gives its blocks back first, so it never makes a VM wait.
 *
 * A pipe's page needs one zeroed 4 KiB frame: one block at a time is split
 * into frames that stay the hypervisor's until each is taken (the split).
 */
#include <string.h>
#include "zero_cache.h"

static paddr_t blocks[ZERO_CACHE_MAX_BLOCKS];
static unsigned count, target = ZERO_CACHE_DEFAULT_BLOCKS;
static paddr_t split; /* the next zeroed frame of the split block */
static unsigned split_n;

paddr_t zero_cache_take(unsigned owner)
{
	paddr_t pa;

	if (!count)
		return FRAME_NONE;
	pa = blocks[--count];
	frame_transfer(pa, FRAME_ORDER_2M, FRAME_OWNER_HV, owner);
	return pa;
}

paddr_t zero_cache_take_4k(unsigned owner)
{
	paddr_t pa;

	if (!split_n) {
		if (!count)
			return FRAME_NONE;
		pa = blocks[--count];
		if (frame_split(pa, FRAME_ORDER_2M, FRAME_OWNER_HV)) {
			blocks[count++] = pa;
			return FRAME_NONE;
		}
		split = pa;
		split_n = 1u << FRAME_ORDER_2M;
	}
	if (frame_transfer(split, FRAME_ORDER_4K, FRAME_OWNER_HV, owner))
		return FRAME_NONE;
	pa = split;
	split += FRAME_SIZE;
	split_n--;
	return pa;
}

/* The split block's frames back to the pool; false if there were none. */
static bool drop_split(void)
{
	if (!split_n)
		return false;
	for (; split_n; split_n--, split += FRAME_SIZE)
		frame_free(split, FRAME_ORDER_4K, FRAME_OWNER_HV);
	return true;
}

bool zero_cache_refill_one(void)
{
	paddr_t pa;

	if (count >= target)
		return false;
	pa = frame_alloc(FRAME_ORDER_2M, FRAME_OWNER_HV);
	if (pa == FRAME_NONE)
		return false;
	memset((void *)pa, 0, FRAME_SIZE << FRAME_ORDER_2M);
	blocks[count++] = pa;
	return true;
}

void zero_cache_fill(void)
{
	drop_split(); /* so that the pool looks as it did before whatever took from it */
	while (zero_cache_refill_one())
		;
}

bool zero_cache_release_one(void)
{
	if (!count)
		return drop_split();
	frame_free(blocks[--count], FRAME_ORDER_2M, FRAME_OWNER_HV);
	return true;
}

void zero_cache_set_target(unsigned n)
{
	target = n < ZERO_CACHE_MAX_BLOCKS ? n : ZERO_CACHE_MAX_BLOCKS;
	while (count > target)
		zero_cache_release_one();
}

unsigned zero_cache_target(void)
{
	return target;
}

unsigned zero_cache_blocks(void)
{
	return count;
}

unsigned zero_cache_split_frames(void)
{
	return split_n;
}
