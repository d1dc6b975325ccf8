/*
 * fake_guest_ram.h -- guest RAM for the virtio unit tests: RAM_SIZE bytes on the heap behind a
 * struct guest_mem (drivers/virtio/virtq.h). ram_limit can shrink the RAM a test sees; reads
 * overlapping [watch_lo, watch_hi) are counted; write_hook sees every write. Included once per
 * test program (its definitions are static).
 */
#ifndef EMHV_TESTS_FAKE_GUEST_RAM_H
#define EMHV_TESTS_FAKE_GUEST_RAM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "drivers/virtio/virtq.h"

static uint8_t *ram;
static uint64_t ram_limit = RAM_SIZE;
static uint64_t watch_lo, watch_hi;
static unsigned watch_reads;
static void (*write_hook)(uint64_t gpa, uint64_t len);

static bool fm_in_ram(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < ram_limit && len <= ram_limit - gpa;
}

static int fm_read(void *ctx, uint64_t gpa, void *dst, uint64_t len)
{
	if (!fm_in_ram(ctx, gpa, len))
		return -1;
	if (gpa < watch_hi && gpa + len > watch_lo)
		watch_reads++;
	memcpy(dst, ram + gpa, len);
	return 0;
}

static int fm_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	if (!fm_in_ram(ctx, gpa, len))
		return -1;
	memcpy(ram + gpa, src, len);
	if (write_hook)
		write_hook(gpa, len);
	return 0;
}

static const struct guest_mem mem = { fm_read, fm_write, fm_in_ram, NULL };

/* cmocka group setup and teardown */
static int setup_ram(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	return ram ? 0 : -1;
}

static int free_ram(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

#endif
