/*
 * virtio_check.c -- checks, from the driver's side, that a pipe device
 * (either end) refuses what the virtio 1.2 specification says a device must
 * refuse, and comes back after a reset. Each check starts from a reset of
 * the device, does the wrong step next to the right one (so that a refusal
 * can only be the wrong step's), and judges by what the device's registers
 * and rings read back, never by what the driver meant:
 *
 *   empty_slot       every slot reads MagicValue "virt" and Version 2, and
 *                    those without a device DeviceID 0 (4.2.2, 4.2.3.1.1);
 *                    at least one slot is empty
 *   bad_feature      a feature bit the device did not offer, accepted with
 *                    VIRTIO_F_VERSION_1: FEATURES_OK does not stick (2.2.2,
 *                    3.1.1); VIRTIO_F_VERSION_1 alone: it does
 *   no_version_1     the offer without VIRTIO_F_VERSION_1: FEATURES_OK does
 *                    not stick (6.1: the device may refuse to work on)
 *   bad_queue_num    QueueNum above QueueNumMax, or not a power of two (2.7),
 *                    then QueueReady 1: QueueReady reads 0; QueueNumMax
 *                    itself: it reads 1 (the rings are the same)
 *   no_such_queue    QueueSel of a queue the device lacks: QueueNumMax reads
 *                    0 (4.2.2); queues 0 and 1: not 0
 *   ring_loop        a descriptor whose NEXT names itself, made available on
 *                    the notify queue and notified: Status has
 *                    DEVICE_NEEDS_RESET (2.1.2 "SHOULD"; the chain is longer
 *                    than the queue, 2.7.5.2)
 *   needs_reset_irq  the same after DRIVER_OK: InterruptStatus has the
 *                    configuration change bit and the interrupt comes (2.1.2
 *                    "MUST")
 *   recovers         from DEVICE_NEEDS_RESET, Status 0: Status,
 *                    InterruptStatus and both QueueReady read 0 (4.2.2.1);
 *                    brought up again, it takes events buffers and returns
 *                    a well-formed event (used length 0, the descriptor
 *                    given), its Status exactly ACKNOWLEDGE | DRIVER |
 *                    FEATURES_OK | DRIVER_OK
 *
 * Arguments: none. Results: one per check, named as above: 1 the device
 * did as the specification says, 0 it did not. One line per check.
 * Exit status: 0 every result is 1; 1 some are 0; 2 no pipe device (or no TSC rate).
 */
#include <stdio.h>
#include <string.h>
#include "runtime.h"
#include "virtio.h"
#include <emhv/pipe.h>

#define EXIT_NO_DEVICE 2
#define RESET_TRIES    1000 /* reads of Status before a reset counts as not done */
#define WAIT_MS	       200  /* the longest wait for the device's answer */
/* Ring areas for the queue-size check: room for twice any QueueNumMax up to this. */
#define RING_ENTRIES 512
#define V1	     (1ULL << VIRTIO_F_VERSION_1)
#define LIVE                                                                                       \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)

static const char *const known_args[] = {NULL};

static struct virtio_dev dev;
static unsigned slot;
static uint32_t event_word; /* the event this end may send: EV_DATA (sender) or EV_SPACE */
static uint32_t event_bufs[EMHV_PIPE_QUEUE_MAX];

/* Rings for bad_queue_num, large enough for the sizes it tries. */
static struct {
	struct virtq_desc desc[2 * RING_ENTRIES] __attribute__((aligned(16)));
	uint16_t avail[3 + 2 * RING_ENTRIES] __attribute__((aligned(2)));
	struct virtq_used_elem used[1 + 2 * RING_ENTRIES] __attribute__((aligned(4)));
} rings;

/* The detail line of the check running. */
static char why[400];

static __attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
	size_t n = strlen(why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - n, fmt, ap);
	va_end(ap);
}

static uint32_t rd(unsigned off)
{
	return virtio_read_reg(slot, off);
}

static void wr(unsigned off, uint32_t val)
{
	virtio_write_reg(slot, off, val);
}

static void write_addr(unsigned low, const void *p)
{
	wr(low, (uint32_t)(uintptr_t)p);
	wr(low + 4, (uint32_t)((uint64_t)(uintptr_t)p >> 32));
}

/* Status 0, and read until it says the reset is done (4.2.3.1.1); false if it never does. */
static bool reset_device(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < RESET_TRIES; i++)
		if (!rd(VIRTIO_MMIO_STATUS))
			return true;
	say("reset not done (status 0x%x); ", (unsigned)rd(VIRTIO_MMIO_STATUS));
	return false;
}

static uint64_t offered_features(void)
{
	uint64_t f;

	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | rd(VIRTIO_MMIO_DEVICE_FEATURES);
}

/*
 * A reset device taken to DRIVER, features f accepted, FEATURES_OK written:
 * the status read back (bit 31 set if the device did not even reach DRIVER).
 */
static uint32_t try_features(uint64_t f)
{
	if (virtio_probe(&dev, slot))
		return 1u << 31;
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	return rd(VIRTIO_MMIO_STATUS);
}

static bool features_ok(uint32_t status)
{
	return !(status >> 31) && (status & VIRTIO_STATUS_FEATURES_OK);
}

/* ---- the checks: each returns 1 (as the specification says) or 0, and says what it saw ---- */

static int check_empty_slot(void)
{
	unsigned empty = 0, devices = 0, odd = 0;

	for (unsigned s = 0; s < EMHV_VIRTIO_SLOTS; s++) {
		uint32_t magic = virtio_read_reg(s, VIRTIO_MMIO_MAGIC_VALUE);
		uint32_t version = virtio_read_reg(s, VIRTIO_MMIO_VERSION);
		uint32_t id = virtio_read_reg(s, VIRTIO_MMIO_DEVICE_ID);

		if (magic != VIRTIO_MMIO_MAGIC || version != VIRTIO_MMIO_VERSION_2) {
			say("slot %u reads magic 0x%x version %u; ", s, (unsigned)magic,
			    (unsigned)version);
			odd++;
		} else if (id) {
			devices++;
		} else {
			empty++;
		}
	}
	say("%u slots read \"virt\", version 2, DeviceID 0; %u hold devices; %u read neither",
	    empty, devices, odd);
	return empty && !odd;
}

static int check_bad_feature(void)
{
	uint64_t offered, bad;
	uint32_t good, st;
	unsigned bit;

	if (virtio_probe(&dev, slot))
		return 0;
	offered = offered_features();
	for (bit = 0; bit < 64 && (offered >> bit & 1); bit++)
		;
	if (bit == 64) {
		say("the device offers all 64 bits: none to accept against its offer");
		return 0;
	}
	bad = V1 | 1ULL << bit;
	good = try_features(V1);
	st = try_features(bad);
	say("offered 0x%llx; VERSION_1 alone: status 0x%x; with bit %u (0x%llx): status 0x%x",
	    (unsigned long long)offered, (unsigned)good, bit, (unsigned long long)bad,
	    (unsigned)st);
	return features_ok(good) && !features_ok(st) && !(st >> 31);
}

static int check_no_version_1(void)
{
	uint64_t f;
	uint32_t good, st;

	if (virtio_probe(&dev, slot))
		return 0;
	f = offered_features() & ~V1;
	good = try_features(V1);
	st = try_features(f);
	say("VERSION_1: status 0x%x; the offer without it (0x%llx): status 0x%x", (unsigned)good,
	    (unsigned long long)f, (unsigned)st);
	return features_ok(good) && !features_ok(st) && !(st >> 31);
}

/*
 * Queue 0 of a reset device set up with QueueNum num and the same rings
 * whatever num is, then QueueReady 1: what QueueReady reads back, or -1 if
 * the device refused an earlier step. *max gets QueueNumMax.
 */
static int queue_ready_with(uint32_t num, uint32_t *max)
{
	uint32_t ready;

	if (!features_ok(try_features(V1))) {
		say("FEATURES_OK refused; ");
		return -1;
	}
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	*max = rd(VIRTIO_MMIO_QUEUE_NUM_MAX);
	memset(&rings, 0, sizeof(rings));
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	write_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, rings.desc);
	write_addr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, rings.avail);
	write_addr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, rings.used);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ready = rd(VIRTIO_MMIO_QUEUE_READY);
	say("QueueNum %u: QueueReady %u (status 0x%x); ", (unsigned)num, (unsigned)ready,
	    (unsigned)rd(VIRTIO_MMIO_STATUS));
	return (int)ready;
}

static int check_bad_queue_num(void)
{
	uint32_t max = 0, m;
	int ok;

	ok = queue_ready_with(0, &max) == 0; /* QueueNumMax first; 0 is no power of two either */
	if (!max || max > RING_ENTRIES) {
		say("QueueNumMax %u: nothing to check against (rings for up to %d)", (unsigned)max,
		    RING_ENTRIES);
		return 0;
	}
	ok &= queue_ready_with(max, &m) == 1;
	ok &= queue_ready_with(2 * max, &m) == 0;
	if (max > 2)
		ok &=
		    queue_ready_with(max - 1, &m) == 0; /* max - 1 is a power of two only below 3 */
	ok &= queue_ready_with(3, &m) == 0;
	say("QueueNumMax %u", (unsigned)max);
	return ok;
}

static int check_no_such_queue(void)
{
	static const uint32_t absent[] = {2, 3, 0x8000, 0xffffffff};
	uint32_t n;
	int ok = 1;

	if (!features_ok(try_features(V1))) {
		say("FEATURES_OK refused");
		return 0;
	}
	for (uint32_t q = 0; q < 2; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		n = rd(VIRTIO_MMIO_QUEUE_NUM_MAX);
		say("queue %u: QueueNumMax %u; ", (unsigned)q, (unsigned)n);
		ok &= n != 0;
	}
	for (unsigned k = 0; k < sizeof(absent) / sizeof(absent[0]); k++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, absent[k]);
		n = rd(VIRTIO_MMIO_QUEUE_NUM_MAX);
		say("queue 0x%x: %u; ", (unsigned)absent[k], (unsigned)n);
		ok &= n == 0;
	}
	return ok;
}

/*
 * Bring the device up (virtio_init), then make a one-descriptor loop
 * available on the notify queue and notify: the status read back. used_moved
 * says whether the device returned anything.
 */
static uint32_t make_loop(bool *used_moved)
{
	struct virtio_queue *vq = &dev.q[EMHV_PIPE_Q_NOTIFY];
	uint16_t used0;
	uint32_t st;

	if (virtio_init(&dev, slot, 2)) {
		say("the device does not come up (see above); ");
		return 1u << 31;
	}
	st = virtio_status(&dev);
	if (st != LIVE) {
		say("status 0x%x after bring-up; ", (unsigned)st);
		return 1u << 31;
	}
	used0 = __atomic_load_n(&vq->used.idx, __ATOMIC_ACQUIRE);
	/* descriptor 0 is free in a queue just set up: its NEXT is itself */
	vq->desc[0] = (struct virtq_desc){(uint64_t)(uintptr_t)&event_word, sizeof(event_word),
					  VIRTQ_DESC_F_NEXT, 0};
	vq->avail.ring[vq->avail_idx % vq->size] = 0;
	vq->avail_idx++;
	__atomic_store_n(&vq->avail.idx, vq->avail_idx, __ATOMIC_RELEASE);
	virtio_notify(&dev, EMHV_PIPE_Q_NOTIFY);
	st = virtio_status(&dev);
	*used_moved = __atomic_load_n(&vq->used.idx, __ATOMIC_ACQUIRE) != used0;
	say("a loop at descriptor 0 of %u: status 0x%x, %s; ", (unsigned)vq->size, (unsigned)st,
	    *used_moved ? "the device returned a buffer" : "nothing returned");
	return st;
}

static int check_ring_loop(void)
{
	bool moved;
	uint32_t st = make_loop(&moved);

	return !(st >> 31) && (st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static int check_needs_reset_irq(void)
{
	uint64_t deadline;
	uint32_t st, isr, seen;
	bool moved;

	/* the handler takes interrupts only in irq_wait below: InterruptStatus is read first */
	if (virtio_route_irq(&dev))
		return 0;
	st = make_loop(&moved);
	isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	seen = dev.config_changes;
	deadline = tsc_read() + WAIT_MS * boot_params()->tsc_khz;
	apic_timer_at(deadline);
	while (dev.config_changes == seen && tsc_read() < deadline)
		irq_wait();
	say("InterruptStatus 0x%x; %s", (unsigned)isr,
	    dev.config_changes != seen ? "a configuration change interrupt came"
				       : "no configuration change interrupt");
	return !(st >> 31) && (st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
	       (isr & VIRTIO_MMIO_INT_CONFIG) && dev.config_changes != seen;
}

/* After the reset: nothing of the broken run is left (4.2.2.1). */
static int reset_clears(void)
{
	uint32_t st, isr, r0, r1;

	if (!reset_device())
		return 0;
	st = rd(VIRTIO_MMIO_STATUS);
	isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	r0 = rd(VIRTIO_MMIO_QUEUE_READY);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	r1 = rd(VIRTIO_MMIO_QUEUE_READY);
	say("reset: status 0x%x, InterruptStatus 0x%x, QueueReady %u %u; ", (unsigned)st,
	    (unsigned)isr, (unsigned)r0, (unsigned)r1);
	return !st && !isr && !r0 && !r1;
}

/* A queue's next used element within WAIT_MS: 1 with it, 0 if none came, -1 if it was not ours. */
static int wait_used(unsigned q, struct virtio_used *u)
{
	uint64_t deadline = tsc_read() + WAIT_MS * boot_params()->tsc_khz;
	int r;

	while (!(r = virtio_get_used(&dev, q, u)) && tsc_read() < deadline)
		;
	return r;
}

static int check_recovers(void)
{
	struct virtio_queue *eq = &dev.q[EMHV_PIPE_Q_EVENTS];
	struct virtio_used u = {0};
	uint32_t st;
	bool moved;
	int ok, r;

	st = make_loop(&moved);
	if ((st >> 31) || !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		say("the loop did not break the device: nothing to recover from");
		return 0;
	}
	ok = reset_clears();
	if (virtio_init(&dev, slot, 2)) {
		say("not brought up again (see above)");
		return 0;
	}
	for (unsigned i = 0; i < eq->size && i < EMHV_PIPE_QUEUE_MAX; i++)
		ok &= !virtio_add_buf(&dev, EMHV_PIPE_Q_EVENTS, &event_bufs[i],
				      sizeof(event_bufs[i]), true);
	virtio_notify(&dev, EMHV_PIPE_Q_EVENTS);
	ok &= !virtio_add_buf(&dev, EMHV_PIPE_Q_NOTIFY, &event_word, sizeof(event_word), false);
	virtio_notify(&dev, EMHV_PIPE_Q_NOTIFY);
	r = wait_used(EMHV_PIPE_Q_NOTIFY, &u);
	st = virtio_status(&dev);
	say("%u events buffers given; event %u: %s (used length %u); status 0x%x",
	    (unsigned)eq->size, (unsigned)event_word,
	    r > 0   ? "returned"
	    : r < 0 ? "a descriptor not given returned"
		    : "not returned",
	    (unsigned)u.len, (unsigned)st);
	return ok && r > 0 && u.buf == &event_word && u.len == 0 && st == LIVE;
}

static const struct check {
	const char *name;
	int (*run)(void);
} checks[] = {
    {"empty_slot", check_empty_slot},		{"bad_feature", check_bad_feature},
    {"no_version_1", check_no_version_1},	{"bad_queue_num", check_bad_queue_num},
    {"no_such_queue", check_no_such_queue},	{"ring_loop", check_ring_loop},
    {"needs_reset_irq", check_needs_reset_irq}, {"recovers", check_recovers},
};

/* The pipe device to check (the first, either role), and the event its end may send. */
static void find_device(void)
{
	struct emhv_pipe_config cfg;
	int s = virtio_find(EMHV_PIPE_DEVICE_ID);

	if (s < 0) {
		printf("virtio_check: error: no pipe device (virtio device ID %d) in any of the %d "
		       "slots\n",
		       EMHV_PIPE_DEVICE_ID, EMHV_VIRTIO_SLOTS);
		hc_exit(EXIT_NO_DEVICE);
	}
	slot = (unsigned)s;
	if (virtio_probe(&dev, slot) || virtio_read_config(&dev, 0, &cfg, sizeof(cfg))) {
		printf("virtio_check: error: the pipe device in slot %u cannot be probed\n", slot);
		hc_exit(EXIT_NO_DEVICE);
	}
	event_word = cfg.role == EMHV_PIPE_ROLE_SEND ? EMHV_PIPE_EV_DATA : EMHV_PIPE_EV_SPACE;
	printf("virtio_check: pipe '%.16s' device in slot %u, role %u, peer VM %u\n", cfg.name,
	       slot, (unsigned)cfg.role, (unsigned)cfg.peer_id);
}

int main(int argc, char **argv)
{
	unsigned passed = 0, n = sizeof(checks) / sizeof(checks[0]);

	arg_check(argc, argv, known_args);
	if (!boot_params()->tsc_khz) {
		printf("virtio_check: error: the TSC rate is unknown: waits cannot be timed\n");
		return EXIT_NO_DEVICE;
	}
	find_device();
	for (unsigned i = 0; i < n; i++) {
		int r;

		why[0] = 0;
		r = reset_device() && checks[i].run() == 1;
		passed += r;
		hc_result(checks[i].name, r);
		if (strlen(why) >= 2 && !strcmp(why + strlen(why) - 2, "; "))
			why[strlen(why) - 2] = 0;
		printf("virtio_check: %s = %d: %s\n", checks[i].name, r, why);
	}
	reset_device();
	virtio_release(&dev);
	printf("virtio_check: %u of %u checks as the specification says\n", passed, n);
	return passed == n ? 0 : 1;
}
