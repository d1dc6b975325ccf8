/* The far share's eviction queue and its policies (see far_queue.h). */
#include "far_queue.h"

#define CHANCE FAR_QUEUE_CHANCE
#define PAGE_OF(e) ((uint64_t)((e) & ~CHANCE))

/* Entry i from the oldest (i < n). */
static uint32_t *entry(struct far_queue *q, uint64_t i)
{
	return &q->e[(q->head + i) % q->cap];
}

/* Swap entry i into the oldest place. */
static void to_front(struct far_queue *q, uint64_t i)
{
	uint32_t t = *entry(q, 0);

	*entry(q, 0) = *entry(q, i);
	*entry(q, i) = t;
}

static void clock_hand(struct far_queue *q, const struct far_queue_ops *ops, void *ctx)
{
	for (uint64_t n = 2 * q->n; n; n--) {
		uint32_t e = *entry(q, 0);
		int accessed = ops->look(ctx, PAGE_OF(e));

		if (accessed < 0)
			return; /* not local any more: skipped */
		if (!accessed && (!ops->ahead(ctx, PAGE_OF(e)) || (e & CHANCE)))
			return; /* the victim */
		q->head = (q->head + 1) % q->cap; /* a second chance: to the back */
		*entry(q, q->n - 1) = accessed ? (uint32_t)PAGE_OF(e) : e | CHANCE;
	}
}

static void lru(struct far_queue *q, const struct far_queue_ops *ops, void *ctx)
{
	uint64_t best = 0;
	int best_age = -1;

	for (uint64_t i = 0; i < q->n && i < FAR_LRU_LOOK; i++) {
		int age = ops->age(ctx, PAGE_OF(*entry(q, i)));

		if (age < 0) {
			best = i; /* not local any more: skipped at once */
			break;
		}
		if (age > best_age) {
			best = i;
			best_age = age;
		}
	}
	to_front(q, best);
}

void far_queue_choose(struct far_queue *q, enum far_policy policy, const struct far_queue_ops *ops, void *ctx)
{
	switch (policy) {
	case FAR_RANDOM:
		q->rng = q->rng * 6364136223846793005ULL + 1442695040888963407ULL;
		to_front(q, (q->rng >> 33) % q->n);
		break;
	case FAR_CLOCK:
		clock_hand(q, ops, ctx);
		break;
	case FAR_LRU:
		lru(q, ops, ctx);
		break;
	default: /* FIFO: the front as it is */
		break;
	}
}

int64_t far_stride(const uint64_t *h)
{
	int64_t d1 = (int64_t)(h[0] - h[1]), d2 = (int64_t)(h[1] - h[2]), d3 = (int64_t)(h[2] - h[3]);

	return d1 == d2 || d1 == d3 ? d1 : d2 == d3 ? d2 : 0;
}
