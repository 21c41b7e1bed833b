// SPDX-License-Identifier: GPL-2.0
/* The C page refcount operations of the variant correct, never inlined. */
#define PAGE_REF_C_INSTANCE correct
#define PAGE_REF_TEST_VARIANT_FIXED PAGE_REF_CORRECT
#include "page_ref_c_instances.c"
