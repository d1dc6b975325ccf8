/* apic.c -- interrupts: the local APIC (xAPIC page), its TSC-deadline timer, and I/O APIC lines. */
#include <stdbool.h>
#include <emhv/x86_msr.h>
#include "runtime.h"
#include "cpu.h"

#define APIC_EOI	0x0b0
#define APIC_SVR	0x0f0
#define APIC_LVT_TIMER	0x320
#define SVR_ENABLE	(1u << 8)
#define TIMER_DEADLINE	(2u << 17)
#define MSR_TSC_DEADLINE 0x6e0
#define IOREGSEL	0x00
#define IOWIN		0x10
#define RTE_LEVEL	(1u << 15)
#define RTE_MASKED	(1u << 16)

static bool ready;
static volatile uint64_t timer_count;

static volatile uint32_t *lapic_reg(unsigned off)
{
	return (volatile uint32_t *)(EMHV_GUEST_LAPIC_GPA + off);
}

static void ioapic_write(unsigned reg, uint32_t val)
{
	*(volatile uint32_t *)(EMHV_GUEST_IOAPIC_GPA + IOREGSEL) = reg;
	*(volatile uint32_t *)(EMHV_GUEST_IOAPIC_GPA + IOWIN) = val;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static void on_timer(struct trap_frame *f)
{
	(void)f;
	timer_count++;
	apic_eoi();
}

static void on_spurious(struct trap_frame *f)
{
	(void)f; /* no EOI for the spurious vector */
}

int apic_init(void)
{
	if (ready)
		return 0;
	if (map_2m(EMHV_GUEST_LAPIC_GPA) || map_2m(EMHV_GUEST_IOAPIC_GPA))
		return -1;
	idt_set_handler(APIC_VEC_TIMER, on_timer);
	idt_set_handler(APIC_VEC_SPURIOUS, on_spurious);
	*lapic_reg(APIC_SVR) = SVR_ENABLE | APIC_VEC_SPURIOUS;
	*lapic_reg(APIC_LVT_TIMER) = TIMER_DEADLINE | APIC_VEC_TIMER;
	ready = true;
	return 0;
}

void apic_eoi(void)
{
	*lapic_reg(APIC_EOI) = 0;
}

uint64_t apic_timer_count(void)
{
	return timer_count;
}

void apic_timer_at(uint64_t tsc)
{
	apic_init();
	wrmsr(MSR_TSC_DEADLINE, tsc ? tsc : 1);
}

void irq_wait(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

void sleep_until(uint64_t tsc)
{
	apic_timer_at(tsc);
	while (tsc_read() < tsc)
		irq_wait();
}

void sleep_us(uint64_t us)
{
	uint64_t khz = boot_params()->tsc_khz;

	sleep_until(tsc_read() + (khz ? us * khz / 1000 : us * 1000));
}

int irq_route(unsigned line, int vector, trap_handler fn, bool level)
{
	if (line >= 24 || vector < 32 || vector > 255 || apic_init())
		return -1;
	idt_set_handler(vector, fn);
	ioapic_write(0x11 + 2 * line, 0); /* destination: APIC 0 */
	ioapic_write(0x10 + 2 * line, (uint32_t)vector | (level ? RTE_LEVEL : 0));
	return 0;
}
