//! Single-producer broadcast ring of feed events: the worker writes each event into the
//! next slot, overwriting the oldest, and any number of subscribers read behind it at their
//! own pace.
//!
//! Progress, precisely: publishing is wait-free (a fixed number of relaxed atomic stores,
//! one release fence and two release stores; it never looks at readers). Reading is
//! lock-free: `poll` loops only while the writer overwrites the slot it is reading, and a
//! slot whose publish is in progress reads as not yet published, so a reader never waits
//! for the writer and never delays it. A reader that falls more than one lap behind finds
//! its slots overwritten, skips to the oldest event still held and counts what it missed in
//! `lost`.
//!
//! Each slot is a seqlock: a stamp that is odd while the slot is being written, and the
//! event as atomic words, so a torn read is detected and never returned.

use crossbeam_utils::CachePadded;

use super::feed::{FeedEvent, WORDS};
use crate::primitive::sync::atomic::{fence, AtomicU64, Ordering};

struct Slot {
    /// `2 * (pos + 1)` once the event at position `pos` is complete; odd while written.
    stamp: AtomicU64,
    words: [AtomicU64; WORDS],
}

/// The ring. One writer thread calls [`EventRing::publish`].
pub(crate) struct EventRing {
    slots: Box<[Slot]>,
    mask: u64,
    /// Position of the next event to publish (events `0..head` exist).
    head: CachePadded<AtomicU64>,
}

impl EventRing {
    /// A ring holding the last `capacity` events (rounded up to a power of two, minimum 2).
    pub(crate) fn new(capacity: usize) -> Self {
        let cap = capacity.max(2).next_power_of_two() as u64;
        let slots = (0..cap)
            .map(|_| Slot { stamp: AtomicU64::new(0), words: std::array::from_fn(|_| AtomicU64::new(0)) })
            .collect();
        EventRing { slots, mask: cap - 1, head: CachePadded::new(AtomicU64::new(0)) }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Events published so far.
    pub(crate) fn published(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Append one event. Single writer only.
    pub(crate) fn publish(&self, event: &FeedEvent) {
        let pos = self.head.load(Ordering::Relaxed);
        let slot = &self.slots[(pos & self.mask) as usize];
        slot.stamp.store(2 * pos + 1, Ordering::Relaxed);
        // Readers that see any new word also see the odd stamp (they re-check it after).
        fence(Ordering::Release);
        for (w, v) in slot.words.iter().zip(event.encode()) {
            w.store(v, Ordering::Relaxed);
        }
        slot.stamp.store(2 * (pos + 1), Ordering::Release);
        self.head.store(pos + 1, Ordering::Release);
    }

    /// Read the event at `pos`: `Ok(event)`, `Err(true)` if it was overwritten (or is being
    /// overwritten), `Err(false)` if it is not published yet.
    fn read(&self, pos: u64) -> Result<FeedEvent, bool> {
        let slot = &self.slots[(pos & self.mask) as usize];
        let want = 2 * (pos + 1);
        let before = slot.stamp.load(Ordering::Acquire);
        if before != want {
            return Err(before > want);
        }
        let mut words = [0u64; WORDS];
        for (dst, w) in words.iter_mut().zip(&slot.words) {
            *dst = w.load(Ordering::Relaxed);
        }
        // Order the word loads before the second stamp load.
        fence(Ordering::Acquire);
        if slot.stamp.load(Ordering::Relaxed) != want {
            return Err(true);
        }
        FeedEvent::decode(&words).ok_or(true)
    }
}

/// A subscriber's position in one ring.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Cursor {
    /// Next position to read.
    pub(crate) next: u64,
    /// Events overwritten before this subscriber read them.
    pub(crate) lost: u64,
}

impl Cursor {
    /// A cursor that starts with the next event published (not the backlog).
    pub(crate) fn at_end(ring: &EventRing) -> Cursor {
        Cursor { next: ring.published(), lost: 0 }
    }

    /// The next event, if one is published; skips (and counts) overwritten ones.
    pub(crate) fn poll(&mut self, ring: &EventRing) -> Option<FeedEvent> {
        loop {
            let head = ring.published();
            if self.next >= head {
                return None;
            }
            let oldest = head.saturating_sub(ring.capacity());
            if self.next < oldest {
                self.lost += oldest - self.next;
                self.next = oldest;
            }
            match ring.read(self.next) {
                Ok(e) => {
                    self.next += 1;
                    return Some(e);
                }
                // Overwritten while we looked: the writer is a lap ahead; re-read the head.
                Err(true) => {
                    self.lost += 1;
                    self.next += 1;
                }
                Err(false) => return None,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Cursor, EventRing};
    use crate::system::feed::{FeedEvent, FeedKind};
    use crate::types::Side;

    fn ev(n: u64) -> FeedEvent {
        FeedEvent::notice(1, FeedKind::Order, n, n as i64, n as u128, 0)
    }

    #[test]
    fn a_subscriber_sees_every_event_in_order_when_it_keeps_up() {
        let ring = EventRing::new(8);
        let mut c = Cursor::at_end(&ring);
        for n in 0..20 {
            ring.publish(&ev(n));
            assert_eq!(c.poll(&ring).map(|e| e.command_sequence), Some(n));
        }
        assert_eq!(c.poll(&ring), None);
        assert_eq!(c.lost, 0);
    }

    #[test]
    fn a_slow_subscriber_skips_to_the_oldest_held_event_and_counts_the_gap() {
        let ring = EventRing::new(4);
        let mut c = Cursor::at_end(&ring);
        for n in 0..10 {
            ring.publish(&ev(n));
        }
        let got: Vec<u64> = std::iter::from_fn(|| c.poll(&ring)).map(|e| e.command_sequence).collect();
        assert_eq!(got, vec![6, 7, 8, 9]);
        assert_eq!(c.lost, 6);
        assert_eq!(ev(3).side, Side::Buy);
    }

    #[test]
    fn readers_never_see_a_torn_event_while_the_writer_laps_them() {
        // Miri interprets every step (and the reader's polling loop spins): 400 events still
        // lap the 4-slot ring a hundred times, preempted at random by Miri's scheduler.
        let events: u64 = if cfg!(miri) { 400 } else { 200_000 };
        let ring = std::sync::Arc::new(EventRing::new(4));
        let writer = {
            let ring = std::sync::Arc::clone(&ring);
            std::thread::spawn(move || {
                for n in 0..events {
                    ring.publish(&ev(n));
                }
            })
        };
        let mut c = Cursor::default();
        let mut last = None;
        let mut seen = 0u64;
        let mut check = |e: FeedEvent| {
            // Every field was written from the same n: a torn read would mix them.
            assert_eq!(e.order_id, e.command_sequence as u128);
            assert_eq!(e.timestamp, e.command_sequence as i64);
            assert!(last.is_none_or(|l| e.command_sequence > l), "went backwards");
            last = Some(e.command_sequence);
            seen += 1;
        };
        // Read while the writer runs. `is_finished` is only a hint (it does not synchronise
        // with the writer's stores, so the head read after it may still be stale under weak
        // memory, as Miri emulates): the tail is drained after `join`, which does.
        while !writer.is_finished() {
            if let Some(e) = c.poll(&ring) {
                check(e);
            }
        }
        writer.join().unwrap();
        while let Some(e) = c.poll(&ring) {
            check(e);
        }
        assert_eq!(c.next, events);
        assert_eq!(seen + c.lost, events);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{Cursor, EventRing};
    use crate::system::feed::{FeedEvent, FeedKind};
    use loom::sync::Arc;

    /// The writer laps a two-slot ring while a reader polls: the reader gets events in
    /// order, each either whole or counted as lost, never torn.
    #[test]
    fn loom_broadcast_ring_overflow_is_a_gap_never_a_torn_event() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(2);
        model.check(|| {
            let ring = Arc::new(EventRing::new(2));
            let writer = {
                let ring = Arc::clone(&ring);
                loom::thread::spawn(move || {
                    for n in 0..3u64 {
                        ring.publish(&FeedEvent::notice(0, FeedKind::Order, n, n as i64, n as u128, 0));
                    }
                })
            };
            let mut c = Cursor::default();
            let mut got = Vec::new();
            for _ in 0..2 {
                if let Some(e) = c.poll(&ring) {
                    assert_eq!(e.order_id, e.command_sequence as u128, "torn event");
                    got.push(e.command_sequence);
                }
            }
            writer.join().unwrap();
            while let Some(e) = c.poll(&ring) {
                assert_eq!(e.order_id, e.command_sequence as u128, "torn event");
                got.push(e.command_sequence);
            }
            assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
            assert_eq!(got.len() as u64 + c.lost, 3, "events unaccounted for: {got:?} lost {}", c.lost);
        });
    }
}
