/* AMD-V hardware definitions: the VMCB layout, intercepts, exit codes (AMD APM vol. 2, chapter 15 and appendix B). */
#ifndef ARCH_X86_64_SVM_HW_H
#define ARCH_X86_64_SVM_HW_H

#include <stddef.h>
#include <stdint.h>
#include <emhv/x86_msr.h>

/* CPUID 0x8000000A EDX */
#define SVM_FEAT_NP (1u << 0)
#define SVM_FEAT_NRIPS (1u << 3)
#define SVM_FEAT_FLUSH_BY_ASID (1u << 6)
#define SVM_FEAT_DECODE_ASSISTS (1u << 7)

/* CR intercepts (VMCB offset 0x00): reads in bits 15:0, writes in 31:16 */
#define INTERCEPT_CR_READ(n) (1u << (n))
#define INTERCEPT_CR_WRITE(n) (1u << (16 + (n)))
/* Exception intercepts (VMCB offset 0x08): one bit per vector */
#define INTERCEPT_EXCEPTION(v) (1u << (v))

/* Intercept vector 3 (VMCB offset 0x0c) */
#define INTERCEPT_INTR (1u << 0)
#define INTERCEPT_NMI (1u << 1)
#define INTERCEPT_SMI (1u << 2)
#define INTERCEPT_INIT (1u << 3)
#define INTERCEPT_VINTR (1u << 4)
#define INTERCEPT_RDPMC (1u << 15)
#define INTERCEPT_CPUID (1u << 18)
#define INTERCEPT_RSM (1u << 19)
#define INTERCEPT_INVD (1u << 22)
#define INTERCEPT_HLT (1u << 24)
#define INTERCEPT_INVLPGA (1u << 26)
#define INTERCEPT_IOIO (1u << 27)
#define INTERCEPT_MSR (1u << 28)
#define INTERCEPT_TASK_SWITCH (1u << 29)
#define INTERCEPT_SHUTDOWN (1u << 31)
/* Intercept vector 4 (VMCB offset 0x10) */
#define INTERCEPT_VMRUN (1u << 0)
#define INTERCEPT_VMMCALL (1u << 1)
#define INTERCEPT_VMLOAD (1u << 2)
#define INTERCEPT_VMSAVE (1u << 3)
#define INTERCEPT_STGI (1u << 4)
#define INTERCEPT_CLGI (1u << 5)
#define INTERCEPT_SKINIT (1u << 6)
#define INTERCEPT_RDTSCP (1u << 7)
#define INTERCEPT_WBINVD (1u << 9)
#define INTERCEPT_MONITOR (1u << 10)
#define INTERCEPT_MWAIT (1u << 11)
#define INTERCEPT_XSETBV (1u << 13)
/* Intercept vector 5 (VMCB offset 0x14) */
#define INTERCEPT_INVPCID (1u << 2)

#define TLB_CONTROL_NONE 0
#define TLB_CONTROL_FLUSH_ALL 1
#define TLB_CONTROL_FLUSH_ASID 3

#define V_TPR_MASK 0xfu
#define V_IRQ (1u << 8)
#define V_INTR_PRIO_SHIFT 16
#define V_IGN_TPR (1u << 20)
#define V_INTR_MASKING (1u << 24)
/* the bits of v_intr that make a virtual interrupt request (an interrupt window's, or an offered one) */
#define V_IRQ_REQUEST (V_IRQ | V_IGN_TPR | (0xfu << V_INTR_PRIO_SHIFT))
#define NP_ENABLE 1ULL

#define EVENTINJ_VALID (1u << 31)
#define EVENTINJ_ERROR_VALID (1u << 11)
#define EVENTINJ_TYPE_INTR (0u << 8)
#define EVENTINJ_TYPE_NMI (2u << 8)
#define EVENTINJ_TYPE_EXCEPTION (3u << 8)
#define EVENTINJ_TYPE_SOFT (4u << 8)
#define EVENTINJ_TYPE(i) (((i) >> 8) & 7)

/* Exit codes */
enum svm_exit {
	SVM_EXIT_CR4_READ = 0x04,
	SVM_EXIT_CR4_WRITE = 0x14,
	SVM_EXIT_CR8_WRITE = 0x18,
	SVM_EXIT_EXCP_MC = 0x52, /* 0x40 + vector */
	SVM_EXIT_INTR = 0x60,
	SVM_EXIT_NMI = 0x61,
	SVM_EXIT_SMI = 0x62,
	SVM_EXIT_INIT = 0x63,
	SVM_EXIT_VINTR = 0x64,
	SVM_EXIT_RDPMC = 0x6f,
	SVM_EXIT_TASK_SWITCH = 0x7d,
	SVM_EXIT_CPUID = 0x72,
	SVM_EXIT_RSM = 0x73,
	SVM_EXIT_INVD = 0x76,
	SVM_EXIT_PAUSE = 0x77,
	SVM_EXIT_HLT = 0x78,
	SVM_EXIT_INVLPGA = 0x7a,
	SVM_EXIT_IOIO = 0x7b,
	SVM_EXIT_MSR = 0x7c,
	SVM_EXIT_FERR_FREEZE = 0x7e,
	SVM_EXIT_SHUTDOWN = 0x7f,
	SVM_EXIT_VMRUN = 0x80,
	SVM_EXIT_VMMCALL = 0x81,
	SVM_EXIT_VMLOAD = 0x82,
	SVM_EXIT_VMSAVE = 0x83,
	SVM_EXIT_STGI = 0x84,
	SVM_EXIT_CLGI = 0x85,
	SVM_EXIT_SKINIT = 0x86,
	SVM_EXIT_RDTSCP = 0x87,
	SVM_EXIT_WBINVD = 0x89,
	SVM_EXIT_MONITOR = 0x8a,
	SVM_EXIT_MWAIT = 0x8b,
	SVM_EXIT_MWAIT_COND = 0x8c,
	SVM_EXIT_XSETBV = 0x8d,
	SVM_EXIT_INVPCID = 0xa2,
	SVM_EXIT_NPF = 0x400,
	SVM_EXIT_INVALID = 0xffffffffu, /* compare the low 32 bits */
};

/* IOIO exit information 1 */
#define IOIO_IN (1u << 0)
#define IOIO_STR (1u << 2)
#define IOIO_REP (1u << 3)
#define IOIO_SIZE_SHIFT 4 /* bits 4..6: 8, 16, 32 bits */
#define IOIO_PORT(i) ((uint16_t)((i) >> 16))

/* CR access exit information 1 with decode assists */
#define CR_INFO_VALID (1ULL << 63)
#define CR_INFO_GPR(i) ((uint8_t)((i) & 15))

/* NPF exit information 1 (a page-fault error code) */
#define NPF_PRESENT (1ULL << 0)
#define NPF_WRITE (1ULL << 1)
#define NPF_FETCH (1ULL << 4)

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib; /* type S DPL P in 7:0, AVL L DB G in 11:8 */
	uint32_t limit;
	uint64_t base;
};
_Static_assert(sizeof(struct vmcb_seg) == 16, "VMCB segment layout");

struct vmcb_control {
	uint32_t cr_intercepts;	       /* 0x000 */
	uint32_t dr_intercepts;	       /* 0x004 */
	uint32_t exception_intercepts; /* 0x008 */
	uint32_t intercept3;	       /* 0x00c */
	uint32_t intercept4;	       /* 0x010 */
	uint32_t intercept5;	       /* 0x014 */
	uint8_t reserved1[0x3c - 0x18];
	uint16_t pause_filter_threshold; /* 0x03c */
	uint16_t pause_filter_count;	 /* 0x03e */
	uint64_t iopm_base_pa;		 /* 0x040 */
	uint64_t msrpm_base_pa;		 /* 0x048 */
	uint64_t tsc_offset;		 /* 0x050 */
	uint32_t asid;			 /* 0x058 */
	uint8_t tlb_control;		 /* 0x05c */
	uint8_t reserved2[3];
	uint32_t v_intr;	 /* 0x060: V_TPR, V_IRQ, ..., V_INTR_MASKING (bit 24) */
	uint32_t v_intr_vector;	 /* 0x064 */
	uint64_t interrupt_shadow; /* 0x068 */
	uint64_t exit_code;	 /* 0x070 */
	uint64_t exit_info1;	 /* 0x078 */
	uint64_t exit_info2;	 /* 0x080 */
	uint64_t exit_int_info;	 /* 0x088 */
	uint64_t np_enable;	 /* 0x090 */
	uint8_t reserved3[0xa8 - 0x98];
	uint64_t event_inj;  /* 0x0a8 */
	uint64_t n_cr3;	     /* 0x0b0 */
	uint64_t lbr_virt;   /* 0x0b8 */
	uint32_t clean_bits; /* 0x0c0 */
	uint32_t reserved4;
	uint64_t next_rip; /* 0x0c8 */
	uint8_t reserved5[0x400 - 0xd0];
};
_Static_assert(offsetof(struct vmcb_control, intercept4) == 0x10, "VMCB control layout");
_Static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x40, "VMCB control layout");
_Static_assert(offsetof(struct vmcb_control, asid) == 0x58, "VMCB control layout");
_Static_assert(offsetof(struct vmcb_control, exit_code) == 0x70, "VMCB control layout");
_Static_assert(offsetof(struct vmcb_control, np_enable) == 0x90, "VMCB control layout");
_Static_assert(offsetof(struct vmcb_control, event_inj) == 0xa8, "VMCB control layout");
_Static_assert(offsetof(struct vmcb_control, next_rip) == 0xc8, "VMCB control layout");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area size");

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
	uint8_t reserved1[0x4cb - 0x4a0];
	uint8_t cpl; /* 0x4cb */
	uint32_t reserved2;
	uint64_t efer; /* 0x4d0 */
	uint8_t reserved3[0x548 - 0x4d8];
	uint64_t cr4;	 /* 0x548 */
	uint64_t cr3;	 /* 0x550 */
	uint64_t cr0;	 /* 0x558 */
	uint64_t dr7;	 /* 0x560 */
	uint64_t dr6;	 /* 0x568 */
	uint64_t rflags; /* 0x570 */
	uint64_t rip;	 /* 0x578 */
	uint8_t reserved4[0x5d8 - 0x580];
	uint64_t rsp; /* 0x5d8 */
	uint8_t reserved5[0x5f8 - 0x5e0];
	uint64_t rax;		 /* 0x5f8 */
	uint64_t star;		 /* 0x600 */
	uint64_t lstar;		 /* 0x608 */
	uint64_t cstar;		 /* 0x610 */
	uint64_t sfmask;	 /* 0x618 */
	uint64_t kernel_gs_base; /* 0x620 */
	uint64_t sysenter_cs;	 /* 0x628 */
	uint64_t sysenter_esp;	 /* 0x630 */
	uint64_t sysenter_eip;	 /* 0x638 */
	uint64_t cr2;		 /* 0x640 */
	uint8_t reserved6[0x668 - 0x648];
	uint64_t g_pat; /* 0x668 */
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB save layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB save layout");
_Static_assert(sizeof(struct vmcb) <= 4096, "a VMCB is one page");

#endif
