/* Far memory nodes: frames set aside from the pool, a latency, and a shared link (see far_node.h). */
#include <stdio.h>
#include <string.h>
#include "arch/x86_64/timer.h"
#include "far_node.h"

static struct far_node nodes[FAR_NODE_MAX];

struct far_node *far_node_slot(unsigned i)
{
	return i < FAR_NODE_MAX ? &nodes[i] : NULL;
}

struct far_node *far_node_find(const char *name)
{
	for (unsigned i = 0; i < FAR_NODE_MAX; i++)
		if (nodes[i].used && !strcmp(nodes[i].name, name))
			return &nodes[i];
	return NULL;
}

/* Every free frame of the node back to the pool (all of them, when nothing is in use). */
static void release_free(struct far_node *nd)
{
	while (nd->nfree) {
		paddr_t pa = far_node_get(nd);

		frame_free(pa, FRAME_ORDER_4K, nd->owner);
		nd->frames--;
	}
}

int far_node_add(const char *name, uint64_t size, uint64_t latency_ns, uint64_t bw, char *why, size_t n)
{
	struct far_node *nd = NULL;
	struct frame_stats st;

	frame_get_stats(&st);
	if (size / FRAME_SIZE > st.free) { /* not by draining the pool first: VMs may be growing */
		snprintf(why, n, "the pool has %llu of the %llu frames asked for free", (unsigned long long)st.free,
			 (unsigned long long)(size / FRAME_SIZE));
		return -1;
	}
	if (far_node_find(name)) {
		snprintf(why, n, "a node named '%s' exists", name);
		return -1;
	}
	for (unsigned i = 0; i < FAR_NODE_MAX && !nd; i++)
		if (!nodes[i].used)
			nd = &nodes[i];
	if (!nd) {
		snprintf(why, n, "all %d far nodes are in use", FAR_NODE_MAX);
		return -1;
	}
	*nd = (struct far_node){ .used = true, .owner = FAR_NODE_OWNER_BASE + (unsigned)(nd - nodes),
				 .latency_ns = latency_ns, .bw = bw, .free_head = FRAME_NONE,
				 .latency_ticks = latency_ns * (tsc_hz() / 1000) / 1000000,
				 .us_ticks = tsc_hz() >= 1000000 ? tsc_hz() / 1000000 : 1,
				 /* bw >= 1 MiB/s and tsc_hz < 2^44: no overflow */
				 .page_ticks = FRAME_SIZE * tsc_hz() / bw };
	snprintf(nd->name, sizeof(nd->name), "%s", name);
	for (uint64_t i = 0; i < size / FRAME_SIZE; i++) {
		paddr_t pa = frame_alloc(FRAME_ORDER_4K, nd->owner);

		if (pa != FRAME_NONE && pa && pa < FAR_NODE_PA_LIMIT) {
			nd->frames++;
			far_node_put(nd, pa);
			continue;
		}
		if (pa == FRAME_NONE) {
			snprintf(why, n, "the pool has %llu of the %llu frames asked for free", (unsigned long long)i,
				 (unsigned long long)(size / FRAME_SIZE));
		} else {
			snprintf(why, n, "frame 0x%llx of the pool lies outside [4K, 8T), where far frames must be",
				 (unsigned long long)pa);
			frame_free(pa, FRAME_ORDER_4K, nd->owner);
		}
		release_free(nd); /* what it took, back to the pool */
		nd->used = false;
		return -1;
	}
	return 0;
}

int far_node_del(struct far_node *nd, char *why, size_t n)
{
	if (nd->users || nd->nfree != nd->frames) {
		snprintf(why, n, "node '%s' is in use by %u %s", nd->name, nd->users,
			 nd->users == 1 ? "VM or disk" : "VMs and disks");
		return -1;
	}
	release_free(nd);
	nd->used = false;
	return 0;
}


int far_node_join(struct far_node *nd)
{
	for (unsigned i = 0; i < FAR_NODE_USERS; i++)
		if (!(nd->slots & (1u << i))) {
			nd->slots |= 1u << i;
			nd->link_free_tsc[i] = 0;
			nd->users++;
			return (int)i;
		}
	return -1;
}

void far_node_leave(struct far_node *nd, unsigned slot)
{
	nd->slots &= ~(1u << slot);
	nd->link_free_tsc[slot] = 0; /* idle: no longer counted among the busy */
	nd->users--;
}

uint64_t far_node_move(struct far_node *nd, unsigned slot, uint64_t now, uint64_t bytes)
{
	/* exact for a page; bytes stay below 2^32 and page_ticks below 2^32 (a page at 1 MB/s), so no overflow */
	uint64_t ticks = (nd->page_ticks * bytes + FRAME_SIZE / 2) / FRAME_SIZE;

	nd->bytes_moved += bytes;
	nd->link_busy_tsc += ticks;
	/* slots are taken lowest first: none is held above the highest bit of slots */
	return far_link_take(nd->link_free_tsc, 32u - (unsigned)__builtin_clz(nd->slots), slot, now, ticks);
}

int far_node_verify(const struct far_node *nd, char *why, size_t n)
{
	uint64_t held = frame_counted_frames(nd->owner), listed = 0;

	for (paddr_t pa = nd->free_head; pa != FRAME_NONE && listed <= nd->nfree;
	     pa = *(const paddr_t *)(uintptr_t)pa) {
		unsigned order, owner;

		if (frame_block_of(pa, &order, &owner) || order != FRAME_ORDER_4K || owner != nd->owner) {
			snprintf(why, n, "free frame 0x%llx is not the node's", (unsigned long long)pa);
			return -1;
		}
		listed++;
	}
	if (held != nd->frames || listed != nd->nfree) {
		snprintf(why, n, "the pool says it holds %llu frames of %llu; %llu listed free of %llu",
			 (unsigned long long)held, (unsigned long long)nd->frames, (unsigned long long)listed,
			 (unsigned long long)nd->nfree);
		return -1;
	}
	snprintf(why, n, "%llu frames held, %llu free: ok", (unsigned long long)held, (unsigned long long)listed);
	return 0;
}
