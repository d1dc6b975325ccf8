/*
 * Pipes between VMs (include/emhv/pipe.h is the guests' side of it): a
 * shared region, owned by the pipe in the frame accounting and mapped into
 * both VMs at their slot's shared-memory window, a virtio device at each
 * end that passes notifications across, and the region's growth on faults
 * and shrinking behind the receiver (mode dynamic).
 */
#ifndef EMHV_HV_PIPE_H
#define EMHV_HV_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/guest_boot.h>
#include <emhv/pipe.h>
#include "drivers/virtio/virtio_mmio.h"
#include "mm/frame.h"

#define PIPE_MAX	8
#define PIPE_NAME_MAX	16 /* with the NUL */
#define PIPE_MAX_PAGES	(EMHV_SHM_SLOT_SIZE / FRAME_SIZE)
/* Pipe i owns its frames as owner PIPE_OWNER_BASE + i (VM ids stay below it). */
#define PIPE_OWNER_BASE 64
#define PIPE_DEFAULT_SIZE (1ULL << 20)

struct vm;

enum pipe_mode { PIPE_DYNAMIC, PIPE_STATIC };
enum { PIPE_SEND, PIPE_RECV, PIPE_ENDS };

struct pipe;

struct pipe_end {
	struct pipe *pipe;
	struct vm *vm; /* NULL once closed */
	int vm_id;     /* kept for the listing after it closed */
	unsigned slot;
	struct virtio_mmio t;
	uint64_t notifies;	     /* events this end sent */
	uint64_t events, dropped;    /* events given to it, and dropped for want of a buffer */
};

struct pipe {
	bool used;
	char name[PIPE_NAME_MAX];
	unsigned owner;
	enum pipe_mode mode;
	uint64_t size, data_size;
	struct pipe_end end[PIPE_ENDS];
	uint64_t allocated, peak; /* pages backed now (the header included), and the most ever */
	uint64_t faults, taken;	  /* pages backed on a fault, and given back while it ran */
	/* the header as last read, and what the hypervisor saw pass */
	uint64_t head, tail, walked, messages, bytes;
	bool uncounted;			  /* records passed faster than they could be counted */
	char broken[96];		  /* why the header stopped making sense, or "" */
	uint64_t margin;		  /* pages kept after head: the recent in-flight peak, decaying */
	uint64_t pace;			  /* pages written per tick: the recent peak, decaying */
	/*
	 * Utilisation: bytes in flight over bytes allocated (the header not counted), averaged over the
	 * ticks while data flowed. Each sample stands for the interval before it: the mean of its two
	 * ends, the allocation at its start taken just after the last tick gave pages back, so that the
	 * pages the receiver passed meanwhile count for about the half of the interval they were held.
	 */
	uint64_t samples, used_sum, alloc_sum;
	uint64_t last_used, last_alloc; /* at the last tick: in flight, and allocated after it gave back */
	bool last_ok;			/* that tick sampled (data flowed) */
	/* the last skip record counted: its position and bytes (a sender's jump to the ring's start, never written) */
	uint64_t skip_at, skip_bytes;
	paddr_t page[PIPE_MAX_PAGES];
	uint64_t backed[PIPE_MAX_PAGES / 64]; /* bit i: page[i] is a frame (found without a walk of page[]) */
};

/* A pipe from a's sender end to b's receiver end; both VMs created, not started. 0, or -1 with why. */
int pipe_create(const char *name, struct vm *a, struct vm *b, uint64_t size, enum pipe_mode mode, char *why,
		size_t n);
/* Close both ends and return every frame (refused while an end's VM runs); 0, or -1 with why. */
int pipe_destroy(struct pipe *p, char *why, size_t n);
/* vm is going away: close its ends (the other end keeps its view); a pipe with no end left goes. */
void pipe_vm_gone(struct vm *vm);
struct pipe *pipe_find(const char *name);
struct pipe *pipe_slot(unsigned i);
/*
 * Every TICK_US (pipe.c): read each pipe's header, count what passed, sample its use, give back
 * what the receiver is done with. Called after every VM exit and between slices; cheap when not due.
 */
void pipe_tick(void);
/* Frames the pipe holds (from the pool's accounting). */
uint64_t pipe_frames(const struct pipe *p);
/* Needs a frame_check() just before it: every backed page one frame of the pipe's; 0, or -1 (why says). */
int pipe_verify(const struct pipe *p, char *why, size_t n);

#endif
