/* The hypervisor log: a ring buffer holding what kprintf printed since boot. */
#include <hv/console.h>

#define LOG_SIZE 32768

static char ring[LOG_SIZE];
static uint64_t head; /* total bytes ever appended */

void log_append(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ring[(head + i) % LOG_SIZE] = s[i];
	head += n;
}

void log_for_each(void (*fn)(const char *s, size_t n))
{
	size_t start = head > LOG_SIZE ? head % LOG_SIZE : 0;

	if (head > LOG_SIZE) {
		fn(ring + start, LOG_SIZE - start);
		fn(ring, start);
	} else {
		fn(ring, head);
	}
}
