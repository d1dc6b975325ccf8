/*
 * balloon_check.c -- drives emhv's virtio balloon from the driver's side,
 * as a hostile or careless driver could, and checks what the balloon's
 * pages read afterwards: pages put in the balloon and taken out again read
 * as zeros (their frames went back to the pool; a touch backs them afresh),
 * and page numbers outside the VM's RAM change nothing.
 *
 * Arguments: pages=N (256): pages of the test region, which starts at the
 *   VM's min (rounded up to 2 MiB), so that the hypervisor gives them back
 *   rather than zeroing them in place; hold=SECS (30): how long to wait with
 *   the pages in the balloon, or until a line arrives ('vm send VM go').
 *
 * Steps: fill the region (every word non-zero); inflate its pages together
 * with BAD_PFNS page numbers outside RAM (just past max, in the device
 * window at 3 GiB, the largest 32-bit number) in one buffer; report
 * `inflated` 1; hold; deflate the region's pages and one bad number; read
 * every page back.
 *
 * Results: pages; bad_pfns (sent, the device must refuse exactly these);
 * inflated (1 when the inflate buffer came back); zero_pages (pages that
 * read all zeros: must be `pages`); kept_pages (pages still holding their
 * data: 0); other_pages (neither: 0). Exit status 0 when every page read
 * zero, 1 otherwise, 2 when there is no balloon or the device failed.
 */
#include <stdio.h>
#include "runtime.h"
#include "virtio.h"
#include <emhv/virtio_balloon.h>

#define Q_INFLATE  VIRTIO_BALLOON_Q_INFLATE
#define Q_DEFLATE  VIRTIO_BALLOON_Q_DEFLATE
#define BAD_PFNS   3
#define MAX_PAGES  1024
#define WAIT_MS	   2000

static const char *const known_args[] = {"pages", "hold", NULL};

static struct virtio_dev dev;
static uint32_t pfns[MAX_PAGES + BAD_PFNS];

static uint64_t word(uint64_t i)
{
	return splitmix64(i) | 1;
}

/* Wait up to secs of TSC time or until a line ends on the console. */
static void hold(uint64_t secs)
{
	uint64_t khz = boot_params()->tsc_khz, t0 = tsc_read();
	int c;

	while (tsc_read() - t0 < secs * khz * 1000)
		while ((c = uart_trygetc()) >= 0)
			if (c == '\r' || c == '\n')
				return;
}

/* Put n page numbers in queue q and wait until the device gives the buffer back; 0 or -1. */
static int send_pfns(unsigned q, uint32_t n)
{
	uint64_t deadline = tsc_read() + boot_params()->tsc_khz * WAIT_MS;
	struct virtio_used u;
	int r;

	if (virtio_add_buf(&dev, q, pfns, n * 4, false))
		return -1;
	virtio_notify(&dev, q);
	while ((r = virtio_get_used(&dev, q, &u)) == 0 && tsc_read() < deadline)
		;
	return r == 1 && u.buf == pfns ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct emhv_boot_params *bp = boot_params();
	uint64_t pages, secs, base, zero = 0, kept = 0, other = 0;
	volatile uint64_t *mem;
	int slot;

	arg_check(argc, argv, known_args);
	pages = arg_u64(argc, argv, "pages", 256);
	secs = arg_u64(argc, argv, "hold", 30);
	base = (bp->mem_min + 2 * MIB - 1) & ~(2 * MIB - 1);
	if (!pages || pages > MAX_PAGES || base + pages * 4096 > bp->mem_max) {
		printf("error: pages=%llu: 1 to %d pages from 0x%llx must fit below max\n", (unsigned long long)pages,
		       MAX_PAGES, (unsigned long long)base);
		return 2;
	}
	slot = virtio_find(VIRTIO_BALLOON_DEVICE_ID);
	if (slot < 0 || virtio_init(&dev, (unsigned)slot, 2)) {
		printf("balloon_check: no balloon device to drive\n");
		return 2;
	}
	hc_result("pages", (int64_t)pages);
	mem = (volatile uint64_t *)(uintptr_t)base;
	for (uint64_t i = 0; i < pages * 512; i++)
		mem[i] = word(i);
	for (uint64_t p = 0; p < pages; p++)
		pfns[p] = (uint32_t)(base / 4096 + p);
	pfns[pages] = (uint32_t)(bp->mem_max / 4096);	   /* the first page past RAM */
	pfns[pages + 1] = (uint32_t)((3ULL << 30) / 4096); /* the device window */
	pfns[pages + 2] = 0xffffffffu;
	hc_result("bad_pfns", BAD_PFNS + 1);
	if (send_pfns(Q_INFLATE, (uint32_t)pages + BAD_PFNS)) {
		printf("balloon_check: the inflate buffer did not come back\n");
		return 2;
	}
	hc_result("inflated", 1);
	printf("balloon_check: %llu pages in the balloon (and %d numbers outside RAM)\n", (unsigned long long)pages,
	       BAD_PFNS);
	hold(secs);
	pfns[pages] = 0xfffffff0u;
	if (send_pfns(Q_DEFLATE, (uint32_t)pages + 1)) {
		printf("balloon_check: the deflate buffer did not come back\n");
		return 2;
	}
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t z = 0, same = 0;

		for (uint64_t i = p * 512; i < (p + 1) * 512; i++) {
			z += mem[i] == 0;
			same += mem[i] == word(i);
		}
		zero += z == 512;
		kept += same == 512;
		other += z != 512 && same != 512;
	}
	hc_result("zero_pages", (int64_t)zero);
	hc_result("kept_pages", (int64_t)kept);
	hc_result("other_pages", (int64_t)other);
	printf("balloon_check: after deflating, %llu pages read zero, %llu kept their data, %llu neither\n",
	       (unsigned long long)zero, (unsigned long long)kept, (unsigned long long)other);
	return zero == pages ? 0 : 1;
}
