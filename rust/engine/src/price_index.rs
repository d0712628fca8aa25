//! Lock-free (single-writer, multi-reader) open-addressing map from price to level node,
//! giving O(1) level lookup to the writer and O(1) `depth_at` to readers.
//!
//! A slot's key is written once and never changes while the table lives; removing a price
//! only nulls its node pointer. So a reader probing the table can never be misled by a slot
//! being reused for another price. Tables fill with dead keys over time; the writer then
//! builds a fresh table holding the live entries and retires the old one through the epoch.

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};

use crate::primitive::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use crate::skiplist::Node;
use crate::types::Ticks;

const EMPTY: i64 = i64::MIN;
const MIN_CAPACITY: usize = 64;

struct Slot {
    key: AtomicI64,
    node: Atomic<Node>,
}

struct Table {
    mask: usize,
    slots: Box<[Slot]>,
}

impl Table {
    fn with_capacity(cap: usize) -> Self {
        let cap = cap.next_power_of_two().max(MIN_CAPACITY);
        let slots = (0..cap).map(|_| Slot { key: AtomicI64::new(EMPTY), node: Atomic::null() }).collect();
        Table { mask: cap - 1, slots }
    }

    #[inline]
    fn home(&self, price: Ticks) -> usize {
        // Fibonacci hashing: consecutive ticks spread over the table.
        ((price as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize & self.mask
    }

    /// Slot holding `price`, or the empty slot where it would go.
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
    pub(crate) fn get<'g>(&self, price: Ticks, guard: &'g Guard) -> Shared<'g, Node> {
        let table = self.table.load(Ordering::Acquire, guard);
        // SAFETY: the table is retired only through the epoch, so it lives while `guard` does.
        let table = unsafe { table.deref() };
        match table.probe(price) {
            (slot, true) => slot.node.load(Ordering::Acquire, guard),
            _ => Shared::null(),
        }
    }

    /// Writer only: map `price` to `node` (the price must currently map to nothing).
    pub(crate) fn insert(&self, price: Ticks, node: Shared<'_, Node>, guard: &Guard) {
        let used = self.used.load(Ordering::Relaxed);
        // SAFETY: as in `get`.
        let mut table = unsafe { self.table.load(Ordering::Acquire, guard).deref() };
        if (used + 1) * 2 > table.slots.len() {
            table = self.rebuild(guard);
        }
        let (slot, found) = table.probe(price);
        if !found {
            slot.node.store(node, Ordering::Relaxed);
            slot.key.store(price, Ordering::Release);
            self.used.store(self.used.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        } else {
            slot.node.store(node, Ordering::Release);
        }
        self.live.store(self.live.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Writer only: unmap `price`.
    pub(crate) fn remove(&self, price: Ticks, guard: &Guard) {
        // SAFETY: as in `get`.
        let table = unsafe { self.table.load(Ordering::Acquire, guard).deref() };
        if let (slot, true) = table.probe(price) {
            if !slot.node.load(Ordering::Relaxed, guard).is_null() {
                slot.node.store(Shared::null(), Ordering::Release);
                self.live.store(self.live.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
            }
        }
    }

    /// Writer only: copy live entries into a fresh table sized for them and publish it.
    fn rebuild<'g>(&self, guard: &'g Guard) -> &'g Table {
        let old_shared = self.table.load(Ordering::Acquire, guard);
        // SAFETY: as in `get`.
        let old = unsafe { old_shared.deref() };
        let live = self.live.load(Ordering::Relaxed);
        let fresh = Table::with_capacity((live + 1) * 4);
        let mut used = 0;
        for slot in old.slots.iter() {
            let node = slot.node.load(Ordering::Relaxed, guard);
            let key = slot.key.load(Ordering::Relaxed);
            if key != EMPTY && !node.is_null() {
                let (dst, _) = fresh.probe(key);
                dst.node.store(node, Ordering::Relaxed);
                dst.key.store(key, Ordering::Relaxed);
                used += 1;
            }
        }
        self.used.store(used, Ordering::Relaxed);
        let fresh = Owned::new(fresh).into_shared(guard);
        self.table.store(fresh, Ordering::Release);
        // SAFETY: the old table is unreachable for new readers; pinned readers keep it alive.
        // A real pin: the caller's guard may be the writer's `unprotected()` one.
        unsafe { crossbeam_epoch::pin().defer_destroy(old_shared) };
        // SAFETY: just published; retired only by a later rebuild through the epoch.
        unsafe { fresh.deref() }
    }

    /// Writer only (or at drop): every node currently mapped.
    pub(crate) fn nodes<'g>(&self, guard: &'g Guard) -> Vec<Shared<'g, Node>> {
        // SAFETY: as in `get`.
        let table = unsafe { self.table.load(Ordering::Acquire, guard).deref() };
        table.slots.iter().map(|s| s.node.load(Ordering::Relaxed, guard)).filter(|n| !n.is_null()).collect()
    }

    /// Free the table itself. Nodes are freed by the caller.
    ///
    /// # Safety
    /// No other thread may access the index any more (called from `Drop`).
    pub(crate) unsafe fn destroy_table(&self, guard: &Guard) {
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
        // SAFETY: the node is owned by the test and freed explicitly at its end.
        let guard = unsafe { epoch::unprotected() };
        Owned::new(Node::new(Side::Sell, price, 1)).into_shared(guard)
    }

    #[test]
    fn lookups_survive_removals_reinserts_and_rebuilds() {
        let index = PriceIndex::default();
        let guard = &epoch::pin();
        let nodes: Vec<_> = (1..=1_000).map(node).collect();
        for (i, n) in nodes.iter().enumerate() {
            index.insert(i as Ticks + 1, *n, guard);
        }
        for p in (1..=1_000).step_by(2) {
            index.remove(p, guard);
        }
        // Re-insert one removed price: it must reuse its dead slot, not duplicate the key.
        index.insert(1, nodes[0], guard);
        for p in 1..=1_000 {
            let found = index.get(p, guard);
            let expect_present = p == 1 || p % 2 == 0;
            assert_eq!(!found.is_null(), expect_present, "price {p}");
            if expect_present {
                assert_eq!(found, nodes[p as usize - 1]);
            }
        }
        assert!(index.get(5_000, guard).is_null());
        assert_eq!(index.live.load(Ordering::Relaxed), 501);
        for n in nodes {
            // SAFETY: test-owned nodes, freed once.
            drop(unsafe { n.into_owned() });
        }
        // SAFETY: no other thread uses the index.
        unsafe { index.destroy_table(guard) };
    }
}
