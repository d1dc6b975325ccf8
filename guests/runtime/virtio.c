/* virtio.c -- the virtio-mmio version 2 driver (virtio.h): setup, config, queues, interrupts. */
#include <string.h>
#include "runtime.h"
#include "virtio.h"

/* Reads of a register before the driver stops waiting for the device (reset, configuration). */
#define SETTLE_TRIES 1000

/* The device behind each slot's interrupt vector. */
static struct virtio_dev *irq_dev[EMHV_VIRTIO_SLOTS];
/* The driver instance that probed each slot (virtio_find passes over them). */
static struct virtio_dev *claimed[EMHV_VIRTIO_SLOTS];

static uintptr_t slot_base(unsigned slot)
{
	return (uintptr_t)(EMHV_VIRTIO_MMIO_GPA + slot * EMHV_VIRTIO_MMIO_SIZE);
}

static uint32_t reg_read(uintptr_t base, unsigned off)
{
	return *(volatile uint32_t *)(base + off);
}

static void reg_write(uintptr_t base, unsigned off, uint32_t val)
{
	*(volatile uint32_t *)(base + off) = val;
}

/* ---- finding and starting a device ---- */

int virtio_find_from(uint32_t device_id, unsigned from)
{
	unsigned slot;

	if (map_2m(EMHV_VIRTIO_MMIO_GPA)) /* all slots share one 2 MiB page */
		return -1;
	for (slot = from; slot < EMHV_VIRTIO_SLOTS; slot++) {
		uintptr_t b = slot_base(slot);

		if (claimed[slot] || reg_read(b, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
		    reg_read(b, VIRTIO_MMIO_VERSION) != VIRTIO_MMIO_VERSION_2)
			continue;
		if (device_id && reg_read(b, VIRTIO_MMIO_DEVICE_ID) == device_id)
			return (int)slot;
	}
	return -1;
}

int virtio_find(uint32_t device_id)
{
	return virtio_find_from(device_id, 0);
}

uint32_t virtio_read_reg(unsigned slot, unsigned off)
{
	return reg_read(slot_base(slot), off);
}

void virtio_write_reg(unsigned slot, unsigned off, uint32_t val)
{
	reg_write(slot_base(slot), off, val);
}

uint32_t virtio_status(const struct virtio_dev *d)
{
	return reg_read(d->base, VIRTIO_MMIO_STATUS);
}

/* Add bits to the status and read it back: 0 if they stuck, else -1 after one line naming step. */
static int status_add(struct virtio_dev *d, uint32_t bits, const char *step)
{
	uint32_t st = virtio_status(d) | bits;

	reg_write(d->base, VIRTIO_MMIO_STATUS, st);
	st = virtio_status(d);
	if ((st & bits) == bits && !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return 0;
	printf("virtio slot %u: %s refused (status 0x%x)\n", d->slot, step, (unsigned)st);
	return -1;
}

static int reset(struct virtio_dev *d)
{
	reg_write(d->base, VIRTIO_MMIO_STATUS, 0);
	/* section 4.2.3.1.1: the reset is done when the status reads 0 again */
	for (int i = 0; i < SETTLE_TRIES; i++)
		if (!virtio_status(d))
			return 0;
	printf("virtio slot %u: reset refused (status 0x%x)\n", d->slot,
	       (unsigned)virtio_status(d));
	return -1;
}

/* Accept VIRTIO_F_VERSION_1 and nothing else: every device bit this driver knows of is optional. */
static int negotiate(struct virtio_dev *d)
{
	uint64_t offered;

	reg_write(d->base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)reg_read(d->base, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	reg_write(d->base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= reg_read(d->base, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(offered & (1ULL << VIRTIO_F_VERSION_1))) {
		printf("virtio slot %u: features 0x%llx lack VIRTIO_F_VERSION_1 (no legacy "
		       "devices)\n",
		       d->slot, (unsigned long long)offered);
		return -1;
	}
	reg_write(d->base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d->base, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	reg_write(d->base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d->base, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	return status_add(d, VIRTIO_STATUS_FEATURES_OK, "FEATURES_OK");
}

static void write_addr(uintptr_t base, unsigned low, const void *p)
{
	reg_write(base, low, (uint32_t)(uintptr_t)p);
	reg_write(base, low + 4, (uint32_t)((uint64_t)(uintptr_t)p >> 32));
}

/* Queue i: empty rings of the largest power of two the device and the driver both allow. */
static int setup_queue(struct virtio_dev *d, unsigned i)
{
	struct virtio_queue *vq = &d->q[i];
	uint32_t max;
	uint16_t size = VIRTIO_QUEUE_MAX;

	reg_write(d->base, VIRTIO_MMIO_QUEUE_SEL, i);
	if (reg_read(d->base, VIRTIO_MMIO_QUEUE_READY)) {
		printf("virtio slot %u: queue %u is ready before it was set up\n", d->slot, i);
		return -1;
	}
	max = reg_read(d->base, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max) {
		printf("virtio slot %u: queue %u does not exist (QueueNumMax 0)\n", d->slot, i);
		return -1;
	}
	while (size > max)
		size /= 2;
	memset(vq, 0, sizeof(*vq));
	vq->size = size;
	vq->nfree = size;
	for (uint16_t k = 0; k < size; k++)
		vq->free[k] = (uint16_t)(size - 1 - k);
	reg_write(d->base, VIRTIO_MMIO_QUEUE_NUM, size);
	write_addr(d->base, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc);
	write_addr(d->base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &vq->avail);
	write_addr(d->base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &vq->used);
	reg_write(d->base, VIRTIO_MMIO_QUEUE_READY, 1);
	if (reg_read(d->base, VIRTIO_MMIO_QUEUE_READY) != 1) {
		printf("virtio slot %u: queue %u of %u entries at 0x%llx refused (status 0x%x)\n",
		       d->slot, i, size, (unsigned long long)(uintptr_t)vq->desc,
		       (unsigned)virtio_status(d));
		return -1;
	}
	return 0;
}

/* Section 3.1.1: a driver that gives up says so. */
static int give_up(struct virtio_dev *d)
{
	reg_write(d->base, VIRTIO_MMIO_STATUS, virtio_status(d) | VIRTIO_STATUS_FAILED);
	return -1;
}

int virtio_probe(struct virtio_dev *d, unsigned slot)
{
	if (slot >= EMHV_VIRTIO_SLOTS || (claimed[slot] && claimed[slot] != d)) {
		printf("virtio slot %u: not a slot (%d of them), or another driver's\n", slot,
		       EMHV_VIRTIO_SLOTS);
		return -1;
	}
	d->base = slot_base(slot);
	d->slot = slot;
	d->nqueues = 0;
	d->interrupts = 0;
	d->config_changes = 0;
	if (reset(d) || status_add(d, VIRTIO_STATUS_ACKNOWLEDGE, "ACKNOWLEDGE") ||
	    status_add(d, VIRTIO_STATUS_DRIVER, "DRIVER")) {
		claimed[slot] = NULL;
		return give_up(d);
	}
	claimed[slot] = d;
	return 0;
}

int virtio_start(struct virtio_dev *d, unsigned nqueues)
{
	if (nqueues > VIRTIO_MAX_QUEUES) {
		printf("virtio slot %u: %u queues asked, at most %d\n", d->slot, nqueues,
		       VIRTIO_MAX_QUEUES);
		return give_up(d);
	}
	d->nqueues = nqueues;
	if (negotiate(d))
		return give_up(d);
	for (unsigned i = 0; i < nqueues; i++)
		if (setup_queue(d, i))
			return give_up(d);
	if (status_add(d, VIRTIO_STATUS_DRIVER_OK, "DRIVER_OK"))
		return give_up(d);
	return 0;
}

int virtio_init(struct virtio_dev *d, unsigned slot, unsigned nqueues)
{
	return virtio_probe(d, slot) ? -1 : virtio_start(d, nqueues);
}

void virtio_release(struct virtio_dev *d)
{
	reg_write(d->base, VIRTIO_MMIO_STATUS, 0);
	if (claimed[d->slot] == d)
		claimed[d->slot] = NULL;
	if (irq_dev[d->slot] == d)
		irq_dev[d->slot] = NULL;
}

/* ---- configuration and shared memory ---- */

/* Configuration bytes [off, off + len): aligned 32-bit reads where they fit, bytes elsewhere. */
static void copy_config(uintptr_t base, uint32_t off, uint8_t *dst, uint32_t len)
{
	uint32_t v;

	while (len) {
		if (!(off % 4) && len >= 4) {
			v = reg_read(base, VIRTIO_MMIO_CONFIG + off);
			memcpy(dst, &v, 4);
			off += 4, dst += 4, len -= 4;
		} else {
			*dst = *(volatile uint8_t *)(base + VIRTIO_MMIO_CONFIG + off);
			off++, dst++, len--;
		}
	}
}

int virtio_read_config(const struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint32_t gen;

	/* section 4.2.2.2: a read that straddles a change sees two generations: read again */
	for (int i = 0; i < SETTLE_TRIES; i++) {
		gen = reg_read(d->base, VIRTIO_MMIO_CONFIG_GENERATION);
		copy_config(d->base, off, buf, len);
		if (reg_read(d->base, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			return 0;
	}
	printf("virtio slot %u: configuration never stopped changing\n", d->slot);
	return -1;
}

int virtio_get_shm(const struct virtio_dev *d, uint8_t id, uint64_t *base, uint64_t *len)
{
	reg_write(d->base, VIRTIO_MMIO_SHM_SEL, id);
	*len = reg_read(d->base, VIRTIO_MMIO_SHM_LEN_LOW) |
	       (uint64_t)reg_read(d->base, VIRTIO_MMIO_SHM_LEN_HIGH) << 32;
	*base = reg_read(d->base, VIRTIO_MMIO_SHM_BASE_LOW) |
		(uint64_t)reg_read(d->base, VIRTIO_MMIO_SHM_BASE_HIGH) << 32;
	return *len == ~0ULL ? -1 : 0; /* section 4.2.2: all ones, no such region */
}

/* ---- queues ---- */

int virtio_add_buf(struct virtio_dev *d, unsigned q, void *buf, uint32_t len, bool device_writable)
{
	struct virtio_queue *vq = &d->q[q];
	uint16_t id;

	if (!vq->nfree)
		return -1;
	id = vq->free[--vq->nfree];
	vq->busy[id] = true;
	vq->desc[id] = (struct virtq_desc){(uint64_t)(uintptr_t)buf, len,
					device_writable ? VIRTQ_DESC_F_WRITE : 0, 0};
	vq->avail.ring[vq->avail_idx % vq->size] = id;
	vq->avail_idx++;
	/*
	 * Release: the descriptor and the ring entry are visible before the
	 * index that hands them over (x86 keeps stores in order; this keeps
	 * the compiler from reordering them).
	 */
	__atomic_store_n(&vq->avail.idx, vq->avail_idx, __ATOMIC_RELEASE);
	return 0;
}

void virtio_notify(const struct virtio_dev *d, unsigned q)
{
	/* the new index is visible before the device's wish is read (section 2.7.13.3) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&d->q[q].used.flags, __ATOMIC_RELAXED) & VIRTQ_USED_F_NO_NOTIFY)
		return; /* the device takes this queue's buffers when it needs them */
	reg_write(d->base, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

void virtio_quiet_used(struct virtio_dev *d, unsigned q)
{
	__atomic_store_n(&d->q[q].avail.flags, VIRTQ_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

bool virtio_has_used(const struct virtio_dev *d, unsigned q)
{
	const struct virtio_queue *vq = &d->q[q];

	return __atomic_load_n(&vq->used.idx, __ATOMIC_ACQUIRE) != vq->last_used;
}

int virtio_get_used(struct virtio_dev *d, unsigned q, struct virtio_used *u)
{
	struct virtio_queue *vq = &d->q[q];
	struct virtq_used_elem e;

	/* Acquire: the element is read only after the index that says it is there. */
	if (__atomic_load_n(&vq->used.idx, __ATOMIC_ACQUIRE) == vq->last_used)
		return 0;
	e = *(volatile struct virtq_used_elem *)&vq->used.ring[vq->last_used % vq->size];
	if (e.id >= vq->size || !vq->busy[e.id]) {
		printf("virtio slot %u: queue %u: the device returned descriptor %u, not its to "
		       "return\n",
		       d->slot, q, (unsigned)e.id);
		return -1;
	}
	vq->last_used++;
	vq->busy[e.id] = false;
	vq->free[vq->nfree++] = (uint16_t)e.id;
	u->buf = (void *)(uintptr_t)vq->desc[e.id].addr;
	u->len = e.len;
	return 1;
}

/* ---- interrupts ---- */

static void on_interrupt(struct trap_frame *f)
{
	struct virtio_dev *d = irq_dev[f->vector - VIRTIO_VEC_BASE];
	uint32_t isr;

	if (d) {
		/* the line is level-triggered: it drops once every status bit is acknowledged */
		isr = reg_read(d->base, VIRTIO_MMIO_INTERRUPT_STATUS);
		reg_write(d->base, VIRTIO_MMIO_INTERRUPT_ACK, isr);
		d->interrupts++;
		if (isr & VIRTIO_MMIO_INT_CONFIG)
			d->config_changes++;
	}
	apic_eoi();
}

int virtio_route_irq(struct virtio_dev *d)
{
	unsigned line = EMHV_VIRTIO_IRQ_BASE + d->slot;

	irq_dev[d->slot] = d;
	if (irq_route(line, VIRTIO_VEC_BASE + (int)d->slot, on_interrupt, true)) {
		printf("virtio slot %u: cannot route I/O APIC line %u\n", d->slot, line);
		return -1;
	}
	return 0;
}

int virtio_wait_used(struct virtio_dev *d, unsigned q, uint64_t deadline)
{
	uint32_t changes = d->config_changes;

	apic_timer_at(deadline);
	for (;;) {
		/* interrupts are off here: one arriving after this check wakes the HLT below */
		if (virtio_has_used(d, q))
			return 1;
		if (d->config_changes != changes) {
			changes = d->config_changes;
			if (virtio_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
				return -1;
		}
		if (tsc_read() >= deadline)
			return 0;
		irq_wait();
	}
}
