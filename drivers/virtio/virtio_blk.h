/*
 * The virtio block device (virtio 1.2, section 5.2) over the virtio-mmio
 * transport: one request queue; read, write, flush, get-id, discard and
 * write-zeroes. The medium is a struct blk_store of 4 KiB pages (a page never
 * written reads as zeros), and the store says when each request is done, so
 * that a disk can emulate a slow medium: completions wait in order until
 * their time (virtio_blk_poll). Every request is checked before it touches
 * the medium (its shape, its sectors against the capacity, its buffers in
 * the guest's RAM); a bad one completes with VIRTIO_BLK_S_IOERR or _UNSUPP
 * and is counted, with the reason of the last one kept for the monitor.
 */
#ifndef EMHV_DRIVERS_VIRTIO_BLK_H
#define EMHV_DRIVERS_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/virtio_blk.h>
#include "virtio_mmio.h"

#define VIRTIO_BLK_PAGE		4096
#define VIRTIO_BLK_QUEUE_SIZE	128
#define VIRTIO_BLK_SEG_MAX	(VIRTQ_MAX_SEGS - 2) /* data segments beside the header and the status */
#define VIRTIO_BLK_DISCARD_SEG	32
#define VIRTIO_BLK_RANGE_MAX	(1u << 22) /* sectors in one discard or write-zeroes range: 2 GiB */

/* The medium, in pages of VIRTIO_BLK_PAGE bytes. */
struct blk_store {
	/* Page index for reading: NULL when never written (it reads as zeros). */
	const void *(*page_read)(void *ctx, uint64_t index);
	/* Page index for writing, backed with zeros first if it was not; NULL when there is no memory. */
	void *(*page_write)(void *ctx, uint64_t index);
	/* Page index reads as zeros from now on (its memory goes back). */
	void (*page_drop)(void *ctx, uint64_t index);
	/* The time (TSC) at which a request begun at now that moves bytes of data is done; now when it costs nothing. */
	uint64_t (*due)(void *ctx, uint64_t now, uint64_t bytes);
	uint64_t (*now)(void *ctx);
	void *ctx;
};

struct virtio_blk_stats {
	uint64_t reads, writes, flushes, ids, discards, zeroes; /* requests done, by type */
	uint64_t bytes_read, bytes_written, sectors_discarded, sectors_zeroed;
	uint64_t ioerr, unsupp; /* requests refused */
};

struct virtio_blk_done {
	uint16_t head;
	uint32_t written;
	uint64_t due;
};

struct virtio_blk {
	struct virtio_mmio t;
	const struct blk_store *store;
	uint64_t sectors;
	struct virtio_blk_config config;
	char id[VIRTIO_BLK_ID_BYTES];
	/* requests served and waiting for their time, oldest first (at most a queue's worth) */
	struct virtio_blk_done done[VIRTIO_BLK_QUEUE_SIZE];
	unsigned done_first, done_count;
	uint64_t last_due;
	struct virtio_blk_stats st;
	char last_refused[120]; /* why the last refused request was, or "" */
};

/* A disk of sectors 512-byte sectors (a multiple of 8) on store, named id; 0, or -1 with why. */
int virtio_blk_init(struct virtio_blk *b, uint64_t sectors, const char *id, const struct blk_store *store,
		    const struct virtio_mmio_env *env, char *why, size_t n);
/* Complete the requests whose time has come (and take new ones if the backlog was full). */
void virtio_blk_poll(struct virtio_blk *b);
/* The time the oldest waiting request is due, or 0 when none waits. */
uint64_t virtio_blk_next_due(const struct virtio_blk *b);

#endif
