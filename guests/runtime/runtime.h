/* runtime.h -- the guest runtime: console, hypercalls, arguments, memory, TSC, traps, probes. */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/guest_boot.h>
#include "hypercall.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/*
 * The program's entry point. argv[0] is the VM's name, argv[1..argc-1] the
 * words after the image on the `vm create` line ("key=value"); argv[argc] is
 * NULL. The return value becomes the exit status (EMHV_HC_EXIT).
 */
int main(int argc, char **argv);

/* The boot parameters the hypervisor passed (identity-mapped, read-only by convention). */
const struct emhv_boot_params *boot_params(void);

/* ---- console: the 16550 UART at 0x3F8 (uart.c, printf.c) ---------------- */
void uart_putc(char c); /* "\n" goes out as "\r\n" */
void uart_write(const char *s, size_t len);
uint64_t uart_bytes_written(void); /* bytes sent to the UART so far, each "\r" included */
int uart_getc(void);		   /* waits for a byte */
int uart_trygetc(void);		   /* a byte, or -1 if none is waiting */
/* Formatted output through newlib's vsnprintf; lines over 511 bytes are cut. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int puts(const char *s); /* s and a newline */
/* bytes as "200 MiB", "12 KiB" or "100 bytes" (the largest unit that divides it) in buf. */
const char *size_str(char *buf, size_t len, uint64_t bytes);

/* ---- arguments: "key=value" words (args.c) ------------------------------- */
/*
 * The value of the last "key=..." word as a number: decimal with an
 * optional K, M or G suffix (binary multiples), or hex with 0x; def if absent.
 * A bad value prints one line and exits with status 2.
 */
uint64_t arg_u64(int argc, char **argv, const char *key, uint64_t def);
/* key=0 or key=1 (def if absent); anything else exits like a bad number. */
bool arg_flag(int argc, char **argv, const char *key, bool def);
/* The text after the last "key=", or def if absent. */
const char *arg_str(int argc, char **argv, const char *key, const char *def);
/* Exit with status 2 and one line if a word is not "key=value" with a key in known (NULL-ended). */
void arg_check(int argc, char **argv, const char *const *known);

/* ---- memory (region.c, paging.c) ------------------------------------------ */
/*
 * The test region: [free_start rounded up to 2 MiB, + size). Prints one line
 * and exits with status 2 if it does not fit below mem_max.
 */
void *free_region(uint64_t size);
/* Identity-map the 2 MiB page holding gpa in the guest's own page tables; 0 or -1. */
int map_2m(uint64_t gpa);

/* ---- time (tsc.c) ------------------------------------------------------------ */
uint64_t tsc_read(void);	    /* RDTSC after LFENCE */
uint64_t tsc_to_us(uint64_t ticks); /* 0 if the TSC rate is unknown */
/* units per second for `units` done in `ticks`; 0 if ticks or the rate is 0. */
uint64_t tsc_rate(uint64_t units, uint64_t ticks);

/* ---- traps: the IDT covers all 256 vectors (idt.c, idt_stubs.S) ---------- */
/* What the entry stub pushes, lowest address first; a handler may change any field. */
struct trap_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error; /* error: the CPU's error code, or 0 where it pushes none */
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU; IRETQ returns through them */
};
typedef void (*trap_handler)(struct trap_frame *f);
/*
 * Call fn for every exception or interrupt on vector (0-255); NULL removes it.
 * A vector without a handler resumes a probe (below) if the trap is one, or
 * else prints the vector and RIP and exits with status 128 + vector. The
 * gates are interrupt gates: handlers run with interrupts off, on the stack
 * the guest was using (no IST).
 */
void idt_set_handler(int vector, trap_handler fn);

/* ---- interrupts: the local APIC, its timer, I/O APIC lines (apic.c) ------- */
/* The timer's vector is in the highest priority class, so that a TPR (CR8) up to 14 lets it in. */
#define APIC_VEC_TIMER	  0xfe
#define APIC_VEC_SPURIOUS 0xff
/* Map the APIC pages, enable the APIC, timer in TSC-deadline mode (the TPR stays); 0, or -1. Idempotent. */
int apic_init(void);
void apic_eoi(void);
/* The timer interrupts at this TSC (a handler counts them; EOI included). */
void apic_timer_at(uint64_t tsc);
uint64_t apic_timer_count(void);
/* STI; HLT; CLI: wait for the next interrupt (the CPU goes to other VMs meanwhile). */
void irq_wait(void);
/* Idle until the TSC passes tsc / for us microseconds: other VMs run meanwhile. */
void sleep_until(uint64_t tsc);
void sleep_us(uint64_t us);
/* Route I/O APIC line (0-23) to vector (32-255) on this CPU, fn its handler (it must call apic_eoi). */
int irq_route(unsigned line, int vector, trap_handler fn, bool level);

/* ---- probes: run one instruction that may fault (probe.c) ---------------- */
/* Each returns the exception vector the instruction raised, or -1 if none. */
int probe_rdmsr(uint32_t msr, uint64_t *val);
int probe_wrmsr(uint32_t msr, uint64_t val);
int probe_write_cr4(uint64_t val);
int probe_write_cr8(uint64_t val);
int probe_read64(uint64_t addr, uint64_t *val);
int probe_write64(uint64_t addr, uint64_t val);
int probe_ud2(void); /* always 6 (#UD): a self-test of the mechanism */
/*
 * Probes of any instruction: put it at the local label 1: with the label 2:
 * right after it and PROBE_ENTRY behind, between probe_arm() and
 * probe_vector(), e.g.
 *	probe_arm();
 *	asm volatile("1: rdpmc\n2:\n\t" PROBE_ENTRY : "=a"(lo), "=d"(hi) : "c"(0) : "memory");
 *	vec = probe_vector();
 * An exception at 1: resumes at 2: with the outputs as they were.
 */
#define PROBE_ENTRY ".pushsection ex_table, \"a\"\n\t.balign 8\n\t.quad 1b, 2b\n\t.popsection\n\t"
void probe_arm(void);
int probe_vector(void);	    /* the vector the last armed probe raised, or -1 */
uint64_t probe_error(void); /* its error code (0 where the CPU pushes none) */

/* ---- helpers ----------------------------------------------------------------- */
/* splitmix64: a fast, well-mixed 64-bit hash of x. */
static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

#endif
