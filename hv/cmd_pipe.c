/* Monitor commands 'pipe create/list/info/destroy': pipes between VMs (hv/pipe.c). */
#include <stdio.h>
#include <string.h>
#include "cmdline.h"
#include "commands.h"
#include "console.h"
#include "pipe.h"
#include "vm.h"

static const char *const mode_names[] = { [PIPE_DYNAMIC] = "dynamic", [PIPE_STATIC] = "static" };

static struct pipe *lookup(struct cmd_ctx *ctx, const char *cmd, const char *name)
{
	struct pipe *p = pipe_find(name);

	if (!p)
		cmd_error(ctx, "pipe %s: no pipe '%s' (see 'pipe list')", cmd, name);
	return p;
}

/* pipe create NAME A B [max=SIZE] [mode=dynamic|static] */
int cmd_pipe_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *ends[2];
	uint64_t size = PIPE_DEFAULT_SIZE;
	enum pipe_mode mode = PIPE_DYNAMIC;
	const char *why;
	char err[160];

	for (int k = 0; k < 2; k++) {
		ends[k] = vm_find(argv[1 + k]);
		if (!ends[k])
			return cmd_error(ctx, "pipe create: no VM '%s' (see 'vm list')", argv[1 + k]);
	}
	for (int i = 3; i < argc; i++) {
		if (!strncmp(argv[i], "max=", 4)) {
			if (parse_size(argv[i] + 4, &size, &why))
				return cmd_error(ctx, "pipe create: '%s': %s", argv[i], why);
		} else if (!strcmp(argv[i], "mode=dynamic") || !strcmp(argv[i], "mode=static")) {
			mode = !strcmp(argv[i], "mode=static") ? PIPE_STATIC : PIPE_DYNAMIC;
		} else {
			return cmd_error(ctx, "pipe create: '%s': expected max=SIZE or mode=dynamic|static", argv[i]);
		}
	}
	if (pipe_create(argv[0], ends[0], ends[1], size, mode, err, sizeof(err)))
		return cmd_error(ctx, "pipe create %s: %s", argv[0], err);
	mprintf("pipe %s: %s -> %s, %s, %s region\n", argv[0], ends[0]->name, ends[1]->name,
		format_size(err, sizeof(err), size), mode_names[mode]);
	return 0;
}

static const char *end_name(const struct pipe_end *e, char *buf, size_t n)
{
	if (e->vm)
		snprintf(buf, n, "%s", e->vm->name);
	else
		snprintf(buf, n, "(vm%d-gone)", e->vm_id); /* one word in the listing */
	return buf;
}

static const char *state_of(const struct pipe *p)
{
	if (p->broken[0])
		return "broken";
	if (!p->end[PIPE_SEND].vm || !p->end[PIPE_RECV].vm)
		return "half-closed";
	return "open";
}

/* Utilisation over the samples so far: bytes in flight over bytes of data area allocated, in 0.1 %. */
static unsigned util_permille(const struct pipe *p)
{
	return p->alloc_sum ? (unsigned)(p->used_sum * 1000 / p->alloc_sum) : 0;
}

int cmd_pipe_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	mprintf("%-12s %-12s %-12s %-7s %-11s %8s %9s %9s %9s %6s %10s %12s %8s\n", "name", "sender", "receiver",
		"mode", "state", "size_k", "alloc_k", "inuse_k", "peak_k", "util%", "messages", "bytes",
		"notifies");
	for (unsigned i = 0; i < PIPE_MAX; i++) {
		const struct pipe *p = pipe_slot(i);
		char a[EMHV_VM_NAME_MAX + 16], b[EMHV_VM_NAME_MAX + 16];
		unsigned u;

		if (!p->used)
			continue;
		u = util_permille(p);
		mprintf("%-12s %-12s %-12s %-7s %-11s %8llu %9llu %9llu %9llu %4u.%u %10llu %12llu %8llu\n", p->name,
			end_name(&p->end[PIPE_SEND], a, sizeof(a)), end_name(&p->end[PIPE_RECV], b, sizeof(b)),
			mode_names[p->mode], state_of(p), (unsigned long long)(p->size >> 10),
			(unsigned long long)(p->allocated * FRAME_SIZE >> 10),
			(unsigned long long)((p->head - p->tail) >> 10), (unsigned long long)(p->peak * FRAME_SIZE >> 10),
			u / 10, u % 10, (unsigned long long)p->messages, (unsigned long long)p->bytes,
			(unsigned long long)(p->end[PIPE_SEND].notifies + p->end[PIPE_RECV].notifies));
	}
	return 0;
}

int cmd_pipe_info(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct pipe *p = lookup(ctx, "info", argv[0]);
	unsigned u;

	(void)argc;
	if (!p)
		return -1;
	u = util_permille(p);
	mprintf("pipe:      %s (%s, %s)\n", p->name, mode_names[p->mode], state_of(p));
	for (unsigned k = 0; k < PIPE_ENDS; k++) {
		const struct pipe_end *e = &p->end[k];
		char n[EMHV_VM_NAME_MAX + 16];

		mprintf("%-10s %s, virtio slot %u (registers 0x%llx, irq line %u, region at 0x%llx), %s; sent %llu "
			"events, given %llu, dropped %llu\n", k == PIPE_SEND ? "sender:" : "receiver:",
			end_name(e, n, sizeof(n)), e->slot,
			(unsigned long long)(EMHV_VIRTIO_MMIO_GPA + e->slot * EMHV_VIRTIO_MMIO_SIZE),
			EMHV_VIRTIO_IRQ_BASE + e->slot, (unsigned long long)vm_virtio_shm_base(e->slot),
			e->vm ? (virtio_mmio_live(&e->t) ? "driver ok" : "driver not ready") : "closed",
			(unsigned long long)e->notifies, (unsigned long long)e->events, (unsigned long long)e->dropped);
	}
	mprintf("region:    %llu KiB: header 4 KiB, data %llu KiB; %llu pages backed (%llu frames of the pipe's), "
		"peak %llu\n", (unsigned long long)(p->size >> 10), (unsigned long long)(p->data_size >> 10),
		(unsigned long long)p->allocated, (unsigned long long)pipe_frames(p), (unsigned long long)p->peak);
	mprintf("paging:    %llu pages backed on faults, %llu given back while open, margin %llu pages after head, "
		"pace %llu pages per tick\n", (unsigned long long)p->faults, (unsigned long long)p->taken,
		(unsigned long long)p->margin, (unsigned long long)p->pace);
	mprintf("ring:      head %llu, tail %llu, in flight %llu bytes\n", (unsigned long long)p->head,
		(unsigned long long)p->tail, (unsigned long long)(p->head - p->tail));
	mprintf("use:       %llu samples while data flowed: on average %llu bytes in flight of %llu allocated "
		"(utilisation %u.%u%%)\n", (unsigned long long)p->samples,
		(unsigned long long)(p->samples ? p->used_sum / p->samples : 0),
		(unsigned long long)(p->samples ? p->alloc_sum / p->samples : 0), u / 10, u % 10);
	mprintf("passed:    %llu messages, %llu bytes%s\n", (unsigned long long)p->messages,
		(unsigned long long)p->bytes, p->uncounted ? " (some passed uncounted)" : "");
	if (p->broken[0])
		mprintf("broken:    %s\n", p->broken);
	return 0;
}

int cmd_pipe_destroy(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct pipe *p = lookup(ctx, "destroy", argv[0]);
	uint64_t frames;
	char why[160];

	(void)argc;
	if (!p)
		return -1;
	frames = pipe_frames(p);
	if (pipe_destroy(p, why, sizeof(why)))
		return cmd_error(ctx, "pipe destroy %s: %s", argv[0], why);
	mprintf("pipe %s destroyed: %llu frames back in the pool\n", argv[0], (unsigned long long)frames);
	return 0;
}
