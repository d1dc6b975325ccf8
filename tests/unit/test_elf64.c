/* Unit tests (cmocka) for the ELF64 checker and relocator, hv/elf64.c; with -DELF64_TINY_SOURCE, a tiny PIE to check. */
#ifdef ELF64_TINY_SOURCE

/*
 * Built by mk/unit.mk with linker.ld into a real position-independent image
 * (text, rodata with .rela.dyn, data with .dynamic and .bss) that the test
 * below checks and relocates: two R_X86_64_RELATIVE relocations.
 */
static long counter;
long *volatile counter_ptr = &counter;
static const char msg[] = "emhv elf64 test image";
const char *volatile msg_ptr = msg;

void _start(void)
{
	for (;;)
		__asm__ volatile("hlt");
}

#else

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <emhv/elf64.h>

#define PG 0x1000ULL
#define NO_LIMIT UINT64_MAX

/*
 * The hand-built ET_DYN image (file offsets = addresses):
 *   0x0000  ELF header, program headers; text segment R X, 1 page, entry 0x400
 *   0x1000  data segment R W: .dynamic at 0x1000, .rela at 0x1100, 1 page in
 *           the file, 2 pages in memory (the second is .bss)
 * Relocations: RELATIVE at 0x1800, NONE, RELATIVE at 0x2ff8 (last word, .bss).
 */
#define DYN_LEN 0x2000
#define DYN_HI 0x3000
#define DYN_ENTRY 0x400
#define DYN_OFF 0x1000
#define RELA_OFF 0x1100
#define NRELA 3
#define R1_OFF 0x1800
#define R1_ADDEND 0x123
#define R2_OFF 0x1808 /* the NONE entry's offset: must stay untouched */
#define R3_OFF 0x2ff8
#define R3_ADDEND (-0x10)
#define MARK 0x1122334455667788ULL

static _Alignas(4096) uint8_t file[0x4000];
static size_t file_len;
static struct elf64_image img;
static const char *why;

static struct elf64_ehdr *ehdr(void)
{
	return (struct elf64_ehdr *)file;
}

static struct elf64_phdr *phdr(unsigned i)
{
	return (struct elf64_phdr *)(file + sizeof(struct elf64_ehdr)) + i;
}

static struct elf64_dyn *dyn(unsigned i)
{
	return (struct elf64_dyn *)(file + DYN_OFF) + i;
}

static struct elf64_rela *rela(unsigned i)
{
	return (struct elf64_rela *)(file + RELA_OFF) + i;
}

static void set_phdr(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		     uint64_t filesz, uint64_t memsz)
{
	struct elf64_phdr *p = phdr(i);

	p->type = type;
	p->flags = flags;
	p->offset = off;
	p->vaddr = p->paddr = vaddr;
	p->filesz = filesz;
	p->memsz = memsz;
	p->align = PG;
}

static void set_ehdr(uint16_t type, uint64_t entry, uint16_t phnum)
{
	struct elf64_ehdr *e = ehdr();

	memset(e, 0, sizeof(*e));
	memcpy(e->ident, "\x7f" "ELF", 4);
	e->ident[4] = 2; /* ELFCLASS64 */
	e->ident[5] = 1; /* ELFDATA2LSB */
	e->ident[6] = 1; /* EV_CURRENT */
	e->type = type;
	e->machine = ELF64_EM_X86_64;
	e->version = 1;
	e->entry = entry;
	e->phoff = sizeof(*e);
	e->ehsize = sizeof(*e);
	e->phentsize = sizeof(struct elf64_phdr);
	e->phnum = phnum;
}

static void build_dyn(void)
{
	memset(file, 0, sizeof(file));
	set_ehdr(ELF64_ET_DYN, DYN_ENTRY, 3);
	set_phdr(0, ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0, 0, PG, PG);
	set_phdr(1, ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_W, PG, PG, PG, 2 * PG);
	set_phdr(2, ELF64_PT_DYNAMIC, ELF64_PF_R | ELF64_PF_W, DYN_OFF, DYN_OFF,
		 4 * sizeof(struct elf64_dyn), 4 * sizeof(struct elf64_dyn));
	*dyn(0) = (struct elf64_dyn){ ELF64_DT_RELA, RELA_OFF };
	*dyn(1) = (struct elf64_dyn){ ELF64_DT_RELASZ, NRELA * sizeof(struct elf64_rela) };
	*dyn(2) = (struct elf64_dyn){ ELF64_DT_RELAENT, sizeof(struct elf64_rela) };
	*dyn(3) = (struct elf64_dyn){ ELF64_DT_NULL, 0 };
	*rela(0) = (struct elf64_rela){ R1_OFF, ELF64_R_X86_64_RELATIVE, R1_ADDEND };
	*rela(1) = (struct elf64_rela){ R2_OFF, ELF64_R_X86_64_NONE, 0x7777 };
	/* a symbol index in the high half of info is ignored for RELATIVE */
	*rela(2) = (struct elf64_rela){ R3_OFF, (5ULL << 32) | ELF64_R_X86_64_RELATIVE,
					R3_ADDEND };
	memcpy(file + R2_OFF, &(uint64_t){ MARK }, 8);
	memcpy(file + DYN_ENTRY, "\xf4\xeb\xfd", 3); /* hlt; jmp . */
	file_len = DYN_LEN;
}

/* ET_EXEC at 0x400000: one R X page, no dynamic section. */
#define EXEC_BASE 0x400000ULL

static void build_exec(void)
{
	memset(file, 0, sizeof(file));
	set_ehdr(ELF64_ET_EXEC, EXEC_BASE + 0x100, 1);
	set_phdr(0, ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0, EXEC_BASE, PG, PG);
	file_len = PG;
}

/* elf64_parse on an exact-size heap copy of file[0..len), so ASan sees any over-read. */
static int parse_len(size_t len, uint64_t max_span)
{
	void *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, file, len);
	memset(&img, 0xa5, sizeof(img));
	why = NULL;
	rc = elf64_parse(copy, len, max_span, &img, &why);
	free(copy);
	return rc;
}

static int parse(void)
{
	return parse_len(file_len, NO_LIMIT);
}

#define PARSE_FAILS(len, span, reason)                          \
	do {                                                    \
		assert_int_equal(parse_len(len, span), -1);     \
		assert_non_null(why);                           \
		assert_string_equal(why, reason);               \
	} while (0)

#define FAILS(reason) PARSE_FAILS(file_len, NO_LIMIT, reason)

/* Copy the segments of img (from f) into an exact-size zeroed buffer, as the loader does. */
static uint8_t *load(const uint8_t *f)
{
	uint8_t *mem = calloc(1, img.hi - img.lo);
	int i;

	assert_non_null(mem);
	for (i = 0; i < img.nseg; i++)
		memcpy(mem + (img.seg[i].vaddr - img.lo), f + img.seg[i].offset, img.seg[i].filesz);
	return mem;
}

/* Parse file, load it and relocate at bias; returns elf64_relocate's result. */
static int load_and_relocate(uint64_t bias, uint8_t **memp)
{
	uint8_t *mem;
	int rc;

	assert_int_equal(parse(), 0);
	mem = load(file);
	why = NULL;
	rc = elf64_relocate(&img, mem, bias, &why);
	if (memp)
		*memp = mem;
	else
		free(mem);
	return rc;
}

#define RELOC_FAILS(reason)                                         \
	do {                                                        \
		assert_int_equal(load_and_relocate(0x100000, NULL), -1); \
		assert_non_null(why);                               \
		assert_string_equal(why, reason);                   \
	} while (0)

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- valid images ---- */

static void test_parse_dyn(void **state)
{
	(void)state;
	build_dyn();
	assert_int_equal(parse(), 0);
	assert_int_equal(img.type, ELF64_ET_DYN);
	assert_int_equal(img.entry, DYN_ENTRY);
	assert_int_equal(img.lo, 0);
	assert_int_equal(img.hi, DYN_HI);
	assert_int_equal(img.nseg, 2);
	assert_int_equal(img.seg[0].vaddr, 0);
	assert_int_equal(img.seg[0].memsz, PG);
	assert_int_equal(img.seg[0].offset, 0);
	assert_int_equal(img.seg[0].filesz, PG);
	assert_int_equal(img.seg[0].flags, ELF64_PF_R | ELF64_PF_X);
	assert_int_equal(img.seg[1].vaddr, PG);
	assert_int_equal(img.seg[1].memsz, 2 * PG);
	assert_int_equal(img.seg[1].offset, PG);
	assert_int_equal(img.seg[1].filesz, PG);
	assert_int_equal(img.seg[1].flags, ELF64_PF_R | ELF64_PF_W);
	assert_int_equal(img.rela_off, RELA_OFF);
	assert_int_equal(img.rela_size, NRELA * sizeof(struct elf64_rela));
}

static void test_parse_exec(void **state)
{
	(void)state;
	build_exec();
	assert_int_equal(parse(), 0);
	assert_int_equal(img.type, ELF64_ET_EXEC);
	assert_int_equal(img.entry, EXEC_BASE + 0x100);
	assert_int_equal(img.lo, EXEC_BASE);
	assert_int_equal(img.hi, EXEC_BASE + PG);
	assert_int_equal(img.nseg, 1);
	assert_int_equal(img.rela_off, 0);
	assert_int_equal(img.rela_size, 0);
}

static void test_parse_unaligned_end(void **state)
{
	(void)state;
	/* hi is rounded up to a page; the entry may be anywhere below it */
	build_exec();
	phdr(0)->filesz = 0x10;
	phdr(0)->memsz = 0x11;
	ehdr()->entry = EXEC_BASE + PG - 1;
	assert_int_equal(parse(), 0);
	assert_int_equal(img.hi, EXEC_BASE + PG);
	/* a segment may have no bytes in the file (all .bss) */
	build_exec();
	phdr(0)->filesz = 0;
	phdr(0)->offset = file_len;
	phdr(0)->memsz = 3 * PG;
	assert_int_equal(parse(), 0);
	assert_int_equal(img.hi, EXEC_BASE + 3 * PG);
}

static void test_parse_ignores_other_headers(void **state)
{
	(void)state;
	/* PT_NULL, PT_NOTE, PT_GNU_STACK... are skipped whatever their fields */
	build_dyn();
	ehdr()->phnum = 5;
	set_phdr(3, 0, 0, ~0ULL, 3, ~0ULL, 0);
	set_phdr(4, 0x6474e551, 6, ~0ULL, 0x123, 5, 1);
	assert_int_equal(parse(), 0);
	assert_int_equal(img.nseg, 2);
	/* section headers are not looked at */
	ehdr()->shoff = ~0ULL;
	ehdr()->shnum = 0xffff;
	ehdr()->shentsize = 1;
	assert_int_equal(parse(), 0);
}

static void test_relocate_dyn(void **state)
{
	const uint64_t bias = 0xffffffff80000000ULL;
	uint8_t *mem;

	(void)state;
	build_dyn();
	assert_int_equal(load_and_relocate(bias, &mem), 0);
	assert_true(get64(mem + R1_OFF) == bias + R1_ADDEND);
	assert_true(get64(mem + R2_OFF) == MARK);
	assert_true(get64(mem + R3_OFF) == bias + (uint64_t)(int64_t)R3_ADDEND);
	/* nothing else changed */
	memcpy(mem + R1_OFF, file + R1_OFF, 8);
	memset(mem + R3_OFF, 0, 8);
	assert_memory_equal(mem, file, DYN_LEN);
	free(mem);

	/* bias 0: the addend itself */
	assert_int_equal(load_and_relocate(0, &mem), 0);
	assert_true(get64(mem + R1_OFF) == R1_ADDEND);
	free(mem);
}

static void test_relocate_no_relocations(void **state)
{
	(void)state;
	build_exec();
	assert_int_equal(load_and_relocate(0x1000, NULL), 0);
	/* an ET_DYN image without a dynamic section */
	build_dyn();
	ehdr()->phnum = 2;
	assert_int_equal(load_and_relocate(0x1000, NULL), 0);
	/* or with an empty one */
	build_dyn();
	dyn(0)->tag = ELF64_DT_NULL;
	assert_int_equal(load_and_relocate(0x1000, NULL), 0);
	assert_int_equal(img.rela_size, 0);
	/* DT_RELA far outside the image but no DT_RELASZ: nothing to do */
	build_dyn();
	dyn(0)->val = 0xffffff0000001058ULL;
	dyn(1)->tag = 0x6ffffff0;
	assert_int_equal(load_and_relocate(0x1000, NULL), 0);
	assert_int_equal(img.rela_size, 0);
}

static void test_relocate_all_none(void **state)
{
	uint8_t *mem;

	(void)state;
	build_dyn();
	rela(0)->info = ELF64_R_X86_64_NONE;
	rela(2)->info = ELF64_R_X86_64_NONE;
	rela(2)->offset = ~0ULL; /* not looked at for NONE */
	assert_int_equal(load_and_relocate(0x5000, &mem), 0);
	assert_memory_equal(mem, file, DYN_LEN);
	free(mem);
}

/* Read the whole file name into file[]. */
static void read_file(const char *name)
{
	FILE *f = fopen(name, "rb");

	if (!f)
		fail_msg("cannot open %s (built by mk/unit.mk)", name);
	memset(file, 0, sizeof(file));
	file_len = fread(file, 1, sizeof(file), f);
	assert_false(ferror(f));
	assert_true(feof(f) || fgetc(f) == EOF); /* all of it fits */
	fclose(f);
}

/* Map an address of the image to its file offset through the segments. */
static uint64_t file_offset(uint64_t vaddr)
{
	int i;

	for (i = 0; i < img.nseg; i++)
		if (vaddr >= img.seg[i].vaddr && vaddr < img.seg[i].vaddr + img.seg[i].filesz)
			return img.seg[i].offset + (vaddr - img.seg[i].vaddr);
	fail_msg("address 0x%llx is not in the file", (unsigned long long)vaddr);
	return 0;
}

/* A real image from gcc and ld with linker.ld: the same layout as hv.elf. */
static void test_real_image(void **state)
{
	const uint64_t bias = 0x12345000;
	const struct elf64_rela *r;
	uint64_t end;
	uint8_t *mem;
	unsigned i, n;

	(void)state;
	read_file(ELF64_TINY);
	assert_true(file_len > 0x3000);
	assert_int_equal(parse(), 0);
	assert_int_equal(img.type, ELF64_ET_DYN);
	assert_int_equal(img.lo, 0);
	assert_int_equal(img.nseg, 3);
	assert_int_equal(img.seg[0].flags, ELF64_PF_R | ELF64_PF_X);
	assert_int_equal(img.seg[1].flags, ELF64_PF_R);
	assert_int_equal(img.seg[2].flags, ELF64_PF_R | ELF64_PF_W);
	assert_true(img.entry < img.seg[0].memsz);
	assert_true(img.hi <= 0x10000);
	assert_int_equal(img.rela_size, 2 * sizeof(struct elf64_rela));
	/* ld puts .rela.dyn in the rodata segment */
	assert_true(img.rela_off >= img.seg[1].vaddr &&
		    img.rela_off + img.rela_size <= img.seg[1].vaddr + img.seg[1].filesz);
	/* a limit below its span refuses it */
	PARSE_FAILS(file_len, img.hi - img.lo - 1, "image too large");

	assert_int_equal(parse(), 0);
	mem = load(file);
	assert_int_equal(elf64_relocate(&img, mem, bias, &why), 0);
	/* check every word the relocations name, read straight from the file */
	r = (const struct elf64_rela *)(file + file_offset(img.rela_off));
	n = img.rela_size / sizeof(*r);
	for (i = 0; i < n; i++) {
		assert_int_equal((uint32_t)r[i].info, ELF64_R_X86_64_RELATIVE);
		assert_true(r[i].offset >= img.seg[2].vaddr && r[i].offset < img.hi);
		assert_true(get64(mem + r[i].offset) == bias + (uint64_t)r[i].addend);
		/* the pointers point into the image */
		assert_true((uint64_t)r[i].addend < img.hi);
	}
	free(mem);

	/* every truncation of the real file before the end of its last segment is refused */
	end = img.seg[2].offset + img.seg[2].filesz;
	assert_true(end <= file_len);
	for (i = 0; i < end; i += (i < 0x200 ? 1 : 61))
		assert_int_equal(parse_len(i, NO_LIMIT), -1);
	assert_int_equal(parse_len(end - 1, NO_LIMIT), -1);
}

/* ---- header errors ---- */

static void test_too_short(void **state)
{
	(void)state;
	build_dyn();
	PARSE_FAILS(0, NO_LIMIT, "file too short for an ELF header");
	PARSE_FAILS(1, NO_LIMIT, "file too short for an ELF header");
	PARSE_FAILS(63, NO_LIMIT, "file too short for an ELF header");
	PARSE_FAILS(64, NO_LIMIT, "program headers outside the file");
}

static void test_bad_ident(void **state)
{
	(void)state;
	build_dyn();
	file[0] = 0x7e;
	FAILS("not an ELF file");
	build_dyn();
	file[1] = 'e';
	FAILS("not an ELF file");
	build_dyn();
	file[2] = 'l';
	FAILS("not an ELF file");
	build_dyn();
	file[3] = 'f';
	FAILS("not an ELF file");
	build_dyn();
	file[4] = 1; /* ELFCLASS32 */
	FAILS("not ELF64");
	build_dyn();
	file[4] = 0;
	FAILS("not ELF64");
	build_dyn();
	file[5] = 2; /* big-endian */
	FAILS("not little-endian");
	build_dyn();
	ehdr()->machine = 3; /* i386 */
	FAILS("not x86-64");
	build_dyn();
	ehdr()->machine = 183; /* aarch64 */
	FAILS("not x86-64");
}

static void test_bad_type(void **state)
{
	static const uint16_t types[] = { 0, 1, 4, 5, 0xfe00, 0xffff };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		build_dyn();
		ehdr()->type = types[i];
		FAILS("not an executable");
	}
}

static void test_bad_phentsize(void **state)
{
	(void)state;
	build_dyn();
	ehdr()->phentsize = 32;
	FAILS("bad program header size");
	ehdr()->phentsize = 57;
	FAILS("bad program header size");
	ehdr()->phentsize = 0;
	FAILS("bad program header size");
}

static void test_phdrs_outside(void **state)
{
	const size_t ph_end = sizeof(struct elf64_ehdr) + 3 * sizeof(struct elf64_phdr);

	(void)state;
	build_dyn();
	ehdr()->phnum = 0;
	FAILS("program headers outside the file");
	build_dyn();
	ehdr()->phoff = file_len;
	FAILS("program headers outside the file");
	ehdr()->phoff = file_len + 8;
	FAILS("program headers outside the file");
	ehdr()->phoff = ~0ULL - 7;
	FAILS("program headers outside the file");
	ehdr()->phoff = 1ULL << 63;
	FAILS("program headers outside the file");
	/* misaligned */
	build_dyn();
	ehdr()->phoff = 68;
	FAILS("program headers outside the file");
	/* the last header cut by the end of the file */
	build_dyn();
	PARSE_FAILS(ph_end - 1, NO_LIMIT, "program headers outside the file");
	PARSE_FAILS(ph_end - sizeof(struct elf64_phdr), NO_LIMIT,
		    "program headers outside the file");
	/* the header table is the very end of the file: fine as far as headers go */
	build_dyn();
	ehdr()->phoff = file_len - 3 * sizeof(struct elf64_phdr);
	memcpy(file + ehdr()->phoff, phdr(0), 3 * sizeof(struct elf64_phdr));
	assert_int_equal(parse(), 0);
	/* too many headers for the file */
	build_dyn();
	ehdr()->phnum = 0xffff;
	FAILS("program headers outside the file");
}

/* ---- segment errors ---- */

static void test_truncated(void **state)
{
	size_t len;

	(void)state;
	build_dyn();
	/* the data segment's file bytes end at 0x2000: any shorter file is refused */
	PARSE_FAILS(PG, NO_LIMIT, "segment outside the file");
	PARSE_FAILS(DYN_LEN - 1, NO_LIMIT, "segment outside the file");
	for (len = 0; len < DYN_LEN; len++)
		assert_int_equal(parse_len(len, NO_LIMIT), -1);
	assert_int_equal(parse_len(DYN_LEN, NO_LIMIT), 0);
}

static void test_segment_outside(void **state)
{
	(void)state;
	build_dyn();
	phdr(1)->offset = file_len + PG;
	phdr(1)->vaddr = PG;
	FAILS("segment outside the file");
	build_dyn();
	phdr(1)->filesz = PG + 1;
	FAILS("segment outside the file");
	/* offset + filesz wraps around */
	build_dyn();
	phdr(1)->filesz = ~0ULL - PG + 1;
	phdr(1)->memsz = ~0ULL;
	FAILS("segment outside the file");
	build_dyn();
	phdr(1)->offset = ~0ULL & ~(PG - 1);
	FAILS("segment outside the file");
	/* an empty segment may start right at the end of the file */
	build_dyn();
	phdr(1)->offset = file_len;
	phdr(1)->filesz = 0;
	assert_int_equal(parse(), 0);
}

static void test_filesz_above_memsz(void **state)
{
	(void)state;
	build_dyn();
	phdr(0)->memsz = PG - 1;
	FAILS("segment file size above memory size");
	build_dyn();
	phdr(1)->memsz = 0;
	FAILS("segment file size above memory size");
}

static void test_segment_alignment(void **state)
{
	(void)state;
	build_dyn();
	phdr(1)->vaddr = PG + 0x10;
	FAILS("segment offset and address disagree");
	build_dyn();
	phdr(1)->offset = PG + 8;
	phdr(1)->filesz = 0x100;
	FAILS("segment offset and address disagree");
	/* agreeing but not page-aligned */
	build_dyn();
	phdr(1)->vaddr = PG + 0x10;
	phdr(1)->offset = PG + 0x10;
	phdr(1)->filesz = 0x100;
	FAILS("segment not page-aligned");
	build_exec();
	phdr(0)->vaddr = EXEC_BASE + 0x800;
	phdr(0)->offset = 0x800;
	phdr(0)->filesz = 0x800;
	FAILS("segment not page-aligned");
}

static void test_segment_range(void **state)
{
	(void)state;
	build_dyn();
	phdr(1)->filesz = 0;
	phdr(1)->memsz = 0;
	FAILS("segment address out of range");
	/* vaddr + memsz wraps around */
	build_exec();
	phdr(0)->vaddr = ~0ULL & ~(PG - 1);
	phdr(0)->memsz = 2 * PG;
	FAILS("segment address out of range");
	build_exec();
	phdr(0)->memsz = ~0ULL;
	FAILS("segment address out of range");
	/* above the 47-bit canonical lower half */
	build_exec();
	phdr(0)->vaddr = (1ULL << 47) - PG;
	phdr(0)->memsz = PG + 1;
	FAILS("segment address out of range");
	build_exec();
	phdr(0)->vaddr = 1ULL << 47;
	FAILS("segment address out of range");
	/* ending exactly at 2^47 is fine */
	build_exec();
	phdr(0)->vaddr = (1ULL << 47) - PG;
	ehdr()->entry = (1ULL << 47) - 1;
	assert_int_equal(parse(), 0);
	assert_int_equal(img.hi, 1ULL << 47);
}

static void test_segments_overlap(void **state)
{
	(void)state;
	/* the same address */
	build_dyn();
	phdr(1)->vaddr = 0;
	phdr(1)->offset = 0;
	FAILS("segments overlap or are out of order");
	/* the text segment runs one byte into the data page */
	build_dyn();
	phdr(0)->memsz = PG + 1;
	FAILS("segments overlap or are out of order");
	/* out of order */
	build_dyn();
	set_phdr(0, ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_W, PG, PG, PG, 2 * PG);
	set_phdr(1, ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0, 0, PG, PG);
	FAILS("segments overlap or are out of order");
	/* a gap between segments is fine; hi follows the last one */
	build_dyn();
	phdr(1)->vaddr = 0x10 * PG;
	ehdr()->phnum = 2;
	assert_int_equal(parse(), 0);
	assert_int_equal(img.hi, 0x12 * PG);
}

static void build_many(unsigned n)
{
	unsigned i;

	memset(file, 0, sizeof(file));
	set_ehdr(ELF64_ET_EXEC, EXEC_BASE, n);
	for (i = 0; i < n; i++)
		set_phdr(i, ELF64_PT_LOAD, ELF64_PF_R, 0, EXEC_BASE + i * PG, 0x100, PG);
	file_len = PG;
}

static void test_too_many_segments(void **state)
{
	(void)state;
	build_many(ELF64_MAX_SEGMENTS);
	assert_int_equal(parse(), 0);
	assert_int_equal(img.nseg, 8);
	assert_int_equal(img.hi, EXEC_BASE + 8 * PG);
	build_many(ELF64_MAX_SEGMENTS + 1);
	FAILS("too many segments");
}

static void test_no_loadable_segment(void **state)
{
	(void)state;
	build_dyn();
	phdr(0)->type = 0;
	phdr(1)->type = 0;
	FAILS("no loadable segment");
	build_exec();
	phdr(0)->type = 4; /* PT_NOTE */
	FAILS("no loadable segment");
}

static void test_entry_outside(void **state)
{
	(void)state;
	build_dyn();
	ehdr()->entry = DYN_HI;
	FAILS("entry point outside the image");
	ehdr()->entry = ~0ULL;
	FAILS("entry point outside the image");
	ehdr()->entry = DYN_HI - 1;
	assert_int_equal(parse(), 0);
	ehdr()->entry = 0;
	assert_int_equal(parse(), 0);
	build_exec();
	ehdr()->entry = EXEC_BASE - 1;
	FAILS("entry point outside the image");
	ehdr()->entry = 0;
	FAILS("entry point outside the image");
}

static void test_image_too_large(void **state)
{
	(void)state;
	build_dyn();
	PARSE_FAILS(file_len, DYN_HI - 1, "image too large");
	PARSE_FAILS(file_len, 0, "image too large");
	assert_int_equal(parse_len(file_len, DYN_HI), 0);
	/* the span counts from the first segment, not from 0 */
	build_exec();
	assert_int_equal(parse_len(file_len, PG), 0);
	PARSE_FAILS(file_len, PG - 1, "image too large");
}

/* ---- dynamic section errors ---- */

static void test_dynamic_outside(void **state)
{
	(void)state;
	build_dyn();
	phdr(2)->offset = file_len;
	FAILS("dynamic section outside the file");
	build_dyn();
	phdr(2)->offset = ~0ULL - 7;
	FAILS("dynamic section outside the file");
	build_dyn();
	phdr(2)->filesz = file_len - DYN_OFF + 1;
	FAILS("dynamic section outside the file");
	build_dyn();
	phdr(2)->filesz = ~0ULL;
	FAILS("dynamic section outside the file");
	/* misaligned */
	build_dyn();
	phdr(2)->offset = DYN_OFF + 4;
	FAILS("dynamic section outside the file");
	/* without DT_NULL, ending at the very end of the file: read up to its end only */
	build_dyn();
	dyn(3)->tag = 0x6ffffff0; /* DT_VERSYM */
	phdr(2)->offset = phdr(2)->vaddr = file_len - 4 * sizeof(struct elf64_dyn);
	memcpy(file + phdr(2)->offset, dyn(0), 4 * sizeof(struct elf64_dyn));
	assert_int_equal(parse(), 0);
	assert_int_equal(img.rela_off, RELA_OFF);
	assert_int_equal(img.rela_size, NRELA * sizeof(struct elf64_rela));
	/* a partial last entry is ignored */
	build_dyn();
	phdr(2)->filesz = 2 * sizeof(struct elf64_dyn) + 8;
	dyn(2)->tag = ELF64_DT_RELAENT;
	dyn(2)->val = 1;
	assert_int_equal(parse(), 0);
}

static void test_bad_relaent(void **state)
{
	(void)state;
	build_dyn();
	dyn(2)->val = 16;
	FAILS("bad relocation entry size");
	dyn(2)->val = 0;
	FAILS("bad relocation entry size");
	/* entries after DT_NULL are not read */
	build_dyn();
	*dyn(2) = (struct elf64_dyn){ ELF64_DT_NULL, 0 };
	*dyn(3) = (struct elf64_dyn){ ELF64_DT_RELAENT, 16 };
	assert_int_equal(parse(), 0);
}

static void test_relocations_outside(void **state)
{
	const uint64_t table = NRELA * sizeof(struct elf64_rela);

	(void)state;
	build_dyn();
	dyn(1)->val = table - 1;
	FAILS("relocations outside the image");
	dyn(1)->val = 25;
	FAILS("relocations outside the image");
	build_dyn();
	dyn(0)->val = DYN_HI;
	FAILS("relocations outside the image");
	dyn(0)->val = DYN_HI + 0x1000;
	FAILS("relocations outside the image");
	dyn(0)->val = ~0ULL - 7;
	FAILS("relocations outside the image");
	dyn(0)->val = DYN_HI - table + 8;
	FAILS("relocations outside the image");
	build_dyn();
	dyn(1)->val = 24 * (DYN_HI / 24 + 1);
	FAILS("relocations outside the image");
	dyn(1)->val = ~0ULL / 24 * 24;
	FAILS("relocations outside the image");
	/* DT_RELASZ without DT_RELA: the table would be at 0, below an ET_EXEC image */
	build_exec();
	ehdr()->phnum = 2;
	set_phdr(1, ELF64_PT_DYNAMIC, ELF64_PF_R, 0x800, EXEC_BASE + 0x800, 0x20, 0x20);
	*(struct elf64_dyn *)(file + 0x800) = (struct elf64_dyn){ ELF64_DT_RELASZ, 24 };
	FAILS("relocations outside the image");
	/* below lo */
	*(struct elf64_dyn *)(file + 0x810) = (struct elf64_dyn){ ELF64_DT_RELA, EXEC_BASE - 24 };
	FAILS("relocations outside the image");
	/* a table ending exactly at hi is fine (it lies in .bss: all NONE) */
	build_dyn();
	dyn(0)->val = DYN_HI - table;
	assert_int_equal(parse(), 0);
	assert_int_equal(load_and_relocate(0x1000, NULL), 0);
	/* so is an empty table anywhere */
	build_dyn();
	dyn(0)->val = ~0ULL - 7;
	dyn(1)->val = 0;
	assert_int_equal(parse(), 0);
}

/* ---- relocation errors ---- */

static void test_bad_relocation_type(void **state)
{
	static const uint64_t types[] = { 1 /* R_X86_64_64 */, 2 /* PC32 */, 6 /* GLOB_DAT */,
					  7 /* JUMP_SLOT */, 37 /* IRELATIVE */, 0xffffffff,
					  (8ULL << 32) | 1 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		build_dyn();
		rela(2)->info = types[i];
		RELOC_FAILS("unsupported relocation type");
	}
}

static void test_relocation_outside(void **state)
{
	static const uint64_t offs[] = { DYN_HI - 7, DYN_HI - 1, DYN_HI, DYN_HI + 8, ~0ULL,
					 ~0ULL - 7, 1ULL << 63 };
	uint8_t *mem;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		build_dyn();
		rela(0)->offset = offs[i];
		RELOC_FAILS("relocation outside the image");
	}
	/* the first and the last word of the image are fine */
	build_dyn();
	rela(0)->offset = 0;
	rela(2)->offset = DYN_HI - 8;
	assert_int_equal(load_and_relocate(0x1000, &mem), 0);
	assert_true(get64(mem) == 0x1000 + R1_ADDEND);
	free(mem);
}

/* The same image linked at 0x10000 instead of 0: offsets below lo are outside. */
static void build_dyn_high(void)
{
	const uint64_t base = 0x10000;

	build_dyn();
	ehdr()->entry += base;
	phdr(0)->vaddr += base;
	phdr(1)->vaddr += base;
	phdr(2)->vaddr += base;
	dyn(0)->val += base;
	rela(0)->offset += base;
	rela(2)->offset += base;
}

static void test_relocation_below_lo(void **state)
{
	uint8_t *mem;

	(void)state;
	build_dyn_high();
	assert_int_equal(load_and_relocate(0x100000, &mem), 0);
	assert_int_equal(img.lo, 0x10000);
	assert_true(get64(mem + R1_OFF) == 0x100000 + R1_ADDEND);
	free(mem);
	build_dyn_high();
	rela(0)->offset = 0x10000 - 8;
	RELOC_FAILS("relocation outside the image");
	build_dyn_high();
	rela(0)->offset = R1_OFF; /* the unbiased address */
	RELOC_FAILS("relocation outside the image");
	build_dyn_high();
	rela(0)->offset = 0;
	RELOC_FAILS("relocation outside the image");
}

static void test_relocations_in_exec(void **state)
{
	(void)state;
	build_dyn();
	ehdr()->type = ELF64_ET_EXEC;
	RELOC_FAILS("relocations in a fixed-address image");
}

static void test_relocation_stops_at_error(void **state)
{
	uint8_t *mem;

	(void)state;
	/* entries before the bad one were applied; the ones after were not */
	build_dyn();
	rela(1)->info = 1;
	assert_int_equal(load_and_relocate(0x1000, &mem), -1);
	assert_string_equal(why, "unsupported relocation type");
	assert_true(get64(mem + R1_OFF) == 0x1000 + R1_ADDEND);
	assert_true(get64(mem + R3_OFF) == 0);
	free(mem);
}

/*
 * Nothing makes DT_RELA or r_offset a multiple of 8, and elf64_relocate reads
 * the table and writes the word through aligned pointer types. A misaligned
 * access is undefined behaviour (UBSan aborts here). Either refusing such an
 * image (parse or relocate giving -1) or relocating it correctly is fine.
 * Runs in a child so that a sanitizer abort fails only this test.
 */
static int misaligned_child(uint64_t table, uint64_t target)
{
	const uint64_t bias = 0x40000000;
	struct elf64_rela r = { target, ELF64_R_X86_64_RELATIVE, 0x88 };
	uint8_t *mem;

	build_dyn();
	memset(file + RELA_OFF, 0, NRELA * sizeof(r));
	memcpy(file + table, &r, sizeof(r));
	dyn(0)->val = table;
	dyn(1)->val = sizeof(r);
	if (elf64_parse(file, file_len, NO_LIMIT, &img, &why))
		return 0; /* refused */
	mem = load(file);
	if (elf64_relocate(&img, mem, bias, &why))
		return 0; /* refused */
	return get64(mem + target) == bias + 0x88 ? 0 : 3;
}

static void run_in_child_at(uint64_t table, uint64_t target, const char *file, int line)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(misaligned_child(table, target));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		print_error("relocations at 0x%llx for a word at 0x%llx: child %s %d "
			    "(misaligned access, see the report above)\n",
			    (unsigned long long)table, (unsigned long long)target,
			    WIFEXITED(st) ? "exited with" : "killed by signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		_fail(file, line);
	}
}
#define run_in_child(table, target) run_in_child_at(table, target, __FILE__, __LINE__)

static void test_misaligned_relocation_table(void **state)
{
	(void)state;
	run_in_child(RELA_OFF, R1_OFF); /* aligned: the control */
	run_in_child(RELA_OFF + 4, R1_OFF);
}

static void test_misaligned_relocation_target(void **state)
{
	(void)state;
	run_in_child(RELA_OFF, R1_OFF + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_dyn),
		cmocka_unit_test(test_parse_exec),
		cmocka_unit_test(test_parse_unaligned_end),
		cmocka_unit_test(test_parse_ignores_other_headers),
		cmocka_unit_test(test_relocate_dyn),
		cmocka_unit_test(test_relocate_no_relocations),
		cmocka_unit_test(test_relocate_all_none),
		cmocka_unit_test(test_real_image),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_bad_ident),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_bad_phentsize),
		cmocka_unit_test(test_phdrs_outside),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_segment_outside),
		cmocka_unit_test(test_filesz_above_memsz),
		cmocka_unit_test(test_segment_alignment),
		cmocka_unit_test(test_segment_range),
		cmocka_unit_test(test_segments_overlap),
		cmocka_unit_test(test_too_many_segments),
		cmocka_unit_test(test_no_loadable_segment),
		cmocka_unit_test(test_entry_outside),
		cmocka_unit_test(test_image_too_large),
		cmocka_unit_test(test_dynamic_outside),
		cmocka_unit_test(test_bad_relaent),
		cmocka_unit_test(test_relocations_outside),
		cmocka_unit_test(test_bad_relocation_type),
		cmocka_unit_test(test_relocation_outside),
		cmocka_unit_test(test_relocation_below_lo),
		cmocka_unit_test(test_relocations_in_exec),
		cmocka_unit_test(test_relocation_stops_at_error),
		cmocka_unit_test(test_misaligned_relocation_table),
		cmocka_unit_test(test_misaligned_relocation_target),
	};

	return cmocka_run_group_tests_name("elf64", tests, NULL, NULL);
}

#endif /* ELF64_TINY_SOURCE */
