// SPDX-License-Identifier: GPL-2.0

//! r2: put against put. Each round every thread holds a reference to each
//! page and puts it; of the concurrent puts of a page exactly one wins, and
//! its winner sees every put that came before it (the count of puts each
//! thread adds before its put, read after the claim).

use super::{frozen_word, last_put, Barrier};
use crate::pages::OwnPage;
use crate::params::Scenario;
use crate::run::{violation, Engine, Run, Stat, Worker};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Full, Relaxed};

/// One page of the rounds, with the round's counts.
struct RoundPage {
    page: OwnPage,
    /// Last puts that won this round.
    wins: Atomic<i32>,
    /// Puts this round, each added before its put.
    puts: Atomic<i64>,
}

pub(super) struct Rounds {
    pages: KVec<RoundPage>,
    bar: Barrier,
    n: usize,
}

impl Rounds {
    pub(super) fn new(npages: usize, n: usize) -> Result<Self> {
        let mut pages = KVec::with_capacity(npages, GFP_KERNEL)?;
        for _ in 0..npages {
            let p = RoundPage {
                page: OwnPage::new()?,
                wins: Atomic::new(0),
                puts: Atomic::new(0),
            };
            p.page.set_count(n as i32);
            pages.push(p, GFP_KERNEL)?;
        }
        Ok(Self {
            pages,
            bar: Barrier::new(n),
            n,
        })
    }

    /// Thread 0, between rounds while the others wait: one win per page,
    /// each page left free; then the next round's references.
    fn check_round(&self, w: &Worker) {
        let run = &w.run;
        let (ops, _) = w.ops();
        for (i, p) in self.pages.iter().enumerate() {
            let wins = p.wins.load(Relaxed);
            let v = p.page.raw();
            // SAFETY: the harness's page, at rest between rounds.
            let count = unsafe { ops.count(p.page.ptr()) };
            if count != 0 {
                violation!(
                    run,
                    Scenario::R2,
                    "page {} counts {} after its last put, expected 0",
                    i,
                    count
                );
            }
            if wins != 1 {
                violation!(
                    run,
                    Scenario::R2,
                    "page {}: {} last puts won a round, expected 1",
                    i,
                    wins
                );
            }
            if !frozen_word(v) {
                violation!(
                    run,
                    Scenario::R2,
                    "page {} reads {:#x} after its last put: not frozen",
                    i,
                    v
                );
            }
            p.wins.store(0, Relaxed);
            p.puts.store(0, Relaxed);
            p.page.set_count(self.n as i32);
        }
    }
}

impl Engine for Rounds {
    fn work(&self, w: &mut Worker) {
        if !self.bar.wait(w) {
            return;
        }
        let np = self.pages.len();
        for k in 0..np {
            let i = (k + w.id) % np;
            let p = &self.pages[i];
            p.puts.fetch_add(1, Full);
            // SAFETY: the round gave every thread one reference to each page.
            if !unsafe { last_put(w, Scenario::R2, p.page.ptr()) } {
                continue;
            }
            if p.wins.fetch_add(1, Full) != 0 {
                violation!(
                    w.run,
                    Scenario::R2,
                    "page {}: a second last put won in one round",
                    i
                );
                continue;
            }
            let puts = p.puts.load(Relaxed);
            if puts != self.n as i64 {
                violation!(
                    w.run,
                    Scenario::R2,
                    "page {}: the winner sees {} of {} puts",
                    i,
                    puts,
                    self.n
                );
            }
            w.inc(Stat::Frees);
        }
        if !self.bar.wait(w) || w.id != 0 {
            return;
        }
        // The others wait at the next round's barrier.
        self.check_round(w);
    }

    fn finish(&self, _run: &Run) {}
}
