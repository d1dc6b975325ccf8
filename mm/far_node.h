/*
 * Far memory nodes (mm/far_node.c): RAM set aside from the pool that emulates
 * a remote memory pool (CXL, RDMA, a memory blade). Each node has a size, a
 * latency and a bandwidth; its frames are its own in the pool's accounting
 * (owner FAR_NODE_OWNER_BASE + slot), and a VM's far share (mm/far.c) keeps
 * the pages it cannot hold locally there. The link of each node is one token
 * bucket that every VM on the node shares, so that contention shows.
 */
#ifndef EMHV_MM_FAR_NODE_H
#define EMHV_MM_FAR_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

#define FAR_NODE_MAX 4
#define FAR_NODE_NAME_MAX 16 /* with the NUL */
/* Node i owns its frames as owner FAR_NODE_OWNER_BASE + i (pipes own 64..71, VMs stay below 64). */
#define FAR_NODE_OWNER_BASE 80
/* Latencies from 0 to 1 s, bandwidths from 1 MB/s to 1 TB/s: what the monitor accepts. */
#define FAR_LATENCY_MAX_NS 1000000000ULL
#define FAR_BW_MIN (1ULL << 20)
#define FAR_BW_MAX (1ULL << 40)

struct far_node {
	bool used;
	char name[FAR_NODE_NAME_MAX];
	unsigned owner;
	uint64_t latency_ns, bw; /* bandwidth in bytes per second */
	uint64_t frames, nfree;	 /* its frames, and those holding nothing (linked through their first word) */
	paddr_t free_head;
	unsigned users;		 /* VMs with a far share on it */
	uint64_t link_free_tsc;	 /* TSC when the link has moved everything asked of it so far */
	uint64_t bytes_moved, link_busy_tsc; /* bandwidth consumed: bytes, and TSC ticks the link was busy */
};

/*
 * The link as a token bucket of one transfer at a time: a transfer of `ticks` asked at `now` starts
 * when the link is free (at *free_at, or now if that is past) and holds it for `ticks`; *free_at moves
 * to its end. The ticks from now until it ends (waiting included).
 */
static inline uint64_t far_link_take(uint64_t *free_at, uint64_t now, uint64_t ticks)
{
	uint64_t start = *free_at > now ? *free_at : now;

	*free_at = start + ticks;
	return *free_at - now;
}

/* A node of size bytes (a 4 KiB multiple, at least one page) set aside from the pool; 0, or -1 with why. */
int far_node_add(const char *name, uint64_t size, uint64_t latency_ns, uint64_t bw, char *why, size_t n);
/* Give a node's frames back to the pool; refused while a VM uses it (the caller names them). 0 or -1. */
int far_node_del(struct far_node *nd, char *why, size_t n);
struct far_node *far_node_find(const char *name);
struct far_node *far_node_slot(unsigned i);
/* A frame of the node for a far page, or FRAME_NONE when it is full; its contents are stale. */
paddr_t far_node_get(struct far_node *nd);
void far_node_put(struct far_node *nd, paddr_t pa);
/* Ticks a 4 KiB page takes on the node's link when asked for at now (queueing behind others included). */
uint64_t far_node_transfer(struct far_node *nd, uint64_t now);
/* The node's latency in TSC ticks. */
uint64_t far_node_latency_ticks(const struct far_node *nd);
/* Needs a frame_check() just before: its frames all the node's, the free list as counted. 0, or -1 (why says). */
int far_node_verify(const struct far_node *nd, char *why, size_t n);

#endif
