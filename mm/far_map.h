/*
 * The remote page map of a VM's far share (mm/far_map.c): for each 4 KiB
 * page of the VM's RAM, the far frame that holds a copy of it, and whether
 * that copy is the only one (the page is far, not present in the nested
 * tables) or the page is local too (the copy stays valid until the page is
 * written, so that evicting it again needs no copy while it is clean).
 */
#ifndef EMHV_MM_FAR_MAP_H
#define EMHV_MM_FAR_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include "far_node.h"

/* An entry: the far frame's number (pa >> 12, below 2^31: far_node_add checks), FAR_MAP_FAR when far; 0: none. */
#define FAR_MAP_FAR (1u << 31)

struct far_map {
	uint32_t *e;	     /* pages entries */
	uint64_t pages;
	uint64_t copies;     /* far frames held */
	uint64_t far;	     /* pages whose far copy is the only one */
};

/* The far frame holding page's copy, or 0. */
static inline paddr_t far_map_copy(const struct far_map *fm, uint64_t page)
{
	return (paddr_t)(fm->e[page] & ~FAR_MAP_FAR) << 12;
}

/* Is the page far (its far copy the only one)? */
static inline bool far_map_is_far(const struct far_map *fm, uint64_t page)
{
	return (fm->e[page] & FAR_MAP_FAR) != 0;
}

/* The frame for page's copy: the one it has, or a new one of nd's; FRAME_NONE when nd has none left. */
paddr_t far_map_hold(struct far_map *fm, struct far_node *nd, uint64_t page);
/* The page (with a copy) is far now: its copy is the only one. */
static inline void far_map_went_far(struct far_map *fm, uint64_t page)
{
	fm->e[page] |= FAR_MAP_FAR;
	fm->far++;
}

/* The far page is local again; its copy stays valid. */
static inline void far_map_came_back(struct far_map *fm, uint64_t page)
{
	fm->e[page] &= ~FAR_MAP_FAR;
	fm->far--;
}

/* The copies of pages [first, end) are stale or unwanted: their frames back to nd. */
void far_map_drop(struct far_map *fm, struct far_node *nd, uint64_t first, uint64_t end);

#endif
