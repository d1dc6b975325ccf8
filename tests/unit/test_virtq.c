/*
 * Unit tests of split virtqueues (drivers/virtio/virtq.c): a driver written
 * here puts descriptors and ring entries into a host buffer standing for
 * guest RAM [0, RAM_SIZE), as Linux's virtio_ring does, and the device side
 * takes and returns chains; broken rings are refused; a randomized run is
 * checked against a model, and random garbage in the rings never yields a
 * chain outside RAM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/virtio/virtq.h"
#include "tests/unit/test_rng.h"

#define RAM_SIZE  (1u << 20)
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x3000ULL
#define USED_GPA  0x4000ULL
#define DATA_GPA  0x10000ULL
#define QMAX	  256
#define F_EVENT	  (1ULL << VIRTIO_F_EVENT_IDX)
#define F_INDIR	  (1ULL << VIRTIO_F_INDIRECT_DESC)

#include "fake_guest_ram.h"

/* ---- the driver, in the test ---- */

struct drv {
	struct virtq q; /* the device side */
	uint16_t size;
	uint16_t avail_idx, last_used;
};

static struct virtq_desc *desc_at(uint64_t table, unsigned i)
{
	return (struct virtq_desc *)(ram + table) + i;
}

static struct virtq_avail *avail(void)
{
	return (struct virtq_avail *)(ram + AVAIL_GPA);
}

static struct virtq_used *used(void)
{
	return (struct virtq_used *)(ram + USED_GPA);
}

static uint16_t *used_event(const struct drv *d)
{
	return &avail()->ring[d->size];
}

static uint16_t *avail_event(const struct drv *d)
{
	return (uint16_t *)&used()->ring[d->size];
}

static int drv_setup(struct drv *d, uint16_t size, uint64_t features)
{
	char why[120];

	memset(ram, 0, RAM_SIZE);
	ram_limit = RAM_SIZE;
	watch_lo = watch_hi = 0;
	write_hook = NULL;
	*d = (struct drv){ .size = size };
	virtq_init(&d->q, &mem, QMAX);
	d->q.size = size;
	d->q.desc = DESC_GPA;
	d->q.avail = AVAIL_GPA;
	d->q.used = USED_GPA;
	return virtq_enable(&d->q, features, why, sizeof(why));
}

/* Publish head in the available ring (the ring entry, then the index). */
static void drv_publish(struct drv *d, uint16_t head)
{
	avail()->ring[d->avail_idx % d->size] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail()->idx = ++d->avail_idx;
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

/* Descriptors first..first+n-1 of table as one chain of segs; returns first. */
static uint16_t drv_chain(uint64_t table, uint16_t first, const struct seg *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		*desc_at(table, first + i) = (struct virtq_desc){
			.addr = s[i].gpa,
			.len = s[i].len,
			.flags = (s[i].w ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
			.next = (uint16_t)(i + 1 < n ? first + i + 1 : 0),
		};
	return first;
}

static bool drv_reap(struct drv *d, uint32_t *id, uint32_t *len)
{
	struct virtq_used_elem e;

	if (used()->idx == d->last_used)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	e = used()->ring[d->last_used++ % d->size];
	*id = e.id;
	*len = e.len;
	return true;
}

static void expect_broken(struct drv *d, const char *why_part)
{
	struct virtq_chain c;

	assert_int_equal(virtq_pop(&d->q, &c), -1);
	assert_true(d->q.broken);
	if (!strstr(d->q.why, why_part))
		fail_msg("why \"%s\" does not say \"%s\"", d->q.why, why_part);
	/* broken stays broken */
	assert_int_equal(virtq_pop(&d->q, &c), -1);
}

/* ---- enabling ---- */

static void expect_enable_fails(uint32_t size, uint64_t desc, uint64_t av, uint64_t us, const char *why_part)
{
	struct virtq q;
	char why[120] = "";

	virtq_init(&q, &mem, QMAX);
	q.size = size;
	q.desc = desc;
	q.avail = av;
	q.used = us;
	assert_int_equal(virtq_enable(&q, 0, why, sizeof(why)), -1);
	assert_false(q.ready);
	if (!strstr(why, why_part))
		fail_msg("size %u desc 0x%llx avail 0x%llx used 0x%llx: why \"%s\" lacks \"%s\"", size,
			 (unsigned long long)desc, (unsigned long long)av, (unsigned long long)us, why, why_part);
}

static void test_enable_checks(void **state)
{
	struct drv d;
	struct virtq_chain c;

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	assert_true(d.q.ready);
	expect_enable_fails(0, DESC_GPA, AVAIL_GPA, USED_GPA, "power of two");
	expect_enable_fails(3, DESC_GPA, AVAIL_GPA, USED_GPA, "power of two");
	expect_enable_fails(QMAX * 2, DESC_GPA, AVAIL_GPA, USED_GPA, "power of two");
	expect_enable_fails(8, DESC_GPA + 8, AVAIL_GPA, USED_GPA, "aligned");
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA + 1, USED_GPA, "aligned");
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA, USED_GPA + 2, "aligned");
	/* each area must lie wholly in RAM: the last byte counts */
	expect_enable_fails(8, RAM_SIZE - 16 * 8 + 16, AVAIL_GPA, USED_GPA, "descriptor table");
	expect_enable_fails(8, DESC_GPA, RAM_SIZE - (6 + 2 * 8) + 2, USED_GPA, "available ring");
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA, RAM_SIZE - (6 + 8 * 8) + 2, "used ring");
	expect_enable_fails(8, ~0ULL - 15, AVAIL_GPA, USED_GPA, "descriptor table");
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA, RAM_SIZE * 4, "used ring");
	/* exactly at the end of RAM is fine */
	{
		struct virtq q;
		char why[120];

		virtq_init(&q, &mem, QMAX);
		q.size = 8;
		q.desc = RAM_SIZE - 16 * 8;
		q.avail = RAM_SIZE - 1024 - (6 + 2 * 8);
		q.used = RAM_SIZE - 2048 - 72;
		assert_int_equal(virtq_enable(&q, 0, why, sizeof(why)), 0);
	}
	/* a queue that is not ready has nothing */
	virtq_disable(&d.q);
	assert_int_equal(virtq_pop(&d.q, &c), 1);
}

/* ---- exchanging chains ---- */

static void test_readable_then_writable(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { DATA_GPA, 100, false },
			   { DATA_GPA + 0x1000, 28, false },
			   { DATA_GPA + 0x2000, 64, true },
			   { DATA_GPA + 0x3000, 8, true } };
	uint8_t in[128], out[72], resp[72];
	uint32_t id, len;

	(void)state;
	assert_int_equal(drv_setup(&d, 16, 0), 0);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	memcpy(ram + DATA_GPA, in, 100);
	memcpy(ram + DATA_GPA + 0x1000, in + 100, 28);
	assert_int_equal(virtq_pop(&d.q, &c), 1);
	drv_publish(&d, drv_chain(DESC_GPA, 5, s, 4));

	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(c.head, 5);
	assert_int_equal(c.nseg, 4);
	assert_int_equal(c.nread, 2);
	assert_int_equal(c.read_bytes, 128);
	assert_int_equal(c.write_bytes, 72);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(c.seg[i].gpa, s[i].gpa);
		assert_int_equal(c.seg[i].len, s[i].len);
		assert_int_equal(c.seg[i].writable, s[i].w);
	}
	memset(out, 0, sizeof(out));
	assert_int_equal(virtq_chain_read(&d.q, &c, 0, out, sizeof(out)), sizeof(out));
	assert_memory_equal(out, in, sizeof(out));
	/* across the segment boundary, and cut at the end */
	assert_int_equal(virtq_chain_read(&d.q, &c, 90, out, 72), 38);
	assert_memory_equal(out, in + 90, 38);
	assert_int_equal(virtq_chain_read(&d.q, &c, 110, out, 72), 18); /* inside the second segment */
	assert_memory_equal(out, in + 110, 18);
	assert_int_equal(virtq_chain_read(&d.q, &c, 128, out, 1), 0);
	assert_int_equal(virtq_chain_read(&d.q, &c, 1000, out, 1), 0);

	for (unsigned i = 0; i < sizeof(resp); i++)
		resp[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(virtq_chain_write(&d.q, &c, 66, resp + 66, 2), 2); /* inside the second writable one */
	assert_int_equal(virtq_chain_write(&d.q, &c, 0, resp, 60), 60);
	assert_int_equal(virtq_chain_write(&d.q, &c, 60, resp + 60, 100), 12);
	assert_memory_equal(ram + DATA_GPA + 0x2000, resp, 64);
	assert_memory_equal(ram + DATA_GPA + 0x3000, resp + 64, 8);
	/* the readable part is untouched by writes */
	assert_memory_equal(ram + DATA_GPA, in, 100);
	assert_int_equal(virtq_push(&d.q, c.head, 72), 0);
	assert_true(drv_reap(&d, &id, &len));
	assert_int_equal(id, 5);
	assert_int_equal(len, 72);
	assert_false(drv_reap(&d, &id, &len));
	assert_int_equal(virtq_pop(&d.q, &c), 1);
	assert_int_equal(d.q.in_flight, 0);
}

/* Copies after the pop still fail cleanly when RAM went away. */
static void test_copy_after_ram_shrinks(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { DATA_GPA + 0x8000, 64, false }, { DATA_GPA + 0x9000, 64, true } };
	uint8_t buf[64] = { 0 };

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 2));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	ram_limit = DATA_GPA + 0x8000;
	assert_int_equal(virtq_chain_read(&d.q, &c, 0, buf, 64), -1);
	assert_int_equal(virtq_chain_write(&d.q, &c, 0, buf, 64), -1);
}

/* Zero-length buffers are never accessed, so where they point does not matter. */
static void test_zero_length_descriptor(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { ~0ULL, 0, false }, { DATA_GPA, 16, true } };

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 2));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(c.nseg, 2);
	assert_int_equal(c.read_bytes, 0);
}

/* ---- broken rings ---- */

static void test_descriptor_outside_ram(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { DATA_GPA, 16, false }, { RAM_SIZE - 8, 16, true } };
	struct seg s2[] = { { ~0ULL - 4, 16, false } };

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 2));
	expect_broken(&d, "not all RAM");
	/* wrapping around the address space */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s2, 1));
	expect_broken(&d, "not all RAM");
	/* a reset and a new enable bring the queue back */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 1));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
}

static void test_chain_loop(void **state)
{
	struct drv d;

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	*desc_at(DESC_GPA, 0) = (struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1 };
	*desc_at(DESC_GPA, 1) = (struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2 };
	*desc_at(DESC_GPA, 2) = (struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0 };
	drv_publish(&d, 0);
	expect_broken(&d, "loop");
	/* a descriptor naming itself */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	*desc_at(DESC_GPA, 3) = (struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 3 };
	drv_publish(&d, 3);
	expect_broken(&d, "loop");
}

static void test_overlong_chain(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[VIRTQ_MAX_SEGS + 1];

	(void)state;
	for (unsigned i = 0; i <= VIRTQ_MAX_SEGS; i++)
		s[i] = (struct seg){ DATA_GPA + 64 * i, 64, false };
	/* the longest accepted chain */
	assert_int_equal(drv_setup(&d, 128, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 10, s, VIRTQ_MAX_SEGS));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(c.nseg, VIRTQ_MAX_SEGS);
	assert_int_equal(c.read_bytes, 64 * VIRTQ_MAX_SEGS);
	/* one more is refused */
	assert_int_equal(drv_setup(&d, 128, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 10, s, VIRTQ_MAX_SEGS + 1));
	expect_broken(&d, "more than 64");
	/* more than 4 GiB in total */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	ram_limit = ~0ULL; /* pretend: the buffers are never touched */
	{
		struct seg big[] = { { 0, 0xffffffffu, false }, { 0, 1, true } };

		drv_publish(&d, drv_chain(DESC_GPA, 0, big, 2));
	}
	expect_broken(&d, "4 GiB");
}

static void test_avail_index_jump(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { DATA_GPA, 8, false } };

	(void)state;
	/* exactly size chains at once is fine */
	assert_int_equal(drv_setup(&d, 4, 0), 0);
	for (unsigned i = 0; i < 4; i++)
		drv_publish(&d, drv_chain(DESC_GPA, (uint16_t)i, s, 1));
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&d.q, &c), 0);
		assert_int_equal(c.head, i);
	}
	assert_int_equal(virtq_pop(&d.q, &c), 1);
	/* size + 1 is not */
	assert_int_equal(drv_setup(&d, 4, 0), 0);
	drv_chain(DESC_GPA, 0, s, 1);
	avail()->idx = 5;
	expect_broken(&d, "ran 5 entries");
	/* nor is going backwards */
	assert_int_equal(drv_setup(&d, 4, 0), 0);
	avail()->idx = 0xffff;
	expect_broken(&d, "ran 65535 entries");
}

static void test_next_and_head_past_table(void **state)
{
	struct drv d;

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	*desc_at(DESC_GPA, 0) = (struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 8 };
	drv_publish(&d, 0);
	expect_broken(&d, "next 8 is past");
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, 8);
	expect_broken(&d, "names descriptor 8");
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, 0xffff);
	expect_broken(&d, "names descriptor 65535");
}

static void test_writable_before_readable(void **state)
{
	struct drv d;
	struct seg s[] = { { DATA_GPA, 8, false }, { DATA_GPA + 8, 8, true }, { DATA_GPA + 16, 8, false } };

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 3));
	expect_broken(&d, "readable descriptor after a device-writable");
}

/* The driver offering more chains than the queue can hold (heads reused while in flight). */
static void test_too_many_in_flight(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { DATA_GPA, 8, true } };

	(void)state;
	assert_int_equal(drv_setup(&d, 4, 0), 0);
	drv_chain(DESC_GPA, 0, s, 1);
	for (unsigned i = 0; i < 4; i++)
		drv_publish(&d, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(virtq_pop(&d.q, &c), 0);
	drv_publish(&d, 0);
	expect_broken(&d, "in flight");
}

static void test_push_checks(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[] = { { DATA_GPA, 8, true } };

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	assert_int_equal(virtq_push(&d.q, 0, 0), -1); /* nothing popped */
	assert_string_equal(d.q.why, "push of chain 0, which is not in flight");
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 1));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(virtq_push(&d.q, 8, 0), -1); /* head past the table */
	assert_true(d.q.broken);
	/* a queue the driver stopped drops pushes quietly */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 0, s, 1));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	virtq_disable(&d.q);
	assert_int_equal(virtq_push(&d.q, 0, 8), 1);
	assert_int_equal(used()->idx, 0);
	assert_false(d.q.broken);
}

/* ---- indirect descriptors ---- */

#define IND_GPA 0x8000ULL

static void indirect_head(uint16_t i, uint64_t table, uint32_t len, uint16_t flags)
{
	*desc_at(DESC_GPA, i) = (struct virtq_desc){ table, len, (uint16_t)(VIRTQ_DESC_F_INDIRECT | flags), 0 };
}

static void test_indirect(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg t[] = { { DATA_GPA, 10, false }, { DATA_GPA + 100, 20, true }, { DATA_GPA + 200, 30, true } };
	struct seg direct[] = { { DATA_GPA + 300, 5, false } };

	(void)state;
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 3);
	indirect_head(2, IND_GPA, 3 * 16, VIRTQ_DESC_F_WRITE /* ignored */);
	drv_publish(&d, 2);
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(c.head, 2);
	assert_int_equal(c.nseg, 3);
	assert_int_equal(c.nread, 1);
	assert_int_equal(c.seg[2].gpa, DATA_GPA + 200);
	assert_int_equal(c.write_bytes, 50);

	/* direct descriptors, then one indirect one (2.7.5.3.2: the device must handle it) */
	drv_chain(DESC_GPA, 4, direct, 1);
	desc_at(DESC_GPA, 4)->flags |= VIRTQ_DESC_F_NEXT;
	desc_at(DESC_GPA, 4)->next = 5;
	indirect_head(5, IND_GPA, 3 * 16, 0);
	drv_publish(&d, 4);
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(c.nseg, 4);
	assert_int_equal(c.nread, 2);
	assert_int_equal(c.read_bytes, 15);

	/* not negotiated */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	drv_chain(IND_GPA, 0, t, 3);
	indirect_head(0, IND_GPA, 48, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "without VIRTIO_F_INDIRECT_DESC");
	/* with NEXT */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 3);
	indirect_head(0, IND_GPA, 48, VIRTQ_DESC_F_NEXT);
	drv_publish(&d, 0);
	expect_broken(&d, "with NEXT");
	/* nested */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 3);
	desc_at(IND_GPA, 2)->flags |= VIRTQ_DESC_F_INDIRECT;
	indirect_head(0, IND_GPA, 48, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "inside an indirect table");
	/* length not a multiple of 16, or 0 */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	indirect_head(0, IND_GPA, 40, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "not a multiple of 16");
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	indirect_head(0, IND_GPA, 0, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "not a multiple of 16");
	/* the table outside RAM */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	indirect_head(0, RAM_SIZE - 32, 48, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "indirect table 0x");
	/* next past the indirect table */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 3);
	indirect_head(0, IND_GPA, 32, 0); /* only 2 entries, the chain names a third */
	drv_publish(&d, 0);
	expect_broken(&d, "past the indirect table of 2");
	/* a loop inside the indirect table */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 2);
	desc_at(IND_GPA, 1)->flags |= VIRTQ_DESC_F_NEXT;
	desc_at(IND_GPA, 1)->next = 0;
	desc_at(IND_GPA, 0)->flags &= (uint16_t)~VIRTQ_DESC_F_WRITE;
	desc_at(IND_GPA, 1)->flags &= (uint16_t)~VIRTQ_DESC_F_WRITE;
	indirect_head(0, IND_GPA, 2048, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "more than 64"); /* a big table: the segment limit stops it */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 2);
	desc_at(IND_GPA, 1)->flags |= VIRTQ_DESC_F_NEXT;
	desc_at(IND_GPA, 1)->next = 0;
	desc_at(IND_GPA, 1)->flags &= (uint16_t)~VIRTQ_DESC_F_WRITE;
	indirect_head(0, IND_GPA, 32, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "loop");
	/* writable in the direct part, readable in the table */
	assert_int_equal(drv_setup(&d, 8, F_INDIR), 0);
	drv_chain(IND_GPA, 0, t, 3);
	*desc_at(DESC_GPA, 0) = (struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 };
	indirect_head(1, IND_GPA, 48, 0);
	drv_publish(&d, 0);
	expect_broken(&d, "readable descriptor after");
}

/* ---- notifications ---- */

static void pop_push(struct drv *d, unsigned n)
{
	struct seg s[] = { { DATA_GPA, 8, true } };
	struct virtq_chain c;
	uint32_t id, len;

	for (unsigned i = 0; i < n; i++) {
		drv_publish(d, drv_chain(DESC_GPA, 0, s, 1));
		assert_int_equal(virtq_pop(&d->q, &c), 0);
		assert_int_equal(virtq_push(&d->q, c.head, 8), 0);
		assert_true(drv_reap(d, &id, &len));
	}
}

static void test_event_idx_used_event(void **state)
{
	struct drv d;

	(void)state;
	assert_int_equal(drv_setup(&d, 8, F_EVENT), 0);
	avail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	assert_false(virtq_should_notify(&d.q));     /* nothing pushed */
	*used_event(&d) = 0;
	pop_push(&d, 1); /* used idx 0 -> 1 steps over 0 */
	assert_true(virtq_should_notify(&d.q));
	assert_false(virtq_should_notify(&d.q)); /* nothing new */
	pop_push(&d, 1);			 /* 1 -> 2 does not step over 0 */
	assert_false(virtq_should_notify(&d.q));
	*used_event(&d) = 4;
	pop_push(&d, 1); /* 2 -> 3 */
	assert_false(virtq_should_notify(&d.q));
	pop_push(&d, 2); /* 3 -> 5 steps over 4 */
	assert_true(virtq_should_notify(&d.q));
	/* across the 16-bit wrap */
	pop_push(&d, 0xfff0 - 5);
	(void)virtq_should_notify(&d.q);
	assert_int_equal(d.q.used_idx, 0xfff0);
	*used_event(&d) = 0xffff;
	pop_push(&d, 15);
	assert_false(virtq_should_notify(&d.q));
	pop_push(&d, 3); /* 0xffff -> 2: stepped over 0xffff */
	assert_true(virtq_should_notify(&d.q));
}

/* With EVENT_IDX, an empty queue asks for a notification at the next buffer. */
static struct drv *race_drv;

static void add_during_arm(uint64_t gpa, uint64_t len)
{
	struct seg s[] = { { DATA_GPA, 8, false } };

	if (gpa != (uint64_t)((uint8_t *)avail_event(race_drv) - ram) || len != 2)
		return;
	write_hook = NULL;
	/* the driver adds a chain just as the device goes idle, and reads avail_event too early to kick */
	drv_publish(race_drv, drv_chain(DESC_GPA, 1, s, 1));
}

static void test_event_idx_avail_event(void **state)
{
	struct drv d;
	struct virtq_chain c;

	(void)state;
	assert_int_equal(drv_setup(&d, 8, F_EVENT), 0);
	*avail_event(&d) = 0x5555;
	assert_int_equal(virtq_pop(&d.q, &c), 1);
	assert_int_equal(*avail_event(&d), 0);
	pop_push(&d, 3);
	assert_int_equal(virtq_pop(&d.q, &c), 1);
	assert_int_equal(*avail_event(&d), 3);
	/* the device re-reads the index after arming, so a buffer added meanwhile is not left waiting */
	race_drv = &d;
	write_hook = add_during_arm;
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(c.head, 1);
	assert_null(write_hook);
	/* without EVENT_IDX, avail_event is never written */
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	*avail_event(&d) = 0x5555;
	assert_int_equal(virtq_pop(&d.q, &c), 1);
	assert_int_equal(*avail_event(&d), 0x5555);
}

static void test_no_interrupt_flag(void **state)
{
	struct drv d;

	(void)state;
	assert_int_equal(drv_setup(&d, 8, 0), 0);
	*used_event(&d) = 100; /* ignored without EVENT_IDX */
	pop_push(&d, 1);
	assert_true(virtq_should_notify(&d.q));
	pop_push(&d, 1);
	avail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_false(virtq_should_notify(&d.q));
	pop_push(&d, 1);
	avail()->flags = 0;
	assert_true(virtq_should_notify(&d.q));
	assert_false(virtq_should_notify(&d.q));
}

/* ---- reading the rings once ---- */

static void test_each_descriptor_read_once(void **state)
{
	struct drv d;
	struct virtq_chain c;
	struct seg s[5];

	(void)state;
	for (unsigned i = 0; i < 5; i++)
		s[i] = (struct seg){ DATA_GPA + 32 * i, 32, i >= 3 };
	assert_int_equal(drv_setup(&d, 16, 0), 0);
	drv_publish(&d, drv_chain(DESC_GPA, 3, s, 5));
	watch_lo = DESC_GPA;
	watch_hi = DESC_GPA + 16 * 16;
	watch_reads = 0;
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(watch_reads, 5);
	watch_lo = AVAIL_GPA + 2; /* the available index */
	watch_hi = AVAIL_GPA + 4;
	watch_reads = 0;
	drv_publish(&d, drv_chain(DESC_GPA, 8, s, 1));
	assert_int_equal(virtq_pop(&d.q, &c), 0);
	assert_int_equal(watch_reads, 1);
}

/* ---- many operations ---- */

static void test_used_ring_wraps(void **state)
{
	struct drv d;
	struct virtq_chain c;
	uint32_t id, len;
	unsigned ops = 0;

	(void)state;
	assert_int_equal(drv_setup(&d, 4, 0), 0);
	rng_state = 7;
	while (ops < 100000) {
		unsigned batch = 1 + (unsigned)rnd_below(4);

		for (unsigned i = 0; i < batch; i++) {
			struct seg s[] = { { DATA_GPA + 64 * i, 16, false }, { DATA_GPA + 64 * i + 16, 16, true } };

			drv_publish(&d, drv_chain(DESC_GPA, (uint16_t)(2 * (i % 2)), s, 2));
		}
		for (unsigned i = 0; i < batch; i++) {
			assert_int_equal(virtq_pop(&d.q, &c), 0);
			assert_int_equal(c.head, 2 * (i % 2));
			assert_int_equal(virtq_push(&d.q, c.head, (uint32_t)(ops + i) & 0xf), 0);
		}
		assert_int_equal(virtq_pop(&d.q, &c), 1);
		for (unsigned i = 0; i < batch; i++) {
			assert_true(drv_reap(&d, &id, &len));
			assert_int_equal(id, 2 * (i % 2));
			assert_int_equal(len, (ops + i) & 0xf);
		}
		assert_false(drv_reap(&d, &id, &len));
		ops += batch;
	}
	assert_int_equal(used()->idx, (uint16_t)ops);
	assert_int_equal(d.q.last_avail, (uint16_t)ops);
	assert_int_equal(d.q.pushes, ops);
}

/* A driver with a free list, random chains and data, checked against a model of what is in flight. */
struct model_chain {
	bool busy;
	unsigned nseg, nread;
	struct seg s[8];
	uint16_t desc[8];
	uint8_t fill;
};

static void test_random_against_model(void **state)
{
	enum { SIZE = 32 };
	struct drv d;
	struct model_chain m[SIZE] = { 0 };
	bool desc_free[SIZE];
	uint16_t fifo[SIZE * 2];
	unsigned fifo_n = 0, free_n = SIZE, done = 0;
	uint64_t event_checks = 0, notified = 0;

	(void)state;
	assert_int_equal(drv_setup(&d, SIZE, F_EVENT | F_INDIR), 0);
	rng_state = 12345;
	for (unsigned i = 0; i < SIZE; i++)
		desc_free[i] = true;
	for (unsigned step = 0; step < 200000; step++) {
		unsigned what = (unsigned)rnd_below(10);

		if (what < 5 && free_n) { /* the driver adds a chain */
			unsigned n = 1 + (unsigned)rnd_below(free_n < 8 ? free_n : 8), k = 0;
			struct model_chain *mc = NULL;
			uint16_t head = 0;

			for (unsigned i = 0; i < SIZE && k < n; i++) {
				if (!desc_free[i])
					continue;
				if (!k) {
					head = (uint16_t)i;
					mc = &m[i];
					mc->nread = (unsigned)rnd_below(n + 1);
				}
				mc->desc[k++] = (uint16_t)i;
			}
			assert_false(mc->busy);
			mc->busy = true;
			mc->nseg = n;
			mc->fill = (uint8_t)rnd();
			for (unsigned j = 0; j < n; j++) {
				uint16_t di = mc->desc[j];

				desc_free[di] = false;
				free_n--;
				mc->s[j] = (struct seg){ DATA_GPA + 0x800ULL * (head * 8 + j),
							 1 + (uint32_t)rnd_below(0x800), j >= mc->nread };
				memset(ram + mc->s[j].gpa, mc->fill + j, mc->s[j].len);
				*desc_at(DESC_GPA, di) = (struct virtq_desc){
					mc->s[j].gpa, mc->s[j].len,
					(uint16_t)((mc->s[j].w ? VIRTQ_DESC_F_WRITE : 0) |
						   (j + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
					j + 1 < n ? mc->desc[j + 1] : (uint16_t)rnd()
				};
			}
			drv_publish(&d, head);
			fifo[fifo_n++] = head;
		} else if (what < 8) { /* the device takes one and answers */
			struct virtq_chain c;
			int r = virtq_pop(&d.q, &c);
			uint8_t buf[0x800 * 8];
			struct model_chain *mc;
			uint64_t want_r = 0, want_w = 0;

			if (!fifo_n) {
				assert_int_equal(r, 1);
				continue;
			}
			assert_int_equal(r, 0);
			assert_int_equal(c.head, fifo[0]);
			memmove(fifo, fifo + 1, --fifo_n * sizeof(fifo[0]));
			mc = &m[c.head];
			assert_int_equal(c.nseg, mc->nseg);
			assert_int_equal(c.nread, mc->nread);
			for (unsigned j = 0; j < c.nseg; j++) {
				assert_int_equal(c.seg[j].gpa, mc->s[j].gpa);
				assert_int_equal(c.seg[j].len, mc->s[j].len);
				assert_int_equal(c.seg[j].writable, mc->s[j].w);
				*(mc->s[j].w ? &want_w : &want_r) += mc->s[j].len;
			}
			assert_int_equal(c.read_bytes, want_r);
			assert_int_equal(c.write_bytes, want_w);
			assert_int_equal(virtq_chain_read(&d.q, &c, 0, buf, sizeof(buf)), want_r);
			for (unsigned j = 0, off = 0; j < mc->nread; off += mc->s[j++].len)
				for (unsigned b = 0; b < mc->s[j].len; b++)
					if (buf[off + b] != (uint8_t)(mc->fill + j))
						fail_msg("step %u: chain %u byte %u of segment %u differs", step,
							 c.head, b, j);
			memset(buf, (uint8_t)~mc->fill, sizeof(buf));
			assert_int_equal(virtq_chain_write(&d.q, &c, 0, buf, want_w), want_w);
			assert_int_equal(virtq_push(&d.q, c.head, (uint32_t)want_w), 0);
		} else { /* the driver reaps, maybe asks for an interrupt later */
			uint32_t id, len;
			uint16_t event = (uint16_t)(d.last_used + rnd_below(4));
			bool want, got;

			while (drv_reap(&d, &id, &len)) {
				struct model_chain *mc = &m[id];
				uint32_t w = 0;

				assert_true(id < SIZE);
				assert_true(mc->busy);
				for (unsigned j = mc->nread; j < mc->nseg; j++) {
					w += mc->s[j].len;
					for (unsigned b = 0; b < mc->s[j].len; b++)
						assert_int_equal(ram[mc->s[j].gpa + b], (uint8_t)~mc->fill);
				}
				assert_int_equal(len, w);
				for (unsigned j = 0; j < mc->nseg; j++) {
					desc_free[mc->desc[j]] = true;
					free_n++;
				}
				mc->busy = false;
				done++;
			}
			/* the model of used_event: notify iff the used index stepped over it since the last check */
			{
				uint16_t old = d.q.signalled_used, now = d.q.used_idx;

				*used_event(&d) = event;
				want = now != old && (uint16_t)(now - event - 1) < (uint16_t)(now - old);
				got = virtq_should_notify(&d.q);
				assert_int_equal(got, want);
				event_checks++;
				notified += got;
			}
		}
	}
	assert_true(done > 10000);
	assert_true(notified > 100 && notified < event_checks);
}

/* Garbage in the rings never crashes the device nor yields a chain outside RAM or out of order. */
static void test_random_garbage(void **state)
{
	struct drv d;
	unsigned ok = 0, broken_n = 0;

	(void)state;
	rng_state = 99;
	for (unsigned round = 0; round < 3000; round++) {
		struct virtq_chain c;
		uint16_t size = (uint16_t)(1u << rnd_below(6));

		assert_int_equal(drv_setup(&d, size, rnd_below(2) ? F_INDIR | F_EVENT : 0), 0);
		ram_limit = 0x40000;
		for (unsigned i = 0; i < size; i++) {
			*desc_at(DESC_GPA, i) = (struct virtq_desc){
				.addr = rnd_below(3) ? rnd_below(0x48000) : rnd(),
				.len = (uint32_t)(rnd_below(4) ? rnd_below(0x2000) : rnd()),
				.flags = (uint16_t)rnd_below(8),
				.next = (uint16_t)(rnd_below(4) ? rnd_below(size + 1) : rnd()),
			};
			avail()->ring[i] = (uint16_t)(rnd_below(8) ? rnd_below(size) : rnd());
		}
		for (unsigned i = 0; i < 64; i++) /* a possible indirect table */
			*desc_at(0x8000, i) = (struct virtq_desc){ rnd_below(0x48000), (uint32_t)rnd_below(0x100),
								   (uint16_t)rnd_below(8), (uint16_t)rnd_below(70) };
		avail()->idx = (uint16_t)(rnd_below(4) ? rnd_below(size + 2) : rnd());
		for (unsigned k = 0; k < 2u * size + 2; k++) {
			int r = virtq_pop(&d.q, &c);

			if (r == 1)
				break;
			if (r < 0) {
				assert_true(d.q.why[0] != 0);
				broken_n++;
				break;
			}
			ok++;
			assert_true(c.head < size);
			assert_true(c.nseg <= VIRTQ_MAX_SEGS && c.nread <= c.nseg);
			for (unsigned j = 0; j < c.nseg; j++) {
				assert_true(c.seg[j].len == 0 || fm_in_ram(NULL, c.seg[j].gpa, c.seg[j].len));
				assert_int_equal(c.seg[j].writable, j >= c.nread);
			}
			if (rnd_below(2))
				assert_int_equal(virtq_push(&d.q, c.head, 0), 0);
		}
	}
	assert_true(ok > 100);
	assert_true(broken_n > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enable_checks),
		cmocka_unit_test(test_readable_then_writable),
		cmocka_unit_test(test_copy_after_ram_shrinks),
		cmocka_unit_test(test_zero_length_descriptor),
		cmocka_unit_test(test_descriptor_outside_ram),
		cmocka_unit_test(test_chain_loop),
		cmocka_unit_test(test_overlong_chain),
		cmocka_unit_test(test_avail_index_jump),
		cmocka_unit_test(test_next_and_head_past_table),
		cmocka_unit_test(test_writable_before_readable),
		cmocka_unit_test(test_too_many_in_flight),
		cmocka_unit_test(test_push_checks),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_event_idx_used_event),
		cmocka_unit_test(test_event_idx_avail_event),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_each_descriptor_read_once),
		cmocka_unit_test(test_used_ring_wraps),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_random_garbage),
	};

	return cmocka_run_group_tests(tests, setup_ram, free_ram);
}
