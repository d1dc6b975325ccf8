/*
 * Pipes between VMs (see pipe.h and include/emhv/pipe.h). The region's
 * frames belong to the pipe; each is mapped into both VMs, at the same
 * offset of each end's shared-memory window. Nothing a guest writes into
 * the region is trusted: the header is read, checked and only counted
 * from, and a header that stops making sense stops the shrinking (the
 * pipe is "broken") but never the hypervisor or the other VM.
 */
#include <stdio.h>
#include <string.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/timer.h"
#include "mm/vm_take.h"
#include "mm/zero_cache.h"
#include "cmdline.h"
#include "pipe.h"
#include "vm.h"

#define TICK_US	     1000 /* how often each header is read */
#define WALK_RECORDS 4096 /* records counted per pipe per tick at most */
/* The margin after head and the pace decay by 1/MARGIN_DECAY of their excess over now per tick. */
#define MARGIN_DECAY 64
/* Passed pages that the sender, at its recent pace, writes again within this many ticks stay backed. */
#define REUSE_TICKS 8
/*
 * A fault backs this many pages after the one touched (if not yet backed), at most one per
 * AHEAD_SHARE pages the pipe has backed: the sender's next pages cost it no exit of their own, and
 * the pipe holds at most about 1/AHEAD_SHARE more than the data in flight for it.
 */
#define AHEAD_MAX   4
#define AHEAD_SHARE 6

static struct pipe pipes[PIPE_MAX];

struct pipe *pipe_slot(unsigned i)
{
	return i < PIPE_MAX ? &pipes[i] : NULL;
}

struct pipe *pipe_find(const char *name)
{
	for (unsigned i = 0; i < PIPE_MAX; i++)
		if (pipes[i].used && !strcmp(pipes[i].name, name))
			return &pipes[i];
	return NULL;
}

uint64_t pipe_frames(const struct pipe *p)
{
	return frame_owner_frames(p->owner);
}

static struct pipe_end *peer(struct pipe_end *e)
{
	return &e->pipe->end[e == &e->pipe->end[PIPE_SEND] ? PIPE_RECV : PIPE_SEND];
}

static uint64_t window(const struct pipe_end *e)
{
	return vm_virtio_shm_base(e->slot);
}

static struct emhv_pipe_header *header(const struct pipe *p)
{
	return (struct emhv_pipe_header *)(uintptr_t)p->page[0];
}

/* ---- the region's pages ---- */

/*
 * Map pages [i, j), all backed, into every open end, each run of consecutive frames at once;
 * -NPT_ENOMEM when a VM had no frame for a page table.
 */
static int map_pages(struct pipe *p, uint64_t i, uint64_t j)
{
	for (uint64_t k = i, n; k < j; k += n) {
		for (n = 1; k + n < j && p->page[k + n] == p->page[k] + n * FRAME_SIZE; n++)
			;
		for (unsigned x = 0; x < PIPE_ENDS; x++) {
			struct pipe_end *e = &p->end[x];
			int r;

			if (!e->vm)
				continue;
			r = vm_mem_map_shared(&e->vm->mem, window(e) + k * FRAME_SIZE, p->page[k], (unsigned)n);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Back page i with a zeroed frame of the pipe's (one zeroed while the CPU idled if any); false when the pool is dry. */
static bool back_page(struct pipe *p, uint64_t i)
{
	paddr_t pa = zero_cache_take_4k(p->owner);

	if (pa == FRAME_NONE) {
		pa = frame_alloc(FRAME_ORDER_4K, p->owner);
		if (pa == FRAME_NONE)
			return false;
		memset((void *)(uintptr_t)pa, 0, FRAME_SIZE);
	}
	p->page[i] = pa;
	p->backed[i / 64] |= 1ULL << (i % 64);
	if (++p->allocated > p->peak)
		p->peak = p->allocated;
	return true;
}

/* The first backed page in [i, to), or to. */
static uint64_t next_backed(const struct pipe *p, uint64_t i, uint64_t to)
{
	while (i < to) {
		uint64_t w = p->backed[i / 64] >> (i % 64);

		if (w)
			return i + (uint64_t)__builtin_ctzll(w) < to ? i + (uint64_t)__builtin_ctzll(w) : to;
		i = (i / 64 + 1) * 64;
	}
	return to;
}

/* The end of the run of backed pages that page i (backed) begins, at most to. */
static uint64_t backed_end(const struct pipe *p, uint64_t i, uint64_t to)
{
	while (++i < to && p->backed[i / 64] >> (i % 64) & 1)
		;
	return i;
}

/* Give back pages [from, to) of the region: unmapped from both ends (and invalidated) first. */
static void take_pages(struct pipe *p, uint64_t from, uint64_t to)
{
	for (uint64_t i = next_backed(p, from, to), j; i < to; i = next_backed(p, j, to)) {
		j = backed_end(p, i, to);
		for (unsigned k = 0; k < PIPE_ENDS; k++) /* one run of backed pages at a time */
			if (p->end[k].vm)
				vm_take_shared(&p->end[k].vm->mem, window(&p->end[k]) + i * FRAME_SIZE,
					       (j - i) * FRAME_SIZE);
		for (; i < j; i++) {
			frame_free(p->page[i], FRAME_ORDER_4K, p->owner);
			p->page[i] = FRAME_NONE;
			p->backed[i / 64] &= ~(1ULL << (i % 64));
			p->allocated--;
			p->taken++;
		}
	}
}

/*
 * The last page of the sender's reservation (pipe.h: it writes below reserve before it publishes
 * head) when page i holds part of it, or i. Not across the ring's end: a reservation that wraps
 * has a skip record's stretch before the end, which is never written.
 */
static uint64_t reserved_to(const struct pipe *p, uint64_t i)
{
	const struct emhv_pipe_header *h = header(p);
	uint64_t head = h->head, reserve = h->reserve, first = EMHV_PIPE_DATA_OFF / FRAME_SIZE, from, last;

	if (p->broken[0] || i < first || reserve <= head || reserve - head > p->data_size)
		return i;
	from = first + head % p->data_size / FRAME_SIZE;
	last = first + (reserve - 1) % p->data_size / FRAME_SIZE;
	if (from <= last ? i < from || i > last : i > last) /* outside it, or in the stretch before the end */
		return i;
	return last;
}

static uint64_t ahead(const struct pipe *p)
{
	return p->allocated / AHEAD_SHARE < AHEAD_MAX ? p->allocated / AHEAD_SHARE : AHEAD_MAX;
}

/*
 * A fault in an end's window: back the page if it is not yet, map it into both ends; and the rest
 * of the sender's reservation with it, so that a record across pages costs one fault, and a few
 * pages after (ahead). Not past a page already backed: the ring's other side.
 */
static int shm_fault(void *dev, uint64_t offset)
{
	struct pipe_end *e = dev;
	struct pipe *p = e->pipe;
	uint64_t i = offset / FRAME_SIZE, last, j;

	if (offset >= p->size)
		return DEVBUS_NOTHING;
	if (p->page[i] == FRAME_NONE) {
		if (!back_page(p, i))
			return DEVBUS_NOMEM;
		p->faults++;
	}
	last = reserved_to(p, i);
	if (i >= EMHV_PIPE_DATA_OFF / FRAME_SIZE && last < i + ahead(p))
		last = i + ahead(p);
	if (last >= p->size / FRAME_SIZE)
		last = p->size / FRAME_SIZE - 1;
	for (j = i + 1; j <= last && p->page[j] == FRAME_NONE && back_page(p, j); j++)
		p->faults++;
	/* a VM that had no frame for a page table waits for memory: its fault again maps what is left */
	return map_pages(p, i, j) ? DEVBUS_NOMEM : DEVBUS_MAPPED;
}

/* ---- the device at each end ---- */

static uint64_t dev_features(void *dev)
{
	(void)dev;
	return 0; /* VIRTIO_F_VERSION_1 (added by the transport) and nothing else */
}

static uint32_t dev_config_read(void *dev, uint32_t off, unsigned size)
{
	struct pipe_end *e = dev;
	struct pipe *p = e->pipe;
	struct emhv_pipe_config c = { 0 };
	uint32_t v = 0;

	c.role = e == &p->end[PIPE_SEND] ? EMHV_PIPE_ROLE_SEND : EMHV_PIPE_ROLE_RECV;
	c.peer_id = (uint32_t)peer(e)->vm_id;
	c.size = p->size;
	memcpy(c.name, p->name, sizeof(c.name));
	memcpy(&v, (const uint8_t *)&c + off, size); /* off + size <= config_len: the transport checked */
	return v;
}

static void dev_config_write(void *dev, uint32_t off, unsigned size, uint32_t val)
{
	(void)dev, (void)off, (void)size, (void)val; /* read-only */
}

static bool dev_shm(void *dev, uint8_t id, uint64_t *base, uint64_t *len)
{
	struct pipe_end *e = dev;

	if (id != 0)
		return false;
	*base = window(e);
	*len = e->pipe->size;
	return true;
}

/*
 * An event for end e: into its next events buffer, or counted as dropped (events are hints). A
 * buffer too small for it goes back empty (used length 0), so that the driver gets it back.
 */
static void deliver(struct pipe_end *e, uint32_t ev)
{
	struct virtq_chain c;
	uint32_t len = sizeof(ev);

	if (!e->vm || virtio_mmio_pop(&e->t, EMHV_PIPE_Q_EVENTS, &c) != 0) {
		e->dropped++;
		return;
	}
	if (c.write_bytes < sizeof(ev) ||
	    virtq_chain_write(&e->t.q[EMHV_PIPE_Q_EVENTS], &c, 0, &ev, sizeof(ev)) != sizeof(ev)) {
		len = 0;
		e->dropped++;
	} else {
		e->events++;
	}
	if (!virtio_mmio_push(&e->t, EMHV_PIPE_Q_EVENTS, c.head, len))
		virtio_mmio_signal_used(&e->t, EMHV_PIPE_Q_EVENTS);
}

static void dev_notify(void *dev, unsigned q)
{
	struct pipe_end *e = dev;
	struct virtq_chain c;
	bool pushed = false;

	if (q != EMHV_PIPE_Q_NOTIFY)
		return; /* the events queue: buffers for later */
	while (virtio_mmio_pop(&e->t, q, &c) == 0) {
		uint32_t ev = 0;

		if (virtq_chain_read(&e->t.q[q], &c, 0, &ev, sizeof(ev)) == sizeof(ev) &&
		    (ev == EMHV_PIPE_EV_DATA || ev == EMHV_PIPE_EV_SPACE)) {
			e->notifies++;
			deliver(peer(e), ev);
		}
		pushed |= !virtio_mmio_push(&e->t, q, c.head, 0);
	}
	if (pushed)
		virtio_mmio_signal_used(&e->t, q);
}

static void dev_reset(void *dev)
{
	(void)dev; /* no state but the region, which outlives resets */
}

static const struct virtio_dev_ops pipe_dev_ops = {
	.name = "pipe",
	.device_id = EMHV_PIPE_DEVICE_ID,
	.num_queues = 2,
	.queue_max = { EMHV_PIPE_QUEUE_MAX, EMHV_PIPE_QUEUE_MAX },
	.quiet_queues = 1u << EMHV_PIPE_Q_EVENTS, /* its buffers are taken when an event comes */
	.config_len = sizeof(struct emhv_pipe_config),
	.features = dev_features,
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.shm = dev_shm,
	.notify = dev_notify,
	.reset = dev_reset,
};

/* ---- creation and teardown ---- */

static bool vm_started(const struct vm *vm)
{
	return vm->state != VM_CREATED;
}

static bool vm_runs(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_IDLE || vm->state == VM_WAITING_MEM ||
	       vm->state == VM_PAUSED;
}

static void close_end(struct pipe_end *e)
{
	if (!e->vm)
		return;
	vm_take_shared(&e->vm->mem, window(e), e->pipe->size);
	vm_virtio_detach(e->vm, e->slot);
	e->vm = NULL;
}

static void release(struct pipe *p)
{
	for (unsigned k = 0; k < PIPE_ENDS; k++)
		close_end(&p->end[k]);
	for (uint64_t i = 0; i < p->size / FRAME_SIZE; i++)
		if (p->page[i] != FRAME_NONE)
			frame_free(p->page[i], FRAME_ORDER_4K, p->owner);
	p->used = false;
}

static int open_end(struct pipe *p, unsigned k, struct vm *vm, char *why, size_t n)
{
	struct pipe_end *e = &p->end[k];
	struct virtio_mmio_env env;
	int slot = vm_virtio_free_slot(vm, why, n);

	if (slot < 0)
		return -1;
	e->pipe = p;
	e->vm_id = vm->id;
	e->slot = (unsigned)slot;
	vm_virtio_env(vm, e->slot, &env);
	if (virtio_mmio_init(&e->t, &pipe_dev_ops, e, &env, why, n))
		return -1;
	e->vm = vm;
	vm_virtio_attach(vm, e->slot, &(struct vm_virtio_slot){ &e->t, shm_fault, e });
	return 0;
}

static int check_create(const char *name, struct vm *a, struct vm *b, uint64_t size, char *why, size_t n)
{
	if (!is_name(name) || strlen(name) >= PIPE_NAME_MAX)
		snprintf(why, n, "'%s' is not a pipe name (1 to %d letters, digits, '_', '-', '.')", name,
			 PIPE_NAME_MAX - 1);
	else if (pipe_find(name))
		snprintf(why, n, "a pipe named '%s' exists already", name);
	else if (a == b)
		snprintf(why, n, "both ends are VM '%s': a pipe joins two VMs", a->name);
	else if (vm_started(a) || vm_started(b))
		snprintf(why, n, "VM '%s' was started: devices attach before 'vm start'",
			 vm_started(a) ? a->name : b->name);
	else if (size % FRAME_SIZE || size < EMHV_PIPE_MIN_SIZE || size > EMHV_SHM_SLOT_SIZE)
		snprintf(why, n, "max=%llu: the region is a multiple of 4 KiB from %llu KiB to %llu MiB",
			 (unsigned long long)size, (unsigned long long)(EMHV_PIPE_MIN_SIZE >> 10),
			 (unsigned long long)(EMHV_SHM_SLOT_SIZE >> 20));
	else
		return 0;
	return -1;
}

int pipe_create(const char *name, struct vm *a, struct vm *b, uint64_t size, enum pipe_mode mode, char *why,
		size_t n)
{
	struct emhv_pipe_header *h;
	struct pipe *p = NULL;
	uint64_t pages = size / FRAME_SIZE, i;

	if (check_create(name, a, b, size, why, n))
		return -1;
	for (i = 0; i < PIPE_MAX && !p; i++)
		if (!pipes[i].used)
			p = &pipes[i];
	if (!p) {
		snprintf(why, n, "all %d pipes are in use", PIPE_MAX);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	p->used = true;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->owner = PIPE_OWNER_BASE + (unsigned)(p - pipes);
	p->mode = mode;
	p->size = size;
	p->data_size = size - EMHV_PIPE_DATA_OFF;
	for (i = 0; i < PIPE_MAX_PAGES; i++)
		p->page[i] = FRAME_NONE;
	for (i = 0; i < (mode == PIPE_STATIC ? pages : 1); i++) {
		if (!back_page(p, i)) {
			snprintf(why, n, "no memory for %s of shared region", mode == PIPE_STATIC ? "all" : "the header");
			release(p);
			return -1;
		}
	}
	h = header(p);
	h->magic = EMHV_PIPE_MAGIC;
	h->version = EMHV_PIPE_VERSION;
	h->size = size;
	h->data_off = EMHV_PIPE_DATA_OFF;
	h->data_size = p->data_size;
	if (open_end(p, PIPE_SEND, a, why, n) || open_end(p, PIPE_RECV, b, why, n))
		goto fail;
	for (i = next_backed(p, 0, pages); i < pages; i = next_backed(p, i, pages)) {
		uint64_t j = backed_end(p, i, pages);

		if (map_pages(p, i, j)) {
			snprintf(why, n, "no memory for the page tables that map the region");
			goto fail;
		}
		i = j;
	}
	return 0;
fail:
	release(p);
	return -1;
}

int pipe_destroy(struct pipe *p, char *why, size_t n)
{
	for (unsigned k = 0; k < PIPE_ENDS; k++) {
		if (p->end[k].vm && vm_runs(p->end[k].vm)) {
			snprintf(why, n, "VM '%s' at its %s end is %s: stop or destroy it first", p->end[k].vm->name,
				 k == PIPE_SEND ? "sending" : "receiving", vm_state_name(p->end[k].vm->state));
			return -1;
		}
	}
	release(p);
	return 0;
}

void pipe_vm_gone(struct vm *vm)
{
	for (unsigned i = 0; i < PIPE_MAX; i++) {
		struct pipe *p = &pipes[i];

		if (!p->used)
			continue;
		for (unsigned k = 0; k < PIPE_ENDS; k++)
			if (p->end[k].vm == vm)
				close_end(&p->end[k]);
		if (!p->end[PIPE_SEND].vm && !p->end[PIPE_RECV].vm)
			release(p);
	}
}

/* ---- watching the header ---- */

static void set_broken(struct pipe *p, const char *what, uint64_t a, uint64_t b)
{
	if (!p->broken[0])
		snprintf(p->broken, sizeof(p->broken), "%s (0x%llx, 0x%llx)", what, (unsigned long long)a,
			 (unsigned long long)b);
}

/* The record header at ring position pos, or false if its page is not backed. */
static bool record_at(const struct pipe *p, uint64_t pos, struct emhv_pipe_record *r)
{
	uint64_t off = EMHV_PIPE_DATA_OFF + pos % p->data_size;
	paddr_t pa = p->page[off / FRAME_SIZE];

	if (pa == FRAME_NONE)
		return false;
	memcpy(r, (const void *)(uintptr_t)(pa + off % FRAME_SIZE), sizeof(*r)); /* 8-aligned: one page */
	return true;
}

/* Count the records in [walked, head): each checked as the receiver must check it. */
static void walk(struct pipe *p)
{
	unsigned budget = WALK_RECORDS;

	if (p->head - p->walked > p->data_size) { /* overwritten before it was counted: on from the receiver */
		p->walked = p->tail;
		p->uncounted = true;
	}
	while (p->walked < p->head && budget--) {
		struct emhv_pipe_record r;
		uint64_t left = p->data_size - p->walked % p->data_size, bytes;

		if (!record_at(p, p->walked, &r)) {
			set_broken(p, "a record in an unbacked page at position", p->walked, p->head);
			return;
		}
		bytes = EMHV_PIPE_RECORD_BYTES(r.len);
		if ((r.flags & ~EMHV_PIPE_REC_SKIP) || bytes > left || p->walked + bytes > p->head ||
		    (!(r.flags & EMHV_PIPE_REC_SKIP) && r.len > EMHV_PIPE_MAX_RECORD(p->data_size))) {
			set_broken(p, "a record that does not fit: length and position", r.len, p->walked);
			return;
		}
		if (!(r.flags & EMHV_PIPE_REC_SKIP)) {
			p->messages++;
			p->bytes += r.len;
		} else {
			p->skip_at = p->walked;
			p->skip_bytes = bytes;
		}
		p->walked += bytes;
	}
}

/* Decay a peak toward now by 1/MARGIN_DECAY of the difference, or raise it to now. */
static uint64_t peak_of(uint64_t peak, uint64_t now)
{
	return now >= peak ? now : peak - (peak - now + MARGIN_DECAY - 1) / MARGIN_DECAY;
}

/* Ring pages [from, to) (counted like head, not wrapped) as region pages: at most two runs. */
static void ring_runs(const struct pipe *p, uint64_t from, uint64_t to, uint64_t run[2][2])
{
	uint64_t pages = p->data_size / FRAME_SIZE, first = EMHV_PIPE_DATA_OFF / FRAME_SIZE;
	uint64_t a = from % pages, n = to <= from ? 0 : to - from < pages ? to - from : pages;

	run[0][0] = first + a;
	run[0][1] = first + (a + n < pages ? a + n : pages);
	run[1][0] = first;
	run[1][1] = first + (a + n > pages ? a + n - pages : 0);
}

/*
 * Give back the data pages outside [tail, reserve + margin): the receiver is done with them (and
 * the count of records has passed them), and the sender writes nothing there before it moves
 * reserve (read while it does not run: one CPU). The margin follows the recent in-flight peak, so
 * that a stream that starts again at the front of an empty ring finds its pages backed. And a
 * stream that comes round the whole ring within REUSE_TICKS at its recent pace keeps the pages it
 * passed: giving them back would only have them faulted in again, and zeroed, moments later.
 */
static void shrink(struct pipe *p, uint64_t reserve)
{
	uint64_t data_pages = p->data_size / FRAME_SIZE, run[2][2];
	uint64_t lo = (p->walked < p->tail ? p->walked : p->tail) / FRAME_SIZE;
	uint64_t hi = (reserve + FRAME_SIZE - 1) / FRAME_SIZE, keep;

	p->margin = peak_of(p->margin, hi - lo);
	keep = lo + p->margin + 1; /* ring pages [lo, keep): and the page head writes into next */
	if (hi + ahead(p) > keep) /* and those the sender's faults backed ahead */
		keep = hi + ahead(p);
	if (hi + p->pace * REUSE_TICKS > keep)
		keep = hi + p->pace * REUSE_TICKS;
	ring_runs(p, keep, lo + data_pages, run);
	for (unsigned r = 0; r < 2; r++)
		take_pages(p, run[r][0], run[r][1]);
}

static void tick_one(struct pipe *p)
{
	const struct emhv_pipe_header *h = header(p);
	uint64_t head = h->head, tail = h->tail, reserve = h->reserve;
	bool flowing;

	if (p->broken[0])
		return;
	if (tail > head || head - tail > p->data_size || head < p->head || tail < p->tail) {
		set_broken(p, "head and tail make no sense", head, tail);
		return;
	}
	flowing = head != p->head || head != tail; /* utilisation while data flows, not while the pipe idles */
	/* pages written since the last tick: at most the ring (a hostile sender may jump) */
	p->pace = peak_of(p->pace, head - p->head < p->data_size ? (head - p->head + FRAME_SIZE - 1) / FRAME_SIZE
								 : p->data_size / FRAME_SIZE);
	p->head = head;
	p->tail = tail;
	walk(p);
	if (flowing) { /* in flight: [tail, head), less a skipped stretch in it (walked, so it ends by head) */
		uint64_t used = head - tail - (p->skip_at >= tail && p->skip_at < head ? p->skip_bytes : 0);
		uint64_t alloc = (p->allocated - 1) * FRAME_SIZE;

		/* over the interval since the last tick: half of each end (see struct pipe) */
		p->samples++;
		p->used_sum += p->last_ok ? (p->last_used + used) / 2 : used;
		p->alloc_sum += p->last_ok ? (p->last_alloc + alloc) / 2 : alloc;
		p->last_used = used;
	}
	p->last_ok = flowing;
	if (reserve < head || reserve > tail + p->data_size)
		reserve = head; /* nonsense: the sender only loses its own unpublished bytes */
	if (p->mode == PIPE_DYNAMIC && !p->broken[0])
		shrink(p, reserve);
	p->last_alloc = (p->allocated - 1) * FRAME_SIZE; /* what the next interval starts with */
}

void pipe_tick(void)
{
	static uint64_t next;
	uint64_t now = rdtsc();

	if (now < next)
		return;
	next = now + tsc_hz() / 1000000 * TICK_US;
	for (unsigned i = 0; i < PIPE_MAX; i++)
		if (pipes[i].used)
			tick_one(&pipes[i]);
}

int pipe_verify(const struct pipe *p, char *why, size_t n)
{
	uint64_t held = frame_counted_frames(p->owner), bad = 0;

	for (uint64_t i = 0; i < p->size / FRAME_SIZE; i++) {
		unsigned order, owner;

		if (!(p->backed[i / 64] >> (i % 64) & 1) != (p->page[i] == FRAME_NONE))
			bad++; /* the bitmap and the pages disagree */
		else if (p->page[i] != FRAME_NONE && (frame_block_of(p->page[i], &order, &owner) ||
						      order != FRAME_ORDER_4K || owner != p->owner))
			bad++;
	}
	if (!bad && held == p->allocated) {
		snprintf(why, n, "%llu frames held = %llu pages of its region backed: ok", (unsigned long long)held,
			 (unsigned long long)p->allocated);
		return 0;
	}
	snprintf(why, n, "the pool says it holds %llu frames, %llu pages are backed, %llu are not its frames (or not in its bitmap)",
		 (unsigned long long)held, (unsigned long long)p->allocated, (unsigned long long)bad);
	return -1;
}
