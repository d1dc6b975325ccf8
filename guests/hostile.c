/* hostile.c -- tries to harm the hypervisor: bad hypercalls, privileged acts, one fatal act. */
#include <string.h>
#include "runtime.h"
#include "cpu.h"

#define VEC_UD	  6
#define VEC_GP	  13
#define ERR(e)	  (1u << (e))
#define HUGE_LEN  0x8000000000000000ULL /* negative if a length is ever taken as signed */
#define WRAP_ADDR 0xfffffffffffff000ULL
#define WRAP_LEN  0x2000ULL

#define MSR_FEATURE_CONTROL   0x3a
#define MSR_VMX_BASIC	      0x480
#define CR4_VMXE	      (1ULL << 13)
#define CPUID1_ECX_VMX	      (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define IOAPIC_GPA	      0xfec00000ULL

static const char *const known_args[] = {"final", NULL};

struct tally {
	int64_t ok, total, accepted;
};

/* A valid buffer for the probes that test sizes alone. */
static char valid_buf[EMHV_HC_LOG_MAX + 64];
static struct emhv_vm_info valid_info;

static const char *err_name(int64_t e)
{
	static const char *const names[] = {"?", "ENOSYS", "EFAULT", "EINVAL", "ENOSPC"};

	return e > 0 && e < (int64_t)(sizeof(names) / sizeof(names[0])) ? names[e] : "?";
}

/* One hypercall that must fail with one of the errors in expect (ERR() mask). */
static void hc_try(struct tally *t, const char *what, uint64_t nr, uint64_t a0, uint64_t a1,
		   uint64_t a2, unsigned expect)
{
	int64_t r = hc_call(nr, a0, a1, a2, 0);
	int64_t err = r < 0 && r > -32 ? -r : 0; /* 0: not an error code */
	int e;

	t->total++;
	if (r >= 0) {
		printf("hostile: hypercall %s accepted bad args (returned %lld)\n", what,
		       (long long)r);
		t->accepted++;
	} else if (err && (expect & ERR(err))) {
		t->ok++;
	} else {
		printf("hostile: hypercall %s returned %lld (%s), expected", what, (long long)r,
		       err_name(err));
		for (e = EMHV_ENOSYS; e <= EMHV_ENOSPC; e++)
			if (expect & ERR(e))
				printf(" %s", err_name(e));
		printf("\n");
	}
}

static void bad_hypercalls(struct tally *t, uint64_t mm)
{
	const unsigned fault = ERR(EMHV_EFAULT), inval = ERR(EMHV_EINVAL), both = fault | inval;
	const uint64_t buf = (uint64_t)valid_buf, info = (uint64_t)&valid_info;

	memset(valid_buf, 'A', sizeof(valid_buf));
	hc_try(t, "log(text=mem_max, len=1)", EMHV_HC_LOG, mm, 1, 0, fault);
	hc_try(t, "log(text=mem_max-1, len=2)", EMHV_HC_LOG, mm - 1, 2, 0, fault);
	hc_try(t, "log(text=0xfffffffffffff000, len=0x2000)", EMHV_HC_LOG, WRAP_ADDR, WRAP_LEN, 0,
	       both);
	hc_try(t, "log(len=1<<63)", EMHV_HC_LOG, buf, HUGE_LEN, 0, both);
	hc_try(t, "log(len=EMHV_HC_LOG_MAX+1)", EMHV_HC_LOG, buf, EMHV_HC_LOG_MAX + 1, 0, inval);

	hc_try(t, "result(name=mem_max, len=4)", EMHV_HC_RESULT, mm, 4, 1, fault);
	hc_try(t, "result(name=mem_max-1, len=2)", EMHV_HC_RESULT, mm - 1, 2, 1, fault);
	hc_try(t, "result(name=0xfffffffffffff000, len=0x2000)", EMHV_HC_RESULT, WRAP_ADDR,
	       WRAP_LEN, 1, both);
	hc_try(t, "result(name_len=1<<63)", EMHV_HC_RESULT, buf, HUGE_LEN, 1, both);
	hc_try(t, "result(name_len=EMHV_RESULT_NAME_MAX+1)", EMHV_HC_RESULT, buf,
	       EMHV_RESULT_NAME_MAX + 1, 1, inval);

	hc_try(t, "info(buf=mem_max, size=sizeof)", EMHV_HC_INFO, mm, sizeof(valid_info), 0, fault);
	hc_try(t, "info(buf=mem_max-1, size=2)", EMHV_HC_INFO, mm - 1, 2, 0, both);
	hc_try(t, "info(buf=0xfffffffffffff000, size=0x2000)", EMHV_HC_INFO, WRAP_ADDR, WRAP_LEN, 0,
	       both);
	hc_try(t, "info(size=0)", EMHV_HC_INFO, info, 0, 0, inval);
	hc_try(t, "info(size=1<<40)", EMHV_HC_INFO, info, 1ULL << 40, 0, both);

	hc_try(t, "5", 5, 0, 0, 0, ERR(EMHV_ENOSYS));
	hc_try(t, "999", 999, 0, 0, 0, ERR(EMHV_ENOSYS));
	hc_try(t, "-1", ~0ULL, 0, 0, 0, ERR(EMHV_ENOSYS));
	hc_try(t, "0x100000000 (version in the low half)", 1ULL << 32, 0, 0, 0, ERR(EMHV_ENOSYS));
}

static void expect_vector(struct tally *t, const char *what, int got, int want)
{
	t->total++;
	if (got == want)
		t->ok++;
	else if (got < 0)
		printf("hostile: %s did not fault, expected vector %d\n", what, want);
	else
		printf("hostile: %s raised vector %d, expected %d\n", what, got, want);
}

static void expect_true(struct tally *t, const char *what, int ok)
{
	t->total++;
	if (ok)
		t->ok++;
	else
		printf("hostile: check failed: %s\n", what);
}

static void hypervisor_leaf(struct tally *t)
{
	struct cpuid_regs r = cpuid(0x40000000, 0);
	char sig[13];
	int i, printable = 1;

	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	for (i = 0; i < 12 && sig[i]; i++)
		printable &= sig[i] >= 0x20 && sig[i] < 0x7f;
	printf("hostile: cpuid 0x40000000: max leaf 0x%x, signature \"%s\"\n", r.eax,
	       printable ? sig : "(not printable)");
	expect_true(t, "cpuid 0x40000000 gives a vendor signature",
		    r.eax >= 0x40000000 && r.eax < 0x40010000 && sig[0] && printable);
}

static void privileged(struct tally *t)
{
	uint64_t v, cr4 = read_cr4();
	struct cpuid_regs r = cpuid(1, 0);
	int vec;

	expect_vector(t, "rdmsr 0x4b564dff", probe_rdmsr(0x4b564dff, &v), VEC_GP);
	expect_vector(t, "rdmsr 0x12345678", probe_rdmsr(0x12345678, &v), VEC_GP);
	expect_vector(t, "wrmsr 0x4b564dff", probe_wrmsr(0x4b564dff, 0), VEC_GP);
	expect_vector(t, "wrmsr 0x12345678", probe_wrmsr(0x12345678, 0), VEC_GP);
	expect_vector(t, "wrmsr IA32_FEATURE_CONTROL", probe_wrmsr(MSR_FEATURE_CONTROL, 0x5),
		      VEC_GP);
	expect_vector(t, "rdmsr IA32_VMX_BASIC", probe_rdmsr(MSR_VMX_BASIC, &v), VEC_GP);
	vec = probe_write_cr4(cr4 | CR4_VMXE);
	expect_vector(t, "mov to cr4 with VMXE", vec, VEC_GP);
	if (vec < 0)
		probe_write_cr4(cr4);
	expect_true(t, "cpuid 1 ecx bit 5 (VMX) is clear", !(r.ecx & CPUID1_ECX_VMX));
	expect_true(t, "cpuid 1 ecx bit 31 (hypervisor) is set", r.ecx & CPUID1_ECX_HYPERVISOR);
	hypervisor_leaf(t);
	expect_true(t, "in al, 0x64 gives 0xff", inb(0x64) == 0xff);
	outl(0xcf8, 0x80000000); /* bus 0, device 0, function 0, register 0 */
	expect_true(t, "in eax, 0xcfc gives 0xffffffff", inl(0xcfc) == 0xffffffff);
}

/* ---- the fatal acts ------------------------------------------------------------ */

struct final_act {
	const char *name;
	uint64_t (*addr)(uint64_t mem_max);
	void (*run)(uint64_t addr); /* NULL: no final act */
	int map;		    /* identity-map addr first: it may lie outside RAM */
};

static uint64_t addr_write_above(uint64_t mm)
{
	return mm + GIB;
}

static uint64_t addr_read_above(uint64_t mm)
{
	return align_up(mm, 2 * MIB) + 0x1000;
}

static uint64_t addr_mmio(uint64_t mm)
{
	(void)mm;
	return IOAPIC_GPA;
}

static uint64_t addr_none(uint64_t mm)
{
	(void)mm;
	return 0;
}

static void run_write(uint64_t a)
{
	*(volatile uint64_t *)a = 0x21656c6974736f68ULL; /* "hostile!" */
}

static void run_read(uint64_t a)
{
	printf("hostile: read 0x%llx\n", (unsigned long long)*(volatile uint64_t *)a);
}

static void run_mmio(uint64_t a)
{
	printf("hostile: read 0x%x\n", *(volatile uint32_t *)a);
}

static void run_triple(uint64_t a)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {0, a};

	/* #UD finds no gate, nor does the #GP that follows, nor the #DF: a triple fault. */
	asm volatile("lidt %0; ud2" : : "m"(idtr) : "memory");
}

static const struct final_act final_acts[] = {
    {"write-above", addr_write_above, run_write, 1},
    {"read-above", addr_read_above, run_read, 1},
    {"mmio", addr_mmio, run_mmio, 1},
    {"triple", addr_none, run_triple, 0},
    {"none", addr_none, NULL, 0},
};

static const struct final_act *final_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(final_acts) / sizeof(final_acts[0]); i++)
		if (!strcmp(final_acts[i].name, name))
			return &final_acts[i];
	printf("error: final=%s: expected one of", name);
	for (i = 0; i < sizeof(final_acts) / sizeof(final_acts[0]); i++)
		printf(" %s", final_acts[i].name);
	printf("\n");
	hc_exit(2);
}

/* Map the target (the hypervisor's page tables cover only RAM), announce it, do it. */
static int final_run(const struct final_act *act, uint64_t mm)
{
	uint64_t a = act->addr(mm);

	if (act->map && map_2m(a)) {
		printf("hostile: error: cannot map 0x%llx for final act %s\n",
		       (unsigned long long)a, act->name);
		return 4;
	}
	if (act->map && a < mm)
		printf("hostile: note: 0x%llx is inside RAM (mem_max 0x%llx)\n",
		       (unsigned long long)a, (unsigned long long)mm);
	printf("hostile: final act %s at 0x%llx\n", act->name, (unsigned long long)a);
	hc_result("final_started", 1);
	act->run(a);
	puts("hostile: survived final act");
	return 3;
}

int main(int argc, char **argv)
{
	const struct final_act *act;
	struct tally hc = {0}, priv = {0};
	uint64_t mm = boot_params()->mem_max;

	arg_check(argc, argv, known_args);
	act = final_find(arg_str(argc, argv, "final", "write-above"));
	if (probe_ud2() != VEC_UD) {
		puts("hostile: error: the probe mechanism does not work; nothing tested");
		return 4;
	}

	bad_hypercalls(&hc, mm);
	privileged(&priv);
	printf("hostile: hypercalls refused %lld of %lld (%lld accepted), privileged checks %lld "
	       "of %lld passed\n",
	       (long long)hc.ok, (long long)hc.total, (long long)hc.accepted, (long long)priv.ok,
	       (long long)priv.total);
	hc_result("hc_refused", hc.ok);
	hc_result("hc_total", hc.total);
	hc_result("hc_accepted", hc.accepted);
	hc_result("priv_ok", priv.ok);
	hc_result("priv_total", priv.total);

	if (!act->run)
		return hc.ok == hc.total && priv.ok == priv.total ? 0 : 1;
	return final_run(act, mm);
}
