// SPDX-License-Identifier: GPL-2.0
/*
 * Never-inlined instances of the C page refcount operations, for the
 * machine-code check (scripts/disasm-check): in the kernel the operations
 * are inline in their callers, where no tool can tell their instructions
 * apart. Each page_ref_c_<variant>.c includes this file after defining
 * PAGE_REF_C_INSTANCE and PAGE_REF_TEST_VARIANT_FIXED (the test series'
 * hook that makes the variant a constant), so an instance is exactly that
 * variant's code: page_ref_c_<variant>_<operation>. Nothing calls them.
 */
#ifndef PAGE_REF_C_INSTANCE
#error "include this file from page_ref_c_<variant>.c"
#endif

#include <linux/page_ref.h>

#define __INSTANCE(name, op)	page_ref_c_##name##_##op
#define INSTANCE(name, op)	__INSTANCE(name, op)
#define C_OP(op)		INSTANCE(PAGE_REF_C_INSTANCE, op)

bool C_OP(add_unless_zero)(struct page *page, int nr);
bool C_OP(sub_and_test)(struct page *page, int nr);
bool C_OP(freeze)(struct page *page, int count);
void C_OP(unfreeze)(struct page *page, int count);

noinline bool C_OP(add_unless_zero)(struct page *page, int nr)
{
	return __page_ref_add_unless_zero(page, nr);
}

noinline bool C_OP(sub_and_test)(struct page *page, int nr)
{
	return __page_ref_sub_and_test(page, nr);
}

noinline bool C_OP(freeze)(struct page *page, int count)
{
	return page_ref_freeze(page, count);
}

noinline void C_OP(unfreeze)(struct page *page, int count)
{
	page_ref_unfreeze(page, count);
}
