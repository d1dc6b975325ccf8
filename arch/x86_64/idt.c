/* The IDT, the interrupt dispatcher and the fatal-exception report. */
#include <stddef.h>
#include "trap.h"
#include "percpu.h"
#include "cpu.h"
#include <hv/console.h>


extern const uint64_t isr_table[TRAP_STUBS];
extern char __image_start[], __image_end[], boot_stack_bottom[], boot_stack_top[];

static struct x86_gate idt[256] __attribute__((aligned(16)));
static irq_handler_fn handlers[256];

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check", "machine check",
	"SIMD error", "virtualization", "control protection", "reserved", "reserved",
	"reserved", "reserved", "reserved", "reserved", "hypervisor injection",
	"VMM communication", "security", "reserved",
};

static void set_gate(unsigned v, uint64_t fn, unsigned ist)
{
	idt[v] = x86_interrupt_gate(fn, GDT_CODE, (uint8_t)ist);
}

void trap_init(void)
{
	struct x86_dtr idtr = { sizeof(idt) - 1, (uint64_t)idt };
	unsigned v;

	percpu_init_boot();
	for (v = 0; v < 48; v++)
		set_gate(v, isr_table[v], 0);
	set_gate(VEC_SPURIOUS, isr_table[48], 0);
	set_gate(2, isr_table[2], IST_NMI);
	set_gate(8, isr_table[8], IST_DOUBLE_FAULT);
	set_gate(18, isr_table[18], IST_MACHINE_CHECK);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void trap_set_handler(unsigned vector, irq_handler_fn fn)
{
	handlers[vector & 0xff] = fn;
}

static int on_stack(uint64_t p)
{
	return p >= (uint64_t)boot_stack_bottom && p + 16 <= (uint64_t)boot_stack_top && !(p & 7);
}

/* Walk the frame-pointer chain; addresses are printed relative to hv.elf for addr2line. */
static void backtrace(uint64_t rip, uint64_t rbp)
{
	uint64_t base = (uint64_t)__image_start;
	int depth;

	kprintf("backtrace (addr2line -e build/hv.elf OFFSET):\n");
	for (depth = 0; depth < 16; depth++) {
		if (rip >= base && rip < (uint64_t)__image_end)
			kprintf("  #%d 0x%016llx  hv.elf+0x%llx\n", depth,
				(unsigned long long)rip, (unsigned long long)(rip - base));
		else
			kprintf("  #%d 0x%016llx\n", depth, (unsigned long long)rip);
		if (!on_stack(rbp))
			break;
		rip = ((uint64_t *)rbp)[1];
		rbp = ((uint64_t *)rbp)[0];
	}
}

static void __attribute__((noreturn)) exception_fatal(struct trap_frame *tf)
{
	const char *name = tf->vector < 32 ? exception_names[tf->vector] : "unexpected interrupt";

	kprintf("\nFATAL: exception %llu (%s), error code 0x%llx, in the hypervisor\n",
		(unsigned long long)tf->vector, name, (unsigned long long)tf->error);
	kprintf("rip=%016llx cs=%04llx rflags=%016llx rsp=%016llx ss=%04llx\n",
		(unsigned long long)tf->rip, (unsigned long long)tf->cs,
		(unsigned long long)tf->rflags, (unsigned long long)tf->rsp,
		(unsigned long long)tf->ss);
	kprintf("rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
		(unsigned long long)tf->rax, (unsigned long long)tf->rbx,
		(unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
	kprintf("rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx\n",
		(unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
		(unsigned long long)tf->rbp, (unsigned long long)tf->r8);
	kprintf("r9 =%016llx r10=%016llx r11=%016llx r12=%016llx\n",
		(unsigned long long)tf->r9, (unsigned long long)tf->r10,
		(unsigned long long)tf->r11, (unsigned long long)tf->r12);
	kprintf("r13=%016llx r14=%016llx r15=%016llx\n", (unsigned long long)tf->r13,
		(unsigned long long)tf->r14, (unsigned long long)tf->r15);
	kprintf("cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	backtrace(tf->rip, tf->rbp);
	kprintf("hypervisor halted\n");
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void trap_dispatch(struct trap_frame *tf)
{
	irq_handler_fn fn = handlers[tf->vector & 0xff];

	/* interrupts, and the two exceptions that are the host's events rather than its faults: NMI, #MC */
	if (fn && (tf->vector >= 32 || tf->vector == 2 || tf->vector == 18)) {
		fn(tf);
		return;
	}
	if (tf->vector == VEC_SPURIOUS)
		return;
	exception_fatal(tf);
}
