/* args.c -- argv from the boot params, and "key=value" lookups with K/M/G size suffixes. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "internal.h"

int args_init(const struct emhv_boot_params *bp, char **argv, int max)
{
	static char name[EMHV_VM_NAME_MAX + 1];
	const char *lo = bp->args, *hi = bp->args + sizeof(bp->args);
	uint32_t i, n = bp->argc;
	int argc = 0;

	memcpy(name, bp->name, EMHV_VM_NAME_MAX); /* name[EMHV_VM_NAME_MAX] stays NUL */
	argv[argc++] = name;
	if (n > EMHV_BOOT_MAX_ARGS) {
		printf("guest: error: boot params claim %u arguments, at most %d fit\n", n,
		       EMHV_BOOT_MAX_ARGS);
		hc_exit(RT_EXIT_SETUP);
	}
	for (i = 0; i < n && argc < max - 1; i++) {
		const char *w = (const char *)bp->argv[i];

		if (w < lo || w >= hi || !memchr(w, 0, (size_t)(hi - w))) {
			printf(
			    "guest: error: argument %u at 0x%llx is not a word in the args block\n",
			    i, (unsigned long long)bp->argv[i]);
			hc_exit(RT_EXIT_SETUP);
		}
		argv[argc++] = (char *)w;
	}
	argv[argc] = NULL;
	return argc;
}

/* The value of the last "key=value" word, or NULL. */
static const char *arg_find(int argc, char **argv, const char *key)
{
	size_t klen = strlen(key);
	const char *val = NULL;
	int i;

	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], key, klen) && argv[i][klen] == '=')
			val = argv[i] + klen + 1;
	return val;
}

static __attribute__((noreturn)) void arg_bad(const char *key, const char *val, const char *why)
{
	printf("error: %s=%s: %s\n", key, val, why);
	hc_exit(RT_EXIT_ARGS);
}

static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'K':
	case 'k':
		return 10;
	case 'M':
	case 'm':
		return 20;
	case 'G':
	case 'g':
		return 30;
	}
	return 0;
}

uint64_t arg_u64(int argc, char **argv, const char *key, uint64_t def)
{
	const char *s = arg_find(argc, argv, key);
	int hex;
	char *end;
	unsigned shift;
	uint64_t v;

	if (!s)
		return def;
	if (!isdigit((unsigned char)s[0]))
		arg_bad(key, s, "not a number (K/M/G suffixes allowed)");
	hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	errno = 0;
	v = strtoull(s, &end, hex ? 16 : 10);
	if (errno == ERANGE)
		arg_bad(key, s, "too large");
	shift = hex ? 0 : suffix_shift(*end);
	if (shift)
		end++;
	if (*end || end == s + (hex ? 2 : 0))
		arg_bad(key, s, "not a number (K/M/G suffixes allowed)");
	if (v > UINT64_MAX >> shift)
		arg_bad(key, s, "too large");
	return v << shift;
}

bool arg_flag(int argc, char **argv, const char *key, bool def)
{
	uint64_t v = arg_u64(argc, argv, key, def);

	if (v > 1)
		arg_bad(key, arg_find(argc, argv, key), "0 or 1");
	return v == 1;
}

const char *arg_str(int argc, char **argv, const char *key, const char *def)
{
	const char *s = arg_find(argc, argv, key);

	return s ? s : def;
}

static int arg_known(const char *word, size_t klen, const char *const *known)
{
	for (; *known; known++)
		if (strlen(*known) == klen && !strncmp(word, *known, klen))
			return 1;
	return 0;
}

void arg_check(int argc, char **argv, const char *const *known)
{
	const char *const *k;
	const char *eq;
	int i;

	for (i = 1; i < argc; i++) {
		eq = strchr(argv[i], '=');
		if (eq && eq != argv[i] && arg_known(argv[i], (size_t)(eq - argv[i]), known))
			continue;
		printf("error: argument \"%s\": expected key=value with key one of:", argv[i]);
		for (k = known; *k; k++)
			printf(" %s", *k);
		printf("\n");
		hc_exit(RT_EXIT_ARGS);
	}
}
