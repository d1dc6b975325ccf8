/* hello.c -- the smallest guest: greets, checks the hypercall ABI, counts its arguments. */
#include "runtime.h"

/* Print one line per mismatch; the number of mismatches. */
static int check(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	printf("hello: error: %s is 0x%llx, expected 0x%llx\n", what, (unsigned long long)got,
	       (unsigned long long)want);
	return 1;
}

int main(int argc, char **argv)
{
	const struct emhv_boot_params *bp = boot_params();
	struct emhv_vm_info info = {0};
	int64_t version = hc_version(), n;
	int bad = 0;

	printf("hello from %s (vm %u), abi %lld\n", argv[0], bp->vm_id, (long long)version);
	bad += check("hc_version()", (uint64_t)version, EMHV_ABI_VERSION);
	bad += check("boot params abi_version", bp->abi_version, EMHV_ABI_VERSION);
	n = hc_info(&info, sizeof(info));
	bad += check("hc_info() bytes", (uint64_t)n, sizeof(info));
	if (n == (int64_t)sizeof(info)) {
		bad += check("info.vm_id", info.vm_id, bp->vm_id);
		bad += check("info.abi_version", info.abi_version, EMHV_ABI_VERSION);
		bad += check("info.mem_min", info.mem_min, bp->mem_min);
		bad += check("info.mem_max", info.mem_max, bp->mem_max);
		if (info.backed > info.mem_max)
			bad += check("info.backed (above mem_max)", info.backed, info.mem_max);
	}
	hc_result("hello", bad ? 0 : 1);
	hc_result("args", argc - 1); /* the words after the image on the 'vm create' line */
	return bad ? 1 : 0;
}
