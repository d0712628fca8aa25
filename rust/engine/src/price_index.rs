//! Single-writer, multi-reader open-addressing map from price to level node. Reader lookups
//! are wait-free: keys are written once and the table is at most half full, so a probe ends
//! within `len / 2 + 1` slots (O(1) expected). Writer inserts are O(1) amortised: a table
//! full of dead keys is rebuilt in O(live levels).
//!
//! A slot's key is written once and never changes while the table lives; removing a price
//! only nulls its node pointer. So a reader probing the table can never be misled by a slot
//! being reused for another price. Tables fill with dead keys over time; the writer then
//! builds a fresh table holding the live entries and retires the old one through the epoch.

use crossbeam_epoch::{Atomic, Owned, Shared};

use crate::primitive::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use crate::reclaim::{retire, LoadGuard, Protect};
use crate::skiplist::Node;
use crate::types::Ticks;

const EMPTY: i64 = i64::MIN;
#[cfg(not(loom))]
const MIN_CAPACITY: usize = 64;
/// Small under loom, so that a model with a handful of prices makes the writer rebuild.
#[cfg(loom)]
const MIN_CAPACITY: usize = 4;

/// Largest height an index slot's pointer tag holds: a node's tower height is kept in the
/// tag (the three low bits a `Node`'s 8-byte alignment leaves free), capped here, so that
/// the writer's neighbour probes ([`PriceIndex::get_with_height`]) can skip a level too
/// short to matter without touching its node.
const HEIGHT_TAG_CAP: usize = 7;
const _: () = assert!(core::mem::align_of::<Node>() > HEIGHT_TAG_CAP);

/// A level's tower height as its index slot records it (capped at [`HEIGHT_TAG_CAP`]).
#[derive(Clone, Copy)]
pub(crate) struct HeightHint(usize);

impl HeightHint {
    /// Whether the node may be taller than `height`: exactly when it is, below the cap;
    /// always, at the cap.
    #[inline]
    pub(crate) fn may_exceed(self, height: usize) -> bool {
        self.0 > height || self.0 == HEIGHT_TAG_CAP
    }
}

struct Slot {
    key: AtomicI64,
    node: Atomic<Node>,
}

struct Table {
    mask: usize,
    slots: Box<[Slot]>,
    /// Loom only: catches a reader on a table it did not see published, or on a freed one.
    #[cfg(loom)]
    canary: crate::primitive::Canary,
}

impl Table {
    fn with_capacity(cap: usize) -> Self {
        let cap = cap.next_power_of_two().max(MIN_CAPACITY);
        let slots = (0..cap).map(|_| Slot { key: AtomicI64::new(EMPTY), node: Atomic::null() }).collect();
        Table {
            mask: cap - 1,
            slots,
            #[cfg(loom)]
            canary: crate::primitive::Canary::new(cap as u64),
        }
    }

    #[inline]
    fn home(&self, price: Ticks) -> usize {
        // Fibonacci hashing: consecutive ticks spread over the table.
        ((price as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize & self.mask
    }

    /// Slot holding `price`, or the empty slot where it would go. Wait-free: keys are
    /// written once, and the writer keeps the table at most half full, so the probe ends
    /// within the table's length.
    #[inline]
    fn probe(&self, price: Ticks) -> (&Slot, bool) {
        let mut i = self.home(price);
        loop {
            let slot = &self.slots[i];
            let k = slot.key.load(Ordering::Acquire);
            if k == price {
                return (slot, true);
            }
            if k == EMPTY {
                return (slot, false);
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// Map from price (ticks) to the level node of one side.
pub(crate) struct PriceIndex {
    table: Atomic<Table>,
    /// Slots whose key is set (live or dead). Writer only.
    used: AtomicUsize,
    /// Prices currently mapped to a node. Writer only.
    live: AtomicUsize,
}

impl Default for PriceIndex {
    fn default() -> Self {
        PriceIndex {
            table: Atomic::new(Table::with_capacity(MIN_CAPACITY)),
            used: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
        }
    }
}

impl PriceIndex {
    /// Any thread: the node for `price`, if any. O(1) expected.
    #[inline]
    pub(crate) fn get<'g>(&self, price: Ticks, guard: &'g impl Protect) -> Shared<'g, Node> {
        self.get_with_height(price, guard).0
    }

    /// Any thread: the node for `price`, if any, with its tower height as the slot records
    /// it (read without touching the node). O(1) expected.
    #[inline]
    pub(crate) fn get_with_height<'g>(
        &self,
        price: Ticks,
        guard: &'g impl Protect,
    ) -> (Shared<'g, Node>, HeightHint) {
        let table = guard.load(&self.table, Ordering::Acquire);
        // SAFETY: the table is retired only through the epoch, so it lives while `guard` does.
        let table = unsafe { table.deref() };
        #[cfg(loom)]
        table.canary.check(table.slots.len() as u64, "price index table");
        let tagged = match table.probe(price) {
            (slot, true) => guard.load(&slot.node, Ordering::Acquire),
            _ => Shared::null(),
        };
        let node = tagged.with_tag(0);
        #[cfg(loom)]
        Node::check_loaded(node);
        (node, HeightHint(tagged.tag()))
    }

    /// Writer only: map `price` to `node` (the price must currently map to nothing). The
    /// slot records the node's height (read from the node) for [`PriceIndex::get_with_height`].
    ///
    /// # Safety
    /// `node` is alive (the index keeps it until the writer removes the price and retires it).
    pub(crate) unsafe fn insert(&self, price: Ticks, node: Shared<'_, Node>, guard: &LoadGuard) {
        // SAFETY: the caller's promise.
        let height = unsafe { node.deref() }.height().min(HEIGHT_TAG_CAP);
        let node = node.with_tag(height);
        let used = self.used.load(Ordering::Relaxed);
        // SAFETY: as in `get`.
        let mut table = unsafe { guard.load(&self.table, Ordering::Acquire).deref() };
        if (used + 1) * 2 > table.slots.len() {
            table = self.rebuild(guard);
        }
        let (slot, found) = table.probe(price);
        if !found {
            slot.node.store(node, Ordering::Relaxed);
            crate::stop_point::hit();
            slot.key.store(price, crate::primitive::mutant::ordering("index-key-relaxed", Ordering::Release));
            self.used.store(self.used.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        } else {
            slot.node.store(node, Ordering::Release);
        }
        self.live.store(self.live.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Writer only: unmap `price`.
    pub(crate) fn remove(&self, price: Ticks, guard: &LoadGuard) {
        // SAFETY: as in `get`.
        let table = unsafe { guard.load(&self.table, Ordering::Acquire).deref() };
        if let (slot, true) = table.probe(price) {
            if !guard.load(&slot.node, Ordering::Relaxed).is_null() {
                crate::stop_point::hit();
                slot.node.store(Shared::null(), Ordering::Release);
                self.live.store(self.live.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
            }
        }
    }

    /// Writer only: copy live entries into a fresh table sized for them and publish it.
    fn rebuild<'g>(&self, guard: &'g LoadGuard) -> &'g Table {
        let old_shared = guard.load(&self.table, Ordering::Acquire);
        // SAFETY: as in `get`.
        let old = unsafe { old_shared.deref() };
        let live = self.live.load(Ordering::Relaxed);
        let fresh = Table::with_capacity((live + 1) * 4);
        let mut used = 0;
        for slot in old.slots.iter() {
            let node = guard.load(&slot.node, Ordering::Relaxed);
            let key = slot.key.load(Ordering::Relaxed);
            if key != EMPTY && !node.is_null() {
                let (dst, _) = fresh.probe(key);
                dst.node.store(node, Ordering::Relaxed);
                dst.key.store(key, Ordering::Relaxed);
                used += 1;
            }
        }
        self.used.store(used, Ordering::Relaxed);
        let fresh = guard.adopt(Owned::new(fresh));
        crate::stop_point::hit();
        self.table.store(fresh, crate::primitive::mutant::ordering("index-table-relaxed", Ordering::Release));
        // SAFETY: the old table is unreachable for new readers; pinned readers keep it alive.
        unsafe { retire(old_shared) };
        // SAFETY: just published; retired only by a later rebuild through the epoch.
        unsafe { fresh.deref() }
    }

    /// Writer only (or at drop): every node currently mapped.
    pub(crate) fn nodes<'g>(&self, guard: &'g impl Protect) -> Vec<Shared<'g, Node>> {
        // SAFETY: as in `get`.
        let table = unsafe { guard.load(&self.table, Ordering::Acquire).deref() };
        let nodes = table.slots.iter().map(|s| guard.load(&s.node, Ordering::Relaxed).with_tag(0));
        nodes.filter(|n| !n.is_null()).collect()
    }

    /// Free the table itself. Nodes are freed by the caller.
    ///
    /// # Safety
    /// No other thread may access the index any more (called from `Drop`).
    pub(crate) unsafe fn destroy_table(&self) {
        // SAFETY: exclusive access per the contract above, so nothing is retired concurrently.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let t = self.table.swap(Shared::null(), Ordering::Relaxed, guard);
        if !t.is_null() {
            // SAFETY: exclusive access per the contract above.
            drop(unsafe { t.into_owned() });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crossbeam_epoch as epoch;

    use super::*;
    use crate::types::Side;

    fn node(price: Ticks) -> Shared<'static, Node> {
        Shared::from(Box::into_raw(Box::new(Node::new(Side::Sell, price, 1))) as *const Node)
    }

    /// Every mapped price's slot keeps its node's height, capped, through rebuilds (200
    /// prices in a table that starts at 64 slots) and reuse of a dead slot; lookups and
    /// `nodes` return the plain node pointer.
    #[test]
    fn slots_keep_capped_heights_through_rebuilds_and_reinserts() {
        let index = PriceIndex::default();
        // SAFETY: this test is the index's only writer and retires only through `retire`.
        let guard = &unsafe { LoadGuard::new() };
        let height = |p: Ticks| 1 + p as usize % crate::skiplist::MAX_HEIGHT;
        let nodes: Vec<_> = (1..=200)
            .map(
                |p| Shared::from(Box::into_raw(Box::new(Node::new(Side::Sell, p, height(p)))) as *const Node),
            )
            .collect();
        for (p, &n) in (1..).zip(&nodes) {
            // SAFETY: test-owned nodes, freed at the end.
            unsafe { index.insert(p, n, guard) };
        }
        for p in (1..=200).step_by(2) {
            index.remove(p, guard);
        }
        for p in (1..=200).step_by(4) {
            // SAFETY: as above. The price's dead slot is reused.
            unsafe { index.insert(p, nodes[p as usize - 1], guard) };
        }
        let live = |p: Ticks| p % 2 == 0 || p % 4 == 1;
        for (p, &n) in (1..).zip(&nodes) {
            let (found, hint) = index.get_with_height(p, guard);
            if !live(p) {
                assert!(found.is_null() && index.get(p, guard).is_null(), "price {p}");
                continue;
            }
            let h = height(p);
            assert_eq!((found, index.get(p, guard)), (n, n), "price {p}");
            assert!(hint.may_exceed(h - 1), "price {p} of height {h}");
            // Exact below the cap; at the cap, "maybe taller" whatever is asked.
            assert_eq!(hint.may_exceed(h), h >= HEIGHT_TAG_CAP, "price {p} of height {h}");
            assert_eq!(hint.may_exceed(h + 5), h >= HEIGHT_TAG_CAP, "price {p} of height {h}");
        }
        let mapped = index.nodes(guard);
        assert_eq!(mapped.len(), (1..=200).filter(|&p| live(p)).count());
        assert!(mapped.iter().all(|n| nodes.contains(n)));
        for n in nodes {
            // SAFETY: test-owned nodes, freed once.
            drop(unsafe { n.into_owned() });
        }
        // SAFETY: no other thread uses the index.
        unsafe { index.destroy_table() };
    }

    #[test]
    fn lookups_survive_removals_reinserts_and_rebuilds() {
        // Under Miri (every step interpreted) 200 prices: still several rebuilds.
        let prices: Ticks = if cfg!(miri) { 200 } else { 1_000 };
        let index = PriceIndex::default();
        // SAFETY: this test is the index's only writer and retires only through `retire`.
        let guard = &unsafe { LoadGuard::new() };
        let reader = &epoch::pin();
        let nodes: Vec<_> = (1..=prices).map(node).collect();
        for (i, n) in nodes.iter().enumerate() {
            // SAFETY: test-owned nodes, freed at the end.
            unsafe { index.insert(i as Ticks + 1, *n, guard) };
        }
        for p in (1..=prices).step_by(2) {
            index.remove(p, guard);
        }
        // Re-insert one removed price: it must reuse its dead slot, not duplicate the key.
        // SAFETY: as above.
        unsafe { index.insert(1, nodes[0], guard) };
        for p in 1..=prices {
            let found = index.get(p, reader);
            let expect_present = p == 1 || p % 2 == 0;
            assert_eq!(!found.is_null(), expect_present, "price {p}");
            if expect_present {
                assert_eq!(found, nodes[p as usize - 1]);
            }
        }
        assert!(index.get(5 * prices, reader).is_null());
        assert_eq!(index.live.load(Ordering::Relaxed), prices as usize / 2 + 1);
        for n in nodes {
            // SAFETY: test-owned nodes, freed once.
            drop(unsafe { n.into_owned() });
        }
        // SAFETY: no other thread uses the index.
        unsafe { index.destroy_table() };
    }
}

/// Loom model of the index's publish, rebuild and retire (`MIN_CAPACITY` is 4 under loom,
/// so the third key makes the writer rebuild). The writer loads through its unpinned
/// [`LoadGuard`]; readers pin the default collector, as `BookReader` does. Tables and nodes
/// carry a loom canary, checked by every `get`, so a reader on a table or node it did not
/// see published, or on a freed one, fails the model.
#[cfg(all(test, loom))]
mod loom_model {
    use crossbeam_epoch as epoch;
    use loom::sync::Arc;

    use super::*;
    use crate::types::Side;

    fn node(price: Ticks, g: &LoadGuard) -> Shared<'_, Node> {
        g.adopt(Owned::new(Node::new(Side::Sell, price, 1)))
    }

    /// The writer removes price 2 and inserts price 3, which makes it rebuild (price 1 is
    /// copied into a fresh table that is published, the old one retired, and the epoch then
    /// advanced far enough to free it), then inserts price 4 into the fresh table (a node
    /// built after that table was published, so only the key's publish orders it), while
    /// readers probe: price 1 is always found, and is the node it was mapped to; 2, 3 and 4
    /// are found or not (each either way is a moment of the writer's history), 9 never; every
    /// table and node a reader reaches is published and alive. Weakening the key publish or
    /// the table publish to `Relaxed`, or retiring without a pin, fails this model.
    #[test]
    fn loom_index_probes_find_live_prices_across_a_rebuild_and_retire() {
        loom::model(|| {
            // SAFETY: the main thread is the index's only writer; it retires through `retire`.
            let g = &unsafe { LoadGuard::new() };
            let index = Arc::new(PriceIndex::default());
            let (n1, n2) = (node(1, g), node(2, g));
            // SAFETY: the model's nodes live until its end.
            unsafe {
                index.insert(1, n1, g);
                index.insert(2, n2, g);
            }
            let one = n1.as_raw() as usize;
            let readers: Vec<_> = (0..crate::primitive::model_readers())
                .map(|_| {
                    let index = Arc::clone(&index);
                    loom::thread::spawn(move || {
                        let guard = &epoch::pin();
                        assert_eq!(index.get(1, guard).as_raw() as usize, one, "lost price 1");
                        for p in [2, 3, 4] {
                            // SAFETY: pinned; a mapped node is retired only through the epoch.
                            if let Some(n) = unsafe { index.get(p, guard).as_ref() } {
                                assert_eq!(n.level.price, p, "price {p} mapped to another level");
                            }
                        }
                        assert!(index.get(9, guard).is_null(), "found a price never inserted");
                    })
                })
                .collect();
            index.remove(2, g);
            let n3 = node(3, g);
            // SAFETY: as above.
            unsafe { index.insert(3, n3, g) };
            let n4 = node(4, g);
            // SAFETY: as above.
            unsafe { index.insert(4, n4, g) };
            for _ in 0..2 {
                epoch::pin().flush();
            }
            for r in readers {
                r.join().unwrap();
            }
            // SAFETY: as in `get`.
            let table = unsafe { g.load(&index.table, Ordering::Acquire).deref() };
            assert_eq!(table.slots.len(), 8, "the third key did not make the writer rebuild");
            assert_eq!(index.get(1, g), n1);
            assert!(index.get(2, g).is_null());
            assert_eq!(index.get(3, g), n3);
            assert_eq!(index.get(4, g), n4);
            for n in [n1, n2, n3, n4] {
                // SAFETY: no other thread is left; each node freed once.
                drop(unsafe { n.into_owned() });
            }
            // SAFETY: as above.
            unsafe { index.destroy_table() };
        });
    }
}
