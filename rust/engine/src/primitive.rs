//! Atomics the engine's shared structures are built on, swapped for loom's under `cfg(loom)`
//! so the model checker sees every access (the same trick as crossbeam-epoch's `primitive`).

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) mod atomic {
        pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
    }
}

/// Spin-loop hint; under loom a yield, so the model checker can schedule the writer.
pub(crate) mod hint {
    #[cfg(not(loom))]
    pub(crate) use core::hint::spin_loop;

    #[cfg(loom)]
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }
}
