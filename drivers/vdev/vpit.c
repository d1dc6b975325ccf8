/*
 * The 8254 programmable interval timer (Intel 8254 datasheet) computed from
 * the guest's TSC: a counter is the count written less the input clocks
 * since it started, never stored as it runs. Modes 0, 1, 4 and 5 count down
 * once (and on through zero, as the chip does); modes 2 and 3 reload. Left
 * simpler than the chip, as no OS clock path depends on them: modes 1 and 5
 * start when their count is written as well as when their gate rises, mode 3
 * reads as counting down by one over its whole period, and the read-back
 * command latches counts but not status bytes.
 */
#include "vpit.h"

enum { CONTROL = 3 };
#define CW_CHANNEL(v) ((v) >> 6)
#define CW_ACCESS(v) (((v) >> 4) & 3)
#define CW_MODE(v) (((v) >> 1) & 7)
#define READ_BACK 3	       /* channel field 3: the read-back command */
#define RB_NO_COUNT 0x20       /* read-back: do not latch the count */
#define B_GATE2 0x01
#define B_SPEAKER 0x02
#define B_WRITABLE 0x0f
#define B_REFRESH 0x10
#define B_OUT2 0x20
#define REFRESH_HZ 66667ULL    /* the refresh request toggles every 15 us */

void vpit_init(struct vpit *p, uint64_t tsc_hz, uint64_t (*now)(void *ctx), void *ctx)
{
	*p = (struct vpit){ .tsc_hz = tsc_hz ? tsc_hz : 1, .now = now, .ctx = ctx };
	for (int i = 0; i < 3; i++)
		p->ch[i] = (struct vpit_channel){ .access = 3, .reload = 0x10000 };
}

static bool gate(const struct vpit *p, unsigned c)
{
	return c != 2 || p->gate2; /* channels 0 and 1 have their gates tied high */
}

/* Input clocks a counting channel has counted by now. */
static uint64_t running(const struct vpit *p, const struct vpit_channel *ch)
{
	return ch->done + (uint64_t)((unsigned __int128)(p->now(p->ctx) - ch->start) * VPIT_HZ / p->tsc_hz);
}

/* Input clocks the channel has counted (none before a count is written; none more while its gate is low). */
static uint64_t clocks(const struct vpit *p, unsigned c)
{
	const struct vpit_channel *ch = &p->ch[c];

	if (!ch->armed)
		return 0;
	return gate(p, c) ? running(p, ch) : ch->done;
}

static bool periodic(const struct vpit_channel *ch)
{
	return (ch->mode & 3) == 2 || (ch->mode & 3) == 3; /* modes 2, 3 (and 6, 7, their aliases) */
}

static uint16_t count(const struct vpit *p, unsigned c)
{
	const struct vpit_channel *ch = &p->ch[c];
	uint64_t n = clocks(p, c);

	if (!ch->armed)
		return (uint16_t)ch->reload;
	if (periodic(ch))
		return (uint16_t)(ch->reload - n % ch->reload);
	return (uint16_t)(ch->reload - n); /* on through zero, modulo 2^16 */
}

static bool out(const struct vpit *p, unsigned c)
{
	const struct vpit_channel *ch = &p->ch[c];
	uint64_t n = clocks(p, c);

	if (!ch->armed)
		return ch->mode != 0; /* mode 0 starts low, the others high */
	switch (ch->mode & 3) {
	case 0:
		return ch->mode == 4 ? n != ch->reload : n >= ch->reload; /* 4: a one-clock low strobe */
	case 1:
		return ch->mode == 5 ? n != ch->reload : n >= ch->reload;
	case 2:
		return n % ch->reload != ch->reload - 1; /* low for the last clock of each period */
	default:
		return n % ch->reload < (ch->reload + 1) / 2; /* square wave: high for the first half */
	}
}

static void start(struct vpit *p, unsigned c, uint32_t reload)
{
	struct vpit_channel *ch = &p->ch[c];

	ch->reload = reload ? reload : 0x10000;
	ch->armed = true;
	ch->done = 0;
	ch->start = p->now(p->ctx);
}

static void control(struct vpit *p, uint8_t v)
{
	unsigned c = CW_CHANNEL(v);

	if (c == READ_BACK) {
		for (unsigned i = 0; i < 3; i++)
			if ((v & (2u << i)) && !(v & RB_NO_COUNT) && !p->ch[i].latched) {
				p->ch[i].latch = count(p, i);
				p->ch[i].latched = true;
			}
		return;
	}
	if (!CW_ACCESS(v)) { /* counter latch command */
		if (!p->ch[c].latched) {
			p->ch[c].latch = count(p, c);
			p->ch[c].latched = true;
		}
		return;
	}
	p->ch[c] = (struct vpit_channel){ .mode = (uint8_t)CW_MODE(v), .access = (uint8_t)CW_ACCESS(v),
					  .reload = p->ch[c].reload };
}

static void write_count(struct vpit *p, unsigned c, uint8_t v)
{
	struct vpit_channel *ch = &p->ch[c];

	switch (ch->access) {
	case 1:
		start(p, c, v);
		break;
	case 2:
		start(p, c, (uint32_t)v << 8);
		break;
	default:
		if (!ch->write_hi) {
			ch->low = v;
			ch->write_hi = true;
		} else {
			ch->write_hi = false;
			start(p, c, ch->low | (uint32_t)v << 8);
		}
	}
}

static uint8_t read_count(struct vpit *p, unsigned c)
{
	struct vpit_channel *ch = &p->ch[c];
	uint16_t v = ch->latched ? ch->latch : count(p, c);
	bool hi = ch->access == 2 || (ch->access == 3 && ch->read_hi);

	if (ch->access == 3)
		ch->read_hi = !ch->read_hi;
	if (ch->latched && (ch->access != 3 || !ch->read_hi))
		ch->latched = false; /* all of the latched count has been read */
	return (uint8_t)(hi ? v >> 8 : v);
}

static uint64_t pit_read(void *dev, uint64_t offset, unsigned size)
{
	uint64_t ones = devbus_ones(size);

	if (offset == CONTROL)
		return ones; /* the control word register cannot be read */
	return read_count(dev, (unsigned)offset) | (ones & ~0xffULL);
}

static void pit_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	(void)size;
	if (offset == CONTROL)
		control(dev, (uint8_t)val);
	else
		write_count(dev, (unsigned)offset, (uint8_t)val);
}

const struct dev_ops vpit_ops = { "interval timer", pit_read, pit_write, NULL };

static uint64_t port_b_read(void *dev, uint64_t offset, unsigned size)
{
	struct vpit *p = dev;
	uint64_t ones = devbus_ones(size);
	uint64_t refresh = (uint64_t)((unsigned __int128)p->now(p->ctx) * REFRESH_HZ / p->tsc_hz);

	(void)offset;
	return p->port_b | (refresh & 1 ? B_REFRESH : 0) | (out(p, 2) ? B_OUT2 : 0) | (ones & ~0xffULL);
}

static void port_b_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vpit *p = dev;
	struct vpit_channel *ch = &p->ch[2];
	bool was = p->gate2;

	(void)offset;
	(void)size;
	p->port_b = (uint8_t)(val & B_WRITABLE);
	p->gate2 = val & B_GATE2;
	p->speaker = val & B_SPEAKER;
	if (!ch->armed || was == p->gate2)
		return;
	if (!p->gate2) {
		ch->done = running(p, ch); /* it holds its count while the gate is low */
	} else if ((ch->mode & 3) == 1 || periodic(ch)) {
		ch->done = 0; /* a rising gate (re)triggers modes 1, 5, and restarts 2, 3 */
		ch->start = p->now(p->ctx);
	} else {
		ch->start = p->now(p->ctx); /* modes 0, 4 go on from where the low gate held them */
	}
}

const struct dev_ops vpit_port_b_ops = { "system control port B", port_b_read, port_b_write, NULL };
