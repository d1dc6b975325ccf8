/* ELF64 file structures and the checker shared by the loader (hv.elf) and the core (guest images). */
#ifndef EMHV_ELF64_H
#define EMHV_ELF64_H

#include <stddef.h>
#include <stdint.h>

#define ELF64_ET_EXEC 2
#define ELF64_ET_DYN 3
#define ELF64_EM_X86_64 62
#define ELF64_PT_LOAD 1
#define ELF64_PT_DYNAMIC 2
#define ELF64_PF_X 1
#define ELF64_PF_W 2
#define ELF64_PF_R 4
#define ELF64_DT_NULL 0
#define ELF64_DT_RELA 7
#define ELF64_DT_RELASZ 8
#define ELF64_DT_RELAENT 9
#define ELF64_R_X86_64_NONE 0
#define ELF64_R_X86_64_RELATIVE 8

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type;
	uint16_t machine;
	uint32_t version;
	uint64_t entry;
	uint64_t phoff;
	uint64_t shoff;
	uint32_t flags;
	uint16_t ehsize;
	uint16_t phentsize;
	uint16_t phnum;
	uint16_t shentsize;
	uint16_t shnum;
	uint16_t shstrndx;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header layout");

struct elf64_phdr {
	uint32_t type;
	uint32_t flags;
	uint64_t offset;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header layout");

struct elf64_dyn {
	int64_t tag;
	uint64_t val;
};
_Static_assert(sizeof(struct elf64_dyn) == 16, "ELF64 dynamic entry layout");

struct elf64_rela {
	uint64_t offset;
	uint64_t info;
	int64_t addend;
};
_Static_assert(sizeof(struct elf64_rela) == 24, "ELF64 rela layout");

#define ELF64_MAX_SEGMENTS 8

/* One loadable segment, checked against the file. */
struct elf64_segment {
	uint64_t vaddr;
	uint64_t memsz;
	uint64_t offset;
	uint64_t filesz;
	uint32_t flags; /* ELF64_PF_* */
};

/* What elf64_parse() found in a valid file. */
struct elf64_image {
	uint16_t type;	   /* ELF64_ET_EXEC or ELF64_ET_DYN */
	uint64_t entry;	   /* as in the file (add the load bias for ET_DYN) */
	uint64_t lo, hi;   /* page-aligned span of all PT_LOAD segments */
	int nseg;
	struct elf64_segment seg[ELF64_MAX_SEGMENTS];
	uint64_t rela_off; /* vaddr of DT_RELA, 0 if none */
	uint64_t rela_size;
};

/*
 * Check that buf[0..len) is an ELF64 x86-64 executable (ET_EXEC or ET_DYN)
 * whose loadable segments lie inside the file, do not overlap, are
 * page-aligned and span at most max_span bytes. Fills img; returns 0, or -1
 * with *why set to a short reason.
 */
int elf64_parse(const void *buf, size_t len, uint64_t max_span, struct elf64_image *img,
		const char **why);

/*
 * Apply the R_X86_64_RELATIVE relocations of an ET_DYN image already copied
 * to mem (which holds img->hi - img->lo bytes for vaddr img->lo) and runs at
 * address bias + vaddr. Returns 0, or -1 with *why set.
 */
int elf64_relocate(const struct elf64_image *img, void *mem, uint64_t bias, const char **why);

#endif
