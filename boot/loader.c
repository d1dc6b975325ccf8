/*
 * BOOTX64.EFI: loads \emhv\hv.elf and the other files of \emhv\, finds the
 * ACPI RSDP, exits boot services and jumps to the core with a bootinfo block.
 */
#include <efi.h>
#include <efilib.h>
#include <emhv/bootinfo.h>
#include <emhv/elf64.h>

#define CORE_MAX_SPAN (64ULL << 20)
#define MODULE_MAX_SIZE (512ULL << 20)
#define PAGES(n) (((n) + 4095) / 4096)

static EFI_HANDLE loader_image;
static uint64_t tsc_entry;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Print a one-line failure on the console (OVMF mirrors it to the serial port). */
static EFI_STATUS fail(EFI_STATUS st, CHAR16 *what, CHAR16 *name, const char *why)
{
	Print(L"emhv loader: error: %s %s: ", what, name ? name : L"");
	if (why)
		Print(L"%a\n", why);
	else
		Print(L"%r\n", st);
	Print(L"emhv loader: returning to the firmware\n");
	return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
}

static EFI_STATUS alloc_pages(UINTN pages, uint64_t *phys)
{
	EFI_PHYSICAL_ADDRESS a = 0;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, pages, &a);
	*phys = a;
	return st;
}

/* Read an open file whole into fresh pages; returns its size. */
static EFI_STATUS read_file(EFI_FILE_HANDLE fh, CHAR16 *name, uint64_t *phys, uint64_t *size,
			    uint64_t *pages)
{
	EFI_FILE_INFO *info = LibFileInfo(fh);
	EFI_STATUS st;
	UINTN n;

	if (!info)
		return fail(EFI_DEVICE_ERROR, L"cannot stat", name, NULL);
	*size = info->FileSize;
	FreePool(info);
	if (*size == 0 || *size > MODULE_MAX_SIZE)
		return fail(EFI_LOAD_ERROR, L"bad size of", name, "empty or above 512 MiB");
	*pages = PAGES(*size);
	st = alloc_pages(*pages, phys);
	if (EFI_ERROR(st))
		return fail(st, L"no memory for", name, NULL);
	n = *size;
	st = uefi_call_wrapper(fh->Read, 3, fh, &n, (void *)*phys);
	if (EFI_ERROR(st) || n != *size)
		return fail(EFI_ERROR(st) ? st : EFI_END_OF_FILE, L"cannot read", name,
			    EFI_ERROR(st) ? NULL : "short read");
	return EFI_SUCCESS;
}

/* Check hv.elf, copy its segments to fresh pages and relocate it there. */
static EFI_STATUS load_core(uint64_t file, uint64_t size, struct bootinfo *bi, uint64_t *entry)
{
	struct elf64_image img;
	const char *why;
	uint64_t base;
	EFI_STATUS st;
	int i;

	if (elf64_parse((void *)file, size, CORE_MAX_SPAN, &img, &why))
		return fail(EFI_LOAD_ERROR, L"corrupt", L"\\emhv\\hv.elf", why);
	if (img.type != ELF64_ET_DYN || img.lo != 0)
		return fail(EFI_LOAD_ERROR, L"corrupt", L"\\emhv\\hv.elf",
			    "not a position-independent image linked at 0");
	bi->core_pages = PAGES(img.hi);
	st = alloc_pages(bi->core_pages, &base);
	if (EFI_ERROR(st))
		return fail(st, L"no memory for", L"\\emhv\\hv.elf", NULL);
	ZeroMem((void *)base, bi->core_pages * 4096);
	for (i = 0; i < img.nseg; i++)
		CopyMem((void *)(base + img.seg[i].vaddr), (void *)(file + img.seg[i].offset),
			img.seg[i].filesz);
	if (elf64_relocate(&img, (void *)base, base, &why))
		return fail(EFI_LOAD_ERROR, L"corrupt", L"\\emhv\\hv.elf", why);
	bi->core_phys = base;
	*entry = base + img.entry;
	return EFI_SUCCESS;
}

static EFI_STATUS open_file(EFI_FILE_HANDLE dir, CHAR16 *name, EFI_FILE_HANDLE *fh)
{
	return uefi_call_wrapper(dir->Open, 5, dir, fh, name, EFI_FILE_MODE_READ, 0);
}

static EFI_STATUS add_module(struct bootinfo *bi, EFI_FILE_HANDLE dir, EFI_FILE_INFO *info)
{
	struct bootinfo_module *m;
	EFI_FILE_HANDLE fh;
	EFI_STATUS st;
	UINTN i;

	if (bi->module_count == BOOTINFO_MAX_MODULES)
		return fail(EFI_OUT_OF_RESOURCES, L"too many files in", L"\\emhv", NULL);
	m = &bi->modules[bi->module_count];
	for (i = 0; info->FileName[i]; i++) {
		if (i + 1 == BOOTINFO_NAME_MAX || info->FileName[i] > 0x7e)
			return fail(EFI_LOAD_ERROR, L"bad file name", info->FileName,
				    "not short ASCII");
		m->name[i] = (char)info->FileName[i];
	}
	m->name[i] = 0;
	st = open_file(dir, info->FileName, &fh);
	if (EFI_ERROR(st))
		return fail(st, L"cannot open", info->FileName, NULL);
	st = read_file(fh, info->FileName, &m->phys, &m->size, &m->alloc_pages);
	uefi_call_wrapper(fh->Close, 1, fh);
	if (!EFI_ERROR(st))
		bi->module_count++;
	return st;
}

/* Load every regular file of \emhv\ except hv.elf as a module. */
static EFI_STATUS load_modules(struct bootinfo *bi, EFI_FILE_HANDLE dir)
{
	UINT8 buf[SIZE_OF_EFI_FILE_INFO + 512] __attribute__((aligned(8)));
	EFI_FILE_INFO *info = (EFI_FILE_INFO *)buf;
	EFI_STATUS st;
	UINTN n;

	uefi_call_wrapper(dir->SetPosition, 2, dir, 0);
	for (;;) {
		n = sizeof(buf);
		st = uefi_call_wrapper(dir->Read, 3, dir, &n, buf);
		if (EFI_ERROR(st))
			return fail(st, L"cannot list", L"\\emhv", NULL);
		if (n == 0)
			return EFI_SUCCESS;
		if (info->Attribute & EFI_FILE_DIRECTORY)
			continue;
		if (StriCmp(info->FileName, L"hv.elf") == 0)
			continue;
		st = add_module(bi, dir, info);
		if (EFI_ERROR(st))
			return st;
	}
}

static uint64_t find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	uint64_t v1 = 0;
	UINTN i;

	for (i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (CompareGuid(&t->VendorGuid, &acpi20) == 0)
			return (uint64_t)t->VendorTable;
		if (CompareGuid(&t->VendorGuid, &acpi10) == 0)
			v1 = (uint64_t)t->VendorTable;
	}
	return v1;
}

static void copy_mmap(struct bootinfo *bi, uint8_t *map, UINTN size, UINTN descsz)
{
	UINTN off;

	bi->mmap_count = bi->mmap_dropped = 0;
	for (off = 0; off + descsz <= size; off += descsz) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)(map + off);
		struct bootinfo_mmap_entry *e;

		if (bi->mmap_count == BOOTINFO_MAX_MMAP) {
			bi->mmap_dropped++;
			continue;
		}
		e = &bi->mmap[bi->mmap_count++];
		e->type = d->Type;
		e->pad = 0;
		e->phys = d->PhysicalStart;
		e->pages = d->NumberOfPages;
		e->attr = d->Attribute;
	}
}

/*
 * Take the final memory map and exit boot services. A stale map key makes
 * ExitBootServices fail with EFI_INVALID_PARAMETER; after that only
 * GetMemoryMap and ExitBootServices may be called, so retry with no prints.
 */
static EFI_STATUS exit_boot_services(struct bootinfo *bi)
{
	UINTN size = 0, bufsize, key, descsz;
	UINT32 descver;
	uint8_t *map = NULL;
	EFI_STATUS st;
	uint32_t tries;

	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &descsz, &descver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return fail(st, L"cannot read", L"the memory map", NULL);
	bufsize = size + 64 * descsz;
	map = AllocatePool(bufsize);
	if (!map)
		return fail(EFI_OUT_OF_RESOURCES, L"no memory for", L"the memory map", NULL);
	Print(L"emhv loader: exiting boot services\n");
	for (tries = 1; tries <= 16; tries++) {
		size = bufsize;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &descsz, &descver);
		if (EFI_ERROR(st))
			break;
		st = uefi_call_wrapper(BS->ExitBootServices, 2, loader_image, key);
		if (st != EFI_INVALID_PARAMETER)
			break;
	}
	if (EFI_ERROR(st))
		return tries == 1 ? fail(st, L"cannot exit", L"boot services", NULL) : st;
	bi->tsc_exit_bs = rdtsc();
	bi->exit_bs_tries = tries;
	copy_mmap(bi, map, size, descsz);
	return EFI_SUCCESS;
}

/* The wall-clock time for guests' clocks (hv's CMOS RTC); left invalid if the firmware has none. */
static void read_time(struct bootinfo_time *t)
{
	EFI_TIME now;
	uint64_t tsc;

	if (EFI_ERROR(uefi_call_wrapper(RT->GetTime, 2, &now, NULL)))
		return;
	tsc = rdtsc();
	*t = (struct bootinfo_time){ now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, 1, tsc };
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root, dir, fh;
	struct bootinfo *bi;
	uint64_t bi_phys, file, size, pages, entry;
	EFI_STATUS st;

	tsc_entry = rdtsc();
	loader_image = image;
	InitializeLib(image, systab);
	Print(L"emhv loader: starting\n");

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return fail(st, L"no loaded-image protocol", NULL, NULL);
	root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		return fail(EFI_NOT_FOUND, L"cannot open", L"the boot volume", NULL);
	st = open_file(root, L"\\emhv", &dir);
	if (EFI_ERROR(st))
		return fail(st, L"cannot open", L"\\emhv", NULL);

	st = alloc_pages(PAGES(sizeof(*bi)), &bi_phys);
	if (EFI_ERROR(st))
		return fail(st, L"no memory for", L"the boot info", NULL);
	bi = (struct bootinfo *)bi_phys;
	ZeroMem(bi, sizeof(*bi));
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->size = sizeof(*bi);
	bi->bootinfo_pages = PAGES(sizeof(*bi));
	bi->tsc_loader_entry = tsc_entry;
	bi->rsdp = find_rsdp();
	bi->efi_runtime = (uint64_t)systab->RuntimeServices;
	read_time(&bi->time);

	st = open_file(dir, L"hv.elf", &fh);
	if (EFI_ERROR(st))
		return fail(st, L"cannot open", L"\\emhv\\hv.elf", NULL);
	st = read_file(fh, L"\\emhv\\hv.elf", &file, &size, &pages);
	uefi_call_wrapper(fh->Close, 1, fh);
	if (EFI_ERROR(st))
		return st;
	st = load_core(file, size, bi, &entry);
	uefi_call_wrapper(BS->FreePages, 2, file, pages);
	if (EFI_ERROR(st))
		return st;
	st = load_modules(bi, dir);
	if (EFI_ERROR(st))
		return st;
	Print(L"emhv loader: core at 0x%lx, %d modules, ACPI RSDP at 0x%lx\n", bi->core_phys,
	      bi->module_count, bi->rsdp);

	st = exit_boot_services(bi);
	if (EFI_ERROR(st))
		return st;
	__asm__ volatile("cli");
	((bootinfo_entry_fn)entry)(bi);
	for (;;)
		__asm__ volatile("cli; hlt");
}
