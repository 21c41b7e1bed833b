// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `page_ref_torture`: each scenario briefly with each
//! implementation, which implementation ran, each broken variant caught by
//! the scenario meant to catch it, the bad parameters, the stop-early path.
//!
//! A case that finds a run started at load in progress, or a kernel booted
//! with a broken variant (page_ref_test_variant=NAME: the boots that show
//! the kernel's own checks fail), passes without running: 7.3's Rust KUnit
//! has neither skip nor the speed attribute that would keep the suite out
//! of those boots.

use kernel::prelude::*;

#[kunit_tests(page_ref_torture)]
mod page_ref_torture {
    use crate::algo::Variant;
    use crate::engines;
    use crate::ops::{Which, NR_OPS};
    use crate::params::{check, Cfg, Params, Scenario};
    use crate::report::run_one;
    use crate::run::Outcome;
    use crate::{kthread::KThread, pages, stop_early, Busy, HELD};
    use kernel::prelude::*;
    use kernel::sync::atomic::{Atomic, Relaxed};
    use kernel::sync::Arc;
    use kernel::time::{delay::fsleep, Delta};

    /// The broken variant the kernel was booted with, if any: its C code
    /// is then broken everywhere, and the brief runs, which expect a
    /// correct kernel, are left to the boot's own checks.
    fn booted_broken() -> bool {
        #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
        // SAFETY: an `int` of the core kernel, read as `READ_ONCE()` does.
        let v = unsafe { (&raw const kernel::bindings::page_ref_test_variant).read_volatile() };
        #[cfg(not(CONFIG_PAGE_REF_TEST_VARIANTS))]
        let v = 0;
        v != 0
    }

    /// Runs `sc` for 1.5 s; None if a run is in progress, or if the kernel
    /// was booted with a broken variant.
    fn brief(sc: Scenario, rust: bool, variant: Variant) -> Result<Option<Outcome>> {
        if booted_broken() {
            pr_info!("the kernel runs a broken variant: no brief run\n");
            return Ok(None);
        }
        let Some(_busy) = Busy::take() else {
            return Ok(None);
        };
        let cfg = Cfg::brief(sc, rust, variant, 1500);
        run_one(&cfg, sc).map(Some)
    }

    /// Each scenario, with each implementation: no violation, some
    /// operations, every page back; and only the chosen implementation's
    /// operations: the other one's counters stay at zero for every kind.
    #[test]
    fn every_scenario_clean() -> Result {
        for sc in Scenario::ALL {
            if !engines::exists(sc) && sc != Scenario::Mixed {
                continue;
            }
            for rust in [false, true] {
                if !engines::supported(&Cfg::brief(sc, rust, Variant::Correct, 0), sc) {
                    continue;
                }
                let held = HELD.load(Relaxed);
                let Some(o) = brief(sc, rust, Variant::Correct)? else {
                    return Ok(());
                };
                let (ran, idle) = if rust {
                    (Which::Rust, Which::C)
                } else {
                    (Which::C, Which::Rust)
                };
                pr_info!("{} {}: {} ops\n", sc.name(), ran.name(), o.total_ops());
                assert_eq!(o.violations, 0);
                assert!(o.complete);
                assert!(o.ops[ran as usize].iter().sum::<usize>() > 0);
                for k in 0..NR_OPS {
                    assert_eq!(o.ops[idle as usize][k], 0);
                }
                assert_eq!(o.held, 0);
                assert_eq!(HELD.load(Relaxed), held);
            }
        }
        Ok(())
    }

    /// The kinds of operations a scenario must have run with either
    /// implementation (get, put, claim, freeze, unfreeze): r3 and r4 run
    /// them all but make-ownerless, which r5 runs.
    #[test]
    fn freeze_runs_every_kind() -> Result {
        for rust in [false, true] {
            let Some(o) = brief(Scenario::R4, rust, Variant::Correct)? else {
                return Ok(());
            };
            let w = if rust { Which::Rust } else { Which::C } as usize;
            // get, put, claim, freeze, unfreeze.
            for k in 0..5 {
                assert!(o.ops[w][k] > 0);
            }
        }
        Ok(())
    }

    /// Each broken variant that a scenario of this harness is meant to
    /// catch, with the C and with the Rust code: caught within the run
    /// (but one, below).
    #[test]
    fn broken_variants_caught() -> Result {
        if !cfg!(CONFIG_PAGE_REF_TEST_VARIANTS) || !cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
            return Ok(());
        }
        let cases = [
            (Variant::ClaimWithoutCas, Scenario::R1),
            (Variant::OwnerlessStoresZero, Scenario::R5),
            (Variant::FreezeStoresZero, Scenario::R3),
            (Variant::UnfreezeAdds, Scenario::R4),
            (Variant::NoOverflowGuard, Scenario::R6),
            (Variant::GuardStoresFrozen, Scenario::Guard),
        ];
        // Not stale_claimable (r7b): what catches it is a free of held
        // pages, which corrupts the kernel the suite runs in; scripts/race
        // catches it in a boot of its own.
        for (v, sc) in cases {
            for rust in [false, true] {
                let Some(o) = brief(sc, rust, v)? else {
                    return Ok(());
                };
                pr_info!(
                    "{} {} caught by {}: {} violations, first at {} ms\n",
                    v.name(),
                    if rust { "rust" } else { "c" },
                    sc.name(),
                    o.violations,
                    o.first_ms.unwrap_or(-1)
                );
                assert!(o.violations > 0);
            }
        }
        Ok(())
    }

    /// A run stopped early, as an unload stops it: it ends at once,
    /// incomplete, and every page it held is freed.
    #[test]
    fn stop_early_frees_everything() -> Result {
        if booted_broken() {
            return Ok(());
        }
        let Some(busy) = Busy::take() else {
            return Ok(());
        };
        let held = HELD.load(Relaxed);
        // Every engine, a minute long, with many pages.
        let mut cfg = Cfg::brief(Scenario::Mixed, false, Variant::Correct, 60_000);
        cfg.npages = 512;
        // 0: running, 1: ended complete, 2: ended early, 3: could not run.
        let state = Arc::new(Atomic::new(0), GFP_KERNEL)?;
        let s = state.clone();
        let ctl = KThread::spawn_on(
            pages::online_cpus().nth(0),
            fmt!("prt_stop_test"),
            move |_me| {
                let end = match run_one(&cfg, Scenario::Mixed) {
                    Ok(o) if o.complete => 1,
                    Ok(_) => 2,
                    Err(_) => 3,
                };
                s.store(end, Relaxed);
                drop(busy);
            },
        )?;
        fsleep(Delta::from_millis(500));
        let running = state.load(Relaxed) == 0;
        let holding = HELD.load(Relaxed) - held;
        stop_early(ctl);
        pr_info!("stopped early while holding {} pages\n", holding);
        assert!(running);
        assert!(holding > 0);
        assert_eq!(state.load(Relaxed), 2);
        assert_eq!(HELD.load(Relaxed), held);
        Ok(())
    }

    fn check_bad(p: Params, name: &str) -> bool {
        match check(&p) {
            Ok(_) => false,
            Err(why) => why.param() == name,
        }
    }

    /// Each bad parameter is refused with a message that names it.
    #[test]
    fn bad_params_refused() -> Result {
        let d = Params::DEFAULT;
        assert!(check_bad(Params { variant: 99, ..d }, "variant"));
        assert!(check_bad(Params { nthreads: 1, ..d }, "nthreads"));
        assert!(check_bad(
            Params {
                nthreads: 2000,
                ..d
            },
            "nthreads"
        ));
        assert!(check_bad(Params { npages: 0, ..d }, "npages"));
        assert!(check_bad(Params { npages: 5000, ..d }, "npages"));
        assert!(check_bad(Params { duration: 0, ..d }, "duration"));
        assert!(check_bad(
            Params {
                stat_interval: 3601,
                ..d
            },
            "stat_interval"
        ));
        assert!(check_bad(
            Params {
                delay_ns: 100_001,
                ..d
            },
            "delay_ns"
        ));
        assert!(check_bad(
            Params {
                inject: 1_000_001,
                ..d
            },
            "inject"
        ));
        Ok(())
    }

    /// The defaults, which a load without parameters uses, are good, and
    /// `all` chooses every scenario.
    #[test]
    fn default_params_good() -> Result {
        let cfg = check(&Params {
            all: true,
            ..Params::DEFAULT
        });
        assert!(cfg.is_ok());
        if let Ok(cfg) = cfg {
            for sc in Scenario::ALL {
                assert!(cfg.runs(sc));
            }
        }
        Ok(())
    }
}
