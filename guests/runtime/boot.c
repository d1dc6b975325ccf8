/* boot.c -- rt_main: from _start to main() and the exit hypercall; boot_params(). */
#include "runtime.h"
#include "internal.h"

static const struct emhv_boot_params *rt_bp;

const struct emhv_boot_params *boot_params(void)
{
	return rt_bp;
}

__attribute__((noreturn)) void rt_main(const struct emhv_boot_params *bp);

__attribute__((noreturn)) void rt_main(const struct emhv_boot_params *bp)
{
	static char *argv[EMHV_BOOT_MAX_ARGS + 2];
	int argc;

	hc_init();
	idt_init();
	rt_bp = bp;
	if (bp->magic != EMHV_BOOT_MAGIC) {
		printf("guest: error: boot params at %p: bad magic 0x%x\n", (const void *)bp,
		       (unsigned)bp->magic);
		hc_exit(RT_EXIT_SETUP);
	}
	argc = args_init(bp, argv, EMHV_BOOT_MAX_ARGS + 2);
	hc_exit(main(argc, argv));
}
