/* Pick and enable the virtualization backend this CPU offers: VT-x (vmx/) or AMD-V (svm/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"
#include "cpuinfo.h"
#include "timer.h"
#include "virt.h"
#include <emhv/x86_regs.h>

static const struct virt_backend *active;
static char failure[160];

#define CPUID1_XSAVE (1u << 26)

/*
 * Guests share the FPU/SSE registers with each other, switched by FXSAVE,
 * which covers x87 and SSE state only. Keep XCR0 at x87|SSE so that no guest
 * can use AVX or later state (XSETBV exits, and guests see no XSAVE).
 */
static void limit_extended_state(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_XSAVE))
		return;
	write_cr4(read_cr4() | CR4_OSXSAVE);
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)(XCR0_X87 | XCR0_SSE)), "d"(0));
}

const struct virt_backend *virt_init(char *why, size_t n)
{
	const struct virt_backend *b;

	switch (cpu_virt_kind()) {
	case CPU_VIRT_VMX:
		b = &vmx_backend;
		break;
	case CPU_VIRT_SVM:
		b = &svm_backend;
		break;
	default:
		snprintf(why, n, "the CPU offers neither VT-x nor AMD-V");
		snprintf(failure, sizeof(failure), "%s", why);
		return NULL;
	}
	limit_extended_state();
	if (b->probe(why, n) || b->enable_cpu(why, n)) {
		snprintf(failure, sizeof(failure), "%s", why);
		return NULL;
	}
	active = b;
	return b;
}

const struct virt_backend *virt_get(void)
{
	return active;
}

const char *virt_failure(void)
{
	return failure;
}

uint64_t virt_switch_at(void)
{
	return rdtsc() + tsc_hz() / 50000;
}

static int tick_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void virt_switch_done(struct virt_vcpu *vc, const uint64_t *s, unsigned n, uint64_t start)
{
	uint64_t w[VIRT_SWITCH_SAMPLES];

	for (unsigned i = 0; i < n && i < VIRT_SWITCH_SAMPLES; i++) {
		vc->switch_win[vc->switch_pos] = s[i];
		vc->switch_pos = (vc->switch_pos + 1) % VIRT_SWITCH_SAMPLES;
		if (vc->switch_held < VIRT_SWITCH_SAMPLES)
			vc->switch_held++;
	}
	memcpy(w, vc->switch_win, sizeof(w));
	qsort(w, vc->switch_held, sizeof(w[0]), tick_cmp);
	vc->switch_spent += rdtsc() - start;
	vc->switch_ticks = w[vc->switch_held / 2];
	vc->switch_runs++;
}
