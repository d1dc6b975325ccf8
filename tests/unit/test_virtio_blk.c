/*
 * Unit tests of the virtio block device (drivers/virtio/virtio_blk.c),
 * driven through the virtio-mmio transport as a guest's driver would, over
 * a fake guest RAM and a fake medium: configuration and features, reads and
 * writes across page edges, pages backed on first write only, zeros for
 * sectors never written, get-id, flush, discard and write-zeroes (whole
 * pages given back, edges zeroed, every range checked before any applies),
 * and the hostile requests: sectors outside the disk or wrapping, shapes a
 * driver must not send, buffers outside RAM, unknown types, a medium out of
 * memory; and completions that wait for the medium's time, in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/virtio/virtio_blk.h"

#define RAM_SIZE (1u << 20)
#include "fake_guest_ram.h"

#define PAGES	 64 /* the disk: 256 KiB */
#define SECTORS	 (PAGES * VIRTIO_BLK_PAGE / VIRTIO_BLK_SECTOR_SIZE)
#define QSIZE	 16
#define DESC	 0x1000
#define AVAIL	 0x2000
#define USED	 0x3000
#define HDR_AT	 0x10000 /* request headers, 0x100 apart */
#define DATA_AT	 0x40000 /* data buffers */
#define STAT_AT	 0x30000 /* status bytes, 0x10 apart */

/* ---- the fake medium ---- */

static struct {
	uint8_t *page[PAGES];
	unsigned backed, allocs, drops, limit; /* limit: pages it may hold */
	uint64_t clock, delay;		       /* now, and each request's time on the medium */
} med;

static const void *m_read(void *ctx, uint64_t i)
{
	(void)ctx;
	assert_true(i < PAGES); /* the device never asks past the disk */
	return med.page[i];
}

static void *m_write(void *ctx, uint64_t i)
{
	(void)ctx;
	assert_true(i < PAGES);
	if (!med.page[i]) {
		if (med.backed == med.limit)
			return NULL;
		med.page[i] = calloc(1, VIRTIO_BLK_PAGE);
		med.backed++;
		med.allocs++;
	}
	return med.page[i];
}

static void m_drop(void *ctx, uint64_t i)
{
	(void)ctx;
	assert_true(i < PAGES);
	if (med.page[i]) {
		free(med.page[i]);
		med.page[i] = NULL;
		med.backed--;
		med.drops++;
	}
}

static uint64_t m_due(void *ctx, uint64_t now, uint64_t bytes)
{
	(void)ctx, (void)bytes;
	return now + med.delay;
}

static uint64_t m_now(void *ctx)
{
	(void)ctx;
	return med.clock;
}

static const struct blk_store store = { m_read, m_write, m_drop, m_due, m_now, NULL };

/* ---- the driver's side ---- */

static struct virtio_blk blk;
static bool line;
static uint16_t avail_idx, next_desc;

static void irq(void *ctx, bool level)
{
	(void)ctx;
	line = level;
}

static uint32_t r32(uint64_t off)
{
	return (uint32_t)virtio_mmio_bus_ops.read(&blk.t, off, 4);
}

static void w32(uint64_t off, uint32_t val)
{
	virtio_mmio_bus_ops.write(&blk.t, off, 4, val);
}

static uint64_t offered(void)
{
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = r32(VIRTIO_MMIO_DEVICE_FEATURES);
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)r32(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void bring_up(void)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
		     (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);

	w32(VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	w32(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	w32(VIRTIO_MMIO_QUEUE_SEL, 0);
	w32(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	w32(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	w32(VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	w32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	w32(VIRTIO_MMIO_QUEUE_READY, 1);
	w32(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
					VIRTIO_STATUS_DRIVER_OK);
	assert_true(virtio_mmio_live(&blk.t));
}

static int setup(void **state)
{
	struct virtio_mmio_env env = { &mem, irq, NULL, NULL };
	char why[120];

	(void)state;
	memset(ram, 0, RAM_SIZE);
	for (unsigned i = 0; i < PAGES; i++)
		m_drop(NULL, i);
	memset(&med, 0, sizeof(med));
	med.limit = PAGES;
	avail_idx = next_desc = 0;
	line = false;
	if (virtio_blk_init(&blk, SECTORS, "disk-one", &store, &env, why, sizeof(why)))
		fail_msg("init: %s", why);
	bring_up();
	return 0;
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Make a chain of segments available (each its own descriptor) and notify; its head. */
static uint16_t submit(const struct seg *s, unsigned n)
{
	struct virtq_desc *d = (struct virtq_desc *)(ram + DESC);
	struct virtq_avail *a = (struct virtq_avail *)(ram + AVAIL);
	uint16_t head = next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t k = (uint16_t)((head + i) % QSIZE);

		d[k] = (struct virtq_desc){ s[i].gpa, s[i].len,
					    (uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) |
						       (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
					    (uint16_t)((head + i + 1) % QSIZE) };
	}
	next_desc = (uint16_t)((head + n) % QSIZE);
	a->ring[avail_idx % QSIZE] = head;
	a->idx = ++avail_idx;
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	return head;
}

static uint16_t used_idx(void)
{
	return ((struct virtq_used *)(ram + USED))->idx;
}

static struct virtq_used_elem used_elem(uint16_t i)
{
	return ((struct virtq_used *)(ram + USED))->ring[i % QSIZE];
}

static unsigned nreq;

/* A request with a header, one data buffer (len bytes at DATA_AT + off, device-writable when
 * write_data) and a status byte; its status as the device wrote it (0xee: not written). */
static uint8_t request(uint32_t type, uint64_t sector, uint64_t off, uint32_t len, bool write_data)
{
	uint64_t hdr = HDR_AT + 0x100 * (nreq % 16), st = STAT_AT + 0x10 * (nreq % 16);
	struct virtio_blk_req_hdr h = { type, 0, sector };
	struct seg s[3] = { { hdr, sizeof(h), false }, { DATA_AT + off, len, write_data }, { st, 1, true } };
	uint16_t before = used_idx();

	nreq++;
	memcpy(ram + hdr, &h, sizeof(h));
	ram[st] = 0xee;
	if (len)
		submit(s, 3);
	else
		submit((struct seg[]){ s[0], s[2] }, 2);
	virtio_blk_poll(&blk);
	assert_int_equal(used_idx(), (uint16_t)(before + 1));
	return ram[st];
}

static void fill(uint64_t off, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		ram[DATA_AT + off + i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static bool all(uint64_t gpa, uint32_t len, uint8_t v)
{
	for (uint32_t i = 0; i < len; i++)
		if (ram[gpa + i] != v)
			return false;
	return true;
}

/* ---- tests ---- */

static void test_config_and_features(void **state)
{
	struct virtio_blk_config c;
	uint64_t f = offered();

	(void)state;
	assert_int_equal(r32(VIRTIO_MMIO_DEVICE_ID), VIRTIO_BLK_DEVICE_ID);
	assert_true(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_true(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & (1ULL << VIRTIO_F_VERSION_1));
	for (unsigned i = 0; i < sizeof(c); i++)
		((uint8_t *)&c)[i] = (uint8_t)virtio_mmio_bus_ops.read(&blk.t, VIRTIO_MMIO_CONFIG + i, 1);
	assert_int_equal(c.capacity, SECTORS);
	assert_int_equal(c.seg_max, VIRTIO_BLK_SEG_MAX);
	assert_int_equal(c.max_discard_seg, VIRTIO_BLK_DISCARD_SEG);
	assert_int_equal(c.discard_sector_alignment, 8);
	assert_int_equal(c.write_zeroes_may_unmap, 1);
	/* a disk is whole pages */
	{
		struct virtio_blk b2;
		struct virtio_mmio_env env = { &mem, irq, NULL, NULL };
		char why[120];

		assert_int_equal(virtio_blk_init(&b2, 9, "x", &store, &env, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "4 KiB"));
	}
}

static void test_write_read_across_pages(void **state)
{
	(void)state;
	/* sectors 6..9 straddle pages 0 and 1; sectors 10..15 of page 1 stay zeros */
	fill(0, 4 * 512, 3);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 6, 0, 4 * 512, false), VIRTIO_BLK_S_OK);
	assert_int_equal(med.backed, 2);
	memset(ram + DATA_AT + 0x10000, 0x55, 16 * 512);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 0x10000, 16 * 512, true), VIRTIO_BLK_S_OK);
	assert_true(all(DATA_AT + 0x10000, 6 * 512, 0));
	assert_memory_equal(ram + DATA_AT + 0x10000 + 6 * 512, ram + DATA_AT, 4 * 512);
	assert_true(all(DATA_AT + 0x10000 + 10 * 512, 6 * 512, 0));
	/* used length: the data and the status byte */
	assert_int_equal(used_elem((uint16_t)(used_idx() - 1)).len, 16 * 512 + 1);
	/* reading never backs a page */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 8 * 40, 0x10000, 4096, true), VIRTIO_BLK_S_OK);
	assert_int_equal(med.backed, 2);
	assert_int_equal(blk.st.reads, 2);
	assert_int_equal(blk.st.writes, 1);
	assert_int_equal(blk.st.bytes_written, 4 * 512);
	/* the last sector of the disk is in it */
	assert_int_equal(request(VIRTIO_BLK_T_OUT, SECTORS - 1, 0, 512, false), VIRTIO_BLK_S_OK);
}

static void test_out_of_range_and_bad_shapes(void **state)
{
	(void)state;
	fill(0, 4096, 9);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, SECTORS - 1, 0, 1024, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, SECTORS, 0, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, ~0ULL - 1, 0, 1024, true), VIRTIO_BLK_S_IOERR); /* wraps */
	assert_non_null(strstr(blk.last_refused, "outside the disk"));
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 100, false), VIRTIO_BLK_S_IOERR); /* not whole sectors */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 0, 512, false), VIRTIO_BLK_S_IOERR);  /* read into readable */
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 512, true), VIRTIO_BLK_S_IOERR);  /* write from writable */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 0, 0, false), VIRTIO_BLK_S_IOERR);	   /* no data */
	assert_int_equal(med.backed, 0);						   /* none touched it */
	assert_int_equal(blk.st.ioerr, 7);
	assert_int_equal(request(77, 0, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk.st.unsupp, 1);
	/* a chain with no status byte, or a header short of 16 bytes: answered with nothing written */
	{
		uint16_t before = used_idx();

		submit((struct seg[]){ { HDR_AT, 16, false } }, 1);
		submit((struct seg[]){ { HDR_AT, 8, false }, { STAT_AT, 1, true } }, 2);
		assert_int_equal(used_idx(), (uint16_t)(before + 2));
		assert_int_equal(used_elem(before).len, 0);
		assert_int_equal(used_elem((uint16_t)(before + 1)).len, 0);
		assert_int_equal(blk.st.ioerr, 9);
	}
	assert_true(virtio_mmio_live(&blk.t)); /* and the device goes on */
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 512, false), VIRTIO_BLK_S_OK);
}

static void test_buffers_outside_ram(void **state)
{
	(void)state;
	/* a data buffer past the end of RAM: the transport refuses the chain, the device asks for a reset */
	submit((struct seg[]){ { HDR_AT, 16, false }, { RAM_SIZE - 256, 512, true }, { STAT_AT, 1, true } }, 3);
	assert_int_equal(med.backed, 0);
	assert_true(r32(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* a reset brings it back (with fresh rings: the old ones still hold the bad chain) */
	avail_idx = next_desc = 0;
	memset(ram + AVAIL, 0, 0x1000);
	memset(ram + USED, 0, 0x1000);
	bring_up();
	fill(0, 512, 1);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 512, false), VIRTIO_BLK_S_OK);
}

static void test_no_memory_is_an_io_error(void **state)
{
	(void)state;
	med.limit = 1;
	fill(0, 8192, 4);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 8192, false), VIRTIO_BLK_S_IOERR);
	assert_non_null(strstr(blk.last_refused, "no memory"));
	assert_int_equal(med.backed, 1);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 4096, false), VIRTIO_BLK_S_OK);
}

static uint8_t ranges(uint32_t type, const struct virtio_blk_discard_wz *r, unsigned n)
{
	memcpy(ram + DATA_AT, r, n * sizeof(*r));
	return request(type, 0, 0, n * (uint32_t)sizeof(*r), false);
}

static void test_discard_and_write_zeroes(void **state)
{
	(void)state;
	fill(0, 4 * 4096, 0x11);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 0, 4 * 4096, false), VIRTIO_BLK_S_OK);
	assert_int_equal(med.backed, 4);
	/* sectors 4..19: half of page 0, all of page 1, half of page 2 */
	assert_int_equal(ranges(VIRTIO_BLK_T_DISCARD, (struct virtio_blk_discard_wz[]){ { 4, 16, 0 } }, 1),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(med.backed, 3);
	assert_int_equal(med.drops, 1);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 0x10000, 4 * 4096, true), VIRTIO_BLK_S_OK);
	fill(0x20000, 4 * 4096, 0x11);
	assert_memory_equal(ram + DATA_AT + 0x10000, ram + DATA_AT + 0x20000, 4 * 512);
	assert_true(all(DATA_AT + 0x10000 + 4 * 512, 16 * 512, 0));
	assert_memory_equal(ram + DATA_AT + 0x10000 + 20 * 512, ram + DATA_AT + 0x20000 + 20 * 512, 12 * 512);
	/* write zeroes with unmap over page 3: it goes */
	assert_int_equal(ranges(VIRTIO_BLK_T_WRITE_ZEROES,
				(struct virtio_blk_discard_wz[]){ { 24, 8, VIRTIO_BLK_WZ_F_UNMAP } }, 1),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(med.backed, 2);
	assert_int_equal(blk.st.sectors_discarded, 16);
	assert_int_equal(blk.st.sectors_zeroed, 8);
	/* refusals: unmap on discard, a reserved flag, one range outside (nothing applied), too many */
	assert_int_equal(ranges(VIRTIO_BLK_T_DISCARD, (struct virtio_blk_discard_wz[]){ { 0, 8, 1 } }, 1),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(ranges(VIRTIO_BLK_T_WRITE_ZEROES, (struct virtio_blk_discard_wz[]){ { 0, 8, 2 } }, 1),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(ranges(VIRTIO_BLK_T_DISCARD,
				(struct virtio_blk_discard_wz[]){ { 0, 8, 0 }, { SECTORS - 4, 8, 0 } }, 2),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(ranges(VIRTIO_BLK_T_DISCARD,
				(struct virtio_blk_discard_wz[]){ { 0, 8, 0 }, { ~0ULL - 3, 8, 0 } }, 2),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(med.backed, 2); /* page 0 is still there */
	{
		struct virtio_blk_discard_wz many[VIRTIO_BLK_DISCARD_SEG + 1] = { { 0, 8, 0 } };

		assert_int_equal(ranges(VIRTIO_BLK_T_DISCARD, many, VIRTIO_BLK_DISCARD_SEG + 1), VIRTIO_BLK_S_IOERR);
	}
	memset(ram + DATA_AT, 0, 24);
	assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, 0, 24, false), VIRTIO_BLK_S_IOERR); /* not 16 each */
	assert_int_equal(med.backed, 2);
}

static void test_get_id_and_flush(void **state)
{
	(void)state;
	memset(ram + DATA_AT, 0x77, 64);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 0, 20, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + DATA_AT, "disk-one\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_int_equal(blk.st.flushes, 1);
	assert_int_equal(blk.st.ids, 1);
}

static void test_completions_wait_for_the_medium(void **state)
{
	uint16_t before = used_idx();

	(void)state;
	med.delay = 100;
	med.clock = 1000;
	fill(0, 512, 5);
	memcpy(ram + HDR_AT, &(struct virtio_blk_req_hdr){ VIRTIO_BLK_T_OUT, 0, 0 }, 16);
	submit((struct seg[]){ { HDR_AT, 16, false }, { DATA_AT, 512, false }, { STAT_AT, 1, true } }, 3);
	assert_int_equal(used_idx(), before); /* served (the page is written) but not complete */
	assert_int_equal(med.backed, 1);
	assert_int_equal(virtio_blk_next_due(&blk), 1100);
	med.delay = 0; /* a flush that costs nothing still waits for the write ahead of it */
	memcpy(ram + HDR_AT + 0x100, &(struct virtio_blk_req_hdr){ VIRTIO_BLK_T_FLUSH, 0, 0 }, 16);
	submit((struct seg[]){ { HDR_AT + 0x100, 16, false }, { STAT_AT + 0x10, 1, true } }, 2);
	assert_int_equal(used_idx(), before);
	med.clock = 1099;
	virtio_blk_poll(&blk);
	assert_int_equal(used_idx(), before);
	assert_false(line);
	med.clock = 1100;
	virtio_blk_poll(&blk);
	assert_int_equal(used_idx(), (uint16_t)(before + 2));
	assert_int_equal(used_elem(before).id, 0);
	assert_true(line); /* the driver asked for interrupts */
	assert_int_equal(virtio_blk_next_due(&blk), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_config_and_features, setup),
		cmocka_unit_test_setup(test_write_read_across_pages, setup),
		cmocka_unit_test_setup(test_out_of_range_and_bad_shapes, setup),
		cmocka_unit_test_setup(test_buffers_outside_ram, setup),
		cmocka_unit_test_setup(test_no_memory_is_an_io_error, setup),
		cmocka_unit_test_setup(test_discard_and_write_zeroes, setup),
		cmocka_unit_test_setup(test_get_id_and_flush, setup),
		cmocka_unit_test_setup(test_completions_wait_for_the_medium, setup),
	};

	return cmocka_run_group_tests(tests, setup_ram, free_ram);
}
