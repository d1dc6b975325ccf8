/* Pre-zeroed 2 MiB frames for growth faults (and 4 KiB ones for pipes), refilled while the CPU is idle. */
#ifndef EMHV_MM_ZERO_CACHE_H
#define EMHV_MM_ZERO_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "frame.h"

#define ZERO_CACHE_MAX_BLOCKS 512 /* 1 GiB */
#define ZERO_CACHE_DEFAULT_BLOCKS 32

/* A zeroed 2 MiB block now owned by owner, or FRAME_NONE when the cache is empty. */
paddr_t zero_cache_take(unsigned owner);
/* A zeroed 4 KiB frame now owned by owner, from the split block (a block split when none is), or FRAME_NONE. */
paddr_t zero_cache_take_4k(unsigned owner);
/* Zero one more block if the cache is below its target; false when full or the pool is dry. */
bool zero_cache_refill_one(void);
/* Give the split block's frames back, and refill up to the target. */
void zero_cache_fill(void);
/* Give one cached block back to the pool (when the pool runs dry), else the split's frames; false if none. */
bool zero_cache_release_one(void);
/* Set the target in blocks (0 .. ZERO_CACHE_MAX_BLOCKS); blocks above it go back to the pool. */
void zero_cache_set_target(unsigned blocks);
unsigned zero_cache_target(void);
unsigned zero_cache_blocks(void);
unsigned zero_cache_split_frames(void); /* zeroed 4 KiB frames left of the split block */

#endif
