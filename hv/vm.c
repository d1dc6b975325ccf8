/* Virtual machines: the VM table, creation from a `vm create` configuration, stopping and destroying. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmdline.h"
#include "console.h"
#include "guest_cpu.h"
#include "harvest.h"
#include "hv.h"
#include "vm.h"
#include "pipe.h"
#include "disk.h"
#include "balloon.h"
#include "vm_load.h"
#include "linux_load.h"
#include "mm/zero_cache.h"
#include "arch/x86_64/timer.h"
#include <emhv/bootinfo.h>

static struct vm vms[VM_MAX];

static const char *const state_names[] = {
	[VM_FREE] = "free",	       [VM_CREATED] = "created", [VM_RUNNING] = "running",
	[VM_PAUSED] = "paused",	       [VM_WAITING_MEM] = "waiting-for-memory", [VM_IDLE] = "idle",
	[VM_HALTED] = "halted",	       [VM_EXITED] = "exited",
	[VM_STOPPED] = "stopped",
};

const char *vm_state_name(enum vm_state s)
{
	return state_names[s];
}

struct vm *vm_slot(int i)
{
	return &vms[i];
}

struct vm *vm_find(const char *key)
{
	char *end;
	long id = strtol(key, &end, 10);

	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];

		if (vm->state == VM_FREE)
			continue;
		if ((*end == 0 && end != key && vm->id == id) || !strcmp(vm->name, key))
			return vm;
	}
	return NULL;
}

void vm_console_put(struct vm *vm, uint8_t c)
{
	if (!vm->con_head || vm->console[(vm->con_head - 1) % VM_CONSOLE_BYTES] == '\n') {
		uint64_t i = vm->con_lines++ % VM_CON_STAMPS;

		vm->con_stamp[i].pos = vm->con_head;
		vm->con_stamp[i].ticks = rdtsc() - vm->start_tsc;
	}
	vm->console[vm->con_head++ % VM_CONSOLE_BYTES] = c;
}

void vm_log_line(struct vm *vm, const char *line, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vm->log[vm->log_head++ % VM_LOG_BYTES] = line[i];
}

/* vm_mem's one invalidation point reaches the backend here. */
static void flush_nested(void *ctx)
{
	struct vm *vm = ctx;

	if (vm->vcpu)
		virt_get()->flush_npt(vm->vcpu);
}

/*
 * The common nested-page faults, completed by the backend without leaving run()
 * (virt_vcpu.quick_npf): a growth fault, and a touch of a device's shared memory that the device
 * maps (a pipe's page). Anything else, or a fault that did not map, takes the long way
 * (vm_exit.c's on_npf), which asks again: both answer the same.
 */
static enum virt_quick_kind quick_npf(void *ctx, uint64_t gpa)
{
	struct vm *vm = ctx;
	const struct bus_range *r;

	if (gpa < vm->mem.max)
		return vm_mem_fault_quick(&vm->mem, gpa) ? VIRT_QUICK_GROW : VIRT_QUICK_NONE;
	if (!vm->bus.maps_memory) /* registers only: an access is emulated the long way */
		return VIRT_QUICK_NONE;
	r = devbus_find(&vm->bus, BUS_MMIO, gpa, 1);
	if (!r || !r->ops->fault || r->ops->fault(r->dev, gpa - r->base) != DEVBUS_MAPPED)
		return VIRT_QUICK_NONE;
	return VIRT_QUICK_MAPPED;
}

static void uart_tx(void *ctx, uint8_t c)
{
	vm_console_put(ctx, c);
}

#define UART_IRQ 4 /* COM1's ISA IRQ, GSI 4 (the MADT overrides none) */

static void uart_irq(void *ctx, bool level)
{
	vm_irq_line(ctx, UART_IRQ, level);
}

/* The guest powered itself off, reset itself or panicked: it stops, and says so. */
static void pm_event(void *ctx, enum vpm_event ev, unsigned detail)
{
	static const char *const what[] = {
		[VPM_POWEROFF] = "powered itself off (ACPI S5)",
		[VPM_RESET] = "reset itself (ACPI reset register); emhv stops it rather than reboot it",
		[VPM_PANIC] = "kernel panic (pvpanic event 0x%x)",
	};
	struct vm *vm = ctx;

	if (vm->state == VM_RUNNING)
		vm_stop(vm, VM_STOPPED, what[ev], detail);
}

/* The host's wall-clock time, from the firmware's at boot and the TSC since (1970 if it had none). */
static uint64_t host_seconds(void *ctx)
{
	const struct bootinfo_time *t = &hv_bootinfo()->time;

	(void)ctx;
	if (!t->valid)
		return 0;
	return (uint64_t)vrtc_days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600u +
	       t->minute * 60u + t->second + (rdtsc() - t->tsc) / tsc_hz();
}

/* The devices every VM has besides its interrupt controllers and virtio slots: COM1, the CMOS clock,
 * the interval timer and the power registers. */
static int attach_platform(struct vm *vm, char *why, size_t n)
{
	vuart_init(&vm->uart, uart_tx, uart_irq, vm);
	vrtc_init(&vm->rtc, host_seconds, vm);
	vpit_init(&vm->pit, tsc_hz(), vm_guest_now, vm);
	vpm_init(&vm->pm, ACPI_S5_TYPE, ACPI_PM_RESET_VALUE, pm_event, vm);
	return devbus_claim(&vm->bus, BUS_PIO, VUART_BASE, VUART_PORTS, &vuart_ops, &vm->uart, why, n) ||
	       devbus_claim(&vm->bus, BUS_PIO, VRTC_BASE, VRTC_PORTS, &vrtc_ops, &vm->rtc, why, n) ||
	       devbus_claim(&vm->bus, BUS_PIO, VPIT_BASE, VPIT_PORTS, &vpit_ops, &vm->pit, why, n) ||
	       devbus_claim(&vm->bus, BUS_PIO, VPIT_PORT_B, 1, &vpit_port_b_ops, &vm->pit, why, n) ||
	       devbus_claim(&vm->bus, BUS_PIO, ACPI_PM_SLEEP_CONTROL, ACPI_PM_PORTS, &vpm_ops, &vm->pm, why, n) ||
	       devbus_claim(&vm->bus, BUS_PIO, PVPANIC_PORT, 1, &vpm_pvpanic_ops, &vm->pm, why, n) ? -1 : 0;
}

/* The guest's code and boot structures: a static ELF program, or a Linux kernel. */
static int load_guest(struct vm *vm, const struct vm_config *c, struct vcpu_boot_state *bs, char *why, size_t n)
{
	const struct bootinfo_module *mod = c->kernel ? NULL : hv_module(c->image); /* vm_create checked it */

	vm->is_linux = c->kernel != NULL;
	if (vm->is_linux)
		return linux_load(vm, c, bs, why, n);
	return vm_load(vm, c, (const void *)mod->phys, mod->size, bs, why, n);
}

void vm_stop(struct vm *vm, enum vm_state state, const char *fmt, ...)
{
	char line[VM_REASON_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
	vm->state = state;
	/* into the log only: an unprompted line would cut into what the user is typing */
	n = snprintf(line, sizeof(line), "vm %d (%s): %s\n", vm->id, vm->name, vm->reason);
	log_append(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int check_name(const char *name, char *why, size_t n)
{
	if (!*name || strlen(name) >= EMHV_VM_NAME_MAX) {
		snprintf(why, n, "VM name '%s' must have 1 to %d characters", name, EMHV_VM_NAME_MAX - 1);
		return -1;
	}
	if (!is_name(name)) {
		snprintf(why, n, "VM name '%s': only letters, digits, '-', '_' and '.'", name);
		return -1;
	}
	if (name[0] >= '0' && name[0] <= '9') {
		snprintf(why, n, "VM name '%s' must not start with a digit (digits name VM ids)", name);
		return -1;
	}
	if (vm_find(name)) {
		snprintf(why, n, "a VM named '%s' exists already", name);
		return -1;
	}
	return 0;
}

static int check_bounds(const struct vm_config *c, char *why, size_t n)
{
	if (!c->min || !c->max || (c->min | c->max) & (FRAME_SIZE - 1)) {
		snprintf(why, n, "min and max must be non-zero multiples of 4 KiB");
		return -1;
	}
	if (c->min > c->max) {
		snprintf(why, n, "min (%llu KiB) is above max (%llu KiB)", (unsigned long long)(c->min >> 10),
			 (unsigned long long)(c->max >> 10));
		return -1;
	}
	if (c->max > EMHV_GUEST_MAX_RAM) {
		snprintf(why, n, "max is above the %llu GiB a guest can have",
			 (unsigned long long)(EMHV_GUEST_MAX_RAM >> 30));
		return -1;
	}
	return 0;
}

static struct vm *free_slot(void)
{
	for (int i = 0; i < VM_MAX; i++)
		if (vms[i].state == VM_FREE)
			return &vms[i];
	return NULL;
}

/* Undo a partial creation, or all of a VM; the frames the pool refused to take back, or 0. */
static uint64_t release(struct vm *vm, char *why, size_t n)
{
	const struct virt_backend *b = virt_get();
	uint64_t refused;

	if (vm->vcpu)
		b->vcpu_destroy(vm->vcpu);
	far_detach(&vm->far); /* its far frames back to the node, while the nested tables still say what is local */
	vm_mem_release(&vm->mem);
	refused = vm->mem.free_errors;
	if (refused && why)
		snprintf(why, n, "%llu frames were refused by the pool (the last, 0x%llx: %s)",
			 (unsigned long long)refused, (unsigned long long)vm->mem.bad_frame,
			 frame_strerror(vm->mem.bad_err));
	if (vm->console)
		frame_free((paddr_t)vm->console, 2, FRAME_OWNER_HV);
	if (vm->log)
		frame_free((paddr_t)vm->log, 0, FRAME_OWNER_HV);
	memset(vm, 0, sizeof(*vm));
	vm->state = VM_FREE;
	return refused;
}

struct vm *vm_create(const struct vm_config *c, char *why, size_t n)
{
	const struct virt_backend *b = virt_get();
	struct vcpu_boot_state bs;
	struct vm *vm;
	paddr_t con, log;
	int id;

	_Static_assert(VM_CONSOLE_BYTES == 4 * FRAME_SIZE, "the console ring is one order-2 block");
	why[0] = 0;
	if (!b) {
		snprintf(why, n, "no virtualization backend (see 'cpu' and the boot log)");
		return NULL;
	}
	if (check_name(c->name, why, n) || check_bounds(c, why, n))
		return NULL;
	/* before any frame is taken: the common mistakes */
	if (c->kernel ? linux_check(c, why, n) : !hv_module(c->image)) {
		if (!c->kernel)
			snprintf(why, n, "no image '%s' in \\emhv\\ on the boot volume", c->image);
		return NULL;
	}
	vm = free_slot();
	if (!vm) {
		snprintf(why, n, "all %d VM slots are in use", VM_MAX);
		return NULL;
	}
	id = (int)(vm - vms) + 1;
	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	vm->state = VM_CREATED;
	snprintf(vm->name, sizeof(vm->name), "%s", c->name);
	snprintf(vm->image, sizeof(vm->image), "%s", c->kernel ? c->kernel : c->image);
	/* RAM first: a failure to back it then reports the pool as it is, with nothing else held */
	if (vm_mem_init(&vm->mem, (uint8_t)id, c->min, c->max, c->mode, b->npt_format, b->npt_2m() && !c->no_2m, why, n))
		goto fail;
	con = frame_alloc(2, FRAME_OWNER_HV);
	log = frame_alloc(0, FRAME_OWNER_HV);
	vm->console = con == FRAME_NONE ? NULL : (uint8_t *)con;
	vm->log = log == FRAME_NONE ? NULL : (char *)log;
	if (!vm->console || !vm->log) {
		snprintf(why, n, "no memory for the console and log buffers");
		goto fail;
	}
	event_reset(&vm->ev);
	if (attach_platform(vm, why, n) || vm_irq_init(vm, why, n) || vm_virtio_init(vm, why, n) ||
	    load_guest(vm, c, &bs, why, n))
		goto fail;
	vm->mem.flush = flush_nested;
	vm->mem.flush_ctx = vm;
	vm->mem.npt_ad = b->npt_ad();
	if (c->far && far_attach(&vm->far, &vm->mem, c->far, c->local, c->inject, why, n))
		goto fail;
	harvest_apply(vm);
	bs.cr4_guest_owned = guest_cr4_allowed();
	vm->vcpu = b->vcpu_create(vm->mem.npt.root, (uint16_t)id, &bs, why, n);
	if (!vm->vcpu)
		goto fail;
	vm->vcpu->quick_npf = quick_npf;
	vm->vcpu->quick_ctx = vm;
	return vm;
fail:
	release(vm, NULL, 0);
	zero_cache_fill(); /* as vm_destroy: the pool looks as it did before */
	return NULL;
}

int vm_destroy(struct vm *vm, char *why, size_t n)
{
	uint64_t refused;

	pipe_vm_gone(vm); /* its pipe ends close first: their frames are the pipes' */
	disk_vm_gone(vm); /* its disks keep their data for the next VM */
	balloon_vm_gone(vm);
	refused = release(vm, why, n);

	zero_cache_fill(); /* so that the pool looks as it did before the VM */
	return refused ? -1 : 0;
}
