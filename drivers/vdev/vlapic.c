/*
 * A guest vCPU's local APIC in xAPIC mode (Intel SDM vol. 3A, chapter 11):
 * the register page, acceptance and priority of fixed interrupts, EOI, the
 * timer and the IA32_APIC_BASE / IA32_TSC_DEADLINE MSRs. What the guest
 * sees where hardware does more:
 *
 * - Accesses: registers are 32 bits at 16-byte-aligned offsets. Reads of
 *   1, 2, 4 or 8 bytes return the bytes at their offset, bytes 4-15 of a
 *   register reading as zeros (the SDM leaves other accesses undefined;
 *   this is what KVM does). Writes other than 32-bit aligned ones are
 *   ignored. Reserved offsets read 0, ignore writes and set ESR bit 7
 *   (illegal register address), as Pentium 4 and later parts do.
 * - The APIC ID is read-only (writable on some models only), and so is
 *   the base: relocating it, like setting x2APIC mode (no x2APIC in CPUID),
 *   is refused with #GP. The BSP flag of IA32_APIC_BASE ignores writes.
 *   Clearing the global enable bit returns every register to its power-up
 *   state; while disabled the page reads all ones (nothing answers there,
 *   as on a machine without an APIC) and interrupts are dropped.
 * - IPIs: this APIC is alone. Fixed and lowest-priority IPIs whose
 *   destination includes it are taken as edge-triggered interrupts; a
 *   self-NMI goes to the host's nmi callback if it has one. Everything else
 *   (IPIs for other APICs, INIT, SIPI, SMI, NMI without a callback) is
 *   dropped and counted; the delivery status bit always reads idle.
 * - LINT0, LINT1, thermal and performance LVTs are stored with their write
 *   masks but never fire: nothing drives those pins here (no 8259, no NMI
 *   button, no sensors or counters). The error LVT fires on the errors this
 *   model detects (illegal vectors sent or received, illegal registers).
 * - While software-disabled (SVR bit 8 clear) all LVTs are masked and stay
 *   so; interrupts that arrive are held in IRR and delivered once enabled.
 * - No arbitration priority (APR reads 0), no remote read, no EOI-broadcast
 *   suppression, no CMCI LVT (maximum LVT entry 5).
 * - The timer's mode 11b (reserved) counts like one-shot.
 */
#include "vlapic.h"

#define LVT_TIMER_BITS 0x000700ffu /* vector, mask, mode */
#define LVT_DM_BITS 0x000107ffu	   /* vector, delivery mode, mask: thermal, performance */
#define LVT_LINT_BITS 0x0001a7ffu  /* and polarity, trigger mode */
#define LVT_ERROR_BITS 0x000100ffu /* vector, mask */
#define ICR_LO_BITS 0x000ccfffu	   /* delivery status (bit 12) always reads idle */
#define ICR_LOGICAL (1u << 11)
#define SVR_BITS 0x3ffu /* vector, enable, focus checking */
#define DCR_BITS 0xbu

enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_SIPI = 6 };
enum { DEST_FIELD = 0, DEST_SELF = 1, DEST_ALL = 2, DEST_OTHERS = 3 };

static const uint32_t lvt_bits[LVT_COUNT] = { LVT_TIMER_BITS, LVT_DM_BITS,   LVT_DM_BITS,
					      LVT_LINT_BITS,  LVT_LINT_BITS, LVT_ERROR_BITS };

/* ---- 256-bit vector sets: IRR, ISR, TMR ---- */

static bool vec_test(const uint32_t *r, unsigned v)
{
	return r[v >> 5] >> (v & 31) & 1;
}

static void vec_set(uint32_t *r, unsigned v)
{
	r[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t *r, unsigned v)
{
	r[v >> 5] &= ~(1u << (v & 31));
}

int vlapic_highest(const uint32_t r[8])
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

/* ---- priority and acceptance ---- */

static bool sw_enabled(const struct vlapic *l)
{
	return l->svr & APIC_SVR_ENABLE;
}

/* SDM 3A 11.8.3.1: the higher of the task priority and the class of the highest vector in service. */
static uint32_t ppr(const struct vlapic *l)
{
	int isrv = vlapic_highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr : isr_class;
}

int vlapic_pending(const struct vlapic *l)
{
	int v = vlapic_highest(l->irr);

	if (!l->hw_enabled || !sw_enabled(l) || v < 0)
		return -1;
	return ((uint32_t)v & 0xf0) > (ppr(l) & 0xf0) ? v : -1;
}

/* Wake the vCPU when what it would take now is new; before is vlapic_pending() before the change. */
static void kick_if_new(struct vlapic *l, int before)
{
	int after = vlapic_pending(l);

	if (after >= 0 && after != before && l->host.kick)
		l->host.kick(l->host.ctx);
}

static void apic_error(struct vlapic *l, uint32_t bits);

/* A fixed interrupt reaches the APIC (SDM 3A 11.8.4); vectors 0-15 are refused with an error. */
static void accept(struct vlapic *l, unsigned vector, bool level)
{
	int before;

	if (!l->hw_enabled)
		return;
	if (vector < 16) {
		apic_error(l, APIC_ESR_RECV_ILLEGAL);
		return;
	}
	before = vlapic_pending(l);
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
	kick_if_new(l, before);
}

/* Log errors for the next ESR write and raise the error LVT (not for an illegal vector of its own). */
static void apic_error(struct vlapic *l, uint32_t bits)
{
	uint32_t lvt = l->lvt[LVT_ERROR];

	l->esr_pending |= bits;
	if (!(lvt & APIC_LVT_MASKED) && (lvt & 0xff) >= 16)
		accept(l, lvt & 0xff, false);
}

void vlapic_set_irq(struct vlapic *l, uint8_t vector, bool level)
{
	accept(l, vector, level);
}

void vlapic_ack(struct vlapic *l, int vector)
{
	if (vector < 0 || vector > 255 || !vec_test(l->irr, (unsigned)vector))
		return;
	vec_clear(l->irr, (unsigned)vector);
	vec_set(l->isr, (unsigned)vector);
}

/* The highest vector in service is done; a level-triggered one tells the I/O APIC (SDM 3A 11.8.5). */
static void eoi(struct vlapic *l)
{
	int v = vlapic_highest(l->isr), before = vlapic_pending(l);

	if (v < 0)
		return;
	vec_clear(l->isr, (unsigned)v);
	if (vec_test(l->tmr, (unsigned)v) && l->host.eoi)
		l->host.eoi(l->host.ctx, (uint8_t)v);
	kick_if_new(l, before);
}

uint8_t vlapic_get_tpr(const struct vlapic *l)
{
	return (uint8_t)l->tpr;
}

void vlapic_set_tpr(struct vlapic *l, uint8_t tpr)
{
	int before = vlapic_pending(l);

	l->tpr = tpr;
	kick_if_new(l, before);
}

bool vlapic_match_dest(const struct vlapic *l, uint8_t dest, bool logical)
{
	uint8_t ldr = (uint8_t)(l->ldr >> 24);

	if (!logical)
		return dest == 0xff || dest == l->id;
	if (l->dfr >> 28 == 0xf) /* flat model: a bit per APIC */
		return (dest & ldr) != 0;
	/* cluster model: cluster in bits 7:4 (15 is all), a bit per APIC in bits 3:0 */
	return (dest >> 4 == 0xf || dest >> 4 == ldr >> 4) && (dest & ldr & 0xf) != 0;
}

/* ---- the timer: bus clocks of tsc_per_tick guest TSC cycles, divided by the DCR ---- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t host_now(const struct vlapic *l)
{
	return l->host.now(l->host.ctx);
}

/* DCR bits 3 and 1:0: 000 /2, 001 /4, ... 110 /128, 111 /1 (SDM 3A figure 11-10). */
static unsigned divisor(uint32_t dcr)
{
	unsigned d = (dcr & 3) | (dcr >> 1 & 4);

	return d == 7 ? 1 : 2u << d;
}

static uint64_t tick_tsc(const struct vlapic *l)
{
	return (uint64_t)divisor(l->timer.dcr) * l->tsc_per_tick;
}

static uint32_t timer_mode(const struct vlapic *l)
{
	return l->lvt[LVT_TIMER] & APIC_LVT_TIMER_MODE;
}

static uint64_t timer_period(const struct vlapic *l)
{
	return sat_mul(l->timer.initial, tick_tsc(l));
}

static void timer_disarm(struct vlapic *l)
{
	l->timer.armed = false;
	l->timer.tsc_deadline = 0;
}

/*
 * Expire the timer if now has reached its deadline. A periodic timer moves
 * on by whole periods from the deadline, not from now, so that a late
 * check adds no drift; periods missed altogether raise one interrupt (IRR
 * holds one). An expiry is counted and raises the LVT vector unless masked.
 */
static void timer_update(struct vlapic *l, uint64_t now)
{
	uint32_t lvt = l->lvt[LVT_TIMER];

	if (!l->timer.armed || now < l->timer.deadline)
		return;
	if (timer_mode(l) == APIC_TIMER_PERIODIC && timer_period(l)) {
		uint64_t p = timer_period(l);

		l->timer.deadline = sat_add(l->timer.deadline, sat_mul((now - l->timer.deadline) / p + 1, p));
	} else {
		timer_disarm(l); /* one-shot, or TSC-deadline: the MSR reads 0 once it fired */
	}
	l->stats.timer_fired++;
	if (!(lvt & APIC_LVT_MASKED))
		accept(l, lvt & 0xff, false);
}

/*
 * The current count register: the bus clocks left, rounded up, as hardware
 * counts down from initial. Called after timer_update(now), so a periodic
 * timer's deadline is still ahead.
 */
static uint32_t timer_current(const struct vlapic *l, uint64_t now)
{
	uint64_t unit = tick_tsc(l), left, count;

	if (!l->timer.armed || timer_mode(l) == APIC_TIMER_TSC_DEADLINE || now >= l->timer.deadline)
		return 0;
	left = l->timer.deadline - now;
	count = left / unit + (left % unit != 0);
	return count > l->timer.initial ? l->timer.initial : (uint32_t)count;
}

static void timer_write_initial(struct vlapic *l, uint32_t val, uint64_t now)
{
	if (timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
		return; /* ignored in TSC-deadline mode (SDM 3A 11.5.4.1) */
	l->timer.initial = val;
	l->timer.armed = val != 0;
	l->timer.deadline = sat_add(now, timer_period(l));
}

/* A new divider applies to the bus clocks still to count, from now. */
static void timer_write_divide(struct vlapic *l, uint32_t val, uint64_t now)
{
	uint64_t old = divisor(l->timer.dcr), unit = tick_tsc(l);

	l->timer.dcr = val & DCR_BITS;
	if (l->timer.armed && timer_mode(l) != APIC_TIMER_TSC_DEADLINE && now < l->timer.deadline) {
		uint64_t left = l->timer.deadline - now, ticks = left / unit, frac = left % unit;

		l->timer.deadline =
			sat_add(now, sat_add(sat_mul(ticks, tick_tsc(l)), frac * divisor(l->timer.dcr) / old));
	}
}

/* ---- registers ---- */

static void lvt_write(struct vlapic *l, unsigned i, uint32_t val)
{
	uint32_t old_mode = timer_mode(l);

	l->lvt[i] = val & lvt_bits[i];
	if (!sw_enabled(l))
		l->lvt[i] |= APIC_LVT_MASKED;
	/* entering or leaving TSC-deadline mode disarms the timer (SDM 3A 11.5.4.1) */
	if (i == LVT_TIMER && (old_mode == APIC_TIMER_TSC_DEADLINE) != (timer_mode(l) == APIC_TIMER_TSC_DEADLINE)) {
		timer_disarm(l);
		l->timer.initial = 0;
	}
}

static void svr_write(struct vlapic *l, uint32_t val)
{
	int before = vlapic_pending(l);

	l->svr = val & SVR_BITS;
	if (!sw_enabled(l))
		for (unsigned i = 0; i < LVT_COUNT; i++)
			l->lvt[i] |= APIC_LVT_MASKED;
	kick_if_new(l, before);
}

/* A write to ESR shows the errors logged since the previous one and starts a new log. */
static void esr_write(struct vlapic *l)
{
	l->esr = l->esr_pending;
	l->esr_pending = 0;
}

/* Writing ICR low sends the IPI: this APIC is the only one there is. */
static void icr_send(struct vlapic *l)
{
	uint32_t lo = l->icr_lo, vector = lo & 0xff, mode = lo >> 8 & 7;
	bool to_self;

	switch (lo >> 18 & 3) {
	case DEST_FIELD:
		to_self = vlapic_match_dest(l, (uint8_t)(l->icr_hi >> 24), lo & ICR_LOGICAL);
		break;
	case DEST_SELF:
	case DEST_ALL:
		to_self = true;
		break;
	default:
		to_self = false;
		break;
	}
	if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
		apic_error(l, APIC_ESR_SEND_ILLEGAL);
		return;
	}
	if (to_self && (mode == DM_FIXED || mode == DM_LOWEST)) {
		l->stats.ipi_self++;
		accept(l, vector, false); /* the ICR's trigger mode only matters for INIT de-assert */
	} else if (to_self && mode == DM_NMI && l->host.nmi) {
		l->stats.ipi_self++;
		l->host.nmi(l->host.ctx);
	} else {
		l->stats.ipi_ignored++;
	}
}

uint32_t vlapic_read(struct vlapic *l, unsigned offset)
{
	uint64_t now;

	if (!l->hw_enabled)
		return ~0u;
	now = host_now(l);
	timer_update(l, now);
	offset &= 0xff0;
	switch (offset) {
	case APIC_ID:
		return (uint32_t)l->id << 24;
	case APIC_LVR:
		return APIC_VERSION;
	case APIC_TPR:
		return l->tpr;
	case APIC_APR:
	case APIC_EOI: /* write-only */
	case APIC_RRD:
		return 0;
	case APIC_PPR:
		return ppr(l);
	case APIC_LDR:
		return l->ldr;
	case APIC_DFR:
		return l->dfr | 0x0fffffff;
	case APIC_SVR:
		return l->svr;
	case APIC_ISR ... APIC_ISR + 0x70:
		return l->isr[(offset - APIC_ISR) >> 4];
	case APIC_TMR ... APIC_TMR + 0x70:
		return l->tmr[(offset - APIC_TMR) >> 4];
	case APIC_IRR ... APIC_IRR + 0x70:
		return l->irr[(offset - APIC_IRR) >> 4];
	case APIC_ESR:
		return l->esr;
	case APIC_ICR_LO:
		return l->icr_lo;
	case APIC_ICR_HI:
		return l->icr_hi;
	case APIC_LVT_TIMER ... APIC_LVT_ERROR:
		return l->lvt[(offset - APIC_LVT_TIMER) >> 4];
	case APIC_TMICT:
		return l->timer.initial;
	case APIC_TMCCT:
		return timer_current(l, now);
	case APIC_TDCR:
		return l->timer.dcr;
	default:
		apic_error(l, APIC_ESR_ILLEGAL_REG);
		return 0;
	}
}

void vlapic_write(struct vlapic *l, unsigned offset, uint32_t val)
{
	uint64_t now;

	if (!l->hw_enabled)
		return;
	now = host_now(l);
	timer_update(l, now);
	offset &= 0xff0;
	switch (offset) {
	case APIC_ID: /* read-only here */
	case APIC_LVR:
	case APIC_APR:
	case APIC_PPR:
	case APIC_RRD:
	case APIC_ISR ... APIC_IRR + 0x70:
	case APIC_TMCCT:
		break;
	case APIC_TPR:
		vlapic_set_tpr(l, (uint8_t)val);
		break;
	case APIC_EOI:
		eoi(l);
		break;
	case APIC_LDR:
		l->ldr = val & 0xff000000;
		break;
	case APIC_DFR:
		l->dfr = val & 0xf0000000;
		break;
	case APIC_SVR:
		svr_write(l, val);
		break;
	case APIC_ESR:
		esr_write(l);
		break;
	case APIC_ICR_LO:
		l->icr_lo = val & ICR_LO_BITS;
		icr_send(l);
		break;
	case APIC_ICR_HI:
		l->icr_hi = val & 0xff000000;
		break;
	case APIC_LVT_TIMER ... APIC_LVT_ERROR:
		lvt_write(l, (offset - APIC_LVT_TIMER) >> 4, val);
		break;
	case APIC_TMICT:
		timer_write_initial(l, val, now);
		break;
	case APIC_TDCR:
		timer_write_divide(l, val, now);
		break;
	default:
		apic_error(l, APIC_ESR_ILLEGAL_REG);
		break;
	}
}

/* Bytes 0-3 of a register hold it, bytes 4-15 read 0; a disabled APIC's page reads all ones. */
static uint64_t bus_read(void *dev, uint64_t offset, unsigned size)
{
	struct vlapic *l = dev;
	uint64_t mask = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	unsigned in = offset & 15;

	if (!l->hw_enabled)
		return mask;
	if (offset >= VLAPIC_SIZE || in >= 4)
		return 0;
	return ((uint64_t)vlapic_read(l, (unsigned)offset & ~15u) >> (8 * in)) & mask;
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	if (size == 4 && !(offset & 15) && offset < VLAPIC_SIZE)
		vlapic_write(dev, (unsigned)offset, (uint32_t)val);
}

const struct dev_ops vlapic_ops = { "local APIC", bus_read, bus_write, NULL };

/* ---- MSRs ---- */

static void set_hw_enabled(struct vlapic *l, bool on)
{
	if (l->hw_enabled && !on)
		vlapic_reset(l); /* SDM 3A 11.4.3: the APIC returns to its power-up state */
	l->hw_enabled = on;
}

int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		*val = VLAPIC_BASE | (l->bsp ? APIC_BASE_BSP : 0) | (l->hw_enabled ? APIC_BASE_EN : 0);
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* reads 0 in the other timer modes (SDM 3A 11.5.4.1) */
		*val = l->hw_enabled && timer_mode(l) == APIC_TIMER_TSC_DEADLINE ? l->timer.tsc_deadline : 0;
		return 0;
	default:
		return -1;
	}
}

int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		/* only the enable bit may change: no relocation, no x2APIC, reserved bits clear */
		if ((val & ~(APIC_BASE_BSP | APIC_BASE_EN)) != VLAPIC_BASE)
			return -1;
		set_hw_enabled(l, val & APIC_BASE_EN);
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* writes are ignored in the other timer modes; 0 disarms; a past deadline fires now */
		if (!l->hw_enabled || timer_mode(l) != APIC_TIMER_TSC_DEADLINE)
			return 0;
		l->timer.tsc_deadline = val;
		l->timer.deadline = val;
		l->timer.armed = val != 0;
		timer_update(l, host_now(l));
		return 0;
	default:
		return -1;
	}
}

/* ---- life cycle and time ---- */

void vlapic_reset(struct vlapic *l)
{
	l->tpr = l->ldr = l->esr = l->esr_pending = l->icr_lo = l->icr_hi = 0;
	l->dfr = 0xffffffff;
	l->svr = 0xff;
	for (unsigned i = 0; i < LVT_COUNT; i++)
		l->lvt[i] = APIC_LVT_MASKED;
	for (unsigned i = 0; i < 8; i++)
		l->irr[i] = l->isr[i] = l->tmr[i] = 0;
	l->timer.initial = l->timer.dcr = 0;
	l->timer.deadline = 0;
	timer_disarm(l);
}

void vlapic_init(struct vlapic *l, uint8_t id, bool bsp, uint32_t tsc_per_tick, const struct vlapic_host *host)
{
	*l = (struct vlapic){
		.host = *host,
		.tsc_per_tick = tsc_per_tick ? tsc_per_tick : 1,
		.id = id,
		.bsp = bsp,
		.hw_enabled = true,
	};
	vlapic_reset(l);
}

void vlapic_tick(struct vlapic *l)
{
	if (l->hw_enabled)
		timer_update(l, host_now(l));
}

uint64_t vlapic_next_deadline(const struct vlapic *l)
{
	if (!l->hw_enabled || !l->timer.armed || (l->lvt[LVT_TIMER] & APIC_LVT_MASKED))
		return UINT64_MAX;
	return l->timer.deadline;
}
