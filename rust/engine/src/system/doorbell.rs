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
        if !crate::primitive::mutant::active("doorbell-ring-no-fence") {
            fence(Ordering::SeqCst);
        }
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
        if !crate::primitive::mutant::active("doorbell-sleep-no-fence") {
            fence(Ordering::SeqCst);
        }
        if !has_work() {
            park_timeout(timeout);
        }
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

/// Loom model of the committer's use: a producer pushes a hand-off and rings; the sleeper
/// takes it or sleeps. `park_timeout` is a park only an unpark ends under loom, so a missed
/// wake-up is a deadlock (with either fence removed, loom finds it).
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;

    use super::Doorbell;
    use crate::system::queue::command_queue;

    #[test]
    fn loom_doorbell_sleeper_never_misses_a_hand_off() {
        loom::model(|| {
            let (producer, mut consumer) = command_queue::<u32>(2);
            let bell = Arc::new(Doorbell::new());
            let sleeper = {
                let bell = Arc::clone(&bell);
                loom::thread::spawn(move || {
                    // First thing, as the committer and the snapshot writer do: a ring
                    // before this finds no handle, but the first look at the queue below
                    // comes after it.
                    bell.install();
                    loop {
                        if let Some(v) = consumer.pop() {
                            return v;
                        }
                        bell.sleep(std::time::Duration::from_millis(1), || !consumer.is_empty());
                        loom::thread::yield_now();
                    }
                })
            };
            assert!(producer.push(7).is_ok());
            bell.ring();
            assert_eq!(sleeper.join().unwrap(), 7);
        });
    }
}
