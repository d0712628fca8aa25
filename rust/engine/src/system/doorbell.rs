//! The wake-up handshake of a background thread that sleeps when it has nothing to do
//! (the journal committer, the snapshot writer): the same protocol as the worker's (see
//! `worker::sleep`, checked by loom there), kept in one place for the threads added since.
//!
//! The sleeper announces `sleeping`, issues a SeqCst fence, looks for work once more and
//! parks only if there is none; a producer pushes, issues a SeqCst fence and unparks the
//! sleeper if it sees `sleeping`. Either the sleeper's re-check sees the work, or the
//! producer sees the flag. Parking is bounded by a timeout, so a missed wake-up costs at
//! most that long.

use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::primitive::sync::atomic::{fence, AtomicBool, Ordering};
use crate::primitive::thread::{park_timeout, Thread};

/// One sleeping thread's bell.
pub(crate) struct Doorbell {
    sleeping: CachePadded<AtomicBool>,
    thread: OnceLock<Thread>,
}

impl Doorbell {
    pub(crate) fn new() -> Self {
        Doorbell { sleeping: CachePadded::new(AtomicBool::new(false)), thread: OnceLock::new() }
    }

    /// Called once by the sleeping thread itself, before it first sleeps.
    pub(crate) fn install(&self) {
        let _ = self.thread.set(crate::primitive::thread::current());
    }

    /// Producer side: after making work visible, wake the thread if it sleeps.
    pub(crate) fn ring(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) {
            self.unpark();
        }
    }

    /// Wake the thread unconditionally (shutdown).
    pub(crate) fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Sleeper side: park for at most `timeout` unless `has_work` says otherwise after the
    /// announcement.
    pub(crate) fn sleep(&self, timeout: Duration, has_work: impl Fn() -> bool) {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if !has_work() {
            park_timeout(timeout);
        }
        self.sleeping.store(false, Ordering::Relaxed);
    }
}
