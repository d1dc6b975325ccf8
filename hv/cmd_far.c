/*
 * Far memory on the monitor: 'mem node add|list|del' (mm/far_node.c), 'vm far' (a VM's far share,
 * mm/far.c), and what 'mem', 'mem verify' and 'vm info' say about them.
 */
#include <stdio.h>
#include <string.h>
#include "arch/x86_64/timer.h"
#include "cmdline.h"
#include "commands.h"
#include "console.h"
#include "vm.h"
#include "disk.h"

/* TIME with a unit: ns, us or ms; 0 up to FAR_LATENCY_MAX_NS. */
static int parse_latency(const char *s, uint64_t *ns, const char **why)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 } };
	size_t len = strlen(s);
	char num[24];

	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (len <= 2 || len - 2 >= sizeof(num) || strcmp(s + len - 2, units[i].unit))
			continue;
		memcpy(num, s, len - 2);
		num[len - 2] = 0;
		if (parse_uint(num, ns, why))
			return -1;
		if (*ns > FAR_LATENCY_MAX_NS / units[i].ns) {
			*why = "at most 1000ms";
			return -1;
		}
		*ns *= units[i].ns;
		return 0;
	}
	*why = "a number with ns, us or ms";
	return -1;
}

/* mem node add NAME size=SIZE latency=TIME bw=SIZE (bytes per second) */
int cmd_mem_node_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	uint64_t size = 0, lat = 0, bw = 0;
	bool have[3] = { false, false, false };
	const char *why;
	char msg[120], a[24], b[24];

	if (!is_name(argv[0]) || strlen(argv[0]) >= FAR_NODE_NAME_MAX)
		return cmd_error(ctx, "mem node add: '%s': a name of letters, digits, '-' and '_', at most %d characters",
				 argv[0], FAR_NODE_NAME_MAX - 1);
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		int k = !eq ? -1 : !strncmp(argv[i], "size=", 5) ? 0 : !strncmp(argv[i], "latency=", 8) ? 1
			: !strncmp(argv[i], "bw=", 3) ? 2 : -1;

		if (k < 0)
			return cmd_error(ctx, "mem node add: '%s': size=SIZE, latency=TIME (ns, us, ms) or bw=SIZE "
					 "(per second)", argv[i]);
		if (k == 1 ? parse_latency(eq + 1, &lat, &why) : parse_size(eq + 1, k ? &bw : &size, &why))
			return cmd_error(ctx, "mem node add: %s: %s", argv[i], why);
		have[k] = true;
	}
	if (!have[0] || !have[1] || !have[2])
		return cmd_error(ctx, "mem node add: size=, latency= and bw= are required");
	if (!size || size % FRAME_SIZE)
		return cmd_error(ctx, "mem node add: size=%llu: a nonzero multiple of 4K", (unsigned long long)size);
	if (bw < FAR_BW_MIN || bw > FAR_BW_MAX)
		return cmd_error(ctx, "mem node add: bw=%llu: from 1M to 1T (bytes per second)", (unsigned long long)bw);
	if (far_node_add(argv[0], size, lat, bw, msg, sizeof(msg)))
		return cmd_error(ctx, "mem node add %s: %s", argv[0], msg);
	mprintf("node %s: %s of far memory, latency %llu ns, bandwidth %s/s\n", argv[0],
		format_size(a, sizeof(a), size), (unsigned long long)lat, format_size(b, sizeof(b), bw));
	return 0;
}

int cmd_mem_node_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	mprintf("%-16s %10s %10s %12s %10s %10s %6s %14s %12s\n", "node", "frames", "free", "latency_ns", "bw_mib_s",
		"in_use_k", "users", "bytes_moved", "busy_ms");
	for (unsigned i = 0; i < FAR_NODE_MAX; i++) {
		const struct far_node *nd = far_node_slot(i);

		if (nd->used)
			mprintf("%-16s %10llu %10llu %12llu %10llu %10llu %6u %14llu %12llu\n", nd->name,
				(unsigned long long)nd->frames, (unsigned long long)nd->nfree,
				(unsigned long long)nd->latency_ns, (unsigned long long)(nd->bw >> 20),
				(unsigned long long)((nd->frames - nd->nfree) * 4), nd->users,
				(unsigned long long)nd->bytes_moved,
				(unsigned long long)(nd->link_busy_tsc / (tsc_hz() / 1000)));
	}
	return 0;
}

int cmd_mem_node_del(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct far_node *nd = far_node_find(argv[0]);
	char why[200];
	size_t len = 0;

	(void)argc;
	if (!nd)
		return cmd_error(ctx, "mem node del: no node '%s' (see 'mem node list')", argv[0]);
	if (far_node_del(nd, why, sizeof(why))) {
		const char *sep = ":";

		len = strlen(why);
		for (int i = 0; i < VM_MAX && len + 20 < sizeof(why); i++) {
			const struct vm *vm = vm_slot(i);

			if (vm->state != VM_FREE && vm->far.node == nd) {
				len += (size_t)snprintf(why + len, sizeof(why) - len, "%s VM %s", sep, vm->name);
				sep = ",";
			}
		}
		for (unsigned i = 0; i < DISK_MAX && len + 20 < sizeof(why); i++) {
			const struct disk *d = disk_slot(i);

			if (d->used && d->node == nd) {
				len += (size_t)snprintf(why + len, sizeof(why) - len, "%s disk %s", sep, d->name);
				sep = ",";
			}
		}
		return cmd_error(ctx, "mem node del %s: %s", argv[0], why);
	}
	mprintf("node %s deleted: its frames are back in the pool\n", argv[0]);
	return 0;
}

/* prefetch=none|next[:N]|stride[:N] (N from 1 to FAR_PREFETCH_MAX, 8 if absent); 0, or -1 with why. */
static int parse_prefetch(const char *s, enum far_prefetch *pf, unsigned *n, const char **why)
{
	char kind[16];
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	uint64_t v = 8;
	int k;

	if (len >= sizeof(kind)) {
		*why = "none, next[:N] or stride[:N]";
		return -1;
	}
	memcpy(kind, s, len);
	kind[len] = 0;
	k = name_index(kind, far_prefetch_names, FAR_PREFETCHES);
	if (k < 0 || (colon && (k == FAR_PF_NONE || parse_uint(colon + 1, &v, why) || !v || v > FAR_PREFETCH_MAX))) {
		*why = "none, next[:N] or stride[:N] with N from 1 to 64";
		return -1;
	}
	*pf = (enum far_prefetch)k;
	*n = (unsigned)v;
	return 0;
}

/* vm far VM [local=SIZE] [inject=spin|warp] [policy=...] [prefetch=...]: show or change a VM's far share. */
int cmd_vm_far(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = vm_find(argv[0]);
	uint64_t local;
	enum far_mode mode;
	enum far_prefetch pf;
	unsigned pf_n;
	int policy;
	const char *why;
	char msg[120];

	if (!vm)
		return cmd_error(ctx, "vm far: no VM '%s' (see 'vm list')", argv[0]);
	if (!vm->far.node)
		return cmd_error(ctx, "vm far %s: no far share (vm create ... far=NODE local=SIZE)", vm->name);
	local = vm->far.local;
	mode = vm->far.mode;
	policy = vm->far.policy;
	pf = vm->far.prefetch;
	pf_n = vm->far.prefetch_n;
	for (int i = 1; i < argc; i++) { /* every value is checked before any is set */
		if (!strncmp(argv[i], "local=", 6)) {
			if (parse_size(argv[i] + 6, &local, &why))
				return cmd_error(ctx, "vm far %s: %s: %s", vm->name, argv[i], why);
			if (far_check_local(&vm->mem, local, msg, sizeof(msg)))
				return cmd_error(ctx, "vm far %s: %s", vm->name, msg);
		} else if (!strncmp(argv[i], "inject=", 7)) {
			int m = name_index(argv[i] + 7, far_mode_names, 2);

			if (m < 0)
				return cmd_error(ctx, "vm far %s: %s: spin or warp", vm->name, argv[i]);
			mode = (enum far_mode)m;
		} else if (!strncmp(argv[i], "policy=", 7)) {
			policy = name_index(argv[i] + 7, far_policy_names, FAR_POLICIES);
			if (policy < 0)
				return cmd_error(ctx, "vm far %s: %s: fifo, random, clock or lru", vm->name, argv[i]);
		} else if (!strncmp(argv[i], "prefetch=", 9)) {
			if (parse_prefetch(argv[i] + 9, &pf, &pf_n, &why))
				return cmd_error(ctx, "vm far %s: %s: %s", vm->name, argv[i], why);
		} else {
			return cmd_error(ctx, "vm far %s: '%s': local=SIZE, inject=spin|warp, policy= or prefetch=", vm->name,
					 argv[i]);
		}
	}
	vm->far.mode = mode;
	vm->far.policy = (enum far_policy)policy;
	vm->far.prefetch = pf;
	vm->far.prefetch_n = pf_n;
	if (local != vm->far.local && far_set_local(&vm->far, local, msg, sizeof(msg)))
		return cmd_error(ctx, "vm far %s: %s", vm->name, msg);
	far_show_vm(vm);
	return 0;
}

void far_show_vm(const struct vm *vm)
{
	const struct vm_far *f = &vm->far;
	const struct far_stats *s = &f->st;

	if (!f->node) {
		mprintf("far:     none (all of its memory is local)\n");
		return;
	}
	mprintf("far:     node %s, local %lluK (backed locally %lluK), %llu pages far, %llu far frames held; latency "
		"injected by %s\n", f->node->name, (unsigned long long)(f->local >> 10),
		(unsigned long long)(vm->mem.backed >> 10), (unsigned long long)f->map.far,
		(unsigned long long)f->map.copies, f->mode == FAR_SPIN ? "spin (the vCPU waits on the TSC)"
								  : "warp (the guest's TSC moves on)");
	mprintf("far policy: eviction %s, prefetch %s", far_policy_names[f->policy], far_prefetch_names[f->prefetch]);
	if (f->prefetch != FAR_PF_NONE)
		mprintf(":%u", f->prefetch_n);
	mprintf("; %llu pages prefetched: %llu moved out untouched (wasted), %llu not looked at yet, the rest used\n",
		(unsigned long long)s->prefetched, (unsigned long long)s->pf_wasted,
		(unsigned long long)far_prefetch_pending(f));
	mprintf("far io:  %llu far faults, %llu pages in, %llu out (%llu clean, %llu dirty); latency charged %llu ticks "
		"(%llu us)\n", (unsigned long long)s->faults, (unsigned long long)s->pages_in,
		(unsigned long long)s->pages_out, (unsigned long long)s->evict_clean, (unsigned long long)s->evict_dirty,
		(unsigned long long)s->latency_ticks, (unsigned long long)(s->latency_ticks / f->node->us_ticks));
	mprintf("far cost: the hypervisor's own ticks per far fault: %llu on average, %llu at most (with the exit's own "
		"path, the floor of spin: a smaller latency cannot be honoured); %llu on average without its page copies\n",
		(unsigned long long)(s->faults ? s->hv_ticks / s->faults : 0), (unsigned long long)s->hv_max,
		(unsigned long long)(s->faults ? (s->hv_ticks - s->copy_ticks) / s->faults : 0));
	if (vm->vcpu->switch_runs)
		mprintf("far switch: a VM exit and entry cost the guest %llu ticks beyond the hypervisor's stamps (the "
			"median of the last %u entries that fault again at once, measured %u times, one entry every "
			"%d far faults after the first %u, in %llu ticks), taken off each far fault's latency (so "
			"spin's floor is the hypervisor's own time plus this)\n",
			(unsigned long long)vm->vcpu->switch_ticks, VIRT_SWITCH_SAMPLES, vm->vcpu->switch_runs,
			FAR_SWITCH_EVERY, VIRT_SWITCH_SAMPLES, (unsigned long long)vm->vcpu->switch_spent);
	else
		mprintf("far switch: not measured yet (at the first far fault, and every %d after)\n", FAR_SWITCH_EVERY);
	mprintf("far latency: <1us %llu, <4us %llu, <16us %llu, <64us %llu, <256us %llu, <1ms %llu, <4ms %llu, more "
		"%llu\n", (unsigned long long)s->hist[0], (unsigned long long)s->hist[1], (unsigned long long)s->hist[2],
		(unsigned long long)s->hist[3], (unsigned long long)s->hist[4], (unsigned long long)s->hist[5],
		(unsigned long long)s->hist[6], (unsigned long long)s->hist[7]);
}

void far_show_totals(void)
{
	struct far_stats t = { 0 };
	unsigned n = 0;

	for (int v = 0; v < VM_MAX; v++) {
		const struct vm *vm = vm_slot(v);
		const struct far_stats *s = &vm->far.st;

		if (vm->state == VM_FREE || !vm->far.node)
			continue;
		n++;
		t.faults += s->faults;
		t.pages_in += s->pages_in;
		t.pages_out += s->pages_out;
		t.evict_clean += s->evict_clean;
		t.evict_dirty += s->evict_dirty;
		t.prefetched += s->prefetched;
		t.pf_wasted += s->pf_wasted;
		t.latency_ticks += s->latency_ticks;
		t.hv_ticks += s->hv_ticks;
		t.copy_ticks += s->copy_ticks;
	}
	mprintf("far shares of the %u VMs with one: %llu far faults, %llu pages in, %llu out (%llu clean, %llu dirty), "
		"%llu prefetched (%llu wasted), latency charged %llu ticks, %llu ticks of the far layer per far fault "
		"(%llu without the page copies)\n", n, (unsigned long long)t.faults, (unsigned long long)t.pages_in,
		(unsigned long long)t.pages_out, (unsigned long long)t.evict_clean, (unsigned long long)t.evict_dirty,
		(unsigned long long)t.prefetched, (unsigned long long)t.pf_wasted, (unsigned long long)t.latency_ticks,
		(unsigned long long)(t.faults ? t.hv_ticks / t.faults : 0),
		(unsigned long long)(t.faults ? (t.hv_ticks - t.copy_ticks) / t.faults : 0));
}

void far_show_nodes(void)
{
	for (unsigned i = 0; i < FAR_NODE_MAX; i++) {
		const struct far_node *nd = far_node_slot(i);

		if (nd->used)
			mprintf("node %-15s %10llu frames of far memory (owner %u, counted in vms), %llu free, %llu holding "
				"pages of %u VMs and disks\n", nd->name, (unsigned long long)nd->frames, nd->owner,
				(unsigned long long)nd->nfree, (unsigned long long)(nd->frames - nd->nfree), nd->users);
	}
}

int far_verify_nodes(void)
{
	int bad = 0;
	char why[160];

	for (unsigned i = 0; i < FAR_NODE_MAX; i++) {
		struct far_node *nd = far_node_slot(i);
		uint64_t copies = 0;

		if (!nd->used)
			continue;
		for (int v = 0; v < VM_MAX; v++)
			if (vm_slot(v)->state != VM_FREE && vm_slot(v)->far.node == nd)
				copies += far_frames(&vm_slot(v)->far);
		if (far_node_verify(nd, why, sizeof(why)))
			bad++;
		else if (copies != nd->frames - nd->nfree) {
			snprintf(why, sizeof(why), "its VMs hold %llu frames, %llu are not free", (unsigned long long)copies,
				 (unsigned long long)(nd->frames - nd->nfree));
			bad++;
		}
		mprintf("mem verify: node %s: %s\n", nd->name, why);
	}
	return bad;
}
