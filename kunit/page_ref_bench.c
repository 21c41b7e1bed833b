// SPDX-License-Identifier: GPL-2.0
/*
 * page_ref_bench: the cost of a speculative get and its put, through the
 * kernel's page_ref_add_unless_zero() and page_ref_dec_and_test(), with the
 * C implementation and with the Rust one, side by side in one boot.
 *
 * With CONFIG_PAGE_REF_EXTERN the kernel runs either implementation on the
 * same _refcount, chosen by the static key page_ref_extern_key, so the
 * benchmark flips the key between measurements: each run measures C, then
 * Rust, then Rust, then C (so that neither always goes first), with one
 * kthread per CPU:
 *
 *   uncontended  one thread, on a page of its own;
 *   contended    every thread on one shared page.
 *
 * Where the Rust module is built in, the Rust instances are also called
 * directly (between the two Rust measurements): the algorithm's own cost,
 * without the kernel's dispatch and the whole-kernel switch's call counter.
 * With the test variants, the C operations are called out of line too
 * (kunit/page_ref_c_correct.c): the cost of the calls alone, which the Rust
 * code pays on top of the C code's, since the kernel's C atomics it uses
 * are functions (rust/helpers/atomic.c) unless CONFIG_RUST_INLINE_HELPERS.
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
MODULE_PARM_DESC(runs, "runs, each measuring C, Rust, Rust, C (0: none, up to 101)");

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

/* What a thread's loop calls. */
enum bench_mode {
	THROUGH_KERNEL,		/* page_ref_add_unless_zero(), page_ref_dec_and_test() */
	RUST_DIRECT,		/* the Rust instances */
	C_CALLS,		/* the C operations, out of line */
	HELPER_CALLS,		/* the kernel's atomic helpers for Rust, from C */
};

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
	case THROUGH_KERNEL:
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_add_unless_zero(t->page, 1)))
				page_ref_dec_and_test(t->page);
		}
		break;
	case RUST_DIRECT:
#if HAVE_DIRECT
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_rust_frozen_correct_add_unless_zero(t->page, 1)))
				page_ref_rust_frozen_correct_sub_and_test(t->page, 1);
		}
#endif
		break;
	case C_CALLS:
#if HAVE_C_CALLS
		for (i = 0; i < ops; i++) {
			if (likely(page_ref_c_correct_add_unless_zero(t->page, 1)))
				page_ref_c_correct_sub_and_test(t->page, 1);
		}
#endif
		break;
	case HELPER_CALLS:
#if HAVE_C_CALLS
		/* The get's add and the put's decrement alone, as Rust calls them. */
		for (i = 0; i < ops; i++) {
			if (likely(rust_helper_atomic_fetch_add(1, &t->page->_refcount) >= 0))
				rust_helper_atomic_fetch_sub(1, &t->page->_refcount);
		}
#endif
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

static void report(const char *mode, unsigned int n, u64 *c, u64 *rust, u64 *ratio,
		   u64 *direct, u64 *dratio, u64 *calls, u64 *cratio, u64 *helpers,
		   bool have_rust)
{
	u64 mc = median(c, runs), mr, mq, md, mdq;

	if (!have_rust) {
		pr_info("%s, %u thread(s): c %llu.%02llu ns per get+put\n", mode, n,
			mc / 100, mc % 100);
		return;
	}
	mr = median(rust, runs);
	mq = median(ratio, runs);
	pr_info("%s, %u thread(s): c %llu.%02llu, rust through the kernel %llu.%02llu ns per get+put; rust/c %llu.%02llu\n",
		mode, n, mc / 100, mc % 100, mr / 100, mr % 100, mq / 100, mq % 100);
	if (!HAVE_DIRECT)
		return;
	md = median(direct, runs);
	mdq = median(dratio, runs);
	pr_info("%s, %u thread(s): rust called directly %llu.%02llu ns per get+put; direct/c %llu.%02llu\n",
		mode, n, md / 100, md % 100, mdq / 100, mdq % 100);
	if (!HAVE_C_CALLS)
		return;
	md = median(calls, runs);
	mdq = median(cratio, runs);
	pr_info("%s, %u thread(s): c called out of line %llu.%02llu ns per get+put; calls/c %llu.%02llu\n",
		mode, n, md / 100, md % 100, mdq / 100, mdq % 100);
	md = median(helpers, runs);
	pr_info("%s, %u thread(s): the two atomic helpers alone %llu.%02llu ns per get+put\n",
		mode, n, md / 100, md % 100);
}

static int __init page_ref_bench_init(void)
{
	bool have_rust = IS_ENABLED(CONFIG_PAGE_REF_EXTERN);
	unsigned int n = num_online_cpus(), i, r, m;
	static u64 c[2][MAX_RUNS], rust[2][MAX_RUNS], ratio[2][MAX_RUNS];
	static u64 direct[2][MAX_RUNS], dratio[2][MAX_RUNS];
	static u64 calls[2][MAX_RUNS], cratio[2][MAX_RUNS], helpers[2][MAX_RUNS];
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
		n, ops, runs, have_rust ? "c,rust" : "c");
	for (r = 0; r < runs; r++) {
		/* m = 0: one thread, its own page; m = 1: all threads, one page. */
		for (m = 0; m < 2; m++) {
			unsigned int threads = m ? n : 1;

			set_rust(false);
			c[m][r] = measure(pages, m, threads, THROUGH_KERNEL);
			if (have_rust) {
				set_rust(true);
				rust[m][r] = measure(pages, m, threads, THROUGH_KERNEL);
				if (HAVE_DIRECT)
					direct[m][r] = measure(pages, m, threads, RUST_DIRECT);
				rust[m][r] = (rust[m][r] +
					      measure(pages, m, threads, THROUGH_KERNEL)) / 2;
				set_rust(false);
				if (HAVE_C_CALLS) {
					calls[m][r] = measure(pages, m, threads, C_CALLS);
					helpers[m][r] = measure(pages, m, threads, HELPER_CALLS);
				}
				c[m][r] = (c[m][r] +
					   measure(pages, m, threads, THROUGH_KERNEL)) / 2;
				ratio[m][r] = c[m][r] ? div_u64(rust[m][r] * 100, c[m][r]) : 0;
				dratio[m][r] = c[m][r] ? div_u64(direct[m][r] * 100, c[m][r]) : 0;
				cratio[m][r] = c[m][r] ? div_u64(calls[m][r] * 100, c[m][r]) : 0;
			}
		}
	}
	set_rust(was_rust);
	report("uncontended", 1, c[0], rust[0], ratio[0], direct[0], dratio[0],
	       calls[0], cratio[0], helpers[0], have_rust);
	report("contended", n, c[1], rust[1], ratio[1], direct[1], dratio[1],
	       calls[1], cratio[1], helpers[1], have_rust);
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
