/* Unit tests (cmocka) for the walker mm/npt.c in its EPT (npt_ept.c) and NPT (npt_npt.c) format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mm/npt.h"
#include "mm/ept_bits.h"
#include "mm/npt_bits.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define K4  NPT_SIZE_4K
#define M2  NPT_SIZE_2M

/* The SDM's encoding, spelled out independently of ept_bits.h: R/W/X 0..2, WB (6) in 5:3, PS 7. */
#define SDM_WB	 (6ULL << 3)
#define SDM_PS	 (1ULL << 7)
#define SDM_A	 (1ULL << 8)
#define SDM_D	 (1ULL << 9)
#define SDM_ADDR 0x000ffffffffff000ULL

static uint64_t sdm_leaf(paddr_t pa, unsigned rights, unsigned level)
{
	return pa | rights | SDM_WB | (level == NPT_LEVEL_2M ? SDM_PS : 0);
}

/*
 * The APM's long-mode entry, spelled out independently of npt_bits.h:
 * P 0, R/W 1, U/S 2 (set everywhere: nested accesses are user accesses),
 * A 5, D 6, PS 7, NX 63.
 */
#define APM_P	 (1ULL << 0)
#define APM_RW	 (1ULL << 1)
#define APM_US	 (1ULL << 2)
#define APM_A	 (1ULL << 5)
#define APM_D	 (1ULL << 6)
#define APM_PS	 (1ULL << 7)
#define APM_NX	 (1ULL << 63)
#define APM_ADDR 0x000ffffffffff000ULL

static uint64_t apm_leaf(paddr_t pa, unsigned rights, unsigned level)
{
	return pa | APM_P | APM_US | (rights & NPT_W ? APM_RW : 0) | (rights & NPT_X ? 0 : APM_NX) |
	       (level == NPT_LEVEL_2M ? APM_PS : 0);
}

/* ---- the format under test: each test runs once per format (a cmocka group each) ---- */

static const struct npt_format *fmt;
static bool fmt_is_ept;

static int group_ept(void **state)
{
	(void)state;
	fmt = &npt_format_ept;
	fmt_is_ept = true;
	print_message("[----------] format ept\n");
	return 0;
}

static int group_npt(void **state)
{
	(void)state;
	fmt = &npt_format_npt;
	fmt_is_ept = false;
	print_message("[----------] format npt\n");
	return 0;
}

/* The raw value a test expects, written out for each format. */
#define BY_FMT(ept, npt) (fmt_is_ept ? (uint64_t)(ept) : (uint64_t)(npt))

/* Execute-only is an EPT thing: NPT cannot map a page that is not readable. */
static bool rights_valid(unsigned rights)
{
	return fmt_is_ept || (rights & NPT_R);
}

/* The leaf the format should write, and its accessed and dirty bits. */
static uint64_t ref_leaf(paddr_t pa, unsigned rights, unsigned level)
{
	return fmt_is_ept ? sdm_leaf(pa, rights, level) : apm_leaf(pa, rights, level);
}

#define REF_A BY_FMT(SDM_A, APM_A)
#define REF_D BY_FMT(SDM_D, APM_D)

/* ---- table frames from the heap, counted ---- */

struct pool {
	uint64_t allocs, frees;
	uint64_t fail_in; /* the fail_in-th next allocation fails (1: the next one); 0: none */
	bool fail_all;
};

static paddr_t pool_alloc(void *ctx)
{
	struct pool *pl = ctx;
	void *p;

	if (pl->fail_all || (pl->fail_in && --pl->fail_in == 0))
		return FRAME_NONE;
	p = aligned_alloc(4096, 4096);
	assert_non_null(p);
	memset(p, 0, 4096);
	pl->allocs++;
	return (paddr_t)(uintptr_t)p;
}

static void pool_free(void *ctx, paddr_t pa)
{
	struct pool *pl = ctx;

	assert_int_equal(pa % 4096, 0);
	pl->frees++;
	free((void *)(uintptr_t)pa);
}

static struct pool pool;
static struct npt nt;
static const struct npt_ops pool_ops = { pool_alloc, pool_free, &pool };

static int setup(void **state)
{
	(void)state;
	memset(&pool, 0, sizeof(pool));
	assert_int_equal(npt_init(&nt, fmt, &pool_ops), 0);
	assert_int_equal(nt.tables, 1);
	assert_int_equal(nt.mapped, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	npt_destroy(&nt, NULL, NULL);
	assert_int_equal(nt.tables, 0);
	assert_int_equal(nt.mapped, 0);
	assert_int_equal(pool.allocs, pool.frees);
	return 0;
}

/* Tables in use agree with the pool, and with the expected count. */
static void expect_tables(uint64_t n)
{
	assert_int_equal(nt.tables, n);
	assert_int_equal(pool.allocs - pool.frees, n);
}

/* ---- an EPT or NPT walk written from the SDM and the APM, independent of npt.c ---- */

/* The leaf entry mapping gpa and its level, or NULL; checks every table entry on the way. */
static uint64_t *ref_entry(const struct npt *t, uint64_t gpa, unsigned *level)
{
	uint64_t table = t->root;
	int l;

	for (l = 3; l >= 0; l--) {
		uint64_t *e = (uint64_t *)(uintptr_t)table + ((gpa >> (12 + 9 * l)) & 511);

		if (fmt_is_ept ? !(*e & 7) : !(*e & APM_P))
			return NULL;
		/* PS (bit 7 in both) makes a leaf at the PD level only; a PTE's bit 7 is not PS */
		if (l == 0 || (l == 1 && (*e & (fmt_is_ept ? SDM_PS : APM_PS)))) {
			*level = (unsigned)l;
			return e;
		}
		if (fmt_is_ept) {
			/* a table entry: R|W|X, nothing else */
			assert_int_equal(*e & ~SDM_ADDR, 7);
			table = *e & SDM_ADDR;
		} else {
			/* a table entry: P|R/W|U/S, no NX, nothing else */
			assert_int_equal(*e & ~APM_ADDR, APM_P | APM_RW | APM_US);
			table = *e & APM_ADDR;
		}
	}
	return NULL;
}

/* The leaf entry mapping gpa, which must exist (to set A/D bits as the processor would). */
static uint64_t *leaf_entry(uint64_t gpa)
{
	unsigned level;
	uint64_t *e = ref_entry(&nt, gpa, &level);

	assert_non_null(e);
	return e;
}

static uint64_t leaf_value(uint64_t gpa)
{
	return *leaf_entry(gpa);
}

/* gpa is inside a leaf (pa, level, rights), seen through npt_lookup() and in the entry itself. */
static void expect_leaf(uint64_t gpa, paddr_t pa, unsigned level, unsigned rights)
{
	paddr_t got_pa = 0;
	unsigned got_level = 9, got_rights = 0, l;
	uint64_t *e;

	assert_int_equal(npt_lookup(&nt, gpa, &got_pa, &got_level, &got_rights), 0);
	assert_int_equal(got_pa, pa);
	assert_int_equal(got_level, level);
	assert_int_equal(got_rights, rights);
	e = ref_entry(&nt, gpa, &l);
	assert_non_null(e);
	assert_int_equal(l, level);
	assert_int_equal(*e & ~(REF_A | REF_D), ref_leaf(pa, rights, level));
}

static void expect_unmapped(uint64_t gpa)
{
	unsigned l;

	assert_int_equal(npt_lookup(&nt, gpa, NULL, NULL, NULL), -NPT_ENOENT);
	assert_null(ref_entry(&nt, gpa, &l));
}

/* ---- the whole tree, decoded by the SDM and the APM: the invariant, and dumps to compare ---- */

#define REF_ADDR BY_FMT(SDM_ADDR, APM_ADDR)

static bool ref_present(uint64_t e)
{
	return fmt_is_ept ? (e & 7) != 0 : (e & APM_P) != 0;
}

/* What npt.c reads from a format's present and page-size bits. */
static bool fmt_present(const struct npt_format *f, uint64_t e)
{
	return (e & f->present_bits) != 0;
}

static bool fmt_is_leaf(const struct npt_format *f, uint64_t e, unsigned level)
{
	return level == NPT_LEVEL_4K || (level == NPT_LEVEL_2M && (e & f->page_size));
}

static bool ref_is_leaf(uint64_t e, int level)
{
	return level == 0 || (level == 1 && (e & (fmt_is_ept ? SDM_PS : APM_PS)));
}

/* Count the tables and mapped bytes under a table; every table below the root holds something. */
static unsigned check_table(uint64_t table, int level, uint64_t *tables, uint64_t *mapped)
{
	const uint64_t *tb = (const uint64_t *)(uintptr_t)table;
	unsigned i, n = 0;

	(*tables)++;
	for (i = 0; i < 512; i++) {
		if (!ref_present(tb[i]))
			continue;
		n++;
		if (ref_is_leaf(tb[i], level))
			*mapped += K4 << (9 * level);
		else
			assert_true(check_table(tb[i] & REF_ADDR, level - 1, tables, mapped) > 0);
	}
	return n;
}

/* The walker's invariant over all of t: no empty table but the root; tables and mapped exact. */
static void check_tree(const struct npt *t)
{
	uint64_t tables = 0, mapped = 0;

	check_table(t->root, 3, &tables, &mapped);
	assert_int_equal(t->tables, tables);
	assert_int_equal(t->mapped, mapped);
}

/* Every present entry of a tree in address order; table addresses kept only if asked. */
struct dump_entry {
	uint64_t gpa, raw;
	int level;
};

struct dump {
	struct dump_entry *d;
	unsigned n, cap;
};

static void dump_table(struct dump *dp, uint64_t table, int level, uint64_t base, bool addrs)
{
	const uint64_t *tb = (const uint64_t *)(uintptr_t)table;
	unsigned i;

	for (i = 0; i < 512; i++) {
		uint64_t e = tb[i], gpa = base + ((uint64_t)i << (12 + 9 * level));
		bool leaf = ref_is_leaf(e, level);

		if (!ref_present(e))
			continue;
		if (dp->n == dp->cap) {
			dp->cap = dp->cap ? 2 * dp->cap : 64;
			dp->d = realloc(dp->d, dp->cap * sizeof(*dp->d));
			assert_non_null(dp->d);
		}
		dp->d[dp->n++] =
			(struct dump_entry){ gpa, leaf || addrs ? e : e & ~REF_ADDR, level };
		if (!leaf)
			dump_table(dp, e & REF_ADDR, level - 1, gpa, addrs);
	}
}

static struct dump dump_tree(const struct npt *t, bool addrs)
{
	struct dump dp = { NULL, 0, 0 };

	dump_table(&dp, t->root, 3, 0, addrs);
	return dp;
}

/* Two dumps are equal; both are freed. */
static void expect_same_dump(struct dump a, struct dump b)
{
	unsigned i;

	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_int_equal(a.d[i].gpa, b.d[i].gpa);
		assert_int_equal(a.d[i].level, b.d[i].level);
		assert_int_equal(a.d[i].raw, b.d[i].raw);
	}
	free(a.d);
	free(b.d);
}

/* The entry for gpa in the level-`level` table, which must exist. */
static uint64_t *ref_slot(const struct npt *t, uint64_t gpa, int level)
{
	uint64_t table = t->root;
	int l;

	for (l = 3;; l--) {
		uint64_t *e = (uint64_t *)(uintptr_t)table + ((gpa >> (12 + 9 * l)) & 511);

		if (l == level)
			return e;
		assert_true(ref_present(*e));
		assert_false(ref_is_leaf(*e, l));
		table = *e & REF_ADDR;
	}
}

/* ---- a scripted visitor for npt_scan ---- */

#define VISIT_MAX 2048

struct visit {
	struct npt_leaf seen[VISIT_MAX];
	enum npt_scan_action ans[VISIT_MAX];
	unsigned n;
	enum npt_scan_action act; /* the answer */
	/* or this, if set */
	enum npt_scan_action (*pick)(struct visit *v, const struct npt_leaf *l);
	unsigned stop_at;	 /* STOP at this visit (1: the first) */
	const struct npt *check; /* check this tree at every visit */
};

static struct visit vis;

static void visit_reset(enum npt_scan_action act)
{
	memset(&vis, 0, sizeof(vis));
	vis.act = act;
}

static enum npt_scan_action visit_leaf(void *ctx, const struct npt_leaf *l)
{
	struct visit *v = ctx;
	enum npt_scan_action a;

	if (v->check)
		check_tree(v->check); /* what the visits before this one did is complete */
	assert_true(v->n < VISIT_MAX);
	if (v->n) {
		/* in order, each once; a split leaf's first page may come next */
		const struct npt_leaf *prev = &v->seen[v->n - 1];

		assert_true(l->gpa >= prev->gpa +
				(v->ans[v->n - 1] == NPT_SCAN_SPLIT ? 0 : K4 << (9 * prev->level)));
	}
	v->seen[v->n] = *l;
	a = v->stop_at == v->n + 1 ? NPT_SCAN_STOP : v->pick ? v->pick(v, l) : v->act;
	v->ans[v->n++] = a;
	return a;
}

/* One scan with the visitor: its return value; *next checked against want_next. */
static int scan(uint64_t start, uint64_t end, uint64_t want_next)
{
	uint64_t next = 0x5eed;
	int r = npt_scan(&nt, start, end, visit_leaf, &vis, &next);

	assert_int_equal(next, want_next);
	return r;
}

static void expect_seen(unsigned i, uint64_t gpa, paddr_t pa, unsigned level, unsigned rights,
			bool a, bool d)
{
	const struct npt_leaf *l = &vis.seen[i];

	assert_true(i < vis.n);
	assert_int_equal(l->gpa, gpa);
	assert_int_equal(l->pa, pa);
	assert_int_equal(l->level, level);
	assert_int_equal(l->rights, rights);
	assert_int_equal(l->accessed, a);
	assert_int_equal(l->dirty, d);
}

#include "test_rng.h"

/* ---- tests ---- */

/* Each callback against the SDM's layout, bit by bit. */
static void test_ept_encoding(void **state)
{
	const struct npt_format *f = &npt_format_ept;

	(void)state;
	assert_string_equal(f->name, "ept");
	assert_int_equal(f->rights_need, 0); /* even X alone is expressible */
	assert_int_equal(f->make_leaf(0x40000000, NPT_RWX, NPT_LEVEL_2M),
			 0x40000000ULL | 0x7 | (6 << 3) | (1 << 7));
	assert_int_equal(f->make_leaf(0x1234000, NPT_R, NPT_LEVEL_4K), 0x1234000ULL | 0x1 | 0x30);
	assert_int_equal(f->make_leaf(0xffffffffff000ULL, NPT_R | NPT_X, NPT_LEVEL_4K),
			 0xffffffffff000ULL | 0x5 | 0x30);
	assert_int_equal(f->make_leaf(0x200000, NPT_X, NPT_LEVEL_2M),
			 0x200000ULL | 0x4 | 0x30 | 0x80);
	assert_int_equal(f->make_table(0x5000), 0x5007);
	assert_int_equal(f->make_table(0xabcdef0123000ULL), 0xabcdef0123007ULL);

	assert_false(fmt_present(f, 0));
	assert_false(fmt_present(f, 0x30 | 0x80 | 0x300 | 0x1000)); /* no R/W/X: not present */
	assert_true(fmt_present(f, 1));
	assert_true(fmt_present(f, 2));
	assert_true(fmt_present(f, 4));

	assert_true(fmt_is_leaf(f, 0x1007, NPT_LEVEL_4K)); /* PS ignored in a PTE */
	assert_true(fmt_is_leaf(f, 0x1087, NPT_LEVEL_4K));
	assert_false(fmt_is_leaf(f, 0x1007, NPT_LEVEL_2M));
	assert_true(fmt_is_leaf(f, 0x200087, NPT_LEVEL_2M));

	assert_int_equal(f->addr(0x8000000000005007ULL | (0x7ffULL << 52) | 0x3f8), 0x5000);
	assert_int_equal(f->addr(0x8000000000005007ULL | (0x7ffULL << 52) | 0x3f8),
			 (0x8000000000005007ULL | (0x7ffULL << 52) | 0x3f8) & f->addr_mask); /* npt.c relies on it */
	assert_int_equal(f->addr(0x000fffffffe00087ULL), 0xfffffffe00000ULL);
	assert_int_equal(f->rights(0x1000 | 0x30 | 0x300 | 0x5), NPT_R | NPT_X);
	assert_int_equal(f->rights(0x1000 | 0x30 | 0x2), NPT_W);

	/* set_rights touches bits 2:0 only: memory type, PS, A, D, address stay */
	assert_int_equal(f->set_rights(0x200000 | 0x7 | 0x30 | 0x80 | 0x300, NPT_R, NPT_LEVEL_2M),
			 0x200000ULL | 0x1 | 0x30 | 0x80 | 0x300);
	assert_int_equal(f->set_rights(0x3000 | 0x1 | 0x30 | 0x100, NPT_RWX, NPT_LEVEL_4K),
			 0x3000ULL | 0x7 | 0x30 | 0x100);
	assert_int_equal(f->accessed, 1ULL << 8);
	assert_int_equal(f->dirty, 1ULL << 9);
}

/* The hardware header agrees with the SDM (the _Static_asserts cover the rest). */
static void test_ept_bits(void **state)
{
	(void)state;
	assert_int_equal(EPT_READ | EPT_WRITE | EPT_EXEC, 0x7);
	assert_int_equal(EPT_MT_WB << EPT_MT_SHIFT, SDM_WB);
	assert_int_equal(EPT_IGNORE_PAT, 1ULL << 6);
	assert_int_equal(EPT_PAGE_SIZE, SDM_PS);
	assert_int_equal(EPT_ACCESSED, SDM_A);
	assert_int_equal(EPT_DIRTY, SDM_D);
	assert_int_equal(EPT_ADDR_MASK, SDM_ADDR);
}

/* Each callback against the APM's long-mode layout, bit by bit. */
static void test_npt_encoding(void **state)
{
	const struct npt_format *f = &npt_format_npt;
	const uint64_t nx = 1ULL << 63;

	(void)state;
	assert_string_equal(f->name, "npt");
	assert_int_equal(f->rights_need, NPT_R);
	/* leaves: P, U/S always; R/W for W; NX without X; PS at 2 MiB; PWT/PCD/PAT 0 */
	assert_int_equal(f->make_leaf(0x40000000, NPT_RWX, NPT_LEVEL_2M),
			 0x40000000ULL | 0x1 | 0x2 | 0x4 | 0x80);
	assert_int_equal(f->make_leaf(0x1234000, NPT_R, NPT_LEVEL_4K),
			 0x1234000ULL | 0x1 | 0x4 | nx);
	assert_int_equal(f->make_leaf(0xffffffffff000ULL, NPT_R | NPT_X, NPT_LEVEL_4K),
			 0xffffffffff000ULL | 0x1 | 0x4);
	assert_int_equal(f->make_leaf(0x200000, NPT_R | NPT_W, NPT_LEVEL_2M),
			 0x200000ULL | 0x1 | 0x2 | 0x4 | 0x80 | nx);
	assert_int_equal(f->make_leaf(0x5000, NPT_RWX, NPT_LEVEL_4K), 0x5007ULL);
	/* tables: P, R/W, U/S, nothing else */
	assert_int_equal(f->make_table(0x5000), 0x5000ULL | 0x1 | 0x2 | 0x4);
	assert_int_equal(f->make_table(0xabcdef0123000ULL), 0xabcdef0123007ULL);

	assert_false(fmt_present(f, 0));
	assert_false(fmt_present(f, ~1ULL)); /* P clear: nothing else counts */
	assert_true(fmt_present(f, 1));
	assert_true(fmt_present(f, 0x1000 | 0x1 | nx));

	assert_true(fmt_is_leaf(f, 0x1005, NPT_LEVEL_4K));
	assert_true(fmt_is_leaf(f, 0x1085, NPT_LEVEL_4K)); /* bit 7 of a PTE is PAT, not PS */
	assert_false(fmt_is_leaf(f, 0x1007, NPT_LEVEL_2M));
	assert_true(fmt_is_leaf(f, 0x200087, NPT_LEVEL_2M));

	assert_int_equal(f->addr(nx | 0x0000000000005007ULL | (0x7ffULL << 52) | 0xff8), 0x5000);
	assert_int_equal(f->addr(nx | 0x5007ULL | (0x7ffULL << 52) | 0xff8),
			 (nx | 0x5007ULL | (0x7ffULL << 52) | 0xff8) & f->addr_mask); /* npt.c relies on it */
	assert_int_equal(f->addr(0x000fffffffe00087ULL | nx), 0xfffffffe00000ULL);
	assert_int_equal(f->rights(0x1000 | 0x5 | 0x60), NPT_R | NPT_X);
	assert_int_equal(f->rights(0x1000 | 0x5 | nx), NPT_R);
	assert_int_equal(f->rights(0x1000 | 0x7 | nx), NPT_R | NPT_W);
	assert_int_equal(f->rights(0x1000 | 0x87), NPT_RWX);

	/* set_rights touches R/W and NX only: P, U/S, PS, A, D, address stay */
	assert_int_equal(f->set_rights(0x200000 | 0x7 | 0x80 | 0x60, NPT_R, NPT_LEVEL_2M),
			 0x200000ULL | 0x5 | 0x80 | 0x60 | nx);
	assert_int_equal(f->set_rights(0x3000 | 0x5 | 0x20 | nx, NPT_RWX, NPT_LEVEL_4K),
			 0x3000ULL | 0x7 | 0x20);
	assert_int_equal(f->set_rights(0x3000 | 0x7 | 0x40, NPT_R | NPT_X, NPT_LEVEL_4K),
			 0x3000ULL | 0x5 | 0x40);
	assert_int_equal(f->accessed, 1ULL << 5);
	assert_int_equal(f->dirty, 1ULL << 6);
}

/* The NPT hardware header agrees with the APM (the _Static_asserts cover the rest). */
static void test_npt_bits(void **state)
{
	(void)state;
	assert_int_equal(NPTE_PRESENT, APM_P);
	assert_int_equal(NPTE_WRITE, APM_RW);
	assert_int_equal(NPTE_USER, APM_US);
	assert_int_equal(NPTE_PWT | NPTE_PCD, 0x18);
	assert_int_equal(NPTE_ACCESSED, APM_A);
	assert_int_equal(NPTE_DIRTY, APM_D);
	assert_int_equal(NPTE_PS, APM_PS);
	assert_int_equal(NPTE_NX, APM_NX);
	assert_int_equal(NPTE_ADDR_MASK, APM_ADDR);
}

static void test_init_errors(void **state)
{
	struct npt_format no_leaf = *fmt, bad_need = *fmt;
	struct npt_ops no_free = pool_ops;
	struct npt t;

	(void)state;
	memset(&pool, 0, sizeof(pool));
	no_leaf.make_leaf = NULL;
	bad_need.rights_need = 8; /* a right no rights can have */
	no_free.free_table = NULL;
	assert_int_equal(npt_init(NULL, fmt, &pool_ops), -NPT_EINVAL);
	assert_int_equal(npt_init(&t, NULL, &pool_ops), -NPT_EINVAL);
	assert_int_equal(npt_init(&t, &no_leaf, &pool_ops), -NPT_EINVAL);
	assert_int_equal(npt_init(&t, &bad_need, &pool_ops), -NPT_EINVAL);
	assert_int_equal(npt_init(&t, fmt, NULL), -NPT_EINVAL);
	assert_int_equal(npt_init(&t, fmt, &no_free), -NPT_EINVAL);
	assert_int_equal(pool.allocs, 0);

	pool.fail_in = 1;
	assert_int_equal(npt_init(&t, fmt, &pool_ops), -NPT_ENOMEM);
	assert_int_equal(t.tables, 0);
	assert_int_equal(pool.allocs, 0);
	/* a failed npt refuses everything and destroys to nothing */
	assert_int_equal(npt_map(&t, 0, 0x1000, NPT_LEVEL_4K, NPT_RWX), -NPT_EINVAL);
	assert_int_equal(npt_lookup(&t, 0, NULL, NULL, NULL), -NPT_EINVAL);
	assert_false(npt_any_mapped(&t, 0, NPT_GPA_LIMIT));
	npt_destroy(&t, NULL, NULL);
	npt_destroy(NULL, NULL, NULL);

	/* NULL npt everywhere */
	assert_int_equal(npt_map(NULL, 0, 0x1000, NPT_LEVEL_4K, NPT_RWX), -NPT_EINVAL);
	assert_int_equal(npt_unmap(NULL, 0, NULL, NULL), -NPT_EINVAL);
	assert_int_equal(npt_lookup(NULL, 0, NULL, NULL, NULL), -NPT_EINVAL);
	assert_int_equal(npt_protect(NULL, 0, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_split(NULL, 0), -NPT_EINVAL);
	assert_int_equal(npt_merge(NULL, 0), -NPT_EINVAL);
	assert_int_equal(npt_test_ad(NULL, 0, NULL, NULL, true), -NPT_EINVAL);
	assert_false(npt_any_mapped(NULL, 0, K4));
}

static void test_map_4k(void **state)
{
	uint64_t gpa = 0x12345000;
	paddr_t pa = 0;
	unsigned level = 9;

	(void)state;
	assert_int_equal(npt_map(&nt, gpa, 0x7654321000ULL, NPT_LEVEL_4K, NPT_R | NPT_W), 0);
	expect_tables(4);
	assert_int_equal(nt.mapped, K4);
	expect_leaf(gpa, 0x7654321000ULL, NPT_LEVEL_4K, NPT_R | NPT_W);
	expect_leaf(gpa + 0xfff, 0x7654321000ULL, NPT_LEVEL_4K, NPT_R | NPT_W);
	assert_int_equal(leaf_value(gpa), BY_FMT(0x7654321000ULL | 0x3 | 0x30,
						 0x7654321000ULL | 0x7 | APM_NX));
	assert_int_equal(npt_lookup(&nt, gpa, NULL, NULL, NULL), 0);
	expect_unmapped(gpa - 1);
	expect_unmapped(gpa + K4);

	/* a neighbour in the same page table adds no table */
	assert_int_equal(npt_map(&nt, gpa + K4, 0x1000, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_tables(4);
	assert_int_equal(nt.mapped, 2 * K4);

	assert_int_equal(npt_unmap(&nt, gpa + 0x800, &pa, &level), 0);
	assert_int_equal(pa, 0x7654321000ULL);
	assert_int_equal(level, NPT_LEVEL_4K);
	expect_unmapped(gpa);
	expect_tables(4);
	assert_int_equal(npt_unmap(&nt, gpa, &pa, &level), -NPT_ENOENT);
	/* the last leaf takes its page table, directory and PDPT with it */
	assert_int_equal(npt_unmap(&nt, gpa + K4, NULL, NULL), 0);
	expect_tables(1);
	assert_int_equal(nt.mapped, 0);
	assert_int_equal(pool.frees, 3);
}

/*
 * A page table keeps its place while any of its entries is present, wherever the neighbours are:
 * pages unmapped in a scattered order (each chunk of eight entries visited out of turn, the last
 * neighbour sometimes in the same eight, sometimes a wrap round the table away) free the page
 * table, directory and PDPT exactly with the last page, and the tree stays exact at every step.
 */
static void test_unmap_scattered_frees_with_the_last(void **state)
{
	const uint64_t base = 0x40000000;

	(void)state;
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(npt_map(&nt, base + i * K4, 0x100000 + i * K4, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_tables(4);
	for (unsigned k = 0; k < 512; k++) {
		unsigned i = (k * 205 + 7) % 512; /* 205 is odd: every entry once */

		assert_int_equal(npt_unmap(&nt, base + i * K4, NULL, NULL), 0);
		expect_tables(k < 511 ? 4 : 1);
		assert_int_equal(nt.mapped, (511 - k) * K4);
		check_tree(&nt);
	}
	/* the only other entry in entry 8's own eight, then the only one at the far end */
	assert_int_equal(npt_map(&nt, base + 8 * K4, 0x1000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&nt, base + 15 * K4, 0x2000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&nt, base + 511 * K4, 0x3000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_unmap(&nt, base + 15 * K4, NULL, NULL), 0);
	expect_tables(4);
	assert_int_equal(npt_unmap(&nt, base + 511 * K4, NULL, NULL), 0);
	expect_tables(4);
	assert_int_equal(npt_unmap(&nt, base + 8 * K4, NULL, NULL), 0);
	expect_tables(1);
}

static void test_map_2m(void **state)
{
	uint64_t gpa = 0x40000000;
	paddr_t pa = 0;
	unsigned level = 9;

	(void)state;
	assert_int_equal(npt_map(&nt, gpa, 0x80000000, NPT_LEVEL_2M, NPT_RWX), 0);
	expect_tables(3);
	assert_int_equal(nt.mapped, M2);
	assert_int_equal(leaf_value(gpa), BY_FMT(0x80000000ULL | 0x7 | (6 << 3) | (1 << 7),
						 0x80000000ULL | 0x7 | (1 << 7)));
	expect_leaf(gpa, 0x80000000, NPT_LEVEL_2M, NPT_RWX);
	expect_leaf(gpa + 0x12345, 0x80000000, NPT_LEVEL_2M, NPT_RWX);
	expect_leaf(gpa + M2 - 1, 0x80000000, NPT_LEVEL_2M, NPT_RWX);
	expect_unmapped(gpa - 1);
	expect_unmapped(gpa + M2);

	assert_int_equal(npt_unmap(&nt, gpa + 0x1ff000, &pa, &level), 0);
	assert_int_equal(pa, 0x80000000);
	assert_int_equal(level, NPT_LEVEL_2M);
	expect_unmapped(gpa);
	expect_tables(1);
	assert_int_equal(nt.mapped, 0);

	/* the very top of the address space */
	assert_int_equal(npt_map(&nt, NPT_GPA_LIMIT - M2, 0xfffffffe00000ULL, NPT_LEVEL_2M, NPT_R),
			 0);
	assert_int_equal(npt_map(&nt, NPT_GPA_LIMIT - 3 * M2 + K4, 0, NPT_LEVEL_4K, NPT_R), 0);
	expect_leaf(NPT_GPA_LIMIT - 1, 0xfffffffe00000ULL, NPT_LEVEL_2M, NPT_R);
	expect_leaf(NPT_GPA_LIMIT - 3 * M2 + K4, 0, NPT_LEVEL_4K, NPT_R);
	expect_tables(4);
}

static void test_map_errors(void **state)
{
	static const unsigned good[] = { NPT_R, NPT_X, NPT_R | NPT_W, NPT_R | NPT_X, NPT_RWX };
	static const unsigned bad[] = { 0, NPT_W, NPT_W | NPT_X, 8, NPT_RWX | 8, 0x80000007u };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(npt_map(&nt, 0, 0x1000, NPT_LEVEL_4K, bad[i]), -NPT_EINVAL);
		assert_int_equal(npt_map(&nt, 0, 0, NPT_LEVEL_2M, bad[i]), -NPT_EINVAL);
	}
	/* execute-only: EPT maps it (the CPU capability is the caller's), NPT cannot */
	if (!fmt_is_ept) {
		assert_int_equal(npt_map(&nt, 0, 0x1000, NPT_LEVEL_4K, NPT_X), -NPT_EINVAL);
		assert_int_equal(npt_map(&nt, 0, 0, NPT_LEVEL_2M, NPT_X), -NPT_EINVAL);
	}
	assert_int_equal(npt_map(&nt, 0x1800, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0x1000, 0x1001, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0x1000, FRAME_NONE, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0x201000, 0x200000, NPT_LEVEL_2M, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0x200000, 0x201000, NPT_LEVEL_2M, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, NPT_GPA_LIMIT, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, NPT_GPA_LIMIT, 0, NPT_LEVEL_2M, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, ~0xfffULL, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0, 1ULL << 52, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0, 1ULL << 63, NPT_LEVEL_2M, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0, 0, 2, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_map(&nt, 0, 0, ~0u, NPT_R), -NPT_EINVAL);
	/* nothing was built by the refusals */
	expect_tables(1);
	assert_int_equal(pool.allocs, 1);
	assert_int_equal(nt.mapped, 0);

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!rights_valid(good[i]))
			continue;
		assert_int_equal(npt_map(&nt, i * K4, 0x10000 + i * K4, NPT_LEVEL_4K, good[i]), 0);
		expect_leaf(i * K4, 0x10000 + i * K4, NPT_LEVEL_4K, good[i]);
		assert_int_equal(npt_map(&nt, (i + 1) * M2, i * M2, NPT_LEVEL_2M, good[i]), 0);
		expect_leaf((i + 1) * M2, i * M2, NPT_LEVEL_2M, good[i]);
	}
	assert_int_equal(npt_map(&nt, NPT_GPA_LIMIT - K4, 0xffffffffff000ULL, NPT_LEVEL_4K, NPT_R),
			 0);
}

/* Something mapped there already, either way round; nothing changes on refusal. */
static void test_map_eexist(void **state)
{
	uint64_t big = 0x600000, small = 0xa00000;

	(void)state;
	assert_int_equal(npt_map(&nt, big, 0x40000000, NPT_LEVEL_2M, NPT_RWX), 0);
	assert_int_equal(npt_map(&nt, small + 0x1ff000, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	expect_tables(4);

	/* a 4 KiB leaf inside a 2 MiB one */
	assert_int_equal(npt_map(&nt, big, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EEXIST);
	assert_int_equal(npt_map(&nt, big + 0x1ff000, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EEXIST);
	/* a 2 MiB leaf over a 4 KiB one (the block's last page) */
	assert_int_equal(npt_map(&nt, small, 0x200000, NPT_LEVEL_2M, NPT_R), -NPT_EEXIST);
	/* the same leaf twice */
	assert_int_equal(npt_map(&nt, big, 0x40000000, NPT_LEVEL_2M, NPT_RWX), -NPT_EEXIST);
	assert_int_equal(npt_map(&nt, small + 0x1ff000, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EEXIST);

	expect_tables(4);
	assert_int_equal(nt.mapped, M2 + K4);
	expect_leaf(big, 0x40000000, NPT_LEVEL_2M, NPT_RWX);
	expect_leaf(small + 0x1ff000, 0x1000, NPT_LEVEL_4K, NPT_R);
	expect_unmapped(small);
}

/* An empty page table under a 2 MiB slot (left by someone else) is freed and replaced. */
static void test_map_2m_over_empty_table(void **state)
{
	uint64_t gpa = 0x1400000;
	unsigned level;
	uint64_t *e;

	(void)state;
	assert_int_equal(npt_map(&nt, gpa + 0x5000, 0x5000, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_tables(4);
	/* empty the page table behind the walker's back */
	e = ref_entry(&nt, gpa + 0x5000, &level);
	assert_non_null(e);
	*e = 0;
	nt.mapped -= K4;

	assert_int_equal(npt_map(&nt, gpa, 0x800000, NPT_LEVEL_2M, NPT_R | NPT_X), 0);
	expect_tables(3);
	assert_int_equal(pool.frees, 1);
	assert_int_equal(nt.mapped, M2);
	expect_leaf(gpa + 0x5000, 0x800000, NPT_LEVEL_2M, NPT_R | NPT_X);
}

/* Every operation on a leaf: nothing there, or an address out of range. */
static void test_enoent_einval(void **state)
{
	bool a, d;

	(void)state;
	assert_int_equal(npt_map(&nt, 0x3000, 0x3000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_unmap(&nt, 0x4000, NULL, NULL), -NPT_ENOENT);
	assert_int_equal(npt_lookup(&nt, 0x2fff, NULL, NULL, NULL), -NPT_ENOENT);
	assert_int_equal(npt_protect(&nt, 0x4000, NPT_R), -NPT_ENOENT);
	assert_int_equal(npt_test_ad(&nt, 0x4000, &a, &d, true), -NPT_ENOENT);
	assert_int_equal(npt_split(&nt, 0x80000000), -NPT_ENOENT);
	assert_int_equal(npt_merge(&nt, 0x80000000), -NPT_ENOENT);
	assert_int_equal(npt_merge(&nt, 0x200000), -NPT_ENOENT); /* same directory, no table */

	assert_int_equal(npt_unmap(&nt, NPT_GPA_LIMIT, NULL, NULL), -NPT_EINVAL);
	assert_int_equal(npt_lookup(&nt, NPT_GPA_LIMIT + 0x3000, NULL, NULL, NULL), -NPT_EINVAL);
	assert_int_equal(npt_protect(&nt, ~0ULL, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_test_ad(&nt, NPT_GPA_LIMIT, &a, &d, true), -NPT_EINVAL);
	assert_int_equal(npt_split(&nt, NPT_GPA_LIMIT), -NPT_EINVAL);
	assert_int_equal(npt_merge(&nt, NPT_GPA_LIMIT), -NPT_EINVAL);
	assert_int_equal(npt_protect(&nt, 0x3000, 0), -NPT_EINVAL);
	assert_int_equal(npt_protect(&nt, 0x3000, NPT_W), -NPT_EINVAL);
	assert_int_equal(npt_protect(&nt, 0x3000, NPT_W | NPT_X), -NPT_EINVAL);
	assert_int_equal(npt_protect(&nt, 0x3000, 0x10), -NPT_EINVAL);
	if (!fmt_is_ept)
		assert_int_equal(npt_protect(&nt, 0x3000, NPT_X), -NPT_EINVAL);
	assert_int_equal(npt_split(&nt, 0x3000), -NPT_ELEVEL);
	expect_leaf(0x3000, 0x3000, NPT_LEVEL_4K, NPT_RWX);
	expect_tables(4);
}

/* The n-th allocation of a map fails: the map is as before, no table kept. */
static void test_alloc_failure(void **state)
{
	uint64_t gpa = 0x7fffe00000ULL + 0x3000, other = 0x8040000000ULL;
	uint64_t before;
	unsigned n;

	(void)state;
	for (n = 1; n <= 3; n++) {
		pool.fail_in = n;
		assert_int_equal(npt_map(&nt, gpa, 0x1000, NPT_LEVEL_4K, NPT_RWX), -NPT_ENOMEM);
		pool.fail_in = 0;
		expect_tables(1);
		assert_int_equal(nt.mapped, 0);
		expect_unmapped(gpa);
		assert_false(npt_any_mapped(&nt, 0, NPT_GPA_LIMIT));
	}
	for (n = 1; n <= 2; n++) {
		pool.fail_in = n;
		assert_int_equal(npt_map(&nt, gpa, 0x200000, NPT_LEVEL_2M, NPT_RWX), -NPT_EINVAL);
		assert_int_equal(npt_map(&nt, gpa & ~(M2 - 1), 0x200000, NPT_LEVEL_2M, NPT_RWX),
				 -NPT_ENOMEM);
		pool.fail_in = 0;
		expect_tables(1);
	}

	/* with some tables already there, only the missing ones are asked for */
	assert_int_equal(npt_map(&nt, gpa, 0x1000, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_tables(4);
	before = pool.allocs;
	pool.fail_in = 1;
	assert_int_equal(npt_map(&nt, gpa + K4, 0x2000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(pool.allocs, before);
	assert_int_equal(npt_map(&nt, gpa - M2, 0x2000, NPT_LEVEL_4K, NPT_RWX), -NPT_ENOMEM);
	pool.fail_in = 2; /* the PDPT comes, the directory does not: the PDPT goes again */
	assert_int_equal(npt_map(&nt, other, 0x2000, NPT_LEVEL_4K, NPT_RWX), -NPT_ENOMEM);
	pool.fail_in = 0;
	expect_tables(4);
	assert_int_equal(nt.mapped, 2 * K4);
	expect_unmapped(gpa - M2);
	expect_unmapped(other);
	expect_leaf(gpa, 0x1000, NPT_LEVEL_4K, NPT_RWX);

	/* split needs one table; without it the 2 MiB leaf stays as it was */
	assert_int_equal(npt_map(&nt, other, 0x400000, NPT_LEVEL_2M, NPT_R), 0);
	expect_tables(6);
	before = leaf_value(other);
	pool.fail_all = true;
	assert_int_equal(npt_split(&nt, other + 0x1000), -NPT_ENOMEM);
	/* while nothing can be allocated, what needs no table still works */
	assert_int_equal(npt_map(&nt, other + M2, 0x600000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_map(&nt, gpa + 2 * K4, 0x3000, NPT_LEVEL_4K, NPT_R), 0);
	pool.fail_all = false;
	assert_int_equal(leaf_value(other), before);
	expect_leaf(other + 0x1000, 0x400000, NPT_LEVEL_2M, NPT_R);
	expect_tables(6);
	assert_int_equal(npt_split(&nt, other + 0x1000), 0);
	expect_tables(7);
}

/* Split a 2 MiB leaf and merge it back: the same lookups, A/D carried both ways. */
static void test_split_merge(void **state)
{
	uint64_t gpa = 0x3fe00000, pa = 0x123400000ULL, e;
	unsigned i, rights = NPT_R | NPT_X;
	bool a, d;

	(void)state;
	assert_int_equal(npt_map(&nt, gpa, pa, NPT_LEVEL_2M, rights), 0);
	*leaf_entry(gpa) |= REF_A;
	expect_tables(3);

	assert_int_equal(npt_split(&nt, gpa + 0x7654), 0);
	expect_tables(4);
	assert_int_equal(nt.mapped, M2);
	for (i = 0; i < 512; i++) {
		expect_leaf(gpa + i * K4, pa + i * K4, NPT_LEVEL_4K, rights);
		assert_int_equal(leaf_value(gpa + i * K4),
				 ref_leaf(pa + i * K4, rights, 0) | REF_A);
	}
	assert_int_equal(npt_split(&nt, gpa), -NPT_ELEVEL);

	/* the dirty bit of one small page becomes the big page's */
	*leaf_entry(gpa + 100 * K4) |= REF_D;
	assert_int_equal(npt_merge(&nt, gpa + 0x1fffff), 0);
	expect_tables(3);
	assert_int_equal(pool.frees, 1);
	assert_int_equal(nt.mapped, M2);
	e = leaf_value(gpa);
	assert_int_equal(e, BY_FMT(pa | 0x5 | 0x30 | 0x80 | 0x100 | 0x200,
				   pa | 0x5 | 0x80 | 0x20 | 0x40));
	for (i = 0; i < 512; i += 37)
		expect_leaf(gpa + i * K4 + 5, pa, NPT_LEVEL_2M, rights);
	assert_int_equal(npt_merge(&nt, gpa), -NPT_ELEVEL);

	/* a split of a dirty leaf: every small page is dirty */
	assert_int_equal(npt_split(&nt, gpa), 0);
	assert_int_equal(npt_test_ad(&nt, gpa + 0x1ff000, &a, &d, false), 0);
	assert_true(a);
	assert_true(d);
	/* clean ones merge clean */
	for (i = 0; i < 512; i++)
		assert_int_equal(npt_test_ad(&nt, gpa + i * K4, NULL, NULL, true), 0);
	assert_int_equal(npt_merge(&nt, gpa), 0);
	assert_int_equal(leaf_value(gpa), BY_FMT(pa | 0x5 | 0x30 | 0x80, pa | 0x5 | 0x80));
}

/* Fill the 2 MiB block at gpa with 4 KiB leaves: pa + i * 4 KiB, one rights. */
static void fill_block(uint64_t gpa, paddr_t pa, unsigned rights)
{
	unsigned i;

	for (i = 0; i < 512; i++)
		assert_int_equal(npt_map(&nt, gpa + i * K4, pa + i * K4, NPT_LEVEL_4K, rights), 0);
}

/* Each reason a block is not mergeable; a refused merge changes nothing. */
static void test_merge_errors(void **state)
{
	uint64_t gpa = 0x800000;
	paddr_t pa = 0x40000000;

	(void)state;
	fill_block(gpa, pa, NPT_RWX);
	expect_tables(4);

	/* one page absent: the first, a middle one, the last */
	assert_int_equal(npt_unmap(&nt, gpa, NULL, NULL), 0);
	assert_int_equal(npt_merge(&nt, gpa + K4), -NPT_EMERGE);
	assert_int_equal(npt_map(&nt, gpa, pa, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_unmap(&nt, gpa + 0x123000, NULL, NULL), 0);
	assert_int_equal(npt_merge(&nt, gpa), -NPT_EMERGE);
	assert_int_equal(npt_map(&nt, gpa + 0x123000, pa + 0x123000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_unmap(&nt, gpa + 0x1ff000, NULL, NULL), 0);
	assert_int_equal(npt_merge(&nt, gpa), -NPT_EMERGE);
	assert_int_equal(npt_map(&nt, gpa + 0x1ff000, pa + 0x1ff000, NPT_LEVEL_4K, NPT_RWX), 0);

	/* different rights */
	assert_int_equal(npt_protect(&nt, gpa + 0x40000, NPT_R), 0);
	assert_int_equal(npt_merge(&nt, gpa), -NPT_EMERGE);
	assert_int_equal(npt_protect(&nt, gpa + 0x40000, NPT_RWX), 0);

	/* not contiguous: one page elsewhere */
	assert_int_equal(npt_unmap(&nt, gpa + 0x2000, NULL, NULL), 0);
	assert_int_equal(npt_map(&nt, gpa + 0x2000, 0x99000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_merge(&nt, gpa), -NPT_EMERGE);
	assert_int_equal(npt_unmap(&nt, gpa + 0x2000, NULL, NULL), 0);
	assert_int_equal(npt_map(&nt, gpa + 0x2000, pa + 0x2000, NPT_LEVEL_4K, NPT_RWX), 0);

	expect_tables(4);
	assert_int_equal(nt.mapped, M2);
	assert_int_equal(npt_merge(&nt, gpa), 0);
	expect_tables(3);

	/* contiguous but starting 4 KiB past a 2 MiB boundary */
	fill_block(gpa + M2, pa + K4, NPT_R);
	assert_int_equal(npt_merge(&nt, gpa + M2), -NPT_EMERGE);
	expect_leaf(gpa + M2 + 0x1ff000, pa + M2, NPT_LEVEL_4K, NPT_R);
	expect_tables(4);
}

static void test_ad(void **state)
{
	uint64_t gpa = 0x5000, big = 0x20000000;
	bool a = true, d = true;

	(void)state;
	assert_int_equal(npt_map(&nt, gpa, 0x9000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_test_ad(&nt, gpa, &a, &d, false), 0);
	assert_false(a);
	assert_false(d);

	/* as the processor would */
	*leaf_entry(gpa) |= REF_A;
	assert_int_equal(npt_test_ad(&nt, gpa + 0xabc, &a, &d, false), 0);
	assert_true(a);
	assert_false(d);
	assert_int_equal(npt_test_ad(&nt, gpa, &a, &d, false), 0);
	assert_true(a); /* not cleared without asking */
	*leaf_entry(gpa) |= REF_D;
	assert_int_equal(npt_test_ad(&nt, gpa, &a, &d, true), 0);
	assert_true(a);
	assert_true(d);
	assert_int_equal(leaf_value(gpa), BY_FMT(0x9000 | 0x7 | 0x30, 0x9000 | 0x7));
	assert_int_equal(npt_test_ad(&nt, gpa, &a, &d, true), 0);
	assert_false(a);
	assert_false(d);

	/* a 2 MiB leaf, asked anywhere inside; NULL outputs are fine */
	assert_int_equal(npt_map(&nt, big, 0x40000000, NPT_LEVEL_2M, NPT_R), 0);
	*leaf_entry(big) |= REF_D;
	assert_int_equal(npt_test_ad(&nt, big + 0x1fffff, &a, &d, false), 0);
	assert_false(a);
	assert_true(d);
	assert_int_equal(npt_test_ad(&nt, big + 0x1000, NULL, NULL, true), 0);
	assert_int_equal(leaf_value(big), BY_FMT(0x40000000 | 0x1 | 0x30 | 0x80,
						0x40000000 | 0x5 | 0x80 | APM_NX));

	/* the hypervisor's own write marks a leaf as the processor would; nothing else changes */
	assert_int_equal(npt_set_dirty(&nt, big + 0x3000), 0);
	assert_int_equal(npt_test_ad(&nt, big, &a, &d, false), 0);
	assert_int_equal(a, REF_A != 0);
	assert_int_equal(d, REF_D != 0);
	assert_int_equal(leaf_value(big) & ~(uint64_t)(REF_A | REF_D),
			 BY_FMT(0x40000000 | 0x1 | 0x30 | 0x80, 0x40000000 | 0x5 | 0x80 | APM_NX));
	assert_int_equal(npt_set_dirty(&nt, 0x7000), -NPT_ENOENT);
}

static void test_protect(void **state)
{
	uint64_t gpa = 0x10000, big = 0xc0000000;

	(void)state;
	assert_int_equal(npt_map(&nt, gpa, 0x9000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&nt, gpa + K4, 0xa000, NPT_LEVEL_4K, NPT_RWX), 0);
	*leaf_entry(gpa) |= REF_A | REF_D;
	assert_int_equal(npt_protect(&nt, gpa + 0x10, NPT_R), 0);
	assert_int_equal(leaf_value(gpa), BY_FMT(0x9000 | 0x1 | 0x30 | 0x100 | 0x200,
						 0x9000 | 0x5 | 0x20 | 0x40 | APM_NX));
	expect_leaf(gpa, 0x9000, NPT_LEVEL_4K, NPT_R);
	expect_leaf(gpa + K4, 0xa000, NPT_LEVEL_4K, NPT_RWX); /* the neighbour is untouched */
	if (fmt_is_ept) {
		assert_int_equal(npt_protect(&nt, gpa, NPT_X), 0);
		expect_leaf(gpa, 0x9000, NPT_LEVEL_4K, NPT_X);
	} else {
		assert_int_equal(npt_protect(&nt, gpa, NPT_X), -NPT_EINVAL); /* not readable */
		expect_leaf(gpa, 0x9000, NPT_LEVEL_4K, NPT_R);
	}
	assert_int_equal(npt_protect(&nt, gpa, NPT_R | NPT_W), 0);
	expect_leaf(gpa, 0x9000, NPT_LEVEL_4K, NPT_R | NPT_W);
	assert_int_equal(npt_protect(&nt, gpa, NPT_W), -NPT_EINVAL);
	expect_leaf(gpa, 0x9000, NPT_LEVEL_4K, NPT_R | NPT_W);

	/* a gpa inside a 2 MiB leaf changes the whole leaf */
	assert_int_equal(npt_map(&nt, big, 0x40000000, NPT_LEVEL_2M, NPT_RWX), 0);
	assert_int_equal(npt_protect(&nt, big + 0x1abcde, NPT_R | NPT_X), 0);
	assert_int_equal(leaf_value(big),
			 BY_FMT(0x40000000 | 0x5 | 0x30 | 0x80, 0x40000000 | 0x85));
	expect_leaf(big, 0x40000000, NPT_LEVEL_2M, NPT_R | NPT_X);
	expect_tables(5);
	assert_int_equal(nt.mapped, 2 * K4 + M2);
}

static void test_any_mapped(void **state)
{
	uint64_t g = 0x40201000, big = 0x8000000000ULL, top = NPT_GPA_LIMIT - K4;

	(void)state;
	assert_false(npt_any_mapped(&nt, 0, NPT_GPA_LIMIT));
	assert_false(npt_any_mapped(&nt, 0, ~0ULL));
	assert_int_equal(npt_map(&nt, g, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	assert_true(npt_any_mapped(&nt, g, K4));
	assert_true(npt_any_mapped(&nt, g - K4, 2 * K4));
	assert_true(npt_any_mapped(&nt, 0, NPT_GPA_LIMIT));
	assert_true(npt_any_mapped(&nt, g - 0x1000, ~0xfffULL)); /* the end wraps: clipped */
	assert_false(npt_any_mapped(&nt, g - K4, K4));
	assert_false(npt_any_mapped(&nt, g + K4, K4));
	assert_false(npt_any_mapped(&nt, g + K4, NPT_GPA_LIMIT - g - K4));
	assert_false(npt_any_mapped(&nt, 0, g));
	assert_false(npt_any_mapped(&nt, g, 0));
	assert_false(npt_any_mapped(&nt, NPT_GPA_LIMIT, ~0ULL));

	assert_int_equal(npt_map(&nt, big, 0x200000, NPT_LEVEL_2M, NPT_R), 0);
	assert_true(npt_any_mapped(&nt, big + 0x1ff000, K4));
	assert_true(npt_any_mapped(&nt, big - K4, 2 * K4));
	assert_true(npt_any_mapped(&nt, g + K4, big - g));
	assert_false(npt_any_mapped(&nt, g + K4, big - g - K4));
	assert_false(npt_any_mapped(&nt, big + M2, NPT_GPA_LIMIT - big - M2));

	assert_int_equal(npt_map(&nt, top, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	assert_true(npt_any_mapped(&nt, big + M2, NPT_GPA_LIMIT - big - M2));
	assert_true(npt_any_mapped(&nt, top, ~0ULL));
	assert_false(npt_any_mapped(&nt, big + M2, top - big - M2));
}

struct seen {
	uint64_t gpa;
	paddr_t pa;
	unsigned level;
};

struct seen_list {
	struct seen s[16];
	unsigned n;
};

static void record_leaf(void *ctx, uint64_t gpa, paddr_t pa, unsigned level)
{
	struct seen_list *l = ctx;

	assert_true(l->n < 16);
	l->s[l->n++] = (struct seen){ gpa, pa, level };
}

/* Destroy reports every leaf once, frees every table, and leaves an npt that refuses all. */
static void test_destroy(void **state)
{
	static const struct seen want[] = {
		{ 0, 0x5000, 0 },
		{ 0x1000, 0x6000, 0 },
		{ 0x200000, 0x400000, 1 },
		{ 0x3fe01000, 0x1000, 0 },
		{ 0x7fffe00000ULL, 0x600000, 1 },
		{ 0x8000000000ULL, 0x2000, 0 },
		{ 0xffffffc00000ULL, 0x800000, 1 },
		{ 0xfffffffff000ULL, 0x3000, 0 },
	};
	const unsigned n = sizeof(want) / sizeof(want[0]);
	struct seen_list got = { .n = 0 };
	bool found[8] = { false };
	unsigned i, j;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(npt_map(&nt, want[i].gpa, want[i].pa, want[i].level, NPT_R), 0);
	assert_int_equal(npt_split(&nt, 0x200000), 0); /* 512 more leaves */
	assert_int_equal(npt_merge(&nt, 0x200000), 0); /* ... and back to one */
	/* root, PDPTs, directories, page tables */
	expect_tables(1 + 3 + 4 + 4);
	assert_int_equal(npt_map(&nt, 0xfffffffff000ULL, 0x3000, 0, NPT_R), -NPT_EEXIST);

	npt_destroy(&nt, record_leaf, &got);
	assert_int_equal(got.n, n);
	for (i = 0; i < got.n; i++) {
		for (j = 0; j < n && want[j].gpa != got.s[i].gpa; j++)
			;
		assert_true(j < n);
		assert_false(found[j]);
		found[j] = true;
		assert_int_equal(got.s[i].pa, want[j].pa);
		assert_int_equal(got.s[i].level, want[j].level);
	}
	expect_tables(0);
	assert_int_equal(nt.mapped, 0);
	assert_int_equal(nt.root, FRAME_NONE);

	/* after destroy: refusals, no crash; a second destroy does nothing */
	assert_int_equal(npt_map(&nt, 0, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_unmap(&nt, 0, NULL, NULL), -NPT_EINVAL);
	assert_int_equal(npt_split(&nt, 0x200000), -NPT_EINVAL);
	assert_false(npt_any_mapped(&nt, 0, NPT_GPA_LIMIT));
	npt_destroy(&nt, record_leaf, &got);
	assert_int_equal(got.n, n);
	assert_int_equal(pool.allocs, pool.frees);
}

static void test_strerror(void **state)
{
	int e, f;

	(void)state;
	for (e = 0; e < NPT_NERR; e++) {
		assert_non_null(npt_strerror(e));
		assert_string_equal(npt_strerror(e), npt_strerror(-e));
		for (f = 0; f < e; f++)
			assert_string_not_equal(npt_strerror(e), npt_strerror(f));
	}
	assert_string_equal(npt_strerror(0), "ok");
	assert_string_equal(npt_strerror(-NPT_EEXIST), "already mapped");
	assert_string_equal(npt_strerror(NPT_NERR), "unknown page-table error");
	assert_string_equal(npt_strerror(-NPT_NERR), "unknown page-table error");
	assert_string_equal(npt_strerror(-2147483647 - 1), "unknown page-table error");
}

/* ---- holes: find once, fill without walking again ---- */

/* h is the hole at gpa of this level; its path agrees with the tables (e[0] only, by the hint). */
static void expect_hole(const struct npt_hole *h, uint64_t gpa, unsigned level, bool hinted)
{
	unsigned l;

	assert_int_equal(h->gpa, gpa);
	assert_int_equal(h->level, level);
	for (l = level; l < NPT_LEVELS; l++) {
		if (hinted && l > 0)
			assert_null(h->e[l]);
		else
			assert_ptr_equal(h->e[l], ref_slot(&nt, gpa, (int)l));
	}
	assert_false(ref_present(*h->e[level]));
}

/* The level of the first absent entry on the way to gpa, through a walk and through the hint. */
static void test_hole_levels(void **state)
{
	uint64_t g = 0x40201000, blk = 0x40200000, big = 0x8000000000ULL, other = 0xc0000000;
	struct npt_hole h;
	struct npt failed;
	unsigned i;

	(void)state;
	assert_int_equal(npt_find_hole(&nt, g, &h), 0);
	expect_hole(&h, g, 3, false);
	assert_int_equal(npt_find_hole(&nt, NPT_GPA_LIMIT - 1, &h), 0);
	expect_hole(&h, NPT_GPA_LIMIT - 1, 3, false);

	/* one 4 KiB leaf: its page mapped, the rest of its block free page by page, others whole */
	assert_int_equal(npt_map(&nt, g, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	/* and one elsewhere, where the hint goes */
	assert_int_equal(npt_map(&nt, other, 0x2000, NPT_LEVEL_4K, NPT_R), 0);
	for (i = 0; i < 2; i++) {
		bool hinted = i == 1; /* the first find of all walks, and leaves the hint at blk */

		assert_int_equal(npt_find_hole(&nt, blk + i * 0x10, &h), 0);
		expect_hole(&h, blk + i * 0x10, 0, hinted);
		assert_int_equal(npt_find_hole(&nt, g + K4, &h), 0);
		expect_hole(&h, g + K4, 0, true);
		assert_int_equal(npt_find_hole(&nt, blk + M2 - 1, &h), 0);
		expect_hole(&h, blk + M2 - 1, 0, true);
		assert_int_equal(npt_find_hole(&nt, g, &h), -NPT_EEXIST);
		assert_int_equal(npt_find_hole(&nt, g + 0xfff, &h), -NPT_EEXIST);
		assert_int_equal(npt_find_hole(&nt, blk + M2, &h), 0);
		expect_hole(&h, blk + M2, 1, false);
		assert_int_equal(npt_find_hole(&nt, blk - 1, &h), 0);
		expect_hole(&h, blk - 1, 1, false);
		assert_int_equal(npt_find_hole(&nt, blk + 4 * GIB, &h), 0);
		expect_hole(&h, blk + 4 * GIB, 2, false);
		assert_int_equal(npt_find_hole(&nt, blk + 512 * GIB, &h), 0);
		expect_hole(&h, blk + 512 * GIB, 3, false);
	}

	/* a 2 MiB leaf is mapped through and through; its neighbour block is a level-1 hole */
	assert_int_equal(npt_map(&nt, big, 0x200000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_find_hole(&nt, big, &h), -NPT_EEXIST);
	assert_int_equal(npt_find_hole(&nt, big + M2 - 1, &h), -NPT_EEXIST);
	assert_int_equal(npt_find_hole(&nt, big + M2, &h), 0);
	expect_hole(&h, big + M2, 1, false);

	assert_int_equal(npt_find_hole(&nt, NPT_GPA_LIMIT, &h), -NPT_EINVAL);
	assert_int_equal(npt_find_hole(&nt, ~0ULL, &h), -NPT_EINVAL);
	assert_int_equal(npt_find_hole(&nt, 0, NULL), -NPT_EINVAL);
	assert_int_equal(npt_find_hole(NULL, 0, &h), -NPT_EINVAL);
	pool.fail_in = 1;
	assert_int_equal(npt_init(&failed, fmt, &pool_ops), -NPT_ENOMEM);
	assert_int_equal(npt_find_hole(&failed, 0, &h), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&failed, &h, 0, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	expect_tables(8); /* root, 2 PDPTs, 3 directories, 2 page tables */
}

/* Fills at holes of each level: the tables below are made, the leaf is at gpa rounded down. */
static void test_fill_hole(void **state)
{
	struct npt_hole h;
	struct dump before;

	(void)state;
	assert_int_equal(npt_find_hole(&nt, 0x40212345, &h), 0);
	assert_int_equal(h.level, 3);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x80000000, NPT_LEVEL_2M, NPT_RWX), 0);
	expect_tables(3);
	assert_int_equal(nt.mapped, M2);
	expect_leaf(0x40200000, 0x80000000, NPT_LEVEL_2M, NPT_RWX);

	assert_int_equal(npt_find_hole(&nt, 0x40400abc, &h), 0);
	assert_int_equal(h.level, 1);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x5000, NPT_LEVEL_4K, NPT_R), 0);
	expect_tables(4);
	expect_leaf(0x40400000, 0x5000, NPT_LEVEL_4K, NPT_R);
	assert_int_equal(nt.hint_base, 0x40400000);
	assert_int_equal(nt.hint_pt, *ref_slot(&nt, 0x40400000, 1) & REF_ADDR);

	assert_int_equal(npt_find_hole(&nt, 0x40401fff, &h), 0);
	assert_int_equal(h.level, 0);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x7000, NPT_LEVEL_4K, NPT_R | NPT_W), 0);
	expect_tables(4);
	expect_leaf(0x40401000, 0x7000, NPT_LEVEL_4K, NPT_R | NPT_W);

	assert_int_equal(npt_find_hole(&nt, 0x80000000, &h), 0);
	assert_int_equal(h.level, 2);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x9000, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_tables(6);
	assert_int_equal(nt.mapped, M2 + 3 * K4);
	check_tree(&nt);

	/* refusals change nothing */
	before = dump_tree(&nt, true);
	assert_int_equal(npt_find_hole(&nt, 0x40402000, &h), 0);
	assert_int_equal(h.level, 0);
	assert_int_equal(npt_fill_hole(&nt, &h, 0, NPT_LEVEL_2M, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 0, 2, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 0, ~0u, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x1800, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 1ULL << 52, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x1000, NPT_LEVEL_4K, 0), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x1000, NPT_LEVEL_4K, NPT_W), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x1000, NPT_LEVEL_4K, NPT_RWX | 8), -NPT_EINVAL);
	if (!fmt_is_ept)
		assert_int_equal(npt_fill_hole(&nt, &h, 0x1000, NPT_LEVEL_4K, NPT_X), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(&nt, NULL, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_fill_hole(NULL, &h, 0x1000, NPT_LEVEL_4K, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_find_hole(&nt, 0x40600000, &h), 0);
	assert_int_equal(h.level, 1);
	assert_int_equal(npt_fill_hole(&nt, &h, 0x201000, NPT_LEVEL_2M, NPT_R), -NPT_EINVAL);
	assert_int_equal(npt_find_hole(&nt, 0x100000000ULL, &h), 0);
	assert_int_equal(h.level, 2);
	assert_int_equal(npt_fill_hole(&nt, &h, 0, 2, NPT_R), -NPT_EINVAL); /* no 1 GiB leaves */
	expect_same_dump(before, dump_tree(&nt, true));
	expect_tables(6);

	/* a hole filled meanwhile is one no longer */
	assert_int_equal(npt_find_hole(&nt, 0x40403000, &h), 0);
	assert_int_equal(npt_map(&nt, 0x40403000, 0xa000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_fill_hole(&nt, &h, 0xb000, NPT_LEVEL_4K, NPT_R), -NPT_EEXIST);
	expect_leaf(0x40403000, 0xa000, NPT_LEVEL_4K, NPT_R);
	check_tree(&nt);
}

/* One 4 KiB fill through find_hole and fill_hole. */
static void fill_4k(struct npt *t, uint64_t gpa, paddr_t pa, unsigned rights, bool hinted)
{
	struct npt_hole h;

	assert_int_equal(npt_find_hole(t, gpa, &h), 0);
	if (hinted) {
		assert_int_equal(h.level, 0);
		assert_null(h.e[1]);
	}
	assert_int_equal(npt_fill_hole(t, &h, pa, NPT_LEVEL_4K, rights), 0);
}

/*
 * npt_fill_run: consecutive frames into the page table holding gpa's entry (the hinted one, or
 * found with a walk), as npt_map would map them one by one; it stops at a mapped page and at the
 * block's end, and does nothing where there is no page table (it makes none) or a 2 MiB leaf.
 */
static void test_fill_run(void **state)
{
	const uint64_t blk = 0x40000000ULL;
	struct npt other;
	paddr_t pa;
	unsigned level, rights, i;

	(void)state;
	assert_int_equal(npt_init(&other, fmt, &pool_ops), 0);
	assert_int_equal(npt_fill_run(&nt, blk, 4, 0x200000, NPT_RWX), 0); /* no page table yet */
	assert_int_equal(npt_map(&nt, blk + 2 * M2, 0x600000, NPT_LEVEL_2M, NPT_RWX), 0);
	assert_int_equal(npt_fill_run(&nt, blk + 2 * M2 + K4, 4, 0x200000, NPT_RWX), 0); /* a 2 MiB leaf */
	fill_4k(&nt, blk, 0x100000, NPT_RWX, false);
	fill_4k(&nt, blk + 20 * K4, 0x180000, NPT_RWX, true); /* the run below stops before it */
	assert_int_equal(npt_fill_run(&nt, blk + K4, 64, 0x200000, NPT_RWX), 19);
	assert_int_equal(npt_fill_run(&nt, blk + K4, 4, 0x300000, NPT_RWX), 0); /* mapped already */
	assert_int_equal(npt_fill_run(&nt, blk + 500 * K4, 64, 0x400000, NPT_RWX), 12); /* block end */
	assert_int_equal(npt_fill_run(&nt, blk + M2, 4, 0x500000, NPT_RWX), 0); /* another block */
	assert_int_equal(npt_fill_run(&nt, blk + 40 * K4, 4, 0x500123, NPT_RWX), 0); /* misaligned */
	/* a page table elsewhere takes the hint; the walk finds blk's again */
	fill_4k(&nt, blk + 3 * M2, 0x700000, NPT_RWX, false);
	assert_int_equal(npt_fill_run(&nt, blk + 100 * K4, 2, 0x500000, NPT_RWX), 2);
	assert_int_equal(npt_map(&other, blk + 2 * M2, 0x600000, NPT_LEVEL_2M, NPT_RWX), 0);
	assert_int_equal(npt_map(&other, blk + 3 * M2, 0x700000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&other, blk + 100 * K4, 0x500000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&other, blk + 101 * K4, 0x501000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&other, blk, 0x100000, NPT_LEVEL_4K, NPT_RWX), 0);
	assert_int_equal(npt_map(&other, blk + 20 * K4, 0x180000, NPT_LEVEL_4K, NPT_RWX), 0);
	for (i = 0; i < 19; i++)
		assert_int_equal(npt_map(&other, blk + (1 + i) * K4, 0x200000 + i * K4, NPT_LEVEL_4K, NPT_RWX), 0);
	for (i = 0; i < 12; i++)
		assert_int_equal(npt_map(&other, blk + (500 + i) * K4, 0x400000 + i * K4, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_same_dump(dump_tree(&nt, false), dump_tree(&other, false));
	assert_int_equal(nt.mapped, other.mapped);
	assert_int_equal(npt_lookup(&nt, blk + 19 * K4, &pa, &level, &rights), 0);
	assert_int_equal(pa, 0x200000 + 18 * K4);
	check_tree(&nt);
	npt_destroy(&other, NULL, NULL);
}

/*
 * npt_clear_run: the 4 KiB leaves among n pages in the hint's page table unmapped, as npt_unmap
 * would unmap them one by one, gaps skipped; a page table it empties goes (and the hint with it);
 * nothing outside the hint's block, across its end, or misaligned.
 */
static void test_clear_run(void **state)
{
	const uint64_t blk = 0x40000000ULL;
	uint64_t tables;
	struct npt other;
	unsigned i;

	(void)state;
	assert_int_equal(npt_init(&other, fmt, &pool_ops), 0);
	assert_int_equal(npt_clear_run(&nt, blk, 4), -NPT_ENOENT); /* no hint yet */
	for (i = 0; i < 40; i++)
		if (i != 7 && i != 8) {
			fill_4k(&nt, blk + i * K4, 0x200000 + i * K4, NPT_RWX, i > 0);
			assert_int_equal(npt_map(&other, blk + i * K4, 0x200000 + i * K4, NPT_LEVEL_4K, NPT_RWX), 0);
		}
	tables = nt.tables;
	assert_int_equal(npt_clear_run(&nt, blk + 5 * K4, 10), 8); /* pages 5..14 less the gap at 7, 8 */
	for (i = 5; i < 15; i++)
		if (i != 7 && i != 8)
			assert_int_equal(npt_unmap(&other, blk + i * K4, NULL, NULL), 0);
	expect_same_dump(dump_tree(&nt, false), dump_tree(&other, false));
	assert_int_equal(nt.mapped, other.mapped);
	assert_int_equal(npt_clear_run(&nt, blk + 5 * K4, 10), 0); /* nothing left there */
	assert_int_equal(npt_clear_run(&nt, blk + 510 * K4, 3), -NPT_ENOENT); /* across the block's end */
	assert_int_equal(npt_clear_run(&nt, blk + M2, 1), -NPT_ENOENT);	  /* another block */
	assert_int_equal(npt_clear_run(&nt, blk, 1ULL << 32), -NPT_ENOENT); /* far past it (not cut to 32 bits) */
	assert_int_equal(npt_clear_run(&nt, blk + 123, 1), -NPT_EINVAL);
	assert_int_equal(npt_clear_run(&nt, blk, 0), -NPT_EINVAL);
	assert_int_equal(npt_clear_run(&nt, blk, 512), 30); /* the rest: the emptied tables go */
	for (i = 0; i < 40; i++)
		if (i < 5 || i > 14)
			assert_int_equal(npt_unmap(&other, blk + i * K4, NULL, NULL), 0);
	assert_int_equal(nt.tables, other.tables);
	assert_true(nt.tables < tables);
	assert_int_equal(nt.mapped, 0);
	check_tree(&nt);
	assert_int_equal(npt_clear_run(&nt, blk, 1), -NPT_ENOENT); /* the hint went with its table */
	npt_destroy(&other, NULL, NULL);
}

/* Runs of 4 KiB fills in one block go through the hint and build what npt_map builds. */
static void test_fill_hole_hint(void **state)
{
	uint64_t down = 0x7fffe00000ULL, mixed = 0x8000400000ULL, far = 0x10000000000ULL;
	uint64_t *e3, saved;
	unsigned order[512], i;
	struct npt other;
	struct npt_hole h;

	(void)state;
	assert_int_equal(npt_init(&other, fmt, &pool_ops), 0);
	rng_state = 42;
	for (i = 0; i < 512; i++)
		order[i] = i;
	for (i = 511; i > 0; i--) {
		unsigned j = (unsigned)rnd_below(i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (i = 0; i < 512; i++) {
		uint64_t gpa = down + (511 - i) * K4;

		paddr_t pa = 0x100000 + gpa % M2;

		fill_4k(&nt, gpa, pa, NPT_RWX, i > 0);
		assert_int_equal(npt_map(&other, gpa, pa, NPT_LEVEL_4K, NPT_RWX), 0);
	}
	for (i = 0; i < 512; i++) {
		uint64_t gpa = mixed + order[i] * K4;

		paddr_t pa = 0x300000 + order[i] * 3 * K4;

		fill_4k(&nt, gpa, pa, NPT_R, i > 0);
		assert_int_equal(npt_map(&other, gpa, pa, NPT_LEVEL_4K, NPT_R), 0);
	}
	expect_same_dump(dump_tree(&nt, false), dump_tree(&other, false));
	assert_int_equal(nt.tables, other.tables);
	assert_int_equal(nt.mapped, other.mapped);
	check_tree(&nt);
	npt_destroy(&other, NULL, NULL);
	assert_int_equal(nt.hint_base, mixed);
	assert_int_equal(nt.hint_pt, *ref_slot(&nt, mixed, 1) & REF_ADDR);

	/* no walk: with the root's entry hidden, the hinted block's pages are still seen */
	e3 = ref_slot(&nt, mixed, 3);
	saved = *e3;
	*e3 = 0;
	assert_int_equal(npt_find_hole(&nt, mixed + 5 * K4, &h), -NPT_EEXIST);
	*e3 = saved;

	/* tables freed elsewhere leave the hint; its own page table takes it along */
	assert_int_equal(npt_map(&nt, far, 0x200000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_unmap(&nt, far, NULL, NULL), 0);
	assert_int_equal(nt.hint_base, mixed);
	for (i = 0; i < 512; i++)
		assert_int_equal(npt_unmap(&nt, mixed + i * K4, NULL, NULL), 0);
	assert_int_equal(nt.hint_pt, FRAME_NONE);
	assert_int_equal(npt_find_hole(&nt, mixed, &h), 0);
	assert_int_equal(h.level, 3);
	check_tree(&nt);
}

/* The n-th table of a fill cannot be had: -NPT_ENOMEM, and the tree and hint exactly as before. */
static void test_fill_hole_enomem(void **state)
{
	static const struct {
		uint64_t gpa;
		unsigned level, hole, tables;
	} cases[] = {
		{ 0x8000003000ULL, NPT_LEVEL_4K, 3, 3 }, /* PDPT, directory, page table */
		{ 0x8000000000ULL, NPT_LEVEL_2M, 3, 2 }, /* PDPT, directory */
		{ 0x80003000, NPT_LEVEL_4K, 2, 2 },	 /* directory, page table */
		{ 0x80000000, NPT_LEVEL_2M, 2, 1 },	 /* directory */
		{ 0x40605000, NPT_LEVEL_4K, 1, 1 },	 /* page table */
	};
	struct npt_hole h;
	unsigned c, n;

	(void)state;
	assert_int_equal(npt_map(&nt, 0x40000000, 0x40000000, NPT_LEVEL_2M, NPT_RWX), 0);
	assert_int_equal(npt_map(&nt, 0x40201000, 0x1000, NPT_LEVEL_4K, NPT_RWX), 0);
	expect_tables(4);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		paddr_t pa = cases[c].level == NPT_LEVEL_2M ? 0x600000 : 0x6000;
		uint64_t allocs;

		for (n = 1; n <= cases[c].tables; n++) {
			struct dump before = dump_tree(&nt, true);
			uint64_t hint_base = nt.hint_base;
			paddr_t hint_pt = nt.hint_pt;

			assert_int_equal(npt_find_hole(&nt, cases[c].gpa, &h), 0);
			assert_int_equal(h.level, cases[c].hole);
			pool.fail_in = n;
			assert_int_equal(npt_fill_hole(&nt, &h, pa, cases[c].level, NPT_R),
					 -NPT_ENOMEM);
			pool.fail_in = 0;
			expect_same_dump(before, dump_tree(&nt, true));
			expect_tables(4);
			assert_int_equal(nt.mapped, M2 + K4);
			assert_int_equal(nt.hint_base, hint_base);
			assert_int_equal(nt.hint_pt, hint_pt);
			check_tree(&nt);
		}
		/* and with them all: exactly that many were asked for */
		allocs = pool.allocs;
		assert_int_equal(npt_find_hole(&nt, cases[c].gpa, &h), 0);
		assert_int_equal(npt_fill_hole(&nt, &h, pa, cases[c].level, NPT_R), 0);
		assert_int_equal(pool.allocs - allocs, cases[c].tables);
		expect_leaf(cases[c].gpa, pa, cases[c].level, NPT_R);
		assert_int_equal(npt_unmap(&nt, cases[c].gpa, NULL, NULL), 0);
		expect_tables(4);
	}
	check_tree(&nt);
}

/* ---- npt_scan ---- */

#define AD_A 1
#define AD_D 2

static const struct {
	uint64_t gpa;
	paddr_t pa;
	unsigned level, rights, ad;
} scan_leaves[] = {
	{ 0, 0x5000, 0, NPT_R, 0 },
	{ 0x1000, 0x6000, 0, NPT_RWX, AD_A },
	{ 0x200000, 0x400000, 1, NPT_R | NPT_X, AD_A | AD_D },
	{ 0x3fe01000, 0x1000, 0, NPT_R | NPT_W, AD_D },
	{ 0x7fffe00000ULL, 0x600000, 1, NPT_R, 0 },
	{ 0x8000000000ULL, 0x2000, 0, NPT_RWX, AD_A },
	{ 0xffffffc00000ULL, 0x800000, 1, NPT_RWX, AD_D },
	{ 0xfffffffff000ULL, 0x3000, 0, NPT_R, AD_A | AD_D },
};
#define NSCAN (sizeof(scan_leaves) / sizeof(scan_leaves[0]))
#define SCAN_TABLES (1 + 3 + 4 + 4) /* root, PDPTs, directories, page tables */

static uint64_t ad_bits(unsigned ad)
{
	return (ad & AD_A ? REF_A : 0) | (ad & AD_D ? REF_D : 0);
}

/* Map scan_leaves, with their A/D bits set as the processor would. */
static void map_scan_leaves(void)
{
	unsigned i;

	for (i = 0; i < NSCAN; i++) {
		assert_int_equal(npt_map(&nt, scan_leaves[i].gpa, scan_leaves[i].pa,
					 scan_leaves[i].level, scan_leaves[i].rights),
				 0);
		*leaf_entry(scan_leaves[i].gpa) |= ad_bits(scan_leaves[i].ad);
	}
	expect_tables(SCAN_TABLES);
}

/* The entry scan_leaves[k] should have, without A/D. */
static uint64_t scan_leaf_ref(unsigned k)
{
	return ref_leaf(scan_leaves[k].pa, scan_leaves[k].rights, scan_leaves[k].level);
}

/* Visit i was scan_leaves[k], with A/D as given. */
static void expect_seen_leaf(unsigned i, unsigned k, unsigned ad)
{
	expect_seen(i, scan_leaves[k].gpa, scan_leaves[k].pa, scan_leaves[k].level,
		    scan_leaves[k].rights, ad & AD_A, ad & AD_D);
}

static void test_scan_visit(void **state)
{
	struct npt failed;
	struct dump before;
	unsigned i;

	(void)state;
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, 0);

	map_scan_leaves();
	before = dump_tree(&nt, true);
	visit_reset(NPT_SCAN_KEEP);
	vis.check = &nt;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, NSCAN);
	for (i = 0; i < NSCAN; i++)
		expect_seen_leaf(i, i, scan_leaves[i].ad);
	expect_same_dump(before, dump_tree(&nt, true));
	expect_tables(SCAN_TABLES);

	/* an end past the address space is clipped, and given back as it was */
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(0, ~0ULL, ~0ULL), 0);
	assert_int_equal(vis.n, NSCAN);
	/* only what intersects the range */
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(0x1fff, 0x3fe01001, 0x3fe01001), 0);
	assert_int_equal(vis.n, 3);
	for (i = 0; i < 3; i++)
		expect_seen_leaf(i, i + 1, scan_leaves[i + 1].ad);
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(0x2000, 0x200000, 0x200000), 0);
	assert_int_equal(scan(0x3fe02000, 0x7fffe00000ULL, 0x7fffe00000ULL), 0);
	assert_int_equal(scan(0x8000001000ULL, 0xffffffc00000ULL, 0xffffffc00000ULL), 0);
	assert_int_equal(scan(NPT_GPA_LIMIT, ~0ULL, ~0ULL), 0);
	assert_int_equal(scan(0x1000, 0x1000, 0x1000), 0);
	assert_int_equal(vis.n, 0);
	assert_int_equal(scan(0xfffffffff000ULL, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, 1);

	/* refusals */
	visit_reset(NPT_SCAN_UNMAP);
	assert_int_equal(scan(0x2000, 0x1000, 0x2000), -NPT_EINVAL);
	assert_int_equal(npt_scan(&nt, 0, NPT_GPA_LIMIT, NULL, NULL, NULL), -NPT_EINVAL);
	assert_int_equal(npt_scan(NULL, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), -NPT_EINVAL);
	pool.fail_in = 1;
	assert_int_equal(npt_init(&failed, fmt, &pool_ops), -NPT_ENOMEM);
	assert_int_equal(npt_scan(&failed, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), -NPT_EINVAL);
	assert_int_equal(vis.n, 0);
	expect_tables(SCAN_TABLES);
	assert_int_equal(nt.mapped, 5 * K4 + 3 * M2);
}

static void test_scan_clear_ad(void **state)
{
	struct npt_format no_ad = *fmt;
	struct npt bare;
	uint64_t ad = REF_A | REF_D;
	unsigned i;

	(void)state;
	map_scan_leaves();
	visit_reset(NPT_SCAN_CLEAR_A);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	for (i = 0; i < NSCAN; i++) {
		expect_seen_leaf(i, i, scan_leaves[i].ad);
		assert_int_equal(leaf_value(scan_leaves[i].gpa),
				 scan_leaf_ref(i) | ad_bits(scan_leaves[i].ad & AD_D));
	}
	visit_reset(NPT_SCAN_CLEAR_AD);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	for (i = 0; i < NSCAN; i++) {
		expect_seen_leaf(i, i, scan_leaves[i].ad & AD_D);
		assert_int_equal(leaf_value(scan_leaves[i].gpa), scan_leaf_ref(i));
	}
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	for (i = 0; i < NSCAN; i++)
		expect_seen_leaf(i, i, 0);
	expect_tables(SCAN_TABLES);

	/* a format without A/D bits: none reported, none cleared (those bits mean other things) */
	no_ad.accessed = 0;
	no_ad.dirty = 0;
	assert_int_equal(npt_init(&bare, &no_ad, &pool_ops), 0);
	assert_int_equal(npt_map(&bare, 0x1000, 0x9000, NPT_LEVEL_4K, NPT_RWX), 0);
	*ref_slot(&bare, 0x1000, 0) |= ad;
	visit_reset(NPT_SCAN_CLEAR_AD);
	assert_int_equal(npt_scan(&bare, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), 0);
	assert_int_equal(vis.n, 1);
	assert_false(vis.seen[0].accessed);
	assert_false(vis.seen[0].dirty);
	visit_reset(NPT_SCAN_CLEAR_A);
	assert_int_equal(npt_scan(&bare, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), 0);
	assert_int_equal(*ref_slot(&bare, 0x1000, 0), ref_leaf(0x9000, NPT_RWX, 0) | ad);
	npt_destroy(&bare, NULL, NULL);
}

/*
 * Probing (working sets where the hardware keeps no accessed bits): a probed leaf is absent for
 * the processor's walk (SDM/APM decoding), present for the walker with its frame, rights and D;
 * npt_unprobe gives the access back once; split probes the new leaves, merge refuses them.
 */
static void test_scan_probe(void **state)
{
	struct npt_format no_gate = *fmt;
	struct npt bare;
	uint64_t mapped;
	unsigned i, l;

	(void)state;
	map_scan_leaves();
	mapped = nt.mapped;
	visit_reset(NPT_SCAN_PROBE);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, NSCAN);
	for (i = 0; i < NSCAN; i++) {
		assert_false(vis.seen[i].probed);
		assert_null(ref_entry(&nt, scan_leaves[i].gpa, &l));
		expect_seen_leaf(i, i, scan_leaves[i].ad);
	}
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	for (i = 0; i < NSCAN; i++) {
		paddr_t pa;
		unsigned level, rights;

		assert_true(vis.seen[i].probed);
		expect_seen_leaf(i, i, scan_leaves[i].ad & AD_D);
		assert_int_equal(npt_lookup(&nt, scan_leaves[i].gpa, &pa, &level, &rights), 0);
		assert_int_equal(pa, scan_leaves[i].pa);
		assert_int_equal(level, scan_leaves[i].level);
		assert_int_equal(rights, scan_leaves[i].rights);
	}
	expect_tables(SCAN_TABLES);
	assert_int_equal(nt.mapped, mapped);
	assert_int_equal(npt_map(&nt, 0x1000, 0x7000, NPT_LEVEL_4K, NPT_RWX), -NPT_EEXIST);
	for (i = 0; i < NSCAN; i++) {
		assert_int_equal(npt_unprobe(&nt, scan_leaves[i].gpa), 1);
		assert_int_equal(npt_unprobe(&nt, scan_leaves[i].gpa), 0);
		assert_int_equal(leaf_value(scan_leaves[i].gpa), scan_leaf_ref(i) | ad_bits(scan_leaves[i].ad & AD_D));
	}
	assert_int_equal(npt_unprobe(&nt, 0x2000), -NPT_ENOENT);

	visit_reset(NPT_SCAN_PROBE);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(npt_split(&nt, 0x200000), 0);
	for (uint64_t g = 0x200000; g < 0x400000; g += K4)
		assert_null(ref_entry(&nt, g, &l));
	assert_int_equal(npt_merge(&nt, 0x200000), -NPT_EMERGE);
	for (uint64_t g = 0x200000; g < 0x400000; g += K4)
		assert_int_equal(npt_unprobe(&nt, g), 1);
	assert_int_equal(npt_merge(&nt, 0x200000), 0);
	expect_leaf(0x200000, 0x400000, NPT_LEVEL_2M, NPT_R | NPT_X);
	assert_int_equal(npt_protect(&nt, 0x1000, NPT_R), 0);
	assert_null(ref_entry(&nt, 0x1000, &l));
	assert_int_equal(npt_unprobe(&nt, 0x1000), 1);
	expect_leaf(0x1000, 0x6000, NPT_LEVEL_4K, NPT_R);

	/* a format without a gate cannot probe: the scan stops with -NPT_EINVAL, nothing changed */
	no_gate.gate = 0;
	assert_int_equal(npt_init(&bare, &no_gate, &pool_ops), 0);
	assert_int_equal(npt_map(&bare, 0x1000, 0x9000, NPT_LEVEL_4K, NPT_RWX), 0);
	visit_reset(NPT_SCAN_PROBE);
	assert_int_equal(npt_scan(&bare, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), -NPT_EINVAL);
	assert_int_equal(*ref_slot(&bare, 0x1000, 0), ref_leaf(0x9000, NPT_RWX, 0));
	npt_destroy(&bare, NULL, NULL);
}

/* Unmapping every leaf leaves the root alone; each visit sees a tree that keeps the invariant. */
static void test_scan_unmap_all(void **state)
{
	unsigned i;

	(void)state;
	map_scan_leaves();
	fill_block(0x40000000, 0x10000000, NPT_RWX);
	assert_int_equal(npt_split(&nt, 0x200000), 0);
	expect_tables(SCAN_TABLES + 3);
	visit_reset(NPT_SCAN_UNMAP);
	vis.check = &nt;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, NSCAN - 1 + 512 + 512);
	expect_seen_leaf(0, 0, 0);
	expect_seen_leaf(1, 1, AD_A);
	for (i = 0; i < 512; i++)
		expect_seen(2 + i, 0x200000 + i * K4, 0x400000 + i * K4, 0, NPT_R | NPT_X, true,
			    true);
	expect_seen_leaf(514, 3, AD_D);
	for (i = 0; i < 512; i++)
		expect_seen(515 + i, 0x40000000 + i * K4, 0x10000000 + i * K4, 0, NPT_RWX, false,
			    false);
	expect_seen_leaf(1027, 4, 0);
	expect_seen_leaf(1030, 7, AD_A | AD_D);
	expect_tables(1);
	assert_int_equal(nt.mapped, 0);
	check_tree(&nt);
	assert_false(npt_any_mapped(&nt, 0, NPT_GPA_LIMIT));
	for (i = 0; i < NSCAN; i++)
		expect_unmapped(scan_leaves[i].gpa);
}

static const uint64_t some_a = 0x40000000, some_b = 0x40200000, some_c = 0x7fc00000,
		      some_d = 0x80000000, some_e = 0x8000000000ULL;

/* Keep one page of a, and c; unmap the rest. */
static enum npt_scan_action unmap_some(struct visit *v, const struct npt_leaf *l)
{
	(void)v;
	return l->gpa == some_a + 100 * K4 || l->gpa == some_c ? NPT_SCAN_KEEP : NPT_SCAN_UNMAP;
}

/* Unmapping some leaves frees exactly the tables they leave empty, at once. */
static void test_scan_unmap_some(void **state)
{
	unsigned i;

	(void)state;
	fill_block(some_a, 0x10000000, NPT_RWX);
	assert_int_equal(npt_map(&nt, some_b, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_map(&nt, some_b + 7 * K4, 0x2000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_map(&nt, some_b + M2 - K4, 0x3000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_map(&nt, some_c, 0x600000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_map(&nt, some_d, 0x800000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_map(&nt, some_e, 0x4000, NPT_LEVEL_4K, NPT_R), 0);
	/* root, 2 PDPTs, 3 directories, 3 page tables */
	expect_tables(9);
	visit_reset(NPT_SCAN_KEEP);
	vis.pick = unmap_some;
	vis.check = &nt;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, 512 + 3 + 3);
	check_tree(&nt);
	/* root, PDPT, the directory of a and c, a's page table */
	expect_tables(4);
	assert_int_equal(nt.mapped, K4 + M2);
	expect_leaf(some_a + 100 * K4, 0x10000000 + 100 * K4, NPT_LEVEL_4K, NPT_RWX);
	expect_leaf(some_c, 0x600000, NPT_LEVEL_2M, NPT_R);
	for (i = 0; i < 512; i++)
		if (i != 100)
			expect_unmapped(some_a + i * K4);
	expect_unmapped(some_b + 7 * K4);
	expect_unmapped(some_d);
	expect_unmapped(some_e);
}

static enum npt_scan_action split_big(struct visit *v, const struct npt_leaf *l)
{
	(void)v;
	return l->level == NPT_LEVEL_2M ? NPT_SCAN_SPLIT : NPT_SCAN_KEEP;
}

static enum npt_scan_action split_then_unmap(struct visit *v, const struct npt_leaf *l)
{
	(void)v;
	return l->level == NPT_LEVEL_2M ? NPT_SCAN_SPLIT : NPT_SCAN_UNMAP;
}

static void test_scan_split(void **state)
{
	uint64_t g = 0x3fe00000, h = 0x600000, small = 0x40000000;
	paddr_t pa = 0x123400000ULL;
	unsigned i, rights = NPT_R | NPT_X;
	struct dump before;

	(void)state;
	assert_int_equal(npt_map(&nt, g, pa, NPT_LEVEL_2M, rights), 0);
	*leaf_entry(g) |= REF_A;
	assert_int_equal(npt_map(&nt, small, 0x9000, NPT_LEVEL_4K, NPT_R), 0);
	expect_tables(5);
	visit_reset(NPT_SCAN_KEEP);
	vis.pick = split_big;
	vis.check = &nt;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, 1 + 512 + 1);
	expect_seen(0, g, pa, NPT_LEVEL_2M, rights, true, false);
	for (i = 0; i < 512; i++) {
		expect_seen(1 + i, g + i * K4, pa + i * K4, NPT_LEVEL_4K, rights, true, false);
		expect_leaf(g + i * K4, pa + i * K4, NPT_LEVEL_4K, rights);
		assert_int_equal(leaf_value(g + i * K4), ref_leaf(pa + i * K4, rights, 0) | REF_A);
	}
	expect_seen(513, small, 0x9000, NPT_LEVEL_4K, NPT_R, false, false);
	expect_tables(6);
	assert_int_equal(nt.mapped, M2 + K4);

	/* split and unmap every page: the new page table and the directory above go at once */
	assert_int_equal(npt_merge(&nt, g), 0);
	visit_reset(NPT_SCAN_KEEP);
	vis.pick = split_then_unmap;
	vis.check = &nt;
	assert_int_equal(scan(g + 0x234, small, small), 0);
	assert_int_equal(vis.n, 513);
	expect_tables(4);
	assert_int_equal(nt.mapped, K4);
	check_tree(&nt);

	/* a 4 KiB leaf is not split */
	visit_reset(NPT_SCAN_SPLIT);
	assert_int_equal(scan(0, NPT_GPA_LIMIT, small), -NPT_ELEVEL);
	assert_int_equal(vis.n, 1);
	expect_leaf(small, 0x9000, NPT_LEVEL_4K, NPT_R);

	/* no frame for the page table: the scan stops at the leaf, which stays as it was */
	assert_int_equal(npt_map(&nt, 0x1000, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_map(&nt, h, 0x800000, NPT_LEVEL_2M, NPT_RWX), 0);
	assert_int_equal(npt_map(&nt, h + M2, 0xa00000, NPT_LEVEL_2M, NPT_RWX), 0);
	*leaf_entry(h) |= REF_D;
	before = dump_tree(&nt, true);
	visit_reset(NPT_SCAN_KEEP);
	vis.pick = split_big;
	pool.fail_all = true;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, h), -NPT_ENOMEM);
	pool.fail_all = false;
	assert_int_equal(vis.n, 2);
	expect_same_dump(before, dump_tree(&nt, true));
	expect_tables(6);
	check_tree(&nt);

	/* partly inside the range: after the split only the pages inside are visited */
	visit_reset(NPT_SCAN_KEEP);
	vis.pick = split_big;
	assert_int_equal(scan(h + 0x3005, h + 0x6000, h + 0x6000), 0);
	assert_int_equal(vis.n, 4);
	expect_seen(0, h, 0x800000, NPT_LEVEL_2M, NPT_RWX, false, true);
	for (i = 0; i < 3; i++)
		expect_seen(1 + i, h + (3 + i) * K4, 0x803000 + i * K4, NPT_LEVEL_4K, NPT_RWX,
			    false, true);
	expect_leaf(h + 0x1ff000, 0x9ff000, NPT_LEVEL_4K, NPT_RWX);
	expect_leaf(h + M2, 0xa00000, NPT_LEVEL_2M, NPT_RWX);
	expect_tables(7);
	check_tree(&nt);
}

static void test_scan_stop(void **state)
{
	unsigned i;

	(void)state;
	map_scan_leaves();
	visit_reset(NPT_SCAN_KEEP);
	vis.stop_at = 3;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, scan_leaves[2].gpa), 0);
	assert_int_equal(vis.n, 3);
	/* resume where it stopped: that leaf again, then the rest */
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(scan_leaves[2].gpa, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, NSCAN - 2);
	for (i = 2; i < NSCAN; i++)
		expect_seen_leaf(i - 2, i, scan_leaves[i].ad);

	/* stopping between removals: those done are complete, tables pruned */
	visit_reset(NPT_SCAN_UNMAP);
	vis.stop_at = 5;
	vis.check = &nt;
	assert_int_equal(scan(0, NPT_GPA_LIMIT, scan_leaves[4].gpa), 0);
	check_tree(&nt);
	for (i = 0; i < NSCAN; i++)
		if (i < 4)
			expect_unmapped(scan_leaves[i].gpa);
		else
			expect_leaf(scan_leaves[i].gpa, scan_leaves[i].pa, scan_leaves[i].level,
				    scan_leaves[i].rights);
	expect_tables(1 + 3 + 3 + 2);
	visit_reset(NPT_SCAN_UNMAP);
	vis.check = &nt;
	assert_int_equal(scan(scan_leaves[4].gpa, NPT_GPA_LIMIT, NPT_GPA_LIMIT), 0);
	assert_int_equal(vis.n, NSCAN - 4);
	expect_tables(1);

	/* a 2 MiB leaf across the start: where it stopped is below the start */
	assert_int_equal(npt_map(&nt, 0x200000, 0x400000, NPT_LEVEL_2M, NPT_R), 0);
	visit_reset(NPT_SCAN_KEEP);
	vis.stop_at = 1;
	assert_int_equal(scan(0x201234, NPT_GPA_LIMIT, 0x200000), 0);
	/* an answer that is no action */
	visit_reset((enum npt_scan_action)77);
	assert_int_equal(scan(0x201234, NPT_GPA_LIMIT, 0x200000), -NPT_EINVAL);
	expect_leaf(0x200000, 0x400000, NPT_LEVEL_2M, NPT_R);
}

/* Ranges that start or end inside a 2 MiB leaf see it whole. */
static void test_scan_partial(void **state)
{
	uint64_t b = 0x40000000;

	(void)state;
	assert_int_equal(npt_map(&nt, b, 0x400000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_map(&nt, b + M2, 0x600000, NPT_LEVEL_2M, NPT_R), 0);
	assert_int_equal(npt_map(&nt, b + 2 * M2, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(b + M2 - 1, b + M2 + 1, b + M2 + 1), 0);
	assert_int_equal(vis.n, 2);
	expect_seen(0, b, 0x400000, NPT_LEVEL_2M, NPT_R, false, false);
	expect_seen(1, b + M2, 0x600000, NPT_LEVEL_2M, NPT_R, false, false);
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(b + 0x1000, b + 0x2000, b + 0x2000), 0);
	assert_int_equal(vis.n, 1);
	expect_seen(0, b, 0x400000, NPT_LEVEL_2M, NPT_R, false, false);
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(b + M2 + 5, b + 2 * M2 + 1, b + 2 * M2 + 1), 0);
	assert_int_equal(vis.n, 2);
	expect_seen(1, b + 2 * M2, 0x1000, NPT_LEVEL_4K, NPT_R, false, false);
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(scan(b + 2 * M2 + K4, b + 3 * M2, b + 3 * M2), 0);
	assert_int_equal(vis.n, 0);

	/* removed whole, though partly outside */
	visit_reset(NPT_SCAN_UNMAP);
	assert_int_equal(scan(b + 0x1fff00, b + 0x200100, b + 0x200100), 0);
	assert_int_equal(vis.n, 2);
	expect_unmapped(b);
	expect_unmapped(b + 2 * M2 - 1);
	assert_int_equal(nt.mapped, K4);
	expect_tables(4);
	check_tree(&nt);
}

/* The hint outlives a scan that frees other tables, not one that frees its page table. */
static void test_scan_hint(void **state)
{
	uint64_t a = 0x40201000, far = 0x8000001000ULL;
	struct npt_hole h;

	(void)state;
	assert_int_equal(npt_map(&nt, a, 0x1000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_map(&nt, a + K4, 0x2000, NPT_LEVEL_4K, NPT_R), 0);
	assert_int_equal(npt_map(&nt, far, 0x3000, NPT_LEVEL_4K, NPT_R), 0);
	/* a walk, which brings the hint back to a */
	assert_int_equal(npt_find_hole(&nt, a + 2 * K4, &h), 0);
	assert_int_equal(nt.hint_base, a & ~(M2 - 1));
	visit_reset(NPT_SCAN_UNMAP);
	assert_int_equal(scan(far, far + K4, far + K4), 0);
	visit_reset(NPT_SCAN_UNMAP);
	assert_int_equal(scan(a, a + K4, a + K4), 0);
	expect_tables(4);
	assert_int_equal(nt.hint_pt, *ref_slot(&nt, a, 1) & REF_ADDR);
	assert_int_equal(npt_find_hole(&nt, a, &h), 0);
	assert_null(h.e[1]); /* through the hint */
	assert_int_equal(scan(a + K4, a + 2 * K4, a + 2 * K4), 0);
	expect_tables(1);
	assert_int_equal(nt.hint_pt, FRAME_NONE);
	assert_int_equal(npt_find_hole(&nt, a, &h), 0);
	assert_int_equal(h.level, 3);
}

static uint64_t addr_calls;

static paddr_t counting_addr(uint64_t e)
{
	addr_calls++;
	return fmt->addr(e);
}

/*
 * Work per leaf stays a small constant: fills in one block go through the
 * hint, and a scan does not walk from the root per leaf. A walk from the
 * root reads three table addresses (fmt->addr); a fill through the hint
 * reads none, and a scan reads one per table it enters and one per leaf.
 */
static void test_scan_cost(void **state)
{
	struct npt_format counted = *fmt;
	struct npt ct;
	unsigned i, n = 4 * 512;

	(void)state;
	counted.addr = counting_addr;
	assert_int_equal(npt_init(&ct, &counted, &pool_ops), 0);
	fill_4k(&ct, 0x40000000, 0, NPT_RWX, false);
	addr_calls = 0;
	for (i = 1; i < n; i++)
		fill_4k(&ct, 0x40000000 + i * K4, i * K4, NPT_RWX, i % 512 != 0);
	assert_true(addr_calls <= 4 * 3);

	addr_calls = 0;
	visit_reset(NPT_SCAN_KEEP);
	assert_int_equal(npt_scan(&ct, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), 0);
	assert_int_equal(vis.n, n);
	assert_true(addr_calls <= n + 4 + 2);

	addr_calls = 0;
	visit_reset(NPT_SCAN_UNMAP);
	assert_int_equal(npt_scan(&ct, 0, NPT_GPA_LIMIT, visit_leaf, &vis, NULL), 0);
	assert_int_equal(vis.n, n);
	assert_true(addr_calls <= 2 * n + 4 + 2);
	assert_int_equal(ct.tables, 1);
	assert_int_equal(ct.mapped, 0);
	npt_destroy(&ct, NULL, NULL);
}

/* ---- randomized run against a reference model ---- */

/*
 * Four 8 MiB windows of guest-physical space, placed so that they share a
 * page directory (0 and 1), cross a 1 GiB boundary (1), cross a 512 GiB
 * boundary (2) and reach the top of the address space (3). The model keeps
 * one record per 4 KiB granule; a 2 MiB leaf is 512 equal records.
 */
#define RM_WINDOWS 4
#define RM_WIN	   (8 * MIB)
#define RM_BLOCKS  (RM_WINDOWS * RM_WIN / M2)
#define RM_GRAN	   (RM_BLOCKS * 512)
#define RM_OPS	   200000
#define RM_AD_A	   1
#define RM_AD_D	   2

static const uint64_t rm_base[RM_WINDOWS] = {
	0, GIB - 4 * MIB, 512 * GIB - 4 * MIB, NPT_GPA_LIMIT - RM_WIN,
};

struct gran {
	bool present;
	uint8_t level, rights, ad;
	paddr_t pa; /* the leaf's frame: for a 2 MiB leaf, the same in its 512 records */
};

struct model {
	struct gran g[RM_GRAN];
	unsigned n4k[RM_BLOCKS]; /* 4 KiB leaves in the block */
	bool big[RM_BLOCKS];	 /* the block is one 2 MiB leaf */
	uint64_t mapped;
};

/* Outcomes seen, so a run that never reaches a case fails. */
enum rm_case {
	C_MAP4K, C_MAP2M, C_EEXIST, C_UNMAP, C_ENOENT, C_SPLIT, C_ELEVEL, C_MERGE, C_EMERGE,
	C_ENOMEM, C_PROTECT, C_AD_SET, C_ANY_TRUE, C_ANY_FALSE, C_EINVAL,
	C_HOLE_4K, C_HOLE_2M, C_HOLE_EEXIST, C_HOLE_ENOMEM, C_SCAN, C_SCAN_UNMAP, C_SCAN_SPLIT,
	C_SCAN_ENOMEM, C_SCAN_STOP, C_NCASES
};

static uint64_t rm_seen[C_NCASES];

static uint64_t gran_gpa(unsigned g)
{
	return rm_base[g / (RM_WIN / K4)] + (uint64_t)(g % (RM_WIN / K4)) * K4;
}

static int gpa_gran(uint64_t gpa)
{
	unsigned w;

	for (w = 0; w < RM_WINDOWS; w++)
		if (gpa >= rm_base[w] && gpa - rm_base[w] < RM_WIN)
			return (int)(w * (RM_WIN / K4) + (gpa - rm_base[w]) / K4);
	return -1;
}

/* The 2 MiB-aligned frame a block's pages are "naturally" mapped to (mergeable). */
static paddr_t natural_pa(unsigned block)
{
	return 0x100000000ULL + (uint64_t)block * 3 * M2;
}

static unsigned rnd_rights(void)
{
	static const unsigned r[] = { NPT_R, NPT_X, NPT_R | NPT_W, NPT_R | NPT_X };
	unsigned rights = rnd_below(4) ? NPT_RWX : r[rnd_below(4)];

	return rights_valid(rights) ? rights : rights | NPT_R;
}

/* Tables the map should have: root, PDPTs, page directories and page tables in use. */
static uint64_t model_tables(const struct model *m)
{
	uint64_t top[RM_BLOCKS], mid[RM_BLOCKS], n = 1;
	unsigned b, i, nt_top = 0, nt_mid = 0;

	for (b = 0; b < RM_BLOCKS; b++) {
		uint64_t gpa = gran_gpa(b * 512);

		if (!m->n4k[b] && !m->big[b])
			continue;
		for (i = 0; i < nt_top && top[i] != gpa >> 39; i++)
			;
		if (i == nt_top)
			top[nt_top++] = gpa >> 39;
		for (i = 0; i < nt_mid && mid[i] != gpa >> 30; i++)
			;
		if (i == nt_mid)
			mid[nt_mid++] = gpa >> 30;
		if (m->n4k[b])
			n++;
	}
	return n + nt_top + nt_mid;
}

static void model_set_block(struct model *m, unsigned b, const struct gran *v)
{
	unsigned i;

	for (i = 0; i < 512; i++)
		m->g[b * 512 + i] = *v;
}

static int model_map4k(struct model *m, unsigned g, paddr_t pa, unsigned rights)
{
	if (m->g[g].present)
		return -NPT_EEXIST;
	m->g[g] = (struct gran){ true, NPT_LEVEL_4K, (uint8_t)rights, 0, pa };
	m->n4k[g / 512]++;
	m->mapped += K4;
	return 0;
}

static int model_map2m(struct model *m, unsigned b, paddr_t pa, unsigned rights)
{
	struct gran v = { true, NPT_LEVEL_2M, (uint8_t)rights, 0, pa };

	if (m->n4k[b] || m->big[b])
		return -NPT_EEXIST;
	model_set_block(m, b, &v);
	m->big[b] = true;
	m->mapped += M2;
	return 0;
}

static int model_unmap(struct model *m, unsigned g)
{
	struct gran none = { 0 };
	unsigned b = g / 512;

	if (!m->g[g].present)
		return -NPT_ENOENT;
	if (m->big[b]) {
		model_set_block(m, b, &none);
		m->big[b] = false;
		m->mapped -= M2;
	} else {
		m->g[g] = none;
		m->n4k[b]--;
		m->mapped -= K4;
	}
	return 0;
}

static int model_protect(struct model *m, unsigned g, unsigned rights)
{
	unsigned b = g / 512, i;

	if (!m->g[g].present)
		return -NPT_ENOENT;
	if (!m->big[b])
		m->g[g].rights = (uint8_t)rights;
	else
		for (i = 0; i < 512; i++)
			m->g[b * 512 + i].rights = (uint8_t)rights;
	return 0;
}

static int model_split(struct model *m, unsigned g)
{
	unsigned b = g / 512, i;

	if (!m->g[g].present)
		return -NPT_ENOENT;
	if (!m->big[b])
		return -NPT_ELEVEL;
	for (i = 0; i < 512; i++) {
		m->g[b * 512 + i].level = NPT_LEVEL_4K;
		m->g[b * 512 + i].pa += i * K4;
	}
	m->big[b] = false;
	m->n4k[b] = 512;
	return 0;
}

static int model_merge(struct model *m, unsigned g)
{
	unsigned b = g / 512, i;
	struct gran v = m->g[b * 512];

	if (m->big[b])
		return -NPT_ELEVEL;
	if (!m->n4k[b])
		return -NPT_ENOENT;
	if (m->n4k[b] < 512 || (v.pa & (M2 - 1)))
		return -NPT_EMERGE;
	for (i = 0; i < 512; i++) {
		const struct gran *s = &m->g[b * 512 + i];

		if (s->rights != v.rights || s->pa != v.pa + i * K4)
			return -NPT_EMERGE;
		v.ad |= s->ad;
	}
	v.level = NPT_LEVEL_2M;
	model_set_block(m, b, &v);
	m->big[b] = true;
	m->n4k[b] = 0;
	return 0;
}

/* Set or clear A/D bits on the leaf holding g, in the model. */
static void model_ad(struct model *m, unsigned g, unsigned set, bool clear)
{
	unsigned b = g / 512, i;

	for (i = 0; i < 512; i++) {
		struct gran *s = &m->g[b * 512 + i];

		if (m->big[b] || b * 512 + i == g)
			s->ad = (uint8_t)((clear ? 0 : s->ad) | set);
	}
}

/* The real tables against the model at one granule, through the API and the raw entry. */
static void rm_check_gran(const struct model *m, unsigned g)
{
	const struct gran *s = &m->g[g];
	uint64_t gpa = gran_gpa(g), *e;
	paddr_t pa;
	unsigned level, rights;

	if (!s->present) {
		assert_int_equal(npt_lookup(&nt, gpa + rnd_below(K4), &pa, &level, &rights),
				 -NPT_ENOENT);
		assert_null(ref_entry(&nt, gpa, &level));
		return;
	}
	assert_int_equal(npt_lookup(&nt, gpa + rnd_below(K4), &pa, &level, &rights), 0);
	assert_int_equal(pa, s->pa);
	assert_int_equal(level, s->level);
	assert_int_equal(rights, s->rights);
	e = ref_entry(&nt, gpa, &level);
	assert_non_null(e);
	assert_int_equal(level, s->level);
	assert_int_equal(*e, ref_leaf(s->pa, s->rights, s->level) | (s->ad & RM_AD_A ? REF_A : 0) |
				 (s->ad & RM_AD_D ? REF_D : 0));
}

static void rm_check_counts(const struct model *m)
{
	assert_int_equal(nt.mapped, m->mapped);
	expect_tables(model_tables(m));
}

static void rm_check_all(const struct model *m)
{
	unsigned g, b;

	for (g = 0; g < RM_GRAN; g++)
		rm_check_gran(m, g);
	for (b = 0; b < RM_BLOCKS; b++)
		assert_int_equal(npt_any_mapped(&nt, gran_gpa(b * 512), M2),
				 m->n4k[b] || m->big[b]);
	assert_int_equal(npt_any_mapped(&nt, 0, NPT_GPA_LIMIT), m->mapped != 0);
	rm_check_counts(m);
	check_tree(&nt);
}

static bool rm_any(const struct model *m, unsigned g, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (m->g[g + i].present)
			return true;
	return false;
}

/* A random range inside one window: npt_any_mapped() agrees with the model. */
static void rm_any_mapped(const struct model *m, unsigned g)
{
	unsigned left = RM_WIN / K4 - g % (RM_WIN / K4);
	unsigned n = 1 + (unsigned)rnd_below(rnd_below(2) ? 8 : 1100);
	bool want;

	if (n > left)
		n = left;
	want = rm_any(m, g, n);
	assert_int_equal(npt_any_mapped(&nt, gran_gpa(g), n * K4), want);
	rm_seen[want ? C_ANY_TRUE : C_ANY_FALSE]++;
}

/* A call with one bad argument: -NPT_EINVAL and no change. */
static int rm_invalid(unsigned g)
{
	uint64_t gpa = gran_gpa(g);

	switch (rnd_below(7)) {
	case 0:
		return npt_map(&nt, gpa | 0x1000, 0, NPT_LEVEL_2M, NPT_R);
	case 1:
		return npt_map(&nt, gpa, 0x1000, NPT_LEVEL_4K, NPT_W);
	case 2:
		return npt_map(&nt, gpa + NPT_GPA_LIMIT, 0x1000, NPT_LEVEL_4K, NPT_R);
	case 3:
		return npt_map(&nt, gpa, 0x1000, 2, NPT_R);
	case 4:
		return npt_protect(&nt, gpa, 0);
	case 5: /* rights the format cannot express */
		return npt_protect(&nt, gpa, fmt_is_ept ? NPT_W | NPT_X : NPT_X);
	default:
		return npt_map(&nt, gpa, 0x1800, NPT_LEVEL_4K, NPT_R);
	}
}

/* Every leaf in a block removed, as an unmap of a range would. */
static void rm_clear_block(struct model *m, unsigned b)
{
	unsigned i;

	for (i = 0; i < 512; i++) {
		int want = model_unmap(m, b * 512 + i);

		assert_int_equal(npt_unmap(&nt, gran_gpa(b * 512 + i), NULL, NULL), want);
	}
}

/* Every absent page of a block mapped, contiguously (sometimes from a misaligned start). */
static void rm_fill_block(struct model *m, unsigned b)
{
	paddr_t pa = natural_pa(b) + (rnd_below(4) ? 0 : K4);
	unsigned i, rights = rnd_below(8) ? NPT_RWX : NPT_R;

	for (i = 0; i < 512; i++) {
		unsigned g = b * 512 + i;

		if (m->g[g].present)
			continue;
		assert_int_equal(model_map4k(m, g, pa + i * K4, rights), 0);
		assert_int_equal(npt_map(&nt, gran_gpa(g), pa + i * K4, NPT_LEVEL_4K, rights), 0);
	}
}

/* Set A/D bits in a present leaf as the processor would. */
static void rm_set_ad(struct model *m, unsigned g)
{
	unsigned set = 1 + (unsigned)rnd_below(3), level;
	uint64_t *e;

	if (!m->g[g].present)
		return;
	e = ref_entry(&nt, gran_gpa(g), &level);
	assert_non_null(e);
	*e |= (set & RM_AD_A ? REF_A : 0) | (set & RM_AD_D ? REF_D : 0);
	model_ad(m, g, set, false);
	rm_seen[C_AD_SET]++;
}

static void rm_test_ad(struct model *m, unsigned g)
{
	bool a, d, clear = rnd_below(2);
	int want = m->g[g].present ? 0 : -NPT_ENOENT;

	assert_int_equal(npt_test_ad(&nt, gran_gpa(g) + rnd_below(K4), &a, &d, clear), want);
	if (want)
		return;
	assert_int_equal(a, (m->g[g].ad & RM_AD_A) != 0);
	assert_int_equal(d, (m->g[g].ad & RM_AD_D) != 0);
	if (clear)
		model_ad(m, g, 0, true);
}

static void rm_note(int rc, enum rm_case ok)
{
	static const enum rm_case err_case[NPT_NERR] = {
		[NPT_EEXIST] = C_EEXIST, [NPT_ENOENT] = C_ENOENT, [NPT_ELEVEL] = C_ELEVEL,
		[NPT_EMERGE] = C_EMERGE, [NPT_ENOMEM] = C_ENOMEM,
	};

	assert_true(rc <= 0 && rc > -NPT_NERR && rc != -NPT_EINVAL);
	rm_seen[rc == 0 ? ok : err_case[-rc]]++;
}

/*
 * One operation that may need a table: the model says what should happen;
 * with allocation failing, anything that would add a table must give
 * -NPT_ENOMEM and leave the model as it was.
 */
static void rm_change(struct model *m, unsigned op, unsigned g)
{
	static struct model before;
	uint64_t gpa = gran_gpa(g), tables = model_tables(m);
	bool fail = rnd_below(40) == 0;
	unsigned rights = rnd_rights(), b = g / 512;
	paddr_t pa = rnd_below(8) ? natural_pa(b) + (g % 512) * K4 : (rnd() & 0xffffffffff000ULL);
	enum rm_case ok;
	int want, rc;

	if (fail)
		before = *m;
	switch (op) {
	case 0:
		want = model_map4k(m, g, pa, rights);
		ok = C_MAP4K;
		break;
	case 1:
		pa &= ~(M2 - 1);
		gpa &= ~(M2 - 1);
		want = model_map2m(m, b, pa, rights);
		ok = C_MAP2M;
		break;
	case 2:
		want = model_split(m, g);
		ok = C_SPLIT;
		break;
	default:
		want = model_merge(m, g);
		ok = C_MERGE;
		break;
	}
	if (fail && want == 0 && model_tables(m) > tables) {
		*m = before;
		want = -NPT_ENOMEM;
	}
	pool.fail_all = fail;
	if (op == 0)
		rc = npt_map(&nt, gpa, pa, NPT_LEVEL_4K, rights);
	else if (op == 1)
		rc = npt_map(&nt, gpa, pa, NPT_LEVEL_2M, rights);
	else if (op == 2)
		rc = npt_split(&nt, gpa + rnd_below(K4));
	else
		rc = npt_merge(&nt, gpa + rnd_below(K4));
	pool.fail_all = false;
	assert_int_equal(rc, want);
	rm_note(rc, ok);
}

/* The level of the first absent entry on the way to the absent granule g. */
static unsigned model_hole_level(const struct model *m, unsigned g)
{
	uint64_t gpa = gran_gpa(g);
	unsigned b, level = 3;

	if (m->n4k[g / 512])
		return 0;
	for (b = 0; b < RM_BLOCKS; b++) {
		uint64_t at = gran_gpa(b * 512);

		if (!m->n4k[b] && !m->big[b])
			continue;
		if (at >> 30 == gpa >> 30)
			return 1;
		if (at >> 39 == gpa >> 39)
			level = 2;
	}
	return level;
}

/* A map as a growth fault does it: find the hole, fill it with a 2 MiB leaf if it can take one. */
static void rm_fill_hole(struct model *m, unsigned g)
{
	static struct model before;
	uint64_t tables = model_tables(m);
	unsigned b = g / 512, rights = rnd_rights(), level;
	bool fail = rnd_below(20) == 0;
	struct npt_hole h;
	paddr_t pa;
	int want, rc;

	rc = npt_find_hole(&nt, gran_gpa(g) + rnd_below(K4), &h);
	if (m->g[g].present) {
		assert_int_equal(rc, -NPT_EEXIST);
		rm_seen[C_HOLE_EEXIST]++;
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(h.level, model_hole_level(m, g));
	before = *m;
	if (h.level >= NPT_LEVEL_2M && rnd_below(2)) {
		level = NPT_LEVEL_2M;
		pa = rnd_below(8) ? natural_pa(b) : rnd() & 0xfffffffe00000ULL;
		want = model_map2m(m, b, pa, rights);
	} else {
		level = NPT_LEVEL_4K;
		pa = rnd_below(8) ? natural_pa(b) + (g % 512) * K4 : rnd() & 0xffffffffff000ULL;
		want = model_map4k(m, g, pa, rights);
	}
	assert_int_equal(want, 0);
	if (fail && model_tables(m) > tables) {
		*m = before;
		want = -NPT_ENOMEM;
		rm_seen[C_HOLE_ENOMEM]++;
	}
	pool.fail_all = fail;
	rc = npt_fill_hole(&nt, &h, pa, level, rights);
	pool.fail_all = false;
	assert_int_equal(rc, want);
	rm_note(rc, level == NPT_LEVEL_2M ? C_HOLE_2M : C_HOLE_4K);
}

/* A scan of a range inside one window, answering at random; the model follows each answer. */
struct rm_scan {
	struct model *m;
	uint64_t start, end;
	uint64_t cursor;  /* the next leaf ends above this */
	bool fail;	  /* no table frames: a split fails */
	bool over;	  /* stopped, or a split failed */
	int want;	  /* what the scan should return */
	uint64_t stopped; /* and where it should stop */
};

/* The granule of the model's first leaf ending above cursor and starting below end, or -1. */
static int model_next_leaf(const struct model *m, uint64_t cursor, uint64_t end)
{
	int g;

	if (cursor >= end)
		return -1;
	g = gpa_gran(cursor & ~(K4 - 1));
	assert_true(g >= 0);
	for (; g < (int)RM_GRAN && gran_gpa((unsigned)g) < end; g++)
		if (m->g[g].present)
			return m->big[g / 512] ? g & ~511 : g;
	return -1;
}

static enum npt_scan_action rm_visit(void *ctx, const struct npt_leaf *l)
{
	struct rm_scan *s = ctx;
	struct model *m = s->m;
	int g = model_next_leaf(m, s->cursor, s->end);
	unsigned r = (unsigned)rnd_below(100), i, n;
	const struct gran *v;

	assert_false(s->over);
	assert_true(g >= 0);
	v = &m->g[g];
	assert_int_equal(l->gpa, gran_gpa((unsigned)g));
	assert_int_equal(l->pa, v->pa);
	assert_int_equal(l->level, v->level);
	assert_int_equal(l->rights, v->rights);
	assert_int_equal(l->accessed, (v->ad & RM_AD_A) != 0);
	assert_int_equal(l->dirty, (v->ad & RM_AD_D) != 0);
	if (r < 1 || (r < 50 && l->level == NPT_LEVEL_2M && s->fail)) {
		s->over = true;
		s->want = r < 1 ? 0 : -NPT_ENOMEM;
		s->stopped = l->gpa;
		return r < 1 ? NPT_SCAN_STOP : NPT_SCAN_SPLIT;
	}
	if (r < 50 && l->level == NPT_LEVEL_2M) {
		assert_int_equal(model_split(m, (unsigned)g), 0);
		rm_seen[C_SCAN_SPLIT]++;
		return NPT_SCAN_SPLIT; /* the cursor stays: its pages are next */
	}
	s->cursor = l->gpa + (K4 << (9 * l->level));
	if (r < 60) {
		assert_int_equal(model_unmap(m, (unsigned)g), 0);
		rm_seen[C_SCAN_UNMAP]++;
		return NPT_SCAN_UNMAP;
	}
	if (r < 70) {
		model_ad(m, (unsigned)g, 0, true);
		return NPT_SCAN_CLEAR_AD;
	}
	if (r < 80) {
		n = l->level == NPT_LEVEL_2M ? 512 : 1;
		for (i = 0; i < n; i++)
			m->g[g + i].ad &= (uint8_t)~RM_AD_A;
		return NPT_SCAN_CLEAR_A;
	}
	return NPT_SCAN_KEEP;
}

static void rm_scan(struct model *m, unsigned g)
{
	unsigned left = RM_WIN / K4 - g % (RM_WIN / K4);
	unsigned n = 1 + (unsigned)rnd_below(rnd_below(2) ? 8 : 1100);
	struct rm_scan s = { .m = m, .fail = rnd_below(8) == 0 };
	uint64_t next;
	int rc;

	if (n > left)
		n = left;
	s.start = gran_gpa(g) + (rnd_below(2) ? rnd_below(K4) : 0);
	s.end = gran_gpa(g) + (n - 1) * K4 + 1 + rnd_below(K4);
	if (s.end < s.start)
		s.end = s.start;
	s.cursor = s.start;
	pool.fail_all = s.fail;
	rc = npt_scan(&nt, s.start, s.end, rm_visit, &s, &next);
	pool.fail_all = false;
	if (s.over) {
		assert_int_equal(rc, s.want);
		assert_int_equal(next, s.stopped);
		rm_seen[s.want ? C_SCAN_ENOMEM : C_SCAN_STOP]++;
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(next, s.end);
		assert_true(model_next_leaf(m, s.cursor, s.end) < 0); /* nothing left out */
		rm_seen[C_SCAN]++;
	}
	check_tree(&nt);
}

static void rm_step(struct model *m)
{
	unsigned g = (unsigned)rnd_below(RM_GRAN), r = (unsigned)rnd_below(110);
	unsigned rights = rnd_rights();
	paddr_t pa;
	unsigned level;
	int want, rc;

	if (r < 24) {
		rm_change(m, 0, g);
	} else if (r < 32) {
		rm_change(m, 1, g);
	} else if (r < 50) {
		want = m->g[g].present ? 0 : -NPT_ENOENT;
		rc = npt_unmap(&nt, gran_gpa(g) + rnd_below(K4), &pa, &level);
		assert_int_equal(rc, want);
		if (!rc) {
			assert_int_equal(pa, m->g[g].pa);
			assert_int_equal(level, m->g[g].level);
			model_unmap(m, g);
		}
		rm_note(rc, C_UNMAP);
	} else if (r < 56) {
		want = model_protect(m, g, rights);
		assert_int_equal(npt_protect(&nt, gran_gpa(g) + rnd_below(K4), rights), want);
		rm_note(want, C_PROTECT);
	} else if (r < 62) {
		rm_change(m, 2, g);
	} else if (r < 72) {
		rm_change(m, 3, g);
	} else if (r < 78) {
		rm_test_ad(m, g);
	} else if (r < 84) {
		rm_set_ad(m, g);
	} else if (r < 92) {
		rm_any_mapped(m, g);
	} else if (r < 94) {
		rm_clear_block(m, g / 512);
	} else if (r < 96) {
		rm_fill_block(m, g / 512);
	} else if (r < 97) {
		assert_int_equal(rm_invalid(g), -NPT_EINVAL);
		rm_seen[C_EINVAL]++;
	} else if (r < 100) {
		/* only the lookups below */
	} else if (r < 105) {
		rm_fill_hole(m, g);
		check_tree(&nt);
	} else {
		rm_scan(m, g);
	}
	rm_check_gran(m, g);
	rm_check_gran(m, (unsigned)rnd_below(RM_GRAN));
	rm_check_counts(m);
}

static void rm_destroy_leaf(void *ctx, uint64_t gpa, paddr_t pa, unsigned level)
{
	struct model *m = ctx;
	int g = gpa_gran(gpa);
	unsigned i, n = level == NPT_LEVEL_2M ? 512 : 1;

	assert_true(g >= 0);
	assert_int_equal(gpa % (level == NPT_LEVEL_2M ? M2 : K4), 0);
	for (i = 0; i < n; i++) {
		struct gran *s = &m->g[g + i];

		assert_true(s->present); /* and not reported before */
		assert_int_equal(s->level, level);
		assert_int_equal(s->pa, pa);
		s->present = false;
	}
}

static void test_random_model(void **state)
{
	struct model *m = calloc(1, sizeof(*m));
	unsigned g, c;
	uint64_t i;

	(void)state;
	assert_non_null(m);
	memset(rm_seen, 0, sizeof(rm_seen));
	rng_state = 0x6e7074;
	for (i = 0; i < RM_OPS; i++) {
		rm_step(m);
		if (i % 2000 == 1999)
			rm_check_all(m);
	}
	rm_check_all(m);
	for (c = 0; c < C_NCASES; c++)
		assert_true(rm_seen[c] > 0);

	npt_destroy(&nt, rm_destroy_leaf, m);
	for (g = 0; g < RM_GRAN; g++)
		assert_false(m->g[g].present);
	expect_tables(0);
	assert_int_equal(nt.mapped, 0);
	free(m);
}

/* The tests that run for every format. */
#define NPT_COMMON_TESTS                                                                   \
	cmocka_unit_test(test_init_errors),                                                \
	cmocka_unit_test_setup_teardown(test_map_4k, setup, teardown),                     \
	cmocka_unit_test_setup_teardown(test_unmap_scattered_frees_with_the_last, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_map_2m, setup, teardown),                     \
	cmocka_unit_test_setup_teardown(test_map_errors, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_map_eexist, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_map_2m_over_empty_table, setup, teardown),    \
	cmocka_unit_test_setup_teardown(test_enoent_einval, setup, teardown),              \
	cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),              \
	cmocka_unit_test_setup_teardown(test_split_merge, setup, teardown),                \
	cmocka_unit_test_setup_teardown(test_merge_errors, setup, teardown),               \
	cmocka_unit_test_setup_teardown(test_ad, setup, teardown),                         \
	cmocka_unit_test_setup_teardown(test_protect, setup, teardown),                    \
	cmocka_unit_test_setup_teardown(test_any_mapped, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),                    \
	cmocka_unit_test_setup_teardown(test_hole_levels, setup, teardown),                \
	cmocka_unit_test_setup_teardown(test_fill_hole, setup, teardown),                  \
	cmocka_unit_test_setup_teardown(test_fill_hole_hint, setup, teardown),             \
	cmocka_unit_test_setup_teardown(test_fill_run, setup, teardown),                   \
	cmocka_unit_test_setup_teardown(test_clear_run, setup, teardown),                  \
	cmocka_unit_test_setup_teardown(test_fill_hole_enomem, setup, teardown),           \
	cmocka_unit_test_setup_teardown(test_scan_visit, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_scan_clear_ad, setup, teardown),              \
	cmocka_unit_test_setup_teardown(test_scan_probe, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_scan_unmap_all, setup, teardown),             \
	cmocka_unit_test_setup_teardown(test_scan_unmap_some, setup, teardown),            \
	cmocka_unit_test_setup_teardown(test_scan_split, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_scan_stop, setup, teardown),                  \
	cmocka_unit_test_setup_teardown(test_scan_partial, setup, teardown),               \
	cmocka_unit_test_setup_teardown(test_scan_hint, setup, teardown),                  \
	cmocka_unit_test_setup_teardown(test_scan_cost, setup, teardown),                  \
	cmocka_unit_test(test_strerror),                                                   \
	cmocka_unit_test_setup_teardown(test_random_model, setup, teardown)

int main(void)
{
	const struct CMUnitTest ept[] = {
		cmocka_unit_test(test_ept_encoding),
		cmocka_unit_test(test_ept_bits),
		NPT_COMMON_TESTS,
	};
	const struct CMUnitTest npt[] = {
		cmocka_unit_test(test_npt_encoding),
		cmocka_unit_test(test_npt_bits),
		NPT_COMMON_TESTS,
	};
	int failed = cmocka_run_group_tests_name("npt-ept", ept, group_ept, NULL);

	failed += cmocka_run_group_tests_name("npt-npt", npt, group_npt, NULL);
	return failed != 0;
}
