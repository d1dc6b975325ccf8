/*
 * Hypercalls (include/emhv/hypercall.h): number in RAX, arguments in RDI,
 * RSI, RDX, R10, result in RAX. Every pointer is guest-physical and checked
 * to lie wholly in the VM's RAM; every size is bounded; a bad argument gets
 * an error code and nothing else happens.
 */
#include <stdio.h>
#include <string.h>
#include "cmdline.h"
#include "console.h"
#include "hypercall.h"
#include "mm/vm_take.h"

typedef int64_t (*hc_fn)(struct vm *vm, const uint64_t *a);

static int64_t hc_version(struct vm *vm, const uint64_t *a)
{
	(void)vm;
	(void)a;
	return EMHV_ABI_VERSION;
}

static int64_t hc_info(struct vm *vm, const uint64_t *a)
{
	struct emhv_vm_info info = {
		.vm_id = (uint32_t)vm->id,
		.abi_version = EMHV_ABI_VERSION,
		.mem_min = vm->mem.min,
		.mem_max = vm->mem.max,
		.backed = vm->mem.backed,
		.faults_4k = vm->mem.faults_4k,
		.faults_2m = vm->mem.faults_2m,
		.exits = vm->exits,
	};
	uint64_t n = a[1] < sizeof(info) ? a[1] : sizeof(info);

	if (!a[1])
		return -EMHV_EINVAL;
	/* the whole buffer must be RAM, though at most sizeof(info) bytes are written */
	if (!vm_mem_in_ram(&vm->mem, a[0], a[1]))
		return -EMHV_EFAULT;
	/* back every page first, so that a dry pool refuses the call before a byte is written */
	if (vm_mem_back(&vm->mem, a[0], n))
		return -EMHV_ENOMEM;
	vm_mem_write(&vm->mem, a[0], &info, n);
	return (int64_t)n;
}

/* Copy a short string argument in; 0 or -error. */
static int64_t copy_in(struct vm *vm, char *buf, uint64_t gpa, uint64_t len, uint64_t max)
{
	if (len > max)
		return -EMHV_EINVAL;
	if (vm_mem_read(&vm->mem, buf, gpa, len))
		return -EMHV_EFAULT;
	buf[len] = 0;
	return 0;
}

static int64_t hc_log(struct vm *vm, const uint64_t *a)
{
	char text[EMHV_HC_LOG_MAX + 1], line[EMHV_HC_LOG_MAX + 64];
	int64_t r = copy_in(vm, text, a[0], a[1], EMHV_HC_LOG_MAX);
	int n;

	if (r)
		return r;
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	/* into the VM's own log: a guest can crowd out neither the console nor the hypervisor's log */
	n = snprintf(line, sizeof(line), "%s\n", text);
	vm_log_line(vm, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	return 0;
}

static int64_t hc_result(struct vm *vm, const uint64_t *a)
{
	char name[EMHV_RESULT_NAME_MAX + 1];
	int64_t r;
	int i;

	if (!a[1])
		return -EMHV_EINVAL;
	r = copy_in(vm, name, a[0], a[1], EMHV_RESULT_NAME_MAX);
	if (r)
		return r;
	if (strlen(name) != a[1] || !is_name(name))
		return -EMHV_EINVAL;
	for (i = 0; i < vm->nresults && strcmp(vm->results[i].name, name); i++)
		;
	if (i == EMHV_MAX_RESULTS)
		return -EMHV_ENOSPC;
	if (i == vm->nresults)
		vm->nresults++;
	memcpy(vm->results[i].name, name, sizeof(name));
	vm->results[i].value = (int64_t)a[2];
	return 0;
}

static int64_t hc_exit(struct vm *vm, const uint64_t *a)
{
	vm->exit_status = (int64_t)a[0];
	vm_stop(vm, VM_EXITED, "exited with status %lld", (long long)vm->exit_status);
	return 0;
}

/* A page range argument: 4 KiB aligned, not empty, inside RAM, at most max bytes (0: any). 0 or -error. */
static int64_t check_range(struct vm *vm, uint64_t gpa, uint64_t len, uint64_t max)
{
	if (!len || ((gpa | len) & 0xfff) || (max && len > max))
		return -EMHV_EINVAL;
	if (!vm_mem_in_ram(&vm->mem, gpa, len))
		return -EMHV_EFAULT;
	return 0;
}

/* At most one invalidation's worth of 2 MiB leaves per call: the vCPU waits for the call, so it stays short. */
#define RELEASE_STEP_LEAVES ((unsigned)(VM_TAKE_BATCH_BYTES / NPT_SIZE_2M))

static int64_t hc_release(struct vm *vm, const uint64_t *a)
{
	int64_t r = check_range(vm, a[0], a[1], 0);

	if (r)
		return r;
	r = vm_take_release(&vm->mem, a[0], a[1], RELEASE_STEP_LEAVES);
	return r < 0 ? -EMHV_ENOMEM : r;
}

static int64_t hc_volatile(struct vm *vm, const uint64_t *a)
{
	int64_t r = check_range(vm, a[0], a[1], EMHV_HC_RANGE_MAX);

	if (r)
		return r;
	vm_take_mark_volatile(&vm->mem, a[0], a[1]);
	return 0;
}

static int64_t hc_pin(struct vm *vm, const uint64_t *a)
{
	int64_t r = check_range(vm, a[0], a[1], EMHV_HC_RANGE_MAX);

	if (r)
		return r;
	return (int64_t)vm_take_pin(&vm->mem, a[0], a[1]);
}

static const hc_fn hypercalls[EMHV_HC_COUNT] = {
	[EMHV_HC_VERSION] = hc_version,	  [EMHV_HC_INFO] = hc_info,	    [EMHV_HC_LOG] = hc_log,
	[EMHV_HC_RESULT] = hc_result,	  [EMHV_HC_EXIT] = hc_exit,	    [EMHV_HC_RELEASE] = hc_release,
	[EMHV_HC_VOLATILE] = hc_volatile, [EMHV_HC_PIN] = hc_pin,	    [EMHV_HC_UNPIN] = hc_volatile,
};

int64_t hypercall_dispatch(struct vm *vm, uint64_t nr, const uint64_t args[4], unsigned cpl)
{
	if (cpl != 0)
		return -EMHV_EPERM;
	if (nr >= EMHV_HC_COUNT)
		return -EMHV_ENOSYS;
	return hypercalls[nr](vm, args);
}
