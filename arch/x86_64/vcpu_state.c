/* Lazy switching of the per-vCPU state the VMCS/VMCB leave alone: FPU/SSE, debug registers, SYSCALL MSRs. */
#include <string.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_regs.h>
#include "cpu.h"
#include "vcpu_state.h"

static const uint32_t msr_index[VCPU_MSRS] = {
	[VCPU_MSR_STAR] = MSR_STAR,	[VCPU_MSR_LSTAR] = MSR_LSTAR,
	[VCPU_MSR_CSTAR] = MSR_CSTAR,	[VCPU_MSR_SFMASK] = MSR_SFMASK,
	[VCPU_MSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
};

/* Whose state the CPU holds (one CPU for now; per-CPU when there are more). */
struct vcpu_state *vcpu_state_owner;
#define owner vcpu_state_owner

#define DEFINE_DR(n)                                                             \
	static uint64_t read_dr##n(void)                                         \
	{                                                                        \
		uint64_t v;                                                      \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));                \
		return v;                                                        \
	}                                                                        \
	static void write_dr##n(uint64_t v)                                      \
	{                                                                        \
		__asm__ volatile("mov %0, %%dr" #n : : "r"(v));                  \
	}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
#undef DEFINE_DR

static uint64_t (*const dr_read[7])(void) = { read_dr0, read_dr1, read_dr2, read_dr3, NULL, NULL, read_dr6 };
static void (*const dr_write[7])(uint64_t) = { write_dr0, write_dr1, write_dr2, write_dr3, NULL, NULL, write_dr6 };

void vcpu_state_init(struct vcpu_state *s, unsigned what)
{
	memset(s, 0, sizeof(*s));
	s->fxsave[0] = 0x7f; /* FCW 0x037f */
	s->fxsave[1] = 0x03;
	s->fxsave[24] = 0x80; /* MXCSR 0x1f80 */
	s->fxsave[25] = 0x1f;
	s->dr6 = DR6_RESET;
	s->what = what;
}

static void save(struct vcpu_state *s)
{
	__asm__ volatile("fxsave64 %0" : "=m"(s->fxsave));
	for (unsigned i = 0; i < 4; i++)
		s->dr[i] = dr_read[i]();
	if (s->what & VCPU_SWITCH_DR6)
		s->dr6 = read_dr6();
	if (s->what & VCPU_SWITCH_MSRS)
		for (unsigned i = 0; i < VCPU_MSRS; i++)
			s->msr[i] = rdmsr(msr_index[i]);
}

static void restore(const struct vcpu_state *s)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(s->fxsave));
	for (unsigned i = 0; i < 4; i++)
		dr_write[i](s->dr[i]);
	if (s->what & VCPU_SWITCH_DR6)
		write_dr6(s->dr6);
	if (s->what & VCPU_SWITCH_MSRS)
		for (unsigned i = 0; i < VCPU_MSRS; i++)
			wrmsr(msr_index[i], s->msr[i]);
}

void vcpu_state_switch(struct vcpu_state *s)
{
	if (owner)
		save(owner);
	restore(s);
	owner = s;
}

void vcpu_state_forget(struct vcpu_state *s)
{
	if (owner == s)
		owner = NULL;
}

uint64_t vcpu_state_get_dr(struct vcpu_state *s, unsigned n)
{
	if (owner == s && (n < 4 || (s->what & VCPU_SWITCH_DR6)))
		return dr_read[n]();
	return n < 4 ? s->dr[n] : s->dr6;
}

void vcpu_state_set_dr(struct vcpu_state *s, unsigned n, uint64_t val)
{
	if (n < 4)
		s->dr[n] = val;
	else
		s->dr6 = val;
	if (owner == s && (n < 4 || (s->what & VCPU_SWITCH_DR6)))
		dr_write[n](val);
}

static bool live_msrs(const struct vcpu_state *s)
{
	return owner == s && (s->what & VCPU_SWITCH_MSRS);
}

uint64_t vcpu_state_get_msr(struct vcpu_state *s, enum vcpu_msr m)
{
	return live_msrs(s) ? rdmsr(msr_index[m]) : s->msr[m];
}

void vcpu_state_set_msr(struct vcpu_state *s, enum vcpu_msr m, uint64_t val)
{
	s->msr[m] = val;
	if (live_msrs(s))
		wrmsr(msr_index[m], val);
}
