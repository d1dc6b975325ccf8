/* Virtual machines: the table of VMs, their lifecycle and state. */
#ifndef EMHV_HV_VM_H
#define EMHV_HV_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <emhv/guest_boot.h>
#include <emhv/hypercall.h>
#include "arch/x86_64/virt.h"
#include "devbus.h"
#include "drivers/vdev/vpm.h"
#include "drivers/vdev/vpit.h"
#include "drivers/vdev/vrtc.h"
#include "drivers/vdev/vuart.h"
#include "mm/far.h"
#include "mm/vm_mem.h"
#include "vcpu_event.h"
#include "vm_irq.h"
#include "vm_virtio.h"

#define VM_MAX 16
#define VM_CONSOLE_BYTES 16384
#define VM_REASON_MAX 160
#define VM_LOG_BYTES 4096 /* the guest's own log lines (EMHV_HC_LOG), one frame */
#define VM_CON_STAMPS 256 /* console lines whose start time is kept */

enum vm_state {
	VM_FREE,	    /* unused slot */
	VM_CREATED,	    /* loaded, not started */
	VM_RUNNING,	    /* runnable */
	VM_PAUSED,
	VM_WAITING_MEM,	    /* parked until the pool has frames again */
	VM_IDLE,	    /* HLT with interrupts on: runs again when an interrupt is deliverable */
	VM_HALTED,	    /* HLT with interrupts off: only an NMI, SMI, INIT or reset would wake it */
	VM_EXITED,	    /* the guest exited through the hypercall */
	VM_STOPPED,	    /* stopped by the monitor or for a reason */
};

struct vm_result {
	char name[EMHV_RESULT_NAME_MAX + 1];
	int64_t value;
};

struct vm {
	int id; /* 1..VM_MAX, also the frame owner id */
	char name[EMHV_VM_NAME_MAX];
	char image[48];
	bool is_linux; /* a Linux kernel (hv/linux_load.c): its e820 map fixed max at creation */
	char linux_cmdline[512]; /* a Linux VM: its initrd and the kernel's command line, for 'vm info' */
	enum vm_state state;
	char reason[VM_REASON_MAX]; /* why it stopped, or "" */
	int64_t exit_status;
	struct vm_mem mem;
	struct vm_far far; /* its far share, when it has one (mm/far.c) */
	struct virt_vcpu *vcpu;
	struct vuart uart;
	struct vpm pm; /* power-off, reset and panic (drivers/vdev/vpm.c) */
	struct vrtc rtc;
	struct vpit pit;
	uint8_t *console; /* VM_CONSOLE_BYTES ring */
	uint64_t con_head; /* bytes ever written; the ring keeps the last VM_CONSOLE_BYTES */
	uint64_t start_tsc; /* host TSC when 'vm start' started it */
	struct {
		uint64_t pos, ticks; /* where a console line began, and the host TSC ticks since the start then */
	} con_stamp[VM_CON_STAMPS];
	uint64_t con_lines; /* lines ever begun; con_stamp keeps the last VM_CON_STAMPS */
	char *log;	   /* VM_LOG_BYTES ring of the guest's log lines */
	uint64_t log_head; /* bytes ever written */
	struct devbus bus;
	struct vm_virtio virtio; /* its virtio-mmio slots (hv/vm_virtio.c) */
	struct vcpu_events ev;
	struct vm_irq irq;
	enum vm_state resume_to; /* VM_PAUSED: the state 'vm resume' returns it to */
	/* harvesting (hv/harvest.c): when it was last scanned, whether it was asked for memory, where to go on */
	uint64_t scan_tsc;
	bool harvest_asked;
	uint64_t harvest_next[TAKE_HOWS];
	/* per source: what a sweep from 0 took so far, and the scan count + 1 when the last full
	 * sweep took nothing (the VM is passed over until its next scan) */
	uint64_t harvest_sweep_got[TAKE_HOWS], harvest_barren[TAKE_HOWS];
	bool intr_window; /* the backend exits when the guest can take an interrupt */
	struct vm_result results[EMHV_MAX_RESULTS];
	int nresults;
	uint64_t exits;
	uint64_t guest_tsc; /* TSC ticks inside the guest (entry to exit) */
	uint64_t wait_gpa;  /* the fault it waits to have served, when VM_WAITING_MEM */
	uint64_t wait_since, wait_tsc; /* when it began waiting; TSC ticks it waited for memory in all */
	/* spin: a far fault's latency, when longer than FAR_SPIN_IN_PLACE_US, ends at this TSC; the VM
	 * stays running but is not entered before (the scheduler runs others and the monitor meanwhile) */
	uint64_t far_until;
};

/* Parsed `vm create` arguments. */
struct vm_config {
	const char *name, *image;
	const char *kernel, *initrd, *cmdline; /* a Linux VM: kernel instead of image (hv/linux_load.c) */
	uint64_t min, max;
	enum vm_mem_mode mode;
	bool no_2m; /* grow in 4 KiB frames only */
	struct far_node *far; /* a far share on this node (NULL: none) of all but local bytes */
	uint64_t local;
	enum far_mode inject;
	int argc;
	char *const *argv;
};

/* Create a VM in VM_CREATED; NULL with why. */
struct vm *vm_create(const struct vm_config *c, char *why, size_t n);
/* Return all of the VM to the pool; 0, or -1 with why when the pool refused frames (they stay lost). */
int vm_destroy(struct vm *vm, char *why, size_t n);
/* Stop the VM with a reason (printed on the monitor and logged). */
void vm_stop(struct vm *vm, enum vm_state state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* By name or by id; NULL if none. */
struct vm *vm_find(const char *name_or_id);
/* The VM in slot i (0..VM_MAX-1), whatever its state. */
struct vm *vm_slot(int i);
const char *vm_state_name(enum vm_state s);
/* Append guest output to the VM's console ring. */
void vm_console_put(struct vm *vm, uint8_t c);
/* Append a line from the guest to its log ring. */
void vm_log_line(struct vm *vm, const char *line, size_t n);

#endif
