/*
 * The virtio memory balloon (virtio 1.2, section 5.5) for a VM: the inflate
 * and deflate queues, the statistics queue and free-page reporting
 * (VIRTIO_BALLOON_F_REPORTING), with deflate-on-OOM offered to the driver.
 * Pages the guest puts in the balloon and free pages it reports go back to
 * the pool through the one path that takes memory from a VM
 * (vm_take_release, as the guest's release hypercall does): a later touch
 * backs them afresh with zeros. Pages it takes out of the balloon need
 * nothing: they are backed when touched. Every page number and range is
 * checked against the VM's RAM; one outside it is refused and counted.
 */
#ifndef EMHV_HV_BALLOON_H
#define EMHV_HV_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/virtio_balloon.h>
#include "drivers/virtio/virtio_mmio.h"

#define BALLOON_PAGE			 4096 /* the balloon's unit, whatever the guest's page size */
#define BALLOON_QUEUE_SIZE		 128
#define BALLOON_STATS			 16 /* statistics tags kept (5.5.6.3 defines 0..9 and more) */
#define BALLOON_BURST_GAP_MS		 5000 /* buffers closer than this are one burst of giving back */

/* The statistics tags shown (5.5.6.3). */
enum {
	BALLOON_S_SWAP_IN,
	BALLOON_S_SWAP_OUT,
	BALLOON_S_MAJFLT,
	BALLOON_S_MINFLT,
	BALLOON_S_MEMFREE,
	BALLOON_S_MEMTOT,
	BALLOON_S_AVAIL,
	BALLOON_S_CACHES,
};

struct vm;

struct balloon {
	bool used;
	struct vm *vm;
	unsigned slot;
	struct virtio_mmio t;
	uint32_t target; /* pages the device asks the balloon to hold (num_pages) */
	uint32_t actual; /* pages the driver says it holds */
	/* the statistics buffer the device holds until it wants fresh figures (-1: none) */
	int stats_head;
	uint64_t stats_tsc; /* when the figures below came */
	uint64_t stats[BALLOON_STATS];
	uint32_t stats_seen; /* bit per tag the driver sent */
	/* counts */
	uint64_t inflated, deflated, refused; /* pages */
	uint64_t reports, reported_bytes;     /* free-page reports */
	uint64_t returned;		      /* frames that went back to the pool (inflate and reports) */
	/*
	 * The last burst of giving back: inflate and report buffers that returned frames, each less than
	 * BALLOON_BURST_GAP_MS after the one before (Linux reports free pages in rounds 2 s apart, so one
	 * burst spans a round's reports). Host TSC of its first buffer's start and its last buffer's end,
	 * the frames by source, the start of the first buffer of each source, and the ticks spent
	 * handling its buffers.
	 */
	struct {
		uint64_t start, end, busy;
		uint64_t frames[2]; /* [0] inflated, [1] reported */
		uint64_t first[2];  /* the same, 0 while none */
	} burst;
	uint64_t target_tsc; /* when the target was last set */
	char last_refused[96];
};

/* Give vm a balloon in a free virtio slot (created, not started); 0, or -1 with why. */
int balloon_attach(struct vm *vm, char *why, size_t n);
/* vm's balloon, or NULL. */
struct balloon *balloon_of(const struct vm *vm);
/* Ask the guest to hold bytes in its balloon (a 4 KiB multiple up to its max); 0, or -1 with why. */
int balloon_set_target(struct balloon *b, uint64_t bytes, char *why, size_t n);
/* vm is going away. */
void balloon_vm_gone(struct vm *vm);
/* Ask each balloon's driver for fresh statistics now and then. */
void balloon_tick(void);

#endif
