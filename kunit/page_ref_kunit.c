// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite page_ref: the page refcount of <linux/page_ref.h> on real pages
 * from the page allocator, with CONFIG_PAGE_REF_FROZEN_BIT on or off.
 *
 * Each case drives one page through the states of the refcount (owned,
 * transient zero, free or frozen) with the kernel's own operations, and checks
 * both the count the API reports and, with the frozen bit, the raw word. The
 * races themselves (R1-R7) are interleavings the race harness and the loom
 * models explore; here each is replayed in one fixed order. R9-R11 (frozen
 * allocations, owners of ownerless pages, the allocator's check) are checked
 * on the allocator's own pages.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/page_ref.h>
#include <linux/slab.h>

/* alloc_frozen_pages() and free_frozen_pages(), mm-internal. */
#include "../../page_alloc.h"

#define FROZEN_BIT	IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT)

static int raw(struct page *page)
{
	return atomic_read(&page->_refcount);
}

/* The raw value of a free or frozen page that collected @leftovers. */
static int frozen_raw(int leftovers)
{
	return FROZEN_BIT ? PAGE_REF_FROZEN | leftovers : 0;
}

static struct page *alloc_test_page(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	return page;
}

/* Give a page whose count the test took to zero back to the allocator. */
static void free_test_page(struct page *page)
{
	set_page_count(page, 1);
	__free_page(page);
}

static void page_ref_fresh_page(struct kunit *test)
{
	struct page *page = alloc_test_page(test);

	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	KUNIT_EXPECT_EQ(test, page_count(page), 1);
	KUNIT_EXPECT_EQ(test, raw(page), 1);
	__free_page(page);
}

static void page_ref_get_and_put(struct kunit *test)
{
	struct page *page = alloc_test_page(test);

	KUNIT_EXPECT_TRUE(test, get_page_unless_zero(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 2);
	page_ref_add(page, 3);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 5);
	KUNIT_EXPECT_FALSE(test, page_ref_sub_and_test(page, 3));
	KUNIT_EXPECT_FALSE(test, put_page_testzero(page));
	KUNIT_EXPECT_EQ(test, raw(page), 1);
	__free_page(page);
}

/* The last put wins the page: it counts zero and refuses speculative gets. */
static void page_ref_last_put_claims(struct kunit *test)
{
	struct page *page = alloc_test_page(test);

	KUNIT_EXPECT_TRUE(test, page_ref_dec_and_test(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	KUNIT_EXPECT_EQ(test, raw(page), frozen_raw(0));
	KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page));
	KUNIT_EXPECT_FALSE(test, folio_try_get(page_folio(page)));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	/* Failed adds stay in the low bits, under the frozen bit. */
	KUNIT_EXPECT_EQ(test, raw(page), frozen_raw(2));
	free_test_page(page);
}

/* R3/R4: no get while frozen; unfreeze(n) leaves exactly n. */
static void page_ref_freeze_and_unfreeze(struct kunit *test)
{
	struct page *page = alloc_test_page(test);
	struct folio *folio = page_folio(page);

	KUNIT_EXPECT_FALSE(test, page_ref_freeze(page, 2));
	KUNIT_EXPECT_EQ(test, raw(page), 1);
	KUNIT_ASSERT_TRUE(test, page_ref_freeze(page, 1));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 0);
	KUNIT_EXPECT_FALSE(test, folio_try_get(folio));
	KUNIT_EXPECT_FALSE(test, folio_ref_try_add(folio, 5));
	KUNIT_EXPECT_EQ(test, raw(page), frozen_raw(6));
	page_ref_unfreeze(page, 3);
	KUNIT_EXPECT_EQ(test, raw(page), 3);
	KUNIT_EXPECT_TRUE(test, folio_try_get(folio));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 4);
	page_ref_sub(page, 3);
	__free_page(page);
}

/*
 * R1 replayed: a put takes the count to zero; a speculative get lands before
 * the put's claim. With the frozen bit the getter revives the page, the
 * delayed claim fails and the getter's own last put frees it. Without it the
 * zero is final and the get fails.
 */
static void page_ref_revive_before_claim(struct kunit *test)
{
	struct page *page = alloc_test_page(test);

	KUNIT_EXPECT_EQ(test, atomic_dec_return(&page->_refcount), 0);
	if (!FROZEN_BIT) {
		KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page));
		free_test_page(page);
		return;
	}
#ifdef CONFIG_PAGE_REF_FROZEN_BIT
	KUNIT_EXPECT_TRUE(test, get_page_unless_zero(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	/* The delayed put's claim: the page is no longer at zero. */
	KUNIT_EXPECT_FALSE(test, page_ref_last_put(page, 0));
	KUNIT_EXPECT_EQ(test, raw(page), 1);
	/* The reviver is the owner now; its last put claims. */
	KUNIT_EXPECT_TRUE(test, page_ref_dec_and_test(page));
	KUNIT_EXPECT_EQ(test, raw(page), PAGE_REF_FROZEN);
	free_test_page(page);
#endif
}

/* R6: failed gets never carry into bit 31; the guard resets the low bits. */
static void page_ref_overflow_guard(struct kunit *test)
{
	struct page *page;

	if (!FROZEN_BIT)
		kunit_skip(test, "no leftovers without CONFIG_PAGE_REF_FROZEN_BIT");
	page = alloc_test_page(test);
	KUNIT_ASSERT_TRUE(test, page_ref_freeze(page, 1));
	/* One below the guard: a failed get reaches it and resets. */
	atomic_set(&page->_refcount, PAGE_REF_FROZEN | (PAGE_REF_GUARD - 1));
	KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page));
	KUNIT_EXPECT_EQ(test, raw(page), PAGE_REF_FROZEN);
	/* Below the guard, leftovers are kept. */
	atomic_set(&page->_refcount, PAGE_REF_FROZEN | (PAGE_REF_GUARD - 3));
	KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page));
	KUNIT_EXPECT_EQ(test, raw(page), PAGE_REF_FROZEN | (PAGE_REF_GUARD - 2));
	/* The largest add that fits keeps the bit set. */
	atomic_set(&page->_refcount, PAGE_REF_FROZEN | (PAGE_REF_GUARD - 1));
	KUNIT_EXPECT_FALSE(test, folio_ref_try_add(page_folio(page), PAGE_REF_GUARD));
	KUNIT_EXPECT_EQ(test, raw(page), PAGE_REF_FROZEN);
	page_ref_unfreeze(page, 1);
	KUNIT_EXPECT_EQ(test, raw(page), 1);
	__free_page(page);
}

/*
 * R5: pages nobody holds refuse a speculative get. The tail pages of a
 * non-compound order-2 allocation came from the buddy allocator without an
 * owner (first freed by __free_pages_core() at boot, or left ownerless by a
 * later free); so do the tails of a compound allocation.
 */
static void page_ref_ownerless_pages(struct kunit *test)
{
	struct page *page;
	int i;

	page = alloc_pages(GFP_KERNEL, 2);
	KUNIT_ASSERT_NOT_NULL(test, page);
	for (i = 1; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, page_ref_count(page + i), 0);
		KUNIT_EXPECT_EQ(test, raw(page + i), frozen_raw(0));
		KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page + i));
		/* Leave the tails as the allocator expects them back. */
		page_ref_make_ownerless(page + i);
	}
	__free_pages(page, 2);

	page = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	KUNIT_ASSERT_NOT_NULL(test, page);
	for (i = 1; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, raw(page + i), frozen_raw(0));
		KUNIT_EXPECT_FALSE(test, page_ref_add_unless_zero(page + i, 1));
		page_ref_make_ownerless(page + i);
	}
	__free_pages(page, 2);

	/* The helper itself, on a page we own. */
	page = alloc_test_page(test);
	page_ref_make_ownerless(page);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	KUNIT_EXPECT_EQ(test, raw(page), frozen_raw(0));
	KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page));
	free_test_page(page);
}

/*
 * R9: a page owned without a count (slab, frozen allocations) holds the
 * frozen bit, so a pfn walker's speculative get fails on it instead of
 * taking a reference whose put would free the page under its owner.
 */
static void page_ref_frozen_allocations(struct kunit *test)
{
	struct page *page;
	void *object;
	int before, i, revivable;

	page = alloc_frozen_pages(GFP_KERNEL, 0);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_TRUE(test, page_ref_ownerless(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	before = raw(page);
	if (get_page_unless_zero(page)) {
		/* Revived: undo it by hand, never with a put that would free. */
		atomic_set(&page->_refcount, before);
		KUNIT_FAIL(test, "a get succeeded on a frozen allocation");
	}
	free_frozen_pages(page, 0);

	/*
	 * Every page of the largest block the allocator hands out: its
	 * order-0 lists recycle pages that a put claimed, so a single page
	 * says little about what the free lists hold; a block this large
	 * comes from memory that has seldom been allocated since boot.
	 */
	page = alloc_frozen_pages(GFP_KERNEL, MAX_PAGE_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, page);
	for (i = 0, revivable = 0; i < 1 << MAX_PAGE_ORDER; i++)
		revivable += !page_ref_ownerless(page + i);
	KUNIT_EXPECT_EQ_MSG(test, revivable, 0,
			    "pages of an order-%d frozen allocation without the frozen bit",
			    MAX_PAGE_ORDER);
	free_frozen_pages(page, MAX_PAGE_ORDER);

	object = kmalloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, object);
	page = virt_to_page(object);
	KUNIT_EXPECT_TRUE(test, page_ref_ownerless(page));
	before = raw(page);
	if (get_page_unless_zero(page)) {
		atomic_set(&page->_refcount, before);
		KUNIT_FAIL(test, "a get succeeded on a slab page");
	}
	kfree(object);
}

/*
 * R10: page_ref_inc_ownerless() gives a page nobody holds exactly one
 * reference, over the frozen bit and any leftovers, and adds one to a page
 * somebody holds (memory-failure's and virtio-mem's sites).
 */
static void page_ref_inc_ownerless_gives_one(struct kunit *test)
{
	struct page *page = alloc_test_page(test);

	page_ref_make_ownerless(page);
	page_ref_inc_ownerless(page);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	KUNIT_EXPECT_EQ(test, raw(page), 1);

	page_ref_make_ownerless(page);
	KUNIT_EXPECT_FALSE(test, get_page_unless_zero(page));
	page_ref_inc_ownerless(page);
	KUNIT_EXPECT_EQ(test, raw(page), 1);

	page_ref_inc_ownerless(page);
	KUNIT_EXPECT_EQ(test, raw(page), 2);
	KUNIT_EXPECT_FALSE(test, put_page_testzero(page));
	/* A page with a reference frees as the kernel frees it. */
	__free_page(page);
}

/*
 * R11: what the page allocator checks of every page entering or leaving its
 * free lists. Zero without the frozen bit is a revivable page.
 */
static void page_ref_ownerless_word(struct kunit *test)
{
	struct page *page = alloc_test_page(test);

	KUNIT_EXPECT_FALSE(test, page_ref_ownerless(page));
	page_ref_make_ownerless(page);
	KUNIT_EXPECT_TRUE(test, page_ref_ownerless(page));
	atomic_set(&page->_refcount, 0);
	KUNIT_EXPECT_EQ(test, page_ref_ownerless(page), !FROZEN_BIT);
	free_test_page(page);
}

/*
 * A speculative get on a tail page fails without writing: tails count
 * nobody, and under HugeTLB vmemmap optimisation (HVO, x86_64) the struct
 * pages of all but the first tails share one read-only page, where a write
 * faults. Without HVO (arm64 in 7.3) the write would show in the tail's
 * word. Takes a huge page from the pool the boot reserved (hugepages=).
 */
static void page_ref_try_get_huge_tail(struct kunit *test)
{
	struct hstate *h = &default_hstate;
	struct folio *folio = NULL;
	struct page *tail;
	int before;

	if (hugepages_supported() && READ_ONCE(h->free_huge_pages))
		folio = alloc_hugetlb_folio_nodemask(h, numa_node_id(), NULL,
						     htlb_alloc_mask(h), false);
	if (!folio)
		kunit_skip(test, "no free huge page (boot with hugepages=)");
	if (!folio_test_hugetlb_vmemmap_optimized(folio))
		kunit_info(test, "HVO is off: the tail struct pages are writable\n");
	/* The last tail: with HVO, on the read-only shared page. */
	tail = folio_page(folio, folio_nr_pages(folio) - 1);
	before = raw(tail);
	KUNIT_EXPECT_FALSE(test, get_page_unless_zero(tail));
	KUNIT_EXPECT_FALSE(test, page_ref_add_unless_zero(tail, 2));
	KUNIT_EXPECT_EQ(test, raw(tail), before);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	folio_put(folio);
}

static struct kunit_case page_ref_cases[] = {
	KUNIT_CASE(page_ref_fresh_page),
	KUNIT_CASE(page_ref_get_and_put),
	KUNIT_CASE(page_ref_last_put_claims),
	KUNIT_CASE(page_ref_freeze_and_unfreeze),
	KUNIT_CASE(page_ref_revive_before_claim),
	KUNIT_CASE(page_ref_overflow_guard),
	KUNIT_CASE(page_ref_ownerless_pages),
	KUNIT_CASE(page_ref_frozen_allocations),
	KUNIT_CASE(page_ref_inc_ownerless_gives_one),
	KUNIT_CASE(page_ref_ownerless_word),
	KUNIT_CASE(page_ref_try_get_huge_tail),
	{}
};

static struct kunit_suite page_ref_suite = {
	.name = "page_ref",
	.test_cases = page_ref_cases,
};

kunit_test_suite(page_ref_suite);

MODULE_DESCRIPTION("KUnit tests of the page refcount");
MODULE_LICENSE("GPL");
