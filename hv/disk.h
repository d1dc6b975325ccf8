/*
 * Disks backed by the pool (MemFlex's swap on hypervisor memory): a virtio
 * block device whose sectors live in frames taken on first write only. A
 * sector never written reads as zeros; discard and write-zeroes give whole
 * pages back. A disk's frames are its own in the pool's accounting (owner
 * DISK_OWNER_BASE + slot), or with node= they are frames of a far memory
 * node, and then every request is charged that node's latency and a share of
 * its link (mm/far_node.h): the same disk is an emulated SSD or a remote
 * memory pool. The page index is two levels of frames of the disk's: a
 * directory of table frames, each table holding 512 page frames (2 MiB).
 */
#ifndef EMHV_HV_DISK_H
#define EMHV_HV_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drivers/virtio/virtio_blk.h"
#include "mm/far_node.h"
#include "mm/frame.h"

#define DISK_MAX	  8
#define DISK_NAME_MAX	  16 /* with the NUL */
/* Disk i owns its frames as owner DISK_OWNER_BASE + i (pipes own 64..71, far nodes 80..). */
#define DISK_OWNER_BASE	  72
#define DISK_SIZE_MAX	  (64ULL << 30)
#define DISK_TABLE_PAGES  512 /* pages one table frame indexes */

struct vm;

struct disk {
	bool used;
	char name[DISK_NAME_MAX];
	unsigned owner;
	uint64_t size;
	struct far_node *node; /* the medium: NULL for the pool */
	int link;	       /* the node's link slot it holds */
	paddr_t dir;	       /* directory: per table, its frame | the pages it holds (low 12 bits) */
	unsigned dir_order;
	uint64_t tables, pages, peak; /* table frames, page frames now, and the most pages ever */
	struct vm *vm;		      /* attached to, or NULL */
	int vm_id;		      /* of the last VM it was attached to, or -1 */
	unsigned slot;
	struct blk_store store;
	struct virtio_blk blk;
};

/* A disk of size bytes (4 KiB multiple, up to DISK_SIZE_MAX) on the pool or on node; 0, or -1 with why. */
int disk_create(const char *name, uint64_t size, struct far_node *node, char *why, size_t n);
/* Give every frame back; refused while attached to a VM that exists. 0, or -1 with why. */
int disk_destroy(struct disk *d, char *why, size_t n);
/* Is d in a VM that exists (the VM it was attached to may have gone since)? */
bool disk_in_use(const struct disk *d);
/* Put d in one of vm's virtio slots (vm created, not started; d not in use; a slot left); 0, or -1 with why. */
int disk_attach(struct disk *d, struct vm *vm, char *why, size_t n);
/* vm is going away: its disks are free again, their data kept. */
void disk_vm_gone(struct vm *vm);
struct disk *disk_find(const char *name);
struct disk *disk_slot(unsigned i);
/* Complete the requests whose time has come, on every disk. */
void disk_tick(void);
/* The earliest time a disk request is due, or 0. */
uint64_t disk_next_due(void);
/* Frames d holds of the pool (its own) and of its node. */
uint64_t disk_pool_frames(const struct disk *d);
/* Needs a frame_check() just before: the pool's count of d's frames as its index says. 0, or -1 (why says). */
int disk_verify(const struct disk *d, char *why, size_t n);

#endif
