/* The virtio memory balloon of a VM (see balloon.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <emhv/x86.h>
#include "arch/x86_64/timer.h"
#include "balloon.h"
#include "mm/vm_take.h"
#include "vm.h"
#include "vm_virtio.h"

/*
 * Queues in the order the driver sets them up; those of features not negotiated are skipped (5.5.2):
 * with statistics the third is Q_STATS, the reporting queue follows.
 */
enum { Q_INFLATE = VIRTIO_BALLOON_Q_INFLATE, Q_DEFLATE = VIRTIO_BALLOON_Q_DEFLATE, Q_STATS, Q_REPORT, Q_NONE };

/* The configuration space (5.5.4). */
struct balloon_config {
	uint32_t num_pages;
	uint32_t actual;
	uint32_t free_page_hint_cmd_id;
	uint32_t poison_val;
};

struct balloon_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

#define PFNS_AT_ONCE 256
#define STATS_EVERY_S 1

static struct balloon balloons[VM_MAX];
static unsigned balloons_used; /* so that the scheduler's loop looks at none when there is none */

struct balloon *balloon_of(const struct vm *vm)
{
	for (unsigned i = 0; i < VM_MAX; i++)
		if (balloons[i].used && balloons[i].vm == vm)
			return &balloons[i];
	return NULL;
}

static unsigned role(const struct balloon *b, unsigned q)
{
	unsigned next = Q_STATS;

	if (q < Q_STATS)
		return q;
	if (b->t.negotiated & (1ULL << VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return Q_STATS;
	if (b->t.negotiated & (1ULL << VIRTIO_BALLOON_F_REPORTING) && q == next)
		return Q_REPORT;
	return Q_NONE;
}

static void refuse(struct balloon *b, uint64_t pages, const char *what, uint64_t gpa)
{
	b->refused += pages;
	snprintf(b->last_refused, sizeof(b->last_refused), "%s at 0x%llx: not in the VM's RAM", what,
		 (unsigned long long)gpa);
}

/* Give [gpa, gpa + len) back through the release path; false when it stopped short (no frame to split). */
static bool give_back(struct balloon *b, uint64_t gpa, uint64_t len)
{
	struct vm_mem *m = &b->vm->mem;
	uint64_t before = m->backed;

	while (len) {
		int64_t done = vm_take_release(m, gpa, len, VM_TAKE_BATCH_LEAVES);

		if (done <= 0)
			break;
		gpa += (uint64_t)done;
		len -= (uint64_t)done;
	}
	b->returned += (before - m->backed) / BALLOON_PAGE;
	return !len;
}

static int pfn_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * An inflate or deflate buffer: page numbers, 4 KiB each. Sorted first, so that neighbours (Linux
 * hands out a split block's pages in turn, not in order) go back together: one release, and one
 * invalidation, per run rather than per page.
 */
static void pages(struct balloon *b, unsigned q, const struct virtq_chain *c)
{
	uint32_t pfn[PFNS_AT_ONCE];
	uint64_t run = 0, run_len = 0;

	for (uint64_t off = 0; off + 4 <= c->read_bytes; off += sizeof(pfn)) {
		int64_t got = virtq_chain_read(&b->t.q[q], c, off, pfn, sizeof(pfn));

		if (got > 0)
			qsort(pfn, (size_t)got / 4, sizeof(pfn[0]), pfn_cmp);
		for (int64_t i = 0; i < got / 4; i++) {
			uint64_t gpa = (uint64_t)pfn[i] * BALLOON_PAGE;

			if (!vm_mem_in_ram(&b->vm->mem, gpa, BALLOON_PAGE)) {
				refuse(b, 1, q == Q_INFLATE ? "inflate" : "deflate", gpa);
				continue;
			}
			if (q == Q_DEFLATE) {
				b->deflated++;
				continue;
			}
			b->inflated++;
			if (run_len && gpa == run + run_len) {
				run_len += BALLOON_PAGE;
				continue;
			}
			if (run_len)
				give_back(b, run, run_len);
			run = gpa;
			run_len = BALLOON_PAGE;
		}
		if (got < (int64_t)sizeof(pfn))
			break;
	}
	if (run_len)
		give_back(b, run, run_len);
}

/* A free-page report: device-writable ranges of free guest memory (Linux: 2 MiB and up). */
static void report(struct balloon *b, const struct virtq_chain *c)
{
	for (unsigned i = 0; i < c->nseg; i++) {
		const struct virtq_seg *s = &c->seg[i];

		if ((s->gpa | s->len) % BALLOON_PAGE || !vm_mem_in_ram(&b->vm->mem, s->gpa, s->len)) {
			refuse(b, s->len / BALLOON_PAGE, "report", s->gpa);
			continue;
		}
		give_back(b, s->gpa, s->len);
		b->reported_bytes += s->len;
	}
	b->reports++;
}

/* A buffer that began at t0 gave frames back: part of the last burst, or the first of a new one. */
static void burst_add(struct balloon *b, uint64_t t0, bool reported, uint64_t frames)
{
	uint64_t now = rdtsc();

	if (!(b->burst.frames[0] | b->burst.frames[1]) || t0 - b->burst.end > tsc_hz() / 1000 * BALLOON_BURST_GAP_MS) {
		b->burst.start = t0;
		b->burst.frames[0] = b->burst.frames[1] = 0;
		b->burst.first[0] = b->burst.first[1] = 0;
		b->burst.busy = 0;
	}
	if (!b->burst.first[reported])
		b->burst.first[reported] = t0;
	b->burst.end = now;
	b->burst.frames[reported] += frames;
	b->burst.busy += now - t0;
}

static void stats(struct balloon *b, const struct virtq_chain *c)
{
	struct balloon_stat st[BALLOON_STATS];
	int64_t got = virtq_chain_read(&b->t.q[Q_STATS], c, 0, st, sizeof(st));

	for (int64_t i = 0; i < got / (int64_t)sizeof(st[0]); i++) {
		if (st[i].tag < BALLOON_STATS) {
			b->stats[st[i].tag] = st[i].val;
			b->stats_seen |= 1u << st[i].tag;
		}
	}
	b->stats_tsc = rdtsc();
}

static void dev_notify(void *dev, unsigned q)
{
	struct balloon *b = dev;
	unsigned r = role(b, q);
	struct virtq_chain c;
	bool pushed = false;
	uint64_t t0, had;

	if (r == Q_NONE)
		return;
	while (virtio_mmio_pop(&b->t, q, &c) == 0) {
		if (r == Q_STATS) {
			if (b->stats_head >= 0) /* a second buffer: the first goes back */
				pushed |= !virtio_mmio_push(&b->t, q, (uint16_t)b->stats_head, 0);
			stats(b, &c);
			b->stats_head = c.head; /* held until fresh figures are wanted */
			continue;
		}
		t0 = rdtsc();
		had = b->returned;
		if (r == Q_REPORT)
			report(b, &c);
		else
			pages(b, r, &c);
		pushed |= !virtio_mmio_push(&b->t, q, c.head, 0);
		if (b->returned != had)
			burst_add(b, t0, r == Q_REPORT, b->returned - had);
	}
	if (pushed)
		virtio_mmio_signal_used(&b->t, q);
}

static uint64_t dev_features(void *dev)
{
	(void)dev;
	return (1ULL << VIRTIO_BALLOON_F_STATS_VQ) | (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
	       (1ULL << VIRTIO_BALLOON_F_REPORTING);
}

static uint32_t dev_config_read(void *dev, uint32_t off, unsigned size)
{
	const struct balloon *b = dev;
	struct balloon_config cfg = { b->target, b->actual, 0, 0 };
	uint32_t v = 0;

	memcpy(&v, (const uint8_t *)&cfg + off, size);
	return v;
}

static void dev_config_write(void *dev, uint32_t off, unsigned size, uint32_t val)
{
	struct balloon *b = dev;

	if (off == offsetof(struct balloon_config, actual) && size == 4)
		b->actual = val; /* what the driver says; the counts above are what it did */
}

static void dev_queue_stop(void *dev, unsigned q)
{
	struct balloon *b = dev;

	if (role(b, q) == Q_STATS)
		b->stats_head = -1;
}

static void dev_reset(void *dev)
{
	struct balloon *b = dev;

	b->stats_head = -1;
	b->actual = 0;
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_BALLOON_DEVICE_ID,
	.num_queues = 4,
	.queue_max = { BALLOON_QUEUE_SIZE, BALLOON_QUEUE_SIZE, BALLOON_QUEUE_SIZE, BALLOON_QUEUE_SIZE },
	.quiet_queues = 0,
	.config_len = sizeof(struct balloon_config),
	.features = dev_features,
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.notify = dev_notify,
	.queue_stop = dev_queue_stop,
	.reset = dev_reset,
};

int balloon_attach(struct vm *vm, char *why, size_t n)
{
	struct virtio_mmio_env env;
	struct balloon *b = NULL;
	int slot;

	if (balloon_of(vm)) {
		snprintf(why, n, "VM '%s' has a balloon already", vm->name);
		return -1;
	}
	slot = vm_virtio_free_slot(vm, why, n);
	if (slot < 0)
		return -1;
	for (unsigned i = 0; i < VM_MAX && !b; i++)
		if (!balloons[i].used)
			b = &balloons[i];
	if (!b) { /* one per VM: cannot happen */
		snprintf(why, n, "no balloon left");
		return -1;
	}
	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->slot = (unsigned)slot;
	b->stats_head = -1;
	vm_virtio_env(vm, b->slot, &env);
	if (virtio_mmio_init(&b->t, &balloon_ops, b, &env, why, n))
		return -1;
	b->used = true;
	balloons_used++;
	vm_virtio_attach(vm, b->slot, &(struct vm_virtio_slot){ &b->t, NULL, b });
	return 0;
}

int balloon_set_target(struct balloon *b, uint64_t bytes, char *why, size_t n)
{
	if (bytes % BALLOON_PAGE || bytes > b->vm->mem.max) {
		snprintf(why, n, "%llu bytes: the balloon holds a multiple of 4 KiB up to the VM's max (%llu MiB)",
			 (unsigned long long)bytes, (unsigned long long)(b->vm->mem.max >> 20));
		return -1;
	}
	b->target = (uint32_t)(bytes / BALLOON_PAGE);
	b->target_tsc = rdtsc();
	virtio_mmio_config_changed(&b->t);
	return 0;
}

void balloon_vm_gone(struct vm *vm)
{
	struct balloon *b = balloon_of(vm);

	if (b) {
		vm_virtio_detach(vm, b->slot);
		b->used = false;
		balloons_used--;
	}
}

void balloon_tick(void)
{
	uint64_t now, every;

	if (!balloons_used)
		return;
	now = rdtsc();
	every = tsc_hz() * STATS_EVERY_S;
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct balloon *b = &balloons[i];

		if (!b->used || b->stats_head < 0 || now - b->stats_tsc < every || !virtio_mmio_live(&b->t))
			continue;
		if (!virtio_mmio_push(&b->t, Q_STATS, (uint16_t)b->stats_head, 0))
			virtio_mmio_signal_used(&b->t, Q_STATS);
		b->stats_head = -1;
		b->stats_tsc = now; /* the next request a period from now, whether or not the driver answers */
	}
}
