/* Local APIC (xAPIC or x2APIC mode): periodic timer interrupt at TIMER_HZ, EOI, own id. */
#include "timer.h"
#include "cpu.h"
#include <emhv/x86_msr.h>
#include "trap.h"
#include "paging.h"
#include "percpu.h"

#define APIC_BASE_ENABLE (1ULL << 11)
#define APIC_BASE_X2 (1ULL << 10)
#define APIC_ID 0x20
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)

static uint64_t base;
static int x2;
static void (*tick_fn)(void);

static uint32_t apic_read(uint32_t reg)
{
	if (x2)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return *(volatile uint32_t *)(base + reg);
}

static void apic_write(uint32_t reg, uint32_t v)
{
	if (x2)
		wrmsr(0x800 + (reg >> 4), v);
	else
		*(volatile uint32_t *)(base + reg) = v;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

uint32_t apic_local_id(void)
{
	uint32_t id = apic_read(APIC_ID);

	return x2 ? id : id >> 24;
}

static void timer_irq(struct trap_frame *tf)
{
	(void)tf;
	this_cpu()->ticks++;
	if (tick_fn)
		tick_fn();
	apic_eoi();
}

int apic_timer_init(void (*tick)(void))
{
	uint64_t msr = rdmsr(MSR_IA32_APIC_BASE), t0;
	uint32_t per_ms;

	if (!(cpuid(1, 0).edx & (1u << 9)))
		return -1;
	if (!(msr & APIC_BASE_ENABLE))
		wrmsr(MSR_IA32_APIC_BASE, msr |= APIC_BASE_ENABLE);
	x2 = !!(msr & APIC_BASE_X2);
	base = msr & 0x000ffffffffff000ULL;
	if (!x2 && paging_set_uncached(base, 4096))
		return -1;
	apic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);
	apic_write(APIC_TIMER_DIV, 0x3); /* divide by 16 */
	apic_write(APIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	apic_write(APIC_TIMER_INIT, 0xffffffffu);
	t0 = rdtsc();
	while (rdtsc() - t0 < tsc_hz() / 100)
		cpu_pause();
	per_ms = (0xffffffffu - apic_read(APIC_TIMER_CUR)) / 10;
	if (per_ms == 0)
		per_ms = 1;
	tick_fn = tick;
	trap_set_handler(VEC_TIMER, timer_irq);
	apic_write(APIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
	apic_write(APIC_TIMER_INIT, per_ms * 1000 / TIMER_HZ);
	return 0;
}

uint64_t apic_timer_ticks(void)
{
	return this_cpu()->ticks;
}

uint64_t apic_base_phys(void)
{
	return base;
}

int apic_x2apic_mode(void)
{
	return x2;
}
