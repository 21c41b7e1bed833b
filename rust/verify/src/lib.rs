//! Userspace verification of the page refcount algorithm: loom models of the
//! races of `docs/races.md` over the very source the kernel module compiles
//! (`rust/algo/page_ref_algo.rs`), and a contention benchmark.

#![warn(missing_docs)]

#[path = "../../algo/page_ref_algo.rs"]
pub mod algo;

pub mod models;
pub mod r7b;
pub mod word;
