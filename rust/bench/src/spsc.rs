//! A bounded, lock-free single-producer single-consumer ring for `Copy` values.
//!
//! The producer and the consumer each own one index and keep a cached copy of the other
//! side's index, so the shared cache lines are only touched when the cached view says the
//! ring is full (producer) or empty (consumer). Both sides publish their index in small
//! batches: the producer on [`Producer::flush`] (or every [`PUBLISH_EVERY`] values), the
//! consumer every [`PUBLISH_EVERY`] values it reads, so the index cache lines do not
//! bounce between cores on every value. Waiting (full or empty) spins with
//! [`crossbeam_utils::Backoff`].

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_utils::{Backoff, CachePadded};

/// Page size assumed when touching a new ring's memory (the smallest common one).
const PAGE: usize = 4096;

/// Most values either side handles before it publishes its index.
pub const PUBLISH_EVERY: usize = 64;

struct Ring<T> {
    /// Next slot the consumer reads (written by the consumer only).
    head: CachePadded<AtomicUsize>,
    /// Next slot the producer writes (written by the producer only).
    tail: CachePadded<AtomicUsize>,
    /// Set (release) by the producer after its last push.
    closed: CachePadded<AtomicBool>,
    mask: usize,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: a slot is written only by the producer while it is outside `head..tail` (not
// readable), and read only by the consumer while it is inside `head..tail`; the release
// stores of `tail`/`head` paired with the acquire loads on the other side order those
// accesses. `T: Send` because values move from one thread to the other.
unsafe impl<T: Copy + Send> Sync for Ring<T> {}
// SAFETY: as above; the ring owns plain `Copy` values and no thread-affine state.
unsafe impl<T: Copy + Send> Send for Ring<T> {}

/// Sending half of [`channel`]. Dropping it closes the ring.
pub struct Producer<T: Copy + Send> {
    ring: Arc<Ring<T>>,
    /// Next slot to write (values before it are written, not necessarily published).
    tail: usize,
    /// Last value of `tail` stored into the ring.
    published: usize,
    cached_head: usize,
}

/// Receiving half of [`channel`].
pub struct Consumer<T: Copy + Send> {
    ring: Arc<Ring<T>>,
    head: usize,
    cached_tail: usize,
}

/// A ring holding at least `capacity` values (rounded up to a power of two, at least 2).
pub fn channel<T: Copy + Send>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let cap = capacity.max(2).next_power_of_two();
    let slots: Box<[UnsafeCell<MaybeUninit<T>>]> =
        (0..cap).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
    // Touch every page now: a ring's first lap otherwise takes a page fault every few dozen
    // values, and on this VM one of those can take 30-100 µs, which the latency trace then
    // blames on whichever command met it. Touched slots start at most a page apart, and a
    // value larger than a page is touched once per page.
    let size = std::mem::size_of::<T>();
    if let Some(per_page) = PAGE.checked_div(size) {
        for slot in slots.iter().step_by(per_page.max(1)) {
            for offset in (0..size).step_by(PAGE) {
                // SAFETY: `offset < size_of::<T>()`, so the byte is inside this slot's
                // `MaybeUninit<T>`, which the ring owns exclusively (it is not shared yet);
                // `MaybeUninit` bytes may hold anything.
                unsafe { std::ptr::write_volatile(slot.get().cast::<u8>().add(offset), 0) };
            }
        }
    }
    let ring = Arc::new(Ring {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        closed: CachePadded::new(AtomicBool::new(false)),
        mask: cap - 1,
        slots,
    });
    (
        Producer { ring: Arc::clone(&ring), tail: 0, published: 0, cached_head: 0 },
        Consumer { ring, head: 0, cached_tail: 0 },
    )
}

impl<T: Copy + Send> Producer<T> {
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.ring.mask + 1
    }

    /// Make every value pushed so far visible to the consumer.
    #[inline]
    pub fn flush(&mut self) {
        if self.published != self.tail {
            self.ring.tail.store(self.tail, Ordering::Release);
            self.published = self.tail;
        }
    }

    /// Push unless the ring is full (then the value comes back). The value becomes
    /// visible at the next [`Producer::flush`] or after [`PUBLISH_EVERY`] pushes.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        let cap = self.ring.mask + 1;
        if self.tail.wrapping_sub(self.cached_head) == cap {
            // Publish first: a consumer waiting for unpublished values would never free
            // the slot we need.
            self.flush();
            self.cached_head = self.ring.head.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.cached_head) == cap {
                return Err(value);
            }
        }
        let slot = &self.ring.slots[self.tail & self.ring.mask];
        // SAFETY: `tail - head < cap`, so this slot is not in `head..tail`: the consumer
        // has finished reading it (its acquire-loaded `head` moved past it) and cannot
        // read it before a later release store of a `tail` beyond it. Only this producer
        // writes slots.
        unsafe { (*slot.get()).write(value) };
        self.tail = self.tail.wrapping_add(1);
        if self.tail.wrapping_sub(self.published) >= PUBLISH_EVERY {
            self.flush();
        }
        Ok(())
    }

    /// Push, spinning (with backoff) while the ring is full.
    #[inline]
    pub fn push(&mut self, mut value: T) {
        let backoff = Backoff::new();
        loop {
            match self.try_push(value) {
                Ok(()) => return,
                Err(v) => {
                    value = v;
                    backoff.snooze();
                }
            }
        }
    }
}

impl<T: Copy + Send> Drop for Producer<T> {
    fn drop(&mut self) {
        self.flush();
        self.ring.closed.store(true, Ordering::Release);
    }
}

impl<T: Copy + Send> Consumer<T> {
    /// Hand every value available right now to `f`, in order; returns how many.
    #[inline]
    pub fn drain(&mut self, mut f: impl FnMut(T)) -> usize {
        if self.cached_tail == self.head {
            self.cached_tail = self.ring.tail.load(Ordering::Acquire);
        }
        let n = self.cached_tail.wrapping_sub(self.head);
        for k in 0..n {
            let slot = &self.ring.slots[self.head & self.ring.mask];
            // SAFETY: `head` is in `head..tail` with `tail` acquire-loaded after the
            // producer's release store, so the slot was fully written and the producer
            // will not overwrite it until `head` is published past it. `T: Copy`, so
            // reading it out leaves nothing to drop.
            let value = unsafe { (*slot.get()).assume_init_read() };
            self.head = self.head.wrapping_add(1);
            if (k + 1) % PUBLISH_EVERY == 0 {
                self.ring.head.store(self.head, Ordering::Release);
            }
            f(value);
        }
        if n > 0 {
            self.ring.head.store(self.head, Ordering::Release);
        }
        n
    }

    /// Pop one value if any is available.
    pub fn try_pop(&mut self) -> Option<T> {
        let mut out = None;
        if self.cached_tail == self.head {
            self.cached_tail = self.ring.tail.load(Ordering::Acquire);
        }
        if self.cached_tail != self.head {
            let slot = &self.ring.slots[self.head & self.ring.mask];
            // SAFETY: as in `drain`.
            out = Some(unsafe { (*slot.get()).assume_init_read() });
            self.head = self.head.wrapping_add(1);
            self.ring.head.store(self.head, Ordering::Release);
        }
        out
    }

    /// Run `f` on every value until the producer is dropped and the ring is empty,
    /// spinning (with backoff) while it is empty.
    pub fn run(&mut self, mut f: impl FnMut(T)) {
        let backoff = Backoff::new();
        loop {
            if self.drain(&mut f) > 0 {
                backoff.reset();
                continue;
            }
            if self.ring.closed.load(Ordering::Acquire) {
                // Everything pushed before the close is visible now.
                while self.drain(&mut f) > 0 {}
                return;
            }
            backoff.snooze();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_of_zero_sized_and_page_sized_values_work() {
        let (mut p, mut c) = channel::<()>(4);
        p.try_push(()).unwrap();
        p.flush();
        assert_eq!(c.try_pop(), Some(()));
        let (mut p, mut c) = channel::<[u8; 10_000]>(2);
        p.try_push([7; 10_000]).unwrap();
        p.flush();
        assert_eq!(c.try_pop().map(|v| v[9_999]), Some(7));
    }

    #[test]
    fn fifo_single_thread() {
        let (mut p, mut c) = channel::<u32>(3);
        assert_eq!(p.capacity(), 4);
        for i in 0..4 {
            p.try_push(i).unwrap();
        }
        assert_eq!(p.try_push(9), Err(9)); // a full ring publishes what it holds
        assert_eq!(c.try_pop(), Some(0));
        p.try_push(4).unwrap();
        let mut got = vec![];
        assert_eq!(c.drain(|v| got.push(v)), 3, "4 is not published yet");
        p.flush();
        c.drain(|v| got.push(v));
        assert_eq!(got, vec![1, 2, 3, 4]);
        p.try_push(5).unwrap();
        drop(p); // dropping publishes
        assert_eq!(c.try_pop(), Some(5));
        assert_eq!(c.try_pop(), None);
    }

    #[test]
    fn two_threads_in_order() {
        let (mut p, mut c) = channel::<u64>(64);
        let n = 200_000u64;
        let consumer = std::thread::spawn(move || {
            let mut expect = 0;
            c.run(|v| {
                assert_eq!(v, expect);
                expect += 1;
            });
            expect
        });
        for i in 0..n {
            p.push(i);
            if i % 3 == 0 {
                p.flush();
            }
        }
        drop(p);
        assert_eq!(consumer.join().unwrap(), n);
    }
}
