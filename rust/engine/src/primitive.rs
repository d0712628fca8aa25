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
