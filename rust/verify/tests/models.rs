//! Every model passes for both correct schemes, the frozen bit
//! (`PageRefOps::frozen_bit(Variant::Correct)`) and the classic CAS loop,
//! with two threads and with three. Each test prints the executions loom
//! explored (`cargo test --release -- --nocapture`).

use page_ref_verify::algo::{PageRefOps, Variant};
use page_ref_verify::models::{self, Caller, FullOp};
use page_ref_verify::r7b;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Instant;

const FROZEN_BIT: PageRefOps = PageRefOps::frozen_bit(Variant::Correct);
const CLASSIC: PageRefOps = PageRefOps::classic();

/// Runs `model` for both correct schemes, with two threads and three, and
/// prints the executions explored and the time taken.
fn both(name: &str, model: impl Fn(PageRefOps, usize) -> usize) {
    each(name, &[2, 3], model);
}

/// As [`both`], with the thread counts given.
fn each(name: &str, thread_counts: &[usize], model: impl Fn(PageRefOps, usize) -> usize) {
    for &threads in thread_counts {
        for ops in [FROZEN_BIT, CLASSIC] {
            let start = Instant::now();
            let n = model(ops, threads);
            println!(
                "{name}, {:?}, {threads} threads: {n} executions, {:.2?}",
                ops.scheme(),
                start.elapsed()
            );
        }
    }
}

#[test]
fn r1_try_get_vs_last_put() {
    both("r1", models::r1_try_get_vs_last_put);
}

#[test]
fn r1_with_page_data() {
    both("r1 data", models::r1_with_page_data);
}

#[test]
fn r2_put_vs_put() {
    both("r2", models::r2_put_vs_put);
}

#[test]
fn r3_try_get_vs_freeze() {
    both("r3", models::r3_try_get_vs_freeze);
}

#[test]
fn r4_try_get_vs_unfreeze() {
    both("r4", models::r4_try_get_vs_unfreeze);
}

#[test]
fn r10_inc_ownerless() {
    both("r10", models::r10_inc_ownerless);
}

#[test]
fn r5_ownerless_pages() {
    both("r5", models::r5_ownerless_pages);
}

/// Two threads adding 2, three adding 1: the most the 4-bit word's guard
/// leaves room for.
#[test]
fn r6_overflow_guard() {
    both("r6", |ops, threads| {
        models::r6_overflow_guard(ops, threads, if threads == 2 { 2 } else { 1 })
    });
}

/// The guard's margin is exact: with one add more in flight than it leaves
/// room for (two threads adding 3, or three adding 2, over a guard of 4 in a
/// 4-bit word) the frozen bit can be carried away even with the guard; and the
/// three-thread bound is enough to find it.
#[test]
fn r6_guard_margin_is_exact() {
    assert!(models::fails(|| {
        models::r6_overflow_guard(FROZEN_BIT, 2, 3);
    }));
    assert!(models::fails(|| {
        models::r6_overflow_guard(FROZEN_BIT, 3, 2);
    }));
}

#[test]
fn r6_guard_vs_unfreeze() {
    both("r6 vs unfreeze", models::r6_guard_vs_unfreeze);
}

#[test]
fn r7_stale_claim_across_reuse() {
    both("r7", |ops, threads| {
        models::r7_stale_claim_across_reuse(ops, threads, Arc::new(AtomicUsize::new(0)))
    });
}

/// What can happen in R7: the put that took incarnation 1 to zero wins the
/// claim of incarnation 2 and frees it, once, as the model checks. The
/// classic scheme has no claim, so it cannot.
#[test]
fn r7_stale_claim_can_win_the_next_incarnation() {
    let stale = Arc::new(AtomicUsize::new(0));
    let n = models::r7_stale_claim_across_reuse(FROZEN_BIT, 2, stale.clone());
    let won = stale.load(SeqCst);
    println!("r7: the stale claim won in {won} of {n} executions");
    assert!(won > 0);

    let stale = Arc::new(AtomicUsize::new(0));
    models::r7_stale_claim_across_reuse(CLASSIC, 2, stale.clone());
    assert_eq!(stale.load(SeqCst), 0);
}

#[test]
fn r7b_stale_claim_on_free_pages() {
    both("r7b", |ops, threads| {
        let split = Arc::new(AtomicUsize::new(0));
        let n = r7b::r7b_stale_claim_on_free_pages(ops, threads, split.clone());
        // The reuse the model is about ran: the block was split and
        // reallocated in some executions.
        assert!(split.load(SeqCst) > 0);
        n
    });
}

/// The fix is what makes R7b pass: with the put that decrements and then
/// claims (the code before it), the owner's late claim frees the split
/// block's second page under its new owner.
#[test]
fn r7b_fails_without_the_fix() {
    let ops = PageRefOps::frozen_bit(Variant::StaleClaimable);
    let msg = models::failure(|| {
        r7b::r7b_stale_claim_on_free_pages(ops, 2, Default::default());
    })
    .expect("R7b passes without the fix");
    println!("r7b without the fix: {msg}");
    assert!(msg.contains("page 1 freed (order 1) while held"), "{msg}");
}

#[test]
fn r8_dec_return_callers() {
    both("r8", |ops, threads| {
        models::r8_dec_return_callers(ops, threads, Caller::SubAndTest)
    });
}

/// A 0 from `sub_return()` means "I may free" in the classic scheme only.
#[test]
fn r8_zero_from_sub_return_is_not_a_free_with_the_frozen_bit() {
    models::r8_dec_return_callers(CLASSIC, 2, Caller::ZeroFromSubReturn);
    assert!(models::fails(|| {
        models::r8_dec_return_callers(FROZEN_BIT, 2, Caller::ZeroFromSubReturn);
    }));
}

#[test]
fn try_get_is_fully_ordered() {
    each("try-get full", &[2], |ops, _| {
        models::fully_ordered(ops, FullOp::TryGet)
    });
}

#[test]
fn put_is_fully_ordered() {
    each("put full", &[2], |ops, _| {
        models::fully_ordered(ops, FullOp::Put)
    });
}

#[test]
fn freeze_is_fully_ordered() {
    each("freeze full", &[2], |ops, _| {
        models::fully_ordered(ops, FullOp::Freeze)
    });
}
