/* idt.c -- the guest's IDT, all 256 vectors: a registered handler, a probe, or report and exit. */
#include "runtime.h"
#include "cpu.h"
#include "internal.h"

#define IDT_VECTORS 256
#define VEC_PF	    14
#define STUB_SIZE   16 /* idt_stubs.S: stub v is at idt_stub_base + 16 * v */

_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame matches idt_stubs.S");

extern const char idt_stub_base[];
void idt_dispatch(struct trap_frame *f);

static struct x86_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static trap_handler handlers[IDT_VECTORS];

void idt_init(void)
{
	struct x86_dtr p = {sizeof(idt) - 1, (uint64_t)idt};
	int v;

	for (v = 0; v < IDT_VECTORS; v++)
		idt[v] = x86_interrupt_gate((uint64_t)idt_stub_base + (uint64_t)v * STUB_SIZE,
					    EMHV_GUEST_CS, 0);
	asm volatile("lidt %0" : : "m"(p));
}

void idt_set_handler(int vector, trap_handler fn)
{
	if (vector >= 0 && vector < IDT_VECTORS)
		handlers[vector] = fn;
}

void idt_dispatch(struct trap_frame *f)
{
	static int in_handler;
	int v = (int)f->vector;
	uint64_t resume;

	if (handlers[v]) {
		handlers[v](f);
		return;
	}
	resume = probe_fixup(f->rip, v, f->error);
	if (resume) {
		f->rip = resume;
		return;
	}
	if (in_handler++) /* faulted while reporting: just stop */
		hc_exit(RT_EXIT_EXCEPTION + v);
	printf("guest: %s %d at RIP 0x%llx err 0x%llx", v < 32 ? "exception" : "interrupt", v,
	       (unsigned long long)f->rip, (unsigned long long)f->error);
	if (v == VEC_PF)
		printf(" cr2 0x%llx", (unsigned long long)read_cr2());
	printf("\n");
	hc_exit(RT_EXIT_EXCEPTION + v);
}
