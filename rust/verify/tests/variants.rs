//! Every broken variant fails at least one model, and exactly the models
//! `rust/verify/README.md` names: each test runs all models (two threads) on
//! one variant and compares the set that fails. A model that no variant makes
//! fail is itself a failing test (`every_variant_is_caught_and_every_model_can_fail`).

use page_ref_verify::algo::{PageRefOps, Variant};
use page_ref_verify::models;

/// The models that catch each broken variant.
const CAUGHT_BY: [(Variant, &[&str]); 16] = [
    (
        Variant::ClaimWithoutCas,
        &[
            "r1_try_get_vs_last_put",
            "r1_with_page_data",
            "r5_ownerless_pages",
            "r7_stale_claim_across_reuse",
            "r8_dec_return_callers",
            "r10_inc_ownerless",
        ],
    ),
    (
        Variant::RelaxedClaim,
        &["r1_with_page_data", "r7_stale_claim_across_reuse"],
    ),
    (
        Variant::OwnerlessStoresZero,
        &["r5_ownerless_pages", "r10_inc_ownerless"],
    ),
    (Variant::NoOverflowGuard, &["r6_overflow_guard"]),
    (
        Variant::FreezeStoresZero,
        &[
            "r3_try_get_vs_freeze",
            "r4_try_get_vs_unfreeze",
            "r6_overflow_guard",
        ],
    ),
    (
        Variant::UnfreezeAdds,
        &["r4_try_get_vs_unfreeze", "r6_guard_vs_unfreeze"],
    ),
    (Variant::IncOwnerlessAdds, &["r10_inc_ownerless"]),
    (Variant::AcquireTryGet, &["try_get_is_fully_ordered"]),
    (
        Variant::RelaxedTryGet,
        &["r4_try_get_vs_unfreeze", "try_get_is_fully_ordered"],
    ),
    (Variant::ReleasePut, &["put_is_fully_ordered"]),
    (
        Variant::RelaxedPut,
        &[
            "r1_with_page_data",
            "r2_put_vs_put",
            "r3_try_get_vs_freeze",
            "r5_ownerless_pages",
            "r7_stale_claim_across_reuse",
            "r7b_stale_claim_on_free_pages",
            "put_is_fully_ordered",
        ],
    ),
    (Variant::AcquireFreeze, &["freeze_is_fully_ordered"]),
    (
        Variant::RelaxedFreeze,
        &["r3_try_get_vs_freeze", "freeze_is_fully_ordered"],
    ),
    (Variant::RelaxedUnfreeze, &["r4_try_get_vs_unfreeze"]),
    (Variant::StaleClaimable, &["r7b_stale_claim_on_free_pages"]),
    (Variant::GuardStoresFrozen, &["r6_guard_vs_unfreeze"]),
];

/// Runs every model on `variant` and checks that exactly the expected ones
/// fail.
fn check(variant: Variant) {
    let expected = CAUGHT_BY
        .iter()
        .find(|(v, _)| *v == variant)
        .map(|(_, m)| m.to_vec())
        .unwrap_or_default();
    let failing = models::failing(PageRefOps::frozen_bit(variant));
    println!("{variant:?} is caught by {failing:?}");
    assert!(!failing.is_empty(), "no model catches {variant:?}");
    assert_eq!(failing, expected, "the models that catch {variant:?}");
}

#[test]
fn correct_passes_every_model() {
    assert_eq!(
        models::failing(PageRefOps::frozen_bit(Variant::Correct)),
        Vec::<&str>::new()
    );
    assert_eq!(models::failing(PageRefOps::classic()), Vec::<&str>::new());
}

/// Every broken variant has a model that catches it, and every model
/// catches a variant: no model is one that cannot fail.
#[test]
fn every_variant_is_caught_and_every_model_can_fail() {
    for variant in Variant::ALL.into_iter().skip(1) {
        let row = CAUGHT_BY.iter().find(|(v, _)| *v == variant);
        assert!(
            row.is_some_and(|(_, m)| !m.is_empty()),
            "{variant:?} has no model"
        );
    }
    for (_, names) in CAUGHT_BY {
        for name in names {
            assert!(
                models::ALL.iter().any(|(n, _)| n == name),
                "no model {name}"
            );
        }
    }
    for (name, _) in models::ALL {
        assert!(
            CAUGHT_BY.iter().any(|(_, m)| m.contains(&name)),
            "model {name} catches no variant"
        );
    }
}

#[test]
fn claim_without_cas_is_caught() {
    check(Variant::ClaimWithoutCas);
}

#[test]
fn relaxed_claim_is_caught() {
    check(Variant::RelaxedClaim);
}

#[test]
fn ownerless_stores_zero_is_caught() {
    check(Variant::OwnerlessStoresZero);
}

#[test]
fn no_overflow_guard_is_caught() {
    check(Variant::NoOverflowGuard);
}

#[test]
fn freeze_stores_zero_is_caught() {
    check(Variant::FreezeStoresZero);
}

#[test]
fn unfreeze_adds_is_caught() {
    check(Variant::UnfreezeAdds);
}

#[test]
fn inc_ownerless_adds_is_caught() {
    check(Variant::IncOwnerlessAdds);
}

#[test]
fn acquire_try_get_is_caught() {
    check(Variant::AcquireTryGet);
}

#[test]
fn relaxed_try_get_is_caught() {
    check(Variant::RelaxedTryGet);
}

#[test]
fn release_put_is_caught() {
    check(Variant::ReleasePut);
}

#[test]
fn relaxed_put_is_caught() {
    check(Variant::RelaxedPut);
}

#[test]
fn acquire_freeze_is_caught() {
    check(Variant::AcquireFreeze);
}

#[test]
fn relaxed_freeze_is_caught() {
    check(Variant::RelaxedFreeze);
}

#[test]
fn relaxed_unfreeze_is_caught() {
    check(Variant::RelaxedUnfreeze);
}

#[test]
fn stale_claimable_is_caught() {
    check(Variant::StaleClaimable);
}

#[test]
fn guard_stores_frozen_is_caught() {
    check(Variant::GuardStoresFrozen);
}
