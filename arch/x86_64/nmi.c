/* The host's NMI handler: count, remember where, report later; an NMI never stops the hypervisor. */
#include <stdio.h>
#include "nmi.h"
#include "trap.h"

static volatile uint64_t count, reported, in_guest;
static volatile int last_vm;

static void on_nmi(struct trap_frame *tf)
{
	(void)tf;
	count++; /* nothing else: the console and the log are not safe to enter from an NMI */
}

void nmi_init(void)
{
	trap_set_handler(2, on_nmi);
	mce_init();
}

uint64_t nmi_count(void)
{
	return count;
}

void nmi_note_guest(int vm_id)
{
	in_guest++;
	last_vm = vm_id;
}

void nmi_report(char *buf, unsigned n)
{
	uint64_t now = count;

	buf[0] = 0;
	if (now == reported)
		return;
	snprintf(buf, n, "nmi: %llu NMI%s taken by the host since boot, %llu of them while a guest ran%s",
		 (unsigned long long)now, now == 1 ? "" : "s", (unsigned long long)in_guest,
		 in_guest ? " (the last in vm " : "");
	if (in_guest) {
		unsigned len = 0;

		while (buf[len])
			len++;
		snprintf(buf + len, n - len, "%d)", last_vm);
	}
	reported = now;
}
