# SPDX-License-Identifier: GPL-2.0
#
# pageref. Two roles in one file:
#  - Kbuild: in the patched tree this file is mm/pageref/Makefile
#    (scripts/apply copies it there) and builds the Rust module;
#  - the user's entry points, below the else: `make help` lists them.

ifneq ($(KERNELRELEASE),)

obj-$(CONFIG_PAGE_REF_RUST) += rust/page_ref_rust.o
obj-$(CONFIG_PAGE_REF_KUNIT_TEST) += kunit/page_ref_kunit.o

else

ARCH ?= x86_64
KDIR ?=
export ARCH KDIR

.PHONY: help setup run test kunit clean-cache
help:
	@echo 'pageref: frozen-bit page refcount, its Rust twin and their tests'
	@echo
	@echo '  make run    [ARCH=x86_64|arm64] [KDIR=tree]  setup, get a kernel, apply the'
	@echo '              series, build, boot under QEMU, run the KUnit suites'
	@echo '  make test   [KDIR=tree]  every test: userspace checks and the KUnit suites on'
	@echo '              x86_64 and arm64; ends with "N passed, N failed"'
	@echo '  make setup  install what is missing (Debian 12, root)'
	@echo '  make clean-cache  remove trees, builds and ccache ($(or $(PAGEREF_CACHE),~/.cache/pageref))'

setup:
	scripts/setup

run:
	scripts/run --arch $(ARCH)

test:
	scripts/run --userspace --lint --arch x86_64 --arch arm64

clean-cache:
	rm -rf "$(or $(PAGEREF_CACHE),$(HOME)/.cache/pageref)"

endif
