/*
 * The scheduler: VMs share the CPU in round-robin time slices. A slice ends
 * when it has run SLICE_US, when the guest halts or stops, or when the VM
 * parks waiting for memory; host interrupts (the timer tick, the serial
 * port) exit the guest and are taken between exits, and the monitor gets
 * its turn between slices, so it answers while guests run.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/timer.h"
#include "mm/frame.h"
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

static void account(struct vm *vm, const struct virt_exit *e, uint64_t exit_tsc, uint64_t zero_tsc)
{
	uint64_t cost = rdtsc() - exit_tsc;

	hv_stats.exits[e->kind]++;
	hv_stats.exit_tsc[e->kind] += cost;
	if (e->grew) {
		int k = e->grew == 2 ? STAT_GROW_2M : STAT_GROW_4K;

		hv_stats.grow[k]++;
		hv_stats.grow_tsc[k] += cost;
		hv_stats.grow_zero_tsc[k] += vm->mem.zero_tsc - zero_tsc;
	}
	vm->exits++;
}

static void run_slice(struct vm *vm)
{
	const struct virt_backend *b = virt_get();
	uint64_t end = rdtsc() + tsc_hz() / 1000000 * SLICE_US;
	struct virt_exit e;

	fpu_switch(vm);
	vm->vcpu->timer_ticks = tsc_hz() / 1000000 * TIMER_US;
	while (vm->state == VM_RUNNING) {
		uint64_t t_entry, t_exit, zero;
		enum exit_action a;

		irq_disable();
		t_entry = rdtsc();
		b->run(vm->vcpu, &e);
		t_exit = rdtsc();
		vm->guest_tsc += t_exit - t_entry;
		zero = vm->mem.zero_tsc;
		a = vm_handle_exit(vm, &e);
		account(vm, &e, t_exit, zero);
		irq_enable(); /* a pending host interrupt is taken here */
		if (a != EXIT_RESUME || t_exit > end)
			break;
	}
}

/* The next VM to run after the last one, round robin; parked VMs retry their fault. */
static struct vm *pick(void)
{
	struct frame_stats st;
	bool have_free = false, checked = false;

	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot((next_slot + i) % VM_MAX);

		if (vm->state == VM_WAITING_MEM) {
			if (!checked) {
				frame_get_stats(&st);
				have_free = st.free > 0;
				checked = true;
			}
			if (!have_free || !vm_retry_memory(vm))
				continue;
		}
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
