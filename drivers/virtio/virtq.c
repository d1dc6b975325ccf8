/*
 * Split virtqueues, device side (virtio 1.2, section 2.7). The driver may
 * change its rings at any moment, so every index and descriptor is read
 * from guest memory once, into a local, and checked there: an avail index
 * that ran more than the queue size ahead, a head or next past the table,
 * a chain longer than the queue (a loop), a descriptor outside RAM, a
 * device-readable descriptor after a writable one, nested or unannounced
 * indirect tables. Such a ring is broken until the queue is reset.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "virtq.h"

#define BIT(n) (1ULL << (n))

void virtq_init(struct virtq *q, const struct guest_mem *mem, uint32_t max)
{
	*q = (struct virtq){ .mem = mem, .max = max, .size = max };
}

void virtq_reset(struct virtq *q)
{
	bool quiet = q->quiet;

	virtq_init(q, q->mem, q->max);
	q->quiet = quiet;
}

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static int check_area(const struct virtq *q, const char *what, uint64_t gpa, uint64_t bytes, uint64_t align,
		      char *why, size_t n)
{
	if (gpa & (align - 1)) {
		snprintf(why, n, "%s at 0x%llx is not %llu-byte aligned", what, (unsigned long long)gpa,
			 (unsigned long long)align);
		return -1;
	}
	if (!q->mem->in_ram(q->mem->ctx, gpa, bytes)) {
		snprintf(why, n, "%s 0x%llx-0x%llx is not all RAM", what, (unsigned long long)gpa,
			 (unsigned long long)(gpa + bytes - 1));
		return -1;
	}
	return 0;
}

static int read16(const struct virtq *q, uint64_t gpa, uint16_t *v)
{
	return q->mem->read(q->mem->ctx, gpa, v, sizeof(*v));
}

static int write16(const struct virtq *q, uint64_t gpa, uint16_t v)
{
	return q->mem->write(q->mem->ctx, gpa, &v, sizeof(v));
}

static uint64_t avail_event_gpa(const struct virtq *q)
{
	return q->used + offsetof(struct virtq_used, ring) + 8ULL * q->size;
}

int virtq_enable(struct virtq *q, uint64_t features, char *why, size_t n)
{
	uint32_t size = q->size;

	if (!is_pow2(size) || size > q->max) {
		snprintf(why, n, "queue size %u is not a power of two in 1..%u", size, q->max);
		return -1;
	}
	if (check_area(q, "descriptor table", q->desc, virtq_desc_bytes(size), VIRTQ_DESC_ALIGN, why, n) ||
	    check_area(q, "available ring", q->avail, virtq_avail_bytes(size), VIRTQ_AVAIL_ALIGN, why, n) ||
	    check_area(q, "used ring", q->used, virtq_used_bytes(size), VIRTQ_USED_ALIGN, why, n))
		return -1;
	q->ready = true;
	q->broken = false;
	q->event_idx = features & BIT(VIRTIO_F_EVENT_IDX);
	q->indirect = features & BIT(VIRTIO_F_INDIRECT_DESC);
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->unsignalled = 0;
	q->in_flight = 0;
	q->why[0] = 0;
	/*
	 * quiet: the driver need not notify. Without EVENT_IDX the used ring's flags say so; with it,
	 * avail_event half the index space ahead (a notification per 32768 buffers) and never armed.
	 */
	if (q->quiet && (q->event_idx ? write16(q, avail_event_gpa(q), 0x8000)
				      : write16(q, q->used + offsetof(struct virtq_used, flags), VIRTQ_USED_F_NO_NOTIFY))) {
		snprintf(why, n, "used ring 0x%llx cannot be written", (unsigned long long)q->used);
		q->ready = false;
		return -1;
	}
	return 0;
}

void virtq_disable(struct virtq *q)
{
	q->ready = false;
}

/* Mark the ring broken with a reason; returns -1 for the caller to pass on. */
__attribute__((format(printf, 2, 3))) static int broken(struct virtq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	q->broken = true;
	return -1;
}

static uint64_t avail_idx_gpa(const struct virtq *q)
{
	return q->avail + offsetof(struct virtq_avail, idx);
}

static uint64_t used_event_gpa(const struct virtq *q)
{
	return q->avail + offsetof(struct virtq_avail, ring) + 2ULL * q->size;
}

/* How many chains the driver has made available past last_avail: 0..size, or -1 (broken). */
static int pending(struct virtq *q)
{
	uint16_t idx, n;

	if (read16(q, avail_idx_gpa(q), &idx))
		return broken(q, "available ring index unreadable");
	n = (uint16_t)(idx - q->last_avail);
	if (n > q->size)
		return broken(q, "available index %u ran %u entries past %u (queue size %u)", idx, n, q->last_avail,
			      q->size);
	return n;
}

/*
 * Ask for a notification at the next available buffer (avail_event), then
 * look once more, so that a buffer added in between is not left waiting.
 */
static int arm_and_recheck(struct virtq *q)
{
	if (write16(q, avail_event_gpa(q), q->last_avail))
		return broken(q, "used ring's avail_event unwritable");
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return pending(q);
}

/* Walk the chain at head into c (section 2.7.5; indirect tables 2.7.5.3). 0, or -1 (broken). */
static int walk(struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	uint64_t table = q->desc, total = 0;
	uint32_t entries = q->size, left = q->size, i = head;
	bool in_indirect = false;

	c->head = head;
	c->nseg = c->nread = 0;
	c->read_bytes = c->write_bytes = 0;
	for (;;) {
		struct virtq_desc d;
		bool w;

		if (left-- == 0)
			return broken(q, "chain at %u is longer than its %s of %u descriptors (a loop?)", head,
				      in_indirect ? "indirect table" : "queue", entries);
		if (q->mem->read(q->mem->ctx, table + 16ULL * i, &d, sizeof(d)))
			return broken(q, "descriptor %u of chain %u unreadable", i, head);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return broken(q, "chain %u: indirect descriptor without VIRTIO_F_INDIRECT_DESC",
					      head);
			if (in_indirect)
				return broken(q, "chain %u: indirect descriptor inside an indirect table", head);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return broken(q, "chain %u: indirect descriptor with NEXT", head);
			if (d.len == 0 || d.len % sizeof(struct virtq_desc))
				return broken(q, "chain %u: indirect table of %u bytes, not a multiple of 16", head,
					      d.len);
			if (!q->mem->in_ram(q->mem->ctx, d.addr, d.len))
				return broken(q, "chain %u: indirect table 0x%llx+0x%x is not all RAM", head,
					      (unsigned long long)d.addr, d.len);
			/* its WRITE flag means nothing (2.7.5.3.2) */
			table = d.addr;
			entries = left = d.len / sizeof(struct virtq_desc);
			in_indirect = true;
			i = 0;
			continue;
		}
		if (c->nseg == VIRTQ_MAX_SEGS)
			return broken(q, "chain %u has more than %u descriptors", head, VIRTQ_MAX_SEGS);
		w = d.flags & VIRTQ_DESC_F_WRITE;
		if (!w && c->nread != c->nseg)
			return broken(q, "chain %u: device-readable descriptor after a device-writable one", head);
		if (d.len && !q->mem->in_ram(q->mem->ctx, d.addr, d.len))
			return broken(q, "chain %u: buffer 0x%llx+0x%x is not all RAM", head,
				      (unsigned long long)d.addr, d.len);
		total += d.len;
		if (total > VIRTQ_MAX_CHAIN_BYTES)
			return broken(q, "chain %u is longer than 4 GiB", head);
		c->seg[c->nseg++] = (struct virtq_seg){ .gpa = d.addr, .len = d.len, .writable = w };
		if (w) {
			c->write_bytes += d.len;
		} else {
			c->nread++;
			c->read_bytes += d.len;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= entries)
			return broken(q, "chain %u: next %u is past the %s of %u descriptors", head, d.next,
				      in_indirect ? "indirect table" : "queue", entries);
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t head;
	int n;

	if (!q->ready)
		return 1;
	if (q->broken)
		return -1;
	n = pending(q);
	if (n == 0 && q->event_idx && !q->quiet)
		n = arm_and_recheck(q);
	if (n <= 0)
		return n < 0 ? -1 : 1;
	if (q->in_flight >= q->size)
		return broken(q, "more than %u chains in flight", q->size);
	/* the ring entry and descriptors are read after the index that published them */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (read16(q, q->avail + offsetof(struct virtq_avail, ring) + 2ULL * (q->last_avail % q->size), &head))
		return broken(q, "available ring entry unreadable");
	if (head >= q->size)
		return broken(q, "available ring entry %u names descriptor %u of %u", q->last_avail, head,
			      q->size);
	if (walk(q, head, c))
		return -1;
	q->last_avail++;
	q->in_flight++;
	q->pops++;
	return 0;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	struct virtq_used_elem e = { .id = head, .len = written };
	uint64_t slot = q->used + offsetof(struct virtq_used, ring) + 8ULL * (q->used_idx % q->size);

	if (!q->ready)
		return 1;
	if (q->broken)
		return -1;
	if (head >= q->size || q->in_flight == 0)
		return broken(q, "push of chain %u, which is not in flight", head);
	if (q->mem->write(q->mem->ctx, slot, &e, sizeof(e)))
		return broken(q, "used ring entry unwritable");
	/* the entry (and the data before it) is visible before the index that publishes it */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (write16(q, q->used + offsetof(struct virtq_used, idx), (uint16_t)(q->used_idx + 1)))
		return broken(q, "used ring index unwritable");
	q->used_idx++;
	q->unsignalled++;
	q->in_flight--;
	q->pushes++;
	return 0;
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, v;
	uint32_t added = q->unsignalled;

	if (!q->ready || !added)
		return false; /* nothing new for the driver */
	q->signalled_used = now;
	q->unsignalled = 0;
	/* the used index is visible before the driver's wish is read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		if (added > UINT16_MAX || read16(q, used_event_gpa(q), &v))
			return true; /* a spurious interrupt is harmless (2.7.10) */
		/* vring_need_event(): did used_idx step over used_event since the last check? */
		return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
	}
	if (read16(q, q->avail + offsetof(struct virtq_avail, flags), &v))
		return true;
	return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/*
 * Copy between the host and the chain's segments [first, last), starting
 * off bytes into them: the bytes copied, or -1.
 */
static int64_t copy(const struct virtq *q, const struct virtq_chain *c, unsigned first, unsigned last,
		    uint64_t off, uint8_t *buf, uint64_t len, bool to_guest)
{
	uint64_t done = 0;

	if (last > VIRTQ_MAX_SEGS)
		last = VIRTQ_MAX_SEGS;
	for (unsigned s = first; s < last && done < len; s++) {
		const struct virtq_seg *g = &c->seg[s];
		uint64_t n;

		if (off >= g->len) {
			off -= g->len;
			continue;
		}
		n = g->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest ? q->mem->write(q->mem->ctx, g->gpa + off, buf + done, n)
			     : q->mem->read(q->mem->ctx, g->gpa + off, buf + done, n))
			return -1;
		done += n;
		off = 0;
	}
	return (int64_t)done;
}

int64_t virtq_chain_read(const struct virtq *q, const struct virtq_chain *c, uint64_t off, void *dst,
			 uint64_t len)
{
	return copy(q, c, 0, c->nread, off, dst, len, false);
}

int64_t virtq_chain_write(const struct virtq *q, const struct virtq_chain *c, uint64_t off, const void *src,
			  uint64_t len)
{
	return copy(q, c, c->nread, c->nseg, off, (uint8_t *)src, len, true);
}
