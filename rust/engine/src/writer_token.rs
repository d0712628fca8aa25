//! Serialises writers of one book without a mutex: a flag taken by compare-and-swap with
//! exponential backoff. Readers never look at it.

use crossbeam_utils::{Backoff, CachePadded};

use crate::primitive::sync::atomic::{AtomicBool, Ordering};

/// The right to mutate a book. Uncontended acquire is one CAS.
pub(crate) struct WriterToken {
    held: CachePadded<AtomicBool>,
}

/// Releases the token on drop (also when a panic unwinds through the writer).
pub(crate) struct WriterGuard<'a> {
    token: &'a WriterToken,
}

impl WriterToken {
    pub(crate) fn new() -> Self {
        WriterToken { held: CachePadded::new(AtomicBool::new(false)) }
    }

    /// Take the token, spinning then yielding while another writer holds it.
    pub(crate) fn acquire(&self) -> WriterGuard<'_> {
        let backoff = Backoff::new();
        loop {
            if self.held.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return WriterGuard { token: self };
            }
            while self.held.load(Ordering::Relaxed) {
                backoff.snooze();
            }
        }
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.token.held.store(false, Ordering::Release);
    }
}
