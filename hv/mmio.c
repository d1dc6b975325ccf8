/*
 * Emulated MMIO. Neither VT-x nor AMD-V without decode assists says what
 * an access to a device window was, only where: the faulting instruction is
 * read from guest memory through the guest's page tables and decoded
 * (hv/insn_decode.c: MOV, MOVZX, MOVSX, MOVSXD, MOV of an immediate), the
 * device on the bus answers, and the instruction is completed. Anything
 * else stops the VM with the instruction's bytes in the reason.
 */
#include <stdio.h>
#include <string.h>
#include "guest_insn.h"
#include "mmio.h"
#include "stats.h"

static const struct virt_backend *be(void)
{
	return virt_get();
}

static void bytes_hex(char *out, size_t n, const uint8_t *b, unsigned len)
{
	size_t pos = 0;

	out[0] = 0;
	for (unsigned i = 0; i < len && pos + 4 < n; i++)
		pos += (size_t)snprintf(out + pos, n - pos, "%s%02x", i ? " " : "", b[i]);
	if (!len)
		snprintf(out, n, "none readable");
}

enum exit_action mmio_exit(struct vm *vm, struct virt_exit *e)
{
	struct virt_vcpu *v = vm->vcpu;
	uint64_t rip = be()->get(v, VREG_RIP), regs[16], val = 0;
	uint8_t bytes[INSN_MAX_LEN];
	struct mmio_op op;
	struct insn in;
	unsigned n = 0;
	char hex[64];

	if (guest_decode(vm, rip, be()->get(v, VREG_CR3), &in, bytes, &n) || insn_mmio(&in, &op) ||
	    op.write != e->npf.write || !devbus_find(&vm->bus, BUS_MMIO, e->npf.gpa, op.size)) {
		bytes_hex(hex, sizeof(hex), bytes, n);
		vm_stop(vm, VM_STOPPED, "MMIO %s at guest-physical 0x%llx by an instruction emhv does not emulate "
			"(RIP 0x%llx: %s)", e->npf.write ? "write" : "read", (unsigned long long)e->npf.gpa,
			(unsigned long long)rip, hex);
		return EXIT_STOP;
	}
	memcpy(regs, v->gprs.r, sizeof(regs));
	regs[GPR_RSP] = be()->get(v, VREG_RSP);
	hv_stats.mmio++;
	if (op.write) {
		devbus_write(&vm->bus, BUS_MMIO, e->npf.gpa, op.size, mmio_store_value(&op, regs));
	} else {
		devbus_read(&vm->bus, BUS_MMIO, e->npf.gpa, op.size, &val);
		mmio_load_complete(&op, regs, val);
		if (op.reg == GPR_RSP && !op.high8)
			be()->set(v, VREG_RSP, regs[GPR_RSP]);
		regs[GPR_RSP] = v->gprs.r[GPR_RSP];
		memcpy(v->gprs.r, regs, sizeof(regs));
	}
	e->insn_len = in.len;
	return vm_exit_complete(vm, e);
}
