//! The part of a book every thread may read: both ladders and a few published values.

use crossbeam_utils::CachePadded;

use crate::latch::Latch;
use crate::price_index::PriceIndex;
use crate::primitive::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::skiplist::SkipList;
use crate::types::{Side, Ticks};

/// One side of the book: levels in price order plus the price -> level index.
#[derive(Default)]
pub(crate) struct Ladder {
    pub list: SkipList,
    pub index: PriceIndex,
}

/// Word standing for "no price" in the published top of book (prices are > 0).
const NO_PRICE: u64 = 0;

/// Reader-visible state, written only by the book's writer.
pub(crate) struct SharedState {
    /// `[bids, asks]`, indexed by `Side as usize`.
    pub ladders: [Ladder; 2],
    /// Best bid and best ask after the last command, `[bid, ask]` (0: none), as a pair.
    top: CachePadded<Latch<2>>,
    /// The same prices one by one (a single word reads monotonically; see `latch.rs`).
    best: [AtomicU64; 2],
    /// Number of resting orders.
    pub resting: CachePadded<AtomicUsize>,
    /// Sequence number of the last event.
    pub sequence: CachePadded<AtomicU64>,
    /// Counter behind generated order ids (any thread may draw one).
    pub id_counter: CachePadded<AtomicU64>,
}

impl SharedState {
    pub(crate) fn new() -> Self {
        SharedState {
            ladders: [Ladder::default(), Ladder::default()],
            top: CachePadded::new(Latch::new([NO_PRICE; 2])),
            best: [AtomicU64::new(NO_PRICE), AtomicU64::new(NO_PRICE)],
            resting: CachePadded::new(AtomicUsize::new(0)),
            sequence: CachePadded::new(AtomicU64::new(0)),
            id_counter: CachePadded::new(AtomicU64::new(0)),
        }
    }

    #[inline]
    pub(crate) fn ladder(&self, side: Side) -> &Ladder {
        &self.ladders[side as usize]
    }

    /// Writer only: publish the best prices (a no-op when they did not change).
    #[inline]
    pub(crate) fn publish_top(&self, bid: Option<Ticks>, ask: Option<Ticks>) {
        let words = [bid.map_or(NO_PRICE, |p| p as u64), ask.map_or(NO_PRICE, |p| p as u64)];
        if self.top.current() != words {
            self.top.publish(&words);
            for (slot, word) in self.best.iter().zip(words) {
                slot.store(word, Ordering::Release);
            }
        }
    }

    /// Any thread: the best price of one side after the last command. Wait-free: one load.
    #[inline]
    pub(crate) fn best(&self, side: Side) -> Option<Ticks> {
        price_of(self.best[side as usize].load(Ordering::Acquire))
    }

    /// Any thread: best bid and ask from the same command. Lock-free.
    #[inline]
    pub(crate) fn top(&self) -> (Option<Ticks>, Option<Ticks>) {
        let [bid, ask] = self.top.read();
        (price_of(bid), price_of(ask))
    }

    /// Any thread: resting orders after the last command. Wait-free.
    #[inline]
    pub(crate) fn resting(&self) -> usize {
        self.resting.load(Ordering::Acquire)
    }
}

fn price_of(word: u64) -> Option<Ticks> {
    (word != NO_PRICE).then_some(word as Ticks)
}
