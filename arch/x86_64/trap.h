/* CPU exceptions and interrupts: the saved frame, vector numbers and handler registration. */
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#include <stdint.h>

#define VEC_TIMER 32
#define VEC_SPURIOUS 255
#define TRAP_STUBS 49 /* vectors 0..47 and 255 */

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout");

typedef void (*irq_handler_fn)(struct trap_frame *tf);

/* Load the GDT, TSS and IDT of this CPU. */
void trap_init(void);
/* Route a hardware interrupt vector (32..47, 255), the NMI (2) or the machine check (18) to fn. */
void trap_set_handler(unsigned vector, irq_handler_fn fn);
void trap_dispatch(struct trap_frame *tf);

#endif
