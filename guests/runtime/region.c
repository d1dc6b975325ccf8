/* region.c -- the test region the memory guests use: free memory from a 2 MiB boundary on. */
#include "runtime.h"
#include "internal.h"

void *free_region(uint64_t size)
{
	const struct emhv_boot_params *bp = boot_params();
	uint64_t base = align_up(bp->free_start, 2 * MIB);

	if (bp->free_start > bp->mem_max || base > bp->mem_max || size > bp->mem_max - base) {
		printf("error: size=%llu does not fit: the region starts at 0x%llx and RAM ends at "
		       "0x%llx\n",
		       (unsigned long long)size, (unsigned long long)base,
		       (unsigned long long)bp->mem_max);
		hc_exit(RT_EXIT_ARGS);
	}
	return (void *)base;
}
