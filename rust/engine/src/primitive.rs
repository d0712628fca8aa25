//! Atomics, cells and thread parking the engine's shared structures are built on, swapped for
//! loom's under `cfg(loom)` so the model checker sees every access (the same trick as
//! crossbeam-epoch's `primitive`).

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
    }
}

/// `UnsafeCell` with loom's closure API, so the model checker also sees plain reads and
/// writes of the queue and ring slots (crossbeam-epoch does the same).
pub(crate) mod cell {
    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    /// Zero-cost stand-in for `loom::cell::UnsafeCell` outside the model checker.
    #[cfg(not(loom))]
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(core::cell::UnsafeCell::new(value))
        }
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Thread handles and parking: std's, or loom's under the model checker (which then sees
/// every park and unpark, and reports a park that nothing ever unparks as a deadlock).
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park_timeout, Thread, ThreadId};

    #[cfg(loom)]
    pub(crate) use loom::thread::{current, Thread, ThreadId};

    /// Loom has no clock, so a timed park is modelled as a park whose timeout never fires.
    /// That is the strict choice: every caller must be woken by an `unpark`, and a wake-up
    /// the protocol can miss shows as a deadlock instead of being papered over by the
    /// timeout (modelling it as a yield would hide exactly that). Code whose progress *relies*
    /// on the timeout (a waiter that is not the registered one, which polls) deadlocks under
    /// loom and is not modelled.
    #[cfg(loom)]
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::park();
    }
}

/// Deliberate weakenings of the engine's orderings, for `make loom-mutants`: each one is
/// switched on by naming it in `LFT_LOOM_MUTANT` in a loom build, and the loom models must
/// then fail. Outside loom [`mutant::active`] is a constant `false`, so it costs nothing.
pub(crate) mod mutant {
    /// Whether the weakening `name` is switched on (never outside loom).
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn active(_name: &str) -> bool {
        false
    }

    /// Whether the weakening `name` is switched on: `LFT_LOOM_MUTANT` names it.
    #[cfg(loom)]
    pub(crate) fn active(name: &str) -> bool {
        static SELECTED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        SELECTED.get_or_init(|| std::env::var("LFT_LOOM_MUTANT").ok()).as_deref() == Some(name)
    }

    /// `normal`, or `Relaxed` while the weakening `name` is switched on.
    #[inline(always)]
    pub(crate) fn ordering(
        name: &str,
        normal: super::sync::atomic::Ordering,
    ) -> super::sync::atomic::Ordering {
        if active(name) {
            super::sync::atomic::Ordering::Relaxed
        } else {
            normal
        }
    }
}

/// Loom only: a plain word that lives inside a shared structure (a ladder node, an index
/// table). It is written when the structure is built and overwritten when it is dropped, and
/// readers check it each time they reach the structure. So loom reports, as a causality
/// violation or a failed check, a reader that reached the structure through a pointer that
/// does not synchronise with its construction (a publish that is not `Release`/`Acquire`),
/// and a reader that still uses it while, or after, it is freed (a use after free).
#[cfg(loom)]
pub(crate) struct Canary {
    word: loom::cell::UnsafeCell<u64>,
}

#[cfg(loom)]
impl Canary {
    /// What a dropped structure leaves in its canary.
    const FREED: u64 = 0xDEAD_DEAD_DEAD_DEAD;

    pub(crate) fn new(value: u64) -> Self {
        let canary = Canary { word: loom::cell::UnsafeCell::new(Self::FREED) };
        // An explicit write, not just the cell's creation: loom dates a creation with the
        // thread's current clock, which does not tick between the thread's last atomic store
        // and the creation, so a reader synchronising with that store would count as seeing
        // it. A write ticks the clock first.
        // SAFETY: the canary is not shared yet.
        canary.word.with_mut(|p| unsafe { *p = value });
        canary
    }

    /// Canaries dropped so far on this OS thread (a loom model runs all its threads on the
    /// thread of its test), so a model can check that memory it retired was really freed.
    #[cfg(test)]
    pub(crate) fn dropped() -> usize {
        CANARIES_DROPPED.with(|c| c.get())
    }

    /// Read the word (loom checks that its writes happen-before this read) and check that the
    /// structure is the one built with `value` and is not freed.
    #[track_caller]
    pub(crate) fn check(&self, value: u64, what: &str) {
        // SAFETY: a plain read; loom itself checks it against every write of the word.
        let seen = self.word.with(|p| unsafe { *p });
        assert_ne!(seen, Self::FREED, "use after free: a reader reached a freed {what}");
        assert_eq!(seen, value, "a reader saw a {what} that was not fully built");
    }
}

#[cfg(loom)]
std::thread_local! {
    static CANARIES_DROPPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(loom)]
impl Drop for Canary {
    fn drop(&mut self) {
        // SAFETY: `&mut self`; loom checks that every read of the word happens-before this.
        self.word.with_mut(|p| unsafe { *p = Self::FREED });
        CANARIES_DROPPED.with(|c| c.set(c.get() + 1));
    }
}

/// Loom models only: how many reader threads a model with readers spawns (`LOOM_READERS`,
/// 1 or 2; default 1). Two readers multiply the model's runs; `make loom` says which
/// preemption bound each count gets.
#[cfg(all(test, loom))]
pub(crate) fn model_readers() -> usize {
    std::env::var("LOOM_READERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).clamp(1, 2)
}
