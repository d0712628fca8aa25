//! The part of a book every thread may read: both ladders and a few published counters.

use crossbeam_utils::CachePadded;

use crate::price_index::PriceIndex;
use crate::primitive::sync::atomic::{AtomicU64, AtomicUsize};
use crate::skiplist::SkipList;
use crate::types::Side;

/// One side of the book: levels in price order plus the price -> level index.
#[derive(Default)]
pub(crate) struct Ladder {
    pub list: SkipList,
    pub index: PriceIndex,
}

/// Reader-visible state, written only by the token holder.
pub(crate) struct SharedState {
    /// `[bids, asks]`, indexed by `Side as usize`.
    pub ladders: [Ladder; 2],
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
            resting: CachePadded::new(AtomicUsize::new(0)),
            sequence: CachePadded::new(AtomicU64::new(0)),
            id_counter: CachePadded::new(AtomicU64::new(0)),
        }
    }

    #[inline]
    pub(crate) fn ladder(&self, side: Side) -> &Ladder {
        &self.ladders[side as usize]
    }
}
