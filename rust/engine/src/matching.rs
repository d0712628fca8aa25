//! The writer: everything that mutates a book. Runs only inside the one `BookWriter`'s
//! `&mut self` methods, so it may use plain (non-atomic) state freely; what readers see is
//! published through the ladders' atomics.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crossbeam_epoch::Shared;

use crate::arena::{Arena, Handle, RestingOrder, SlotsCopy};
use crate::command::{Modify, NewOrder};
use crate::error::{EngineError, EngineResult};
use crate::event::{ExecutionReport, OrderUpdate, Trade};
use crate::id_index::IdIndex;
use crate::ids::{Fnv64, PackedId};
use crate::level::{LevelActivity, LevelChange, LevelDelta, COUNTER_WORDS, NIL};
use crate::primitive::sync::atomic::Ordering;
use crate::reclaim::{retire, LoadGuard, Protect};
use crate::retained::RetainedLevels;
use crate::skiplist::{order_key, Finger, Node, MAX_HEIGHT};
use crate::state::SharedState;
use crate::types::{
    Lots, OrderId, OrderStatus, OrderType, RejectReason, Side, Ticks, TimeInForce, Timestamp,
};

/// Does a taker on `side` with `limit` trade against a resting price?
#[inline]
pub(crate) fn crosses(side: Side, limit: Ticks, resting: Ticks) -> bool {
    match side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

/// Stateless validation of a new order: everything that does not depend on the book.
pub fn check_new_order(o: &NewOrder) -> EngineResult<()> {
    use TimeInForce::*;
    if o.quantity <= 0 {
        return Err(EngineError::invalid(format!("quantity must be > 0, got {} lots", o.quantity)));
    }
    match o.order_type {
        OrderType::Limit => match o.price {
            None => return Err(EngineError::invalid("a LIMIT order needs a price")),
            Some(p) if p <= 0 => {
                return Err(EngineError::invalid(format!("price must be > 0, got {p} ticks")))
            }
            _ => {}
        },
        OrderType::Market => {
            if o.price.is_some() {
                return Err(EngineError::invalid("a MARKET order must not have a price"));
            }
            if !matches!(o.time_in_force, Ioc | Fok) {
                return Err(EngineError::invalid(format!(
                    "a MARKET order must be IOC or FOK, got time_in_force {}",
                    o.time_in_force
                )));
            }
        }
    }
    match (o.time_in_force, o.expire_time) {
        (Gtd, None) => return Err(EngineError::invalid("a GTD order needs an expire_time")),
        (Gtd, Some(e)) if e <= o.timestamp => {
            return Err(EngineError::invalid(format!(
                "expire_time {e} must be after the order's timestamp {}",
                o.timestamp
            )))
        }
        (tif, Some(_)) if tif != Gtd => {
            return Err(EngineError::invalid(format!("expire_time is only allowed with GTD, got {tif}")))
        }
        _ => {}
    }
    if o.post_only {
        if o.order_type == OrderType::Market {
            return Err(EngineError::invalid("post_only is only allowed on LIMIT orders"));
        }
        if !o.time_in_force.rests() {
            return Err(EngineError::invalid(format!(
                "post_only cannot be combined with {}: a post-only order must be able to rest",
                o.time_in_force
            )));
        }
    }
    if let Some(d) = o.display_quantity {
        if o.order_type == OrderType::Market {
            return Err(EngineError::invalid("display_quantity (iceberg) is only allowed on LIMIT orders"));
        }
        if !o.time_in_force.rests() {
            return Err(EngineError::invalid(format!(
                "display_quantity (iceberg) cannot be combined with {}",
                o.time_in_force
            )));
        }
        if d <= 0 || d > o.quantity {
            return Err(EngineError::invalid(format!(
                "display_quantity must be > 0 and <= quantity, got display {d} lots for quantity {} lots",
                o.quantity
            )));
        }
    }
    Ok(())
}

/// Status and quantities of a command's own report.
struct Outcome {
    status: OrderStatus,
    filled: Lots,
    remaining: Lots,
    reason: Option<RejectReason>,
}

impl Outcome {
    fn new(status: OrderStatus, filled: Lots, remaining: Lots) -> Self {
        Outcome { status, filled, remaining, reason: None }
    }
}

/// How a resting order leaves the book other than by a fill.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Removal {
    Cancelled,
    Expired,
}

/// Limits a book enforces on what may rest.
pub(crate) struct Limits {
    /// Most orders resting at once (`None`: no limit).
    pub max_orders: Option<usize>,
    /// Largest open quantity of one level, in lots.
    pub max_level_total: Lots,
}

/// How many ticks [`Step::find_finger`] probes for a level's better neighbours before it leaves
/// the rest to a search from the head: dense books find the nearest at a tick or two (and
/// the one in four levels tall enough for a level of height 2 within a few more), so a new
/// level costs a few index probes instead of a walk over cold nodes; sparse books have few
/// levels, whose search is short and cached. (An emptied level needs no search: the
/// skiplist's back pointers name its predecessors.)
const FINGER_REACH: Ticks = 8;

/// Levels a side must have linked before [`Step::find_finger`] is worth its probes: a ladder
/// this small is a few cached lists, and sparse books (levels far apart, where probes find
/// nothing) are small ones.
#[cfg(not(miri))]
const FINGER_MIN_LEVELS: usize = 64;
/// Small under Miri, so that a test book small enough to interpret takes the finger's paths.
#[cfg(miri)]
const FINGER_MIN_LEVELS: usize = 16;

/// Writer-only state of one book.
pub(crate) struct Writer {
    arena: Arena,
    ids: IdIndex,
    /// Min-heap of (expire_time, acceptance sequence, handle); stale handles are skipped.
    gtd: BinaryHeap<Reverse<(Timestamp, u64, Handle)>>,
    live_gtd: usize,
    seq: u64,
    rng: u64,
    /// Levels that emptied and left the ladder, oldest first (still indexed).
    retained: RetainedLevels,
    /// Levels linked into each side's ladder, `[bids, asks]`: below [`FINGER_MIN_LEVELS`] a
    /// side's search from the head is short and cached, and [`Step::find_finger`] is skipped.
    linked_levels: [usize; 2],
    stamp: u64,
    retain_cap: usize,
    batch_ids: u64,
    /// Most orders that may rest at once (`None`: the pool grows as needed).
    max_orders: Option<usize>,
    /// Largest open quantity one level may hold: its total must still convert to a decimal
    /// quantity at the book's lot size (and fit 64 bits).
    max_level_total: Lots,
    /// Levels changed by the current command, when tracking is on.
    pub(crate) level_log: Option<Vec<LevelChange>>,
    /// Identifies the current command in levels' log marks (starts at 1: 0 is "never").
    pub(crate) log_stamp: u64,
    /// Levels changed in the current statistics period, with their summed activity, when
    /// the book keeps them (one entry per level, found through the level's period mark).
    pub(crate) period_log: Option<Vec<LevelChange>>,
    /// Identifies the current statistics period in levels' period marks (starts at 1).
    pub(crate) period_stamp: u64,
}

// SAFETY: the raw node pointers in `retained` and in resting orders refer to epoch-managed
// nodes owned by the book; the writer state moves between threads only inside its
// `BookWriter`, which is not `Sync`, so never concurrently.
unsafe impl Send for Writer {}

/// One command in flight: the writer, the shared structures, the load guard and the output.
///
/// `guard` is the writer's [`LoadGuard`]: it loads without pinning, which is sound because
/// this writer is the only thread that ever retires nodes or index tables, and it cannot
/// retire through it: every retirement goes through [`retire`], a real pin.
pub(crate) struct Step<'a> {
    pub w: &'a mut Writer,
    pub sh: &'a SharedState,
    pub guard: &'a LoadGuard,
    pub out: &'a mut ExecutionReport,
    pub now: Timestamp,
}

impl Writer {
    /// The writer of a new book, with room for `capacity` resting orders reserved (an error,
    /// not an abort, if that memory cannot be had).
    pub(crate) fn new(seed: u64, retain_cap: usize, capacity: usize, limits: Limits) -> Result<Self, String> {
        let ids = IdIndex::try_with_capacity(capacity)?;
        Ok(Writer {
            arena: Arena::try_with_capacity(capacity).map_err(|e| e.to_string())?,
            ids,
            gtd: BinaryHeap::new(),
            live_gtd: 0,
            seq: 0,
            rng: seed | 1,
            retained: RetainedLevels::default(),
            linked_levels: [0; 2],
            stamp: 0,
            retain_cap,
            batch_ids: 0,
            max_orders: limits.max_orders,
            max_level_total: limits.max_level_total,
            level_log: None,
            log_stamp: 0,
            period_log: None,
            period_stamp: 1,
        })
    }

    /// Index of a resting order, treating GTD orders already due at `now` as gone.
    pub(crate) fn resting_at(&self, id: OrderId, now: Timestamp) -> Option<u32> {
        let idx = self.ids.get(&self.arena, PackedId::from(id))?;
        match self.arena.expire_time(idx) {
            Some(e) if e <= now => None,
            _ => Some(idx),
        }
    }

    /// Read access to a resting order by id, with its GTD expiry.
    pub(crate) fn order(&self, id: OrderId) -> Option<(&RestingOrder, Option<Timestamp>)> {
        self.ids.get(&self.arena, PackedId::from(id)).map(|i| (self.arena.get(i), self.arena.expire_time(i)))
    }

    pub(crate) fn contains(&self, id: OrderId) -> bool {
        self.ids.contains(&self.arena, PackedId::from(id))
    }

    /// Next id for batch rows that come without one: small integers not resting now.
    pub(crate) fn next_batch_id(&mut self) -> OrderId {
        loop {
            self.batch_ids += 1;
            let id = self.batch_ids as OrderId;
            if !self.ids.contains(&self.arena, PackedId::from(id)) {
                return id;
            }
        }
    }

    fn random_height(&mut self) -> usize {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (1 + (r.trailing_zeros() as usize) / 2).min(MAX_HEIGHT)
    }

    pub(crate) fn sequence(&self) -> u64 {
        self.seq
    }

    /// Deterministic digest of everything that defines the book's future behaviour.
    pub(crate) fn state_hash(&self, sh: &SharedState, guard: &impl Protect) -> u64 {
        let mut h = Fnv64::default();
        h.int(self.seq as i128);
        for ladder in &sh.ladders {
            let mut node = ladder.list.first(guard);
            // SAFETY: nodes reachable from the head are protected by `guard`.
            while let Some(n) = unsafe { node.as_ref() } {
                h.int(n.level.price as i128);
                // SAFETY: the caller is the book's writer.
                let q = unsafe { n.level.queue() };
                let mut idx = q.head;
                while idx != NIL {
                    hash_order(&mut h, self.arena.get(idx), self.arena.expire_time(idx));
                    idx = self.arena.next_in_level(idx);
                }
                node = n.next(guard);
            }
            h.int(-1);
        }
        h.finish()
    }
}

/// The writer's scalar state a book image keeps: without it a restored book would number
/// its events, batch ids and retained levels differently from the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriterWords {
    pub seq: u64,
    pub batch_ids: u64,
    pub rng: u64,
    pub stamp: u64,
}

/// Book image support: reading the writer's structures out whole, and rebuilding them.
impl Writer {
    pub(crate) fn words(&self) -> WriterWords {
        WriterWords { seq: self.seq, batch_ids: self.batch_ids, rng: self.rng, stamp: self.stamp }
    }

    /// Set after the levels are rebuilt: their skiplist heights draw on `rng` first.
    pub(crate) fn set_words(&mut self, w: WriterWords) {
        self.seq = w.seq;
        self.batch_ids = w.batch_ids;
        self.rng = w.rng;
        self.stamp = w.stamp;
    }

    /// The arena's slots copied whole in memory order (see [`Arena::copy_slots`]): what a
    /// book image takes of the orders, with no walk of the levels' FIFOs.
    pub(crate) fn copy_orders(&self) -> SlotsCopy {
        self.arena.copy_slots()
    }

    /// Slot of the oldest order of a level (the head of its FIFO), or [`NIL`].
    ///
    /// # Safety
    /// The caller must be the book's writer (no command running), and `node` a level of
    /// this writer's book.
    pub(crate) unsafe fn fifo_head(&self, node: &Node) -> u32 {
        // SAFETY: per the contract; the reference ends with this read.
        unsafe { node.level.queue() }.head
    }

    /// Call `f` on each retained (emptied, unlinked, still indexed) level, oldest first.
    pub(crate) fn for_each_retained(&self, f: impl FnMut(&Node)) {
        // SAFETY: `&self` is the writer's; retained levels are alive until evicted, and `f`
        // cannot reach the list.
        unsafe { self.retained.for_each(f) }
    }

    /// Rebuild one level of a book being restored (nothing else runs on it yet): a fresh
    /// node, indexed, with its counter words; linked at the end of its ladder when `retained`
    /// is `None` (levels come best first), else left unlinked and queued for retention with
    /// that stamp. `orders` join its FIFO in the order given; GTD ones also join the heap.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore_level(
        &mut self,
        sh: &SharedState,
        guard: &LoadGuard,
        side: Side,
        price: Ticks,
        counters: &[u64; COUNTER_WORDS],
        retained: Option<u64>,
        orders: impl IntoIterator<Item = (RestingOrder, Option<Timestamp>)>,
    ) {
        let ladder = sh.ladder(side);
        let node = Node::new(side, price, self.random_height());
        let s = match retained {
            None => {
                self.linked_levels[side as usize] += 1;
                ladder.list.insert(node, guard)
            }
            Some(_) => guard.adopt(crossbeam_epoch::Owned::new(node)),
        };
        // Indexed at once: from here on the book's drop frees the node, whatever happens.
        // SAFETY: just created; alive until retired through the epoch.
        unsafe { ladder.index.insert(price, s, guard) };
        // SAFETY: just created and indexed; alive until retired through the epoch.
        let n = unsafe { &*s.as_raw() };
        n.level.counters.set_words(counters);
        if let Some(stamp) = retained {
            // SAFETY: we are the book's writer; no other reference to this queue exists.
            unsafe { n.level.queue() }.empty_stamp = stamp;
            // SAFETY: a fresh, unlinked node, indexed (so alive until evicted).
            unsafe { self.retained.push_newest(n) };
        }
        // SAFETY: we are the book's writer; no other reference to this queue exists.
        let q = unsafe { n.level.queue() };
        for (mut o, expire) in orders {
            o.node = n as *const Node;
            let open = o.open;
            let idx = self.admit(o, expire);
            self.arena.push_back(q, idx);
            q.total_open += open;
        }
    }

    /// Take an order that will rest into the slab, the id index and, with a GTD `expire`
    /// (`Some` exactly for GTD orders), the expiry heap. Its slot; the caller queues it.
    fn admit(&mut self, o: RestingOrder, expire: Option<Timestamp>) -> u32 {
        let idx = self.arena.alloc(o, expire).index;
        self.ids.insert(&self.arena, idx);
        if let Some(e) = expire {
            self.gtd.push(Reverse((e, o.accept_seq, self.arena.handle(idx))));
            self.live_gtd += 1;
        }
        idx
    }

    /// Publish a restored book for readers, as a command's end does (`Step::publish`).
    pub(crate) fn publish_restored(&self, sh: &SharedState, guard: &LoadGuard) {
        // SAFETY: linked nodes are alive; we are the writer.
        let best = |side| unsafe { sh.ladder(side).list.first(guard).as_ref() }.map(|n| n.level.price);
        sh.publish_top(best(Side::Buy), best(Side::Sell));
        sh.resting.store(self.ids.len(), Ordering::Release);
        sh.sequence.store(self.seq, Ordering::Release);
    }
}

/// One order's part of [`Writer::state_hash`] (also used to hash a book image's orders).
pub(crate) fn hash_order(h: &mut Fnv64, o: &RestingOrder, expire: Option<Timestamp>) {
    for v in [
        o.id() as i128,
        o.side as i128,
        o.open as i128,
        o.visible as i128,
        o.display as i128,
        o.filled as i128,
        o.original as i128,
        o.tif as i128,
        expire.map_or(-1, |e| e as i128),
        o.post_only as i128,
        o.timestamp as i128,
        o.queued_at as i128,
        o.accept_seq as i128,
    ] {
        h.int(v);
    }
}

impl<'a> Step<'a> {
    fn next_seq(&mut self) -> u64 {
        self.w.seq += 1;
        self.w.seq
    }

    fn update(&mut self, o: &RestingOrder, status: OrderStatus, remaining: Lots) -> OrderUpdate {
        OrderUpdate {
            sequence: self.next_seq(),
            order_id: o.id(),
            side: o.side,
            status,
            filled_quantity: o.filled,
            remaining_quantity: remaining,
            price: Some(o.price),
            reject_reason: None,
            timestamp: self.now,
        }
    }

    fn report(&mut self, id: OrderId, side: Side, price: Option<Ticks>, outcome: Outcome) {
        let sequence = self.next_seq();
        self.out.report = Some(OrderUpdate {
            sequence,
            order_id: id,
            side,
            status: outcome.status,
            filled_quantity: outcome.filled,
            remaining_quantity: outcome.remaining,
            price,
            reject_reason: outcome.reason,
            timestamp: self.now,
        });
    }

    /// End of a command: publish what readers see whole (best prices, order count, sequence).
    fn publish(&self) {
        let best = |side| self.best(side).map(|n| n.level.price);
        self.sh.publish_top(best(Side::Buy), best(Side::Sell));
        self.sh.resting.store(self.w.ids.len(), Ordering::Release);
        self.sh.sequence.store(self.w.seq, Ordering::Release);
    }

    fn node_of(&self, o: &RestingOrder) -> &'a Node {
        // SAFETY: a resting order's level is linked or retained, and a level that holds orders
        // is never retired.
        unsafe { &*o.node }
    }

    fn best<'g>(&self, side: Side) -> Option<&'g Node>
    where
        'a: 'g,
    {
        // SAFETY: linked nodes are never retired, and only the writer (us) retires (see `Step`).
        unsafe { self.sh.ladder(side).list.first(self.guard).as_ref() }
    }

    /// Would a taker on `side` at `limit` trade right now?
    fn would_cross(&self, side: Side, limit: Ticks) -> bool {
        self.best(side.opposite()).is_some_and(|n| crosses(side, limit, n.level.price))
    }

    /// Is at least `need` open quantity (hidden included) resting at prices crossing `limit`?
    fn available(&self, side: Side, limit: Option<Ticks>, need: Lots) -> bool {
        let mut sum: Lots = 0;
        let mut node = self.best(side.opposite());
        while let Some(n) = node {
            if limit.is_some_and(|l| !crosses(side, l, n.level.price)) {
                break;
            }
            // SAFETY: we are the book's writer.
            sum = sum.saturating_add(unsafe { n.level.queue() }.total_open);
            if sum >= need {
                return true;
            }
            // SAFETY: linked nodes are never retired while linked (see `Step`).
            node = unsafe { n.next(self.guard).as_ref() };
        }
        false
    }

    /// Record in `finger` (which knows nothing yet) the linked levels just better than `price`
    /// on `side`, for linking a level of `height` at `price` without a search from the head.
    /// The price index tells which prices have a linked level (every linked level is
    /// indexed), so probing outward from `price`, one tick at a time, meets them nearest
    /// first: each is the predecessor at the heights it has above those met before. Probing
    /// stops once `height` heights are known, at the best level (every level before `price`
    /// met), or after [`FINGER_REACH`] ticks, leaving the rest to a walk from the head.
    ///
    /// Filled in place: returned by value, the finger was moved in 16-byte loads of the
    /// 8-byte words just stored, each waiting for its stores (a store-forwarding stall).
    fn find_finger(&self, side: Side, price: Ticks, height: usize, finger: &mut Finger<'a>) {
        debug_assert_eq!(finger.known(), 0, "the finger must start knowing nothing");
        if self.w.linked_levels[side as usize] < FINGER_MIN_LEVELS {
            return;
        }
        let key = order_key(side, price);
        let first = match self.best(side) {
            Some(first) if first.key < key => first,
            _ => return finger.saw_all(),
        };
        let index = &self.sh.ladder(side).index;
        for distance in 1..=FINGER_REACH {
            let better = match side {
                Side::Buy => price.checked_add(distance),
                Side::Sell => price.checked_sub(distance),
            };
            let Some(better) = better.filter(|&p| p > 0) else {
                break;
            };
            // A level no taller than the heights known is no predecessor the finger lacks: the
            // slot's height hint skips it without touching its node.
            let (node, tower) = index.get_with_height(better, self.guard);
            // SAFETY: indexed nodes are retired only by the writer (us), after leaving the index.
            if let Some(n) = unsafe { node.as_ref() }.filter(|_| tower.may_exceed(finger.known())) {
                // SAFETY: we are the book's writer.
                if unsafe { n.is_linked() } {
                    // SAFETY: linked, so alive for the rest of this command.
                    finger.saw(unsafe { &*(n as *const Node) });
                    if finger.known() >= height {
                        break;
                    }
                }
            }
            if better == first.level.price {
                finger.saw_all();
                break;
            }
        }
    }

    /// Level node for a price, linking a retained one or creating it.
    fn level_for(&mut self, side: Side, price: Ticks) -> &'a Node {
        let ladder = self.sh.ladder(side);
        let s = ladder.index.get(price, self.guard);
        // SAFETY: indexed nodes are retired only by the writer (us), after leaving the index.
        if let Some(n) = unsafe { s.as_ref() } {
            // SAFETY: we are the book's writer.
            if !unsafe { n.is_linked() } {
                // SAFETY: an indexed, unlinked level is in the retained list.
                unsafe { self.w.retained.remove(n) };
                let mut finger = Finger::UNKNOWN;
                self.find_finger(side, price, n.height(), &mut finger);
                // SAFETY: we are the writer; the level is unlinked and no longer retained (its
                // spare links are free again); `finger` was just found for this key, and
                // nothing changed since.
                unsafe { ladder.list.link_near(s, &finger, self.guard) };
                self.w.linked_levels[side as usize] += 1;
            }
            // SAFETY: see above; the node outlives this command.
            return unsafe { &*(n as *const Node) };
        }
        let height = self.w.random_height();
        let mut finger = Finger::UNKNOWN;
        self.find_finger(side, price, height, &mut finger);
        // SAFETY: as above.
        let s = unsafe { ladder.list.insert_near(Node::new(side, price, height), &finger, self.guard) };
        self.w.linked_levels[side as usize] += 1;
        // SAFETY: just created; alive until retired through the epoch.
        unsafe { ladder.index.insert(price, s, self.guard) };
        // SAFETY: just inserted; alive until retired through the epoch.
        unsafe { &*s.as_raw() }
    }

    /// Take an empty level off the ladder, keeping its statistics readable for a while.
    fn retire_level(&mut self, node: &Node) {
        let ladder = self.sh.ladder(node.level.side);
        // SAFETY: we are the book's writer, and a level is retired only while linked.
        unsafe { ladder.list.unlink(Shared::from(node as *const Node), self.guard) };
        self.w.linked_levels[node.level.side as usize] -= 1;
        self.w.stamp += 1;
        // SAFETY: we are the book's writer.
        unsafe { node.level.queue() }.empty_stamp = self.w.stamp;
        // SAFETY: just unlinked, still indexed, so alive until evicted below or later.
        unsafe { self.w.retained.push_newest(node) };
        while self.w.retained.len() > self.w.retain_cap {
            // SAFETY: we are the book's writer.
            let Some(oldest) = (unsafe { self.w.retained.pop_oldest() }) else {
                break;
            };
            // SAFETY: retained levels are alive until retired here.
            let n = unsafe { &*oldest };
            self.sh.ladder(n.level.side).index.remove(n.level.price, self.guard);
            // SAFETY: now unreachable from the ladder, the index and the retained list, and
            // retired once; readers pinned earlier keep it alive.
            unsafe { retire(Shared::from(oldest)) };
        }
    }

    /// Apply a change to a level's counters, and log the level's new state when the book
    /// tracks level changes (per command) and period activity (per statistics period).
    ///
    /// Inlined, so each call site's constant delta (most fields zero) folds into the few
    /// stores it needs; passing the delta through memory cost a store-forwarding stall per
    /// call, about half of a one-fill taker's time.
    #[inline(always)]
    fn apply_level(&mut self, node: &Node, delta: &LevelDelta) {
        node.level.counters.apply(delta, self.now);
        if self.w.level_log.is_some() || self.w.period_log.is_some() {
            self.log_level(node, delta);
        }
    }

    /// The logging half of [`Step::apply_level`], out of line: only books that track level
    /// changes or statistics periods get here (every `TradingSystem` book does, so it is not
    /// marked cold).
    #[inline(never)]
    fn log_level(&mut self, node: &Node, delta: &LevelDelta) {
        let (quantity, order_count) = node.level.counters.visible_and_orders();
        let entry = || {
            let mut activity = LevelActivity::default();
            activity.add(delta);
            LevelChange { side: node.level.side, price: node.level.price, quantity, order_count, activity }
        };
        let level = &node.level;
        if let Some(log) = self.w.level_log.as_mut() {
            // SAFETY: we are the book's writer for the whole step.
            let mark = unsafe { level.log_mark() };
            // SAFETY: as above.
            let set = |m| unsafe { level.set_log_mark(m) };
            log_change(log, self.w.log_stamp, mark, set, delta, (quantity, order_count), entry);
        }
        if let Some(log) = self.w.period_log.as_mut() {
            // SAFETY: we are the book's writer for the whole step.
            let mark = unsafe { level.period_mark() };
            // SAFETY: as above.
            let set = |m| unsafe { level.set_period_mark(m) };
            log_change(log, self.w.period_stamp, mark, set, delta, (quantity, order_count), entry);
        }
    }

    /// Put an order (already in the arena) at the back of its level.
    fn enqueue(&mut self, idx: u32, counts_as_added: bool) {
        let (side, price, open, visible) = {
            let o = self.w.arena.get(idx);
            (o.side, o.price, o.open, o.visible)
        };
        let node = self.level_for(side, price);
        {
            let o = self.w.arena.get_mut(idx);
            o.node = node as *const Node;
            o.queued_at = self.now;
        }
        // SAFETY: we are the book's writer.
        let q = unsafe { node.level.queue() };
        self.w.arena.push_back(q, idx);
        q.total_open += open;
        self.apply_level(
            node,
            &LevelDelta { visible, orders: 1, added: counts_as_added as u64, ..Default::default() },
        );
    }

    /// Take an order off its level (it stays in the arena). Retires the level if empty.
    fn dequeue(&mut self, idx: u32, delta: LevelDelta) {
        let o = *self.w.arena.get(idx);
        let node = self.node_of(&o);
        // SAFETY: we are the book's writer.
        let q = unsafe { node.level.queue() };
        self.w.arena.unlink(q, idx);
        q.total_open -= o.open;
        self.apply_level(node, &LevelDelta { visible: -o.visible, orders: -1, ..delta });
        if q.head == NIL {
            self.retire_level(node);
        }
    }

    /// Forget a finished order.
    fn finish(&mut self, idx: u32) -> RestingOrder {
        let id = self.w.arena.get(idx).packed_id();
        self.w.ids.remove(&self.w.arena, id);
        let o = self.w.arena.free(idx);
        if o.tif == TimeInForce::Gtd {
            self.w.live_gtd -= 1;
        }
        o
    }

    fn remove_resting(&mut self, idx: u32, how: Removal) -> OrderUpdate {
        let delta = match how {
            Removal::Cancelled => LevelDelta { cancelled: 1, ..Default::default() },
            Removal::Expired => LevelDelta { expired: 1, ..Default::default() },
        };
        self.dequeue(idx, delta);
        let o = self.finish(idx);
        let status = match how {
            Removal::Cancelled => OrderStatus::Canceled,
            Removal::Expired => OrderStatus::Expired,
        };
        self.update(&o, status, 0)
    }

    /// Expire every GTD order due at `now`, in (expire_time, acceptance) order.
    pub(crate) fn sweep(&mut self) {
        while let Some(&Reverse((exp, _, h))) = self.w.gtd.peek() {
            if exp > self.now {
                break;
            }
            self.w.gtd.pop();
            if self.w.arena.resolve(h).is_some() {
                let u = self.remove_resting(h.index, Removal::Expired);
                self.out.updates.push(u);
            }
        }
        // Cancelled GTD orders leave stale heap entries behind; drop them once they dominate.
        if self.w.gtd.len() > 2 * self.w.live_gtd + 1024 {
            let arena = &self.w.arena;
            let kept: Vec<_> =
                self.w.gtd.drain().filter(|Reverse((_, _, h))| arena.resolve(*h).is_some()).collect();
            self.w.gtd = kept.into_iter().collect();
        }
    }

    /// Match a taker against the opposite side. Updates `open` and `filled` in place.
    fn match_taker(
        &mut self,
        taker: OrderId,
        side: Side,
        limit: Option<Ticks>,
        open: &mut Lots,
        filled: &mut Lots,
    ) {
        while *open > 0 {
            let Some(node) = self.best(side.opposite()) else {
                break;
            };
            let price = node.level.price;
            if limit.is_some_and(|l| !crosses(side, l, price)) {
                break;
            }
            // SAFETY: we are the book's writer.
            let q = unsafe { node.level.queue() };
            while *open > 0 && q.head != NIL {
                let idx = q.head;
                let m = self.w.arena.get_mut(idx);
                let fill = (*open).min(m.visible);
                m.visible -= fill;
                m.open -= fill;
                m.filled += fill;
                let maker = *m;
                *open -= fill;
                *filled += fill;
                q.total_open -= fill;
                let trade = Trade {
                    sequence: self.next_seq(),
                    price,
                    quantity: fill,
                    maker_order_id: maker.id(),
                    taker_order_id: taker,
                    taker_side: side,
                    timestamp: self.now,
                };
                self.out.trades.push(trade);
                let mut delta =
                    LevelDelta { visible: -fill, executed: fill, trades: 1, ..Default::default() };
                let update = if maker.open == 0 {
                    self.w.arena.unlink(q, idx);
                    delta.orders = -1;
                    delta.filled = 1;
                    delta.queue_wait = self.now.saturating_sub(maker.queued_at).max(0) as u64;
                    self.apply_level(node, &delta);
                    let done = self.finish(idx);
                    self.update(&done, OrderStatus::Filled, 0)
                } else {
                    if maker.visible == 0 {
                        // Iceberg: a fresh slice joins the back of the queue.
                        let slice = maker.display.min(maker.open);
                        let m = self.w.arena.get_mut(idx);
                        m.visible = slice;
                        m.queued_at = self.now;
                        delta.visible += slice;
                        self.w.arena.unlink(q, idx);
                        self.w.arena.push_back(q, idx);
                    }
                    self.apply_level(node, &delta);
                    let m = *self.w.arena.get(idx);
                    self.update(&m, OrderStatus::PartiallyFilled, m.open)
                };
                self.out.updates.push(update);
            }
            if q.head == NIL {
                self.retire_level(node);
            }
        }
    }

    /// Is there room at a level for `add` more lots (after removing `minus`)?
    fn check_room(&self, side: Side, price: Ticks, add: Lots, minus: Lots) -> EngineResult<()> {
        let s = self.sh.ladder(side).index.get(price, self.guard);
        // SAFETY: indexed nodes are retired only by the writer (us).
        let total = unsafe { s.as_ref() }.map_or(0, |n| unsafe { n.level.queue() }.total_open);
        match (total - minus).checked_add(add) {
            Some(t) if t <= self.w.max_level_total => Ok(()),
            fits => Err(level_total_error(fits.is_some(), self.w.max_level_total)),
        }
    }

    /// Stateful validation of a new order (after [`check_new_order`]).
    pub(crate) fn validate_new(&self, o: &NewOrder) -> EngineResult<()> {
        if self.w.resting_at(o.id, o.timestamp).is_some() {
            return Err(EngineError::DuplicateOrderId(o.id));
        }
        if let (Some(p), true) = (o.price, o.time_in_force.rests()) {
            self.check_room(o.side, p, o.quantity, 0)?;
        }
        Ok(())
    }

    /// A validated new order.
    pub(crate) fn submit(&mut self, o: &NewOrder) {
        self.sweep();
        let limit = o.price;
        if o.post_only && self.would_cross(o.side, limit.unwrap_or_default()) {
            self.report(
                o.id,
                o.side,
                limit,
                Outcome {
                    status: OrderStatus::Rejected,
                    filled: 0,
                    remaining: 0,
                    reason: Some(RejectReason::PostOnlyWouldCross),
                },
            );
            return self.publish();
        }
        if o.time_in_force == TimeInForce::Fok && !self.available(o.side, limit, o.quantity) {
            self.report(o.id, o.side, limit, Outcome::new(OrderStatus::Canceled, 0, 0));
            return self.publish();
        }
        let mut open = o.quantity;
        let mut filled = 0;
        self.match_taker(o.id, o.side, limit, &mut open, &mut filled);
        match (open, limit) {
            (0, _) => self.report(o.id, o.side, limit, Outcome::new(OrderStatus::Filled, filled, 0)),
            (_, Some(_))
                if o.time_in_force.rests() && self.w.max_orders.is_some_and(|m| self.w.ids.len() >= m) =>
            {
                // No room to rest the remainder: refuse it (what traded stands).
                let status = if filled > 0 { OrderStatus::Canceled } else { OrderStatus::Rejected };
                self.report(
                    o.id,
                    o.side,
                    limit,
                    Outcome { status, filled, remaining: 0, reason: Some(RejectReason::OrderPoolFull) },
                );
            }
            (_, Some(price)) if o.time_in_force.rests() => {
                let status = if filled > 0 { OrderStatus::PartiallyFilled } else { OrderStatus::New };
                self.report(o.id, o.side, limit, Outcome::new(status, filled, open));
                let mut rec = RestingOrder::new(
                    o.id,
                    o.side,
                    price,
                    o.quantity,
                    open,
                    o.display_quantity.unwrap_or(0),
                    filled,
                    o.time_in_force,
                    o.post_only,
                    self.now,
                );
                rec.accept_seq = self.w.seq;
                let expire = (o.time_in_force == TimeInForce::Gtd).then_some(o.expire_time).flatten();
                let idx = self.w.admit(rec, expire);
                self.enqueue(idx, true);
            }
            _ => self.report(o.id, o.side, limit, Outcome::new(OrderStatus::Canceled, filled, 0)),
        }
        self.publish();
    }

    /// Validate a cancel; returns the order's slot.
    pub(crate) fn validate_resting(&self, id: OrderId) -> EngineResult<u32> {
        self.w.resting_at(id, self.now).ok_or(EngineError::OrderNotFound(id))
    }

    pub(crate) fn cancel(&mut self, idx: u32) {
        self.sweep();
        let u = self.remove_resting(idx, Removal::Cancelled);
        self.out.report = Some(u);
        self.publish();
    }

    /// Validate a modify; returns the order's slot.
    pub(crate) fn validate_modify(&self, m: &Modify) -> EngineResult<u32> {
        if m.quantity.is_none() && m.price.is_none() {
            return Err(EngineError::invalid("modify needs a new quantity, a new price, or both"));
        }
        if let Some(q) = m.quantity {
            if q <= 0 {
                return Err(EngineError::invalid(format!("quantity must be > 0, got {q} lots")));
            }
        }
        if let Some(p) = m.price {
            if p <= 0 {
                return Err(EngineError::invalid(format!("price must be > 0, got {p} ticks")));
            }
        }
        let idx = self.validate_resting(m.id)?;
        let o = self.w.arena.get(idx);
        let new_q = m.quantity.unwrap_or(o.open);
        let new_p = m.price.unwrap_or(o.price);
        // The order's lifetime total (filled so far + open) must stay a 64-bit count: every
        // later fill adds to `filled` what it takes from `open`.
        if o.filled.checked_add(new_q).is_none() {
            return Err(EngineError::invalid(format!(
                "quantity {new_q} lots would take the order's lifetime total ({} filled + open) \
                 past the 64-bit range",
                o.filled
            )));
        }
        let minus = if new_p == o.price { o.open } else { 0 };
        self.check_room(o.side, new_p, new_q, minus)?;
        Ok(idx)
    }

    pub(crate) fn modify(&mut self, idx: u32, m: &Modify) {
        self.sweep();
        let o = *self.w.arena.get(idx);
        let new_q = m.quantity.unwrap_or(o.open);
        let new_p = m.price.unwrap_or(o.price);
        let resting_status = |filled: Lots| {
            if filled > 0 {
                OrderStatus::PartiallyFilled
            } else {
                OrderStatus::New
            }
        };
        if new_p == o.price && new_q <= o.open {
            if new_q < o.open {
                let node = self.node_of(&o);
                let new_visible = o.visible.min(new_q);
                // SAFETY: we are the book's writer.
                unsafe { node.level.queue() }.total_open -= o.open - new_q;
                self.apply_level(
                    node,
                    &LevelDelta { visible: new_visible - o.visible, ..Default::default() },
                );
                let r = self.w.arena.get_mut(idx);
                r.open = new_q;
                r.visible = new_visible;
            }
            self.report(
                o.id(),
                o.side,
                Some(o.price),
                Outcome::new(resting_status(o.filled), o.filled, new_q),
            );
            return self.publish();
        }
        if o.post_only && self.would_cross(o.side, new_p) {
            self.report(
                o.id(),
                o.side,
                Some(o.price),
                Outcome {
                    status: OrderStatus::Rejected,
                    filled: o.filled,
                    remaining: o.open,
                    reason: Some(RejectReason::PostOnlyWouldCross),
                },
            );
            return self.publish();
        }
        self.dequeue(idx, LevelDelta::default());
        let mut open = new_q;
        let mut filled = o.filled;
        self.match_taker(o.id(), o.side, Some(new_p), &mut open, &mut filled);
        {
            let r = self.w.arena.get_mut(idx);
            r.filled = filled;
            r.open = open;
            r.price = new_p;
            r.visible = if r.display > 0 { r.display.min(open) } else { open };
        }
        if open == 0 {
            let done = self.finish(idx);
            self.report(done.id(), done.side, Some(new_p), Outcome::new(OrderStatus::Filled, filled, 0));
        } else {
            self.report(o.id(), o.side, Some(new_p), Outcome::new(resting_status(filled), filled, open));
            self.enqueue(idx, new_p != o.price);
        }
        self.publish();
    }

    /// Sweep due GTD orders only.
    pub(crate) fn expire(&mut self) {
        self.sweep();
        self.publish();
    }

    /// Sweep due GTD orders, then expire every DAY order in acceptance order.
    pub(crate) fn end_of_day(&mut self) {
        self.sweep();
        let mut day: Vec<(u64, u32)> = self
            .w
            .ids
            .iter()
            .map(|i| (self.w.arena.get(i).accept_seq, i))
            .filter(|&(_, i)| self.w.arena.get(i).tif == TimeInForce::Day)
            .collect();
        day.sort_unstable();
        for (_, idx) in day {
            let u = self.remove_resting(idx, Removal::Expired);
            self.out.updates.push(u);
        }
        self.publish();
    }
}

/// Why a level cannot take more: past what the lot size can show, or past 64 bits.
#[cold]
#[inline(never)]
fn level_total_error(fits_64_bits: bool, max: Lots) -> EngineError {
    if fits_64_bits {
        EngineError::invalid(format!(
            "quantity would take the price level's total past {max} lots, the most this book can \
             show at its lot size"
        ))
    } else {
        EngineError::invalid("quantity would overflow the price level's 64-bit total")
    }
}

/// Drop support: every node a ladder still references (linked or retained).
pub(crate) fn all_nodes<'g>(sh: &SharedState, guard: &'g impl Protect) -> Vec<Shared<'g, Node>> {
    sh.ladders.iter().flat_map(|l| l.index.nodes(guard)).collect()
}

/// Update a level's entry in a log holding one entry per level (`mark`: the level's
/// writer-only (stamp, index) for this log), or append one and mark the level.
#[inline]
fn log_change(
    log: &mut Vec<LevelChange>,
    stamp: u64,
    (marked, at): (u64, u32),
    set_mark: impl FnOnce((u64, u32)),
    delta: &LevelDelta,
    (quantity, order_count): (Lots, u64),
    entry: impl FnOnce() -> LevelChange,
) {
    if marked == stamp {
        let e = &mut log[at as usize];
        e.quantity = quantity;
        e.order_count = order_count;
        e.activity.add(delta);
    } else {
        set_mark((stamp, log.len() as u32));
        log.push(entry());
    }
}
