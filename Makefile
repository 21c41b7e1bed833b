# SPDX-License-Identifier: GPL-2.0
#
# pageref. Two roles in one file:
#  - Kbuild: in the patched tree this file is mm/pageref/Makefile
#    (scripts/apply copies it there) and builds the Rust module;
#  - the user's entry points, below the else: `make help` lists them.

ifneq ($(KERNELRELEASE),)

obj-$(CONFIG_PAGE_REF_RUST) += rust/page_ref_rust.o
# Modules that take page references call the Rust entry points: export them.
obj-$(CONFIG_PAGE_REF_RUST_KERNEL) += rust/page_ref_exports.o
# The C suite and, with it, the benchmark of C vs Rust (idle unless asked).
obj-$(CONFIG_PAGE_REF_KUNIT_TEST) += kunit/page_ref_kunit.o kunit/page_ref_bench.o
obj-$(CONFIG_PAGE_REF_TORTURE) += harness/page_ref_torture.o

else

ARCH ?= x86_64
KDIR ?=
export ARCH KDIR
# Kernel trees, builds, ccache and cargo targets live here, not in the repo.
CACHE := $(or $(PAGEREF_CACHE),$(HOME)/.cache/pageref)

.PHONY: help setup run test kunit bench race race-matrix clean-cache
help:
	@echo 'pageref: frozen-bit page refcount, its Rust twin and their tests'
	@echo
	@echo '  make run    [ARCH=x86_64|arm64] [KDIR=tree]  setup, get a kernel, apply the'
	@echo '              series, build, boot under QEMU, run the KUnit suites'
	@echo '  make test   [KDIR=tree]  every test: userspace checks and the KUnit suites on'
	@echo '              x86_64 and arm64; ends with "N passed, N failed"'
	@echo '  make setup  install what is missing (Debian 12, root)'
	@echo '  make bench  contention benchmark: CAS loop vs frozen-bit add vs plain add, 1..N threads'
	@echo '  make race   [ARCH=x86_64|arm64] [RACE_ARGS=...]  boot the test kernel with 4 CPUs and'
	@echo '              run the kthread race harness (scripts/race --help)'
	@echo '  make race-matrix [RACE_ARGS=...]  the harness'"'"'s acceptance runs and their table:'
	@echo '              every scenario 60 s, C and Rust, both arches; each broken variant'
	@echo '              5 times on x86_64 (scripts/race-matrix --help)'
	@echo '  make clean-cache  remove trees, builds and ccache ($(CACHE))'

setup:
	scripts/setup

run:
	scripts/run --arch $(ARCH)

test:
	scripts/run --userspace --lint --arch x86_64 --arch arm64

bench:
	cd rust/verify && CARGO_TARGET_DIR="$(CACHE)/cargo/verify" cargo run --release --bin bench

race:
	scripts/race --arch $(ARCH) $(RACE_ARGS)

race-matrix:
	scripts/race-matrix $(RACE_ARGS)

clean-cache:
	rm -rf "$(CACHE)"

endif
