/* ELF64 checker and relocator: never trusts the file, used by the loader and the core. */
#include <emhv/elf64.h>

#define PAGE 4096ULL

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static int check_ident(const struct elf64_ehdr *eh, const char **why)
{
	const uint8_t *id = eh->ident;

	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return fail(why, "not an ELF file");
	if (id[4] != 2)
		return fail(why, "not ELF64");
	if (id[5] != 1)
		return fail(why, "not little-endian");
	if (eh->machine != ELF64_EM_X86_64)
		return fail(why, "not x86-64");
	if (eh->type != ELF64_ET_EXEC && eh->type != ELF64_ET_DYN)
		return fail(why, "not an executable");
	if (eh->phentsize != sizeof(struct elf64_phdr))
		return fail(why, "bad program header size");
	return 0;
}

static int add_segment(struct elf64_image *img, const struct elf64_phdr *ph, size_t len,
		       const char **why)
{
	struct elf64_segment *s;

	if (ph->offset > len || ph->filesz > len - ph->offset)
		return fail(why, "segment outside the file");
	if (ph->filesz > ph->memsz)
		return fail(why, "segment file size above memory size");
	if ((ph->vaddr % PAGE) != (ph->offset % PAGE))
		return fail(why, "segment offset and address disagree");
	if (ph->vaddr % PAGE)
		return fail(why, "segment not page-aligned");
	if (ph->memsz == 0 || ph->vaddr + ph->memsz < ph->vaddr ||
	    ph->vaddr + ph->memsz > (1ULL << 47))
		return fail(why, "segment address out of range");
	if (img->nseg == ELF64_MAX_SEGMENTS)
		return fail(why, "too many segments");
	if (img->nseg && ph->vaddr < img->seg[img->nseg - 1].vaddr + img->seg[img->nseg - 1].memsz)
		return fail(why, "segments overlap or are out of order");
	s = &img->seg[img->nseg++];
	s->vaddr = ph->vaddr;
	s->memsz = ph->memsz;
	s->offset = ph->offset;
	s->filesz = ph->filesz;
	s->flags = ph->flags;
	return 0;
}

/* Find DT_RELA/DT_RELASZ in a PT_DYNAMIC segment that lies in the file. */
static int read_dynamic(const uint8_t *buf, size_t len, const struct elf64_phdr *ph,
			struct elf64_image *img, const char **why)
{
	const struct elf64_dyn *d;
	uint64_t n, i;

	if (ph->offset > len || ph->filesz > len - ph->offset || ph->offset % 8)
		return fail(why, "dynamic section outside the file");
	d = (const struct elf64_dyn *)(buf + ph->offset);
	n = ph->filesz / sizeof(*d);
	for (i = 0; i < n && d[i].tag != ELF64_DT_NULL; i++) {
		if (d[i].tag == ELF64_DT_RELA)
			img->rela_off = d[i].val;
		else if (d[i].tag == ELF64_DT_RELASZ)
			img->rela_size = d[i].val;
		else if (d[i].tag == ELF64_DT_RELAENT && d[i].val != sizeof(struct elf64_rela))
			return fail(why, "bad relocation entry size");
	}
	return 0;
}

int elf64_parse(const void *buf, size_t len, uint64_t max_span, struct elf64_image *img,
		const char **why)
{
	const struct elf64_ehdr *eh = buf;
	const struct elf64_phdr *ph;
	uint64_t i;

	img->nseg = 0;
	img->rela_off = img->rela_size = 0;
	if (len < sizeof(*eh))
		return fail(why, "file too short for an ELF header");
	if (check_ident(eh, why))
		return -1;
	if (eh->phnum == 0 || eh->phoff > len ||
	    (uint64_t)eh->phnum * sizeof(*ph) > len - eh->phoff || eh->phoff % 8)
		return fail(why, "program headers outside the file");
	ph = (const struct elf64_phdr *)((const uint8_t *)buf + eh->phoff);
	for (i = 0; i < eh->phnum; i++) {
		if (ph[i].type == ELF64_PT_LOAD && add_segment(img, &ph[i], len, why))
			return -1;
		if (ph[i].type == ELF64_PT_DYNAMIC && read_dynamic(buf, len, &ph[i], img, why))
			return -1;
	}
	if (img->nseg == 0)
		return fail(why, "no loadable segment");
	img->type = eh->type;
	img->lo = img->seg[0].vaddr;
	img->hi = (img->seg[img->nseg - 1].vaddr + img->seg[img->nseg - 1].memsz + PAGE - 1) &
		  ~(PAGE - 1);
	if (img->hi - img->lo > max_span)
		return fail(why, "image too large");
	if (eh->entry < img->lo || eh->entry >= img->hi)
		return fail(why, "entry point outside the image");
	img->entry = eh->entry;
	if (img->rela_size % sizeof(struct elf64_rela) || img->rela_off % 8 ||
	    (img->rela_size && (img->rela_off < img->lo || img->rela_off > img->hi ||
				img->rela_size > img->hi - img->rela_off)))
		return fail(why, "relocations outside the image");
	return 0;
}

int elf64_relocate(const struct elf64_image *img, void *mem, uint64_t bias, const char **why)
{
	uint8_t *base = mem;
	const struct elf64_rela *r;
	uint64_t n = img->rela_size / sizeof(*r), i;

	if (!n)
		return 0;
	if (img->type != ELF64_ET_DYN)
		return fail(why, "relocations in a fixed-address image");
	r = (const void *)(base + (img->rela_off - img->lo));
	for (i = 0; i < n; i++) {
		uint32_t type = (uint32_t)r[i].info;

		if (type == ELF64_R_X86_64_NONE)
			continue;
		if (type != ELF64_R_X86_64_RELATIVE)
			return fail(why, "unsupported relocation type");
		if (r[i].offset < img->lo || r[i].offset > img->hi - 8)
			return fail(why, "relocation outside the image");
		if (r[i].offset % 8)
			return fail(why, "misaligned relocation");
		*(uint64_t *)(base + (r[i].offset - img->lo)) = bias + (uint64_t)r[i].addend;
	}
	return 0;
}
