// SPDX-License-Identifier: GPL-2.0
/* The C page refcount operations of the variant relaxed_claim, never inlined. */
#define PAGE_REF_C_INSTANCE relaxed_claim
#define PAGE_REF_TEST_VARIANT_FIXED PAGE_REF_RELAXED_CLAIM
#include "page_ref_c_instances.c"
