/* Monitor commands 'disk create/list/info/attach/destroy': pool-backed virtio block devices (hv/disk.c). */
#include <stdio.h>
#include <string.h>
#include "cmdline.h"
#include "commands.h"
#include "console.h"
#include "disk.h"
#include "vm.h"

static struct disk *lookup(struct cmd_ctx *ctx, const char *cmd, const char *name)
{
	struct disk *d = disk_find(name);

	if (!d)
		cmd_error(ctx, "disk %s: no disk '%s' (see 'disk list')", cmd, name);
	return d;
}

/* disk create NAME size=SIZE [node=NODE] */
int cmd_disk_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct far_node *node = NULL;
	uint64_t size = 0;
	bool have_size = false;
	const char *why;
	char err[160], sz[24];

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "size=", 5)) {
			if (parse_size(argv[i] + 5, &size, &why))
				return cmd_error(ctx, "disk create: '%s': %s", argv[i], why);
			have_size = true;
		} else if (!strncmp(argv[i], "node=", 5)) {
			node = far_node_find(argv[i] + 5);
			if (!node)
				return cmd_error(ctx, "disk create: node '%s': no such node (see 'mem node list')",
						 argv[i] + 5);
		} else {
			return cmd_error(ctx, "disk create: '%s': expected size=SIZE or node=NODE", argv[i]);
		}
	}
	if (!have_size)
		return cmd_error(ctx, "disk create: size=SIZE is required");
	if (disk_create(argv[0], size, node, err, sizeof(err)))
		return cmd_error(ctx, "disk create %s: %s", argv[0], err);
	mprintf("disk %s: %s on %s%s, nothing backed until written\n", argv[0], format_size(sz, sizeof(sz), size),
		node ? "node " : "the pool", node ? node->name : "");
	return 0;
}

static const char *where(const struct disk *d, char *buf, size_t n)
{
	if (d->vm)
		snprintf(buf, n, "%s", d->vm->name);
	else
		snprintf(buf, n, "-");
	return buf;
}

/* disk list */
int cmd_disk_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	mprintf("%-16s %-16s %-8s %10s %10s %10s %9s %9s %12s %12s %9s %7s\n", "name", "vm", "medium", "size",
		"backed", "peak", "reads", "writes", "bytes-read", "bytes-written", "discards", "errors");
	for (unsigned i = 0; i < DISK_MAX; i++) {
		const struct disk *d = disk_slot(i);
		const struct virtio_blk_stats *st = &d->blk.st;
		char a[24], b[24], c[24], vm[24];

		if (!d->used)
			continue;
		mprintf("%-16s %-16s %-8s %10s %10s %10s %9llu %9llu %12llu %12llu %9llu %7llu\n", d->name,
			where(d, vm, sizeof(vm)), d->node ? d->node->name : "pool",
			format_size(a, sizeof(a), d->size), format_size(b, sizeof(b), d->pages * FRAME_SIZE),
			format_size(c, sizeof(c), d->peak * FRAME_SIZE), (unsigned long long)st->reads,
			(unsigned long long)st->writes, (unsigned long long)st->bytes_read,
			(unsigned long long)st->bytes_written, (unsigned long long)st->discards,
			(unsigned long long)(st->ioerr + st->unsupp));
	}
	return 0;
}

/* disk info NAME */
int cmd_disk_info(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct disk *d = lookup(ctx, "info", argv[0]);
	const struct virtio_blk_stats *st;
	char a[24];

	(void)argc;
	if (!d)
		return -1;
	st = &d->blk.st;
	mprintf("disk %s: %llu bytes (%llu sectors of 512)\n", d->name, (unsigned long long)d->size,
		(unsigned long long)(d->size / VIRTIO_BLK_SECTOR_SIZE));
	if (d->node)
		mprintf("medium: node %s (%llu ns, %llu bytes/s per request, link shared)\n", d->node->name,
			(unsigned long long)d->node->latency_ns, (unsigned long long)d->node->bw);
	else
		mprintf("medium: the pool (no added latency)\n");
	if (d->vm)
		mprintf("attached: VM %s, virtio slot %u, IRQ %u\n", d->vm->name, d->slot, EMHV_VIRTIO_IRQ_BASE + d->slot);
	else
		mprintf("attached: none%s\n", d->vm_id >= 0 ? " (its last VM is gone; its data stays)" : "");
	mprintf("backed: %llu pages (%s), peak %llu pages; index: %llu table frames + %u directory frames\n",
		(unsigned long long)d->pages, format_size(a, sizeof(a), d->pages * FRAME_SIZE),
		(unsigned long long)d->peak, (unsigned long long)d->tables, 1u << d->dir_order);
	mprintf("frames: %llu of the pool (owner %u)%s\n", (unsigned long long)disk_pool_frames(d), d->owner,
		d->node ? ", the pages on the node" : "");
	mprintf("requests: reads %llu, writes %llu, flushes %llu, get-id %llu, discards %llu, write-zeroes %llu\n",
		(unsigned long long)st->reads, (unsigned long long)st->writes, (unsigned long long)st->flushes,
		(unsigned long long)st->ids, (unsigned long long)st->discards, (unsigned long long)st->zeroes);
	mprintf("bytes: read %llu, written %llu; sectors discarded %llu, zeroed %llu\n",
		(unsigned long long)st->bytes_read, (unsigned long long)st->bytes_written,
		(unsigned long long)st->sectors_discarded, (unsigned long long)st->sectors_zeroed);
	mprintf("refused: %llu I/O errors, %llu unsupported%s%s\n", (unsigned long long)st->ioerr,
		(unsigned long long)st->unsupp, d->blk.last_refused[0] ? "; last: " : "", d->blk.last_refused);
	return 0;
}

/* disk attach NAME VM */
int cmd_disk_attach(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct disk *d = lookup(ctx, "attach", argv[0]);
	struct vm *vm = vm_find(argv[1]);
	char why[160];

	(void)argc;
	if (!d)
		return -1;
	if (!vm)
		return cmd_error(ctx, "disk attach: no VM '%s' (see 'vm list')", argv[1]);
	if (disk_attach(d, vm, why, sizeof(why)))
		return cmd_error(ctx, "disk attach %s: %s", argv[0], why);
	mprintf("disk %s attached to VM %s (virtio slot %u)\n", d->name, vm->name, d->slot);
	return 0;
}

/* disk destroy NAME */
int cmd_disk_destroy(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct disk *d = lookup(ctx, "destroy", argv[0]);
	char why[160];

	(void)argc;
	if (!d)
		return -1;
	if (disk_destroy(d, why, sizeof(why)))
		return cmd_error(ctx, "disk destroy %s: %s", argv[0], why);
	mprintf("disk %s destroyed: its frames are back\n", argv[0]);
	return 0;
}
