/*
 * Unit tests of the virtio-mmio transport (drivers/virtio/virtio_mmio.c),
 * driven through its device-bus window as a guest would: identification,
 * feature negotiation and its refusals, the status state machine, queue
 * setup phases and limits, reset, interrupts and the line's level,
 * configuration space and generation, shared-memory registers, access
 * widths; a fake device echoes chains over a fake guest RAM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/virtio/virtio_mmio.h"

#define RAM_SIZE (1u << 20)
#define F(n)	 (1ULL << (n))
#define ST_ACK	 VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRV	 VIRTIO_STATUS_DRIVER
#define ST_FOK	 VIRTIO_STATUS_FEATURES_OK
#define ST_DOK	 VIRTIO_STATUS_DRIVER_OK
#define ST_NR	 VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define ST_FAIL	 VIRTIO_STATUS_FAILED

#include "fake_guest_ram.h"

/* ---- the VM side: interrupt line and log ---- */

struct vm {
	bool level;
	unsigned raises, lowers, logs;
	char last_log[200];
};

static void vm_irq(void *ctx, bool level)
{
	struct vm *v = ctx;

	if (level == v->level)
		fail_msg("irq callback with an unchanged level %d", level);
	v->level = level;
	(*(level ? &v->raises : &v->lowers))++;
}

static void vm_log(void *ctx, const char *msg)
{
	struct vm *v = ctx;

	v->logs++;
	snprintf(v->last_log, sizeof(v->last_log), "%s", msg);
}

/* ---- a fake device: two queues; echoes readable bytes into writable ones ---- */

#define FAKE_ID 0x2a

struct fake {
	struct virtio_mmio *t;
	uint64_t features;
	bool refuse_combo, with_shm;
	uint8_t config[12];
	unsigned resets, driver_oks, notifies[2], stops[2], echoed;
	bool echo;
};

static uint64_t fake_features(void *dev)
{
	return ((struct fake *)dev)->features;
}

static bool fake_features_ok(void *dev, uint64_t f)
{
	return !((struct fake *)dev)->refuse_combo || !(f & F(1));
}

static uint32_t fake_config_read(void *dev, uint32_t off, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, ((struct fake *)dev)->config + off, size);
	return v;
}

static void fake_config_write(void *dev, uint32_t off, unsigned size, uint32_t val)
{
	memcpy(((struct fake *)dev)->config + off, &val, size);
}

static bool fake_shm(void *dev, uint8_t id, uint64_t *base, uint64_t *len)
{
	if (!((struct fake *)dev)->with_shm || id != 3)
		return false;
	*base = 0x123456789000ULL;
	*len = 0x40200000ULL;
	return true;
}

static void fake_notify(void *dev, unsigned q)
{
	struct fake *f = dev;
	struct virtq_chain c;
	uint8_t buf[256];

	f->notifies[q]++;
	if (!f->echo)
		return;
	while (virtio_mmio_pop(f->t, q, &c) == 0) {
		int64_t n = virtq_chain_read(&f->t->q[q], &c, 0, buf, sizeof(buf));

		assert_true(n >= 0);
		n = virtq_chain_write(&f->t->q[q], &c, 0, buf, (uint64_t)n);
		assert_true(n >= 0);
		assert_int_equal(virtio_mmio_push(f->t, q, c.head, (uint32_t)n), 0);
		f->echoed++;
	}
	virtio_mmio_signal_used(f->t, q);
}

static void fake_driver_ok(void *dev)
{
	((struct fake *)dev)->driver_oks++;
}

static void fake_queue_stop(void *dev, unsigned q)
{
	((struct fake *)dev)->stops[q]++;
}

static void fake_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.name = "fake",
	.device_id = FAKE_ID,
	.num_queues = 2,
	.queue_max = { 256, 16 },
	.config_len = 10, /* not a multiple of 4 */
	.features = fake_features,
	.features_ok = fake_features_ok,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.shm = fake_shm,
	.notify = fake_notify,
	.driver_ok = fake_driver_ok,
	.queue_stop = fake_queue_stop,
	.reset = fake_reset,
};

/* A device with no configuration space, no shared memory and nothing optional. */
static const struct virtio_dev_ops bare_ops = {
	.name = "bare",
	.device_id = 5,
	.num_queues = 1,
	.queue_max = { 64 },
	.features = fake_features,
	.notify = fake_notify,
	.reset = fake_reset,
};

static struct virtio_mmio t;
static struct fake dev;
static struct vm vm;

static void setup_dev(const struct virtio_dev_ops *ops, uint64_t features)
{
	struct virtio_mmio_env env = { &mem, vm_irq, vm_log, &vm };
	char why[120];

	memset(ram, 0, RAM_SIZE);
	memset(&vm, 0, sizeof(vm));
	memset(&dev, 0, sizeof(dev));
	dev.t = &t;
	dev.features = features;
	if (virtio_mmio_init(&t, ops, &dev, &env, why, sizeof(why)))
		fail_msg("init: %s", why);
}

static uint32_t r32(uint64_t off)
{
	return (uint32_t)virtio_mmio_bus_ops.read(&t, off, 4);
}

static void w32(uint64_t off, uint32_t val)
{
	virtio_mmio_bus_ops.write(&t, off, 4, val);
}

/* The refusal count rises by exactly want over a step, and each refusal was logged. */
#define EXPECT_REFUSED(want, step)                                                                  \
	do {                                                                                        \
		uint64_t before_ = t.refused;                                                       \
		step;                                                                               \
		if (t.refused - before_ != (want))                                                  \
			fail_msg("%s: %llu refusals, want %u", #step,                               \
				 (unsigned long long)(t.refused - before_), (unsigned)(want));      \
		assert_int_equal(vm.logs, t.refused);                                               \
	} while (0)

static void write_features(uint64_t f)
{
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Linux's order: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK and check it stuck. */
static void negotiate(uint64_t f)
{
	w32(VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO_MMIO_STATUS, ST_ACK);
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	write_features(f);
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
}

struct rings {
	uint64_t desc, avail, used;
};

static const struct rings ring0 = { 0x1000, 0x2000, 0x3000 }, ring1 = { 0x5000, 0x6000, 0x7000 };

static void set_queue(unsigned q, uint32_t size, const struct rings *r)
{
	w32(VIRTIO_MMIO_QUEUE_SEL, q);
	w32(VIRTIO_MMIO_QUEUE_NUM, size);
	w32(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
	w32(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc >> 32));
	w32(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)r->avail);
	w32(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(r->avail >> 32));
	w32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)r->used);
	w32(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(r->used >> 32));
	w32(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The whole bring-up: both queues, DRIVER_OK. */
static void bring_up(uint64_t f)
{
	negotiate(f);
	set_queue(0, 16, &ring0);
	set_queue(1, 8, &ring1);
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
}

/* The driver puts a one-readable, one-writable chain with head i into queue 0 (size 16). */
static uint16_t avail_idx0;

static void put_chain(uint16_t head, const char *text)
{
	struct virtq_desc *d = (struct virtq_desc *)(ram + ring0.desc);
	struct virtq_avail *a = (struct virtq_avail *)(ram + ring0.avail);
	uint64_t in = 0x10000 + 0x100 * head, out = 0x20000 + 0x100 * head;

	strcpy((char *)ram + in, text);
	d[head] = (struct virtq_desc){ in, (uint32_t)strlen(text), VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1) };
	d[head + 1] = (struct virtq_desc){ out, 0x100, VIRTQ_DESC_F_WRITE, 0 };
	a->ring[avail_idx0 % 16] = head;
	a->idx = ++avail_idx0;
}

static struct virtq_used *used0(void)
{
	return (struct virtq_used *)(ram + ring0.used);
}

/* ---- identification ---- */

static void test_identity(void **state)
{
	(void)state;
	setup_dev(&fake_ops, F(3) | F(23) | F(55) | F(VIRTIO_F_EVENT_IDX) | F(33) | F(34) | F(38) | F(45) | F(24));
	assert_string_equal(virtio_mmio_bus_ops.name, "virtio-mmio");
	assert_int_equal(r32(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(r32(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(r32(VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	assert_int_equal(r32(VIRTIO_MMIO_VENDOR_ID), 0x76686d65);
	assert_memory_equal(&(uint32_t){ r32(VIRTIO_MMIO_VENDOR_ID) }, "emhv", 4);
	/* device-type bits pass; of the reserved ones only those the transport implements; VERSION_1 added */
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(r32(VIRTIO_MMIO_DEVICE_FEATURES), F(3) | F(23) | F(VIRTIO_F_EVENT_IDX));
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(r32(VIRTIO_MMIO_DEVICE_FEATURES), F(55 - 32) | F(VIRTIO_F_VERSION_1 - 32));
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(r32(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(t.refused, 0);
}

static void test_init_checks_the_device(void **state)
{
	struct virtio_mmio_env env = { &mem, vm_irq, vm_log, &vm }, no_irq = { &mem, NULL, NULL, NULL };
	struct virtio_dev_ops ops;
	struct virtio_mmio x;
	char why[120];

	(void)state;
	ops = fake_ops;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), 0);
	ops.num_queues = VIRTIO_MMIO_MAX_QUEUES + 1;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), -1);
	ops = fake_ops;
	ops.queue_max[1] = 24;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "queue 1"));
	ops.queue_max[1] = 0;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), -1);
	ops = fake_ops;
	ops.device_id = 0;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), -1);
	ops = fake_ops;
	ops.config_read = NULL;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), -1);
	ops = fake_ops;
	ops.config_len = VIRTIO_MMIO_WINDOW;
	assert_int_equal(virtio_mmio_init(&x, &ops, &dev, &env, why, sizeof(why)), -1);
	assert_int_equal(virtio_mmio_init(&x, &fake_ops, &dev, &no_irq, why, sizeof(why)), -1);
}

/* ---- feature negotiation ---- */

static void test_negotiation(void **state)
{
	uint64_t f = F(3) | F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_F_VERSION_1);

	(void)state;
	setup_dev(&fake_ops, F(3) | F(5) | F(VIRTIO_F_EVENT_IDX));
	negotiate(f);
	assert_int_equal(t.negotiated, f);
	assert_int_equal(t.refused, 0);
	/* features are fixed once FEATURES_OK is accepted */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff));
	EXPECT_REFUSED(2, write_features(F(VIRTIO_F_VERSION_1))); /* the two DriverFeatures writes */
	assert_int_equal(t.driver_features, f);
	assert_int_equal(t.negotiated, f);
	/* queues get the negotiated ring features */
	set_queue(0, 16, &ring0);
	assert_true(t.q[0].ready);
	assert_true(t.q[0].event_idx);
	assert_false(t.q[0].indirect);
}

static void expect_features_refused(uint64_t f, bool extra_word, const char *why_part)
{
	w32(VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO_MMIO_STATUS, ST_ACK);
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	write_features(f);
	if (extra_word) {
		w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
		w32(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	}
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	assert_int_equal(t.negotiated, 0);
	if (!strstr(vm.last_log, why_part))
		fail_msg("features 0x%llx: log \"%s\" lacks \"%s\"", (unsigned long long)f, vm.last_log, why_part);
	if (strncmp(vm.last_log, "virtio-mmio fake: ", 18))
		fail_msg("log \"%s\" does not name the device", vm.last_log);
	/* and nothing can be set up after the refusal */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM, 16));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK));
}

static void test_negotiation_refusals(void **state)
{
	(void)state;
	setup_dev(&fake_ops, F(1) | F(3) | F(VIRTIO_F_EVENT_IDX));
	dev.refuse_combo = true;
	expect_features_refused(F(3), false, "VIRTIO_F_VERSION_1");		   /* a legacy driver */
	expect_features_refused(F(3) | F(4) | F(VIRTIO_F_VERSION_1), false, "0x100000018"); /* bit 4 not offered */
	expect_features_refused(F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_RING_RESET), false, "offers");
	expect_features_refused(F(VIRTIO_F_VERSION_1) | F(34), false, "offers"); /* packed: never offered */
	expect_features_refused(F(VIRTIO_F_VERSION_1), true, "above 63");
	expect_features_refused(F(1) | F(VIRTIO_F_VERSION_1), false, "does not support"); /* the device says no */
	/* features written before DRIVER are refused, and so is a FEATURES_OK that skips DRIVER */
	w32(VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO_MMIO_STATUS, ST_ACK);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_DRIVER_FEATURES, 1));
	assert_int_equal(t.driver_features, 0);
	/* the accepted subset works after all this */
	negotiate(F(3) | F(VIRTIO_F_VERSION_1));
}

/* ---- the status state machine ---- */

static void test_status_order(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_DRV));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), 0);
	w32(VIRTIO_MMIO_STATUS, ST_ACK);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK);
	EXPECT_REFUSED(2, write_features(F(VIRTIO_F_VERSION_1))); /* before DRIVER */
	assert_int_equal(t.driver_features, 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_FOK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK);
	/* DRIVER is taken, DRIVER_OK (without FEATURES_OK) is not */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* clearing a bit is refused whole */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_DRV | ST_FOK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* an unknown bit (SUSPEND is not offered) */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | 16));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* the same value again changes nothing and is no error */
	EXPECT_REFUSED(0, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV));
	/* the driver cannot set DEVICE_NEEDS_RESET */
	EXPECT_REFUSED(0, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_NR));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* FAILED at any time; then nothing but a reset (features that would do are refused too) */
	EXPECT_REFUSED(0, write_features(F(VIRTIO_F_VERSION_1)));
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FAIL);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FAIL);
	EXPECT_REFUSED(2, write_features(F(VIRTIO_F_VERSION_1)));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FAIL | ST_FOK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FAIL);
	w32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(dev.resets, 1);
	/* several steps in one write are taken in order */
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	write_features(F(VIRTIO_F_VERSION_1));
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	assert_int_equal(dev.driver_oks, 1);
	assert_true(virtio_mmio_live(&t));
}

/* ---- queues ---- */

static void test_queue_setup_phases(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	w32(VIRTIO_MMIO_STATUS, ST_ACK);
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	/* before FEATURES_OK: every setup register is refused */
	w32(VIRTIO_MMIO_QUEUE_SEL, 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM, 16));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3000));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	assert_int_equal(t.q[0].size, 256);
	assert_int_equal(t.q[0].desc, 0);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	write_features(F(VIRTIO_F_VERSION_1));
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	/* between FEATURES_OK and DRIVER_OK: set up, 64-bit addresses from two halves */
	EXPECT_REFUSED(0, set_queue(0, 16, &ring0));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(t.q[0].size, 16);
	assert_int_equal(t.q[0].desc, ring0.desc);
	assert_int_equal(t.q[0].avail, ring0.avail);
	assert_int_equal(t.q[0].used, ring0.used);
	/* a ready queue's registers are refused; writing 1 again is no error */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM, 8));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x4000));
	EXPECT_REFUSED(0, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	assert_int_equal(t.q[0].size, 16);
	assert_int_equal(t.q[0].desc, ring0.desc);
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	/* after DRIVER_OK: refused */
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM, 8));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	/* stopping a queue is allowed at any time and tells the device */
	w32(VIRTIO_MMIO_QUEUE_SEL, 0);
	EXPECT_REFUSED(0, w32(VIRTIO_MMIO_QUEUE_READY, 0));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(dev.stops[0], 1);
	/* ... but not started again after DRIVER_OK */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 2));
}

static void test_queue_limits_and_selection(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	negotiate(F(VIRTIO_F_VERSION_1));
	w32(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	/* a queue that does not exist: max 0, never ready, nothing written */
	w32(VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM, 16));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	w32(VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_MAX_QUEUES);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	w32(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	assert_int_equal(t.status & ST_NR, 0);
	/* more than the maximum: refused at QueueReady, and the device needs a reset */
	EXPECT_REFUSED(1, set_queue(1, 32, &ring1));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_NR);
	assert_non_null(strstr(vm.last_log, "queue 1: queue size 32 is not a power of two in 1..16"));
	assert_int_equal(vm.raises, 0); /* no DRIVER_OK yet: no config interrupt */
	/* the driver cannot go on before a reset */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK));
	EXPECT_REFUSED(8, set_queue(0, 16, &ring0)); /* every write but QueueSel */
	/* not a power of two, zero */
	negotiate(F(VIRTIO_F_VERSION_1));
	EXPECT_REFUSED(1, set_queue(1, 12, &ring1));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	negotiate(F(VIRTIO_F_VERSION_1));
	EXPECT_REFUSED(1, set_queue(1, 0, &ring1));
	negotiate(F(VIRTIO_F_VERSION_1));
	EXPECT_REFUSED(0, set_queue(1, 16, &ring1));
	EXPECT_REFUSED(0, set_queue(0, 1, &ring0));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void expect_bad_areas(const struct rings *r, const char *why_part)
{
	negotiate(F(VIRTIO_F_VERSION_1));
	EXPECT_REFUSED(1, set_queue(0, 16, r));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(r32(VIRTIO_MMIO_STATUS) & ST_NR);
	if (!strstr(vm.last_log, why_part))
		fail_msg("log \"%s\" lacks \"%s\"", vm.last_log, why_part);
}

static void test_queue_areas_checked(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	expect_bad_areas(&(struct rings){ RAM_SIZE, 0x2000, 0x3000 },
			 "descriptor table 0x100000-0x1000ff is not all RAM");
	expect_bad_areas(&(struct rings){ 0x1000, RAM_SIZE - 30, 0x3000 }, "available ring");
	expect_bad_areas(&(struct rings){ 0x1000, 0x2000, RAM_SIZE - 128 }, "used ring");
	expect_bad_areas(&(struct rings){ 0x1000ULL | 1ULL << 40, 0x2000, 0x3000 }, "descriptor table");
	expect_bad_areas(&(struct rings){ 0x1008, 0x2000, 0x3000 }, "not 16-byte aligned");
	expect_bad_areas(&(struct rings){ 0x1000, 0x2001, 0x3000 }, "not 2-byte aligned");
	expect_bad_areas(&(struct rings){ 0x1000, 0x2000, 0x3002 }, "not 4-byte aligned");
	/* the high halves count */
	negotiate(F(VIRTIO_F_VERSION_1));
	set_queue(0, 16, &ring0);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS) & ST_NR, 0);
}

/* ---- running: notifications, interrupts, a broken ring ---- */

static void test_notify_and_interrupts(void **state)
{
	struct virtq_used_elem e;

	(void)state;
	setup_dev(&fake_ops, 0);
	dev.echo = true;
	avail_idx0 = 0;
	negotiate(F(VIRTIO_F_VERSION_1));
	set_queue(0, 16, &ring0);
	set_queue(1, 8, &ring1);
	/* a notification before DRIVER_OK is refused */
	put_chain(0, "hello");
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0));
	assert_int_equal(dev.notifies[0], 0);
	/* DRIVER_OK looks at every ready queue: the chain made available before is served */
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	assert_int_equal(dev.notifies[0], 1);
	assert_int_equal(dev.notifies[1], 1);
	assert_int_equal(dev.echoed, 1);
	assert_int_equal(used0()->idx, 1);
	e = used0()->ring[0];
	assert_int_equal(e.id, 0);
	assert_int_equal(e.len, 5);
	assert_memory_equal(ram + 0x20000, "hello", 5);
	assert_true(vm.level);
	assert_int_equal(vm.raises, 1);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_USED);
	/* more used buffers while the line is high: it stays high, no second edge */
	put_chain(2, "again");
	EXPECT_REFUSED(0, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0));
	assert_int_equal(dev.echoed, 2);
	assert_int_equal(vm.raises, 1);
	assert_int_equal(t.notifies, 1);
	/* the ACK lowers the line */
	w32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_USED);
	assert_false(vm.level);
	assert_int_equal(vm.lowers, 1);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* a configuration change: new generation, bit 1 */
	assert_int_equal(r32(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_mmio_config_changed(&t);
	assert_int_equal(r32(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_true(vm.level);
	put_chain(4, "third");
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_USED | VIRTIO_MMIO_INT_CONFIG);
	/* acking one of two bits keeps the line high */
	w32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_true(vm.level);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_USED);
	/* undefined bits in the ACK are refused, the defined ones taken */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_INTERRUPT_ACK, 0x5));
	assert_false(vm.level);
	assert_int_equal(vm.raises, 2);
	assert_int_equal(vm.lowers, 2);
	/* notifications of queues that are not there */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 2));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000));
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	w32(VIRTIO_MMIO_QUEUE_READY, 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 1));
	assert_int_equal(dev.notifies[1], 1);
	/* InterruptStatus is read-only */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_INTERRUPT_STATUS, 3));
	assert_false(vm.level);
}

static void test_event_idx_suppresses_interrupts(void **state)
{
	uint16_t *used_event = (uint16_t *)(ram + ring0.avail + 4 + 2 * 16);

	(void)state;
	setup_dev(&fake_ops, F(VIRTIO_F_EVENT_IDX));
	dev.echo = true;
	avail_idx0 = 0;
	bring_up(F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_EVENT_IDX));
	*used_event = 4; /* the driver wants an interrupt when the used index goes past 4 */
	put_chain(0, "a");
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(dev.echoed, 1);
	assert_false(vm.level);
	for (uint16_t i = 0; i < 4; i++) {
		put_chain((uint16_t)(2 * (i + 1)), "b");
		w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		assert_int_equal(vm.level, i == 3); /* used idx 4 -> 5 */
	}
	/* with EVENT_IDX the device asks for the next kick through avail_event */
	assert_int_equal(*(uint16_t *)(ram + ring0.used + 4 + 8 * 16), 5);
}

static void test_broken_ring_needs_reset(void **state)
{
	struct virtq_desc *d = (struct virtq_desc *)(ram + ring0.desc);

	(void)state;
	setup_dev(&fake_ops, 0);
	dev.echo = true;
	avail_idx0 = 0;
	bring_up(F(VIRTIO_F_VERSION_1));
	put_chain(0, "out of RAM");
	d[1].addr = RAM_SIZE - 0x10; /* the writable buffer runs past RAM */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0));
	assert_int_equal(dev.echoed, 0);
	assert_true(r32(VIRTIO_MMIO_STATUS) & ST_NR);
	assert_non_null(strstr(vm.last_log, "needs a reset: queue 0: chain 0: buffer 0xffff0+0x100 is not all RAM"));
	/* DRIVER_OK was set: the driver hears of it as a configuration change */
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_true(vm.level);
	assert_false(virtio_mmio_live(&t));
	/* further notifications are refused, and it is said once only */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0));
	virtio_mmio_needs_reset(&t, "again");
	assert_int_equal(t.refused, 2);
	/* the driver's writes keep DEVICE_NEEDS_RESET */
	w32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_FAIL);
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_FAIL | ST_NR);
	/* a reset and a new bring-up work */
	memset(ram, 0, RAM_SIZE);
	avail_idx0 = 0;
	bring_up(F(VIRTIO_F_VERSION_1));
	assert_false(vm.level);
	put_chain(0, "fine");
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(dev.echoed, 1);
}

static void test_reset_clears_everything(void **state)
{
	(void)state;
	setup_dev(&fake_ops, F(3));
	dev.echo = true;
	avail_idx0 = 0;
	bring_up(F(3) | F(VIRTIO_F_VERSION_1));
	put_chain(0, "x");
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vm.level);
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	w32(VIRTIO_MMIO_SHM_SEL, 3);
	w32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(dev.resets, 2); /* negotiate() resets too */
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(r32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(vm.level);
	assert_int_equal(vm.lowers, 1);
	assert_int_equal(t.driver_features, 0);
	assert_int_equal(t.negotiated, 0);
	assert_int_equal(t.queue_sel, 0);
	assert_int_equal(t.device_features_sel, 0);
	assert_int_equal(t.shm_sel, 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_false(t.q[i].ready);
		assert_int_equal(t.q[i].size, fake_ops.queue_max[i]);
		assert_int_equal(t.q[i].desc | t.q[i].avail | t.q[i].used, 0);
		assert_int_equal(t.q[i].last_avail, 0);
	}
	/* a chain the device still held is dropped, not pushed into a queue that is gone */
	assert_int_equal(virtio_mmio_push(&t, 0, 0, 1), 1);
	assert_int_equal(t.status, 0);
	/* nothing runs after the reset */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0));
	virtio_mmio_signal_used(&t, 0);
	virtio_mmio_config_changed(&t);
	assert_false(vm.level);
}

/* ---- configuration space ---- */

static void test_config_space(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	for (unsigned i = 0; i < sizeof(dev.config); i++)
		dev.config[i] = (uint8_t)(0x10 + i);
	assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x100, 1), 0x10);
	assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x109, 1), 0x19);
	assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x102, 2), 0x1312);
	assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x108, 2), 0x1918);
	assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x104, 4), 0x17161514);
	virtio_mmio_bus_ops.write(&t, 0x101, 1, 0xaa);
	virtio_mmio_bus_ops.write(&t, 0x104, 4, 0xdeadbeef);
	assert_int_equal(dev.config[1], 0xaa);
	assert_int_equal(r32(0x104), 0xdeadbeef);
	assert_int_equal(t.refused, 0);
	/* past the end (also partly), misaligned, 8 bytes */
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x10a, 1), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x108, 4), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x10a, 4), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x101, 2), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x108, 8), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0xffc, 4), 0));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, 0x10b, 2, 0xffff));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, 0x10a, 1, 0xff));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, 0x108, 4, 0xffffffff));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, 0x100, 8, ~0ULL));
	assert_int_equal(dev.config[8], 0x18);
	assert_int_equal(dev.config[10], 0x1a);
	assert_int_equal(dev.config[0], 0x10);
	/* generation: the device bumps it, a driver reads the same value around a consistent read */
	assert_int_equal(r32(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_mmio_config_changed(&t);
	virtio_mmio_config_changed(&t);
	assert_int_equal(r32(VIRTIO_MMIO_CONFIG_GENERATION), 2);
	assert_false(vm.level); /* before DRIVER_OK: no interrupt */
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_CONFIG_GENERATION, 0));
	assert_int_equal(r32(VIRTIO_MMIO_CONFIG_GENERATION), 2);
	/* a device without configuration space */
	setup_dev(&bare_ops, 0);
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, 0x100, 1), 0));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, 0x100, 4, 1));
}

/* ---- shared-memory regions ---- */

static uint64_t shm_reg64(unsigned low)
{
	return r32(low) | (uint64_t)r32(low + 4) << 32;
}

static void test_shm(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	dev.with_shm = true;
	w32(VIRTIO_MMIO_SHM_SEL, 3);
	assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_LEN_LOW), 0x40200000ULL);
	assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_BASE_LOW), 0x123456789000ULL);
	for (unsigned i = 0; i < 7; i++) {
		static const uint32_t none[] = { 0, 1, 2, 4, 255, 256 + 3, 0xffffffff }; /* ids are 8 bits */

		w32(VIRTIO_MMIO_SHM_SEL, none[i]);
		assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_LEN_LOW), ~0ULL);
		assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_BASE_LOW), ~0ULL);
	}
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_SHM_LEN_LOW, 0));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_SHM_BASE_HIGH, 0));
	/* the device has regions but none now */
	dev.with_shm = false;
	w32(VIRTIO_MMIO_SHM_SEL, 3);
	assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_LEN_LOW), ~0ULL);
	/* a device without the callback */
	setup_dev(&bare_ops, 0);
	w32(VIRTIO_MMIO_SHM_SEL, 0);
	assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_LEN_LOW), ~0ULL);
	assert_int_equal(shm_reg64(VIRTIO_MMIO_SHM_BASE_LOW), ~0ULL);
	assert_int_equal(t.refused, 0);
}

/* ---- access widths and directions ---- */

static void test_access_rules(void **state)
{
	(void)state;
	setup_dev(&fake_ops, 0);
	/* only aligned 32-bit register accesses */
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, 1), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, 2), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, 8), 0));
	EXPECT_REFUSED(1, assert_int_equal(virtio_mmio_bus_ops.read(&t, VIRTIO_MMIO_VERSION + 1, 4), 0));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, 1, ST_ACK));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, 2, ST_ACK));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, 8, ST_ACK));
	EXPECT_REFUSED(1, virtio_mmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS + 2, 4, ST_ACK));
	assert_int_equal(r32(VIRTIO_MMIO_STATUS), 0);
	/* write-only registers read 0; read-only ones ignore writes; holes do both */
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	EXPECT_REFUSED(1, assert_int_equal(r32(VIRTIO_MMIO_QUEUE_SEL), 0));
	EXPECT_REFUSED(1, assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NOTIFY), 0));
	EXPECT_REFUSED(1, assert_int_equal(r32(VIRTIO_MMIO_QUEUE_DESC_LOW), 0));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_MAGIC_VALUE, 0));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_DEVICE_ID, 0));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM_MAX, 1024));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_DEVICE_FEATURES, ~0u));
	EXPECT_REFUSED(1, w32(0x028, 4096)); /* legacy GuestPageSize */
	EXPECT_REFUSED(1, assert_int_equal(r32(0x040), 0)); /* legacy QueuePFN */
	EXPECT_REFUSED(1, assert_int_equal(r32(0x0f8), 0));
	assert_int_equal(r32(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	assert_int_equal(r32(VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	/* QueueReset without VIRTIO_F_RING_RESET */
	bring_up(F(VIRTIO_F_VERSION_1));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_RESET, 1));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void test_queue_reset(void **state)
{
	(void)state;
	setup_dev(&fake_ops, F(VIRTIO_F_RING_RESET));
	dev.echo = true;
	avail_idx0 = 0;
	bring_up(F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_RING_RESET));
	put_chain(0, "one");
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	w32(VIRTIO_MMIO_QUEUE_SEL, 0);
	EXPECT_REFUSED(0, w32(VIRTIO_MMIO_QUEUE_RESET, 1));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_RESET), 0);
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(dev.stops[0], 1);
	assert_int_equal(t.q[0].size, 256);
	assert_int_equal(t.q[0].desc, 0);
	/* that queue, and only that one, may be set up again while the device runs */
	w32(VIRTIO_MMIO_QUEUE_SEL, 1);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_NUM, 4));
	memset(ram, 0, RAM_SIZE);
	avail_idx0 = 0;
	EXPECT_REFUSED(0, set_queue(0, 16, &ring0));
	assert_int_equal(r32(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(t.q[0].last_avail, 0);
	put_chain(0, "two");
	w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(dev.echoed, 2);
	assert_int_equal(used0()->idx, 1);
	/* once ready again, the exception ends */
	w32(VIRTIO_MMIO_QUEUE_READY, 0);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_READY, 1));
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_RESET, 2));
	w32(VIRTIO_MMIO_QUEUE_SEL, 5);
	EXPECT_REFUSED(1, w32(VIRTIO_MMIO_QUEUE_RESET, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_init_checks_the_device),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_negotiation_refusals),
		cmocka_unit_test(test_status_order),
		cmocka_unit_test(test_queue_setup_phases),
		cmocka_unit_test(test_queue_limits_and_selection),
		cmocka_unit_test(test_queue_areas_checked),
		cmocka_unit_test(test_notify_and_interrupts),
		cmocka_unit_test(test_event_idx_suppresses_interrupts),
		cmocka_unit_test(test_broken_ring_needs_reset),
		cmocka_unit_test(test_reset_clears_everything),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_shm),
		cmocka_unit_test(test_access_rules),
		cmocka_unit_test(test_queue_reset),
	};

	return cmocka_run_group_tests(tests, setup_ram, free_ram);
}
