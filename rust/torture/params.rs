// SPDX-License-Identifier: GPL-2.0

//! What a run does: the scenarios, and the module parameters checked into a
//! [`Cfg`]. A bad parameter fails the load with `-EINVAL` and a message
//! that starts with the parameter's name.

use crate::algo::Variant;
use kernel::fmt;
use kernel::prelude::*;

/// A scenario: one engine, or all of them at once (`mixed`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scenario {
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R7b,
    Guard,
    Mixed,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub(crate) const ALL: [Scenario; 10] = [
        Scenario::R1,
        Scenario::R2,
        Scenario::R3,
        Scenario::R4,
        Scenario::R5,
        Scenario::R6,
        Scenario::R7,
        Scenario::R7b,
        Scenario::Guard,
        Scenario::Mixed,
    ];

    /// Its name: that of its module parameter and of its KTAP test.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Scenario::R1 => "r1",
            Scenario::R2 => "r2",
            Scenario::R3 => "r3",
            Scenario::R4 => "r4",
            Scenario::R5 => "r5",
            Scenario::R6 => "r6",
            Scenario::R7 => "r7",
            Scenario::R7b => "r7b",
            Scenario::Guard => "guard",
            Scenario::Mixed => "mixed",
        }
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The module parameters as given, before they are checked.
#[derive(Clone, Copy)]
pub(crate) struct Params {
    /// One flag per scenario, in the order of [`Scenario::ALL`].
    pub(crate) scenarios: [bool; 10],
    pub(crate) all: bool,
    pub(crate) rust: bool,
    pub(crate) variant: u32,
    pub(crate) nthreads: u32,
    pub(crate) npages: u32,
    pub(crate) duration: u32,
    pub(crate) stat_interval: u32,
    pub(crate) delay_ns: u32,
    pub(crate) inject: u32,
    pub(crate) stop_on_violation: bool,
}

impl Params {
    /// The defaults of the module parameters: no scenario.
    pub(crate) const DEFAULT: Params = Params {
        scenarios: [false; 10],
        all: false,
        rust: false,
        variant: 0,
        nthreads: 0,
        npages: 8,
        duration: 10,
        stat_interval: 5,
        delay_ns: 2000,
        inject: 2,
        stop_on_violation: false,
    };
}

/// A checked run configuration.
#[derive(Clone, Copy)]
pub(crate) struct Cfg {
    scenarios: u32,
    /// Run the Rust implementation (else the C one).
    pub(crate) rust: bool,
    pub(crate) variant: Variant,
    nthreads: u32,
    pub(crate) npages: u32,
    pub(crate) duration_ms: u32,
    /// Seconds between stats lines; 0: none.
    pub(crate) stat_interval: u32,
    pub(crate) delay_ns: u32,
    /// One release in this many gets the injected delay; 0: none.
    pub(crate) inject: u32,
    pub(crate) stop_on_violation: bool,
}

impl Cfg {
    /// A short run of one scenario, as the KUnit suite makes them.
    pub(crate) fn brief(sc: Scenario, rust: bool, variant: Variant, ms: u32) -> Self {
        Cfg {
            scenarios: sc.bit(),
            rust,
            variant,
            nthreads: 0,
            npages: 4,
            duration_ms: ms,
            stat_interval: 0,
            delay_ns: 2000,
            inject: 2,
            stop_on_violation: variant != Variant::Correct,
        }
    }

    /// Whether scenario `sc` is to run.
    pub(crate) fn runs(&self, sc: Scenario) -> bool {
        self.scenarios & sc.bit() != 0
    }

    /// Whether any scenario is to run.
    pub(crate) fn any(&self) -> bool {
        self.scenarios != 0
    }

    /// Threads per scenario: as asked, or one per online CPU, at least 2.
    pub(crate) fn threads(&self) -> usize {
        match self.nthreads {
            0 => crate::pages::online_cpus().count().max(2),
            n => n as usize,
        }
    }
}

/// Why the parameters are bad; printed, a message that starts with the
/// parameter's name and value.
pub(crate) enum Why {
    /// A number out of its range: name, value, lowest, highest.
    Range(&'static str, u32, u32, u32),
    /// `variant=` names no variant.
    NoVariant(u32),
    /// A broken variant, in a kernel without `CONFIG_PAGE_REF_TEST_VARIANTS`.
    NoTestVariants(u32),
    /// A broken variant, in a kernel of the classic scheme.
    NoFrozenBit(u32),
}

impl Why {
    /// The name of the bad parameter.
    pub(crate) fn param(&self) -> &'static str {
        match self {
            Why::Range(name, ..) => name,
            _ => "variant",
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Range(name, v, min, max) => {
                write!(f, "{}={}: out of range {}..{}", name, v, min, max)
            }
            Why::NoVariant(v) => {
                write!(f, "variant={}: no such variant (have", v)?;
                for (i, v) in Variant::ALL.iter().enumerate() {
                    write!(f, " {}={}", i, v.name())?;
                }
                f.write_str(")")
            }
            Why::NoTestVariants(v) => write!(
                f,
                "variant={}: this kernel has no CONFIG_PAGE_REF_TEST_VARIANTS",
                v
            ),
            Why::NoFrozenBit(v) => write!(
                f,
                "variant={}: the broken variants are of the frozen bit, which this kernel does not have",
                v
            ),
        }
    }
}

fn in_range(name: &'static str, v: u32, min: u32, max: u32) -> Result<u32, Why> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Why::Range(name, v, min, max))
    }
}

/// Checks the parameters.
pub(crate) fn check(p: &Params) -> Result<Cfg, Why> {
    let mut scenarios = 0;
    for (sc, on) in Scenario::ALL.iter().zip(p.scenarios) {
        if on || p.all {
            scenarios |= sc.bit();
        }
    }
    let variant = match Variant::ALL.get(p.variant as usize) {
        Some(v) => *v,
        None => return Err(Why::NoVariant(p.variant)),
    };
    if variant != Variant::Correct && !cfg!(CONFIG_PAGE_REF_TEST_VARIANTS) {
        return Err(Why::NoTestVariants(p.variant));
    }
    if variant != Variant::Correct && !cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
        return Err(Why::NoFrozenBit(p.variant));
    }
    if p.nthreads != 0 {
        in_range("nthreads", p.nthreads, 2, 1024)?;
    }
    Ok(Cfg {
        scenarios,
        rust: p.rust,
        variant,
        nthreads: p.nthreads,
        npages: in_range("npages", p.npages, 1, 4096)?,
        duration_ms: in_range("duration", p.duration, 1, 86400)? * 1000,
        stat_interval: in_range("stat_interval", p.stat_interval, 0, 3600)?,
        delay_ns: in_range("delay_ns", p.delay_ns, 0, 100_000)?,
        inject: in_range("inject", p.inject, 0, 1_000_000)?,
        stop_on_violation: p.stop_on_violation,
    })
}
