/*
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2): the
 * register file a guest sees in a device's MMIO window, feature
 * negotiation, the device status state machine, queue setup, notifications
 * and the interrupt line. A device is a table of callbacks
 * (struct virtio_dev_ops) and its own state; the transport never trusts
 * the order or the values the guest writes.
 */
#ifndef EMHV_DRIVERS_VIRTIO_MMIO_H
#define EMHV_DRIVERS_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/virtio_mmio.h>
#include "hv/devbus.h"
#include "virtq.h"

/* The window a device instance claims on the bus (0x200 is the minimum). */
#define VIRTIO_MMIO_WINDOW 0x1000

/* Device-type feature bits (0..23 and 50..63), and the reserved ones a device may offer. */
#define VIRTIO_DEVICE_FEATURE_BITS (0xffffffULL | (~0ULL << 50))
#define VIRTIO_TRANSPORT_FEATURE_BITS                                                                  \
	((1ULL << VIRTIO_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1) | \
	 (1ULL << VIRTIO_F_RING_RESET))

#define VIRTIO_MMIO_MAX_QUEUES 8

/* A device over the transport; dev is the device's own state. */
struct virtio_dev_ops {
	const char *name;
	uint32_t device_id; /* section 5; nonzero */
	unsigned num_queues;
	uint16_t queue_max[VIRTIO_MMIO_MAX_QUEUES]; /* each a power of two up to 32768 */
	uint32_t config_len;			    /* bytes of device configuration space */
	/*
	 * Bit q: queue q's available buffers need no notification, the device takes them when it
	 * needs one: its used ring says so to the driver (VIRTQ_USED_F_NO_NOTIFY, section 2.7.10).
	 */
	uint32_t quiet_queues;
	/*
	 * The features offered: device-type bits, and of the reserved ones
	 * VIRTIO_F_INDIRECT_DESC, _EVENT_IDX and _RING_RESET if wanted; the
	 * transport adds VIRTIO_F_VERSION_1 and drops every other bit.
	 */
	uint64_t (*features)(void *dev);
	/* Optional: may refuse a combination the driver accepted (FEATURES_OK then fails). */
	bool (*features_ok)(void *dev, uint64_t features);
	/* Configuration space, 1, 2 or 4 bytes at off, off + size <= config_len (optional with config_len 0). */
	uint32_t (*config_read)(void *dev, uint32_t off, unsigned size);
	void (*config_write)(void *dev, uint32_t off, unsigned size, uint32_t val);
	/* Optional: shared-memory region id's base and length; false when it does not exist. */
	bool (*shm)(void *dev, uint8_t id, uint64_t *base, uint64_t *len);
	/* The driver made buffers available in queue q (also called for each ready queue at DRIVER_OK). */
	void (*notify)(void *dev, unsigned q);
	/* Optional: the driver set DRIVER_OK. */
	void (*driver_ok)(void *dev);
	/* Optional: queue q was stopped or reset: forget every chain held from it. */
	void (*queue_stop)(void *dev, unsigned q);
	/* The device is reset: forget every chain and go back to the initial state. */
	void (*reset)(void *dev);
};

/* What the transport needs from the VM it sits in; *mem must outlive the transport. */
struct virtio_mmio_env {
	const struct guest_mem *mem;
	void (*irq)(void *ctx, bool level); /* the device's line: high while InterruptStatus != 0 */
	void (*log)(void *ctx, const char *msg); /* optional: one line per refused guest step */
	void *ctx;
};

struct virtio_mmio {
	const struct virtio_dev_ops *ops;
	void *dev;
	struct virtio_mmio_env env;
	uint64_t offered, driver_features, negotiated;
	bool driver_extra; /* the driver wrote bits above 63 */
	uint32_t status, isr, config_gen;
	uint32_t device_features_sel, driver_features_sel, queue_sel, shm_sel;
	bool line;
	struct virtq q[VIRTIO_MMIO_MAX_QUEUES];
	bool q_reset[VIRTIO_MMIO_MAX_QUEUES]; /* reset with QueueReset since DRIVER_OK: may be set up again */
	/* counts */
	uint64_t refused, notifies, interrupts;
};

/* Set up t for a device; 0, or -1 with why (a malformed device table). */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		     const struct virtio_mmio_env *env, char *why, size_t n);
/* The transport's window on a VM's device bus (hv/devbus.h); dev is the struct virtio_mmio. */
extern const struct dev_ops virtio_mmio_bus_ops;
/* A guest access of size bytes at offset in the window: registers take 4, configuration 1, 2 or 4. */
uint32_t virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, unsigned size);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, unsigned size, uint32_t val);

/* ---- for devices ---- */

/* Does the device run (DRIVER_OK, neither FAILED nor DEVICE_NEEDS_RESET)? */
bool virtio_mmio_live(const struct virtio_mmio *t);
/*
 * Queue i's next chain as virtq_pop(); a broken ring sets DEVICE_NEEDS_RESET.
 * 1 also when the device does not run. Copy with virtq_chain_read/write(&t->q[i], ...).
 */
int virtio_mmio_pop(struct virtio_mmio *t, unsigned i, struct virtq_chain *c);
/* virtq_push() to queue i (1: the queue was stopped, the chain dropped); a broken ring sets DEVICE_NEEDS_RESET. */
int virtio_mmio_push(struct virtio_mmio *t, unsigned i, uint16_t head, uint32_t written);
/* After pushes to queue i: raise the used-buffer interrupt if the driver wants one. */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned i);
/* The device changed its configuration: new ConfigGeneration, and a config-change interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/* The device cannot go on (why is logged): DEVICE_NEEDS_RESET, and a config-change interrupt. */
void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why);

#endif
