/* isolation.c -- per-vCPU state set from a seed must survive yielding the CPU to other VMs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_regs.h>
#include "runtime.h"

/*
 * The state: x87 (stack, FCW), SSE (XMM0-15, MXCSR), the SYSCALL MSRs and
 * KERNEL_GS_BASE, DR0-DR3, DR6, DR7, CR8 and the TSC. A VM that starts with
 * any of it not in its reset value, or sees any of it change across a yield
 * (sti; hlt: the CPU goes to the next VM), has seen another vCPU's state.
 *
 * Arguments: seed=N (default 1), rounds=R (100), spin=S (20: checks of the XMM
 * registers and the TSC between a yield and the full check). Results:
 * initial_dirty (items not in their reset value at entry, each printed),
 * fpu_errors, msr_errors, dr_errors, cr8_errors, tsc_errors (mismatches; the
 * first of each kind is printed) and rounds (completed). Exit status 0 when it
 * got through them all: the verdict is in the results.
 *
 * This file is built with -mgeneral-regs-only like every guest: the compiler
 * never touches an x87 or SSE register, so the inline asm below owns them all
 * and names none as clobbered (GCC refuses most of them as clobbers here).
 */

static const char *const known_args[] = {"seed", "rounds", "spin", NULL};

/* The 64-bit FXSAVE area: bytes 0..415 are compared, in 16-byte rows. */
#define FX_BYTES   512
#define FX_CMP	   416
#define FX_FCW	   0
#define FX_FTW	   4
#define FX_MXCSR   24
#define FX_ST0	   32
#define FX_XMM0	   160
#define FCW_RESET  0x37f
#define MXCSR_INIT 0x1f80

#define DR6_WRITABLE 0xe00fULL	  /* B0-B3, BD, BS, BT */
#define TSC_SPAN     (1ULL << 48) /* a TSC further than this above its base is another VM's */

enum kind { K_FPU, K_MSR, K_DR, K_CR8, K_TSC, KINDS };
static const char *const kind_name[KINDS] = {"fpu", "msr", "dr", "cr8", "tsc"};
static const char *const result_name[KINDS] = {"fpu_errors", "msr_errors", "dr_errors",
					       "cr8_errors", "tsc_errors"};

/* The MSRs a vCPU owns beyond the VMCS/VMCB fields, each with a mask of its valid bits. */
static const struct {
	uint32_t index;
	const char *name;
	int canonical; /* an address: sign-extended from bit 47 */
	uint64_t valid;
} msrs[] = {
    {MSR_STAR, "STAR", 0, ~0ULL},
    {MSR_LSTAR, "LSTAR", 1, ~0ULL},
    {MSR_CSTAR, "CSTAR", 1, ~0ULL},
    {MSR_SFMASK, "SFMASK", 0, 0xffffffffULL},
    {MSR_KERNEL_GS_BASE, "KERNEL_GS_BASE", 1, ~0ULL},
};
#define MSRS (sizeof(msrs) / sizeof(msrs[0]))

/* An 80-bit x87 value as FLD m80 reads it. */
struct x87_ext {
	uint64_t mant;
	uint16_t sign_exp;
} __attribute__((packed));

/* What this vCPU set, and what it must keep seeing. */
struct state {
	uint8_t xmm[16][16] __attribute__((aligned(16)));
	int64_t x87_int[4];
	struct x87_ext x87_ext[4];
	uint16_t fcw;
	uint32_t mxcsr;
	uint8_t fx[FX_BYTES] __attribute__((aligned(16))); /* FXSAVE right after setting it all */
	uint64_t msr[MSRS];
	uint64_t gs_base;
	uint64_t dr[4], dr6, dr7;
	uint64_t cr8;
	uint64_t tsc_base, tsc_last;
};

static struct state st;
static uint64_t errors[KINDS];
static unsigned long long round_no; /* 0 while setting up */

/* Count one mismatch of kind k; the first of each kind is printed. */
static void __attribute__((format(printf, 2, 3))) mismatch(enum kind k, const char *fmt, ...)
{
	va_list ap;

	if (errors[k]++)
		return;
	printf("isolation: round %llu: first %s mismatch: ", round_no, kind_name[k]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- the registers ------------------------------------------------------------ */

static void fxsave(uint8_t *buf)
{
	asm volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[FX_BYTES])buf));
}

#define DEFINE_DR(n)                                                                               \
	static uint64_t read_dr##n(void)                                                           \
	{                                                                                          \
		uint64_t v;                                                                        \
		asm volatile("mov %%dr" #n ", %0" : "=r"(v));                                      \
		return v;                                                                          \
	}                                                                                          \
	static void write_dr##n(uint64_t v)                                                        \
	{                                                                                          \
		asm volatile("mov %0, %%dr" #n : : "r"(v));                                        \
	}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
DEFINE_DR(7)
#undef DEFINE_DR

/* DRn by number: 0-3, 6 and 7. */
static uint64_t (*const read_dr[8])(void) = {read_dr0, read_dr1, read_dr2, read_dr3,
					     NULL,     NULL,	 read_dr6, read_dr7};
static void (*const write_dr[8])(uint64_t) = {write_dr0, write_dr1, write_dr2, write_dr3,
					      NULL,	 NULL,	    write_dr6, write_dr7};

static uint64_t read_cr8(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void write_cr8(uint64_t v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

/* RDMSR; a fault counts as a mismatch and reads as ~0. */
static uint64_t msr_get(uint32_t index, const char *name)
{
	uint64_t v;
	int vec = probe_rdmsr(index, &v);

	if (vec >= 0) {
		mismatch(K_MSR, "rdmsr %s (0x%x) raised exception %d", name, (unsigned)index, vec);
		return ~0ULL;
	}
	return v;
}

static void msr_set(uint32_t index, const char *name, uint64_t v)
{
	int vec = probe_wrmsr(index, v);

	if (vec >= 0)
		mismatch(K_MSR, "wrmsr %s (0x%x) <- 0x%llx raised exception %d", name,
			 (unsigned)index, (unsigned long long)v, vec);
}

static void swapgs(void)
{
	asm volatile("swapgs" : : : "memory");
}

/* The 16 XMM registers into buf (16-byte rows). */
static void xmm_store(uint8_t (*buf)[16])
{
	asm volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
		     "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
		     "movdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
		     "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)\n\t"
		     "movdqu %%xmm8, 128(%0)\n\tmovdqu %%xmm9, 144(%0)\n\t"
		     "movdqu %%xmm10, 160(%0)\n\tmovdqu %%xmm11, 176(%0)\n\t"
		     "movdqu %%xmm12, 192(%0)\n\tmovdqu %%xmm13, 208(%0)\n\t"
		     "movdqu %%xmm14, 224(%0)\n\tmovdqu %%xmm15, 240(%0)"
		     :
		     : "r"(buf)
		     : "memory");
}

static void xmm_load(const uint8_t (*buf)[16])
{
	asm volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
		     "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
		     "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
		     "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\t"
		     "movdqu 128(%0), %%xmm8\n\tmovdqu 144(%0), %%xmm9\n\t"
		     "movdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
		     "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\t"
		     "movdqu 224(%0), %%xmm14\n\tmovdqu 240(%0), %%xmm15"
		     :
		     : "r"(buf)
		     : "memory");
}

/* FCW first, then the stack: four integers (FILD) and four 80-bit values (FLD m80), full. */
static void x87_load(const struct state *s)
{
	asm volatile("fldcw %0" : : "m"(s->fcw));
	asm volatile("fildq 0(%0)\n\tfildq 8(%0)\n\tfildq 16(%0)\n\tfildq 24(%0)"
		     :
		     : "r"(s->x87_int)
		     : "memory");
	asm volatile("fldt 0(%0)\n\tfldt 10(%0)\n\tfldt 20(%0)\n\tfldt 30(%0)"
		     :
		     : "r"(s->x87_ext)
		     : "memory");
}

static void mxcsr_load(uint32_t v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
}

/* ---- the state at entry ---------------------------------------------------------- */

static unsigned dirty;

static void dirty_if(int cond, const char *what, uint64_t val, uint64_t clean)
{
	if (!cond)
		return;
	dirty++;
	printf("isolation: at entry %s is 0x%llx, not its reset value 0x%llx\n", what,
	       (unsigned long long)val, (unsigned long long)clean);
}

/* The first 8 bytes at p, for messages. */
static uint64_t low8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int all_zero(const uint8_t *p, unsigned n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* Count (in dirty) the items not in their reset value now, before this program touched any. */
static void count_dirty(void)
{
	static uint8_t fx[FX_BYTES] __attribute__((aligned(16)));
	uint16_t fcw;
	uint32_t mxcsr;
	uint64_t dr6, dr7;
	char what[32];
	unsigned i;

	fxsave(fx);
	memcpy(&fcw, fx + FX_FCW, 2);
	memcpy(&mxcsr, fx + FX_MXCSR, 4);
	dirty_if(fcw != FCW_RESET, "FCW", fcw, FCW_RESET);
	dirty_if(mxcsr != MXCSR_INIT, "MXCSR", mxcsr, MXCSR_INIT);
	/* FSW, FTW (abridged: 0 is an empty stack), FOP, FIP, FDP */
	dirty_if(!all_zero(fx + 2, 22), "the x87 status (FSW|FTW<<16)",
		 fx[2] | fx[3] << 8 | (uint64_t)fx[FX_FTW] << 16, 0);
	for (i = 0; i < 8; i++) {
		snprintf(what, sizeof(what), "ST%u (low 8 bytes)", i);
		dirty_if(!all_zero(fx + FX_ST0 + 16 * i, 16), what, low8(fx + FX_ST0 + 16 * i), 0);
	}
	for (i = 0; i < 16; i++) {
		snprintf(what, sizeof(what), "XMM%u (low 8 bytes)", i);
		dirty_if(!all_zero(fx + FX_XMM0 + 16 * i, 16), what, low8(fx + FX_XMM0 + 16 * i),
			 0);
	}
	for (i = 0; i < MSRS; i++) {
		uint64_t v = msr_get(msrs[i].index, msrs[i].name);

		dirty_if(v != 0, msrs[i].name, v, 0);
	}
	for (i = 0; i < 4; i++) {
		uint64_t v = read_dr[i]();

		snprintf(what, sizeof(what), "DR%u", i);
		dirty_if(v != 0, what, v, 0);
	}
	dr6 = read_dr[6]();
	dirty_if((dr6 & DR6_WRITABLE) != 0, "DR6", dr6, DR6_RESET);
	dr7 = read_dr[7]();
	dirty_if(dr7 != DR7_RESET, "DR7", dr7, DR7_RESET);
	dirty_if(read_cr8() != 0, "CR8", read_cr8(), 0);
}

/* ---- setting it ---------------------------------------------------------------------- */

static uint64_t canonical(uint64_t x)
{
	return (uint64_t)((int64_t)(x << 16) >> 16);
}

/* The n-th seeded number of stream tag. */
static uint64_t rnd(uint64_t seed, uint64_t tag, uint64_t n)
{
	return splitmix64(splitmix64(seed ^ tag << 32) + n);
}

/* DR7 with every breakpoint disabled (L0-3, G0-3, GD clear) but seeded R/W and LEN fields. */
static uint64_t seeded_dr7(uint64_t r)
{
	static const unsigned rw[3] = {0, 1, 3}; /* 2 (I/O) needs CR4.DE */
	uint64_t v = DR7_RESET;

	for (unsigned i = 0; i < 4; i++) {
		v |= (uint64_t)rw[(r >> (8 * i)) % 3] << (16 + 4 * i);
		v |= ((r >> (8 * i + 4)) & 3) << (18 + 4 * i);
	}
	return v;
}

static void fpu_setup(struct state *s, uint64_t seed)
{
	static const unsigned pc[3] = {0, 2, 3}; /* 24, 53, 64 bits (1 is reserved) */
	static uint8_t again[FX_BYTES] __attribute__((aligned(16)));
	uint64_t r = rnd(seed, 1, 0);
	unsigned i;

	for (i = 0; i < 32; i++) {
		uint64_t v = rnd(seed, 2, i);

		memcpy(&s->xmm[i / 2][8 * (i % 2)], &v, 8);
	}
	for (i = 0; i < 4; i++) {
		uint64_t e = rnd(seed, 3, i);

		s->x87_int[i] = (int64_t)rnd(seed, 4, i);
		s->x87_ext[i].mant = rnd(seed, 5, i) | 1ULL << 63; /* normal: integer bit set */
		s->x87_ext[i].sign_exp = (uint16_t)((e & 0x8000) | (0x3fff - 1000 + e % 2000));
	}
	/* all exceptions masked; precision and rounding control from the seed */
	s->fcw = (uint16_t)(0x7f | pc[r % 3] << 8 | ((r >> 8) & 3) << 10);
	/* all exceptions masked; rounding control and flush-to-zero from the seed */
	s->mxcsr = MXCSR_INIT | ((r >> 16) & 3) << 13 | ((r >> 18) & 1) << 15;

	xmm_load(s->xmm);
	x87_load(s);
	mxcsr_load(s->mxcsr);
	fxsave(s->fx);
	fxsave(again);
	for (i = 0; i < FX_CMP; i++)
		if (s->fx[i] != again[i]) {
			mismatch(K_FPU, "FXSAVE byte %u is not stable: 0x%02x, then 0x%02x", i,
				 s->fx[i], again[i]);
			break;
		}
	if (memcmp(s->fx + FX_XMM0, s->xmm, sizeof(s->xmm)))
		mismatch(K_FPU, "FXSAVE after loading XMM0-15 does not hold what was loaded");
}

static void msr_setup(struct state *s, uint64_t seed)
{
	unsigned i;

	for (i = 0; i < MSRS; i++) {
		uint64_t v = rnd(seed, 6, i) & msrs[i].valid;

		s->msr[i] = msrs[i].canonical ? canonical(v) : v;
		msr_set(msrs[i].index, msrs[i].name, s->msr[i]);
	}
	/* GS_BASE too: SWAPGS exchanges it with the CPU's KERNEL_GS_BASE */
	s->gs_base = canonical(rnd(seed, 6, MSRS));
	msr_set(MSR_GS_BASE, "GS_BASE", s->gs_base);
}

static void dr_setup(struct state *s, uint64_t seed)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		s->dr[i] = canonical(rnd(seed, 7, i));
		write_dr[i](s->dr[i]);
	}
	s->dr7 = seeded_dr7(rnd(seed, 7, 4));
	write_dr[7](s->dr7);
	write_dr[6](DR6_RESET | (rnd(seed, 7, 5) & DR6_WRITABLE));
	s->dr6 = read_dr[6](); /* what the CPU keeps of it is the reference */
}

static void setup(struct state *s, uint64_t seed)
{
	fpu_setup(s, seed);
	msr_setup(s, seed);
	dr_setup(s, seed);
	s->cr8 = 1 + rnd(seed, 8, 0) % 14; /* below the APIC timer's priority class (15) */
	write_cr8(s->cr8);
	/* a base 2^52..2^56: far from any other seed's, so a leaked TSC offset shows either way */
	s->tsc_base = (1ULL << 52) + (rnd(seed, 9, 0) >> 8);
	msr_set(MSR_IA32_TSC, "TSC", s->tsc_base);
	s->tsc_last = s->tsc_base;
}

/* ---- checking it ------------------------------------------------------------------------- */

static const char *fx_row_name(unsigned row, char *buf, size_t len)
{
	if (row == 0)
		snprintf(buf, len, "FCW/FSW/FTW/FOP/FIP");
	else if (row == 1)
		snprintf(buf, len, "FDP/MXCSR");
	else if (row < 10)
		snprintf(buf, len, "ST%u", row - 2);
	else
		snprintf(buf, len, "XMM%u", row - 10);
	return buf;
}

/* One error per 16-byte row of the FXSAVE area that differs from the reference. */
static void check_fpu(const struct state *s)
{
	static uint8_t fx[FX_BYTES] __attribute__((aligned(16)));
	char name[24];

	fxsave(fx);
	for (unsigned row = 0; row < FX_CMP / 16; row++) {
		for (unsigned i = 16 * row; i < 16 * row + 16; i++) {
			if (fx[i] == s->fx[i])
				continue;
			mismatch(K_FPU, "FXSAVE byte %u (%s) is 0x%02x, expected 0x%02x", i,
				 fx_row_name(row, name, sizeof(name)), fx[i], s->fx[i]);
			break;
		}
	}
}

/* The XMM registers alone, without FXSAVE: what a computation reads. */
static void check_xmm(const struct state *s)
{
	static uint8_t now[16][16] __attribute__((aligned(16)));

	xmm_store(now);
	for (unsigned i = 0; i < 16; i++)
		if (memcmp(now[i], s->xmm[i], 16))
			mismatch(K_FPU, "XMM%u reads 0x%016llx in its low half, expected 0x%016llx",
				 i, (unsigned long long)low8(now[i]),
				 (unsigned long long)low8(s->xmm[i]));
}

static void expect_msr(const char *name, uint64_t got, uint64_t want)
{
	if (got != want)
		mismatch(K_MSR, "%s is 0x%llx, expected 0x%llx", name, (unsigned long long)got,
			 (unsigned long long)want);
}

static void check_msrs(const struct state *s)
{
	uint64_t gs, kgs;

	for (unsigned i = 0; i < MSRS; i++)
		expect_msr(msrs[i].name, msr_get(msrs[i].index, msrs[i].name), s->msr[i]);
	expect_msr("GS_BASE", msr_get(MSR_GS_BASE, "GS_BASE"), s->gs_base);
	/* the CPU's own KERNEL_GS_BASE, not only what RDMSR answers */
	swapgs();
	gs = msr_get(MSR_GS_BASE, "GS_BASE");
	kgs = msr_get(MSR_KERNEL_GS_BASE, "KERNEL_GS_BASE");
	swapgs();
	expect_msr("GS_BASE after SWAPGS", gs, s->msr[MSRS - 1]);
	expect_msr("KERNEL_GS_BASE after SWAPGS", kgs, s->gs_base);
}

static void check_drs(const struct state *s)
{
	static const unsigned n[6] = {0, 1, 2, 3, 6, 7};
	const uint64_t want[6] = {s->dr[0], s->dr[1], s->dr[2], s->dr[3], s->dr6, s->dr7};

	for (unsigned i = 0; i < 6; i++) {
		uint64_t v = read_dr[n[i]]();

		if (v != want[i])
			mismatch(K_DR, "DR%u is 0x%llx, expected 0x%llx", n[i],
				 (unsigned long long)v, (unsigned long long)want[i]);
	}
}

static void check_cr8(const struct state *s)
{
	uint64_t v = read_cr8();

	if (v != s->cr8)
		mismatch(K_CR8, "CR8 is %llu, expected %llu", (unsigned long long)v,
			 (unsigned long long)s->cr8);
}

/* Never backwards, never below this vCPU's base, never far above it. */
static void check_tsc(struct state *s)
{
	uint64_t t = tsc_read();

	if (t < s->tsc_last || t < s->tsc_base || t - s->tsc_base >= TSC_SPAN)
		mismatch(K_TSC, "TSC is 0x%llx after 0x%llx (base 0x%llx)", (unsigned long long)t,
			 (unsigned long long)s->tsc_last, (unsigned long long)s->tsc_base);
	s->tsc_last = t;
}

static void check_all(struct state *s)
{
	check_fpu(s);
	check_xmm(s);
	check_msrs(s);
	check_drs(s);
	check_cr8(s);
	check_tsc(s);
}

/* Give the CPU to the next VMs: idle in HLT until the APIC timer 100 us from now (its vector gets past any TPR set here). */
static void yield(void)
{
	sleep_us(100);
}

/* Work between yields that reads the registers, so a switch in the middle of it shows too. */
static void spin(struct state *s, uint64_t n)
{
	while (n--) {
		check_xmm(s);
		check_tsc(s);
	}
}

int main(int argc, char **argv)
{
	uint64_t seed, rounds, spins, i;

	arg_check(argc, argv, known_args);
	/* first of all, before any of it is changed */
	count_dirty();
	seed = arg_u64(argc, argv, "seed", 1);
	rounds = arg_u64(argc, argv, "rounds", 100);
	spins = arg_u64(argc, argv, "spin", 20);

	setup(&st, seed);
	check_all(&st);
	for (i = 1; i <= rounds; i++) {
		round_no = i;
		yield();
		spin(&st, spins);
		check_all(&st);
	}

	printf("isolation: seed %llu, %llu rounds: %u dirty at entry; errors: fpu %llu, msr %llu, "
	       "dr %llu, cr8 %llu, tsc %llu\n",
	       (unsigned long long)seed, (unsigned long long)rounds, dirty,
	       (unsigned long long)errors[K_FPU], (unsigned long long)errors[K_MSR],
	       (unsigned long long)errors[K_DR], (unsigned long long)errors[K_CR8],
	       (unsigned long long)errors[K_TSC]);
	hc_result("initial_dirty", dirty);
	for (unsigned k = 0; k < KINDS; k++)
		hc_result(result_name[k], (int64_t)errors[k]);
	hc_result("rounds", (int64_t)(i - 1));
	return 0;
}
