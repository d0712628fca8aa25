//! The writer's map from order id to arena slot, storing only the slot (4 bytes a bucket):
//! the id it stands for is read from the order in the slot, which every lookup reads next
//! anyway. A map of (id, slot) pairs costs 24 bytes a bucket, about 50 bytes per resting
//! order at a million orders; this one costs about 10.
//!
//! The map never rehashes in one go. A hash table that grows in place moves every entry in
//! the insert that finds it full: at a million resting orders that one insert took 52 ms
//! (and 109 ms at 1.8M), a stall in the matching path. Here a full table instead becomes the
//! *old* table, a fresh one twice its size takes new ids, and every insert moves
//! [`MOVES_PER_INSERT`] entries from the old table into the new one. Lookups and removals
//! look in both while a move is under way. The old table is empty, and freed, long before
//! the new one can fill (see [`IdIndex::insert`]). So no insert rehashes the map: the one
//! that switches tables pays for the fresh table (an allocation and the O(buckets) fill of
//! its control bytes, 0.9 ms at 917k ids against 52 ms for the rehash), and every other
//! insert for at most 16 moves.

use hashbrown::HashTable;

use crate::arena::Arena;
use crate::ids::{BuildIdHasher, PackedId};
use std::hash::BuildHasher;

/// Entries moved from the old table to the new one per insert while a move is under way.
/// A table is replaced when full, holding `n` entries in `8n / 7` buckets, by one with room
/// for `2n`, so the move must be done within `n` inserts. Moving up to 16 entries and
/// looking at up to 64 buckets an insert finishes it within `n / 16 + n / 56` inserts: when
/// the table doubles, both tables exist (and memory is held twice) for under a tenth of the
/// inserts to the next doubling.
const MOVES_PER_INSERT: usize = 16;

/// Order id -> arena slot of the resting order with that id. Writer only.
#[derive(Default)]
pub(crate) struct IdIndex {
    /// Where ids are inserted.
    current: HashTable<u32>,
    /// The table `current` replaced when it filled: ids not yet moved (empty, with no
    /// allocation, when no move is under way).
    old: HashTable<u32>,
    /// Next bucket of `old` to move entries from.
    cursor: usize,
}

#[inline]
fn hash(id: PackedId) -> u64 {
    BuildIdHasher.hash_one(id)
}

/// The hash of the id of the order in `slot`.
#[inline]
fn hash_of(arena: &Arena, slot: u32) -> u64 {
    hash(arena.get(slot).packed_id())
}

impl IdIndex {
    /// An index with room for `capacity` ids reserved (an error, not an abort, if that
    /// memory cannot be had).
    pub(crate) fn try_with_capacity(capacity: usize) -> Result<Self, String> {
        let mut current = HashTable::new();
        current
            .try_reserve(capacity, |_: &u32| 0)
            .map_err(|e| format!("id index of {capacity} entries: {e:?}"))?;
        Ok(IdIndex { current, old: HashTable::new(), cursor: 0 })
    }

    /// Ids mapped.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.old.len()
    }

    /// The slot of the order with `id`, if one rests.
    #[inline]
    pub(crate) fn get(&self, arena: &Arena, id: PackedId) -> Option<u32> {
        let h = hash(id);
        let eq = |&slot: &u32| arena.get(slot).packed_id() == id;
        match self.current.find(h, eq) {
            Some(&slot) => Some(slot),
            None if !self.old.is_empty() => self.old.find(h, eq).copied(),
            None => None,
        }
    }

    /// Whether an order with `id` rests.
    #[inline]
    pub(crate) fn contains(&self, arena: &Arena, id: PackedId) -> bool {
        self.get(arena, id).is_some()
    }

    /// Map the id of the order in `slot` (already in the arena) to `slot`. The id must not
    /// be mapped yet.
    ///
    /// Never rehashes the whole map: when `current` is full it becomes the old table and a
    /// fresh table with room for twice as many takes its place; then each insert moves
    /// [`MOVES_PER_INSERT`] entries across. With `n` entries at the switch, the fresh table
    /// has room for `2n`, and after `k` more inserts it holds at most `n + k` entries once
    /// the move is over, which takes at most `n / 16 + n / 56` inserts: it cannot
    /// fill before the move ends, so two moves never overlap. Removals only shorten a move,
    /// and cannot fill a table early either: hashbrown spends its room only on inserts into
    /// empty buckets, never on removals. A replacement at the same size (tombstones, not
    /// entries, filled the table: `n` at most 7/16 of the buckets) ends within `n / 16` plus
    /// a sixty-fourth of the buckets, well before the fresh table's 7/8.
    #[inline]
    pub(crate) fn insert(&mut self, arena: &Arena, slot: u32) {
        let id = arena.get(slot).packed_id();
        debug_assert!(self.get(arena, id).is_none(), "id mapped twice");
        if self.current.len() == self.current.capacity() {
            self.replace_full_table(arena);
        }
        self.current.insert_unique(hash(id), slot, |&s| hash_of(arena, s));
        if !self.old.is_empty() {
            self.move_some(arena, MOVES_PER_INSERT);
        }
    }

    /// Unmap `id` (its order still in the arena, since the comparison reads it).
    #[inline]
    pub(crate) fn remove(&mut self, arena: &Arena, id: PackedId) {
        let h = hash(id);
        let eq = |&slot: &u32| arena.get(slot).packed_id() == id;
        if let Ok(entry) = self.current.find_entry(h, eq) {
            entry.remove();
        } else if !self.old.is_empty() {
            if let Ok(entry) = self.old.find_entry(h, eq) {
                entry.remove();
                if self.old.is_empty() {
                    self.finish_move();
                }
            }
        }
    }

    /// Every mapped slot, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.current.iter().chain(self.old.iter()).copied()
    }

    /// `current` has no room left: make it the old table and start a fresh one with room
    /// for twice as many entries (twice the buckets), or as many buckets if tombstones
    /// rather than entries filled it.
    #[cold]
    fn replace_full_table(&mut self, arena: &Arena) {
        debug_assert!(self.old.is_empty(), "a move outlived its fresh table (see `insert`)");
        if !self.old.is_empty() {
            // Unreachable by the bound in `insert`; if it were reached, finishing the move
            // keeps the map exact (hashbrown would grow `current` itself, in one go).
            self.move_some(arena, usize::MAX);
        }
        let buckets = self.current.num_buckets();
        let target_buckets = if self.current.capacity() == 0 {
            0
        } else if self.current.len() * 2 > buckets / 8 * 7 {
            buckets * 2
        } else {
            buckets
        };
        // hashbrown gives `c` entries `next_power_of_two(c * 8 / 7)` buckets (at least 4):
        // 7/8 of a power of two gives exactly that power.
        let capacity = (target_buckets / 8 * 7).max(self.current.len() + 1);
        self.old = std::mem::replace(&mut self.current, HashTable::with_capacity(capacity));
        self.cursor = 0;
        if self.old.is_empty() {
            self.finish_move();
        }
    }

    /// Move up to `count` entries from the old table into `current`, looking at no more than
    /// `4 * count` buckets from bucket `cursor` on; free the old table once it is empty.
    fn move_some(&mut self, arena: &Arena, count: usize) {
        let buckets = self.old.num_buckets();
        // Bounded work per call even where removals left the old table sparse.
        let scan_end = self.cursor.saturating_add(count.saturating_mul(4)).min(buckets);
        let mut moved = 0;
        while moved < count && self.cursor < scan_end {
            if let Ok(entry) = self.old.get_bucket_entry(self.cursor) {
                let (slot, _) = entry.remove();
                self.current.insert_unique(hash_of(arena, slot), slot, |&s| hash_of(arena, s));
                moved += 1;
            }
            self.cursor += 1;
        }
        if self.old.is_empty() {
            self.finish_move();
        }
    }

    /// The move is over: free the old table.
    fn finish_move(&mut self) {
        self.old = HashTable::new();
        self.cursor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arena::RestingOrder;
    use crate::types::{Side, TimeInForce};

    fn order(id: u128) -> RestingOrder {
        RestingOrder::new(id, Side::Buy, 100, 5, 5, 0, 0, TimeInForce::Gtc, false, 0)
    }

    /// Inserting far past several doublings, removing on the way (from both tables during a
    /// move), keeps every lookup exact, and every move ends with the old table freed.
    #[test]
    fn lookups_stay_exact_while_tables_are_replaced_and_moved() {
        let n: u128 = if cfg!(miri) { 600 } else { 20_000 };
        let mut arena = Arena::default();
        let mut index = IdIndex::default();
        let mut live = std::collections::BTreeMap::new();
        let mut moves_seen = 0;
        for id in 1..=n {
            let slot = arena.alloc(order(id), None).index;
            index.insert(&arena, slot);
            live.insert(id, slot);
            moves_seen += usize::from(!index.old.is_empty());
            if id % 3 == 0 {
                // Remove an older id: often one still in the old table.
                let gone = id / 2;
                if let Some(slot) = live.remove(&gone) {
                    index.remove(&arena, PackedId::from(gone));
                    arena.free(slot);
                }
            }
            if id % 97 == 0 || id == n {
                assert_eq!(index.len(), live.len());
                for (&id, &slot) in &live {
                    assert_eq!(index.get(&arena, PackedId::from(id)), Some(slot), "id {id}");
                }
                assert!(!index.contains(&arena, PackedId::from(n + 1)));
            }
        }
        assert!(moves_seen > 0, "the test never saw a move under way");
        let mut slots: Vec<u32> = index.iter().collect();
        slots.sort_unstable();
        let mut expected: Vec<u32> = live.values().copied().collect();
        expected.sort_unstable();
        assert_eq!(slots, expected);
        // Removing everything empties both tables.
        for (&id, &slot) in &live {
            index.remove(&arena, PackedId::from(id));
            arena.free(slot);
        }
        assert_eq!(index.len(), 0);
        assert_eq!(index.old.capacity(), 0, "an emptied old table is freed");
    }

    /// Each insert moves a bounded number of entries, and the fresh table never fills while
    /// a move is under way (two moves never overlap).
    #[test]
    fn a_move_ends_before_the_fresh_table_fills() {
        let n: u128 = if cfg!(miri) { 400 } else { 50_000 };
        let mut arena = Arena::default();
        let mut index = IdIndex::default();
        for id in 1..=n {
            let slot = arena.alloc(order(id), None).index;
            let old_before = index.old.len();
            let moving = !index.old.is_empty();
            index.insert(&arena, slot);
            if moving && !index.old.is_empty() {
                assert!(old_before - index.old.len() <= MOVES_PER_INSERT);
                assert!(index.current.len() < index.current.capacity(), "fresh table full mid-move");
            }
        }
    }
}
