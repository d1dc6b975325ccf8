/*
 * emhv pipes: one-way channels between two co-located VMs through a shared
 * memory region that the hypervisor grows and shrinks with use. Shared by
 * the hypervisor (hv/pipe.c) and guests (guests/runtime/virtio.c, the pipe
 * programs); a Linux driver could follow the same contract.
 *
 * The device. Each end is a virtio-mmio (version 2) device in one of the
 * VM's virtio slots: registers at EMHV_VIRTIO_MMIO_GPA + slot * 4 KiB,
 * interrupt on I/O APIC line EMHV_VIRTIO_IRQ_BASE + slot, shared-memory
 * region 0 (SHMSel 0) at EMHV_SHM_GPA + slot * EMHV_SHM_SLOT_SIZE, its length
 * the pipe's size (include/emhv/guest_boot.h). An empty slot reads
 * DeviceID 0. The device ID is EMHV_PIPE_DEVICE_ID: 56 is assigned by
 * neither the virtio specification (1.2 lists IDs up to 41) nor Linux's
 * include/uapi/linux/virtio_ids.h, and the IDs other projects took for their
 * own devices (crosvm: 48 and 61..63) are not it.
 *
 * Features: VIRTIO_F_VERSION_1 only. Configuration space: struct
 * emhv_pipe_config. Two virtqueues of up to EMHV_PIPE_QUEUE_MAX entries:
 *   queue 0 "notify" (driver to device): each buffer holds a u32 event for
 *           the other end (EMHV_PIPE_EV_DATA from the sender: "records were
 *           written"; EMHV_PIPE_EV_SPACE from the receiver: "records were
 *           consumed"). The device takes it, passes it on, and returns the
 *           buffer (used length 0).
 *   queue 1 "events" (device to driver): the driver makes device-writable
 *           buffers of at least 4 bytes available; the device writes one u32
 *           event into the next one when the other end sent one (used
 *           length 4) and interrupts as the ring's flags ask. An event
 *           arriving when no buffer is available is counted and dropped:
 *           events are hints, the header below is the truth.
 *
 * The region: page 0 is struct emhv_pipe_header, written by the hypervisor
 * at creation (magic, version, sizes); the data area follows at data_off.
 * The sender first sets reserve to the end of the bytes it is about to
 * write (head plus the record, and the skip record before it at the wrap),
 * then writes records at head and then advances head; the receiver reads
 * them at tail and then advances tail. head and tail count bytes ever
 * written and consumed, so head - tail is the bytes in flight and never
 * exceeds data_size; a record starts at data_off + (head % data_size).
 *
 * A record is a struct emhv_pipe_record and len bytes of payload, the whole
 * padded to EMHV_PIPE_ALIGN; it never wraps: when the bytes left before the
 * end of the data area cannot hold it, the sender first writes a record with
 * EMHV_PIPE_REC_SKIP whose length fills them (the receiver drops it). A
 * sender that finds the ring empty may do the same anywhere, to start again
 * at the front of the data area: a stream the receiver keeps up with then
 * uses only the first pages, and the others can go back to the pool. The
 * largest payload is EMHV_PIPE_MAX_RECORD(data_size).
 *
 * Waiting without spinning: a receiver that finds no record sets
 * recv_waiting to 1, checks head again, and sleeps until an event; a sender
 * that advanced head and finds recv_waiting set clears it and sends
 * EMHV_PIPE_EV_DATA. The same with send_waiting and EMHV_PIPE_EV_SPACE for a
 * sender waiting for room. A polling end needs neither, and no exit.
 *
 * Memory. In mode dynamic only the header page is backed at first. A touch
 * of an unbacked page of the region by either end backs it with a zeroed
 * frame mapped into both VMs, and with it the rest of the sender's
 * reservation (pages up to reserve's, not across the ring's end). Pages
 * outside [tail, reserve) (rounded out to pages; head where reserve is not in
 * [head, tail + data_size]) and a margin after it that follows recent use are
 * taken back by the hypervisor while the pipe runs, unless the sender at its
 * recent pace comes round to them again within a few milliseconds: a page
 * there may read as zeros when touched next. The
 * hypervisor looks only while neither end runs (emhv runs its guests on one
 * CPU), so bytes written below reserve are never lost. Mode static backs the whole region at creation. Nothing of
 * the region but the header and the data area is meaningful; a guest that
 * writes garbage into the header can only confuse its own pipe: the other
 * end must check what it reads (a record longer than the data in flight, a
 * head behind tail) and report the pipe as broken.
 */
#ifndef EMHV_PIPE_H
#define EMHV_PIPE_H

#include <stdint.h>

#define EMHV_PIPE_DEVICE_ID 56
#define EMHV_PIPE_MAGIC	    0x65706970 /* "pipe" */
#define EMHV_PIPE_VERSION   1
#define EMHV_PIPE_QUEUE_MAX 64
#define EMHV_PIPE_Q_NOTIFY  0
#define EMHV_PIPE_Q_EVENTS  1

/* Events in the notify and events queues. */
#define EMHV_PIPE_EV_DATA  1 /* sender to receiver: head moved */
#define EMHV_PIPE_EV_SPACE 2 /* receiver to sender: tail moved */

/* Which end a device is (struct emhv_pipe_config.role). */
#define EMHV_PIPE_ROLE_SEND 1
#define EMHV_PIPE_ROLE_RECV 2

/* The device's configuration space (read-only). */
struct emhv_pipe_config {
	uint32_t role;	     /* EMHV_PIPE_ROLE_SEND or _RECV */
	uint32_t peer_id;    /* the VM id of the other end */
	uint64_t size;	     /* bytes of the region (also SHM region 0's length) */
	char name[16];	     /* the pipe's name, NUL-padded */
};

#define EMHV_PIPE_ALIGN 8
#define EMHV_PIPE_REC_SKIP 1u /* record flag: filler up to the end of the data area */

struct emhv_pipe_record {
	uint32_t len;	/* payload bytes (a skip record: the bytes it covers after this header) */
	uint32_t flags; /* EMHV_PIPE_REC_SKIP, or 0 */
};

/* Bytes a record of len payload bytes takes in the data area. */
#define EMHV_PIPE_RECORD_BYTES(len) \
	(((uint64_t)(len) + sizeof(struct emhv_pipe_record) + EMHV_PIPE_ALIGN - 1) & ~(uint64_t)(EMHV_PIPE_ALIGN - 1))
/* The largest payload: half the data area, so that a skip record never leaves a record no room. */
#define EMHV_PIPE_MAX_RECORD(data_size) ((uint32_t)((data_size) / 2 - sizeof(struct emhv_pipe_record)))

/* Page 0 of the region; each side's fields on a cache line of their own. */
struct emhv_pipe_header {
	/* written by the hypervisor at creation */
	uint32_t magic;	    /* EMHV_PIPE_MAGIC */
	uint32_t version;   /* EMHV_PIPE_VERSION */
	uint64_t size;	    /* bytes of the region */
	uint64_t data_off;  /* 4096 */
	uint64_t data_size; /* size - data_off */
	uint8_t pad0[32];
	/* written by the sender (send_waiting is cleared by the receiver when it wakes the sender) */
	volatile uint64_t head;
	volatile uint32_t send_waiting;
	uint32_t pad1a;
	volatile uint64_t reserve; /* the sender may write below it before it publishes head */
	uint8_t pad1[40];
	/* written by the receiver (recv_waiting is cleared by the sender when it wakes the receiver) */
	volatile uint64_t tail;
	volatile uint32_t recv_waiting;
	uint8_t pad2[52];
};

_Static_assert(sizeof(struct emhv_pipe_header) == 192, "pipe header layout");
_Static_assert(__builtin_offsetof(struct emhv_pipe_header, head) == 64, "head on its own cache line");
_Static_assert(__builtin_offsetof(struct emhv_pipe_header, reserve) == 80, "reserve beside head");
_Static_assert(__builtin_offsetof(struct emhv_pipe_header, tail) == 128, "tail on its own cache line");

#define EMHV_PIPE_PAGE	   4096ULL /* the unit the region is backed in and given back in */
#define EMHV_PIPE_DATA_OFF EMHV_PIPE_PAGE
#define EMHV_PIPE_MIN_SIZE (EMHV_PIPE_DATA_OFF + 2 * EMHV_PIPE_PAGE)

#endif
