//! The two userspace [`RefAtomic`] backends: loom's atomics for the models,
//! std's for the benchmark.

use crate::algo::{Order, RefAtomic};
use loom::sync::atomic::{fence as loom_fence, AtomicU32 as LoomAtomicU32};
use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release, SeqCst};

/// A word of `BITS` bits over a loom atomic, for the models.
///
/// The word lives in the top `BITS` bits of a `u32` (the others stay zero),
/// so that loom's native wrapping `fetch_add`/`fetch_sub` wrap it modulo
/// `2^BITS` in one atomic step, as a real `BITS`-bit word would, and
/// `compare_exchange` compares exactly its `BITS` bits.
///
/// Fully ordered ([`Order::Full`]) is `fence(SeqCst)`, the operation relaxed,
/// `fence(SeqCst)`: the Linux kernel memory model defines a fully ordered
/// operation as one with `smp_mb()` right before and right after it. A Rust
/// `SeqCst` read-modify-write would not do: it orders only against other
/// `SeqCst` operations, not against the relaxed and plain accesses around it
/// (a store-buffering test with it in one thread may still see both old
/// values), and loom itself treats `SeqCst` accesses as `AcqRel`. Loom does
/// model `fence(SeqCst)` as a strong fence: the fences form one total order
/// and each sees everything that came before any earlier one, which is what
/// `smp_mb()` promises.
///
/// The stores (`atomic_set()`, `atomic_set_release()`) are swaps whose result
/// is dropped. Loom 0.7 does not order a plain store after a concurrent
/// read-modify-write that already read the value before it, so a later load or
/// read-modify-write may read "around" the store, which atomicity forbids
/// (tokio-rs/loom#254): R4, R5 and R7 fail spuriously with plain stores. A
/// swap takes its place in the modification order where the store would; it
/// differs only in continuing release sequences that a store would end, and in
/// these models the sequences it could continue are headed by the storing
/// thread itself or by code before the threads were spawned, so it adds no
/// happens-before edge the real store lacks.
///
/// A failed fully ordered `cmpxchg` has run the leading fence, an ordering the
/// kernel does not promise (a failed `cmpxchg` is unordered). It cannot hide a
/// bug here: no code path of the algorithm acts on what a failed `cmpxchg`
/// orders; the loops retry with the value it returned, a failed freeze
/// returns false.
pub struct LoomWord<const BITS: u32>(LoomAtomicU32);

impl<const BITS: u32> LoomWord<BITS> {
    const SHIFT: u32 = 32 - BITS;

    /// A new word holding `v`.
    pub fn new(v: u32) -> Self {
        Self(LoomAtomicU32::new(v << Self::SHIFT))
    }
}

/// The std ordering of an acquire, release or relaxed operation; a fully
/// ordered one is relaxed between the fences its caller adds.
fn ordering(order: Order) -> Ordering {
    match order {
        Order::Acquire => Acquire,
        Order::Release => Release,
        Order::Relaxed | Order::Full => Relaxed,
    }
}

/// `op` with `order`: fully ordered is `fence(SeqCst)`, `op` relaxed,
/// `fence(SeqCst)`.
fn loom_rmw<R>(order: Order, op: impl FnOnce(Ordering) -> R) -> R {
    if order == Order::Full {
        loom_fence(SeqCst);
        let r = op(Relaxed);
        loom_fence(SeqCst);
        r
    } else {
        op(ordering(order))
    }
}

impl<const BITS: u32> RefAtomic for LoomWord<BITS> {
    const BITS: u32 = BITS;

    fn read(&self) -> u32 {
        self.0.load(Relaxed) >> Self::SHIFT
    }

    fn set(&self, v: u32) {
        self.0.swap(v << Self::SHIFT, Relaxed);
    }

    fn set_release(&self, v: u32) {
        self.0.swap(v << Self::SHIFT, Release);
    }

    fn add_return(&self, i: u32, order: Order) -> u32 {
        let d = i << Self::SHIFT;
        loom_rmw(order, |o| self.0.fetch_add(d, o)).wrapping_add(d) >> Self::SHIFT
    }

    fn sub_return(&self, i: u32, order: Order) -> u32 {
        let d = i << Self::SHIFT;
        loom_rmw(order, |o| self.0.fetch_sub(d, o)).wrapping_sub(d) >> Self::SHIFT
    }

    fn cmpxchg(&self, old: u32, new: u32, order: Order) -> u32 {
        let (old, new) = (old << Self::SHIFT, new << Self::SHIFT);
        let found = if order == Order::Full {
            loom_fence(SeqCst);
            let r = self.0.compare_exchange(old, new, Relaxed, Relaxed);
            // Ordered only when it succeeds.
            if r.is_ok() {
                loom_fence(SeqCst);
            }
            r
        } else {
            self.0.compare_exchange(old, new, ordering(order), Relaxed)
        };
        found.unwrap_or_else(|v| v) >> Self::SHIFT
    }
}

/// A 32-bit word over a std atomic, for the benchmark.
///
/// On x86_64 a fully ordered operation is the `SeqCst` read-modify-write,
/// which compiles to a `lock`-prefixed instruction, a full barrier for all
/// memory accesses: exactly what the kernel's x86 `atomic_add_return()` and
/// `atomic_cmpxchg()` are. Elsewhere it is the loom backend's
/// fence-operation-fence, correct but dearer than the kernel's (arm64 uses
/// `ldaddal`/`casal` or an LL/SC loop with one trailing `dmb ish`).
pub struct StdWord(std::sync::atomic::AtomicU32);

impl StdWord {
    /// A new word holding `v`.
    pub const fn new(v: u32) -> Self {
        Self(std::sync::atomic::AtomicU32::new(v))
    }

    /// The plain atomic increment the benchmark uses as its floor: `lock xadd`
    /// on x86_64, `atomic_inc()`.
    #[inline]
    pub fn inc_relaxed(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// The plain atomic decrement of the floor: `lock xadd` on x86_64,
    /// `atomic_dec()`.
    #[inline]
    pub fn dec_relaxed(&self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

#[inline(always)]
fn std_rmw<R>(order: Order, op: impl FnOnce(Ordering) -> R) -> R {
    match order {
        #[cfg(target_arch = "x86_64")]
        Order::Full => op(SeqCst),
        #[cfg(not(target_arch = "x86_64"))]
        Order::Full => {
            std::sync::atomic::fence(SeqCst);
            let r = op(Relaxed);
            std::sync::atomic::fence(SeqCst);
            r
        }
        other => op(ordering(other)),
    }
}

impl RefAtomic for StdWord {
    const BITS: u32 = 32;

    #[inline]
    fn read(&self) -> u32 {
        self.0.load(Relaxed)
    }

    #[inline]
    fn set(&self, v: u32) {
        self.0.store(v, Relaxed);
    }

    #[inline]
    fn set_release(&self, v: u32) {
        self.0.store(v, Release);
    }

    #[inline]
    fn add_return(&self, i: u32, order: Order) -> u32 {
        std_rmw(order, |o| self.0.fetch_add(i, o)).wrapping_add(i)
    }

    #[inline]
    fn sub_return(&self, i: u32, order: Order) -> u32 {
        std_rmw(order, |o| self.0.fetch_sub(i, o)).wrapping_sub(i)
    }

    #[inline]
    fn cmpxchg(&self, old: u32, new: u32, order: Order) -> u32 {
        // A failed exchange is unordered, as the kernel's.
        std_rmw(order, |o| self.0.compare_exchange(old, new, o, Relaxed)).unwrap_or_else(|v| v)
    }
}
