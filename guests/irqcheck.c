/*
 * irqcheck.c -- an external interrupt comes in only when the guest can take
 * it. The APIC timer interrupts the guest every period= TSC ticks while it
 * counts in a loop with interrupts enabled, until it has taken count= of
 * them, and then for 50 periods more with the timer disarmed. Its handler
 * runs with IF clear (an interrupt gate), so no interrupt can find IF clear
 * in the frame of what it interrupted, nor come into the handler itself, and
 * each arming of the timer brings exactly one: each one that does otherwise
 * is counted. (QEMU's AMD-V, given an interrupt at VMRUN, could deliver it a
 * second time at once, into the handler with IF clear; Linux died of it.)
 *
 * Arguments: count=N (20000) interrupts, period=TICKS (20000) between them.
 * Results: interrupts (taken in all), if_clear (that found IF clear), nested
 * (that came into the handler), extra (beyond count), loops (the counting
 * loop's rounds).
 * Exit status: 0; 1 some interrupt came in when it could not, or one too
 * many; 2 bad arguments.
 */
#include <stdio.h>
#include <emhv/x86_regs.h>
#include "runtime.h"

static const char *const known_args[] = {"count", "period", NULL};

static volatile uint64_t taken, if_clear, nested, period, want;
static volatile int in_handler;

static void on_timer(struct trap_frame *f)
{
	if (in_handler)
		nested++;
	in_handler = 1;
	if (!(f->rflags & RFLAGS_IF))
		if_clear++;
	if (++taken < want)
		apic_timer_at(tsc_read() + period);
	in_handler = 0;
	apic_eoi();
}

int main(int argc, char **argv)
{
	uint64_t loops = 0;

	arg_check(argc, argv, known_args);
	want = arg_u64(argc, argv, "count", 20000);
	period = arg_u64(argc, argv, "period", 20000);
	if (!want || !period) {
		printf("error: count= and period= must be at least 1\n");
		return 2;
	}
	if (apic_init()) {
		printf("error: no local APIC\n");
		return 2;
	}
	idt_set_handler(APIC_VEC_TIMER, on_timer);
	apic_timer_at(tsc_read() + period);
	asm volatile("sti" : : : "memory");
	while (taken < want)
		loops++;
	for (uint64_t end = tsc_read() + 50 * period; tsc_read() < end;)
		loops++;
	asm volatile("cli" : : : "memory");
	hc_result("interrupts", (int64_t)taken);
	hc_result("if_clear", (int64_t)if_clear);
	hc_result("nested", (int64_t)nested);
	hc_result("extra", (int64_t)(taken - want));
	hc_result("loops", (int64_t)loops);
	printf("irqcheck: %llu interrupts (%llu asked for), %llu with IF clear, %llu into the handler\n",
	       (unsigned long long)taken, (unsigned long long)want, (unsigned long long)if_clear,
	       (unsigned long long)nested);
	return if_clear || nested || taken != want ? 1 : 0;
}
