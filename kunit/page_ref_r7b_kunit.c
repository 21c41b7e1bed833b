// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite page_ref_r7b: the stale claim of a last put, replayed step by
 * step on real pages through the kernel's own free paths.
 *
 * With the frozen bit a put decrements to zero and then claims that zero;
 * the test series' window (page_ref_test_window_open()) runs a test's
 * function in between, as a delay there would let another CPU run it. The
 * first case opens it in folio_put(): a speculative get revives the page and
 * the put's claim fails (R1), whichever implementation runs the refcount.
 * The second opens it in __free_pages() of an order-3 compound page: the
 * page is revived, freed by the reviver, reallocated as eight order-0 pages
 * (alloc_pages() + split_page()), and page 0's new owner puts it to zero;
 * then the stale claim runs. Before patch 5 of the series it wins page 0's
 * zero and __free_pages() frees 1 << 3 pages, seven of which belong to
 * others: the allocator's own check reports them ("Bad page state",
 * TAINT_BAD_PAGE) or, without it, they reach the free lists while held. With
 * patch 5 the put of __free_pages() leaves no zero, so the window never
 * opens and the block is freed as the caller meant. The test series'
 * stale_claimable variant puts the unfixed code back, for the boot that
 * shows this suite catches it.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/page_ref.h>
#include <linux/panic.h>
#include <linux/sched.h>

/* free_frozen_pages(), mm-internal. */
#include "../../page_alloc.h"

#define R7B_ORDER	3

/* One page's put, stopped between its decrement and its claim, once. */
struct r7b_stop {
	struct page *page;
	atomic_t opened;
	void (*fn)(struct r7b_stop *stop);
};

static void r7b_window(struct page *page, void *data)
{
	struct r7b_stop *stop = data;

	if (page == stop->page && atomic_cmpxchg(&stop->opened, 0, 1) == 0)
		stop->fn(stop);
}

/* The first case: a speculative get in the window of folio_put(). */
struct r7b_revive {
	struct r7b_stop stop;
	bool revived;
};

static void revive(struct r7b_stop *stop)
{
	struct r7b_revive *r = container_of(stop, struct r7b_revive, stop);

	r->revived = get_page_unless_zero(stop->page);
}

static void page_ref_r7b_window_revives(struct kunit *test)
{
	struct r7b_revive r = { .stop.fn = revive };

	r.stop.page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r.stop.page);
	KUNIT_ASSERT_EQ(test, page_ref_test_window_open(r7b_window, &r.stop), 0);
	folio_put(page_folio(r.stop.page));
	page_ref_test_window_close();
	KUNIT_EXPECT_EQ(test, atomic_read(&r.stop.opened), 1);
	KUNIT_EXPECT_TRUE(test, r.revived);
	/* The claim lost to the reviver, who holds the page now. */
	KUNIT_EXPECT_EQ(test, atomic_read(&r.stop.page->_refcount), 1);
	put_page(r.stop.page);
}

/* The second case: what the window of __free_pages() does, and found. */
struct r7b_replay {
	struct r7b_stop stop;	/* stop.page: the block __free_pages() puts */
	struct page *again;	/* the block, reallocated and split */
	bool revived;
};

/*
 * Everything that happens between the decrement and the claim of
 * __free_pages(block, 3), as other CPUs could do it then.
 */
static void reuse_block(struct r7b_stop *stop)
{
	struct r7b_replay *r = container_of(stop, struct r7b_replay, stop);
	struct page *page = stop->page;

	/* A speculative getter revives the compound page ... */
	r->revived = get_page_unless_zero(page);
	if (!r->revived)
		return;
	/* ... and its put frees it, as what the page is: order 3. */
	put_page(page);
	/* The block is reallocated in eight pieces, each with its owner. */
	r->again = alloc_pages(GFP_KERNEL, R7B_ORDER);
	if (!r->again)
		return;
	split_page(r->again, R7B_ORDER);
	if (r->again != page)
		return;
	/*
	 * Page 0's new owner puts it, and stops after its decrement (it claims
	 * after the stale claim does): the raw decrement of a folio_put().
	 */
	atomic_dec(&page->_refcount);
}

static void page_ref_r7b_free_pages_replay(struct kunit *test)
{
	struct r7b_replay r = { .stop.fn = reuse_block };
	bool tainted = test_taint(TAINT_BAD_PAGE);
	struct page *block;
	bool stale_won, bad;
	int i;

	block = alloc_pages(GFP_KERNEL | __GFP_COMP, R7B_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, block);
	r.stop.page = block;
	KUNIT_ASSERT_EQ(test, page_ref_test_window_open(r7b_window, &r.stop), 0);
	/* One CPU's per-CPU lists: the block freed is the block reallocated. */
	migrate_disable();
	__free_pages(block, R7B_ORDER);
	migrate_enable();
	page_ref_test_window_close();

	/*
	 * Patch 5: the put went from 1 straight to the frozen bit, there was
	 * no zero to open the window on (the first case shows it opens).
	 */
	if (!atomic_read(&r.stop.opened))
		return;
	KUNIT_EXPECT_TRUE(test, r.revived);
	KUNIT_ASSERT_NOT_NULL(test, r.again);
	if (r.again != block) {
		for (i = 0; i < 1 << R7B_ORDER; i++)
			__free_page(r.again + i);
		KUNIT_FAIL(test, "the replay did not get the block back");
		return;
	}
	/* Page 0's new owner claims last: did the stale claim beat it? */
	stale_won = !page_ref_last_put(r.again, 0);
	if (!stale_won)
		free_frozen_pages(r.again, 0);
	KUNIT_EXPECT_FALSE_MSG(test, stale_won,
			       "the stale claim of __free_pages() won page 0 of the reallocated block");
	bad = test_taint(TAINT_BAD_PAGE) && !tainted;
	KUNIT_EXPECT_FALSE_MSG(test, bad,
			       "__free_pages() freed pages that others hold (Bad page state)");
	for (i = 1; i < 1 << R7B_ORDER; i++) {
		struct page *p = r.again + i;

		KUNIT_EXPECT_EQ(test, page_ref_count(p), 1);
		/*
		 * Its owner frees it, unless the stale free took it to the
		 * free lists (the allocator's check, when it is on, stops it).
		 */
		if (!stale_won || bad)
			__free_page(p);
	}
}

static struct kunit_case page_ref_r7b_cases[] = {
	KUNIT_CASE(page_ref_r7b_window_revives),
	KUNIT_CASE(page_ref_r7b_free_pages_replay),
	{}
};

static struct kunit_suite page_ref_r7b_suite = {
	.name = "page_ref_r7b",
	.test_cases = page_ref_r7b_cases,
};

kunit_test_suite(page_ref_r7b_suite);

MODULE_DESCRIPTION("KUnit replay of the stale claim on the kernel's free paths (R7b)");
MODULE_LICENSE("GPL");
