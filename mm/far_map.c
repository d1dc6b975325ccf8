/* The remote page map of a far share (see far_map.h). */
#include "far_map.h"

paddr_t far_map_hold(struct far_map *fm, struct far_node *nd, uint64_t page)
{
	paddr_t pa = far_map_copy(fm, page);

	if (pa)
		return pa;
	pa = far_node_get(nd);
	if (pa == FRAME_NONE)
		return FRAME_NONE;
	fm->e[page] = (uint32_t)(pa >> 12);
	fm->copies++;
	return pa;
}

void far_map_drop(struct far_map *fm, struct far_node *nd, uint64_t first, uint64_t end)
{
	for (uint64_t page = first; page < end && page < fm->pages; page++) {
		if (!fm->e[page])
			continue;
		fm->far -= far_map_is_far(fm, page);
		far_node_put(nd, far_map_copy(fm, page));
		fm->e[page] = 0;
		fm->copies--;
	}
}
