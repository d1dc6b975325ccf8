/*
 * Split virtqueues (virtio 1.2, section 2.7), device side: the ring layouts,
 * the validation of a queue's areas when the driver enables it, and the
 * walk of each descriptor chain the driver makes available, with every
 * guest address and length checked against the VM's RAM. Guest memory is
 * reached only through struct guest_mem, so that this runs on the host in
 * unit tests as well as in the hypervisor.
 */
#ifndef EMHV_DRIVERS_VIRTQ_H
#define EMHV_DRIVERS_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/virtio_mmio.h>

/*
 * The guest-physical memory of one VM. read/write copy all of
 * [gpa, gpa + len) or fail (-1) when any of it is not RAM; in_ram says
 * whether [gpa, gpa + len) lies in RAM without wrapping.
 */
struct guest_mem {
	int (*read)(void *ctx, uint64_t gpa, void *dst, uint64_t len);
	int (*write)(void *ctx, uint64_t gpa, const void *src, uint64_t len);
	bool (*in_ram)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/* ---- the split ring's layout in guest memory (little-endian, as is x86) ---- */


#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4
#define VIRTQ_SIZE_LIMIT  32768 /* the largest queue size the specification allows */

/* The available ring: flags, idx, ring[size], then used_event. */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

/* The used ring: flags, idx, ring[size], then avail_event. */
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

_Static_assert(offsetof(struct virtq_avail, ring) == 4, "avail ring starts at 4");
_Static_assert(offsetof(struct virtq_used, ring) == 4, "used ring starts at 4");

/* Bytes of each area for a queue of size entries (section 2.7, table "Virtqueue Part Sizes"). */
static inline uint64_t virtq_desc_bytes(uint32_t size)
{
	return 16ULL * size;
}

static inline uint64_t virtq_avail_bytes(uint32_t size)
{
	return 6 + 2ULL * size;
}

static inline uint64_t virtq_used_bytes(uint32_t size)
{
	return 6 + 8ULL * size;
}

/* ---- the device side of one queue ---- */

/* The longest chain a device accepts, counting every descriptor (indirect ones included). */
#define VIRTQ_MAX_SEGS 64
/* The largest total length of a chain: the specification's bound (below 2^32 bytes). */
#define VIRTQ_MAX_CHAIN_BYTES 0xffffffffULL

struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable; /* device-writable */
};

/* One available buffer: its head index and segments, device-readable ones first. */
struct virtq_chain {
	uint16_t head;
	unsigned nseg;	/* seg[0, nseg) */
	unsigned nread; /* seg[0, nread) are device-readable, seg[nread, nseg) device-writable */
	uint64_t read_bytes, write_bytes;
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

struct virtq {
	const struct guest_mem *mem;
	uint32_t max; /* the largest size the device offers (QueueNumMax) */
	/* set by the driver through the transport while the queue is not ready */
	uint32_t size;
	uint64_t desc, avail, used;
	/* valid while ready */
	bool ready;
	bool broken; /* a pop or push failed: nothing more until the queue is reset */
	bool event_idx, indirect;
	bool quiet; /* the device needs no notifications for it (set before it is enabled) */
	uint16_t last_avail;	 /* the next available ring entry to take */
	uint16_t used_idx;	 /* the used index the device wrote last */
	uint16_t signalled_used; /* used_idx at the last virtq_should_notify */
	uint32_t unsignalled;	 /* chains pushed since then */
	uint32_t in_flight; /* chains popped and not pushed yet */
	uint64_t pops, pushes;
	char why[120]; /* why the queue broke, for the log */
};

/* A queue of at most max entries (a power of two up to VIRTQ_SIZE_LIMIT), not ready, size max. */
void virtq_init(struct virtq *q, const struct guest_mem *mem, uint32_t max);
/* Back to the state after virtq_init: not ready, size max, addresses 0. */
void virtq_reset(struct virtq *q);
/*
 * Make the queue ready with the size and areas the driver wrote, after
 * checking them (size a power of two in 1..max; each area aligned and
 * wholly in RAM); features are the negotiated ones (EVENT_IDX and
 * INDIRECT_DESC are honoured). 0, or -1 with why (the queue stays not ready).
 */
int virtq_enable(struct virtq *q, uint64_t features, char *why, size_t n);
/* The driver stopped the queue: no access to its rings any more. */
void virtq_disable(struct virtq *q);
/*
 * Take the next available chain into c: 0, 1 when there is none (or the
 * queue is not ready), -1 when the driver broke the ring (q->why says how;
 * the device should then ask for a reset). With EVENT_IDX, only an empty
 * queue asks the driver for a notification at its next buffer
 * (avail_event): a device that stops popping before it gets 1 (no room
 * for the data, say) gets no kick for the chains already waiting and must
 * come back to them by itself.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/*
 * Return a chain to the driver with written bytes in its writable part: 0,
 * 1 when the queue is not ready (the driver stopped it: the chain is
 * dropped), or -1 (broken, q->why says why).
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Whether the driver wants an interrupt for what was pushed since the last call (EVENT_IDX or NO_INTERRUPT). */
bool virtq_should_notify(struct virtq *q);
/*
 * Copy up to len bytes from the chain's device-readable data, starting
 * off bytes into it, to dst; or from src into its device-writable data.
 * The bytes copied (less than len at the chain's end), or -1 when guest
 * memory failed (RAM taken away since the pop).
 */
int64_t virtq_chain_read(const struct virtq *q, const struct virtq_chain *c, uint64_t off, void *dst,
			 uint64_t len);
int64_t virtq_chain_write(const struct virtq *q, const struct virtq_chain *c, uint64_t off, const void *src,
			  uint64_t len);

#endif
