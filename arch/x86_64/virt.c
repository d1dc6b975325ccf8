/* Pick and enable the virtualization backend this CPU offers: VT-x (vmx/) or AMD-V (svm/). */
#include <stdio.h>
#include "cpuinfo.h"
#include "virt.h"

static const struct virt_backend *active;

const struct virt_backend *virt_init(char *why, size_t n)
{
	const struct virt_backend *b;

	switch (cpu_virt_kind()) {
	case CPU_VIRT_VMX:
		b = &vmx_backend;
		break;
	case CPU_VIRT_SVM:
		snprintf(why, n, "AMD-V is not supported by this build yet (VT-x only)");
		return NULL;
	default:
		snprintf(why, n, "the CPU offers neither VT-x nor AMD-V");
		return NULL;
	}
	if (b->probe(why, n) || b->enable_cpu(why, n))
		return NULL;
	active = b;
	return b;
}

const struct virt_backend *virt_get(void)
{
	return active;
}
