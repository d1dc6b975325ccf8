/* tsc.c -- the time stamp counter and its conversion with the hypervisor's measured rate. */
#include "runtime.h"

uint64_t tsc_read(void)
{
	uint32_t lo, hi;

	/* LFENCE: earlier instructions finish before the counter is read. */
	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

uint64_t tsc_to_us(uint64_t ticks)
{
	uint64_t khz = boot_params()->tsc_khz;

	if (!khz)
		return 0;
	return ticks / khz * 1000 + ticks % khz * 1000 / khz;
}

uint64_t tsc_rate(uint64_t units, uint64_t ticks)
{
	uint64_t khz = boot_params()->tsc_khz;
	unsigned __int128 r;

	if (!khz || !ticks)
		return 0;
	r = (unsigned __int128)units * khz * 1000 / ticks;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}
