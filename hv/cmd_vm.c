/* Monitor commands 'vm ...' (create, list, info, start, pause, resume, stop, destroy, console, log, send). */
#include <stdio.h>
#include <string.h>
#include "cmdline.h"
#include "commands.h"
#include "console.h"
#include "sched.h"
#include "vm.h"
#include "vm_load.h"
#include "arch/x86_64/cpu.h"
#include "harvest.h"
#include "disk.h"
#include "balloon.h"

/* Exact and short: "16M" when a whole number of MiB, else "1028K". */
static const char *sz(char *buf, uint64_t bytes)
{
	if (bytes % (1 << 20) == 0)
		snprintf(buf, 24, "%lluM", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, 24, "%lluK", (unsigned long long)(bytes >> 10));
	return buf;
}

static int parse_bound(struct cmd_ctx *ctx, const char *key, const char *val, uint64_t *out)
{
	const char *why;

	if (parse_size(val, out, &why))
		return cmd_error(ctx, "vm create: %s='%s': %s", key, val, why);
	return 0;
}

/* If arg is "key=VALUE", *val points at VALUE. */
static bool key_is(const char *arg, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(arg, key, n) || arg[n] != '=')
		return false;
	*val = arg + n + 1;
	return true;
}

/* inject=spin|warp */
static int parse_inject(struct cmd_ctx *ctx, const char *cmd, const char *val, enum far_mode *mode)
{
	int m = name_index(val, far_mode_names, 2);

	if (m < 0)
		return cmd_error(ctx, "%s: inject='%s': spin or warp", cmd, val);
	*mode = (enum far_mode)m;
	return 0;
}

/* A device could not go into the new VM: the VM goes again, and one error line says why. */
static int undo_create(struct cmd_ctx *ctx, struct vm *vm, const char *what, const char *name, const char *why)
{
	char name_copy[EMHV_VM_NAME_MAX], ignored[80];

	snprintf(name_copy, sizeof(name_copy), "%s", vm->name);
	vm_destroy(vm, ignored, sizeof(ignored));
	return cmd_error(ctx, "vm create %s: %s%s%s: %s", name_copy, what, name[0] ? " " : "", name, why);
}

int cmd_vm_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	char *guest_argv[EMHV_BOOT_MAX_ARGS + 1];
	struct disk *disks[DISK_MAX];
	unsigned ndisks = 0;
	int balloon = -1; /* -1: a Linux VM gets one */
	struct vm_config c = { .name = argv[0], .mode = VM_MEM_ELASTIC };
	bool have_min = false, have_max = false;
	char why[160], a[24], b[24];
	struct vm *vm;

	for (int i = 1; i < argc; i++) {
		const char *val;

		if (key_is(argv[i], "image", &val)) {
			c.image = val;
		} else if (key_is(argv[i], "kernel", &val)) {
			c.kernel = val;
		} else if (key_is(argv[i], "initrd", &val)) {
			c.initrd = val;
		} else if (key_is(argv[i], "cmdline", &val)) {
			c.cmdline = val;
		} else if (key_is(argv[i], "min", &val)) {
			if (parse_bound(ctx, "min", val, &c.min))
				return -1;
			have_min = true;
		} else if (key_is(argv[i], "max", &val)) {
			if (parse_bound(ctx, "max", val, &c.max))
				return -1;
			have_max = true;
		} else if (key_is(argv[i], "mode", &val)) {
			if (strcmp(val, "elastic") && strcmp(val, "static"))
				return cmd_error(ctx, "vm create: mode='%s': elastic or static", val);
			c.mode = strcmp(val, "static") ? VM_MEM_ELASTIC : VM_MEM_STATIC;
		} else if (key_is(argv[i], "grow", &val)) {
			if (strcmp(val, "2m") && strcmp(val, "4k"))
				return cmd_error(ctx, "vm create: grow='%s': 2m or 4k", val);
			c.no_2m = !strcmp(val, "4k");
		} else if (key_is(argv[i], "far", &val)) {
			c.far = far_node_find(val);
			if (!c.far)
				return cmd_error(ctx, "vm create: far='%s': no such node (see 'mem node list')", val);
		} else if (key_is(argv[i], "local", &val)) {
			if (parse_bound(ctx, "local", val, &c.local))
				return -1;
		} else if (key_is(argv[i], "inject", &val)) {
			if (parse_inject(ctx, "vm create", val, &c.inject))
				return -1;
		} else if (key_is(argv[i], "balloon", &val)) {
			if (strcmp(val, "on") && strcmp(val, "off"))
				return cmd_error(ctx, "vm create: balloon='%s': on or off", val);
			balloon = !strcmp(val, "on");
		} else if (key_is(argv[i], "disk", &val)) {
			struct disk *d = disk_find(val);

			if (!d)
				return cmd_error(ctx, "vm create: disk='%s': no such disk (see 'disk list')", val);
			for (unsigned k = 0; k < ndisks; k++)
				if (disks[k] == d)
					return cmd_error(ctx, "vm create: disk='%s' named twice", val);
			if (disk_in_use(d))
				return cmd_error(ctx, "vm create: disk='%s' is attached to VM '%s'", val, d->vm->name);
			if (ndisks == DISK_MAX)
				return cmd_error(ctx, "vm create: more than %d disks", DISK_MAX);
			disks[ndisks++] = d;
		} else if (c.argc == EMHV_BOOT_MAX_ARGS) {
			return cmd_error(ctx, "vm create: more than %d guest arguments", EMHV_BOOT_MAX_ARGS);
		} else {
			guest_argv[c.argc++] = argv[i];
		}
	}
	if (!c.image == !c.kernel || !have_min || !have_max)
		return cmd_error(ctx, "vm create: image=FILE or kernel=FILE, min=SIZE and max=SIZE are required");
	if (c.kernel && c.argc)
		return cmd_error(ctx, "vm create: '%s': a Linux VM takes its arguments in cmdline=\"...\"", guest_argv[0]);
	if (!c.kernel && (c.initrd || c.cmdline))
		return cmd_error(ctx, "vm create: initrd= and cmdline= go with kernel=");
	if (!c.far != !c.local)
		return cmd_error(ctx, "vm create: far=NODE and local=SIZE go together");
	if (c.far)
		c.no_2m = true; /* the far layer works in 4 KiB pages */
	c.argv = guest_argv;
	vm = vm_create(&c, why, sizeof(why));
	if (!vm)
		return cmd_error(ctx, "vm create %s: %s", c.name, why);
	for (unsigned k = 0; k < ndisks; k++) {
		if (disk_attach(disks[k], vm, why, sizeof(why))) /* no free slot */
			return undo_create(ctx, vm, "disk", disks[k]->name, why);
	}
	if (balloon == 1 || (balloon < 0 && c.kernel)) {
		if (balloon_attach(vm, why, sizeof(why)))
			return undo_create(ctx, vm, "balloon", "", why);
	}
	mprintf("vm %d (%s) created: %s, min %s, max %s, backed %s\n", vm->id, vm->name,
		c.mode == VM_MEM_STATIC ? "static" : "elastic", sz(a, c.min), sz(b, c.max),
		sz(why, vm->mem.backed));
	return 0;
}

/* The disks in the VM's virtio slots. */
static void show_disks(const struct vm *vm)
{
	unsigned shown = 0;

	for (unsigned i = 0; i < DISK_MAX; i++) {
		const struct disk *d = disk_slot(i);

		if (d->used && d->vm == vm)
			mprintf("%s%s (slot %u, %s)", shown++ ? ", " : "disks:   ", d->name, d->slot,
				d->node ? d->node->name : "pool");
	}
	if (shown)
		mprintf("\n");
}

static void list_line(const struct vm *vm)
{
	const struct vm_mem *m = &vm->mem;
	const struct vm_mem_stats *st = &m->st;
	uint64_t refaults = st->refaults[TAKE_RELEASED] + st->refaults[TAKE_VOLATILE] + st->refaults[TAKE_ZERO];
	char s[9][24];

	mprintf("%3d %-16s %-18s %8s %8s %8s %8s %8s %8s %8s %8s %9s %8llu %10llu %8llu %6llu\n", vm->id, vm->name,
		vm_state_name(vm->state), sz(s[0], m->min), sz(s[1], m->max), sz(s[2], m->backed),
		sz(s[3], m->wss.wss), sz(s[4], m->wss.idle), sz(s[5], st->taken[TAKE_RELEASED]),
		sz(s[6], st->taken[TAKE_VOLATILE]), sz(s[7], st->taken[TAKE_ZERO]), sz(s[8], st->harvested),
		(unsigned long long)refaults, (unsigned long long)vm->exits, (unsigned long long)m->faults_4k,
		(unsigned long long)m->faults_2m);
}

int cmd_vm_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	mprintf("%3s %-16s %-18s %8s %8s %8s %8s %8s %8s %8s %8s %9s %8s %10s %8s %6s\n", "id", "name", "state",
		"min", "max", "backed", "wss", "idle", "released", "volatile", "zero", "harvested", "refaults",
		"exits", "grow4k", "grow2m");
	for (int i = 0; i < VM_MAX; i++)
		if (vm_slot(i)->state != VM_FREE)
			list_line(vm_slot(i));
	return 0;
}

static struct vm *lookup(struct cmd_ctx *ctx, const char *cmd, const char *key)
{
	struct vm *vm = vm_find(key);

	if (!vm)
		cmd_error(ctx, "vm %s: no VM '%s' (see 'vm list')", cmd, key);
	return vm;
}

/* The local APIC and I/O APIC as the guest left them, and what went through them. */
static void show_interrupts(const struct vm *vm)
{
	const struct vlapic *l = &vm->irq.lapic;
	static const char *const modes[] = { "one-shot", "periodic", "TSC-deadline", "one-shot" };
	uint32_t lvt = l->lvt[LVT_TIMER];

	int irr = vlapic_highest(l->irr), isr = vlapic_highest(l->isr);

	mprintf("apic:    %s, TPR 0x%02x, highest requested %s%.0x, in service %s%.0x; timer %s %s%s; "
		"%llu interrupts injected, %llu timer expiries, %llu halts ended by one\n",
		!vlapic_enabled(l) ? "disabled" : l->svr & APIC_SVR_ENABLE ? "enabled" : "software-disabled",
		vlapic_get_tpr(l), irr < 0 ? "none" : "0x", irr < 0 ? 0 : irr, isr < 0 ? "none" : "0x",
		isr < 0 ? 0 : isr, modes[(lvt & APIC_LVT_TIMER_MODE) >> 17],
		lvt & APIC_LVT_MASKED ? "masked" : "unmasked", l->timer.armed ? ", armed" : "",
		(unsigned long long)vm->irq.injected, (unsigned long long)l->stats.timer_fired,
		(unsigned long long)vm->irq.wakeups);
	mprintf("ioapic:  %llu interrupts delivered, %llu dropped (SMI, NMI, INIT, ExtINT entries)\n",
		(unsigned long long)vm->irq.ioapic.stats.delivered, (unsigned long long)vm->irq.ioapic.stats.dropped);
}

/* Working set, what came back and how, refaults: what 'vm info' says about memory flowing back. */
static void show_memory_flow(const struct vm *vm)
{
	const struct vm_mem *m = &vm->mem;
	const struct vm_wss *w = &m->wss;
	char a[24], b[24], c[24], d[24], e[24];

	if (!w->scans)
		mprintf("working set: not scanned yet\n");
	else
		mprintf("working set: %s accessed in the last %u scan(s); idle (>= %u scans, above min): %s\n",
			sz(a, w->wss), harvest_policy.window, harvest_policy.idle_age, sz(b, w->idle));
	mprintf("idle ages: 0: %s, 1: %s, 2-3: %s, 4-7: %s, 8+: %s\n", sz(a, w->hist[0]), sz(b, w->hist[1]),
		sz(c, w->hist[2]), sz(d, w->hist[3]), sz(e, w->hist[4]));
	mprintf("scans:   %llu, the last %llu TSC ticks, all %llu ticks; 2 MiB leaves split %llu, merged %llu; "
		"probe faults %llu; %llu invalidations\n",
		(unsigned long long)w->scans, (unsigned long long)w->tsc, (unsigned long long)w->total_tsc,
		(unsigned long long)w->splits, (unsigned long long)w->merges, (unsigned long long)w->probe_faults,
		(unsigned long long)w->flushes);
	mprintf("taken:   released %s, volatile dropped %s (%llu pages volatile now), zero %s; harvested for others "
		"%s; %llu invalidations\n",
		sz(a, m->st.taken[TAKE_RELEASED]), sz(b, m->st.taken[TAKE_VOLATILE]),
		(unsigned long long)m->st.volatile_marked, sz(c, m->st.taken[TAKE_ZERO]), sz(d, m->st.harvested),
		(unsigned long long)m->st.flushes);
	mprintf("refaults: %llu released pages, %llu volatile, %llu zero touched again\n",
		(unsigned long long)m->st.refaults[TAKE_RELEASED], (unsigned long long)m->st.refaults[TAKE_VOLATILE],
		(unsigned long long)m->st.refaults[TAKE_ZERO]);
	mprintf("ahead:   %s backed ahead of sequential faults (at most %u pages at a time), %s of it never used "
		"(%s taken back untouched, %s untouched at the last scan)\n",
		sz(a, m->st.ahead), m->ahead_max, sz(b, m->st.ahead_unused + m->wss.ahead_untouched),
		sz(c, m->st.ahead_unused), sz(d, m->wss.ahead_untouched));
}

int cmd_vm_info(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "info", argv[0]);
	char a[24], b[24], c[24];

	(void)argc;
	if (!vm)
		return -1;
	mprintf("vm %d: %s\n", vm->id, vm->name);
	mprintf("image:   %s\n", vm->image);
	if (vm->linux_cmdline[0])
		mprintf("linux:   %s\n", vm->linux_cmdline);
	mprintf("state:   %s\n", vm_state_name(vm->state));
	mprintf("reason:  %s\n", vm->reason[0] ? vm->reason : "-");
	mprintf("memory:  %s, min %s, max %s, backed %s, nested tables %llu frames, %llu spare frames, "
		"2 MiB growth %s\n",
		vm->mem.mode == VM_MEM_STATIC ? "static" : "elastic", sz(a, vm->mem.min), sz(b, vm->mem.max),
		sz(c, vm->mem.backed), (unsigned long long)vm_mem_table_frames(&vm->mem),
		(unsigned long long)vm_mem_spare_frames(&vm->mem), vm->mem.grow_2m ? "on" : "off");
	mprintf("growth:  %llu faults served with 4 KiB, %llu with 2 MiB\n", (unsigned long long)vm->mem.faults_4k,
		(unsigned long long)vm->mem.faults_2m);
	show_memory_flow(vm);
	far_show_vm(vm);
	if (vm->state == VM_WAITING_MEM)
		mprintf("waiting: for a frame at guest-physical 0x%llx\n", (unsigned long long)vm->wait_gpa);
	show_disks(vm);
	show_balloon(vm);
	mprintf("exits:   %llu\n", (unsigned long long)vm->exits);
	show_interrupts(vm);
	mprintf("waited for memory: %llu TSC ticks\n",
		(unsigned long long)(vm->wait_tsc + (vm->state == VM_WAITING_MEM ? rdtsc() - vm->wait_since : 0)));
	mprintf("log:     %llu bytes from the guest ('vm log %s')\n", (unsigned long long)vm->log_head, vm->name);
	mprintf("guest tsc: %llu\n", (unsigned long long)vm->guest_tsc);
	for (int i = 0; i < vm->nresults; i++)
		mprintf("result %s = %lld\n", vm->results[i].name, (long long)vm->results[i].value);
	return 0;
}

/* start, pause, resume: state transitions from a table. */
#define IN(s) (1u << (s))

struct transition {
	const char *cmd;
	unsigned from; /* IN(state) for each state it may start from */
	enum vm_state to;
	const char *needs;
};

static const struct transition transitions[] = {
	{ "start", IN(VM_CREATED), VM_RUNNING, "created" },
	{ "pause", IN(VM_RUNNING) | IN(VM_WAITING_MEM) | IN(VM_IDLE), VM_PAUSED, "running, idle or waiting-for-memory" },
	{ "resume", IN(VM_PAUSED), VM_RUNNING, "paused" },
};

static int vm_transition_cmd(struct cmd_ctx *ctx, const char *cmd, const char *key)
{
	struct vm *vm = lookup(ctx, cmd, key);

	if (!vm)
		return -1;
	for (unsigned i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
		const struct transition *t = &transitions[i];

		if (strcmp(t->cmd, cmd))
			continue;
		if (!(t->from & IN(vm->state)))
			return cmd_error(ctx, "vm %s: '%s' is %s, not %s", cmd, vm->name, vm_state_name(vm->state),
					 t->needs);
		/* a resumed waiter faults again and parks again if need be; an idle VM idles on */
		if (t->to == VM_PAUSED)
			vm->resume_to = vm->state == VM_IDLE ? VM_IDLE : VM_RUNNING;
		if (vm->state == VM_CREATED)
			vm->start_tsc = rdtsc(); /* console lines are stamped from here */
		vm->state = vm->state == VM_PAUSED ? vm->resume_to : t->to;
		mprintf("vm %d (%s): %s\n", vm->id, vm->name, vm_state_name(vm->state));
		return 0;
	}
	return cmd_error(ctx, "vm: unknown subcommand '%s'", cmd);
}

int cmd_vm_start(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_transition_cmd(ctx, "start", argv[0]);
}

int cmd_vm_pause(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_transition_cmd(ctx, "pause", argv[0]);
}

int cmd_vm_resume(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_transition_cmd(ctx, "resume", argv[0]);
}

int cmd_vm_stop(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "stop", argv[0]);

	(void)argc;
	if (!vm)
		return -1;
	if (vm->state == VM_EXITED || vm->state == VM_STOPPED)
		return cmd_error(ctx, "vm stop: '%s' is %s already", vm->name, vm_state_name(vm->state));
	vm_stop(vm, VM_STOPPED, "stopped by the monitor");
	return 0;
}

int cmd_vm_destroy(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "destroy", argv[0]);
	uint64_t frames;
	int id;
	char name[EMHV_VM_NAME_MAX], why[160];

	(void)argc;
	if (!vm)
		return -1;
	id = vm->id;
	frames = vm_mem_frames(&vm->mem);
	snprintf(name, sizeof(name), "%s", vm->name);
	if (vm_destroy(vm, why, sizeof(why)))
		return cmd_error(ctx, "vm destroy %s: %s", name, why);
	mprintf("vm %d (%s) destroyed: %llu frames back in the pool\n", id, name, (unsigned long long)frames);
	return 0;
}

/*
 * Print bytes [from, head) of a ring of size bytes: printable ASCII and
 * newlines; what the ring no longer holds is said, not silently skipped.
 */
static uint64_t print_ring(const uint8_t *ring, uint64_t size, uint64_t head, uint64_t from)
{
	uint64_t to = head;
	char buf[128];
	unsigned n = 0;

	if (to - from > size) {
		mprintf("[... %llu earlier bytes dropped]\n", (unsigned long long)(to - from - size));
		from = to - size;
	}
	for (; from < to; from++) {
		char c = (char)ring[from % size];

		if (c == '\r')
			continue;
		buf[n++] = (c == '\n' || (c >= 0x20 && c < 0x7f)) ? c : '.';
		if (n == sizeof(buf)) {
			console_write(buf, n);
			n = 0;
		}
	}
	console_write(buf, n);
	return to;
}

static uint64_t print_console(struct vm *vm, uint64_t from)
{
	return print_ring(vm->console, VM_CONSOLE_BYTES, vm->con_head, from);
}

/* What 'vm console -f' follows: a VM by id, and how far its console has been printed. */
static struct {
	int id;
	uint64_t pos;
} following;

static bool follow(void *ctx)
{
	struct vm *vm = vm_slot(following.id - 1);

	(void)ctx;
	if (vm->id != following.id || vm->state == VM_FREE)
		return false; /* destroyed meanwhile */
	following.pos = print_console(vm, following.pos);
	return true;
}

/* The console's last lines, each after the host TSC ticks from 'vm start' to its first byte. */
static void print_stamped(struct vm *vm)
{
	uint64_t first = vm->con_lines > VM_CON_STAMPS ? vm->con_lines - VM_CON_STAMPS : 0;

	for (uint64_t l = first; l < vm->con_lines; l++) {
		uint64_t pos = vm->con_stamp[l % VM_CON_STAMPS].pos;
		uint64_t end = l + 1 < vm->con_lines ? vm->con_stamp[(l + 1) % VM_CON_STAMPS].pos : vm->con_head;

		if (vm->con_head - pos > VM_CONSOLE_BYTES)
			continue; /* its bytes are gone from the ring */
		mprintf("[%14llu] ", (unsigned long long)vm->con_stamp[l % VM_CON_STAMPS].ticks);
		print_ring(vm->console, VM_CONSOLE_BYTES, end, pos);
		if (end == vm->con_head && (pos == end || vm->console[(end - 1) % VM_CONSOLE_BYTES] != '\n'))
			mprintf("\n");
	}
}

int cmd_vm_console(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "console", argv[0]);

	if (!vm)
		return -1;
	if (argc == 2 && strcmp(argv[1], "-f") && strcmp(argv[1], "-t"))
		return cmd_error(ctx, "vm console: unknown option '%s' (usage: vm console VM [-f|-t])", argv[1]);
	if (argc == 2 && !strcmp(argv[1], "-t")) {
		print_stamped(vm);
		return 0;
	}
	following.pos = print_console(vm, 0);
	if (argc == 2) {
		if (ctx->origin)
			return cmd_error(ctx, "vm console -f: only at the console");
		following.id = vm->id;
		monitor_follow(follow, NULL);
	}
	return 0;
}

/* vm set VM [min=SIZE] [max=SIZE]: live bounds; a bad value changes nothing. */
int cmd_vm_set(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "set", argv[0]);
	uint64_t min, max;
	char why[160], a[24], b[24];

	if (!vm)
		return -1;
	min = vm->mem.min;
	max = vm->mem.max;
	for (int i = 1; i < argc; i++) {
		const char *val, *err;

		if (key_is(argv[i], "min", &val) || key_is(argv[i], "max", &val)) {
			uint64_t *to = argv[i][1] == 'i' ? &min : &max;

			if (parse_size(val, to, &err))
				return cmd_error(ctx, "vm set: %s: %s", argv[i], err);
		} else {
			return cmd_error(ctx, "vm set: '%s': min=SIZE or max=SIZE", argv[i]);
		}
	}
	if ((min | max) & (FRAME_SIZE - 1) || !min)
		return cmd_error(ctx, "vm set: min and max must be non-zero multiples of 4 KiB");
	if (min > max)
		return cmd_error(ctx, "vm set: min (%llu KiB) is above max (%llu KiB)", (unsigned long long)(min >> 10),
				 (unsigned long long)(max >> 10));
	if (max > EMHV_GUEST_MAX_RAM)
		return cmd_error(ctx, "vm set: max is above the %llu GiB a guest can have",
				 (unsigned long long)(EMHV_GUEST_MAX_RAM >> 30));
	if (vm->state == VM_EXITED || vm->state == VM_STOPPED)
		return cmd_error(ctx, "vm set: '%s' is %s", vm->name, vm_state_name(vm->state));
	if (vm->far.node && (min != vm->mem.min || max != vm->mem.max))
		return cmd_error(ctx, "vm set: '%s' has a far share: its bounds stay, its local memory is set with "
				 "'vm far %s local=SIZE'", vm->name, vm->name);
	if (vm->is_linux && max != vm->mem.max)
		return cmd_error(ctx, "vm set: '%s' is a Linux VM: the e820 map it booted with fixes max at %llu KiB",
				 vm->name, (unsigned long long)(vm->mem.max >> 10));
	if (vm_mem_set_bounds(&vm->mem, min, max, why, sizeof(why)))
		return cmd_error(ctx, "vm set %s: %s", vm->name, why);
	if (vm->state == VM_CREATED && !vm->is_linux)
		vm_load_set_bounds(vm); /* a guest not started yet reads them from its boot parameters */
	mprintf("vm %d (%s): min %s, max %s, backed %s\n", vm->id, vm->name, sz(a, min), sz(b, max),
		sz(why, vm->mem.backed));
	return 0;
}

int cmd_vm_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "log", argv[0]);

	(void)argc;
	if (!vm)
		return -1;
	print_ring((const uint8_t *)vm->log, VM_LOG_BYTES, vm->log_head, 0);
	return 0;
}

int cmd_vm_send(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = lookup(ctx, "send", argv[0]);
	const char *text = argv[1];
	unsigned n = (unsigned)strlen(text), done;

	(void)argc;
	if (!vm)
		return -1;
	done = vuart_input(&vm->uart, (const uint8_t *)text, n);
	done += vuart_input(&vm->uart, (const uint8_t *)"\r", 1);
	if (done != n + 1)
		return cmd_error(ctx, "vm send: '%s' has only room for %u of %u bytes", vm->name, done, n + 1);
	return 0;
}

