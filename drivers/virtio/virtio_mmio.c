/*
 * The virtio-mmio version 2 transport (virtio 1.2, section 4.2): one
 * device's register window. Every guest step is checked against the
 * device status state machine (section 3.1): features are written after
 * DRIVER and before FEATURES_OK, queues are set up between FEATURES_OK and
 * DRIVER_OK, notifications count only after DRIVER_OK. A step out of order
 * is refused (nothing changes), counted and logged; a queue whose areas
 * are not RAM, or a ring the driver broke, sets DEVICE_NEEDS_RESET.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "virtio_mmio.h"

#define BIT(n) (1ULL << (n))
#define STATUS_KNOWN                                                                                \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |               \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)
#define INT_KNOWN (VIRTIO_MMIO_INT_USED | VIRTIO_MMIO_INT_CONFIG)

/* A guest step refused: counted, and one line to the VM's log. */
__attribute__((format(printf, 2, 3))) static void refuse(struct virtio_mmio *t, const char *fmt, ...)
{
	char msg[160];
	int n;
	va_list ap;

	t->refused++;
	if (!t->env.log)
		return;
	n = snprintf(msg, sizeof(msg), "virtio-mmio %s: ", t->ops->name);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	t->env.log(t->env.ctx, msg);
}

/* The line follows InterruptStatus: high while any bit is set. */
static void update_irq(struct virtio_mmio *t)
{
	bool level = t->isr != 0;

	if (level == t->line)
		return;
	t->line = level;
	if (level)
		t->interrupts++;
	t->env.irq(t->env.ctx, level);
}

static uint64_t offer(const struct virtio_mmio *t)
{
	uint64_t f = t->ops->features(t->dev);

	return (f & (VIRTIO_DEVICE_FEATURE_BITS | VIRTIO_TRANSPORT_FEATURE_BITS)) | BIT(VIRTIO_F_VERSION_1);
}

/* Status 0: the device, every queue and the interrupt status back to their initial state. */
static void reset(struct virtio_mmio *t)
{
	t->ops->reset(t->dev);
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		virtq_reset(&t->q[i]);
		t->q_reset[i] = false;
	}
	t->status = t->isr = 0;
	t->driver_features = t->negotiated = 0;
	t->driver_extra = false;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = t->shm_sel = 0;
	t->offered = offer(t);
	update_irq(t);
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		     const struct virtio_mmio_env *env, char *why, size_t n)
{
	const char *name = ops && ops->name ? ops->name : "(unnamed)";

	if (!ops || !ops->name || !ops->device_id || !ops->features || !ops->notify || !ops->reset) {
		snprintf(why, n, "virtio device %s: no name, device ID, features, notify or reset", name);
		return -1;
	}
	if (ops->num_queues > VIRTIO_MMIO_MAX_QUEUES) {
		snprintf(why, n, "virtio device %s: %u queues, at most %u", name, ops->num_queues,
			 VIRTIO_MMIO_MAX_QUEUES);
		return -1;
	}
	for (unsigned i = 0; i < ops->num_queues; i++) {
		uint32_t m = ops->queue_max[i];

		if (!m || (m & (m - 1)) || m > VIRTQ_SIZE_LIMIT) {
			snprintf(why, n, "virtio device %s: queue %u's size %u is not a power of two up to %u", name,
				 i, m, VIRTQ_SIZE_LIMIT);
			return -1;
		}
	}
	if (ops->config_len > VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG ||
	    (ops->config_len && (!ops->config_read || !ops->config_write))) {
		snprintf(why, n, "virtio device %s: configuration space of %u bytes without accessors (or too large)",
			 name, ops->config_len);
		return -1;
	}
	if (!env || !env->mem || !env->mem->read || !env->mem->write || !env->mem->in_ram || !env->irq) {
		snprintf(why, n, "virtio device %s: no guest memory or interrupt line", name);
		return -1;
	}
	*t = (struct virtio_mmio){ .ops = ops, .dev = dev, .env = *env };
	for (unsigned i = 0; i < ops->num_queues; i++) {
		virtq_init(&t->q[i], env->mem, ops->queue_max[i]);
		t->q[i].quiet = ops->quiet_queues >> i & 1;
	}
	t->offered = offer(t);
	return 0;
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
	return (t->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

__attribute__((format(printf, 2, 3))) static void needs_reset(struct virtio_mmio *t, const char *fmt, ...)
{
	char why[140];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	refuse(t, "needs a reset: %s", why);
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* section 2.1.2: a driver that runs the device hears of it as a configuration change */
	if (t->status & VIRTIO_STATUS_DRIVER_OK) {
		t->isr |= VIRTIO_MMIO_INT_CONFIG;
		update_irq(t);
	}
}

void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why)
{
	needs_reset(t, "%s", why);
}

/* ---- feature negotiation and the status state machine ---- */

static void write_driver_features(struct virtio_mmio *t, uint32_t val)
{
	if ((t->status & (VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED |
			  VIRTIO_STATUS_DEVICE_NEEDS_RESET)) != VIRTIO_STATUS_DRIVER) {
		refuse(t, "DriverFeatures 0x%x in status 0x%x ignored: features go after DRIVER, before FEATURES_OK",
		       val, t->status);
		return;
	}
	if (t->driver_features_sel == 0)
		t->driver_features = (t->driver_features & ~0xffffffffULL) | val;
	else if (t->driver_features_sel == 1)
		t->driver_features = (t->driver_features & 0xffffffffULL) | (uint64_t)val << 32;
	else if (val)
		t->driver_extra = true; /* bits no device here offers: FEATURES_OK will fail */
}

/* FEATURES_OK: is what the driver accepted a subset of the offer with VERSION_1 (section 2.2.1)? */
static bool negotiate(struct virtio_mmio *t)
{
	uint64_t f = t->driver_features;

	if (t->driver_extra || (f & ~t->offered)) {
		refuse(t, "FEATURES_OK refused: the driver accepted 0x%llx%s, the device offers 0x%llx",
		       (unsigned long long)f, t->driver_extra ? " and bits above 63" : "",
		       (unsigned long long)t->offered);
		return false;
	}
	if (!(f & BIT(VIRTIO_F_VERSION_1))) {
		refuse(t, "FEATURES_OK refused: the driver did not accept VIRTIO_F_VERSION_1 (no legacy interface)");
		return false;
	}
	if (t->ops->features_ok && !t->ops->features_ok(t->dev, f)) {
		refuse(t, "FEATURES_OK refused: the device does not support features 0x%llx together",
		       (unsigned long long)f);
		return false;
	}
	t->negotiated = f;
	return true;
}

/*
 * A nonzero status write may only add bits, each after the ones before it
 * (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK: section 3.1.1), in this
 * write or an earlier one; FAILED may come at any time and then nothing
 * else until a reset. DEVICE_NEEDS_RESET is the device's: ignored in writes.
 */
static const struct status_step {
	uint32_t bit, after; /* after: the step it needs first (0: none) */
	const char *name, *after_name;
	bool live; /* refused while the device needs a reset */
} status_steps[] = {
	{ VIRTIO_STATUS_ACKNOWLEDGE, 0, "ACKNOWLEDGE", NULL, false },
	{ VIRTIO_STATUS_DRIVER, VIRTIO_STATUS_ACKNOWLEDGE, "DRIVER", "ACKNOWLEDGE", false },
	{ VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_DRIVER, "FEATURES_OK", "DRIVER", true },
	{ VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK, "DRIVER_OK", "FEATURES_OK", true },
};

static void write_status(struct virtio_mmio *t, uint32_t val)
{
	uint32_t keep = t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint32_t old = t->status & ~keep, want = val & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET, add, acc;
	bool started;

	if (val == 0) {
		reset(t);
		return;
	}
	if (val & ~STATUS_KNOWN) {
		refuse(t, "status 0x%x ignored: unknown bits", val);
		return;
	}
	if (old & ~want) {
		refuse(t, "status 0x%x ignored: it would clear bits of 0x%x (only a reset does)", val, t->status);
		return;
	}
	add = want & ~old;
	acc = old | (add & VIRTIO_STATUS_FAILED);
	for (unsigned i = 0; i < sizeof(status_steps) / sizeof(status_steps[0]); i++) {
		const struct status_step *s = &status_steps[i];

		if (!(add & s->bit))
			continue;
		if (acc & VIRTIO_STATUS_FAILED)
			refuse(t, "%s after FAILED ignored (reset first)", s->name);
		else if (s->after && !(acc & s->after))
			refuse(t, "%s before %s ignored", s->name, s->after_name);
		else if (s->live && keep)
			refuse(t, "%s ignored: the device needs a reset", s->name);
		else if (s->bit != VIRTIO_STATUS_FEATURES_OK || negotiate(t))
			acc |= s->bit;
	}
	started = (acc & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK);
	t->status = acc | keep;
	if (!started)
		return;
	if (t->ops->driver_ok)
		t->ops->driver_ok(t->dev);
	/* buffers made available before DRIVER_OK are looked at now */
	for (unsigned i = 0; i < t->ops->num_queues && virtio_mmio_live(t); i++)
		if (t->q[i].ready)
			t->ops->notify(t->dev, i);
}

/* ---- queues ---- */

/* The selected queue if the driver may set it up now; else NULL, refused. */
static struct virtq *setup_queue(struct virtio_mmio *t, const char *reg, uint32_t val)
{
	unsigned s = t->queue_sel;
	uint32_t st = t->status;

	if (s >= t->ops->num_queues) {
		refuse(t, "%s 0x%x ignored: no queue %u", reg, val, s);
		return NULL;
	}
	if (!(st & VIRTIO_STATUS_FEATURES_OK) || (st & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ||
	    ((st & VIRTIO_STATUS_DRIVER_OK) && !t->q_reset[s])) {
		refuse(t, "%s 0x%x of queue %u ignored in status 0x%x: set up after FEATURES_OK, before DRIVER_OK", reg,
		       val, s, st);
		return NULL;
	}
	if (t->q[s].ready) {
		refuse(t, "%s 0x%x ignored: queue %u is ready", reg, val, s);
		return NULL;
	}
	return &t->q[s];
}

static void set_low(uint64_t *addr, uint32_t val)
{
	*addr = (*addr & ~0xffffffffULL) | val;
}

static void set_high(uint64_t *addr, uint32_t val)
{
	*addr = (*addr & 0xffffffffULL) | (uint64_t)val << 32;
}

static void write_queue_addr(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	static const char *const names[] = { "QueueDescLow", "QueueDescHigh", "QueueDriverLow", "QueueDriverHigh",
					     "QueueDeviceLow", "QueueDeviceHigh" };
	unsigned k = (unsigned)((off - VIRTIO_MMIO_QUEUE_DESC_LOW) / 16 * 2 + (off & 4) / 4);
	struct virtq *q = setup_queue(t, names[k], val);
	uint64_t *addr;

	if (!q)
		return;
	addr = k < 2 ? &q->desc : k < 4 ? &q->avail : &q->used;
	(k & 1 ? set_high : set_low)(addr, val);
}

static void write_queue_ready(struct virtio_mmio *t, uint32_t val)
{
	unsigned s = t->queue_sel;
	struct virtq *q;
	char why[120];

	if (s >= t->ops->num_queues || val > 1) {
		refuse(t, "QueueReady 0x%x ignored (queue %u of %u)", val, s, t->ops->num_queues);
		return;
	}
	q = &t->q[s];
	if (val == (uint32_t)q->ready)
		return;
	if (!val) { /* the driver stops the queue: allowed at any time */
		virtq_disable(q);
		if (t->ops->queue_stop)
			t->ops->queue_stop(t->dev, s);
		return;
	}
	if (!setup_queue(t, "QueueReady", val))
		return;
	if (virtq_enable(q, t->negotiated, why, sizeof(why))) {
		needs_reset(t, "queue %u: %s", s, why);
		return;
	}
	t->q_reset[s] = false;
}

/* QueueReset (section 4.2.2, with VIRTIO_F_RING_RESET): done at once, so it always reads 0. */
static void write_queue_reset(struct virtio_mmio *t, uint32_t val)
{
	unsigned s = t->queue_sel;

	if (!(t->negotiated & BIT(VIRTIO_F_RING_RESET)) || !(t->status & VIRTIO_STATUS_FEATURES_OK) ||
	    s >= t->ops->num_queues || val != 1) {
		refuse(t, "QueueReset 0x%x of queue %u ignored (needs VIRTIO_F_RING_RESET and a queue)", val, s);
		return;
	}
	if (t->q[s].ready && t->ops->queue_stop)
		t->ops->queue_stop(t->dev, s);
	virtq_reset(&t->q[s]);
	t->q_reset[s] = true;
}

static void write_queue_notify(struct virtio_mmio *t, uint32_t val)
{
	if (!(t->status & VIRTIO_STATUS_DRIVER_OK)) { /* Linux's balloon kicks its statistics queue so (3.1.1) */
		refuse(t, "QueueNotify %u before DRIVER_OK (status 0x%x): its buffers are looked at when DRIVER_OK is set",
		       val, t->status);
		return;
	}
	if (!virtio_mmio_live(t)) {
		refuse(t, "QueueNotify %u ignored in status 0x%x (failed, or the device needs a reset)", val, t->status);
		return;
	}
	if (val >= t->ops->num_queues || !t->q[val].ready) {
		refuse(t, "QueueNotify %u ignored: no such queue ready", val);
		return;
	}
	t->notifies++;
	t->ops->notify(t->dev, val);
}

/* ---- the register file ---- */

static bool shm_region(struct virtio_mmio *t, uint64_t *base, uint64_t *len)
{
	return t->ops->shm && t->shm_sel <= UINT8_MAX && t->ops->shm(t->dev, (uint8_t)t->shm_sel, base, len);
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	bool sel_ok = t->queue_sel < t->ops->num_queues;
	uint64_t base = ~0ULL, len = ~0ULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel < 2 ? (uint32_t)(t->offered >> (32 * t->device_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return sel_ok ? t->q[t->queue_sel].max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return sel_ok && t->q[t->queue_sel].ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		if (!shm_region(t, &base, &len))
			base = len = ~0ULL; /* no such region: -1 */
		return (uint32_t)((off < VIRTIO_MMIO_SHM_BASE_LOW ? len : base) >> (off & 4 ? 32 : 0));
	case VIRTIO_MMIO_QUEUE_RESET:
		return 0;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_gen;
	default:
		refuse(t, "read of 0x%03llx ignored: no such register, or write-only", (unsigned long long)off);
		return 0;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtq *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(t, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = setup_queue(t, "QueueNum", val);
		if (q)
			q->size = val; /* checked when the queue is made ready */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(t, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		write_queue_notify(t, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		if (val & ~INT_KNOWN)
			refuse(t, "InterruptACK 0x%x: undefined bits ignored", val);
		t->isr &= ~val;
		update_irq(t);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		write_queue_addr(t, off, val);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		t->shm_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_RESET:
		write_queue_reset(t, val);
		break;
	default:
		refuse(t, "write of 0x%x to 0x%03llx ignored: no such register, or read-only", val,
		       (unsigned long long)off);
		break;
	}
}

/* Configuration space: 1, 2 or 4 bytes, naturally aligned, inside the device's config_len. */
static bool config_ok(struct virtio_mmio *t, uint64_t off, unsigned size, const char *what)
{
	uint64_t c = off - VIRTIO_MMIO_CONFIG;

	if ((size == 1 || size == 2 || size == 4) && !(off % size) && c + size <= t->ops->config_len)
		return true;
	refuse(t, "%s of %u bytes at configuration offset 0x%llx ignored (%u bytes there)", what, size,
	       (unsigned long long)c, t->ops->config_len);
	return false;
}

uint32_t virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, unsigned size)
{
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (!config_ok(t, offset, size, "read"))
			return 0;
		return t->ops->config_read(t->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), size);
	}
	if (size != 4 || offset % 4) {
		refuse(t, "read of %u bytes at 0x%03llx ignored: registers take aligned 32-bit accesses", size,
		       (unsigned long long)offset);
		return 0;
	}
	return read_reg(t, offset);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, unsigned size, uint32_t val)
{
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (config_ok(t, offset, size, "write"))
			t->ops->config_write(t->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), size, val);
		return;
	}
	if (size != 4 || offset % 4) {
		refuse(t, "write of %u bytes at 0x%03llx ignored: registers take aligned 32-bit accesses", size,
		       (unsigned long long)offset);
		return;
	}
	write_reg(t, offset, val);
}

static uint64_t bus_read(void *dev, uint64_t offset, unsigned size)
{
	return virtio_mmio_read(dev, offset, size);
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct virtio_mmio *t = dev;

	if (size == 8) { /* refused below, but not mistaken for a 32-bit write */
		virtio_mmio_write(t, offset, size, 0);
		return;
	}
	virtio_mmio_write(t, offset, size, (uint32_t)val);
}

const struct dev_ops virtio_mmio_bus_ops = { "virtio-mmio", bus_read, bus_write, NULL };

/* ---- the device side ---- */

int virtio_mmio_pop(struct virtio_mmio *t, unsigned i, struct virtq_chain *c)
{
	int r;

	if (i >= t->ops->num_queues || !virtio_mmio_live(t))
		return 1;
	r = virtq_pop(&t->q[i], c);
	if (r < 0)
		needs_reset(t, "queue %u: %s", i, t->q[i].why);
	return r;
}

int virtio_mmio_push(struct virtio_mmio *t, unsigned i, uint16_t head, uint32_t written)
{
	int r;

	if (i >= t->ops->num_queues)
		return -1;
	r = virtq_push(&t->q[i], head, written);
	if (r < 0)
		needs_reset(t, "queue %u: %s", i, t->q[i].why);
	return r;
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned i)
{
	if (i >= t->ops->num_queues || !(t->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (!virtq_should_notify(&t->q[i]))
		return;
	t->isr |= VIRTIO_MMIO_INT_USED;
	update_irq(t);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_gen++;
	if (!(t->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	t->isr |= VIRTIO_MMIO_INT_CONFIG;
	update_irq(t);
}
