//! The writer's map from order id to arena slot, storing only the slot (4 bytes a bucket):
//! the id it stands for is read from the order in the slot, which every lookup reads next
//! anyway. A map of (id, slot) pairs costs 24 bytes a bucket, about 50 bytes per resting
//! order at a million orders; this one costs about 10.

use hashbrown::HashTable;

use crate::arena::Arena;
use crate::ids::{BuildIdHasher, PackedId};
use std::hash::BuildHasher;

/// Order id -> arena slot of the resting order with that id. Writer only.
#[derive(Default)]
pub(crate) struct IdIndex {
    slots: HashTable<u32>,
}

#[inline]
fn hash(id: PackedId) -> u64 {
    BuildIdHasher.hash_one(id)
}

impl IdIndex {
    /// An index with room for `capacity` ids reserved (an error, not an abort, if that
    /// memory cannot be had).
    pub(crate) fn try_with_capacity(capacity: usize) -> Result<Self, String> {
        let mut slots = HashTable::new();
        slots
            .try_reserve(capacity, |_: &u32| 0)
            .map_err(|e| format!("id index of {capacity} entries: {e:?}"))?;
        Ok(IdIndex { slots })
    }

    /// Ids mapped.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The slot of the order with `id`, if one rests.
    #[inline]
    pub(crate) fn get(&self, arena: &Arena, id: PackedId) -> Option<u32> {
        self.slots.find(hash(id), |&slot| arena.get(slot).packed_id() == id).copied()
    }

    /// Whether an order with `id` rests.
    #[inline]
    pub(crate) fn contains(&self, arena: &Arena, id: PackedId) -> bool {
        self.get(arena, id).is_some()
    }

    /// Map the id of the order in `slot` (already in the arena) to `slot`. The id must not
    /// be mapped yet.
    #[inline]
    pub(crate) fn insert(&mut self, arena: &Arena, slot: u32) {
        let id = arena.get(slot).packed_id();
        debug_assert!(self.get(arena, id).is_none(), "id mapped twice");
        self.slots.insert_unique(hash(id), slot, |&s| hash(arena.get(s).packed_id()));
    }

    /// Unmap `id` (its order still in the arena, since the comparison reads it).
    #[inline]
    pub(crate) fn remove(&mut self, arena: &Arena, id: PackedId) {
        if let Ok(entry) = self.slots.find_entry(hash(id), |&slot| arena.get(slot).packed_id() == id) {
            entry.remove();
        }
    }

    /// Every mapped slot, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().copied()
    }
}
