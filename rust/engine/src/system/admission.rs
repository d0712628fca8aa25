//! The gate submitters pass to enqueue, and that shutdown closes: once `close` returns, no
//! submitter is between "allowed in" and "pushed", so the queue the worker then drains is
//! final and nothing accepted is stranded. One atomic word (a closed bit and a count of
//! submitters inside), so every enter and close is ordered by that word's modification
//! order alone: no lock, and no reliance on ordering between two locations.

use crossbeam_utils::Backoff;

use crate::primitive::sync::atomic::{AtomicUsize, Ordering};

const CLOSED: usize = 1 << (usize::BITS - 1);

pub(crate) struct Admission {
    state: AtomicUsize,
}

/// Held by a submitter while it enqueues; leaving drops it.
pub(crate) struct Admitted<'a>(&'a Admission);

impl Admission {
    pub(crate) fn new() -> Self {
        Admission { state: AtomicUsize::new(0) }
    }

    /// Enter, unless closing has begun.
    pub(crate) fn enter(&self) -> Option<Admitted<'_>> {
        let before = self.state.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(self);
        if before & CLOSED != 0 {
            return None; // `admitted` drops here and takes the count back
        }
        Some(admitted)
    }

    /// Whether closing has begun (for submitters waiting on a full queue).
    pub(crate) fn is_closing(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Refuse new entries and wait until everyone inside has left.
    pub(crate) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        let backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & !CLOSED != 0 {
            backoff.snooze();
            #[cfg(loom)]
            loom::thread::yield_now();
        }
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.state.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Admission;
    use crate::system::queue::command_queue;
    use loom::sync::Arc;

    /// Shutdown while two producers are enqueueing: everything a producer was allowed to
    /// push is in the queue by the time `close` returns, and nothing arrives after.
    #[test]
    fn loom_shutdown_while_producers_are_active_strands_nothing() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(2);
        model.check(|| {
            let gate = Arc::new(Admission::new());
            let (q, mut c) = command_queue(4);
            let producers: Vec<_> = (0..2u32)
                .map(|p| {
                    let (gate, q) = (Arc::clone(&gate), q.clone());
                    loom::thread::spawn(move || match gate.enter() {
                        Some(_inside) => {
                            q.push(p).expect("room for both");
                            true
                        }
                        None => false,
                    })
                })
                .collect();
            gate.close();
            let mut drained = 0;
            while c.pop().is_some() {
                drained += 1;
            }
            let accepted = producers.into_iter().map(|h| h.join().unwrap()).filter(|&a| a).count();
            assert_eq!(drained, accepted, "an accepted item arrived after the drain");
            assert!(c.pop().is_none());
        });
    }
}
