/* Disks backed by the pool or by a far memory node (see disk.h). */
#include <stdio.h>
#include <string.h>
#include <emhv/x86.h>
#include "arch/x86_64/timer.h"
#include "cmdline.h"
#include "disk.h"
#include "vm.h"
#include "vm_virtio.h"

/* A directory entry: the table's frame, a present bit, and how many pages the table holds. */
#define DIR_PRESENT (1ULL << 11)
#define DIR_COUNT   0x7ffULL
/* A table entry: the page's frame and a present bit. */
#define PAGE_PRESENT 1ULL
#define ADDR	     (~0xfffULL)

static struct disk disks[DISK_MAX];
static unsigned disks_attached; /* so that the scheduler's loop looks at none when none is in a VM */

struct disk *disk_slot(unsigned i)
{
	return &disks[i];
}

struct disk *disk_find(const char *name)
{
	for (unsigned i = 0; i < DISK_MAX; i++)
		if (disks[i].used && !strcmp(disks[i].name, name))
			return &disks[i];
	return NULL;
}

uint64_t disk_pool_frames(const struct disk *d)
{
	return (1ULL << d->dir_order) + d->tables + (d->node ? 0 : d->pages);
}

static uint64_t *dir_of(const struct disk *d)
{
	return (uint64_t *)(uintptr_t)d->dir;
}

/* Directory entries: one per 2 MiB of the disk. */
static uint64_t dir_entries(const struct disk *d)
{
	return (d->size / FRAME_SIZE + DISK_TABLE_PAGES - 1) / DISK_TABLE_PAGES;
}

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & ADDR);
}

/* ---- the pages ---- */

static paddr_t page_frame_get(struct disk *d)
{
	paddr_t pa = d->node ? far_node_get(d->node) : frame_alloc(FRAME_ORDER_4K, d->owner);

	if (pa != FRAME_NONE)
		memset((void *)(uintptr_t)pa, 0, FRAME_SIZE);
	return pa;
}

static void page_frame_put(struct disk *d, paddr_t pa)
{
	if (d->node)
		far_node_put(d->node, pa);
	else
		frame_free(pa, FRAME_ORDER_4K, d->owner);
}

static const void *page_read(void *ctx, uint64_t index)
{
	const struct disk *d = ctx;
	uint64_t e = dir_of(d)[index / DISK_TABLE_PAGES], p;

	if (!(e & DIR_PRESENT))
		return NULL;
	p = table_at(e)[index % DISK_TABLE_PAGES];
	return p & PAGE_PRESENT ? (const void *)(uintptr_t)(p & ADDR) : NULL;
}

static void *page_write(void *ctx, uint64_t index)
{
	struct disk *d = ctx;
	uint64_t *e = &dir_of(d)[index / DISK_TABLE_PAGES], *slot;
	paddr_t pa;

	if (!(*e & DIR_PRESENT)) {
		pa = frame_alloc(FRAME_ORDER_4K, d->owner);
		if (pa == FRAME_NONE)
			return NULL;
		memset((void *)(uintptr_t)pa, 0, FRAME_SIZE);
		*e = pa | DIR_PRESENT;
		d->tables++;
	}
	slot = &table_at(*e)[index % DISK_TABLE_PAGES];
	if (*slot & PAGE_PRESENT)
		return (void *)(uintptr_t)(*slot & ADDR);
	pa = page_frame_get(d);
	if (pa == FRAME_NONE)
		return NULL; /* an empty table stays until the disk goes: it is one frame per 2 MiB at most */
	*slot = pa | PAGE_PRESENT;
	(*e)++;
	if (++d->pages > d->peak)
		d->peak = d->pages;
	return (void *)(uintptr_t)pa;
}

static void page_drop(void *ctx, uint64_t index)
{
	struct disk *d = ctx;
	uint64_t *e = &dir_of(d)[index / DISK_TABLE_PAGES], *slot;

	if (!(*e & DIR_PRESENT))
		return;
	slot = &table_at(*e)[index % DISK_TABLE_PAGES];
	if (!(*slot & PAGE_PRESENT))
		return;
	page_frame_put(d, *slot & ADDR);
	*slot = 0;
	d->pages--;
	if (!(--*e & DIR_COUNT)) { /* the table's last page: the table goes too */
		frame_free(*e & ADDR, FRAME_ORDER_4K, d->owner);
		*e = 0;
		d->tables--;
	}
}

/* ---- time: a node's latency and link, or nothing ---- */

static uint64_t disk_now(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static uint64_t disk_due(void *ctx, uint64_t now, uint64_t bytes)
{
	struct disk *d = ctx;

	if (!d->node)
		return now;
	return now + d->node->latency_ticks + (bytes ? far_node_move(d->node, (unsigned)d->link, now, bytes) : 0);
}

/* ---- creation and teardown ---- */

static void release(struct disk *d)
{
	uint64_t *dir = dir_of(d);

	for (uint64_t t = 0; t < dir_entries(d) && d->tables; t++) {
		if (!(dir[t] & DIR_PRESENT))
			continue;
		for (unsigned i = 0; i < DISK_TABLE_PAGES; i++)
			page_drop(d, t * DISK_TABLE_PAGES + i);
	}
	frame_free(d->dir, d->dir_order, d->owner);
	if (d->node)
		far_node_leave(d->node, (unsigned)d->link);
	d->used = false;
}

int disk_create(const char *name, uint64_t size, struct far_node *node, char *why, size_t n)
{
	uint64_t entries = (size / FRAME_SIZE + DISK_TABLE_PAGES - 1) / DISK_TABLE_PAGES;
	struct disk *d = NULL;
	unsigned order = 0;

	if (!is_name(name) || strlen(name) >= DISK_NAME_MAX) {
		snprintf(why, n, "'%s' is not a disk name (1 to %d letters, digits, '_', '-', '.')", name,
			 DISK_NAME_MAX - 1);
		return -1;
	}
	if (disk_find(name)) {
		snprintf(why, n, "a disk named '%s' exists already", name);
		return -1;
	}
	if (!size || size % FRAME_SIZE || size > DISK_SIZE_MAX) {
		snprintf(why, n, "size=%llu: a disk is a multiple of 4 KiB up to %llu GiB", (unsigned long long)size,
			 (unsigned long long)(DISK_SIZE_MAX >> 30));
		return -1;
	}
	for (unsigned i = 0; i < DISK_MAX && !d; i++)
		if (!disks[i].used)
			d = &disks[i];
	if (!d) {
		snprintf(why, n, "all %d disks are in use", DISK_MAX);
		return -1;
	}
	while ((FRAME_SIZE << order) < entries * sizeof(uint64_t))
		order++;
	memset(d, 0, sizeof(*d));
	d->owner = DISK_OWNER_BASE + (unsigned)(d - disks);
	d->dir = frame_alloc(order, d->owner);
	if (d->dir == FRAME_NONE) {
		snprintf(why, n, "no memory for its page index (%llu KiB)", (unsigned long long)(4ULL << order));
		return -1;
	}
	memset((void *)(uintptr_t)d->dir, 0, FRAME_SIZE << order);
	d->dir_order = order;
	if (node) {
		d->link = far_node_join(node);
		if (d->link < 0) {
			frame_free(d->dir, order, d->owner);
			snprintf(why, n, "node '%s' has no link slot left (%d users)", node->name, FAR_NODE_USERS);
			return -1;
		}
	}
	d->used = true;
	d->node = node;
	d->size = size;
	d->vm_id = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->store = (struct blk_store){ page_read, page_write, page_drop, disk_due, disk_now, d };
	return 0;
}

bool disk_in_use(const struct disk *d)
{
	return d->vm && d->vm->state != VM_FREE;
}

int disk_destroy(struct disk *d, char *why, size_t n)
{
	if (disk_in_use(d)) {
		snprintf(why, n, "it is attached to VM '%s' (%s): destroy the VM first", d->vm->name,
			 vm_state_name(d->vm->state));
		return -1;
	}
	release(d);
	return 0;
}

int disk_attach(struct disk *d, struct vm *vm, char *why, size_t n)
{
	struct virtio_mmio_env env;
	int slot;

	if (disk_in_use(d)) {
		snprintf(why, n, "disk '%s' is attached to VM '%s' already", d->name, d->vm->name);
		return -1;
	}
	if (vm->state != VM_CREATED) {
		snprintf(why, n, "VM '%s' was started: devices attach before 'vm start'", vm->name);
		return -1;
	}
	slot = vm_virtio_free_slot(vm, why, n);
	if (slot < 0)
		return -1;
	vm_virtio_env(vm, (unsigned)slot, &env);
	if (virtio_blk_init(&d->blk, d->size / VIRTIO_BLK_SECTOR_SIZE, d->name, &d->store, &env, why, n))
		return -1;
	d->vm = vm;
	disks_attached++;
	d->vm_id = vm->id;
	d->slot = (unsigned)slot;
	vm_virtio_attach(vm, d->slot, &(struct vm_virtio_slot){ &d->blk.t, NULL, &d->blk });
	return 0;
}

void disk_vm_gone(struct vm *vm)
{
	for (unsigned i = 0; i < DISK_MAX; i++) {
		struct disk *d = &disks[i];

		if (d->used && d->vm == vm) {
			vm_virtio_detach(vm, d->slot);
			d->vm = NULL;
			disks_attached--;
		}
	}
}

/* ---- running ---- */

void disk_tick(void)
{
	if (!disks_attached)
		return;
	for (unsigned i = 0; i < DISK_MAX; i++)
		if (disks[i].used && disks[i].vm)
			virtio_blk_poll(&disks[i].blk);
}

uint64_t disk_next_due(void)
{
	uint64_t due = 0;

	if (!disks_attached)
		return 0;
	for (unsigned i = 0; i < DISK_MAX; i++) {
		uint64_t t = disks[i].used && disks[i].vm ? virtio_blk_next_due(&disks[i].blk) : 0;

		if (t && (!due || t < due))
			due = t;
	}
	return due;
}

int disk_verify(const struct disk *d, char *why, size_t n)
{
	uint64_t held = frame_counted_frames(d->owner), tables = 0, pages = 0, bad = 0;
	const uint64_t *dir = dir_of(d);

	for (uint64_t t = 0; t < dir_entries(d); t++) {
		uint64_t here = 0;

		if (!(dir[t] & DIR_PRESENT))
			continue;
		tables++;
		for (unsigned i = 0; i < DISK_TABLE_PAGES; i++) {
			uint64_t p = table_at(dir[t])[i];
			unsigned order, owner;

			if (!(p & PAGE_PRESENT))
				continue;
			here++;
			if (frame_block_of(p & ADDR, &order, &owner) || order != FRAME_ORDER_4K ||
			    owner != (d->node ? d->node->owner : d->owner))
				bad++;
		}
		bad += here != (dir[t] & DIR_COUNT);
		pages += here;
	}
	if (bad || tables != d->tables || pages != d->pages || held != disk_pool_frames(d)) {
		snprintf(why, n, "%llu bad entries; index has %llu tables, %llu pages (counted %llu, %llu); the pool "
			 "says %llu frames, expected %llu", (unsigned long long)bad, (unsigned long long)tables,
			 (unsigned long long)pages, (unsigned long long)d->tables, (unsigned long long)d->pages,
			 (unsigned long long)held, (unsigned long long)disk_pool_frames(d));
		return -1;
	}
	snprintf(why, n, "%llu pages in %llu tables, %llu frames of the pool: ok", (unsigned long long)pages,
		 (unsigned long long)tables, (unsigned long long)held);
	return 0;
}
