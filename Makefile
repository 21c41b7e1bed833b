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
# The replay of the stale claim (R7b) needs the test series' window.
ifdef CONFIG_PAGE_REF_KUNIT_TEST
obj-$(CONFIG_PAGE_REF_TEST_VARIANTS) += kunit/page_ref_r7b_kunit.o
endif
obj-$(CONFIG_PAGE_REF_TORTURE) += rust/torture/page_ref_torture.o

# The C operations as never-inlined functions, once per variant, for the
# machine-code check (scripts/disasm-check); the correct ones are linked in
# for the benchmark too, the broken ones are built and never linked.
obj-$(CONFIG_PAGE_REF_TEST_VARIANTS) += kunit/page_ref_c_correct.o
always-$(CONFIG_PAGE_REF_TEST_VARIANTS) += kunit/page_ref_c_relaxed_claim.o
# The Rust instances' shape in C, over the Rust atomic helpers (benchmark).
ifdef CONFIG_RUST
obj-$(CONFIG_PAGE_REF_TEST_VARIANTS) += kunit/page_ref_c_via_helpers.o
endif

else

ARCH ?= x86_64
KDIR ?=
export ARCH KDIR
# Kernel trees, builds, ccache and cargo targets live here, not in the repo.
CACHE := $(or $(PAGEREF_CACHE),$(HOME)/.cache/pageref)

.PHONY: help setup run test test-all kunit bench perf race race-matrix clean-cache
help:
	@echo 'pageref: frozen-bit page refcount, its Rust twin and their tests'
	@echo
	@echo '  make run    [ARCH=x86_64|arm64] [KDIR=tree]  setup, get a kernel, apply the'
	@echo '              series, build the classic and the frozen-test kernel, boot them'
	@echo '              under QEMU, run the KUnit suites and the checks'
	@echo '  make test   [KDIR=tree]  the tests: userspace checks, lint, and the kernels of'
	@echo '              kunit/configs/default.list (three); ends with "N passed, N failed"'
	@echo '  make test-all [KDIR=tree]  the same over every configuration on both arches'
	@echo '              (kunit/configs/all.list, eight kernels)'
	@echo '  make setup  install what is missing (Debian 12, root)'
	@echo '  make bench  userspace benchmark: gets, get+put pairs and the last put, classic vs'
	@echo '              frozen bit vs plain adds, 1..N threads; CSVs and plots in $(CACHE)/results/bench'
	@echo '  make perf   [ARCH=x86_64|arm64] [PERF_ARGS=...]  the benchmarks: make bench, then the read'
	@echo '              storm and the cost on free in guests of the classic, frozen-bit and Rust'
	@echo '              kernels (TCG); one table of ratios, CSVs and plots (scripts/perf --help)'
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
	scripts/run --userspace --lint --list kunit/configs/default.list

test-all:
	scripts/run --userspace --lint --list kunit/configs/all.list

bench:
	cd rust/verify && CARGO_TARGET_DIR="$(CACHE)/cargo/verify" \
		cargo run --release --bin bench -- --out "$(CACHE)/results/bench"
	scripts/plot "$(CACHE)"/results/bench/userspace-*.csv

perf:
	scripts/perf --arch $(ARCH) $(PERF_ARGS)

race:
	scripts/race --arch $(ARCH) $(RACE_ARGS)

race-matrix:
	scripts/race-matrix $(RACE_ARGS)

clean-cache:
	rm -rf "$(CACHE)"

endif
