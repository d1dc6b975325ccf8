/* libFuzzer target: arbitrary bytes through elf64_parse, then elf64_relocate on images of at most 1 MiB. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <emhv/elf64.h>

#define PAGE 4096ULL
#define MAX_RELOC_SPAN (1ULL << 20)

#include "fuzz_check.h"

/* What elf64_parse promises about an image it accepts. */
static void check_image(const struct elf64_image *img, size_t len, uint64_t max_span)
{
	int i;

	CHECK(img->type == ELF64_ET_EXEC || img->type == ELF64_ET_DYN);
	CHECK(img->nseg >= 1 && img->nseg <= ELF64_MAX_SEGMENTS);
	CHECK(img->lo % PAGE == 0 && img->hi % PAGE == 0 && img->lo < img->hi);
	CHECK(img->hi <= (1ULL << 47));
	CHECK(img->hi - img->lo <= max_span);
	CHECK(img->entry >= img->lo && img->entry < img->hi);
	CHECK(img->lo == img->seg[0].vaddr);
	for (i = 0; i < img->nseg; i++) {
		const struct elf64_segment *s = &img->seg[i];

		CHECK(s->vaddr % PAGE == 0 && s->offset % PAGE == 0);
		CHECK(s->offset <= len && s->filesz <= len - s->offset);
		CHECK(s->filesz <= s->memsz && s->memsz > 0);
		CHECK(s->vaddr >= img->lo && s->vaddr + s->memsz <= img->hi);
		if (i)
			CHECK(s->vaddr >= img->seg[i - 1].vaddr + img->seg[i - 1].memsz);
	}
	CHECK(img->rela_size % sizeof(struct elf64_rela) == 0);
	if (img->rela_size)
		CHECK(img->rela_off >= img->lo && img->rela_off <= img->hi &&
		      img->rela_size <= img->hi - img->rela_off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf64_image img;
	const char *why = NULL;
	uint64_t max_span, span, bias;
	uint8_t *mem;
	int i, rc;

	/* the span limit comes from the input too: the last byte picks 1 MiB or none */
	max_span = size && (data[size - 1] & 1) ? MAX_RELOC_SPAN : UINT64_MAX;
	rc = elf64_parse(data, size, max_span, &img, &why);
	if (rc) {
		CHECK(rc == -1 && why && *why);
		return 0;
	}
	check_image(&img, size, max_span);
	span = img.hi - img.lo;
	if (span > MAX_RELOC_SPAN)
		return 0;

	/* load as the UEFI loader does: a zeroed exact-size buffer, segments copied in */
	mem = calloc(1, span);
	CHECK(mem);
	for (i = 0; i < img.nseg; i++)
		memcpy(mem + (img.seg[i].vaddr - img.lo), data + img.seg[i].offset,
		       img.seg[i].filesz);
	bias = size >= 8 ? (uint64_t)data[size - 2] << 21 : 0x200000;
	why = NULL;
	rc = elf64_relocate(&img, mem, bias, &why);
	CHECK(rc == 0 || (rc == -1 && why && *why));
	free(mem);
	return 0;
}
