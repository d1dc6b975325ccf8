/*
 * Pre-zeroed 2 MiB frames. A growth fault must hand the guest zeroed memory;
 * zeroing 2 MiB at fault time costs far more than mapping it, so the idle
 * CPU zeroes blocks ahead of time and a fault takes one from here. The
 * blocks belong to the hypervisor while cached (the pool's accounting shows
 * them there) and change owner when taken. When the pool runs dry the cache
 * gives its blocks back first, so it never makes a VM wait.
 */
#include <string.h>
#include "zero_cache.h"

static paddr_t blocks[ZERO_CACHE_MAX_BLOCKS];
static unsigned count, target = ZERO_CACHE_DEFAULT_BLOCKS;

paddr_t zero_cache_take(unsigned owner)
{
	paddr_t pa;

	if (!count)
		return FRAME_NONE;
	pa = blocks[--count];
	frame_transfer(pa, FRAME_ORDER_2M, FRAME_OWNER_HV, owner);
	return pa;
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
	while (zero_cache_refill_one())
		;
}

bool zero_cache_release_one(void)
{
	if (!count)
		return false;
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
