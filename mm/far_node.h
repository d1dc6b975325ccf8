/*
 * Far memory nodes (mm/far_node.c): RAM set aside from the pool that emulates
 * a remote memory pool (CXL, RDMA, a memory blade). Each node has a size, a
 * latency and a bandwidth; its frames are its own in the pool's accounting
 * (owner FAR_NODE_OWNER_BASE + slot), and a VM's far share (mm/far.c) keeps
 * the pages it cannot hold locally there. The link of each node is shared by
 * every VM on the node, so that contention shows, and shared fairly: while k
 * VMs have transfers outstanding each moves at 1/k of the bandwidth, so that
 * a VM that floods the link delays its own transfers, not the others' beyond
 * their share (far_link_take).
 */
#ifndef EMHV_MM_FAR_NODE_H
#define EMHV_MM_FAR_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

#define FAR_NODE_MAX 4
/* VMs that can share one node (VM_MAX): each holds a slot of the link. */
#define FAR_NODE_USERS 16
#define FAR_NODE_NAME_MAX 16 /* with the NUL */
/* Node i owns its frames as owner FAR_NODE_OWNER_BASE + i (pipes own 64..71, VMs stay below 64). */
#define FAR_NODE_OWNER_BASE 80
/* A node's frames lie below 8 TiB, so that the remote page map (far_map.h) holds their numbers in 31 bits. */
#define FAR_NODE_PA_LIMIT (1ULL << 43)
/* Latencies from 0 to 1 s, bandwidths from 1 MB/s to 1 TB/s: what the monitor accepts. */
#define FAR_LATENCY_MAX_NS 1000000000ULL
#define FAR_BW_MIN (1ULL << 20)
#define FAR_BW_MAX (1ULL << 40)

struct far_node {
	bool used;
	char name[FAR_NODE_NAME_MAX];
	unsigned owner;
	uint64_t latency_ns, bw; /* bandwidth in bytes per second */
	uint64_t latency_ticks, page_ticks; /* the latency, and a 4 KiB page's time on the link, in TSC ticks */
	uint64_t us_ticks;		     /* TSC ticks in a microsecond, at least 1 (the latency histogram's unit) */
	uint64_t frames, nfree;	 /* its frames, and those holding nothing (linked through their first word) */
	paddr_t free_head;
	unsigned users;		 /* VMs with a far share on it, and disks on it */
	uint32_t slots;		 /* the link slots they hold, a bit each */
	uint64_t link_free_tsc[FAR_NODE_USERS]; /* per slot: TSC when its transfers asked so far are done; 0: idle */
	uint64_t bytes_moved, link_busy_tsc; /* bandwidth consumed: bytes, and TSC ticks the link was busy */
};

/*
 * The link shared by n users, as processor sharing: free_at[i] is when user i's transfers asked so
 * far are done (0 for a slot nobody holds). A transfer that alone takes `ticks`, asked by user u at
 * `now`, starts when u's earlier ones are done (or now) and, with k users busy at its start (u
 * included), takes k times as long: each busy user gets 1/k of the link. Another user's backlog,
 * however long, slows it by that factor only. The ticks from now until it is done (its own queue
 * included).
 */
static inline uint64_t far_link_take(uint64_t *free_at, unsigned n, unsigned u, uint64_t now, uint64_t ticks)
{
	uint64_t start = free_at[u] > now ? free_at[u] : now;
	uint64_t busy = 1;

	for (unsigned i = 0; i < n; i++)
		busy += i != u && free_at[i] > start;
	free_at[u] = start + ticks * busy;
	return free_at[u] - now;
}

/* A node of size bytes (a 4 KiB multiple, at least one page) set aside from the pool; 0, or -1 with why. */
int far_node_add(const char *name, uint64_t size, uint64_t latency_ns, uint64_t bw, char *why, size_t n);
/* Give a node's frames back to the pool; refused while a VM uses it (the caller names them). 0 or -1. */
int far_node_del(struct far_node *nd, char *why, size_t n);
struct far_node *far_node_find(const char *name);
struct far_node *far_node_slot(unsigned i);
/* A frame of the node for a far page, or FRAME_NONE when it is full; its contents are stale. */
static inline paddr_t far_node_get(struct far_node *nd)
{
	paddr_t pa = nd->free_head;

	if (pa == FRAME_NONE)
		return FRAME_NONE;
	nd->free_head = *(const paddr_t *)(uintptr_t)pa;
	nd->nfree--;
	return pa;
}

static inline void far_node_put(struct far_node *nd, paddr_t pa)
{
	*(paddr_t *)(uintptr_t)pa = nd->free_head;
	nd->free_head = pa;
	nd->nfree++;
}
/* A slot of the node's link for a VM, or -1 when all FAR_NODE_USERS are held; and giving it back. */
int far_node_join(struct far_node *nd);
void far_node_leave(struct far_node *nd, unsigned slot);
/* Ticks bytes take on the node's link for the user of `slot` asked at now (its share, its queue). */
uint64_t far_node_move(struct far_node *nd, unsigned slot, uint64_t now, uint64_t bytes);

/* The same for a 4 KiB page. */
static inline uint64_t far_node_transfer(struct far_node *nd, unsigned slot, uint64_t now)
{
	return far_node_move(nd, slot, now, FRAME_SIZE);
}
/* Needs a frame_check() just before: its frames all the node's, the free list as counted. 0, or -1 (why says). */
int far_node_verify(const struct far_node *nd, char *why, size_t n);

#endif
