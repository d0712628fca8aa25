//! One-shot reply slot: the worker fills it once, the submitter takes the value. The
//! waiter spins briefly, then parks; the worker unparks it only if it is parked. No lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicUsize, Ordering};
use crate::primitive::thread::{self, Thread, ThreadId};

const EMPTY: usize = 0;
/// A waiter has installed its thread handle and may be parked.
const WAITING: usize = 1;
const READY: usize = 2;
/// The value has been taken.
const TAKEN: usize = 3;

/// How long a waiter polls before it parks.
pub const REPLY_SPIN: Duration = Duration::from_micros(50);

/// Called by the worker right after it fills a reply (for completion queues of
/// asynchronous submitters). Must not block.
pub type Notify = Arc<dyn Fn(u64) + Send + Sync>;

pub(crate) struct ReplyCell<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    waiter: UnsafeCell<Option<Thread>>,
    notify: Option<(Notify, u64)>,
}

// SAFETY: `value` is written once by the filler before the Release swap to READY and read
// only after an Acquire load of READY; `waiter` is written by the single waiter before its
// Release CAS to WAITING and read by the filler only after its Acquire swap saw WAITING.
unsafe impl<T: Send> Send for ReplyCell<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for ReplyCell<T> {}

/// The filling side, held by the worker. Dropped without [`Replier::fill`] (a worker
/// unwinding past it), it delivers its `unanswered` value, so no waiter waits forever.
pub(crate) struct Replier<T> {
    cell: Option<Arc<ReplyCell<T>>>,
    unanswered: fn() -> T,
}

/// The waiting side: blocks for, or polls, the one value.
pub struct Pending<T> {
    cell: Arc<ReplyCell<T>>,
    /// The thread whose handle is installed in the cell (the only one the filler wakes).
    registered: Option<ThreadId>,
}

/// A connected reply slot, optionally calling `notify(token)` once it is filled;
/// `unanswered` is delivered if the replier is dropped unfilled.
pub(crate) fn reply_slot<T>(
    notify: Option<(Notify, u64)>,
    unanswered: fn() -> T,
) -> (Replier<T>, Pending<T>) {
    let cell = Arc::new(ReplyCell {
        state: AtomicUsize::new(EMPTY),
        value: UnsafeCell::new(None),
        waiter: UnsafeCell::new(None),
        notify,
    });
    (Replier { cell: Some(Arc::clone(&cell)), unanswered }, Pending { cell, registered: None })
}

impl<T> Replier<T> {
    /// Deliver the value and wake the waiter.
    pub(crate) fn fill(mut self, value: T) {
        if let Some(cell) = self.cell.take() {
            deliver(&cell, value);
        }
    }
}

impl<T> Drop for Replier<T> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            deliver(&cell, (self.unanswered)());
        }
    }
}

/// Store the value, publish it, wake the waiter if parked, then notify.
fn deliver<T>(cell: &ReplyCell<T>, value: T) {
    // SAFETY: only the replier writes the value (it takes its cell out first, so this runs
    // once), before publishing READY.
    cell.value.with_mut(|p| unsafe { *p = Some(value) });
    let publish = crate::primitive::mutant::ordering("reply-swap-relaxed", Ordering::AcqRel);
    if cell.state.swap(READY, publish) == WAITING {
        // SAFETY: the waiter wrote its handle before its Release CAS to WAITING, which
        // our AcqRel swap observed; it does not touch the handle again.
        if let Some(t) = cell.waiter.with(|p| unsafe { (*p).clone() }) {
            t.unpark();
        }
    }
    if let Some((notify, token)) = &cell.notify {
        notify(*token);
    }
}

impl<T> Pending<T> {
    /// Whether the value has arrived.
    pub fn is_ready(&self) -> bool {
        self.cell.state.load(Ordering::Acquire) == READY
    }

    /// Take the value if it has arrived.
    pub fn try_take(&mut self) -> Option<T> {
        let cell = &self.cell;
        if cell.state.compare_exchange(READY, TAKEN, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        // SAFETY: READY was published (Release) after the value was written; TAKEN makes
        // this the only read.
        cell.value.with_mut(|p| unsafe { (*p).take() })
    }

    /// Wait for the value: spin briefly, then park until the worker unparks us.
    pub fn wait(mut self) -> T {
        loop {
            if let Some(v) = self.wait_timeout(Duration::from_secs(3600)) {
                return v;
            }
        }
    }

    /// Wait up to `timeout`; `None` if the value has not arrived by then (call again).
    /// Polls for up to [`REPLY_SPIN`] first: most replies arrive within microseconds, and
    /// parking costs more than that.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<T> {
        self.wait_timeout_spinning(timeout, REPLY_SPIN)
    }

    /// Wait for the value, parking at once rather than polling: for a thread that shares
    /// its core with the worker it waits for (a driver on a small machine).
    pub fn wait_parked(mut self) -> T {
        loop {
            if let Some(v) = self.wait_timeout_spinning(Duration::from_secs(3600), Duration::ZERO) {
                return v;
            }
        }
    }

    /// Wait up to `timeout`, polling for up to `spin` before parking.
    pub fn wait_timeout_spinning(&mut self, timeout: Duration, spin: Duration) -> Option<T> {
        let backoff = Backoff::new();
        let start = Instant::now();
        let spin = spin.min(timeout);
        loop {
            if let Some(v) = self.try_take() {
                return Some(v);
            }
            if spin.is_zero() {
                break;
            }
            if backoff.is_completed() {
                if start.elapsed() >= spin {
                    break;
                }
                std::hint::spin_loop();
            } else {
                backoff.snooze();
            }
        }
        let deadline = Instant::now() + timeout;
        if self.registered.is_none() && self.cell.state.load(Ordering::Acquire) == EMPTY {
            // SAFETY: only the single waiter (this `&mut self`) writes the handle, and only
            // while the state is EMPTY (the filler reads it after seeing WAITING).
            self.cell.waiter.with_mut(|p| unsafe { *p = Some(thread::current()) });
            if self.cell.state.compare_exchange(EMPTY, WAITING, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                self.registered = Some(thread::current().id());
            }
        }
        // A thread other than the registered one is not woken by the filler: it polls.
        let woken = self.registered == Some(thread::current().id());
        loop {
            if let Some(v) = self.try_take() {
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let nap = if woken { deadline - now } else { (deadline - now).min(Duration::from_millis(1)) };
            thread::park_timeout(nap);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::reply_slot;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_parked_waiter_is_woken_by_the_fill() {
        let (replier, pending) = reply_slot::<u32>(None, || 0);
        let filler = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            replier.fill(7);
        });
        assert_eq!(pending.wait(), 7);
        filler.join().unwrap();
    }

    #[test]
    fn a_timeout_returns_nothing_and_a_later_wait_still_gets_the_value() {
        let (replier, mut pending) = reply_slot::<u32>(None, || 0);
        assert_eq!(pending.wait_timeout(Duration::from_millis(5)), None);
        assert!(!pending.is_ready());
        replier.fill(3);
        assert!(pending.is_ready());
        assert_eq!(pending.try_take(), Some(3));
        assert_eq!(pending.try_take(), None);
    }

    #[test]
    fn a_replier_dropped_unfilled_delivers_its_fallback() {
        let (replier, pending) = reply_slot::<u32>(None, || 99);
        std::thread::spawn(move || drop(replier)).join().unwrap();
        assert_eq!(pending.wait(), 99);
    }

    #[test]
    fn the_notifier_hears_the_token_once_filled() {
        let heard = Arc::new(AtomicU64::new(0));
        let h = Arc::clone(&heard);
        let (replier, mut pending) =
            reply_slot::<u32>(Some((Arc::new(move |t| h.store(t, Ordering::SeqCst)), 42)), || 0);
        replier.fill(1);
        assert_eq!(heard.load(Ordering::SeqCst), 42);
        assert_eq!(pending.try_take(), Some(1));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use std::time::Duration;

    use super::reply_slot;

    /// The fill races the taker: the value is taken exactly once, never torn or lost.
    #[test]
    fn loom_reply_value_arrives_exactly_once() {
        loom::model(|| {
            let (replier, mut pending) = reply_slot::<u32>(None, || 0);
            let filler = loom::thread::spawn(move || replier.fill(5));
            let early = pending.try_take();
            filler.join().unwrap();
            let late = pending.try_take();
            assert_eq!(early.or(late), Some(5));
            assert!(early.is_none() || late.is_none(), "taken twice");
        });
    }

    /// The fill races the waiter's registration and park (`wait_parked`: no timed spin, so
    /// the run is deterministic): the waiter always gets the value. A fill that missed a
    /// registered waiter would leave it parked for good, which loom reports as a deadlock;
    /// the handle the filler reads and the value the waiter reads are loom cells, so an
    /// ordering too weak to publish either is a causality violation.
    #[test]
    fn loom_reply_parked_waiter_is_woken_by_a_racing_fill() {
        loom::model(|| {
            let (replier, pending) = reply_slot::<u32>(None, || 0);
            let filler = loom::thread::spawn(move || replier.fill(5));
            assert_eq!(pending.wait_parked(), 5);
            filler.join().unwrap();
        });
    }

    /// A waiter that registered in a wait that timed out (a zero timeout: registers, finds
    /// nothing, returns) and then waits again is still the one the fill wakes.
    #[test]
    fn loom_reply_waiter_registered_by_a_timed_out_wait_is_woken_later() {
        loom::model(|| {
            let (replier, mut pending) = reply_slot::<u32>(None, || 0);
            let filler = loom::thread::spawn(move || replier.fill(5));
            let first = pending.wait_timeout_spinning(Duration::ZERO, Duration::ZERO);
            let value = match first {
                Some(v) => v,
                None => pending.wait_parked(),
            };
            assert_eq!(value, 5);
            filler.join().unwrap();
        });
    }
}
