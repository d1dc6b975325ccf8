/* A VM's guest-physical RAM: bounds, backing from the central pool, growth on nested-page faults, release. */
#ifndef EMHV_MM_VM_MEM_H
#define EMHV_MM_VM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "npt.h"

enum vm_mem_mode { VM_MEM_ELASTIC, VM_MEM_STATIC };

struct vm_mem {
	uint8_t owner;	    /* frame owner id = VM id */
	enum vm_mem_mode mode;
	bool grow_2m;	    /* may serve a fault with a 2 MiB frame */
	uint64_t min, max;  /* bytes; RAM is [0, max), [0, min) backed at creation */
	struct npt npt;
	uint64_t backed;    /* bytes of RAM backed */
	uint64_t faults_4k, faults_2m;
	uint64_t zero_tsc;  /* TSC ticks spent zeroing frames for faults */
	paddr_t spare;	    /* next of spare_n frames taken from the pool in one step, not yet used */
	unsigned spare_n;
	uint64_t free_errors; /* frames the pool refused to take back (bad_frame, bad_err: the last one) */
	paddr_t bad_frame;
	int bad_err;
};

/* 4 KiB frames are taken from the pool 2^VM_MEM_SPARE_ORDER at a time (they are the VM's meanwhile). */
#define VM_MEM_SPARE_ORDER 4

enum vm_fault_result {
	VM_FAULT_MAPPED,  /* a frame was mapped: resume the vCPU */
	VM_FAULT_NOMEM,   /* the pool is dry: park the vCPU and retry later */
	VM_FAULT_OUTSIDE, /* not RAM of this VM: stop it */
	VM_FAULT_BROKEN,  /* mapped already, yet the access faulted: stop it */
};

/*
 * Set up m and back [0, min) (static: [0, max)) with zeroed frames. min and
 * max must be 4 KiB multiples with 0 < min <= max. 0, or -1 with why.
 */
int vm_mem_init(struct vm_mem *m, uint8_t owner, uint64_t min, uint64_t max, enum vm_mem_mode mode,
		const struct npt_format *fmt, bool allow_2m, char *why, size_t n);
/* Serve an access to unbacked gpa. */
enum vm_fault_result vm_mem_fault(struct vm_mem *m, uint64_t gpa);
/* Return every frame (RAM and tables) to the pool. */
void vm_mem_release(struct vm_mem *m);
/*
 * Copy between the hypervisor and guest-physical [gpa, gpa + len), which
 * must lie in RAM; unbacked pages read as zero, and are backed when written.
 * 0, or -1 (outside RAM, or no frame for a write).
 */
int vm_mem_read(struct vm_mem *m, void *dst, uint64_t gpa, uint64_t len);
int vm_mem_write(struct vm_mem *m, uint64_t gpa, const void *src, uint64_t len);
/* Back every unbacked page of [gpa, gpa + len) (inside RAM); 0, or -1 when the pool is dry (some may be backed). */
int vm_mem_back(struct vm_mem *m, uint64_t gpa, uint64_t len);
/* Is [gpa, gpa + len) inside RAM (without wrapping)? */
bool vm_mem_in_ram(const struct vm_mem *m, uint64_t gpa, uint64_t len);
/*
 * Recount m's RAM and tables from its nested page tables, check that every
 * leaf frame is a block of m's owner of the leaf's size, and that the pool's
 * count of m's frames is RAM + tables + spares. 0 with a summary in why, or
 * -1 with the differences.
 */
int vm_mem_verify(struct vm_mem *m, char *why, size_t n);
/* Frames used for the nested tables. */
uint64_t vm_mem_table_frames(const struct vm_mem *m);
/* Frames the VM holds for its next 4 KiB faults and tables. */
static inline uint64_t vm_mem_spare_frames(const struct vm_mem *m)
{
	return m->spare_n;
}

#endif
