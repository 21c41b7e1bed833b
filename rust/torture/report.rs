// SPDX-License-Identifier: GPL-2.0

//! A run of every scenario the parameters chose, with its results as KTAP:
//! one test per scenario (ok: no violation), then `pages` (ok: the harness
//! holds no page and gave none up). Each test is preceded by diagnostic
//! lines (`# ...`): the stats, the operations by implementation, the first
//! violation's time.

use crate::algo::{PageRefOps, Variant};
use crate::ops::{COps, RefOps, RustOps, Which, OP_NAMES};
use crate::params::{Cfg, Scenario};
use crate::run::{run_scenario, Outcome};
use crate::{engines, HELD, LEAKED};
use kernel::prelude::*;
use kernel::sync::atomic::Relaxed;

/// The scheme this kernel runs.
pub(crate) const fn scheme() -> &'static str {
    if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
        "frozen"
    } else {
        "classic"
    }
}

/// The kernel's C variant, set for the duration of a run of the C code and
/// put back when dropped.
struct CVariant {
    #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
    saved: i32,
}

impl CVariant {
    fn set(_v: Variant) -> Self {
        #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
        {
            let p = &raw mut kernel::bindings::page_ref_test_variant;
            // SAFETY: `page_ref_test_variant` is an `int` of the core kernel,
            // read with `READ_ONCE()` and written with `WRITE_ONCE()`, which
            // volatile accesses are. `Variant::ALL` and the C enum list the
            // variants in the same order.
            let saved = unsafe { p.read_volatile() };
            let new = Variant::ALL.iter().position(|x| *x == _v).unwrap_or(0) as i32;
            // SAFETY: as above.
            unsafe { p.write_volatile(new) };
            Self { saved }
        }
        #[cfg(not(CONFIG_PAGE_REF_TEST_VARIANTS))]
        Self {}
    }
}

impl Drop for CVariant {
    fn drop(&mut self) {
        #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
        // SAFETY: as in `set`.
        unsafe {
            (&raw mut kernel::bindings::page_ref_test_variant).write_volatile(self.saved)
        };
    }
}

/// The implementation `cfg` chose.
pub(crate) fn ops_of(cfg: &Cfg) -> Result<KBox<dyn RefOps>> {
    if !cfg.rust {
        return Ok(KBox::new(COps, GFP_KERNEL)?);
    }
    let ops = if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
        PageRefOps::frozen_bit(cfg.variant)
    } else {
        PageRefOps::classic()
    };
    Ok(KBox::new(RustOps(ops), GFP_KERNEL)?)
}

/// Runs scenario `sc` of `cfg`, with the kernel's variant set if the
/// kernel's code runs: the C code, or r7b's calls of the kernel, whose Rust
/// implementation reads the same variant.
pub(crate) fn run_one(cfg: &Cfg, sc: Scenario) -> Result<Outcome> {
    let ops = ops_of(cfg)?;
    let kernel = ops.which() == Which::C || matches!(sc, Scenario::R7b | Scenario::Mixed);
    let _variant = kernel.then(|| CVariant::set(cfg.variant));
    run_scenario(cfg, sc, ops)
}

/// The diagnostic line of a scenario's result.
fn print_outcome(cfg: &Cfg, sc: Scenario, o: &Outcome) {
    let imp = if cfg.rust { Which::Rust } else { Which::C };
    pr_info!(
        "# {}: impl={} scheme={} variant={} ops={} violations={} first_violation_ms={} complete={}\n",
        sc.name(),
        imp.name(),
        scheme(),
        cfg.variant.name(),
        o.total_ops(),
        o.violations,
        o.first_ms.unwrap_or(-1),
        o.complete
    );
    for which in Which::ALL {
        for (n, name) in o.ops[which as usize].iter().zip(OP_NAMES) {
            if *n != 0 {
                pr_info!("# {}: {}.{}={}\n", sc.name(), which.name(), name, n);
            }
        }
    }
}

/// Every scenario of `cfg`, in turn, as one KTAP document.
pub(crate) fn run_all(cfg: &Cfg) {
    let n = Scenario::ALL.iter().filter(|sc| cfg.runs(**sc)).count();
    pr_info!("KTAP version 1\n");
    pr_info!("1..{}\n", n + 1);
    pr_info!(
        "# page_ref_torture: impl={} scheme={} variant={} nthreads={} npages={} duration_ms={} delay_ns={} inject={}\n",
        if cfg.rust { "rust" } else { "c" },
        scheme(),
        cfg.variant.name(),
        cfg.threads(),
        cfg.npages,
        cfg.duration_ms,
        cfg.delay_ns,
        cfg.inject
    );
    let mut t = 0;
    for sc in Scenario::ALL.iter().copied().filter(|sc| cfg.runs(*sc)) {
        t += 1;
        if crate::aborting() {
            pr_info!("ok {} {} # SKIP the run was stopped\n", t, sc.name());
            continue;
        }
        if !engines::exists(sc) && sc != Scenario::Mixed {
            pr_info!(
                "ok {} {} # SKIP not in the Rust harness yet\n",
                t,
                sc.name()
            );
            continue;
        }
        if !engines::supported(cfg, sc) {
            pr_info!(
                "ok {} {} # SKIP the kernel cannot run its own get and put in Rust\n",
                t,
                sc.name()
            );
            continue;
        }
        match run_one(cfg, sc) {
            Ok(o) => {
                print_outcome(cfg, sc, &o);
                let ok = if o.violations == 0 { "ok" } else { "not ok" };
                pr_info!("{} {} {}\n", ok, t, sc.name());
            }
            Err(e) => {
                pr_info!("# {}: could not run: error {}\n", sc.name(), e.to_errno());
                pr_info!("not ok {} {}\n", t, sc.name());
            }
        }
    }
    let held = HELD.load(Relaxed);
    let leaked = LEAKED.load(Relaxed);
    pr_info!("# pages: held={} leaked={}\n", held, leaked);
    let ok = if held == 0 && leaked == 0 {
        "ok"
    } else {
        "not ok"
    };
    pr_info!("{} {} pages\n", ok, n + 1);
}
