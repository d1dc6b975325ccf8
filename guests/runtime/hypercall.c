/* hypercall.c -- emhv hypercalls through VMCALL (Intel) or VMMCALL (AMD), chosen once by CPUID. */
#include <string.h>
#include "runtime.h"
#include "cpu.h"

static int hc_vmmcall;

void hc_init(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	/* "AuthenticAMD" in EBX, EDX, ECX. */
	hc_vmmcall = r.ebx == 0x68747541 && r.edx == 0x69746e65 && r.ecx == 0x444d4163;
}

int hc_uses_vmmcall(void)
{
	return hc_vmmcall;
}

int64_t hc_call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t r10 asm("r10") = a3;
	uint64_t ret;

	if (hc_vmmcall)
		asm volatile("vmmcall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
			     : "memory");
	else
		asm volatile("vmcall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
			     : "memory");
	return (int64_t)ret;
}

int64_t hc_version(void)
{
	return hc_call(EMHV_HC_VERSION, 0, 0, 0, 0);
}

int64_t hc_info(struct emhv_vm_info *info, uint64_t size)
{
	return hc_call(EMHV_HC_INFO, (uint64_t)info, size, 0, 0);
}

int64_t hc_log(const char *text)
{
	size_t len = strnlen(text, EMHV_HC_LOG_MAX);

	return hc_call(EMHV_HC_LOG, (uint64_t)text, len, 0, 0);
}

int64_t hc_result(const char *name, int64_t value)
{
	int64_t r = hc_call(EMHV_HC_RESULT, (uint64_t)name, strlen(name), (uint64_t)value, 0);

	if (r < 0)
		printf("guest: result %s refused: error %lld\n", name, (long long)r);
	return r;
}

int64_t hc_release(uint64_t gpa, uint64_t len)
{
	/* the hypervisor works a bounded piece per call and says how far it got */
	do {
		int64_t done = hc_call(EMHV_HC_RELEASE, gpa, len, 0, 0);

		if (done < 0)
			return done;
		if (!done || (uint64_t)done > len)
			return -EMHV_EINVAL; /* no progress, or more than asked: broken */
		gpa += (uint64_t)done;
		len -= (uint64_t)done;
	} while (len);
	return 0;
}

/*
 * One of the range hypercalls (VOLATILE, PIN, UNPIN) over [gpa, gpa + len)
 * in pieces of at most EMHV_HC_RANGE_MAX: the sum of what the calls return,
 * or the first error. An empty range still makes one call (which refuses it).
 */
static int64_t hc_ranges(uint64_t nr, uint64_t gpa, uint64_t len)
{
	int64_t sum = 0;

	do {
		uint64_t n = len < EMHV_HC_RANGE_MAX ? len : EMHV_HC_RANGE_MAX;
		int64_t r = hc_call(nr, gpa, n, 0, 0);

		if (r < 0)
			return r;
		sum += r;
		gpa += n;
		len -= n;
	} while (len);
	return sum;
}

int64_t hc_volatile(uint64_t gpa, uint64_t len)
{
	return hc_ranges(EMHV_HC_VOLATILE, gpa, len);
}

int64_t hc_pin(uint64_t gpa, uint64_t len)
{
	return hc_ranges(EMHV_HC_PIN, gpa, len);
}

int64_t hc_unpin(uint64_t gpa, uint64_t len)
{
	return hc_ranges(EMHV_HC_UNPIN, gpa, len);
}

__attribute__((noreturn)) void hc_exit(int64_t status)
{
	hc_call(EMHV_HC_EXIT, (uint64_t)status, 0, 0, 0);
	puts("guest: exit hypercall returned; halting");
	for (;;)
		asm volatile("cli; hlt");
}
