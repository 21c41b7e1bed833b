/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C prototypes of the Rust module's never-inlined instances of the correct
 * frozen-bit algorithm (rust/rust_impl.rs), for built-in C callers.
 */
#ifndef _PAGEREF_PAGE_REF_RUST_H
#define _PAGEREF_PAGE_REF_RUST_H

#include <linux/mm_types.h>

bool page_ref_rust_frozen_correct_add_unless_zero(struct page *page, int nr);
bool page_ref_rust_frozen_correct_sub_and_test(struct page *page, int nr);

#endif
