//! [`BookReader`]: what any thread may ask a book while its writer works.
//!
//! Nothing here stores to memory the writer reads, so a reader never delays the writer; and
//! nothing here waits for the writer: a writer stopped anywhere, even between two stores of
//! one update, leaves every read able to complete. Per method:
//! - `best_bid`, `best_ask`, `len`, `sequence`: wait-free, a fixed number of loads, no pin.
//! - `depth_at`: wait-free in the book (a bounded index probe and one word of the level's
//!   stable copy), after an epoch pin. The pin is crossbeam-epoch's and is lock-free, not
//!   wait-free: a thread's first pin registers it with a compare-and-swap loop, and every
//!   128th pin helps collect garbage through lock-free queues.
//! - `top_of_book`: lock-free, no pin; it retries only when the writer published new best
//!   prices during the read.
//! - `level`, `depth`: lock-free (epoch pin, then reads that retry only when the writer
//!   began another update of what they were reading, so every retry means it progressed).

use std::sync::Arc;

use crossbeam_epoch::{self as epoch, Guard};

use super::{BookCore, Depth, DepthLevel};
use crate::ids::generated_order_id;
use crate::level::LevelSnapshot;
use crate::primitive::sync::atomic::Ordering;
use crate::scale::Scale;
use crate::skiplist::Node;
use crate::types::{Lots, OrderId, Side, Ticks};

/// A read-only handle on one book: cheap to clone, `Send + Sync`.
/// ```
/// fn shared<T: Send + Sync + Clone>() {}
/// shared::<lft_engine::BookReader>();
/// ```
#[derive(Clone)]
pub struct BookReader {
    pub(super) core: Arc<BookCore>,
}

impl BookReader {
    /// Instrument name.
    pub fn symbol(&self) -> &str {
        &self.core.config.symbol
    }

    /// Tick and lot size.
    pub fn scale(&self) -> &Scale {
        &self.core.config.scale
    }

    /// A fresh UUID-shaped id, deterministic per book (same symbol, same n-th draw).
    /// Wait-free (one fetch-add); changes no order.
    pub fn next_order_id(&self) -> OrderId {
        let n = self.core.shared.id_counter.fetch_add(1, Ordering::Relaxed);
        generated_order_id(self.core.id_seed, n)
    }

    /// Highest bid in ticks after the last command. Wait-free: one load.
    pub fn best_bid(&self) -> Option<Ticks> {
        self.core.shared.best(Side::Buy)
    }

    /// Lowest ask in ticks after the last command. Wait-free: one load.
    pub fn best_ask(&self) -> Option<Ticks> {
        self.core.shared.best(Side::Sell)
    }

    /// Best bid and ask as the same command left them (so never crossed). Lock-free.
    pub fn top_of_book(&self) -> (Option<Ticks>, Option<Ticks>) {
        self.core.shared.top()
    }

    fn side_depth(&self, side: Side, n: usize, guard: &Guard) -> Option<Vec<DepthLevel>> {
        let mut levels = Vec::with_capacity(n.min(64));
        let mut last_key = i64::MIN;
        let mut node = self.core.shared.ladder(side).list.first(guard);
        // SAFETY: nodes reachable from the head are protected by `guard`.
        while let Some(nd) = unsafe { node.as_ref() } {
            if levels.len() >= n {
                break;
            }
            if nd.key <= last_key {
                return None; // walked through a node that moved: the view is not ordered
            }
            last_key = nd.key;
            let (quantity, order_count) = nd.level.counters.read_pair();
            if order_count > 0 {
                levels.push(DepthLevel { price: nd.level.price, quantity, order_count });
            }
            node = nd.next(guard);
        }
        Some(levels)
    }

    /// Top `n` levels per side, best first; never crossed, each level untorn. Lock-free: it
    /// retries only when the writer changed the ladder while it was being walked.
    pub fn depth(&self, n: usize) -> Depth {
        let guard = epoch::pin();
        loop {
            let (Some(bids), Some(asks)) =
                (self.side_depth(Side::Buy, n, &guard), self.side_depth(Side::Sell, n, &guard))
            else {
                continue;
            };
            if let (Some(b), Some(a)) = (bids.first(), asks.first()) {
                if b.price >= a.price {
                    // Bids read before a command and asks after it: read again.
                    continue;
                }
            }
            return Depth { bids, asks };
        }
    }

    fn with_level<R>(&self, side: Side, price: Ticks, f: impl FnOnce(&Node) -> R) -> Option<R> {
        let guard = epoch::pin();
        let s = self.core.shared.ladder(side).index.get(price, &guard);
        // SAFETY: indexed nodes are retired only through the epoch; `guard` is pinned.
        unsafe { s.as_ref() }.map(f)
    }

    /// Number of non-empty price levels on one side. Walks the side (O(levels)); lock-free
    /// like [`BookReader::depth`].
    pub fn level_count(&self, side: Side) -> usize {
        let guard = epoch::pin();
        'retry: loop {
            let mut count = 0;
            let mut last_key = i64::MIN;
            let mut node = self.core.shared.ladder(side).list.first(&guard);
            // SAFETY: nodes reachable from the head are protected by `guard`.
            while let Some(nd) = unsafe { node.as_ref() } {
                if nd.key <= last_key {
                    continue 'retry; // walked through a node that moved
                }
                last_key = nd.key;
                if nd.level.counters.read_pair().1 > 0 {
                    count += 1;
                }
                node = nd.next(&guard);
            }
            return count;
        }
    }

    /// Visible quantity resting at one price (0 if none). Wait-free in the book (a bounded
    /// index probe and one word), after a lock-free epoch pin (see the module comment).
    pub fn depth_at(&self, side: Side, price: Ticks) -> Lots {
        self.with_level(side, price, |n| n.level.counters.visible()).unwrap_or(0)
    }

    /// Statistics of one price level (also of a recently emptied one), all from one update.
    /// `None` for a price that never had activity, including a level the writer has just
    /// created and not yet filled in. Lock-free.
    pub fn level(&self, side: Side, price: Ticks) -> Option<LevelSnapshot> {
        self.with_level(side, price, |n| n.level.counters.snapshot(side, price))
            .filter(|s| s.first_activity.is_some())
    }

    /// Number of resting orders after the last command. Wait-free: one load.
    pub fn len(&self) -> usize {
        self.core.shared.resting()
    }

    /// No resting orders.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence number of the last event. Wait-free: one load.
    pub fn sequence(&self) -> u64 {
        self.core.shared.sequence.load(Ordering::Acquire)
    }
}
