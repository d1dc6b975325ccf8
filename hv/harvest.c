/* Harvesting: working-set scans on a period, watermarks, and reclaim in bounded steps (see harvest.h). */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/timer.h"
#include "console.h"
#include "harvest.h"
#include "stats.h"
#include "mm/reclaim_policy.h"
#include "mm/vm_take.h"
#include "mm/wss.h"
#include "mm/zero_cache.h"

/*
 * A reclaim step between two slices looks at this many leaves at most: one invalidation's worth of
 * 2 MiB leaves (64 MiB), which bounds the stall (about 100,000 instructions in Bochs).
 */
#define STEP_LEAVES ((unsigned)(VM_TAKE_BATCH_BYTES / NPT_SIZE_2M))

struct harvest_policy harvest_policy = {
	.low = 16ULL << 20,
	.high = 32ULL << 20,
	.period_ms = 500,
	.window = 1,
	.idle_age = 2,
	.ahead = VM_MEM_AHEAD_DEFAULT,
	.split = false,
	.enabled = true,
};

static uint64_t last_scan_tsc;
static int next_scan_slot;
static bool woken;
static uint64_t barren_scans; /* scans done when a reclaim last found nothing: retry after the next */

static bool holds_memory(const struct vm *vm)
{
	return vm->state != VM_FREE;
}

static struct wss_params params(bool split)
{
	return (struct wss_params){ harvest_policy.window, harvest_policy.idle_age, split, harvest_policy.probe };
}

void harvest_init(bool hw_ad)
{
	harvest_policy.hw_ad = hw_ad;
	harvest_policy.probe = !hw_ad;
	if (!hw_ad)
		kprintf("wss: the CPU keeps no accessed/dirty bits in its nested page tables: working sets are "
			"tracked by faults (each scan takes the access to every page away)\n");
}

void harvest_scan(struct vm *vm)
{
	struct wss_params p = params(harvest_policy.split && vm->mem.wss.idle == 0 && vm->harvest_asked);

	wss_scan(&vm->mem, &p);
	vm->harvest_asked = false;
}

void harvest_apply(struct vm *vm)
{
	vm->mem.ahead_max = harvest_policy.ahead;
}

void harvest_wake(void)
{
	woken = true;
}

static uint64_t scans_done(void)
{
	uint64_t n = 0;

	for (int i = 0; i < VM_MAX; i++)
		if (holds_memory(vm_slot(i)))
			n += vm_slot(i)->mem.wss.scans;
	return n;
}

/* One VM's scan per tick once the period is up, so that a tick never scans them all at once. */
static void scan_due(void)
{
	uint64_t period = tsc_hz() / 1000 * harvest_policy.period_ms;

	if (!harvest_policy.period_ms || rdtsc() - last_scan_tsc < period / VM_MAX)
		return;
	last_scan_tsc = rdtsc();
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot((next_scan_slot + i) % VM_MAX);

		if (!holds_memory(vm) || rdtsc() - vm->scan_tsc < period)
			continue;
		vm->scan_tsc = rdtsc();
		next_scan_slot = (int)(vm - vm_slot(0) + 1) % VM_MAX;
		harvest_scan(vm);
		return;
	}
}

/* One source of one VM, from where the last step left off (wrapping once at max). */
static uint64_t take_from(struct vm *vm, enum vm_take_how how, uint64_t want, bool any_age, bool pressure,
			  unsigned *budget)
{
	uint64_t *from = &vm->harvest_next[how], got = 0;
	struct take_result res;

	if (how == TAKE_VOLATILE && !vm->mem.st.volatile_marked)
		return 0; /* nothing volatile: spend no look on it */
	for (int pass = 0; pass < 2 && *budget && (!want || got < want); pass++) {
		if (how == TAKE_VOLATILE)
			vm_take_volatile(&vm->mem, want ? want - got : 0, *budget, pressure, *from, &res);
		else
			vm_take_zero(&vm->mem, any_age ? 0 : harvest_policy.idle_age, want ? want - got : 0, *budget,
				     pressure, *from, &res);
		*budget = res.leaves >= *budget ? 0 : *budget - (unsigned)res.leaves;
		got += res.bytes;
		vm->harvest_sweep_got[how] += res.bytes;
		if (res.err)
			break;
		*from = res.next >= vm->mem.max ? 0 : res.next;
		if (*from) /* stopped inside the range: go on there next time */
			break;
		/* a sweep ended at max: if it took nothing, the VM is barren for this source until its next
		 * scan, so that one VM whose idle memory holds data cannot take every step's budget */
		if (!vm->harvest_sweep_got[how])
			vm->harvest_barren[how] = vm->mem.wss.scans + 1;
		vm->harvest_sweep_got[how] = 0;
	}
	return got;
}

static bool barren(const struct vm *vm, enum vm_take_how how)
{
	return vm->harvest_barren[how] == vm->mem.wss.scans + 1;
}

uint64_t harvest_run(struct vm *only, uint64_t bytes, bool any_age, bool pressure, unsigned max_leaves,
		     struct harvest_report *rep)
{
	static const enum vm_take_how sources[] = { TAKE_VOLATILE, TAKE_ZERO };
	struct reclaim_vm cand[VM_MAX];
	struct vm *vms[VM_MAX];
	unsigned order[VM_MAX], n = 0, k, budget = max_leaves ? max_leaves : ~0u;
	uint64_t got = 0;

	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot(i);

		if (!holds_memory(vm) || (only && vm != only) || vm->mem.mode == VM_MEM_STATIC)
			continue; /* a static VM is the baseline: it keeps all of max */
		if (pressure && vm->state == VM_WAITING_MEM)
			continue; /* it is the one asking: memory comes from the others */
		vms[n] = vm;
		cand[n++] = (struct reclaim_vm){ vm->mem.backed, vm->mem.min,
						 any_age ? vm->mem.backed : vm->mem.wss.idle,
						 vm->mem.st.volatile_marked * 4096 };
	}
	k = reclaim_order(cand, n, order);
	for (unsigned s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
		for (unsigned i = 0; i < k && budget && (!bytes || got < bytes); i++) {
			struct vm *vm = vms[order[i]];
			uint64_t t;

			if (!any_age && barren(vm, sources[s]))
				continue;
			t = take_from(vm, sources[s], bytes ? bytes - got : 0, any_age, pressure, &budget);
			if (!t)
				continue;
			got += t;
			if (rep) {
				rep->vms++;
				if (sources[s] == TAKE_VOLATILE)
					rep->volatile_bytes += t;
				else
					rep->zero_bytes += t;
			}
		}
	}
	/* under pressure every candidate's next scan may split to find cold pages: above all those left out
	 * of the order for having nothing idle, which are the ones whose 2 MiB leaves hide it */
	if (pressure)
		for (unsigned i = 0; i < n; i++)
			vms[i]->harvest_asked = true;
	return got;
}

static bool any_waiting(void)
{
	for (int i = 0; i < VM_MAX; i++)
		if (vm_slot(i)->state == VM_WAITING_MEM)
			return true;
	return false;
}

void harvest_tick(void)
{
	struct frame_stats st;
	uint64_t avail, goal;
	bool waiting;

	scan_due();
	frame_get_stats(&st);
	avail = (st.free + ((uint64_t)zero_cache_blocks() << FRAME_ORDER_2M)) * FRAME_SIZE;
	waiting = woken || any_waiting();
	woken = false;
	goal = reclaim_goal(avail, harvest_policy.low, harvest_policy.high, waiting);
	uint64_t t0, cost, got;

	if (!harvest_policy.enabled || !goal || barren_scans == scans_done())
		return;
	t0 = rdtsc();
	got = harvest_run(NULL, goal, false, true, STEP_LEAVES, NULL);
	cost = rdtsc() - t0;
	hv_stats.harvest_steps++;
	hv_stats.harvest_tsc += cost;
	if (cost > hv_stats.harvest_tsc_max)
		hv_stats.harvest_tsc_max = cost;
	if (!got)
		barren_scans = scans_done(); /* nothing idle enough: wait for the next scan */
}
