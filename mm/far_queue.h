/*
 * The eviction queue of a VM's far share (mm/far.c), and the policies that
 * choose from it (mm/far_queue.c). The queue is a ring of the page numbers of
 * the VM's local pages, in the order they became local. A policy puts its
 * victim at the front, and the far layer moves that page out. What a policy
 * needs to know of a page (its accessed bit, its age, whether it came by
 * prefetch and is still local) it asks through far_queue_ops, so that the
 * host's unit tests run the same policies over pages of their own.
 */
#ifndef EMHV_MM_FAR_QUEUE_H
#define EMHV_MM_FAR_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Which local page moves out when one more must come in. */
enum far_policy {
	FAR_FIFO,   /* the oldest to become local */
	FAR_RANDOM, /* any local page, at random */
	FAR_CLOCK,  /* the oldest not accessed since it was last looked at (its accessed bit, cleared on a look) */
	FAR_LRU,    /* of the oldest FAR_LRU_LOOK, the one idle longest by the working-set scans' ages */
	FAR_POLICIES
};
#define FAR_LRU_LOOK 16

#define FAR_HISTORY 4 /* faults remembered for stride detection */

struct far_queue {
	uint32_t *e;		/* cap entries: a page number, and CLOCK's mark (FAR_QUEUE_CHANCE) */
	uint64_t head, n, cap;	/* the oldest entry, entries, capacity */
	uint64_t rng;		/* RANDOM's generator state */
};

struct far_queue_ops {
	/* Whether the page was accessed since the last look, clearing that; -1 when it is not local any more. */
	int (*look)(void *ctx, uint64_t page);
	/* Its age (working-set scans it stayed idle); -1 when it is not local any more. */
	int (*age)(void *ctx, uint64_t page);
	/* Whether it came by prefetch and has not been seen accessed yet. */
	bool (*ahead)(void *ctx, uint64_t page);
};

/* CLOCK's mark on an entry: a prefetched page had its one extra round. */
#define FAR_QUEUE_CHANCE (1u << 31)

static inline void far_queue_push(struct far_queue *q, uint64_t page)
{
	q->e[(q->head + q->n++) % q->cap] = (uint32_t)page;
}

/* The page at the front, out of the queue (q->n > 0). */
static inline uint64_t far_queue_pop(struct far_queue *q)
{
	uint64_t page = q->e[q->head] & ~FAR_QUEUE_CHANCE;

	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->n--;
	return page;
}

/* The page just popped back at the front, as it was. */
static inline void far_queue_unpop(struct far_queue *q)
{
	q->head = (q->head ? q->head : q->cap) - 1;
	q->n++;
}
/*
 * Put the policy's victim at the front (q->n > 0). Pages no longer local may be chosen: the caller
 * skips them. CLOCK looks at most twice round the queue: an accessed page loses its accessed bit and
 * goes to the back, and a prefetched page not accessed yet gets one round more before it can go.
 */
void far_queue_choose(struct far_queue *q, enum far_policy policy, const struct far_queue_ops *ops, void *ctx);

/* The stride (in pages) most of the last FAR_HISTORY faults (newest first) followed: two of three steps; or 0. */
int64_t far_stride(const uint64_t *history);

#endif
