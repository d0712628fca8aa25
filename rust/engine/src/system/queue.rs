//! Bounded multi-producer, single-consumer queue of commands for one worker: an array of
//! slots, each stamped with the position it may hold next (Dmitry Vyukov's bounded queue,
//! as in crossbeam's `ArrayQueue`, cut down to one consumer).
//!
//! The single consumer is a type: [`command_queue`] returns a cloneable, `Sync`
//! [`QueueProducer`] and one [`QueueConsumer`] that is `Send` but neither `Sync` nor
//! `Clone`, and whose `pop` takes `&mut self`.
//!
//! Progress, precisely: `push` is lock-free: producers claim slots with a compare-and-swap
//! on `tail`, and a failed CAS means another producer claimed. `pop` never spins; but a
//! producer preempted between claiming its slot and publishing it holds back the consumer at
//! that slot until it resumes (pop answers "empty" meanwhile), so the consumer side is not
//! lock-free in the strict sense. Nothing here takes a lock or makes a system call (waking a
//! parked worker is the worker's business, see `worker.rs`).

use core::cell::Cell;
use core::marker::PhantomData;
use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicUsize, Ordering};
use crate::primitive::sync::Arc;

struct Slot<T> {
    /// `pos` when free for the producer that claims position `pos`; `pos + 1` once that
    /// producer has written it; `pos + capacity` once the consumer has taken it.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The shared ring behind both handles.
struct Ring<T> {
    slots: Box<[Slot<T>]>,
    mask: usize,
    tail: CachePadded<AtomicUsize>,
    head: CachePadded<AtomicUsize>,
}

// SAFETY: values move between threads through the slots (T: Send); every slot access is
// ordered by its stamp (Release on publish, Acquire before reading).
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above; `pop` is reachable only through the one `QueueConsumer`, which is not
// `Sync` or `Clone` and pops through `&mut self`, so there is exactly one consumer.
unsafe impl<T: Send> Sync for Ring<T> {}

/// The producing end: `push` from any thread (clone it, or share it by reference).
pub(crate) struct QueueProducer<T> {
    ring: Arc<Ring<T>>,
}

impl<T> Clone for QueueProducer<T> {
    fn clone(&self) -> Self {
        QueueProducer { ring: Arc::clone(&self.ring) }
    }
}

/// The consuming end: exactly one, owned by one thread at a time.
pub(crate) struct QueueConsumer<T> {
    ring: Arc<Ring<T>>,
    /// Not `Sync`: one consumer thread at a time (still `Send`).
    _not_sync: PhantomData<Cell<()>>,
}

/// A queue holding at least `capacity` items (rounded up to a power of two, minimum 2).
pub(crate) fn command_queue<T>(capacity: usize) -> (QueueProducer<T>, QueueConsumer<T>) {
    let ring = Arc::new(Ring::new(capacity));
    (QueueProducer { ring: Arc::clone(&ring) }, QueueConsumer { ring, _not_sync: PhantomData })
}

impl<T> QueueProducer<T> {
    /// Append `value`, or hand it back when the queue is full. Lock-free.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.ring.push(value)
    }

    /// Slots in the ring.
    pub(crate) fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Items claimed but not yet taken (a hint).
    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }
}

impl<T> QueueConsumer<T> {
    /// Take the oldest item, if one is published. Never waits.
    pub(crate) fn pop(&mut self) -> Option<T> {
        // SAFETY: `&mut self` on the only consumer handle.
        unsafe { self.ring.pop() }
    }

    /// Whether nothing is claimed (a hint: an item may be mid-publish).
    pub(crate) fn is_empty(&self) -> bool {
        self.ring.len() == 0
    }
}

impl<T> Ring<T> {
    fn new(capacity: usize) -> Self {
        let cap = capacity.max(2).next_power_of_two();
        let slots = (0..cap)
            .map(|i| Slot { stamp: AtomicUsize::new(i), value: UnsafeCell::new(MaybeUninit::uninit()) })
            .collect();
        Ring {
            slots,
            mask: cap - 1,
            tail: CachePadded::new(AtomicUsize::new(0)),
            head: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    fn capacity(&self) -> usize {
        self.mask + 1
    }

    fn push(&self, value: T) -> Result<(), T> {
        let mut pos = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == pos {
                match self.tail.compare_exchange_weak(pos, pos + 1, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        // SAFETY: the CAS made this producer the only owner of position
                        // `pos`; the consumer reads it only after the Release below.
                        slot.value.with_mut(|p| unsafe { (*p).write(value) });
                        slot.stamp.store(pos + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => pos = current,
                }
            } else if stamp < pos {
                // The slot still holds the item of the previous lap: full.
                return Err(value);
            } else {
                pos = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Take the oldest item, if one is published.
    ///
    /// # Safety
    /// Only one thread may pop at a time (the `QueueConsumer`, or `Drop`).
    unsafe fn pop(&self) -> Option<T> {
        let pos = self.head.load(Ordering::Relaxed);
        let slot = &self.slots[pos & self.mask];
        if slot.stamp.load(Ordering::Acquire) != pos + 1 {
            return None;
        }
        // SAFETY: stamp == pos + 1 means the producer of `pos` finished writing (Acquire
        // pairs with its Release), and only this consumer reads position `pos`.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.stamp.store(pos + self.capacity(), Ordering::Release);
        self.head.store(pos + 1, Ordering::Relaxed);
        Some(value)
    }

    /// Items claimed but not yet taken (may include ones still being written). A hint.
    fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Relaxed);
        tail.saturating_sub(head)
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: both handles are gone.
        while unsafe { self.pop() }.is_some() {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::command_queue;
    use std::sync::Arc;

    #[test]
    fn items_come_out_in_push_order_and_a_full_queue_hands_the_item_back() {
        let (q, mut c) = command_queue(4);
        for i in 0..4 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(99), Err(99));
        assert_eq!(q.len(), 4);
        assert_eq!(c.pop(), Some(0));
        q.push(4).unwrap();
        assert_eq!((1..5).map(|_| c.pop().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        assert_eq!(c.pop(), None);
        assert!(c.is_empty());
    }

    #[test]
    fn dropping_a_queue_drops_what_it_still_holds() {
        let marker = Arc::new(());
        let (q, c) = command_queue(8);
        for _ in 0..5 {
            q.push(Arc::clone(&marker)).unwrap();
        }
        drop(q);
        assert_eq!(Arc::strong_count(&marker), 6, "the consumer still holds the items");
        drop(c);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn many_producers_lose_nothing_and_keep_each_producers_order() {
        const PRODUCERS: usize = 4;
        // Miri interprets every step: a few hundred items per producer still interleave
        // (its scheduler preempts at random) and finish in seconds.
        let each: usize = if cfg!(miri) { 300 } else { 50_000 };
        let (q, mut c) = command_queue(64);
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..each {
                        let mut item = (p, i);
                        while let Err(back) = q.push(item) {
                            item = back;
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let mut next = [0usize; PRODUCERS];
        let mut received = 0;
        while received < PRODUCERS * each {
            match c.pop() {
                Some((p, i)) => {
                    assert_eq!(i, next[p], "producer {p} reordered");
                    next[p] += 1;
                    received += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.pop(), None);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::command_queue;

    /// Two producers race for a one-lap queue of two slots while the consumer drains:
    /// every item arrives exactly once, each producer's items in order, and a push into
    /// a full queue hands its item back.
    #[test]
    fn loom_queue_two_producers_one_consumer() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(2);
        model.check(|| {
            let (q, mut c) = command_queue(2);
            let producers: Vec<_> = (0..2u32)
                .map(|p| {
                    let q = q.clone();
                    loom::thread::spawn(move || {
                        let mut refused = 0;
                        for i in 0..2u32 {
                            if q.push(p * 10 + i).is_err() {
                                refused += 1;
                            }
                        }
                        refused
                    })
                })
                .collect();
            let mut got = Vec::new();
            for _ in 0..2 {
                if let Some(v) = c.pop() {
                    got.push(v);
                }
                loom::thread::yield_now();
            }
            let refused: u32 = producers.into_iter().map(|h| h.join().unwrap()).sum();
            while let Some(v) = c.pop() {
                got.push(v);
            }
            assert_eq!(got.len() as u32 + refused, 4, "an item was lost or duplicated: {got:?}");
            for p in 0..2u32 {
                let mine: Vec<u32> = got.iter().copied().filter(|v| v / 10 == p).collect();
                let mut sorted = mine.clone();
                sorted.sort_unstable();
                assert_eq!(mine, sorted, "producer {p}'s items reordered");
            }
        });
    }
}
