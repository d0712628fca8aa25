//! Single-writer, multi-reader skiplist of price levels on crossbeam-epoch.
//!
//! Protocol (checked by the loom models at the end of this file):
//! - Only the book's writer (the one `BookWriter`) links and unlinks nodes, loading through
//!   its [`LoadGuard`]; readers load through a pinned `Guard`.
//! - Publish: a new node's tower is filled first, then predecessors point to it bottom-up
//!   with `Release`, so a reader that sees the node sees its initialised contents.
//! - Unlink: predecessors skip the node top-down; the node keeps its own `next` pointers,
//!   so a reader standing on it can still walk on.
//! - Reclaim: a node is retired (through [`crate::reclaim::retire`], a real pin) only once it
//!   is out of the list *and* out of the price index; readers pinned earlier keep it alive.
//! - Readers walk level 0 only, starting from the head. A node obtained from the price index
//!   is read, never walked from (its `next` may be stale once it has been unlinked).

use crossbeam_epoch::{Atomic, Owned, Shared};

use crate::level::Level;
use crate::primitive::sync::atomic::Ordering;
use crate::reclaim::{LoadGuard, Protect};
use crate::types::{Side, Ticks};

/// Tower height cap: with p = 1/4 this serves ~4^12 levels at full speed.
pub(crate) const MAX_HEIGHT: usize = 12;

/// A skiplist node: one price level.
pub(crate) struct Node {
    /// Ordering key: asks use `price`, bids `-price`, so the best level is always first.
    pub key: i64,
    height: usize,
    next: [Atomic<Node>; MAX_HEIGHT],
    /// The level's data.
    pub level: Level,
}

impl Node {
    pub(crate) fn new(side: Side, price: Ticks, height: usize) -> Self {
        Node {
            key: order_key(side, price),
            height: height.clamp(1, MAX_HEIGHT),
            next: Default::default(),
            level: Level::new(side, price),
        }
    }

    /// Next node on level 0 (readers and writer).
    #[inline]
    pub(crate) fn next<'g>(&self, guard: &'g impl Protect) -> Shared<'g, Node> {
        guard.load(&self.next[0], Ordering::Acquire)
    }
}

/// Skiplist ordering key for a price on a side (best first).
#[inline]
pub(crate) fn order_key(side: Side, price: Ticks) -> i64 {
    match side {
        Side::Sell => price,
        Side::Buy => -price,
    }
}

/// The list head: one tower of pointers, no payload.
#[derive(Default)]
pub(crate) struct SkipList {
    head: [Atomic<Node>; MAX_HEIGHT],
}

impl SkipList {
    /// First (best) node. O(1).
    #[inline]
    pub(crate) fn first<'g>(&self, guard: &'g impl Protect) -> Shared<'g, Node> {
        guard.load(&self.head[0], Ordering::Acquire)
    }

    /// For each height, the slot that points at the first node with key >= `key`.
    fn predecessors<'g>(&'g self, key: i64, guard: &'g LoadGuard) -> [&'g Atomic<Node>; MAX_HEIGHT] {
        let mut preds: [&Atomic<Node>; MAX_HEIGHT] = core::array::from_fn(|i| &self.head[i]);
        let mut tower: &'g [Atomic<Node>; MAX_HEIGHT] = &self.head;
        for h in (0..MAX_HEIGHT).rev() {
            loop {
                let next = guard.load(&tower[h], Ordering::Acquire);
                // SAFETY: nodes reachable from the head are protected by `guard`.
                match unsafe { next.as_ref() } {
                    Some(n) if n.key < key => tower = &n.next,
                    _ => break,
                }
            }
            preds[h] = &tower[h];
        }
        preds
    }

    /// Writer only: allocate and link a new node.
    pub(crate) fn insert<'g>(&self, node: Node, guard: &'g LoadGuard) -> Shared<'g, Node> {
        let shared = guard.adopt(Owned::new(node));
        self.link(shared, guard);
        shared
    }

    /// Writer only: link a node that is not currently in the list (new or retained).
    pub(crate) fn link(&self, node: Shared<'_, Node>, guard: &LoadGuard) {
        // SAFETY: the caller owns `node` (just allocated or retained, not yet reclaimed).
        let n = unsafe { node.deref() };
        let preds = self.predecessors(n.key, guard);
        for (h, pred) in preds.iter().enumerate().take(n.height) {
            // Release: a reader still standing on a relinked node may follow this pointer.
            n.next[h].store(guard.load(pred, Ordering::Relaxed), Ordering::Release);
        }
        for pred in preds.iter().take(n.height) {
            crate::stop_point::hit();
            pred.store(node, Ordering::Release);
        }
    }

    /// Writer only: unlink a node that is in the list. Its memory is not touched.
    pub(crate) fn unlink(&self, node: Shared<'_, Node>, guard: &LoadGuard) {
        // SAFETY: the node is in the list, hence alive under `guard`.
        let n = unsafe { node.deref() };
        let preds = self.predecessors(n.key, guard);
        for h in (0..n.height).rev() {
            debug_assert!(guard.load(preds[h], Ordering::Relaxed) == node);
            crate::stop_point::hit();
            preds[h].store(guard.load(&n.next[h], Ordering::Relaxed), Ordering::Release);
        }
    }
}

/// Loom model of the publish / unlink / reclaim protocol: one writer, several readers.
/// Run with `make loom` (RUSTFLAGS="--cfg loom --cfg crossbeam_loom").
#[cfg(all(test, loom))]
mod loom_model {
    use crossbeam_epoch::{Collector, Shared};
    use loom::sync::Arc;
    use loom::thread;

    use super::*;
    use crate::level::LevelDelta;

    /// Walk level 0 the way `OrderBook::depth` does and check what a reader may rely on.
    fn read_all(list: &SkipList, guard: &Guard) -> Vec<i64> {
        let mut keys = Vec::new();
        let mut node = list.first(guard);
        // SAFETY: reachable from the head under `guard`.
        while let Some(n) = unsafe { node.as_ref() } {
            assert!(keys.last().is_none_or(|&k| k < n.key), "keys out of order: {keys:?} then {}", n.key);
            let (qty, count) = n.level.counters.read_pair();
            // A level's pair always comes from one writer step: 5 lots per order.
            assert_eq!(qty, 5 * count as i64, "torn level: qty {qty} count {count}");
            keys.push(n.key);
            node = n.next(guard);
        }
        keys
    }

    fn free_all(list: &SkipList) {
        // SAFETY: the model is over; no thread can reach the list.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let mut node = list.first(guard);
        while !node.is_null() {
            // SAFETY: exclusive access; each node freed once.
            let next = unsafe { node.deref() }.next(guard);
            drop(unsafe { node.into_owned() });
            node = next;
        }
    }

    #[test]
    fn readers_see_ordered_untorn_levels_while_writer_publishes_and_reclaims() {
        loom::model(|| {
            let collector = Collector::new();
            let list = Arc::new(SkipList::default());
            let writer = collector.register();
            {
                let g = writer.pin();
                let n = list.insert(Node::new(Side::Sell, 10, 1), &g);
                // SAFETY: just inserted, alive under `g`.
                unsafe { n.deref() }
                    .level
                    .counters
                    .apply(&LevelDelta { visible: 5, orders: 1, ..Default::default() }, 0);
            }
            let reader_count = std::env::var("LOOM_READERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
            let readers: Vec<_> = (0..reader_count)
                .map(|_| {
                    let list = list.clone();
                    let collector = collector.clone();
                    thread::spawn(move || {
                        let handle = collector.register();
                        let guard = handle.pin();
                        let keys = read_all(&list, &guard);
                        assert!(keys.iter().all(|k| [10, 20].contains(k)), "unexpected keys {keys:?}");
                    })
                })
                .collect();
            {
                let g = writer.pin();
                let n20 = list.insert(Node::new(Side::Sell, 20, 1), &g);
                // SAFETY: alive under `g`.
                unsafe { n20.deref() }
                    .level
                    .counters
                    .apply(&LevelDelta { visible: 5, orders: 1, ..Default::default() }, 1);
                let first: Shared<'_, Node> = list.first(&g);
                list.unlink(first, &g);
                // SAFETY: unlinked and never reachable again; pinned readers keep it alive.
                unsafe { g.defer_destroy(first) };
            }
            writer.pin().flush();
            for r in readers {
                r.join().unwrap();
            }
            free_all(&list);
        });
    }
}
