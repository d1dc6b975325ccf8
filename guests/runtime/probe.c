/* probe.c -- run one instruction that may fault and return the vector it raised (-1 if none). */
#include "runtime.h"
#include "internal.h"

/*
 * Each probed instruction sits at a local label 1: with its resume point 2:
 * right after it; PROBE_ENTRY (runtime.h) records the pair in section
 * ex_table (guests/guest.ld). On an exception at 1:, idt_dispatch asks
 * probe_fixup, which notes the vector and error code and resumes at 2: with
 * the outputs untouched.
 */
struct ex_entry {
	uint64_t fault, resume;
};
extern const struct ex_entry __ex_table_start[], __ex_table_end[];

static volatile int last_vector = -1;
static volatile uint64_t last_error;

uint64_t probe_fixup(uint64_t rip, int vector, uint64_t error)
{
	const struct ex_entry *e;

	for (e = __ex_table_start; e < __ex_table_end; e++) {
		if (e->fault == rip) {
			last_vector = vector;
			last_error = error;
			return e->resume;
		}
	}
	return 0;
}

void probe_arm(void)
{
	last_vector = -1;
	last_error = 0;
}

int probe_vector(void)
{
	return last_vector;
}

uint64_t probe_error(void)
{
	return last_error;
}

int probe_rdmsr(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	probe_arm();
	asm volatile("1: rdmsr\n2:\n\t" PROBE_ENTRY : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*val = (uint64_t)hi << 32 | lo;
	return probe_vector();
}

int probe_wrmsr(uint32_t msr, uint64_t val)
{
	probe_arm();
	asm volatile("1: wrmsr\n2:\n\t" PROBE_ENTRY
		     :
		     : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	return probe_vector();
}

int probe_write_cr4(uint64_t val)
{
	probe_arm();
	asm volatile("1: mov %0, %%cr4\n2:\n\t" PROBE_ENTRY : : "r"(val) : "memory");
	return probe_vector();
}

int probe_write_cr8(uint64_t val)
{
	probe_arm();
	asm volatile("1: mov %0, %%cr8\n2:\n\t" PROBE_ENTRY : : "r"(val) : "memory");
	return probe_vector();
}

int probe_read64(uint64_t addr, uint64_t *val)
{
	uint64_t v = 0;

	probe_arm();
	asm volatile("1: mov (%1), %0\n2:\n\t" PROBE_ENTRY : "+r"(v) : "r"(addr) : "memory");
	*val = v;
	return probe_vector();
}

int probe_write64(uint64_t addr, uint64_t val)
{
	probe_arm();
	asm volatile("1: mov %1, (%0)\n2:\n\t" PROBE_ENTRY : : "r"(addr), "r"(val) : "memory");
	return probe_vector();
}

int probe_ud2(void)
{
	probe_arm();
	asm volatile("1: ud2\n2:\n\t" PROBE_ENTRY : : : "memory");
	return probe_vector();
}
