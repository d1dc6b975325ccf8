/* idt.c -- the guest's IDT for vectors 0-31: probes resume, other exceptions end the guest. */
#include "runtime.h"
#include "cpu.h"
#include "internal.h"

#define IDT_VECTORS 32
#define VEC_PF	    14

/* What idt_stubs.S pushes, lowest address first. */
struct trap_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame matches idt_stubs.S");

extern const uint64_t idt_stubs[IDT_VECTORS];
void idt_dispatch(struct trap_frame *f);

static struct x86_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

void idt_init(void)
{
	struct x86_dtr p = {sizeof(idt) - 1, (uint64_t)idt};
	int v;

	for (v = 0; v < IDT_VECTORS; v++)
		idt[v] = x86_interrupt_gate(idt_stubs[v], EMHV_GUEST_CS, 0);
	asm volatile("lidt %0" : : "m"(p));
}

void idt_dispatch(struct trap_frame *f)
{
	static int in_handler;
	int v = (int)f->vector;
	uint64_t resume = probe_fixup(f->rip, v);

	if (resume) {
		f->rip = resume;
		return;
	}
	if (in_handler++) /* faulted while reporting: just stop */
		hc_exit(RT_EXIT_EXCEPTION + v);
	printf("guest: exception %d at RIP 0x%llx err 0x%llx", v, (unsigned long long)f->rip,
	       (unsigned long long)f->error);
	if (v == VEC_PF)
		printf(" cr2 0x%llx", (unsigned long long)read_cr2());
	printf("\n");
	hc_exit(RT_EXIT_EXCEPTION + v);
}
