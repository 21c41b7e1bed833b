// SPDX-License-Identifier: GPL-2.0
/*
 * The correct frozen-bit get and put written in C over the atomic helpers
 * that the Rust code's Atomic<i32> calls (rust/helpers/atomic.c): the shape
 * of the Rust instances (a function that calls a function for each atomic
 * operation, and so saves registers around it), without Rust. The
 * benchmark compares the two, so that what the Rust code costs over the C
 * code splits into what its call structure costs and what is left.
 */

#include <linux/page_ref.h>

#include "page_ref_rust.h"

noinline bool page_ref_c_via_helpers_add_unless_zero(struct page *page, int nr)
{
	int count = rust_helper_atomic_fetch_add(nr, &page->_refcount) + nr;

	if (likely(count > 0))
		return true;
	page_ref_drop_leftovers(page, count);
	return false;
}

noinline bool page_ref_c_via_helpers_sub_and_test(struct page *page, int nr)
{
	int zero = 0;

	if (rust_helper_atomic_fetch_sub(nr, &page->_refcount) != nr)
		return false;
	return rust_helper_atomic_try_cmpxchg_acquire(&page->_refcount, &zero,
						      PAGE_REF_FROZEN);
}
