/*
 * hostile_exits.h -- the hostile guest's checks of instructions the
 * hypervisor completes for it: single-stepped (group step), behind
 * redundant prefixes (prefix), and software interrupts whose delivery takes
 * a growth fault (softint). Included once by hostile.c.
 */
#ifndef GUEST_HOSTILE_EXITS_H
#define GUEST_HOSTILE_EXITS_H

#include <string.h>
#include <emhv/x86_msr.h>
#include "hostile_check.h"
#include "hostile_cpu.h" /* SLED */
#include "cpu.h"

/* ---- step: RFLAGS.TF across an instruction -------------------------------------- */

/* The #DB handler notes the first trap and clears TF in the frame: later traps are extra. */
static volatile struct {
	int count;
	uint64_t rip, dr6;
} db;

static void on_db(struct trap_frame *f)
{
	if (!db.count++) {
		db.rip = f->rip;
		db.dr6 = read_dr6();
	}
	write_dr6(0);
	f->rflags &= ~RFLAGS_TF;
}

struct regs4 {
	uint64_t a, b, c, d;
};

/*
 * POPF sets TF: the instruction after it runs, then #DB arrives with RIP at
 * 2: (SDM vol. 3B 17.3.1.4). The NOP at 2: is there for a trap that comes
 * one instruction late; TF is cleared on the way out whatever happened.
 */
#define TF_ON  "pushfq; orq $0x100, (%%rsp); popfq\n\t"
#define TF_OFF "pushfq; andq $~0x100, (%%rsp); popfq\n\t"

#define STEP_FN(fn, text)                                                                          \
	static uint64_t fn(struct regs4 *r)                                                        \
	{                                                                                          \
		uint64_t after;                                                                    \
                                                                                                   \
		asm volatile("lea 2f(%%rip), %[after]\n\t" TF_ON text "\n2:\tnop\n\t" TF_OFF       \
			     : [after] "=&r"(after), "+a"(r->a), "+b"(r->b), "+c"(r->c),           \
			       "+d"(r->d)                                                          \
			     :                                                                     \
			     : "memory", "cc");                                                    \
		return after;                                                                      \
	}

STEP_FN(step_nop, "nop")
STEP_FN(step_cpuid, "cpuid")
STEP_FN(step_cpuid_prefixed, ".byte 0x3e, 0x3e\n\tcpuid")
STEP_FN(step_vmcall, "vmcall")
STEP_FN(step_vmmcall, "vmmcall")
STEP_FN(step_rdmsr, "rdmsr")
STEP_FN(step_wrmsr, "wrmsr")
STEP_FN(step_in, "in $0x80, %%al")
STEP_FN(step_out, "out %%al, $0x80")
STEP_FN(step_mov_cr4, "mov %%rax, %%cr4")
STEP_FN(step_wbinvd, "wbinvd")
STEP_FN(step_invd, "invd")
STEP_FN(step_pause, "pause")

static void step_one(struct tally *t, const char *name, uint64_t (*fn)(struct regs4 *),
		     struct regs4 *r)
{
	uint64_t after;

	db.count = 0;
	db.rip = db.dr6 = 0;
	write_dr6(0);
	after = fn(r);
	check(t, db.count == 1 && db.rip == after && (db.dr6 & DR6_BS),
	      "single-stepped %s: %d #DB, the first at RIP 0x%llx with DR6 0x%llx; expected one at "
	      "0x%llx with BS (bit 14)",
	      name, db.count, (unsigned long long)db.rip, (unsigned long long)db.dr6,
	      (unsigned long long)after);
}

static void step_checks(struct tally *t)
{
	uint64_t star = 0, efer = 0;
	struct regs4 r;

	probe_rdmsr(MSR_STAR, &star);
	probe_rdmsr(MSR_EFER, &efer);
	idt_set_handler(VEC_DB, on_db);

	r = (struct regs4){0, 0, 0, 0};
	step_one(t, "nop (the control)", step_nop, &r);
	r = (struct regs4){0, 0, 0, 0};
	step_one(t, "cpuid", step_cpuid, &r);
	check(t, r.b == cf.l0.ebx, "single-stepped cpuid 0: ebx 0x%llx, not the vendor's",
	      (unsigned long long)r.b);
	r = (struct regs4){0, 0, 0, 0};
	step_one(t, "3e 3e cpuid", step_cpuid_prefixed, &r);
	r = (struct regs4){EMHV_HC_VERSION, 0, 0, 0};
	step_one(t, "the version hypercall", hc_uses_vmmcall() ? step_vmmcall : step_vmcall, &r);
	expect_eq(t, "the version hypercall, single-stepped", r.a, EMHV_ABI_VERSION);
	r = (struct regs4){0, 0, MSR_EFER, 0};
	step_one(t, "rdmsr EFER", step_rdmsr, &r);
	expect_eq(t, "EFER read single-stepped", r.d << 32 | (uint32_t)r.a, efer);
	r = (struct regs4){(uint32_t)star, 0, MSR_STAR, star >> 32};
	step_one(t, "wrmsr STAR (its own value)", step_wrmsr, &r);
	r = (struct regs4){0, 0, 0, 0};
	step_one(t, "in al, 0x80", step_in, &r);
	expect_eq(t, "in al, 0x80 single-stepped", r.a & 0xff, 0xff);
	r = (struct regs4){0x5a, 0, 0, 0};
	step_one(t, "out 0x80, al", step_out, &r);
	r = (struct regs4){read_cr4(), 0, 0, 0};
	step_one(t, "mov to cr4 (its own value)", step_mov_cr4, &r);
	r = (struct regs4){0, 0, 0, 0};
	step_one(t, "wbinvd", step_wbinvd, &r);
	/* QEMU 7.2's TCG reports INVD as a WBINVD exit; emhv completes both alike */
	step_one(t, "invd", step_invd, &r);
	/* a PAUSE QEMU's TCG runs loses its TF trap (AMD-V does not intercept PAUSE here) */
	if (!cf.qemu_tcg)
		step_one(t, "pause", step_pause, &r);

	idt_set_handler(VEC_DB, NULL);
}

/* ---- prefix: redundant prefixes count in the instruction's length ----------------- */

/*
 * Each instruction sits at 1: behind its prefixes and before SLED; it must
 * run once and execution go on right after it, so all of SLED runs. A fault
 * resumes at 2: (behind the sled): vector set, nothing pushed.
 */
#define PFX_BEGIN "mov %%rsp, %[saved]\n1:\t"
/* sti right before the instruction: its one-instruction shadow makes "sti; hlt" wait for what is pending */
#define PFX_BEGIN_STI "mov %%rsp, %[saved]\n\tsti\n1:\t"
#define PFX_END	  "\n\t" SLED "2:\n\tmov %%rsp, %[after]\n\tmov %[saved], %%rsp\n\t" PROBE_ENTRY

static void pfx_check(struct tally *t, const char *name, int vec, uint64_t saved, uint64_t after)
{
	check(t, vec < 0 && saved - after == SLED_BYTES,
	      "%s: vector %d, %llu of %d sled bytes pushed after it (it must run once, then the "
	      "next instruction)",
	      name, vec, (unsigned long long)(saved - after), SLED_BYTES);
}

static void pfx_cpuid(struct tally *t)
{
	uint64_t saved, after;
	uint32_t a = 0, b = 0, c = 0, d = 0;

	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e, 0x3e\n\tcpuid" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after), "+a"(a), "+b"(b), "+c"(c),
		       "+d"(d)
		     :
		     : "memory");
	pfx_check(t, "3e 3e cpuid", probe_vector(), saved, after);
	check(t, a == cf.l0.eax && b == cf.l0.ebx && c == cf.l0.ecx && d == cf.l0.edx,
	      "3e 3e cpuid with eax 0 gave %08x %08x %08x %08x, not leaf 0 (%08x %08x %08x %08x): "
	      "it ran twice?",
	      a, b, c, d, cf.l0.eax, cf.l0.ebx, cf.l0.ecx, cf.l0.edx);
}

static void pfx_hypercall(struct tally *t)
{
	static struct emhv_vm_info info;
	uint64_t saved, after, rax = EMHV_HC_INFO;
	register uint64_t r10 asm("r10") = 0;
	int vec;

	memset(&info, 0, sizeof(info));
	probe_arm();
	if (hc_uses_vmmcall())
		asm volatile(PFX_BEGIN ".byte 0x3e, 0x3e, 0x3e\n\tvmmcall" PFX_END
			     : [saved] "=&r"(saved), [after] "=&r"(after), "+a"(rax)
			     : "D"(&info), "S"(sizeof(info)), "d"(0), "r"(r10)
			     : "memory");
	else
		asm volatile(PFX_BEGIN ".byte 0x3e, 0x3e, 0x3e\n\tvmcall" PFX_END
			     : [saved] "=&r"(saved), [after] "=&r"(after), "+a"(rax)
			     : "D"(&info), "S"(sizeof(info)), "d"(0), "r"(r10)
			     : "memory");
	vec = probe_vector();
	pfx_check(t, hc_uses_vmmcall() ? "3e 3e 3e vmmcall" : "3e 3e 3e vmcall", vec, saved, after);
	check(t, rax == sizeof(info) && info.vm_id == boot_params()->vm_id,
	      "prefixed info hypercall returned %lld with vm_id %u; expected %u and %u (a second "
	      "run would return an error)",
	      (long long)rax, info.vm_id, (unsigned)sizeof(info), boot_params()->vm_id);
}

static void pfx_rdmsr(struct tally *t)
{
	uint64_t saved, after, efer = 0;
	uint32_t lo = 0, hi = 0;

	probe_rdmsr(MSR_EFER, &efer);
	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e\n\trdmsr" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after), "+a"(lo), "+d"(hi)
		     : "c"(MSR_EFER)
		     : "memory");
	pfx_check(t, "3e rdmsr EFER", probe_vector(), saved, after);
	expect_eq(t, "EFER read by 3e rdmsr", (uint64_t)hi << 32 | lo, efer);
}

static void pfx_wrmsr(struct tally *t)
{
	uint64_t saved, after, star = 0;

	probe_rdmsr(MSR_STAR, &star);
	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e, 0x3e\n\twrmsr" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after)
		     : "c"(MSR_STAR), "a"((uint32_t)star), "d"((uint32_t)(star >> 32))
		     : "memory");
	pfx_check(t, "3e 3e wrmsr STAR (its own value)", probe_vector(), saved, after);
}

/* HLT with IF = 1 idles until an interrupt (the APIC timer, armed just before); the guest goes on after it. */
static void pfx_hlt(struct tally *t, const char *name, int prefixed)
{
	uint64_t saved, after;

	apic_timer_at(tsc_read() + 1000);
	probe_arm();
	if (prefixed)
		asm volatile(PFX_BEGIN_STI ".byte 0x3e\n\thlt" PFX_END "cli"
			     : [saved] "=&r"(saved), [after] "=&r"(after)
			     :
			     : "memory");
	else
		asm volatile(PFX_BEGIN_STI "hlt" PFX_END "cli"
			     : [saved] "=&r"(saved), [after] "=&r"(after)
			     :
			     : "memory");
	pfx_check(t, name, probe_vector(), saved, after);
}

static void pfx_io(struct tally *t)
{
	uint64_t saved, after;
	uint8_t al = 0;

	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e, 0x3e\n\tin $0x80, %%al" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after), "+a"(al)
		     :
		     : "memory");
	pfx_check(t, "3e 3e in al, 0x80", probe_vector(), saved, after);
	expect_eq(t, "3e 3e in al, 0x80 (no device)", al, 0xff);
	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e\n\tout %%al, $0x80" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after)
		     : "a"(0x5a)
		     : "memory");
	pfx_check(t, "3e out 0x80, al", probe_vector(), saved, after);
}

static void pfx_wbinvd(struct tally *t)
{
	uint64_t saved, after;

	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e, 0x3e\n\twbinvd" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after)
		     :
		     : "memory");
	pfx_check(t, "3e 3e wbinvd", probe_vector(), saved, after);
	probe_arm();
	asm volatile(PFX_BEGIN ".byte 0x3e\n\tpause" PFX_END
		     : [saved] "=&r"(saved), [after] "=&r"(after)
		     :
		     : "memory");
	pfx_check(t, "3e pause", probe_vector(), saved, after);
}

/*
 * An instruction that ran twice may leave no trace in registers (a second
 * WRMSR of the same value, a second HLT): count the VM exits it costs. The
 * fewest over a few tries leaves out exits for host interrupts.
 */
#define EXIT_TRIES 5

static uint64_t exits_now(void)
{
	static struct emhv_vm_info i;

	return hc_info(&i, sizeof(i)) == (int64_t)sizeof(i) ? i.exits : 0;
}

static uint64_t exits_taken(void (*fn)(void))
{
	uint64_t best = ~0ULL, e0, e1;
	int i;

	for (i = 0; i < EXIT_TRIES; i++) {
		e0 = exits_now();
		fn();
		e1 = exits_now();
		best = e1 - e0 < best ? e1 - e0 : best;
	}
	return best;
}

#define PFX_PAIR(name, text, ...)                                                                  \
	static void name(void)                                                                     \
	{                                                                                          \
		asm volatile(text __VA_ARGS__);                                                    \
	}                                                                                          \
	static void name##_p(void)                                                                 \
	{                                                                                          \
		asm volatile(".byte 0x3e, 0x3e\n\t" text __VA_ARGS__);                             \
	}

static uint64_t pair_star;

PFX_PAIR(x_cpuid, "cpuid", : : "a"(0), "c"(0) : "rbx", "rdx", "memory")
PFX_PAIR(x_rdmsr, "rdmsr", : : "c"(MSR_EFER) : "rax", "rdx", "memory")
PFX_PAIR(x_wrmsr, "wrmsr",
	 :
	 : "c"(MSR_STAR), "a"((uint32_t)pair_star), "d"((uint32_t)(pair_star >> 32))
	 : "memory")
PFX_PAIR(x_wbinvd, "wbinvd", : : : "memory")
PFX_PAIR(x_in, "in $0x80, %%al", : : : "rax", "memory")
PFX_PAIR(x_out, "out %%al, $0x80", : : "a"(0x5a) : "memory")
PFX_PAIR(x_vmcall, "vmcall", : : "a"(EMHV_HC_VERSION) : "memory")
PFX_PAIR(x_vmmcall, "vmmcall", : : "a"(EMHV_HC_VERSION) : "memory")

static void x_hlt(void)
{
	apic_timer_at(tsc_read() + 1000);
	asm volatile("sti\n\thlt\n\tcli" : : : "memory");
}

static void x_hlt_p(void)
{
	apic_timer_at(tsc_read() + 1000);
	asm volatile("sti\n\t.byte 0x3e, 0x3e\n\thlt\n\tcli" : : : "memory");
}

static void pfx_exits(struct tally *t)
{
	static const struct {
		const char *name;
		void (*plain)(void), (*prefixed)(void);
	} pairs[] = {
	    {"cpuid", x_cpuid, x_cpuid_p},
	    {"rdmsr", x_rdmsr, x_rdmsr_p},
	    {"wrmsr", x_wrmsr, x_wrmsr_p},
	    {"hlt with IF=1", x_hlt, x_hlt_p},
	    {"wbinvd", x_wbinvd, x_wbinvd_p},
	    {"in", x_in, x_in_p},
	    {"out", x_out, x_out_p},
	    {"vmcall", x_vmcall, x_vmcall_p},
	    {"vmmcall", x_vmmcall, x_vmmcall_p},
	};
	uint64_t plain, prefixed;
	size_t i;

	apic_init(); /* its own exits (mapping, first register writes) stay out of the counts */
	probe_rdmsr(MSR_STAR, &pair_star);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (!strcmp(pairs[i].name, hc_uses_vmmcall() ? "vmcall" : "vmmcall"))
			continue; /* the other vendor's hypercall */
		plain = exits_taken(pairs[i].plain);
		prefixed = exits_taken(pairs[i].prefixed);
		check(t, plain == prefixed,
		      "3e 3e %s costs %llu VM exits, %s alone %llu: it ran more than once?",
		      pairs[i].name, (unsigned long long)prefixed, pairs[i].name,
		      (unsigned long long)plain);
	}
}

static void prefix_checks(struct tally *t)
{
	apic_init();
	pfx_cpuid(t);
	pfx_hypercall(t);
	pfx_rdmsr(t);
	pfx_wrmsr(t);
	pfx_hlt(t, "hlt with IF=1 (the control)", 0);
	pfx_hlt(t, "3e hlt with IF=1", 1);
	pfx_io(t);
	pfx_wbinvd(t);
	pfx_exits(t);
}

/* ---- softint: INT n and INT3 whose frame lands in RAM never touched --------------- */

#define SOFT_TRIES 4 /* fresh 2 MiB blocks per instruction */

static volatile int soft_count;

static void on_soft(struct trap_frame *f)
{
	(void)f;
	soft_count++;
}

/* Run INT 0x80 (or INT3) with RSP = sp; the handler's calls. */
static int soft_int(int int3, uint64_t sp)
{
	uint64_t saved;

	soft_count = 0;
	if (int3)
		asm volatile("mov %%rsp, %0\n\tmov %1, %%rsp\n\tint3\n\tmov %0, %%rsp"
			     : "=&r"(saved)
			     : "r"(sp)
			     : "memory");
	else
		asm volatile("mov %%rsp, %0\n\tmov %1, %%rsp\n\tint $0x80\n\tmov %0, %%rsp"
			     : "=&r"(saved)
			     : "r"(sp)
			     : "memory");
	return soft_count;
}

static uint64_t backed_now(void)
{
	static struct emhv_vm_info info;

	return hc_info(&info, sizeof(info)) == (int64_t)sizeof(info) ? info.backed : 0;
}

static void soft_try(struct tally *t, int int3, uint64_t block)
{
	const char *name = int3 ? "int3" : "int $0x80";
	uint64_t sp = block + 2 * MIB - 64, before = backed_now(), after;
	int n = soft_int(int3, sp);

	after = backed_now();
	check(t, n == 1, "%s with RSP 0x%llx in RAM never touched: delivered %d times", name,
	      (unsigned long long)sp, n);
	check(t, after > before,
	      "%s with RSP 0x%llx: backed %llu -> %llu bytes: the stack was not fresh RAM", name,
	      (unsigned long long)sp, (unsigned long long)before, (unsigned long long)after);
}

static void softint_checks(struct tally *t)
{
	const struct emhv_boot_params *bp = boot_params();
	uint64_t block = align_up(bp->mem_min, 2 * MIB);
	int i, n;

	idt_set_handler(0x80, on_soft);
	idt_set_handler(VEC_BP, on_soft);
	soft_count = 0;
	asm volatile("int $0x80" : : : "memory"); /* the control, on the stack in use */
	n = soft_count;
	soft_count = 0;
	asm volatile("int3" : : : "memory");
	check(t, n == 1 && soft_count == 1,
	      "int $0x80 and int3 on a backed stack: delivered %d and %d times", n, soft_count);
	for (i = 0; i < 2 * SOFT_TRIES; i++, block += 2 * MIB) {
		if (block + 2 * MIB > bp->mem_max) {
			printf("hostile: softint: note: no fresh 2 MiB block left below mem_max "
			       "0x%llx\n",
			       (unsigned long long)bp->mem_max);
			break;
		}
		soft_try(t, i >= SOFT_TRIES, block);
	}
	idt_set_handler(0x80, NULL);
	idt_set_handler(VEC_BP, NULL);
}

#endif
