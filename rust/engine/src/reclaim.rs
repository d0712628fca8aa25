//! How the book's writer reaches epoch-managed memory.
//!
//! Readers pin a real `crossbeam_epoch::Guard`. The writer does not: it is the only thread
//! that ever unlinks or retires a ladder node or an index table, so nothing it can reach is
//! freed while it works, and skipping the pin saves a locked instruction per command. That
//! is sound only as long as the writer never *retires* through the unprotected guard
//! (`defer_destroy` on it frees at once). [`LoadGuard`] makes that structural: it can load
//! and adopt, but it has no way to defer destruction; retirement goes through [`retire`],
//! which always pins for real.

use crossbeam_epoch::{self as epoch, Atomic, Guard, Owned, Shared};

use crate::primitive::sync::atomic::Ordering;

/// The writer's load-only access to epoch-managed pointers.
pub(crate) struct LoadGuard {
    _private: (),
}

impl LoadGuard {
    /// # Safety
    /// Only the single writer of the structures it is used on may hold one, and that writer
    /// must retire memory only through [`retire`] (never free what a reader may reach).
    pub(crate) unsafe fn new() -> Self {
        LoadGuard { _private: () }
    }

    fn raw(&self) -> &'static Guard {
        // SAFETY: see the type's contract: the holder is the only thread that retires, and it
        // retires through a real pin, so no load through this guard meets freed memory. The
        // guard never leaves this module, so no one can defer destruction on it.
        unsafe { epoch::unprotected() }
    }
}

/// Something that protects loads of epoch-managed pointers for the lifetime of a borrow:
/// a reader's pinned [`Guard`], or the writer's [`LoadGuard`].
pub(crate) trait Protect {
    /// Load `atomic` under this protection.
    fn load<'g, T>(&'g self, atomic: &Atomic<T>, order: Ordering) -> Shared<'g, T>;
}

impl Protect for Guard {
    #[inline]
    fn load<'g, T>(&'g self, atomic: &Atomic<T>, order: Ordering) -> Shared<'g, T> {
        atomic.load(order, self)
    }
}

impl Protect for LoadGuard {
    #[inline]
    fn load<'g, T>(&'g self, atomic: &Atomic<T>, order: Ordering) -> Shared<'g, T> {
        atomic.load(order, self.raw())
    }
}

impl LoadGuard {
    /// Turn a fresh allocation into a pointer that can be published.
    #[inline]
    pub(crate) fn adopt<T>(&self, owned: Owned<T>) -> Shared<'_, T> {
        owned.into_shared(self.raw())
    }
}

/// Free `ptr` once every reader pinned now has unpinned.
///
/// # Safety
/// `ptr` must be unreachable for new readers (out of every list and index) and must not be
/// retired twice.
pub(crate) unsafe fn retire<T>(ptr: Shared<'_, T>) {
    #[cfg(loom)]
    if crate::primitive::mutant::active("retire-unprotected") {
        // SAFETY: none: this is the deliberate bug `make loom-mutants` checks the models catch
        // (the unprotected guard frees at once, under any reader still on `ptr`).
        unsafe { epoch::unprotected().defer_destroy(ptr) };
        return;
    }
    let guard = epoch::pin();
    // SAFETY: per the contract, `ptr` is unreachable for readers that pin from now on; the
    // ones pinned earlier keep it alive. A real pin, never the writer's unprotected guard.
    unsafe { guard.defer_destroy(ptr) };
}
