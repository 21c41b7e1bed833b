/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C prototypes of the Rust module's never-inlined instances of the correct
 * frozen-bit algorithm (rust/rust_impl.rs), and of the C operations' own
 * instances, for the benchmark.
 */
#ifndef _PAGEREF_PAGE_REF_RUST_H
#define _PAGEREF_PAGE_REF_RUST_H

#include <linux/mm_types.h>

bool page_ref_rust_frozen_correct_add_unless_zero(struct page *page, int nr);
bool page_ref_rust_frozen_correct_sub_and_test(struct page *page, int nr);

/* The C operations out of line (page_ref_c_correct.c), for comparison. */
bool page_ref_c_correct_add_unless_zero(struct page *page, int nr);
bool page_ref_c_correct_sub_and_test(struct page *page, int nr);

/* rust/helpers/atomic.c: what the Rust code's Atomic<i32> calls. */
int rust_helper_atomic_fetch_add(int i, atomic_t *v);
int rust_helper_atomic_fetch_sub(int i, atomic_t *v);
bool rust_helper_atomic_try_cmpxchg_acquire(atomic_t *v, int *old, int new);

/* The Rust instances' shape in C (page_ref_c_via_helpers.c). */
bool page_ref_c_via_helpers_add_unless_zero(struct page *page, int nr);
bool page_ref_c_via_helpers_sub_and_test(struct page *page, int nr);

#endif
