/*
 * A VM's virtio-mmio slots: EMHV_VIRTIO_SLOTS register windows of 4 KiB at
 * EMHV_VIRTIO_MMIO_GPA, each with its I/O APIC line (EMHV_VIRTIO_IRQ_BASE +
 * slot) and its shared-memory window (EMHV_SHM_GPA + slot *
 * EMHV_SHM_SLOT_SIZE), all claimed on the VM's bus at creation. An empty
 * slot answers as virtio-mmio does for "no device" (magic, version 2,
 * DeviceID 0); a device attached to a slot gets its register accesses, its
 * interrupt line and the nested-page faults in its shared-memory window.
 */
#ifndef EMHV_HV_VM_VIRTIO_H
#define EMHV_HV_VM_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <emhv/guest_boot.h>
#include "drivers/virtio/virtio_mmio.h"

struct vm;

struct vm_virtio_slot {
	struct virtio_mmio *t; /* NULL: empty */
	/* a nested-page fault offset bytes into the slot's shared-memory window: DEVBUS_MAPPED, ... */
	int (*shm_fault)(void *dev, uint64_t offset);
	void *dev;
};

struct vm_virtio_line {
	struct vm *vm;
	unsigned line;
};

struct vm_virtio {
	struct vm_virtio_slot slot[EMHV_VIRTIO_SLOTS];
	struct vm_virtio_line line[EMHV_VIRTIO_SLOTS];
	struct guest_mem mem; /* the VM's RAM as devices reach it */
};

/* Claim the slots' register and shared-memory windows on vm's bus; 0, or -1 with why. */
int vm_virtio_init(struct vm *vm, char *why, size_t n);
/* The first empty slot, or -1 with why (all taken). */
int vm_virtio_free_slot(struct vm *vm, char *why, size_t n);
/* The environment a transport in vm's slot needs (its RAM, its interrupt line). */
void vm_virtio_env(struct vm *vm, unsigned slot, struct virtio_mmio_env *env);
/* Put a device (its transport set up with vm_virtio_env) in an empty slot. */
void vm_virtio_attach(struct vm *vm, unsigned slot, const struct vm_virtio_slot *s);
/* Empty the slot again (its interrupt line low). */
void vm_virtio_detach(struct vm *vm, unsigned slot);
/* Guest-physical base of a slot's shared-memory window. */
static inline uint64_t vm_virtio_shm_base(unsigned slot)
{
	return EMHV_SHM_GPA + (uint64_t)slot * EMHV_SHM_SLOT_SIZE;
}

#endif
