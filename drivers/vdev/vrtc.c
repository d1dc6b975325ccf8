/*
 * The MC146818A real-time clock and CMOS RAM of a PC. The clock registers
 * are computed from the host's time plus the guest's own offset at each
 * read, so the update-in-progress bit is never set. While register B's SET
 * bit is high the clock stands still in the registers and writes land
 * there; clearing SET moves the offset so that the clock runs on from what
 * was written (as Linux sets it). A write to a clock register with SET
 * clear moves the offset so that the register reads back what was written.
 */
#include "vrtc.h"

enum { SEC = 0, MIN = 2, HOUR = 4, WDAY = 6, MDAY = 7, MONTH = 8, YEAR = 9, REG_A = 0x0a, REG_B = 0x0b,
       REG_C = 0x0c, REG_D = 0x0d, CENTURY = 0x32 };
#define A_DEFAULT 0x26	    /* 32.768 kHz time base, 1024 Hz rate; UIP never set */
#define B_SET 0x80	    /* the guest sets the clock: updates stop, writes land in the registers */
#define B_24H 0x02
#define B_BINARY 0x04
#define B_DEFAULT B_24H	    /* BCD, 24-hour */
#define D_VRT 0x80	    /* valid RAM and time */
#define HOUR_PM 0x80	    /* 12-hour mode */

int64_t vrtc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct civil {
	int64_t year;
	unsigned month, day, hour, min, sec, wday; /* wday: 1 = Sunday */
};

static struct civil civil_from(int64_t t)
{
	int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400, z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	struct civil c;

	c.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	c.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	c.year = yoe + era * 400 + (c.month <= 2);
	c.hour = (unsigned)(secs / 3600);
	c.min = (unsigned)(secs / 60 % 60);
	c.sec = (unsigned)(secs % 60);
	c.wday = (unsigned)(((days % 7) + 11) % 7) + 1; /* 1970-01-01 was a Thursday (5) */
	return c;
}

static int64_t seconds_of(const struct civil *c)
{
	return vrtc_days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 + c->min * 60 + c->sec;
}

void vrtc_init(struct vrtc *r, uint64_t (*now)(void *ctx), void *ctx)
{
	*r = (struct vrtc){ .now = now, .ctx = ctx };
	r->ram[REG_A] = A_DEFAULT;
	r->ram[REG_B] = B_DEFAULT;
	r->ram[REG_D] = D_VRT;
}

static int64_t guest_time(const struct vrtc *r)
{
	return (int64_t)r->now(r->ctx) + r->offset;
}

static uint8_t encode(const struct vrtc *r, unsigned v)
{
	return (uint8_t)(r->ram[REG_B] & B_BINARY ? v : (v / 10) << 4 | v % 10);
}

static unsigned decode(const struct vrtc *r, uint8_t v)
{
	return r->ram[REG_B] & B_BINARY ? v : (v >> 4) * 10 + (v & 0xf);
}

static uint8_t hour_reg(const struct vrtc *r, unsigned h)
{
	unsigned h12;

	if (r->ram[REG_B] & B_24H)
		return encode(r, h);
	h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(encode(r, h12) | (h >= 12 ? HOUR_PM : 0));
}

static unsigned hour_of(const struct vrtc *r, uint8_t v)
{
	unsigned h;

	if (r->ram[REG_B] & B_24H)
		return decode(r, v);
	h = decode(r, v & ~HOUR_PM) % 12;
	return h + (v & HOUR_PM ? 12 : 0);
}

static uint8_t clock_read(const struct vrtc *r, unsigned reg)
{
	struct civil c = civil_from(guest_time(r));

	if (r->ram[REG_B] & B_SET)
		return r->ram[reg]; /* standing still while the guest sets it */

	switch (reg) {
	case SEC: return encode(r, c.sec);
	case MIN: return encode(r, c.min);
	case HOUR: return hour_reg(r, c.hour);
	case WDAY: return encode(r, c.wday);
	case MDAY: return encode(r, c.day);
	case MONTH: return encode(r, c.month);
	case YEAR: return encode(r, (unsigned)(c.year % 100));
	default: return encode(r, (unsigned)(c.year / 100)); /* CENTURY */
	}
}

/* The guest sets one field of its clock: the offset moves so that the field reads back as written. */
static void clock_write(struct vrtc *r, unsigned reg, uint8_t v)
{
	int64_t before = guest_time(r);
	struct civil c = civil_from(before);

	switch (reg) {
	case SEC: c.sec = decode(r, v) % 60; break;
	case MIN: c.min = decode(r, v) % 60; break;
	case HOUR: c.hour = hour_of(r, v) % 24; break;
	case MDAY: c.day = decode(r, v) ? decode(r, v) : 1; break;
	case MONTH: c.month = decode(r, v) >= 1 && decode(r, v) <= 12 ? decode(r, v) : c.month; break;
	case YEAR: c.year = c.year / 100 * 100 + decode(r, v) % 100; break;
	case CENTURY: c.year = decode(r, v) * 100 + c.year % 100; break;
	default: return; /* the weekday follows from the date */
	}
	r->offset += seconds_of(&c) - before;
}

/* SET rises: the clock's registers hold the time now, and stand still. */
static void hold(struct vrtc *r)
{
	static const uint8_t regs[] = { SEC, MIN, HOUR, WDAY, MDAY, MONTH, YEAR, CENTURY };

	for (unsigned i = 0; i < sizeof(regs); i++)
		r->ram[regs[i]] = clock_read(r, regs[i]);
}

/* SET falls: the clock runs on from the date and time in its registers (an impossible one is not taken). */
static void release(struct vrtc *r)
{
	struct civil c = { .year = decode(r, r->ram[CENTURY]) * 100 + decode(r, r->ram[YEAR]),
			   .month = decode(r, r->ram[MONTH]), .day = decode(r, r->ram[MDAY]),
			   .hour = hour_of(r, r->ram[HOUR]), .min = decode(r, r->ram[MIN]), .sec = decode(r, r->ram[SEC]) };

	if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.min > 59 || c.sec > 59)
		return;
	r->offset = seconds_of(&c) - (int64_t)r->now(r->ctx);
}

static bool is_clock(unsigned reg)
{
	return reg == SEC || reg == MIN || reg == HOUR || reg == WDAY || reg == MDAY || reg == MONTH || reg == YEAR ||
	       reg == CENTURY;
}

static uint64_t rtc_read(void *dev, uint64_t offset, unsigned size)
{
	struct vrtc *r = dev;
	uint64_t ones = devbus_ones(size);
	uint8_t v;

	if (offset == 0)
		return ones; /* the index register is write-only */
	if (is_clock(r->index))
		v = clock_read(r, r->index);
	else if (r->index == REG_C)
		v = 0; /* no interrupt flags: none are raised */
	else
		v = r->ram[r->index];
	return v | (ones & ~0xffULL);
}

static void rtc_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vrtc *r = dev;
	uint8_t v = (uint8_t)val;

	(void)size;
	if (offset == 0) {
		r->index = v & 0x7f; /* bit 7 masks NMIs on a PC: there is no NMI source to mask */
		return;
	}
	if (is_clock(r->index) && (r->ram[REG_B] & B_SET)) {
		r->ram[r->index] = v;
	} else if (is_clock(r->index)) {
		clock_write(r, r->index, v);
	} else if (r->index == REG_B) {
		bool was = r->ram[REG_B] & B_SET;

		if (!was && (v & B_SET))
			hold(r);
		r->ram[REG_B] = v;
		if (was && !(v & B_SET))
			release(r);
	} else if (r->index == REG_A)
		r->ram[REG_A] = v & 0x7f; /* UIP is read-only */
	else if (r->index != REG_C && r->index != REG_D)
		r->ram[r->index] = v;
}

const struct dev_ops vrtc_ops = { "CMOS clock", rtc_read, rtc_write, NULL };
