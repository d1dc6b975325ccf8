/*
 * The hypervisor log. What kprintf printed until the monitor came up (the
 * boot log) is kept whole in its own buffer; later lines go to a ring that
 * drops its oldest bytes and says how many. Guests cannot write here: their
 * log hypercall fills their own VM's log (hv/hypercall.c, 'vm log').
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <hv/console.h>

#define BOOT_LOG_SIZE 16384
#define LOG_SIZE 32768

static char boot[BOOT_LOG_SIZE];
static size_t boot_len;
static bool boot_over;
static char ring[LOG_SIZE];
static uint64_t head; /* bytes ever appended to the ring */

void log_append(const char *s, size_t n)
{
	size_t i;

	if (!boot_over && boot_len + n <= BOOT_LOG_SIZE) {
		memcpy(boot + boot_len, s, n);
		boot_len += n;
		return;
	}
	boot_over = true; /* a full boot log ends early: the rest goes to the ring */
	for (i = 0; i < n; i++)
		ring[(head + i) % LOG_SIZE] = s[i];
	head += n;
}

void log_line(const char *line)
{
	log_append(line, strlen(line));
	log_append("\n", 1);
}

void log_boot_done(void)
{
	boot_over = true;
}

void log_for_each(void (*fn)(const char *s, size_t n))
{
	size_t start = head % LOG_SIZE;
	char note[64];

	fn(boot, boot_len);
	if (head <= LOG_SIZE) {
		fn(ring, head);
		return;
	}
	fn(note, (size_t)snprintf(note, sizeof(note), "[... %llu bytes of the log dropped]\n",
				  (unsigned long long)(head - LOG_SIZE)));
	fn(ring + start, LOG_SIZE - start);
	fn(ring, start);
}
