/*
 * virtio.h -- a small virtio-mmio version 2 driver (virtio 1.2, sections 4.2
 * and 2.7): find a device in emhv's virtio slots, bring it up with
 * VIRTIO_F_VERSION_1 only, read its configuration and shared memory, and
 * pass one-descriptor buffers through its split virtqueues, polling or by
 * interrupt. Registers, bits and ring entries are the specification's, in
 * include/emhv/virtio_mmio.h (shared with the hypervisor's device side).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/virtio_mmio.h>

/* The largest queue this driver sets up (a device offering more gets this many). */
#define VIRTIO_QUEUE_MAX 64
/* Queues per device this driver sets up. */
#define VIRTIO_MAX_QUEUES 2
/* Vector of slot i's interrupt: below the timer's class, above the exceptions. */
#define VIRTIO_VEC_BASE 0x40

/* The available ring at its largest; used_event (ring[size]) stays unused without EVENT_IDX. */
struct vq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTIO_QUEUE_MAX];
	uint16_t used_event;
};

struct vq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[VIRTIO_QUEUE_MAX];
	uint16_t avail_event;
};

_Static_assert(offsetof(struct vq_avail, ring) == 4, "avail ring starts at 4");
_Static_assert(offsetof(struct vq_used, ring) == 4, "used ring starts at 4");

/*
 * One queue: its rings (guest memory is identity-mapped, so their
 * addresses are what the device is given) and the driver's bookkeeping.
 * Every buffer is one descriptor; a descriptor is free from its used
 * element's return to its next virtio_add_buf.
 */
struct virtio_queue {
	struct virtq_desc desc[VIRTIO_QUEUE_MAX] __attribute__((aligned(16)));
	struct vq_avail avail __attribute__((aligned(2)));
	struct vq_used used __attribute__((aligned(4)));
	uint16_t size;	    /* entries in use: a power of two up to VIRTIO_QUEUE_MAX */
	uint16_t avail_idx; /* the driver's next avail->idx */
	uint16_t last_used; /* the next used element to take */
	uint16_t nfree;
	uint16_t free[VIRTIO_QUEUE_MAX]; /* free descriptors: free[0, nfree) */
	bool busy[VIRTIO_QUEUE_MAX];	 /* with the device: a used id must be one of these */
};

/* One device; it must live in RAM that stays put (a static object, say). */
struct virtio_dev {
	uintptr_t base; /* the slot's register window */
	unsigned slot;
	unsigned nqueues;
	struct virtio_queue q[VIRTIO_MAX_QUEUES];
	volatile uint64_t interrupts;	  /* handled by the slot's interrupt handler */
	volatile uint32_t config_changes; /* configuration-change interrupts seen */
};

/* A buffer the device returned: what was given to virtio_add_buf, and the bytes it wrote. */
struct virtio_used {
	void *buf;
	uint32_t len;
};

/*
 * The first slot from `from` on with a device of device_id that no struct
 * virtio_dev has claimed (virtio_probe), mapping the slots' window; -1 if none.
 */
int virtio_find_from(uint32_t device_id, unsigned from);
/* virtio_find_from(device_id, 0). */
int virtio_find(uint32_t device_id);
/*
 * A register of slot (< EMHV_VIRTIO_SLOTS), read or written as is, with no
 * check of the step: for programs that test a device's side of the protocol
 * (guests/virtio_check.c). The slots' window must be mapped (virtio_find).
 */
uint32_t virtio_read_reg(unsigned slot, unsigned off);
void virtio_write_reg(unsigned slot, unsigned off, uint32_t val);

/*
 * Steps 1 to 3 of the initialization (section 3.1.1): claim slot for d, reset
 * the device, ACKNOWLEDGE, DRIVER. The driver may then read the configuration
 * to decide whether it supports the device (step 4 allows it) and go on with
 * virtio_start, or let it go with virtio_release. 0, or -1 after one line
 * naming the step the device refused (its status then FAILED, the slot not
 * claimed).
 */
int virtio_probe(struct virtio_dev *d, unsigned slot);
/*
 * The rest, after virtio_probe: VIRTIO_F_VERSION_1 and no other feature,
 * FEATURES_OK, queues 0..nqueues-1, DRIVER_OK. 0, or -1 after one line naming
 * the step the device refused (its status then FAILED).
 */
int virtio_start(struct virtio_dev *d, unsigned nqueues);
/* virtio_probe, then virtio_start: the device in slot brought up, or -1. */
int virtio_init(struct virtio_dev *d, unsigned slot, unsigned nqueues);
/* Reset a probed device (status 0, as it was found) and give up d's claim on its slot. */
void virtio_release(struct virtio_dev *d);
/* The device's status register (DEVICE_NEEDS_RESET says it gave up). */
uint32_t virtio_status(const struct virtio_dev *d);
/* len bytes of configuration from off, all of one generation; 0, or -1 if it never settled. */
int virtio_read_config(const struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);
/* Shared-memory region id: 0 with its base and length, or -1 if the device has none. */
int virtio_get_shm(const struct virtio_dev *d, uint8_t id, uint64_t *base, uint64_t *len);

/*
 * Make [buf, buf + len) available in queue q, device-writable or -readable:
 * 0, or -1 when every descriptor is with the device. The device is not told:
 * see virtio_notify.
 */
int virtio_add_buf(struct virtio_dev *d, unsigned q, void *buf, uint32_t len, bool device_writable);
/* Tell the device queue q has new buffers (QueueNotify: a VM exit), unless its used ring says it needs no telling. */
void virtio_notify(const struct virtio_dev *d, unsigned q);
/* No interrupts for buffers queue q's device returns: the driver looks for them itself (VIRTQ_AVAIL_F_NO_INTERRUPT). */
void virtio_quiet_used(struct virtio_dev *d, unsigned q);
/* Does queue q hold a used element not taken yet? */
bool virtio_has_used(const struct virtio_dev *d, unsigned q);
/*
 * Take queue q's next used element into *u and free its descriptor: 1, 0 if
 * there is none, -1 if the device returned a descriptor it did not hold
 * (one line printed).
 */
int virtio_get_used(struct virtio_dev *d, unsigned q, struct virtio_used *u);

/*
 * Route the slot's I/O APIC line (level-triggered) to VIRTIO_VEC_BASE + slot;
 * the handler acknowledges InterruptStatus, counts, and ends the interrupt.
 * 0, or -1 after one line.
 */
int virtio_route_irq(struct virtio_dev *d);
/*
 * Sleep (interrupts on only while halted) until queue q has a used element
 * (1), the TSC passes deadline (0), or the device needs a reset (-1).
 * Needs virtio_route_irq; the APIC timer wakes it at the deadline.
 */
int virtio_wait_used(struct virtio_dev *d, unsigned q, uint64_t deadline);

#endif
