/*
 * The scheduler: VMs share the CPU in round-robin time slices. A slice ends
 * when it has run SLICE_US, when the guest halts or stops, or when the VM
 * parks waiting for memory or idles in HLT until an interrupt (its timer,
 * a device) is deliverable; host interrupts (the timer tick, the serial
 * port) exit the guest and are taken while the exit is handled, and the
 * monitor gets its turn between slices, so it answers while guests run.
 * Before each entry the vCPU's event queue says what to inject.
 */
#include <stdio.h>
#include <emhv/x86_regs.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/nmi.h"
#include "arch/x86_64/timer.h"
#include "mm/zero_cache.h"
#include "monitor.h"
#include "sched.h"
#include "disk.h"
#include "balloon.h"
#include "console.h"
#include "harvest.h"
#include "pipe.h"
#include "stats.h"
#include "vm_exit.h"

#define SLICE_US 10000
/*
 * Longest stretch in a guest without an exit, so that host interrupts are
 * taken in time. External interrupts make a VM exit at once on hardware,
 * but Bochs makes none while the guest runs with interrupts off: then this
 * timer alone bounds the latency (the UART's 16-byte FIFO holds 1.4 ms of
 * input at 115200 baud).
 */
#define TIMER_US 1000

static int next_slot;

/* An exit being measured: from its VM exit to the next VM entry (or, when the slice ends, to the end of its handling). */
struct pending {
	bool valid;
	enum virt_exit_kind kind;
	uint8_t grew;
	uint64_t exit_tsc, zero_tsc;
};

/* n exits of kind costing tsc in all (max the dearest), and n growth faults of grow (-1: none) among them. */
static void count_exits(enum virt_exit_kind kind, uint64_t n, uint64_t tsc, uint64_t max, int grow, uint64_t zero)
{
	hv_stats.exits[kind] += n;
	hv_stats.exit_tsc[kind] += tsc;
	if (max > hv_stats.exit_tsc_max[kind])
		hv_stats.exit_tsc_max[kind] = max;
	if (grow < 0)
		return;
	hv_stats.grow[grow] += n;
	hv_stats.grow_tsc[grow] += tsc;
	if (max > hv_stats.grow_max[grow])
		hv_stats.grow_max[grow] = max;
	hv_stats.grow_zero_tsc[grow] += zero;
}

static void account(struct pending *p, uint64_t until)
{
	static const int kinds[] = { -1, STAT_GROW_4K, STAT_GROW_2M, STAT_FAR }; /* by virt_exit.grew */
	uint64_t cost = until - p->exit_tsc;

	if (!p->valid)
		return;
	p->valid = false;
	count_exits(p->kind, 1, cost, cost, kinds[p->grew < 4 ? p->grew : 0], p->zero_tsc);
}

/*
 * The nested-page faults run() completed itself: exits of their own. A growth is of 4 KiB with no
 * zeroing; a shared page mapped is no growth.
 */
static void account_quick(struct vm *vm, const struct virt_quick *q)
{
	static const int grow[VIRT_QUICK_KINDS] = { [VIRT_QUICK_GROW] = STAT_GROW_4K, [VIRT_QUICK_MAPPED] = -1 };

	for (unsigned k = VIRT_QUICK_GROW; k < VIRT_QUICK_KINDS; k++) {
		vm->exits += q->n[k];
		count_exits(VEXIT_NPF, q->n[k], q->tsc[k], q->max[k], grow[k], 0);
	}
}

/*
 * Give the backend what goes in at this entry: the queue's event first (exceptions, NMIs, interrupts
 * an exit cut short), else the APIC's interrupt when the guest can take one; ask for an interrupt
 * window while one waits. A backend that offers interrupts (virt_backend.offer_intr) gets every
 * external interrupt so, even one the guest cannot take yet, and needs no window for it: the APIC
 * hands it over when it was taken (vm_irq_offer_done).
 */
static void deliver_events(struct vm *vm, bool *window)
{
	const struct virt_backend *b = virt_get();
	struct virt_vcpu *vc = vm->vcpu;
	struct virt_event ev;
	int apic = vm_irq_sync(vm), offer = -1;
	bool can_intr, want, acked = false;

	if (!event_pending(&vm->ev) && apic < 0 && !*window)
		return;
	can_intr = (b->get(vc, VREG_RFLAGS) & RFLAGS_IF) && !b->get(vc, VREG_INTR_SHADOW);
	if (event_next(&vm->ev, can_intr, &ev, &want)) {
		if (ev.type == VEV_EXTINT && b->offer_intr) {
			offer = ev.vector;
			acked = true;
		} else {
			b->inject(vc, &ev);
		}
	} else if (apic >= 0 && (can_intr || (b->offer_intr && !want))) {
		if (can_intr)
			vm_exit_halt_before_interrupt(vm);
		if (b->offer_intr) {
			offer = apic;
		} else {
			ev = (struct virt_event){ .type = VEV_EXTINT, .vector = (uint8_t)apic };
			b->inject(vc, &ev);
			vm_irq_injected(vm, apic);
		}
		apic = -1;
	}
	want = want || apic >= 0;
	if (offer >= 0) /* the offer and the window share the VMCB's virtual interrupt */
		want = false;
	if (want != *window) {
		b->intr_window(vc, want);
		*window = want;
	}
	if (offer >= 0) {
		b->offer_intr(vc, offer);
		vm->irq.offered = offer;
		vm->irq.offered_acked = acked;
	}
}

/*
 * The earliest TSC at which something timed is due: a VM sitting out a far fault's latency (spin)
 * runs again, or a disk request on a slow medium completes. 0 when nothing waits.
 */
static uint64_t timed_wake(void)
{
	uint64_t wake = disk_next_due();

	for (int i = 0; i < VM_MAX; i++) {
		const struct vm *vm = vm_slot(i);

		if (vm->state == VM_RUNNING && vm->far_until && (!wake || vm->far_until < wake))
			wake = vm->far_until;
	}
	return wake;
}

static void run_slice(struct vm *vm)
{
	const struct virt_backend *b = virt_get();
	struct virt_vcpu *vc = vm->vcpu;
	uint64_t now = rdtsc(), end = now + tsc_hz() / 1000000 * SLICE_US, tick = tsc_hz() / 1000000 * TIMER_US;
	uint64_t wake = timed_wake();
	bool tight = wake && wake < end; /* a far latency or a disk request ends first: the slice ends then */
	struct pending p = { .valid = false };
	struct virt_exit e;

	if (tight)
		end = wake > now ? wake : now;
	while (vm->state == VM_RUNNING && !vm->far_until) {
		uint64_t zero = vm->mem.zero_tsc, left = tick;
		enum exit_action a;

		if (tight) {
			now = rdtsc();
			left = end <= now ? 1 : end - now < tick ? end - now : tick;
		}
		/* back in time for the host's interrupts and for the guest's own timer */
		vc->timer_ticks = vm_irq_timer_ticks(vm, left);
		irq_disable();
		deliver_events(vm, &vm->intr_window);
		b->run(vc, &e);
		if (vm->irq.offered >= 0)
			vm_irq_offer_done(vm);
		account(&p, vc->entry_tsc);
		account_quick(vm, &vc->quick);
		/* host interrupts wait no longer than the exit they caused: the handling may take a while */
		irq_enable();
		vm->guest_tsc += vc->guest_tsc;
		vm->exits++;
		a = vm_handle_exit(vm, &e);
		pipe_tick(); /* in the slice too: a receiver draining the ring gives its pages back as it goes */
		p = (struct pending){ true, e.kind, e.grew, vc->exit_tsc, vm->mem.zero_tsc - zero };
		if (a != EXIT_RESUME || vc->exit_tsc > end)
			break;
	}
	/* a warp due at the next entry takes effect now: what runs before that entry (other VMs, the
	 * monitor) is time the guest sees pass, as it would without the far fault */
	if (vc->resume_tsc)
		b->set(vc, VREG_TSC_OFFSET, virt_resume_take(vc) - rdtsc());
	account(&p, rdtsc());
}

/* NMIs are counted in the handler and written to the log here, outside NMI context. */
static void report_nmis(void)
{
	char line[160];

	nmi_report(line, sizeof(line));
	if (line[0])
		log_line(line);
}

/* The next VM to run after the last one, round robin; parked VMs retry their fault (cheap when the pool is dry). */
static struct vm *pick(void)
{
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot((next_slot + i) % VM_MAX);

		if (vm->state == VM_WAITING_MEM && !vm_retry_memory(vm))
			continue;
		if (vm->state == VM_IDLE && !vm_irq_wake(vm))
			continue;
		if (vm->state == VM_RUNNING && vm->far_until) { /* sitting out a far fault's latency (spin) */
			if ((int64_t)(rdtsc() - vm->far_until) < 0)
				continue;
			vm->far_until = 0;
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
		report_nmis();
		harvest_tick();
		pipe_tick();
		disk_tick();
		balloon_tick();
		vm = pick();
		if (vm)
			run_slice(vm);
		else if (timed_wake()) /* a far latency or a disk request ends soon: look again (the monitor meanwhile) */
			cpu_pause();
		else if (!zero_cache_refill_one()) /* idle: zero a block ahead of faults */
			cpu_halt();		   /* the next interrupt (tick or serial) wakes us */
	}
}
