//! Slab of resting orders with generation-checked handles (the ABA guard) and the
//! intrusive per-level FIFO links. Writer only.

use std::collections::HashMap;

use crate::ids::PackedId;
use crate::level::{LevelQueue, NIL};
use crate::skiplist::Node;
use crate::types::{Lots, OrderId, Side, Ticks, TimeInForce, Timestamp};

/// A resting order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RestingOrder {
    packed_id: PackedId,
    pub side: Side,
    pub price: Ticks,
    /// Quantity when first submitted.
    pub original: Lots,
    /// Open quantity including hidden iceberg quantity.
    pub open: Lots,
    /// Current visible slice (== open for non-icebergs).
    pub visible: Lots,
    /// Iceberg slice size, 0 for a plain order.
    pub display: Lots,
    pub filled: Lots,
    pub tif: TimeInForce,
    pub post_only: bool,
    /// Timestamp of the command that created the order.
    pub timestamp: Timestamp,
    /// When the order (or its current slice) last joined the back of its queue.
    pub queued_at: Timestamp,
    /// Sequence number of the update that first put it on the book.
    pub accept_seq: u64,
    /// The level it rests on; valid while the order rests (a level with orders is never freed).
    pub node: *const Node,
    prev: u32,
    next: u32,
    /// The slab's: the generation of the slot holding this record (kept while the slot is
    /// free, so a stale [`Handle`] never resolves), and whether the slot is occupied. Kept
    /// here, in the record's padding, rather than beside it: a slot is 112 bytes, not 120.
    slot_generation: u32,
    occupied: bool,
}

impl RestingOrder {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: OrderId,
        side: Side,
        price: Ticks,
        original: Lots,
        open: Lots,
        display: Lots,
        filled: Lots,
        tif: TimeInForce,
        post_only: bool,
        timestamp: Timestamp,
    ) -> Self {
        RestingOrder {
            packed_id: id.into(),
            side,
            price,
            original,
            open,
            visible: if display > 0 { display.min(open) } else { open },
            display,
            filled,
            tif,
            post_only,
            timestamp,
            queued_at: timestamp,
            accept_seq: 0,
            node: core::ptr::null(),
            prev: NIL,
            next: NIL,
            slot_generation: 0,
            occupied: true,
        }
    }
}

impl RestingOrder {
    /// The order's id.
    #[inline]
    pub(crate) fn id(&self) -> OrderId {
        self.packed_id.get()
    }

    /// The order's id as stored.
    #[inline]
    pub(crate) fn packed_id(&self) -> PackedId {
        self.packed_id
    }
}

/// A generation-checked reference to a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Handle {
    pub index: u32,
    pub generation: u32,
}

// A slot's size is most of what a resting order costs (see `lft-bench memory`).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<RestingOrder>() == 112);

/// The slab: one record per slot, occupied or free (see `RestingOrder::occupied`).
#[derive(Default)]
pub(crate) struct Arena {
    slots: Vec<RestingOrder>,
    free: Vec<u32>,
    /// Expiry of each GTD order, by slot: only GTD orders have one (input and image checks
    /// hold that), so the record of every other order is 8 bytes smaller without the field.
    expiries: HashMap<u32, Timestamp>,
}

impl Arena {
    /// An arena with room for `capacity` orders reserved up front (an error, not an
    /// abort, when the memory cannot be had).
    pub(crate) fn try_with_capacity(capacity: usize) -> Result<Self, std::collections::TryReserveError> {
        let mut arena = Arena::default();
        arena.slots.try_reserve_exact(capacity)?;
        arena.free.try_reserve_exact(capacity)?;
        Ok(arena)
    }

    /// Put `order` in a slot, with its GTD expiry (`Some` exactly when it is GTD).
    pub(crate) fn alloc(&mut self, mut order: RestingOrder, expire: Option<Timestamp>) -> Handle {
        debug_assert_eq!(order.tif == TimeInForce::Gtd, expire.is_some(), "only GTD orders expire");
        order.occupied = true;
        let handle = if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            order.slot_generation = slot.slot_generation;
            *slot = order;
            Handle { index, generation: order.slot_generation }
        } else {
            let index = u32::try_from(self.slots.len()).expect("more than 4e9 resting orders");
            assert!(index != NIL, "more than 4e9 resting orders");
            order.slot_generation = 0;
            self.slots.push(order);
            Handle { index, generation: 0 }
        };
        if let Some(e) = expire {
            self.expiries.insert(handle.index, e);
        }
        handle
    }

    /// The GTD expiry of the order in slot `index`, if it is a GTD order.
    #[inline]
    pub(crate) fn expire_time(&self, index: u32) -> Option<Timestamp> {
        self.expiry_of(index, self.get(index))
    }

    /// The expiry of `o`, the order in slot `index` (only GTD orders are in the map).
    #[inline]
    fn expiry_of(&self, index: u32, o: &RestingOrder) -> Option<Timestamp> {
        match o.tif {
            TimeInForce::Gtd => self.expiries.get(&index).copied(),
            _ => None,
        }
    }

    /// Free a slot; its generation moves on so stale handles no longer resolve.
    pub(crate) fn free(&mut self, index: u32) -> RestingOrder {
        let slot = &mut self.slots[index as usize];
        assert!(slot.occupied, "freeing an empty slot");
        let order = *slot;
        if order.tif == TimeInForce::Gtd {
            self.expiries.remove(&index);
        }
        slot.occupied = false;
        slot.slot_generation = slot.slot_generation.wrapping_add(1);
        self.free.push(index);
        order
    }

    #[inline]
    pub(crate) fn get(&self, index: u32) -> &RestingOrder {
        let o = &self.slots[index as usize];
        assert!(o.occupied, "empty slot");
        o
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, index: u32) -> &mut RestingOrder {
        let o = &mut self.slots[index as usize];
        assert!(o.occupied, "empty slot");
        o
    }

    /// The order behind a handle, if the handle is still current.
    pub(crate) fn resolve(&self, h: Handle) -> Option<&RestingOrder> {
        let slot = self.slots.get(h.index as usize)?;
        (slot.occupied && slot.slot_generation == h.generation).then_some(slot)
    }

    pub(crate) fn handle(&self, index: u32) -> Handle {
        Handle { index, generation: self.slots[index as usize].slot_generation }
    }

    /// Append to the back of a level's FIFO. O(1).
    pub(crate) fn push_back(&mut self, q: &mut LevelQueue, index: u32) {
        let tail = q.tail;
        {
            let o = self.get_mut(index);
            o.prev = tail;
            o.next = NIL;
        }
        if tail == NIL {
            q.head = index;
        } else {
            self.get_mut(tail).next = index;
        }
        q.tail = index;
    }

    /// Remove from anywhere in a level's FIFO. O(1).
    pub(crate) fn unlink(&mut self, q: &mut LevelQueue, index: u32) {
        let (prev, next) = {
            let o = self.get(index);
            (o.prev, o.next)
        };
        if prev == NIL {
            q.head = next;
        } else {
            self.get_mut(prev).next = next;
        }
        if next == NIL {
            q.tail = prev;
        } else {
            self.get_mut(next).prev = prev;
        }
        let o = self.get_mut(index);
        o.prev = NIL;
        o.next = NIL;
    }

    /// The order after `index` in its FIFO.
    pub(crate) fn next_in_level(&self, index: u32) -> u32 {
        self.get(index).next
    }

    /// Every slot's order, copied in memory order (free slots as `None`), for a book image
    /// taken while matching pauses: one sequential pass, no FIFO followed.
    pub(crate) fn copy_slots(&self) -> SlotsCopy {
        let copy = |(i, s): (usize, &RestingOrder)| {
            s.occupied.then(|| CopiedOrder::of(s, self.expiry_of(i as u32, s).unwrap_or(NO_EXPIRY)))
        };
        SlotsCopy { slots: self.slots.iter().enumerate().map(copy).collect() }
    }
}

/// `CopiedOrder::expire` of an order without a GTD expiry (a sentinel keeps the copy small).
const NO_EXPIRY: Timestamp = Timestamp::MAX;

/// A resting order as [`Arena::copy_slots`] copies it: every field but the level pointer and
/// the back link (plain data, and 104 bytes where a slot takes 112: what a capture of a
/// large book costs is mostly the first touch of the memory it writes).
#[derive(Clone, Copy)]
struct CopiedOrder {
    packed_id: PackedId,
    side: Side,
    price: Ticks,
    original: Lots,
    open: Lots,
    visible: Lots,
    display: Lots,
    filled: Lots,
    tif: TimeInForce,
    expire: Timestamp,
    post_only: bool,
    timestamp: Timestamp,
    queued_at: Timestamp,
    accept_seq: u64,
    next: u32,
}

impl CopiedOrder {
    #[inline]
    fn of(o: &RestingOrder, expire: Timestamp) -> Self {
        CopiedOrder {
            packed_id: o.packed_id,
            side: o.side,
            price: o.price,
            original: o.original,
            open: o.open,
            visible: o.visible,
            display: o.display,
            filled: o.filled,
            tif: o.tif,
            expire,
            post_only: o.post_only,
            timestamp: o.timestamp,
            queued_at: o.queued_at,
            accept_seq: o.accept_seq,
            next: o.next,
        }
    }
}

/// The arena's orders as [`Arena::copy_slots`] found them, at their slot numbers, with their
/// FIFO (next) links; free slots empty. Read only: a book image walks the links to put the
/// orders in FIFO order.
#[derive(Clone)]
pub(crate) struct SlotsCopy {
    slots: Vec<Option<CopiedOrder>>,
}

impl SlotsCopy {
    /// Number of slots copied (occupied or free).
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The order in slot `index` (a record not linked anywhere: no level, no FIFO links)
    /// and the slot after it in its FIFO ([`NIL`] at the tail), if the slot exists and was
    /// occupied.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<(RestingOrder, Option<Timestamp>, u32)> {
        let c = self.slots.get(index as usize)?.as_ref()?;
        let o = RestingOrder {
            packed_id: c.packed_id,
            side: c.side,
            price: c.price,
            original: c.original,
            open: c.open,
            visible: c.visible,
            display: c.display,
            filled: c.filled,
            tif: c.tif,
            post_only: c.post_only,
            timestamp: c.timestamp,
            queued_at: c.queued_at,
            accept_seq: c.accept_seq,
            node: core::ptr::null(),
            prev: NIL,
            next: NIL,
            slot_generation: 0,
            occupied: true,
        };
        Some((o, (c.expire != NO_EXPIRY).then_some(c.expire), c.next))
    }

    /// The slot after `index` in its FIFO ([`NIL`] at the tail), if the slot was occupied.
    #[inline]
    pub(crate) fn next(&self, index: u32) -> Option<u32> {
        Some(self.slots.get(index as usize)?.as_ref()?.next)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn order(id: OrderId) -> RestingOrder {
        RestingOrder::new(id, Side::Buy, 100, 5, 5, 0, 0, TimeInForce::Gtc, false, 0)
    }

    #[test]
    fn stale_handle_never_resolves_to_a_reused_slot() {
        let mut arena = Arena::default();
        let first = arena.alloc(order(1), None);
        arena.free(first.index);
        let second = arena.alloc(order(2), None);
        assert_eq!(first.index, second.index, "slot is reused");
        assert!(arena.resolve(first).is_none(), "the old generation must not see the new order");
        assert_eq!(arena.resolve(second).map(|o| o.id()), Some(2));
    }

    #[test]
    fn fifo_unlinks_from_head_middle_and_tail_in_constant_time() {
        let mut arena = Arena::default();
        let mut q = LevelQueue::new();
        let idx: Vec<u32> = (1..=4).map(|i| arena.alloc(order(i), None).index).collect();
        for &i in &idx {
            arena.push_back(&mut q, i);
        }
        arena.unlink(&mut q, idx[1]);
        arena.unlink(&mut q, idx[0]);
        arena.unlink(&mut q, idx[3]);
        assert_eq!((q.head, q.tail), (idx[2], idx[2]));
        arena.unlink(&mut q, idx[2]);
        assert_eq!((q.head, q.tail), (NIL, NIL));
    }

    #[test]
    fn a_slot_copy_keeps_orders_at_their_slots_with_their_links_and_free_slots_empty() {
        let mut arena = Arena::default();
        let mut q = LevelQueue::new();
        let idx: Vec<u32> = (1..=4).map(|i| arena.alloc(order(i), None).index).collect();
        for &i in [idx[2], idx[0], idx[3], idx[1]].iter() {
            arena.push_back(&mut q, i);
        }
        arena.unlink(&mut q, idx[3]);
        arena.free(idx[3]);
        let copy = arena.copy_slots();
        assert_eq!(copy.len(), 4);
        assert!(copy.get(idx[3]).is_none() && copy.next(idx[3]).is_none(), "a free slot");
        assert!(copy.get(4).is_none(), "past the end");
        let mut fifo = Vec::new();
        let mut at = q.head;
        while at != NIL {
            let (o, _, next) = copy.get(at).unwrap();
            assert_eq!(copy.next(at), Some(next));
            fifo.push(o.id());
            at = next;
        }
        assert_eq!(fifo, [3, 1, 2]);
        assert!(
            std::mem::size_of::<Option<CopiedOrder>>() < std::mem::size_of::<RestingOrder>(),
            "the copy leaves out the level pointer and back link"
        );
    }
}
