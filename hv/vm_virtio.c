/* A VM's virtio-mmio slots and their shared-memory windows (see vm_virtio.h). */
#include <stdio.h>
#include "console.h"
#include "vm.h"
#include "vm_irq.h"
#include "vm_virtio.h"

/* ---- the VM's RAM for devices: every address checked by vm_mem ---- */

static int ram_read(void *ctx, uint64_t gpa, void *dst, uint64_t len)
{
	return vm_mem_read(ctx, dst, gpa, len);
}

static int ram_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	return vm_mem_write(ctx, gpa, src, len);
}

static bool ram_in(void *ctx, uint64_t gpa, uint64_t len)
{
	return vm_mem_in_ram(ctx, gpa, len);
}

/* ---- the register windows ---- */

/* What an empty slot reads (virtio 1.2, 4.2.3.1.1: DeviceID 0 is "no device here"). */
static uint32_t empty_read(uint64_t offset)
{
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	default: return 0;
	}
}

static uint64_t slots_read(void *dev, uint64_t offset, unsigned size)
{
	struct vm *vm = dev;
	struct virtio_mmio *t = vm->virtio.slot[offset / EMHV_VIRTIO_MMIO_SIZE].t;

	offset %= EMHV_VIRTIO_MMIO_SIZE;
	if (t)
		return virtio_mmio_bus_ops.read(t, offset, size);
	return size == 4 && !(offset % 4) ? empty_read(offset) : 0;
}

static void slots_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vm *vm = dev;
	struct virtio_mmio *t = vm->virtio.slot[offset / EMHV_VIRTIO_MMIO_SIZE].t;

	if (t) /* writes to an empty slot vanish */
		virtio_mmio_bus_ops.write(t, offset % EMHV_VIRTIO_MMIO_SIZE, size, val);
}

static const struct dev_ops slots_ops = { "virtio-mmio slots", slots_read, slots_write, NULL };

/* ---- the shared-memory windows: faults go to the slot's device ---- */

static int shm_fault(void *dev, uint64_t offset)
{
	struct vm *vm = dev;
	const struct vm_virtio_slot *s = &vm->virtio.slot[offset / EMHV_SHM_SLOT_SIZE];

	if (!s->t || !s->shm_fault)
		return DEVBUS_NOTHING;
	return s->shm_fault(s->dev, offset % EMHV_SHM_SLOT_SIZE);
}

/* memory, not registers: a fault in the window maps or stops (hv/vm_exit.c) */
static const struct dev_ops shm_ops = { "virtio shared memory", NULL, NULL, shm_fault };

int vm_virtio_init(struct vm *vm, char *why, size_t n)
{
	vm->virtio.mem = (struct guest_mem){ ram_read, ram_write, ram_in, &vm->mem };
	return devbus_claim(&vm->bus, BUS_MMIO, EMHV_VIRTIO_MMIO_GPA, EMHV_VIRTIO_SLOTS * EMHV_VIRTIO_MMIO_SIZE,
			    &slots_ops, vm, why, n) ||
	       devbus_claim(&vm->bus, BUS_MMIO, EMHV_SHM_GPA, EMHV_VIRTIO_SLOTS * EMHV_SHM_SLOT_SIZE, &shm_ops, vm,
			    why, n);
}

/* ---- attaching devices ---- */

static void slot_irq(void *ctx, bool level)
{
	struct vm_virtio_line *l = ctx;

	vm_irq_line(l->vm, l->line, level);
}

/* A step of the guest's driver the transport refused: one line in the hypervisor's log. */
static void slot_log(void *ctx, const char *msg)
{
	struct vm_virtio_line *l = ctx;
	char line[200];

	snprintf(line, sizeof(line), "vm %d (%s): virtio slot %u: %s", l->vm->id, l->vm->name,
		 l->line - EMHV_VIRTIO_IRQ_BASE, msg);
	log_line(line);
}

int vm_virtio_free_slot(struct vm *vm, char *why, size_t n)
{
	for (unsigned i = 0; i < EMHV_VIRTIO_SLOTS; i++)
		if (!vm->virtio.slot[i].t)
			return (int)i;
	snprintf(why, n, "VM '%s' has no free virtio slot (all %d taken)", vm->name, EMHV_VIRTIO_SLOTS);
	return -1;
}

void vm_virtio_env(struct vm *vm, unsigned slot, struct virtio_mmio_env *env)
{
	struct vm_virtio_line *l = &vm->virtio.line[slot];

	*l = (struct vm_virtio_line){ vm, EMHV_VIRTIO_IRQ_BASE + slot };
	*env = (struct virtio_mmio_env){ &vm->virtio.mem, slot_irq, slot_log, l };
}

void vm_virtio_attach(struct vm *vm, unsigned slot, const struct vm_virtio_slot *s)
{
	vm->virtio.slot[slot] = *s;
}

void vm_virtio_detach(struct vm *vm, unsigned slot)
{
	vm->virtio.slot[slot] = (struct vm_virtio_slot){ NULL, NULL, NULL };
	vm_irq_line(vm, EMHV_VIRTIO_IRQ_BASE + slot, false);
}
