// SPDX-License-Identifier: GPL-2.0
/*
 * page_ref_bench: the cost of a speculative get and its put, through the
 * kernel's page_ref_add_unless_zero() and page_ref_dec_and_test(), with the
 * C implementation and with the Rust one, side by side in one boot.
 *
 * With CONFIG_PAGE_REF_EXTERN the kernel runs either implementation on the
 * same _refcount, chosen by the static key page_ref_extern_key, so the
 * benchmark flips the key between measurements: each run measures C first
 * and last, and the other modes between (enum bench_mode), with one kthread
 * per CPU:
 *
 *   uncontended  one thread, on a page of its own;
 *   contended    every thread on one shared page.
 *
 * Where the Rust module is built in, the Rust instances are also called
 * directly: the algorithm's own cost, without the kernel's dispatch and the
 * whole-kernel switch's call counter. With the test variants, three more
 * modes take that cost apart: the C operations called out of line
 * (kunit/page_ref_c_correct.c), the cost of two calls; the two atomic
 * helpers the Rust code calls (rust/helpers/atomic.c, functions unless
 * CONFIG_RUST_INLINE_HELPERS), called from C; and the Rust instances'
 * shape written in C over those helpers (kunit/page_ref_c_via_helpers.c).
 * One more measures, in C, the put that patch 5 of the series gives the raw
 * free paths (page_ref_dec_and_claim(): a read and a cmpxchg when the put
 * is not the last) against page_ref_dec_and_test().
 *
 * Each thread times its own loop of get+put pairs; a measurement's figure is
 * the mean over threads of ns per pair; the printed figure is the median
 * over runs, and the ratio is the median of the runs' Rust/C ratios. Lines
 * start with "pageref-bench:" so that pageref's scripts keep them.
 *
 * Parameters: runs (0, the default, measures nothing: the object is built
 * with pageref's C KUnit suite, into every test kernel) and ops (pairs per
 * thread and measurement). Built in, they are given on the command line:
 * page_ref_bench.runs=5. Without CONFIG_PAGE_REF_EXTERN only C is
 * measured. A bad parameter is reported and fails the init with -EINVAL;
 * the work is done in the init function, and then the module idles.
 */

#define pr_fmt(fmt) "pageref-bench: " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/page_ref.h>
#include <linux/sort.h>
#include <linux/slab.h>

static unsigned int ops = 1000000;
module_param(ops, uint, 0444);
MODULE_PARM_DESC(ops, "get+put pairs per thread and measurement (1000..100000000)");

static unsigned int runs;
module_param(runs, uint, 0444);
MODULE_PARM_DESC(runs, "runs, each measuring every mode once and C twice (0: none, up to 101)");

#define MAX_RUNS 101

/*
 * Built in next to the built-in Rust module, the benchmark can also call the
 * Rust instances directly: the algorithm's own cost, without the kernel's
 * dispatch through the static key and the test switch's call counter.
 */
#if IS_BUILTIN(CONFIG_PAGE_REF_RUST) && IS_BUILTIN(CONFIG_PAGE_REF_KUNIT_TEST) && \
	IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT)
#define HAVE_DIRECT 1
#include "page_ref_rust.h"
#else
#define HAVE_DIRECT 0
#endif
#define HAVE_C_CALLS (HAVE_DIRECT && IS_ENABLED(CONFIG_PAGE_REF_TEST_VARIANTS))

/*
 * What a thread's loop calls: one mode per series of figures. The C code
 * is measured twice per run (first and last) and so is the kernel on Rust,
 * so that neither always goes first after a flip of the static key.
 */
enum bench_mode {
	THROUGH_KERNEL_C,	/* page_ref_add_unless_zero(), page_ref_dec_and_test() */
	THROUGH_KERNEL_RUST,	/* the same, with the kernel switched to Rust */
	RUST_DIRECT,		/* the Rust instances */
	C_CALLS,		/* the C operations, out of line */
	HELPER_CALLS,		/* the kernel's atomic helpers for Rust, from C */
	C_VIA_HELPERS,		/* the Rust instances' shape in C, over those helpers */
	C_PUT_AND_CLAIM,	/* the C get, and the put of the raw free paths (R7b) */
	NR_BENCH_MODES,
};

static const char * const mode_names[NR_BENCH_MODES] = {
	[THROUGH_KERNEL_C]	= "c",
	[THROUGH_KERNEL_RUST]	= "rust through the kernel",
	[RUST_DIRECT]		= "rust called directly",
	[C_CALLS]		= "c called out of line",
	[HELPER_CALLS]		= "the two atomic helpers alone",
	[C_VIA_HELPERS]		= "c over the helpers, as rust",
	[C_PUT_AND_CLAIM]	= "c, put with page_ref_dec_and_claim()",
};

/* Whether this kernel has what @mode calls. */
static bool mode_available(enum bench_mode mode)
{
	switch (mode) {
	case THROUGH_KERNEL_C:
	case C_PUT_AND_CLAIM:
		return true;
	case THROUGH_KERNEL_RUST:
		return IS_ENABLED(CONFIG_PAGE_REF_EXTERN);
	case RUST_DIRECT:
		return HAVE_DIRECT;
	default:
		return HAVE_C_CALLS;
	}
}

struct bench_thread {
	enum bench_mode mode;
	struct page *page;
	struct completion *start;
	atomic_t *ready;
	u64 ns;
	struct completion done;
};

static int bench_fn(void *arg)
{
	struct bench_thread *t = arg;
	unsigned int i;
	u64 t0;

	atomic_inc(t->ready);
	wait_for_completion(t->start);
	t0 = ktime_get_ns();
	switch (t->mode) {
	case THROUGH_KERNEL_C:
	case THROUGH_KERNEL_RUST:
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_add_unless_zero(t->page, 1)))
				page_ref_dec_and_test(t->page);
		}
		break;
	case C_PUT_AND_CLAIM:
		/* A put that is not the last: a read and a cmpxchg, not an add. */
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_add_unless_zero(t->page, 1)))
				page_ref_dec_and_claim(t->page);
		}
		break;
#if HAVE_DIRECT
	case RUST_DIRECT:
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_rust_frozen_correct_add_unless_zero(t->page, 1)))
				page_ref_rust_frozen_correct_sub_and_test(t->page, 1);
		}
		break;
#endif
#if HAVE_C_CALLS
	case C_CALLS:
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_c_correct_add_unless_zero(t->page, 1)))
				page_ref_c_correct_sub_and_test(t->page, 1);
		}
		break;
	case HELPER_CALLS:
		/* The get's add and the put's decrement alone, as Rust calls them. */
		for (i = 0; i < ops; i++) {
			if (likely(rust_helper_atomic_fetch_add(1, &t->page->_refcount) >= 0))
				rust_helper_atomic_fetch_sub(1, &t->page->_refcount);
		}
		break;
	case C_VIA_HELPERS:
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_c_via_helpers_add_unless_zero(t->page, 1)))
				page_ref_c_via_helpers_sub_and_test(t->page, 1);
		}
		break;
#endif
	default:
		break;
	}
	t->ns = ktime_get_ns() - t0;
	complete(&t->done);
	return 0;
}

/* Mean ns per pair over @n threads, each on pages[i] (or pages[0]). */
static u64 measure(struct page **pages, bool shared, unsigned int n, enum bench_mode mode)
{
	DECLARE_COMPLETION_ONSTACK(start);
	struct bench_thread *t;
	atomic_t ready = ATOMIC_INIT(0);
	unsigned int i, cpu;
	u64 sum = 0;

	t = kcalloc(n, sizeof(*t), GFP_KERNEL);
	if (!t)
		return 0;
	i = 0;
	for_each_online_cpu(cpu) {
		struct task_struct *k;

		if (i == n)
			break;
		t[i].mode = mode;
		t[i].page = pages[shared ? 0 : i];
		t[i].start = &start;
		t[i].ready = &ready;
		init_completion(&t[i].done);
		k = kthread_create(bench_fn, &t[i], "page_ref_bench/%u", i);
		if (IS_ERR(k)) {
			/* Counted as ready and done, with no time. */
			complete(&t[i].done);
			atomic_inc(&ready);
		} else {
			kthread_bind(k, cpu);
			wake_up_process(k);
		}
		i++;
	}
	while (atomic_read(&ready) < n)
		cond_resched();
	complete_all(&start);
	for (i = 0; i < n; i++) {
		wait_for_completion(&t[i].done);
		sum += t[i].ns;
	}
	kfree(t);
	return div_u64(sum * 100, (u64)n * ops);	/* hundredths of ns */
}

static void set_rust(bool rust)
{
#ifdef CONFIG_PAGE_REF_EXTERN
	if (rust)
		static_branch_enable(&page_ref_extern_key);
	else
		static_branch_disable(&page_ref_extern_key);
#endif
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 median(u64 *v, unsigned int n)
{
	sort(v, n, sizeof(*v), cmp_u64, NULL);
	return v[n / 2];
}

/* The figures of one case (uncontended, contended): per mode and run. */
struct bench_figures {
	u64 ns[NR_BENCH_MODES][MAX_RUNS];	/* hundredths of ns per pair */
	u64 ratio[NR_BENCH_MODES][MAX_RUNS];	/* to the run's C figure, in % */
};

/*
 * One run of one case: the C code first and last, the Rust modes between,
 * the static key flipped only around the kernel-on-Rust measurements.
 */
static void run_case(struct bench_figures *f, unsigned int r, struct page **pages,
		     bool shared, unsigned int threads)
{
	u64 *c = &f->ns[THROUGH_KERNEL_C][r];
	enum bench_mode m;

	*c = measure(pages, shared, threads, THROUGH_KERNEL_C);
	for (m = THROUGH_KERNEL_RUST; m < NR_BENCH_MODES; m++) {
		if (!mode_available(m))
			continue;
		set_rust(m == THROUGH_KERNEL_RUST || m == RUST_DIRECT);
		f->ns[m][r] = measure(pages, shared, threads, m);
		if (m == THROUGH_KERNEL_RUST)
			f->ns[m][r] = (f->ns[m][r] +
				       measure(pages, shared, threads, m)) / 2;
	}
	set_rust(false);
	*c = (*c + measure(pages, shared, threads, THROUGH_KERNEL_C)) / 2;
	for (m = 0; m < NR_BENCH_MODES; m++)
		f->ratio[m][r] = *c ? div_u64(f->ns[m][r] * 100, *c) : 0;
}

static void report(const char *name, unsigned int threads, struct bench_figures *f)
{
	enum bench_mode m;

	for (m = 0; m < NR_BENCH_MODES; m++) {
		u64 ns, ratio;

		if (!mode_available(m))
			continue;
		ns = median(f->ns[m], runs);
		ratio = median(f->ratio[m], runs);
		pr_info("%s, %u thread(s): %s %llu.%02llu ns per get+put; /c %llu.%02llu\n",
			name, threads, mode_names[m], ns / 100, ns % 100,
			ratio / 100, ratio % 100);
	}
}

static int __init page_ref_bench_init(void)
{
	static struct bench_figures figures[2];
	unsigned int n = num_online_cpus(), i, r, m;
	struct page **pages;
	bool was_rust = true;

	if (ops < 1000 || ops > 100000000) {
		pr_err("ops=%u: must be 1000..100000000\n", ops);
		return -EINVAL;
	}
	if (!runs)
		return 0;
	if (runs > MAX_RUNS) {
		pr_err("runs=%u: must be 0..%d\n", runs, MAX_RUNS);
		return -EINVAL;
	}
	pages = kcalloc(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i])
			goto out;
	}
#ifdef CONFIG_PAGE_REF_EXTERN
	was_rust = static_key_enabled(&page_ref_extern_key);
#endif
	pr_info("scheme=%s cpus=%u ops=%u runs=%u implementations=%s\n",
		IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT) ? "frozen-bit" : "classic",
		n, ops, runs, IS_ENABLED(CONFIG_PAGE_REF_EXTERN) ? "c,rust" : "c");
	/* m = 0: one thread, its own page; m = 1: all threads, one page. */
	for (r = 0; r < runs; r++)
		for (m = 0; m < 2; m++)
			run_case(&figures[m], r, pages, m, m ? n : 1);
	set_rust(was_rust);
	report("uncontended", 1, &figures[0]);
	report("contended", n, &figures[1]);
out:
	for (i = 0; i < n; i++)
		if (pages[i])
			__free_page(pages[i]);
	kfree(pages);
	return 0;
}

static void __exit page_ref_bench_exit(void)
{
}

module_init(page_ref_bench_init);
module_exit(page_ref_bench_exit);

MODULE_DESCRIPTION("Cost of the page refcount's get and put, C vs Rust");
MODULE_LICENSE("GPL");
