/* The virtio block device over virtio-mmio (see virtio_blk.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "virtio_blk.h"

#define SECTOR	 VIRTIO_BLK_SECTOR_SIZE
#define HDR	 sizeof(struct virtio_blk_req_hdr)
#define REQ_Q	 0

static const uint8_t zeros[VIRTIO_BLK_PAGE];

/* A request the device refuses: counted, its reason kept; the status to return. */
static uint8_t refuse(struct virtio_blk *b, uint8_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static uint8_t refuse(struct virtio_blk *b, uint8_t status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->last_refused, sizeof(b->last_refused), fmt, ap);
	va_end(ap);
	(*(status == VIRTIO_BLK_S_UNSUPP ? &b->st.unsupp : &b->st.ioerr))++;
	return status;
}

/* [sector, sector + count) on the disk, without wrapping. */
static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->sectors && count <= b->sectors - sector;
}

/* ---- reads and writes, a page of the medium at a time ---- */

/* Data between the chain's buffers and the medium: a read fills its writable part, a write takes its readable one. */
static uint8_t move(struct virtio_blk *b, const struct virtq_chain *c, uint64_t sector, uint64_t len, bool write)
{
	const struct virtq *q = &b->t.q[REQ_Q];
	uint64_t at = sector * SECTOR;

	for (uint64_t done = 0; done < len;) {
		uint64_t index = (at + done) / VIRTIO_BLK_PAGE, in = (at + done) % VIRTIO_BLK_PAGE;
		uint64_t n = VIRTIO_BLK_PAGE - in < len - done ? VIRTIO_BLK_PAGE - in : len - done;
		int64_t moved;

		if (write) {
			uint8_t *dst = b->store->page_write(b->store->ctx, index);

			if (!dst)
				return refuse(b, VIRTIO_BLK_S_IOERR, "write of sector %llu: no memory left to hold it",
					      (unsigned long long)((at + done) / SECTOR));
			moved = virtq_chain_read(q, c, HDR + done, dst + in, n);
		} else {
			const uint8_t *src = b->store->page_read(b->store->ctx, index);

			moved = virtq_chain_write(q, c, done, (src ? src : zeros) + in, n);
		}
		if (moved != (int64_t)n)
			return refuse(b, VIRTIO_BLK_S_IOERR, "%s of sector %llu: its buffer left the VM's RAM",
				      write ? "write" : "read", (unsigned long long)sector);
		done += n;
	}
	(*(write ? &b->st.writes : &b->st.reads))++;
	*(write ? &b->st.bytes_written : &b->st.bytes_read) += len;
	return VIRTIO_BLK_S_OK;
}

/* Bytes [at, at + len) of the medium read as zeros: whole pages go back, the edges are zeroed in place. */
static bool zero_range(struct virtio_blk *b, uint64_t at, uint64_t len)
{
	while (len) {
		uint64_t index = at / VIRTIO_BLK_PAGE, in = at % VIRTIO_BLK_PAGE, n = VIRTIO_BLK_PAGE - in;

		n = n < len ? n : len;
		if (n == VIRTIO_BLK_PAGE) {
			b->store->page_drop(b->store->ctx, index);
		} else if (b->store->page_read(b->store->ctx, index)) {
			uint8_t *p = b->store->page_write(b->store->ctx, index); /* backed already: cannot fail */

			if (!p)
				return false;
			memset(p + in, 0, n);
		}
		at += n;
		len -= n;
	}
	return true;
}

/* Discard or write zeroes: every range checked before any is applied. */
static uint8_t do_ranges(struct virtio_blk *b, const struct virtq_chain *c, uint32_t type)
{
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	const char *what = discard ? "discard" : "write-zeroes";
	struct virtio_blk_discard_wz r[VIRTIO_BLK_DISCARD_SEG];
	uint64_t bytes = c->read_bytes - HDR, count = bytes / sizeof(r[0]), sectors = 0;

	if (bytes % sizeof(r[0]) || !count || count > VIRTIO_BLK_DISCARD_SEG)
		return refuse(b, VIRTIO_BLK_S_IOERR, "%s with %llu bytes of ranges (16 each, 1 to %u ranges)", what,
			      (unsigned long long)bytes, VIRTIO_BLK_DISCARD_SEG);
	if (virtq_chain_read(&b->t.q[REQ_Q], c, HDR, r, bytes) != (int64_t)bytes)
		return refuse(b, VIRTIO_BLK_S_IOERR, "%s: its ranges left the VM's RAM", what);
	for (uint64_t i = 0; i < count; i++) {
		if (r[i].flags & ~VIRTIO_BLK_WZ_F_UNMAP || (discard && r[i].flags))
			return refuse(b, VIRTIO_BLK_S_UNSUPP, "%s range %llu: flags 0x%x", what, (unsigned long long)i,
				      r[i].flags);
		if (r[i].num_sectors > VIRTIO_BLK_RANGE_MAX || !in_disk(b, r[i].sector, r[i].num_sectors))
			return refuse(b, VIRTIO_BLK_S_IOERR, "%s of %u sectors at %llu: outside the disk's %llu",
				      what, r[i].num_sectors, (unsigned long long)r[i].sector,
				      (unsigned long long)b->sectors);
	}
	for (uint64_t i = 0; i < count; i++) {
		if (!zero_range(b, r[i].sector * SECTOR, (uint64_t)r[i].num_sectors * SECTOR))
			return refuse(b, VIRTIO_BLK_S_IOERR, "%s: no memory", what);
		sectors += r[i].num_sectors;
	}
	if (discard) {
		b->st.discards++;
		b->st.sectors_discarded += sectors;
	} else {
		b->st.zeroes++;
		b->st.sectors_zeroed += sectors;
	}
	return VIRTIO_BLK_S_OK;
}

/* One request: its status, the bytes written into its buffers (*written) and the data it moved (*moved). */
static uint8_t serve(struct virtio_blk *b, const struct virtq_chain *c, uint32_t *written, uint64_t *moved)
{
	struct virtio_blk_req_hdr h;
	uint64_t data_in = c->write_bytes - 1, data_out = c->read_bytes - HDR;

	if (virtq_chain_read(&b->t.q[REQ_Q], c, 0, &h, HDR) != HDR)
		return refuse(b, VIRTIO_BLK_S_IOERR, "header left the VM's RAM");
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool in = h.type == VIRTIO_BLK_T_IN;
		uint64_t len = in ? data_in : data_out;

		if ((in ? data_out : data_in) || !len || len % SECTOR)
			return refuse(b, VIRTIO_BLK_S_IOERR,
				      "%s of %llu readable, %llu writable data bytes (want whole sectors, one way)",
				      in ? "read" : "write", (unsigned long long)data_out, (unsigned long long)data_in);
		if (!in_disk(b, h.sector, len / SECTOR))
			return refuse(b, VIRTIO_BLK_S_IOERR, "%s of %llu sectors at %llu: outside the disk's %llu",
				      in ? "read" : "write", (unsigned long long)(len / SECTOR),
				      (unsigned long long)h.sector, (unsigned long long)b->sectors);
		*moved = len;
		*written = in ? (uint32_t)len : 0;
		return move(b, c, h.sector, len, !in);
	}
	case VIRTIO_BLK_T_FLUSH: /* every write is in the medium once its request completes */
		b->st.flushes++;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES;

		if (virtq_chain_write(&b->t.q[REQ_Q], c, 0, b->id, n) != (int64_t)n)
			return refuse(b, VIRTIO_BLK_S_IOERR, "get-id: its buffer left the VM's RAM");
		*written = (uint32_t)n;
		b->st.ids++;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return do_ranges(b, c, h.type);
	default:
		return refuse(b, VIRTIO_BLK_S_UNSUPP, "request type %u", h.type);
	}
}

/* ---- completions, in order, each at its time ---- */

static void complete(struct virtio_blk *b, uint16_t head, uint32_t written)
{
	if (virtio_mmio_push(&b->t, REQ_Q, head, written) == 0)
		virtio_mmio_signal_used(&b->t, REQ_Q);
}

static void take_requests(struct virtio_blk *b)
{
	struct virtq_chain c;

	while (b->done_count < VIRTIO_BLK_QUEUE_SIZE && virtio_mmio_pop(&b->t, REQ_Q, &c) == 0) {
		uint64_t moved = 0, now, due;
		uint32_t written = 0;
		uint8_t status;

		if (c.read_bytes < HDR || !c.write_bytes) { /* no header or no status byte: nothing to answer in */
			refuse(b, VIRTIO_BLK_S_IOERR, "a chain of %llu readable and %llu writable bytes",
			       (unsigned long long)c.read_bytes, (unsigned long long)c.write_bytes);
			complete(b, c.head, 0);
			continue;
		}
		status = serve(b, &c, &written, &moved);
		if (virtq_chain_write(&b->t.q[REQ_Q], &c, c.write_bytes - 1, &status, 1) == 1)
			written++;
		now = b->store->now(b->store->ctx);
		due = b->store->due(b->store->ctx, now, moved);
		if (due < b->last_due) /* in order: a flush is not done before the writes ahead of it */
			due = b->last_due;
		b->last_due = due;
		if (due <= now && !b->done_count) {
			complete(b, c.head, written);
			continue;
		}
		b->done[(b->done_first + b->done_count++) % VIRTIO_BLK_QUEUE_SIZE] =
			(struct virtio_blk_done){ c.head, written, due };
	}
}

void virtio_blk_poll(struct virtio_blk *b)
{
	uint64_t now;
	bool was_full = b->done_count == VIRTIO_BLK_QUEUE_SIZE;

	if (!b->done_count)
		return;
	now = b->store->now(b->store->ctx);
	while (b->done_count && b->done[b->done_first].due <= now) {
		const struct virtio_blk_done *d = &b->done[b->done_first];

		complete(b, d->head, d->written);
		b->done_first = (b->done_first + 1) % VIRTIO_BLK_QUEUE_SIZE;
		b->done_count--;
	}
	if (was_full && b->done_count < VIRTIO_BLK_QUEUE_SIZE)
		take_requests(b); /* the chains left waiting get no new notification */
}

uint64_t virtio_blk_next_due(const struct virtio_blk *b)
{
	return b->done_count ? b->done[b->done_first].due : 0;
}

/* ---- the device's callbacks ---- */

static uint64_t dev_features(void *dev)
{
	(void)dev;
	return (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
	       (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) | (1ULL << VIRTIO_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_EVENT_IDX);
}

static uint32_t dev_config_read(void *dev, uint32_t off, unsigned size)
{
	const struct virtio_blk *b = dev;
	uint32_t v = 0;

	memcpy(&v, (const uint8_t *)&b->config + off, size); /* the transport keeps off + size in the space */
	return v;
}

static void dev_config_write(void *dev, uint32_t off, unsigned size, uint32_t val)
{
	(void)dev, (void)off, (void)size, (void)val; /* writeback is not offered: nothing is writable */
}

static void dev_notify(void *dev, unsigned q)
{
	if (q == REQ_Q)
		take_requests(dev);
}

/* Chains held are forgotten: the driver took its queue back. */
static void dev_forget(void *dev, unsigned q)
{
	struct virtio_blk *b = dev;

	(void)q;
	b->done_first = b->done_count = 0;
	b->last_due = 0;
}

static void dev_reset(void *dev)
{
	dev_forget(dev, REQ_Q);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "block",
	.device_id = VIRTIO_BLK_DEVICE_ID,
	.num_queues = 1,
	.queue_max = { VIRTIO_BLK_QUEUE_SIZE },
	.config_len = sizeof(struct virtio_blk_config),
	.features = dev_features,
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.notify = dev_notify,
	.queue_stop = dev_forget,
	.reset = dev_reset,
};

int virtio_blk_init(struct virtio_blk *b, uint64_t sectors, const char *id, const struct blk_store *store,
		    const struct virtio_mmio_env *env, char *why, size_t n)
{
	if (!sectors || sectors % (VIRTIO_BLK_PAGE / SECTOR)) {
		snprintf(why, n, "%llu sectors: a disk is a whole number of 4 KiB pages", (unsigned long long)sectors);
		return -1;
	}
	memset(b, 0, sizeof(*b));
	b->store = store;
	b->sectors = sectors;
	strncpy(b->id, id, sizeof(b->id)); /* NUL-padded, not terminated at 20 bytes (5.2.6) */
	b->config = (struct virtio_blk_config){
		.capacity = sectors,
		.seg_max = VIRTIO_BLK_SEG_MAX,
		.max_discard_sectors = VIRTIO_BLK_RANGE_MAX,
		.max_discard_seg = VIRTIO_BLK_DISCARD_SEG,
		.discard_sector_alignment = VIRTIO_BLK_PAGE / SECTOR, /* whole pages go back to the pool */
		.max_write_zeroes_sectors = VIRTIO_BLK_RANGE_MAX,
		.max_write_zeroes_seg = VIRTIO_BLK_DISCARD_SEG,
		.write_zeroes_may_unmap = 1,
	};
	return virtio_mmio_init(&b->t, &blk_ops, b, env, why, n);
}
