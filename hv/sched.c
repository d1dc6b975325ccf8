/*
 * The scheduler: VMs share the CPU in round-robin time slices. A slice ends
 * when it has run SLICE_US, when the guest halts or stops, or when the VM
 * parks waiting for memory; host interrupts (the timer tick, the serial
 * port) exit the guest and are taken between exits, and the monitor gets
 * its turn between slices, so it answers while guests run.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/timer.h"
#include "mm/zero_cache.h"
#include "monitor.h"
#include "sched.h"
#include "stats.h"
#include "vm_exit.h"

#define SLICE_US 10000
/* Longest stretch in a guest without an exit, so that host interrupts are taken in time. */
#define TIMER_US 1000

static int next_slot;
static struct vm *fpu_owner;

static void fpu_switch(struct vm *vm)
{
	if (fpu_owner == vm)
		return;
	if (fpu_owner)
		__asm__ volatile("fxsave64 %0" : "=m"(fpu_owner->fpu));
	__asm__ volatile("fxrstor64 %0" : : "m"(vm->fpu));
	fpu_owner = vm;
}

void sched_forget(struct vm *vm)
{
	if (fpu_owner == vm)
		fpu_owner = NULL;
}

/* An exit being measured: from its VM exit to the next VM entry (or, when the slice ends, to the end of its handling). */
struct pending {
	bool valid;
	enum virt_exit_kind kind;
	uint8_t grew;
	uint64_t exit_tsc, zero_tsc;
};

static void account(struct pending *p, uint64_t until)
{
	uint64_t cost = until - p->exit_tsc;

	if (!p->valid)
		return;
	p->valid = false;
	hv_stats.exits[p->kind]++;
	hv_stats.exit_tsc[p->kind] += cost;
	if (p->grew) {
		int k = p->grew == 2 ? STAT_GROW_2M : STAT_GROW_4K;

		hv_stats.grow[k]++;
		hv_stats.grow_tsc[k] += cost;
		hv_stats.grow_zero_tsc[k] += p->zero_tsc;
	}
}

static void run_slice(struct vm *vm)
{
	const struct virt_backend *b = virt_get();
	struct virt_vcpu *vc = vm->vcpu;
	uint64_t end = rdtsc() + tsc_hz() / 1000000 * SLICE_US;
	struct pending p = { .valid = false };
	struct virt_exit e;

	fpu_switch(vm);
	vc->timer_ticks = tsc_hz() / 1000000 * TIMER_US;
	while (vm->state == VM_RUNNING) {
		uint64_t zero = vm->mem.zero_tsc;
		enum exit_action a;

		irq_disable();
		b->run(vc, &e);
		account(&p, vc->entry_tsc);
		vm->guest_tsc += vc->exit_tsc - vc->entry_tsc;
		vm->exits++;
		a = vm_handle_exit(vm, &e);
		p = (struct pending){ true, e.kind, e.grew, vc->exit_tsc, vm->mem.zero_tsc - zero };
		irq_enable(); /* a pending host interrupt is taken here */
		if (a != EXIT_RESUME || vc->exit_tsc > end)
			break;
	}
	account(&p, rdtsc());
}

/* The next VM to run after the last one, round robin; parked VMs retry their fault (cheap when the pool is dry). */
static struct vm *pick(void)
{
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot((next_slot + i) % VM_MAX);

		if (vm->state == VM_WAITING_MEM && !vm_retry_memory(vm))
			continue;
		if (vm->state == VM_RUNNING) {
			next_slot = (next_slot + i + 1) % VM_MAX;
			return vm;
		}
	}
	return NULL;
}

void sched_loop(void)
{
	monitor_start();
	irq_enable();
	for (;;) {
		struct vm *vm;

		monitor_poll();
		vm = pick();
		if (vm)
			run_slice(vm);
		else if (!zero_cache_refill_one()) /* idle: zero a block ahead of faults */
			cpu_halt();		   /* the next interrupt (tick or serial) wakes us */
	}
}
