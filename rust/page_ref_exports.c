// SPDX-License-Identifier: GPL-2.0
/*
 * Export the Rust implementation's entry points of <linux/page_ref.h> to
 * modules: with CONFIG_PAGE_REF_RUST_KERNEL every module that takes or puts
 * a page reference (page_ref_torture.ko, any driver calling folio_try_get())
 * calls them. Rust code outside the kernel crate cannot export a symbol
 * itself; rust/exports.c does the same for the kernel crate.
 */
#include <linux/export.h>
#include <linux/page_ref.h>

/* The symbols are defined in Rust: the export is all C has to say. */
#define PAGE_REF_EXPORT_RUST(sym) EXPORT_SYMBOL_GPL(sym)

PAGE_REF_EXPORT_RUST(page_ref_extern_add_unless_zero);
PAGE_REF_EXPORT_RUST(page_ref_extern_dec_and_test);
PAGE_REF_EXPORT_RUST(page_ref_extern_sub_and_test);
PAGE_REF_EXPORT_RUST(page_ref_extern_sub_and_claim);
