/* idt.c -- the guest's IDT for vectors 0-31: probes resume, other exceptions end the guest. */
#include "runtime.h"
#include "cpu.h"
#include "internal.h"

#define IDT_VECTORS 32
#define GATE_INTR   0x8e /* present, DPL 0, 64-bit interrupt gate */
#define VEC_PF	    14

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate layout");

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_ptr) == 10, "IDTR operand layout");

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

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

void idt_init(void)
{
	struct idt_ptr p = {sizeof(idt) - 1, (uint64_t)idt};
	int v;

	for (v = 0; v < IDT_VECTORS; v++) {
		uint64_t a = idt_stubs[v];

		idt[v] = (struct idt_gate){
		    .off_lo = (uint16_t)a,
		    .sel = EMHV_GUEST_CS,
		    .type = GATE_INTR,
		    .off_mid = (uint16_t)(a >> 16),
		    .off_hi = (uint32_t)(a >> 32),
		};
	}
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
