/*
 * hostile.c -- tries to harm the hypervisor and checks that it behaves like a
 * real CPU without the features its CPUID hides: bad hypercalls, privileged
 * acts, the check groups (hostile_cpu.h, hostile_exits.h), optional floods,
 * one final act.
 *
 * Arguments (all optional):
 *   final=ACT     write-above (default), read-above, mmio, triple, halt, cr8,
 *                 poweroff, s3, reset, panic (the power and pvpanic ports),
 *                 spin, grow, none
 *   groups=LIST   check groups to run, comma-separated (cpu, cr, msr, insn,
 *                 step, prefix, softint), "all" or "none"; default all
 *   dry=1         instead of every other check: the info hypercall into RAM
 *                 the (dry) pool cannot back must fail with EMHV_ENOMEM and
 *                 change nothing
 *   logflood=N    N log hypercalls of distinct lines before the final act
 *   spam=N        at least N bytes of console output before the final act
 *
 * Results: hc_refused, hc_total, hc_accepted, priv_ok, priv_total; for each
 * group named in groups= <group>_ok and <group>_total, or with the default
 * (every group) checks_ok and checks_total over all of them; dry_ok, dry_err
 * and dry_pages with dry=1; console_bytes with spam=; final_started when a
 * final act begins; spins (updated every 2^20 loops) while final=spin, cr8 or
 * grow runs; grown (2 MiB blocks touched so far) while final=grow does. The
 * hypervisor keeps EMHV_MAX_RESULTS results: arguments that need more are
 * refused at the start (name at most five groups).
 */
#include <stdio.h>
#include <string.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_paging.h>
#include <emhv/x86_regs.h>
#include "runtime.h"
#include "cpu.h"
#include "hostile_check.h"
#include "hostile_cpu.h"
#include "hostile_exits.h"

#define ERR(e)	  (1u << (e))
#define HUGE_LEN  0x8000000000000000ULL /* negative if a length is ever taken as signed */
#define WRAP_ADDR 0xfffffffffffff000ULL
#define WRAP_LEN  0x2000ULL

#define CPUID1_ECX_VMX	      (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define NO_DEVICE_GPA	      0xfed00000ULL /* where a PC has its HPET: no device here */
#define SPIN_REPORT	      (1ULL << 20) /* loops between two reports of "spins" */
#define GROW_PACE_MS	      20	   /* final=grow: one fresh 2 MiB block this often */
#define RESULTS_HC_PRIV	      5 /* hc_refused, hc_total, hc_accepted, priv_ok, priv_total */

static const char *const known_args[] = {"final", "groups", "dry", "logflood", "spam", NULL};

static const struct group groups[] = {
    {"cpu", cpu_checks},	 {"cr", cr_checks},	{"msr", msr_checks},
    {"insn", insn_checks},	 {"step", step_checks}, {"prefix", prefix_checks},
    {"softint", softint_checks},
};
#define NGROUPS ((int)(sizeof(groups) / sizeof(groups[0])))

struct hc_tally {
	int64_t ok, total, accepted;
};

/* A valid buffer for the probes that test sizes alone. */
static char valid_buf[EMHV_HC_LOG_MAX + 64];
static struct emhv_vm_info valid_info;

static const char *err_name(int64_t e)
{
	static const char *const names[] = {"?",      "ENOSYS", "EFAULT", "EINVAL",
					    "ENOSPC", "EPERM",	"ENOMEM"};

	return e > 0 && e < (int64_t)(sizeof(names) / sizeof(names[0])) ? names[e] : "?";
}

/* One hypercall that must fail with one of the errors in expect (ERR() mask). */
static void hc_try(struct hc_tally *t, const char *what, uint64_t nr, uint64_t a0, uint64_t a1,
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
		for (e = EMHV_ENOSYS; e <= EMHV_ENOMEM; e++)
			if (expect & ERR(e))
				printf(" %s", err_name(e));
		printf("\n");
	}
}

static const struct {
	uint64_t nr;
	const char *name;
} range_calls[] = {
    {EMHV_HC_RELEASE, "release"},
    {EMHV_HC_VOLATILE, "volatile"},
    {EMHV_HC_PIN, "pin"},
    {EMHV_HC_UNPIN, "unpin"},
};

static void bad_hypercalls(struct hc_tally *t, uint64_t mm)
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

	/* the memory calls: ranges of whole pages inside RAM, at most EMHV_HC_RANGE_MAX where it applies */
	for (unsigned i = 0; i < sizeof(range_calls) / sizeof(range_calls[0]); i++) {
		const uint64_t nr = range_calls[i].nr;
		const char *n = range_calls[i].name;
		char what[80];

		snprintf(what, sizeof(what), "%s(gpa=0x1000+1, len=0x1000)", n);
		hc_try(t, what, nr, 0x1001, 0x1000, 0, inval);
		snprintf(what, sizeof(what), "%s(len=0)", n);
		hc_try(t, what, nr, 0x1000, 0, 0, inval);
		snprintf(what, sizeof(what), "%s(len=0x1001)", n);
		hc_try(t, what, nr, 0x1000, 0x1001, 0, inval);
		snprintf(what, sizeof(what), "%s(gpa=mem_max, len=0x1000)", n);
		hc_try(t, what, nr, mm, 0x1000, 0, fault);
		snprintf(what, sizeof(what), "%s(gpa=mem_max-0x1000, len=0x2000)", n);
		hc_try(t, what, nr, mm - 0x1000, 0x2000, 0, fault);
		snprintf(what, sizeof(what), "%s(gpa=0xfffffffffffff000, len=0x2000)", n);
		hc_try(t, what, nr, WRAP_ADDR, WRAP_LEN, 0, both);
		snprintf(what, sizeof(what), "%s(len=1<<63)", n);
		hc_try(t, what, nr, 0, HUGE_LEN, 0, both);
		if (nr != EMHV_HC_RELEASE) {
			snprintf(what, sizeof(what), "%s(len=EMHV_HC_RANGE_MAX+0x1000)", n);
			hc_try(t, what, nr, 0, EMHV_HC_RANGE_MAX + 0x1000, 0, inval);
		}
	}

	hc_try(t, "EMHV_HC_COUNT (the first unknown)", EMHV_HC_COUNT, 0, 0, 0, ERR(EMHV_ENOSYS));
	hc_try(t, "999", 999, 0, 0, 0, ERR(EMHV_ENOSYS));
	hc_try(t, "-1", ~0ULL, 0, 0, 0, ERR(EMHV_ENOSYS));
	hc_try(t, "0x100000000 (version in the low half)", 1ULL << 32, 0, 0, 0, ERR(EMHV_ENOSYS));
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
	expect_vector(t, "wrmsr IA32_FEATURE_CONTROL", probe_wrmsr(MSR_IA32_FEATURE_CONTROL, 0x5),
		      VEC_GP);
	expect_vector(t, "rdmsr IA32_VMX_BASIC", probe_rdmsr(MSR_IA32_VMX_BASIC, &v), VEC_GP);
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

/* ---- dry=1: the info hypercall against a pool that cannot back a page -------- */

/*
 * info(buf = page - 8, size = sizeof) with page = mem_min first: 8 bytes in
 * backed RAM, the rest in the page above. The VM may still hold spare frames
 * of its own (the hypervisor takes 4 KiB frames from the pool in batches),
 * so while the call succeeds it has backed that page: try the next page up,
 * until the call fails. That failure must be EMHV_ENOMEM, with the 8 bytes
 * below the page as they were. [mem_min - 8, mem_min) lies above free_start:
 * neither image nor stack is there.
 */
static int dry_probe(void)
{
	static const uint8_t pattern[8] = {0x68, 0x6f, 0x73, 0x74, 0x69, 0x6c, 0x65, 0x21};
	const struct emhv_boot_params *bp = boot_params();
	uint64_t page = bp->mem_min, pages = 0;
	int64_t r = 0;
	int ok = 0;

	if (page - 8 < bp->free_start) {
		printf(
		    "hostile: dry: error: mem_min 0x%llx leaves no room above free_start 0x%llx\n",
		    (unsigned long long)page, (unsigned long long)bp->free_start);
	} else {
		for (; page < bp->mem_max; page += PAGE_SIZE_4K) {
			uint8_t *below = (uint8_t *)(page - 8);

			memcpy(below, pattern, sizeof(pattern));
			r = hc_info((struct emhv_vm_info *)below, sizeof(struct emhv_vm_info));
			if (r != (int64_t)sizeof(struct emhv_vm_info))
				break;
			pages++;
		}
		ok = r == -EMHV_ENOMEM && !memcmp((void *)(page - 8), pattern, sizeof(pattern));
		printf("hostile: dry: info(buf=0x%llx) returned %lld (%s) after %llu pages were "
		       "backed; the 8 bytes below 0x%llx are %s\n",
		       (unsigned long long)(page - 8), (long long)r, r < 0 ? err_name(-r) : "bytes",
		       (unsigned long long)pages, (unsigned long long)page,
		       memcmp((void *)(page - 8), pattern, sizeof(pattern)) ? "CHANGED"
									    : "unchanged");
	}
	hc_result("dry_ok", ok);
	hc_result("dry_err", r);
	hc_result("dry_pages", (int64_t)pages);
	return ok;
}

/* ---- floods --------------------------------------------------------------------- */

static void log_flood(uint64_t n)
{
	char line[80];
	uint64_t i, refused = 0;

	for (i = 1; i <= n; i++) {
		snprintf(line, sizeof(line), "hostile: log line %llu of %llu",
			 (unsigned long long)i, (unsigned long long)n);
		refused += hc_log(line) != 0;
	}
	printf("hostile: %llu log lines written, %llu refused\n", (unsigned long long)n,
	       (unsigned long long)refused);
}

static void console_spam(uint64_t bytes)
{
	uint64_t start = uart_bytes_written(), line = 0;

	while (uart_bytes_written() - start < bytes)
		printf("hostile: spam %06llu abcdefghijklmnopqrstuvwxyz0123456789\n",
		       (unsigned long long)++line);
}

/* ---- the final acts ------------------------------------------------------------ */

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
	return NO_DEVICE_GPA;
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

/* With interrupts off only an NMI, SMI, INIT or reset ends a halt: the VM must stay halted. */
static void run_halt(uint64_t a)
{
	(void)a;
	asm volatile("cli; hlt" : : : "memory");
}

/* Spin for ever, reporting how far it got. */
static void run_spin(uint64_t a)
{
	uint64_t i;

	(void)a;
	for (i = 1;; i++)
		if (i % SPIN_REPORT == 0)
			hc_result("spins", (int64_t)(i / SPIN_REPORT));
}

/* The highest task priority: a guest's TPR must mask only its own interrupts. */
static void run_cr8(uint64_t a)
{
	asm volatile("mov %0, %%cr8" : : "r"(15ULL) : "memory");
	run_spin(a);
}

/*
 * A steady stream of 2 MiB growth faults: first-touch one fresh block above
 * mem_min every GROW_PACE_MS (guest TSC) up to mem_max, then spin.
 */
static void run_grow(uint64_t a)
{
	const struct emhv_boot_params *bp = boot_params();
	uint64_t block = align_up(bp->mem_min, 2 * MIB), pace = bp->tsc_khz * GROW_PACE_MS, t;
	int64_t n = 0;

	for (; block + 2 * MIB <= bp->mem_max; block += 2 * MIB) {
		*(volatile uint8_t *)block = 1;
		hc_result("grown", ++n);
		for (t = rdtsc(); rdtsc() - t < pace;)
			asm volatile("pause");
	}
	run_spin(a);
}

/*
 * The power registers a Linux VM's FADT names and the pvpanic port (emhv/guest_boot.h):
 * any guest can write them, and each stops only its own VM. Sleep type 3 (S3) is not offered:
 * the write does nothing and the guest survives it.
 */
static void run_poweroff(uint64_t a)
{
	(void)a;
	outb(ACPI_PM_SLEEP_CONTROL, ACPI_S5_TYPE << 2 | 0x20); /* SLP_TYP 5 with SLP_EN */
}

static void run_s3(uint64_t a)
{
	(void)a;
	outb(ACPI_PM_SLEEP_CONTROL, 3 << 2 | 0x20);
}

static void run_reset(uint64_t a)
{
	(void)a;
	outb(ACPI_PM_RESET, ACPI_PM_RESET_VALUE);
}

static void run_panic(uint64_t a)
{
	(void)a;
	outb(PVPANIC_PORT, 1);
}

static const struct final_act final_acts[] = {
    {"write-above", addr_write_above, run_write, 1},
    {"read-above", addr_read_above, run_read, 1},
    {"mmio", addr_mmio, run_mmio, 1},
    {"triple", addr_none, run_triple, 0},
    {"halt", addr_none, run_halt, 0},
    {"cr8", addr_none, run_cr8, 0},
    {"spin", addr_none, run_spin, 0},
    {"grow", addr_none, run_grow, 0},
    {"poweroff", addr_none, run_poweroff, 0},
    {"s3", addr_none, run_s3, 0},
    {"reset", addr_none, run_reset, 0},
    {"panic", addr_none, run_panic, 0},
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

static int spam_wanted;

/* The last thing before the final act or the exit: nothing is printed after it. */
static void report_console(void)
{
	if (spam_wanted)
		hc_result("console_bytes", (int64_t)uart_bytes_written());
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
	report_console();
	hc_result("final_started", 1);
	act->run(a);
	puts("hostile: survived final act");
	return 3;
}

/* ---- arguments and results ------------------------------------------------------ */

/* The groups named in list (comma-separated, "all" or "none") as a mask; exits on a bad name. */
static unsigned groups_parse(const char *list)
{
	unsigned mask = 0;
	const char *p = list;

	if (!strcmp(list, "all"))
		return (1u << NGROUPS) - 1;
	if (!strcmp(list, "none"))
		return 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		int g;

		for (g = 0; g < NGROUPS; g++)
			if (strlen(groups[g].name) == n && !strncmp(p, groups[g].name, n))
				break;
		if (g == NGROUPS) {
			printf("error: groups=%s: '%.*s' is not one of all, none", list, (int)n, p);
			for (g = 0; g < NGROUPS; g++)
				printf(", %s", groups[g].name);
			printf("\n");
			hc_exit(2);
		}
		mask |= 1u << g;
		p += n + (p[n] == ',');
	}
	return mask;
}

static int popcount(unsigned x)
{
	int n = 0;

	for (; x; x &= x - 1)
		n++;
	return n;
}

/* The results these arguments make the guest report. */
static int results_needed(int dry, unsigned gmask, int per_group, const struct final_act *act)
{
	int n = dry ? 3 : RESULTS_HC_PRIV;

	if (!dry && gmask)
		n += per_group ? 2 * popcount(gmask) : 2;
	n += spam_wanted;
	if (act->run)
		n++; /* final_started */
	if (act->run == run_spin || act->run == run_cr8 || act->run == run_grow)
		n++; /* spins */
	if (act->run == run_grow)
		n++; /* grown */
	return n;
}

/* Run the groups in mask; report per group when named, else one sum. 1 if all passed. */
static int groups_run(unsigned mask, int per_group)
{
	struct tally sum = {"checks", 0, 0};
	char name[EMHV_RESULT_NAME_MAX + 1];
	int g;

	for (g = 0; g < NGROUPS; g++) {
		struct tally t = {groups[g].name, 0, 0};

		if (!(mask & (1u << g)))
			continue;
		groups[g].run(&t);
		printf("hostile: group %s: %lld of %lld checks passed\n", t.name, (long long)t.ok,
		       (long long)t.total);
		if (per_group) {
			snprintf(name, sizeof(name), "%s_ok", t.name);
			hc_result(name, t.ok);
			snprintf(name, sizeof(name), "%s_total", t.name);
			hc_result(name, t.total);
		}
		sum.ok += t.ok;
		sum.total += t.total;
	}
	if (!per_group && mask) {
		hc_result("checks_ok", sum.ok);
		hc_result("checks_total", sum.total);
	}
	return sum.ok == sum.total;
}

int main(int argc, char **argv)
{
	const struct final_act *act;
	struct hc_tally hc = {0};
	struct tally priv = {"priv", 0, 0};
	uint64_t mm = boot_params()->mem_max;
	const char *glist = arg_str(argc, argv, "groups", NULL);
	unsigned gmask;
	int dry, per_group, results, ok;
	uint64_t flood, spam;

	arg_check(argc, argv, known_args);
	act = final_find(arg_str(argc, argv, "final", "write-above"));
	gmask = groups_parse(glist ? glist : "all");
	per_group = glist != NULL;
	dry = arg_u64(argc, argv, "dry", 0) != 0;
	flood = arg_u64(argc, argv, "logflood", 0);
	spam = arg_u64(argc, argv, "spam", 0);
	spam_wanted = spam != 0;
	results = results_needed(dry, gmask, per_group, act);
	if (results > EMHV_MAX_RESULTS) {
		printf(
		    "error: these arguments need %d results, the hypervisor keeps %d: name fewer "
		    "groups\n",
		    results, EMHV_MAX_RESULTS);
		return 2;
	}
	if (probe_ud2() != VEC_UD) {
		puts("hostile: error: the probe mechanism does not work; nothing tested");
		return 4;
	}
	cpu_facts_init();

	if (dry) {
		ok = dry_probe();
	} else {
		bad_hypercalls(&hc, mm);
		privileged(&priv);
		printf(
		    "hostile: hypercalls refused %lld of %lld (%lld accepted), privileged checks "
		    "%lld of %lld passed\n",
		    (long long)hc.ok, (long long)hc.total, (long long)hc.accepted,
		    (long long)priv.ok, (long long)priv.total);
		hc_result("hc_refused", hc.ok);
		hc_result("hc_total", hc.total);
		hc_result("hc_accepted", hc.accepted);
		hc_result("priv_ok", priv.ok);
		hc_result("priv_total", priv.total);
		ok = groups_run(gmask, per_group) && hc.ok == hc.total && priv.ok == priv.total;
	}
	if (flood)
		log_flood(flood);
	if (spam)
		console_spam(spam);

	if (act->run)
		return final_run(act, mm);
	report_console();
	return ok ? 0 : 1;
}
