//! Single-writer, multi-reader skiplist of price levels on crossbeam-epoch.
//!
//! Protocol (checked by the loom models at the end of this file):
//! - Only the book's writer (the one `BookWriter`) links and unlinks nodes, loading through
//!   its [`LoadGuard`]; readers load through a pinned `Guard`.
//! - Publish: a new node's tower is filled first, then predecessors point to it bottom-up
//!   with `Release`, so a reader that sees the node sees its initialised contents.
//! - Unlink: predecessors skip the node top-down; the node keeps its own `next` pointers,
//!   so a reader standing on it can still walk on. The writer finds the predecessors through
//!   the node's writer-only back pointers (at the two lowest heights in a field, above them
//!   in the tower's idle link slots), and for the rare node too tall for those (one in
//!   4^7) by a walk over the upper lists' few, cached nodes.
//! - Reclaim: a node is retired (through [`crate::reclaim::retire`], a real pin) only once it
//!   is out of the list *and* out of the price index; readers pinned earlier keep it alive.
//! - Readers walk level 0 only, starting from the head. A node obtained from the price index
//!   is read, never walked from (its `next` may be stale once it has been unlinked).

use core::cell::UnsafeCell;
use core::ptr;

use crossbeam_epoch::{Atomic, Owned, Shared};

use crate::level::Level;
use crate::primitive::sync::atomic::Ordering;
use crate::reclaim::{LoadGuard, Protect};
use crate::types::{Side, Ticks};

/// Tower height cap: with p = 1/4 this serves ~4^12 levels at full speed.
pub(crate) const MAX_HEIGHT: usize = 12;

/// Heights at which a node keeps a back pointer to its predecessor in a field of its own
/// (16 bytes a node, which the retained-levels list reuses while the node is unlinked).
pub(crate) const BACK_HEIGHTS: usize = 2;

/// Tallest node that keeps a back pointer at every height. Above [`BACK_HEIGHTS`] a node
/// keeps them in the link slots its tower leaves idle (`next[h]` for `h` at or above its
/// height, which no list uses): the one for height `h` in slot `MAX_HEIGHT - 1 -
/// (h - BACK_HEIGHTS)`, which is idle for a node of height `H` when `H` is at most this.
/// A taller node (one in 4^7) finds its upper predecessors by a walk from the head.
pub(crate) const FULL_BACK_HEIGHT: usize = (MAX_HEIGHT + BACK_HEIGHTS) / 2;

/// The idle link slot holding a node's back pointer at height `h` (at least
/// [`BACK_HEIGHTS`]); see [`FULL_BACK_HEIGHT`].
#[inline]
const fn upper_back_slot(h: usize) -> usize {
    MAX_HEIGHT - 1 - (h - BACK_HEIGHTS)
}
// The highest back pointer of the tallest node that keeps them all lies in an idle slot.
const _: () = assert!(upper_back_slot(FULL_BACK_HEIGHT - 1) >= FULL_BACK_HEIGHT);

/// A skiplist node: one price level.
///
/// Laid out in order (`repr(C)`), so that what linking, unlinking and the writer's neighbour
/// probes read (key, height, the linked flag, the back pointers, the lowest link) is in the
/// node's first 40 bytes: one cache line when the node starts at most 24 bytes into a line
/// (the allocator aligns it to 16). Nodes taller than two (one in 16) also keep their upper
/// back pointers at the tower's far end (`next[7..12]`), on another line. Aligning nodes to
/// 64 bytes was measured side by side: level removal was no faster beyond noise, and
/// `pub-flash-crash` was about 10% slower.
#[repr(C)]
pub(crate) struct Node {
    /// Ordering key: asks use `price`, bids `-price`, so the best level is always first.
    pub key: i64,
    /// How many lists the node is in (`u32`, so the flag below shares the word).
    height: u32,
    /// Writer only: whether the node is in the list now (see [`Node::is_linked`]).
    linked: UnsafeCell<bool>,
    /// Writer only: while the node is linked, the node just before it at each height below
    /// `min(height, BACK_HEIGHTS)` (null: the head), so that unlinking needs no search there
    /// (the heights above keep theirs in idle `next` slots, see [`FULL_BACK_HEIGHT`]).
    /// While it is unlinked the list does not use them (linking rewrites them), and lends
    /// them out ([`Node::spare_links`]).
    back: UnsafeCell<[*const Node; BACK_HEIGHTS]>,
    /// The node after this one at each height below `height`. The slots above lend
    /// themselves to the upper back pointers ([`FULL_BACK_HEIGHT`]): readers walk height 0
    /// only, and the writer follows `next[h]` only on a node taller than `h`.
    next: [Atomic<Node>; MAX_HEIGHT],
    /// The level's data.
    pub level: Level,
    /// Loom only: lets the models catch a reader that reaches the node without synchronising
    /// with its construction, or after it is freed (see [`Node::check_published`]).
    #[cfg(loom)]
    canary: crate::primitive::Canary,
}

impl Node {
    pub(crate) fn new(side: Side, price: Ticks, height: usize) -> Self {
        Node {
            key: order_key(side, price),
            height: height.clamp(1, MAX_HEIGHT) as u32,
            linked: UnsafeCell::new(false),
            back: UnsafeCell::new([ptr::null(); BACK_HEIGHTS]),
            next: Default::default(),
            level: Level::new(side, price),
            #[cfg(loom)]
            canary: crate::primitive::Canary::new(order_key(side, price) as u64),
        }
    }

    /// Loom only: check that the calling thread may read this node: its construction
    /// happens-before this call (the pointer that led here was published with `Release` and
    /// loaded with `Acquire`), and the node is not freed, nor being freed. Readers' loads
    /// ([`SkipList::first`], [`Node::next`], `PriceIndex::get`) call it on what they return.
    #[cfg(loom)]
    #[track_caller]
    pub(crate) fn check_published(&self) {
        self.canary.check(self.key as u64, "ladder node");
    }

    /// Loom only: [`Node::check_published`] on a loaded pointer, if it is not null.
    #[cfg(loom)]
    #[track_caller]
    pub(crate) fn check_loaded(node: Shared<'_, Node>) {
        // SAFETY: only called on pointers just loaded under a guard (pinned, or the writer's),
        // which keeps the node alive, or is what the model checks.
        if let Some(n) = unsafe { node.as_ref() } {
            n.check_published();
        }
    }

    /// How many lists the node is in (its tower's height).
    #[inline]
    pub(crate) fn height(&self) -> usize {
        self.height as usize
    }

    /// Writer only, while the node is not linked: two pointer slots the list does not use
    /// then (they are the back pointers, which linking rewrites), lent to the writer's
    /// retained-levels list so that a level costs no more memory for them.
    ///
    /// # Safety
    /// The caller is the list's writer, the node is not linked (and is not linked while the
    /// reference lives), and no other reference to the slots is alive.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub(crate) unsafe fn spare_links(&self) -> &mut [*const Node; BACK_HEIGHTS] {
        // SAFETY: the caller's promise: the writer alone touches the slots, the list does
        // not use them while the node is unlinked, and the reference is unique.
        unsafe { &mut *self.back.get() }
    }

    /// Writer only: point `node`'s back pointer at height `h` to `pred`, where it keeps one
    /// (below [`BACK_HEIGHTS`], or in an idle link slot when `node` is at most
    /// [`FULL_BACK_HEIGHT`] tall); nothing for a null `node`.
    ///
    /// # Safety
    /// The caller is the list's writer, and `node` is null or alive and taller than `h` (a
    /// lower `h` could name a slot the node's tower uses: a live link).
    #[inline]
    unsafe fn set_back(node: *const Node, h: usize, pred: *const Node) {
        // SAFETY: the caller's promise.
        let Some(n) = (unsafe { node.as_ref() }) else {
            return;
        };
        debug_assert!(h < n.height(), "no back pointer at height {h} of a node {} high", n.height());
        if h < BACK_HEIGHTS {
            // SAFETY: the back pointers are the writer's alone; a plain store, no reference
            // kept.
            unsafe { (*n.back.get())[h] = pred };
        } else if n.height() <= FULL_BACK_HEIGHT {
            // The slot is at or above the node's height: no list, hence no reader, uses it
            // (see `next`), so the writer's plain relaxed store is all it needs.
            n.next[upper_back_slot(h)].store(Shared::from(pred), Ordering::Relaxed);
        }
    }

    /// Writer only: the node's back pointer at height `h`.
    ///
    /// # Safety
    /// The caller is the list's writer; the node is linked and taller than `h`, and at most
    /// [`FULL_BACK_HEIGHT`] tall when `h` is [`BACK_HEIGHTS`] or more (otherwise the slot is
    /// a live link, or holds nothing the list keeps up to date).
    #[inline]
    unsafe fn back_at(&self, h: usize, guard: &LoadGuard) -> *const Node {
        debug_assert!(h < self.height() && (h < BACK_HEIGHTS || self.height() <= FULL_BACK_HEIGHT));
        match h < BACK_HEIGHTS {
            // SAFETY: the writer's own field (the caller is the writer).
            true => unsafe { (*self.back.get())[h] },
            false => guard.load(&self.next[upper_back_slot(h)], Ordering::Relaxed).as_raw(),
        }
    }

    /// Whether the node is linked in its list now (set by [`SkipList::link_near`], cleared
    /// by [`SkipList::unlink`]).
    ///
    /// # Safety
    /// The caller is the list's writer.
    #[inline]
    pub(crate) unsafe fn is_linked(&self) -> bool {
        // SAFETY: only the writer reads or writes the flag; a plain copy.
        unsafe { *self.linked.get() }
    }

    /// Next node on level 0 (readers and writer).
    #[inline]
    pub(crate) fn next<'g>(&self, guard: &'g impl Protect) -> Shared<'g, Node> {
        let next = guard.load(&self.next[0], Ordering::Acquire);
        #[cfg(loom)]
        Node::check_loaded(next);
        next
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

/// What the writer knows about the nodes just before a key, so that linking at
/// that key need not search from the head (see [`SkipList::link_near`]): for each height
/// below `known`, the node after which the key goes at that height (the nearest node before
/// the key that is that tall), or `None` where no node before the key is that tall (the
/// key goes first at that height).
#[derive(Clone, Copy)]
pub(crate) struct Finger<'g> {
    before: [Option<&'g Node>; MAX_HEIGHT],
    known: usize,
}

impl<'g> Finger<'g> {
    /// Nothing known: search from the head.
    pub(crate) const UNKNOWN: Finger<'static> = Finger { before: [None; MAX_HEIGHT], known: 0 };

    /// Heights known so far.
    pub(crate) fn known(&self) -> usize {
        self.known
    }

    /// Record `node`, the nearest node before the key not recorded yet (callers go outward
    /// from the key): it is the predecessor at every height it has above those known.
    pub(crate) fn saw(&mut self, node: &'g Node) {
        while self.known < node.height() {
            self.before[self.known] = Some(node);
            self.known += 1;
        }
    }

    /// Every node between the list's first and the key has been seen: no node before the
    /// key is taller than those, so the key goes first at the other heights.
    pub(crate) fn saw_all(&mut self) {
        self.known = MAX_HEIGHT;
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
        let first = guard.load(&self.head[0], Ordering::Acquire);
        #[cfg(loom)]
        Node::check_loaded(first);
        first
    }

    /// The pointer at height `h` that follows `pred` (the head's when `pred` is null).
    ///
    /// # Safety
    /// `pred` is null or a node of this list, alive for as long as the result is used.
    #[inline]
    unsafe fn after(&self, pred: *const Node, h: usize) -> &Atomic<Node> {
        // SAFETY: the caller's promise.
        match unsafe { pred.as_ref() } {
            None => &self.head[h],
            Some(p) => &p.next[h],
        }
    }

    /// For each height from `floor` up, the node after which `key` goes (null: the head),
    /// that is, the last node with a smaller key (lower heights of `preds` are left as they
    /// are). The walk starts at the top, so a high `floor` touches only the few, hot nodes
    /// of the upper lists.
    fn predecessors_from(
        &self,
        key: i64,
        floor: usize,
        preds: &mut [*const Node; MAX_HEIGHT],
        guard: &LoadGuard,
    ) {
        let mut at: *const Node = ptr::null();
        for h in (floor..MAX_HEIGHT).rev() {
            loop {
                // SAFETY: `at` is the head or a node reached from it, protected by `guard`.
                let next = guard.load(unsafe { self.after(at, h) }, Ordering::Acquire);
                // SAFETY: as above.
                match unsafe { next.as_ref() } {
                    Some(n) if n.key < key => at = n,
                    _ => break,
                }
            }
            preds[h] = at;
        }
    }

    /// For each height below `height`, the node after which `key` goes (null: the head),
    /// taken from `finger` where it knows (O(1), no list node touched beyond the finger's
    /// own), and found by a walk from the top down to the heights it does not know (the few,
    /// hot nodes of the upper lists when it knows the lower ones).
    ///
    /// Fills `preds` in place, reading the finger by reference: returned by value, the array
    /// was moved in 16-byte loads of the 8-byte words just stored, each waiting for its
    /// stores (a store-forwarding stall: a third of `link_near`'s samples in `perf` once the
    /// upper back pointers made its loop longer).
    ///
    /// # Safety
    /// `finger` must be true of the list as it is now (see [`Finger`]). A wrong finger would
    /// link in the wrong place: readers would walk the list out of order, and back pointers
    /// would name wrong predecessors.
    unsafe fn predecessors_near(
        &self,
        key: i64,
        height: usize,
        finger: &Finger<'_>,
        preds: &mut [*const Node; MAX_HEIGHT],
        guard: &LoadGuard,
    ) {
        let known = finger.known.min(height);
        for (pred, before) in preds.iter_mut().zip(&finger.before).take(known) {
            *pred = before.map_or(ptr::null(), |p| p as *const Node);
        }
        if height > known {
            self.predecessors_from(key, known, preds, guard);
        }
        #[cfg(all(debug_assertions, not(loom)))]
        self.debug_check_predecessors(key, height, preds, guard);
    }

    /// Debug builds: `preds` are the true predecessors of `key` below `height`.
    #[cfg(all(debug_assertions, not(loom)))]
    fn debug_check_predecessors(
        &self,
        key: i64,
        height: usize,
        preds: &[*const Node; MAX_HEIGHT],
        guard: &LoadGuard,
    ) {
        let mut full = [ptr::null(); MAX_HEIGHT];
        self.predecessors_from(key, 0, &mut full, guard);
        for h in 0..height {
            debug_assert!(ptr::eq(preds[h], full[h]), "wrong predecessor at height {h}");
        }
    }

    /// Writer only: allocate and link a new node.
    pub(crate) fn insert<'g>(&self, node: Node, guard: &'g LoadGuard) -> Shared<'g, Node> {
        // SAFETY: `UNKNOWN` holds of any list.
        unsafe { self.insert_near(node, &Finger::UNKNOWN, guard) }
    }

    /// Writer only: allocate a new node and link it, starting from `finger`.
    ///
    /// # Safety
    /// As for [`SkipList::link_near`].
    pub(crate) unsafe fn insert_near<'g>(
        &self,
        node: Node,
        finger: &Finger<'_>,
        guard: &'g LoadGuard,
    ) -> Shared<'g, Node> {
        let shared = guard.adopt(Owned::new(node));
        // SAFETY: the caller's promise about `finger`.
        unsafe { self.link_near(shared, finger, guard) };
        shared
    }

    /// Writer only: link a node that is not currently in the list (new or retained). (The
    /// book links through [`SkipList::link_near`]; the loom models use this.)
    #[cfg(all(test, loom))]
    pub(crate) fn link(&self, node: Shared<'_, Node>, guard: &LoadGuard) {
        // SAFETY: `UNKNOWN` holds of any list.
        unsafe { self.link_near(node, &Finger::UNKNOWN, guard) }
    }

    /// Writer only: link a node that is not in the list (new or retained), starting from
    /// the predecessors `finger` knows. Sets the back pointers of the node and of its
    /// successor at each of the node's heights (above [`BACK_HEIGHTS`], for those of the two
    /// at most [`FULL_BACK_HEIGHT`] tall).
    ///
    /// # Safety
    /// The caller is the list's writer; `node` is alive and not linked, and its spare links
    /// are not lent out ([`Node::spare_links`]: it is not in the retained-levels list), as
    /// linking rewrites them; `finger` is true of the list as it is now, for `node`'s key
    /// (see [`Finger`]).
    pub(crate) unsafe fn link_near(&self, node: Shared<'_, Node>, finger: &Finger<'_>, guard: &LoadGuard) {
        // SAFETY: the caller owns `node` (just allocated or retained, not yet reclaimed).
        let n = unsafe { node.deref() };
        // SAFETY: the caller is the writer. (Linking a linked node would make it its own
        // successor, a cycle readers would walk for ever.)
        debug_assert!(!unsafe { n.is_linked() }, "linking a linked node");
        let mut preds = [ptr::null(); MAX_HEIGHT];
        // SAFETY: the caller's promise about `finger`.
        unsafe { self.predecessors_near(n.key, n.height(), finger, &mut preds, guard) };
        for (h, &pred) in preds.iter().enumerate().take(n.height()) {
            // SAFETY: predecessors are the head or linked nodes, alive under `guard`.
            let succ = guard.load(unsafe { self.after(pred, h) }, Ordering::Relaxed);
            // Release: a reader still standing on a relinked node may follow this pointer.
            let own = crate::primitive::mutant::ordering("relink-next-relaxed", Ordering::Release);
            n.next[h].store(succ, own);
            // SAFETY: the caller is the writer; `n` is alive, and `succ` is null or a linked
            // node, alive under `guard`; both are taller than `h` (`n` by the loop's bound,
            // `succ` because it follows `pred` at height `h`).
            unsafe {
                Node::set_back(n, h, pred);
                Node::set_back(succ.as_raw(), h, n);
            }
        }
        // SAFETY: the flag is the writer's alone.
        unsafe { *n.linked.get() = true };
        // Release: a reader that loads the new pointer sees the node's contents.
        let publish = crate::primitive::mutant::ordering("link-relaxed", Ordering::Release);
        for (h, &pred) in preds.iter().enumerate().take(n.height()) {
            crate::stop_point::hit();
            // SAFETY: as above.
            unsafe { self.after(pred, h) }.store(node, publish);
        }
    }

    /// Writer only: unlink a node that is in the list (its `next` pointers stay as they are,
    /// so a reader standing on it walks on). O(1) for a node of height up to
    /// [`FULL_BACK_HEIGHT`]: its back pointers name its predecessors. A taller node (one in
    /// 4^7) finds its upper predecessors by a walk from the head over the upper lists,
    /// O(log L).
    ///
    /// # Safety
    /// The caller is the list's writer, and `node` is linked in this list.
    pub(crate) unsafe fn unlink(&self, node: Shared<'_, Node>, guard: &LoadGuard) {
        // SAFETY: the node is in the list, hence alive under `guard`.
        let n = unsafe { node.deref() };
        // SAFETY: the caller is the writer. (An unlinked node's back pointers are stale and
        // may name freed nodes.)
        debug_assert!(unsafe { n.is_linked() }, "unlinking a node that is not linked");
        let mut preds = [ptr::null(); MAX_HEIGHT];
        let height = n.height();
        let known = if height <= FULL_BACK_HEIGHT { height } else { BACK_HEIGHTS };
        for (h, pred) in preds.iter_mut().enumerate().take(known) {
            // SAFETY: the caller is the writer, and the node is linked; `h` is below `known`,
            // which is the node's height only if that is at most `FULL_BACK_HEIGHT`.
            *pred = unsafe { n.back_at(h, guard) };
        }
        if height > known {
            self.predecessors_from(n.key, known, &mut preds, guard);
        }
        // Debug builds: the back pointers against a full search (the heights above them came
        // from a search already; the store loop below checks each predecessor's pointer).
        #[cfg(all(debug_assertions, not(loom)))]
        self.debug_check_predecessors(n.key, known, &preds, guard);
        for h in (0..n.height()).rev() {
            let pred = preds[h];
            // SAFETY: a linked node's predecessor is the head or a linked node, alive under
            // `guard`.
            let slot = unsafe { self.after(pred, h) };
            debug_assert!(guard.load(slot, Ordering::Relaxed) == node);
            let succ = guard.load(&n.next[h], Ordering::Relaxed);
            crate::stop_point::hit();
            // Release: a reader that loads the successor through this store must see it built.
            let skip = crate::primitive::mutant::ordering("unlink-relaxed", Ordering::Release);
            slot.store(succ, skip);
            // SAFETY: the caller is the writer; `succ` is null or a linked node, alive under
            // `guard`, and taller than `h` (it followed the node at height `h`).
            unsafe { Node::set_back(succ.as_raw(), h, pred) };
        }
        // SAFETY: the flag is the writer's alone.
        unsafe { *n.linked.get() = false };
    }
}

/// Loom models of the publish / unlink / relink / reclaim protocol: one writer (the model's
/// main thread, loading through the real unpinned [`LoadGuard`], as the book's writer does)
/// and one or two readers (`LOOM_READERS`) pinned on the default collector, the one
/// [`crate::reclaim::retire`] defers to. Node contents are a loom cell (see
/// [`Node::check_published`]), checked by every reader load, so an unsynchronised publish
/// and a use after free both fail. Run with `make loom`; `make loom-mutants` checks that
/// weakening the protocol makes them fail.
#[cfg(all(test, loom))]
mod loom_model {
    use crossbeam_epoch::{self as epoch, Guard};
    use loom::sync::Arc;
    use loom::thread;

    use super::*;
    use crate::price_index::PriceIndex;
    use crate::primitive::Canary;
    use crate::reclaim::retire;

    fn writer_guard() -> LoadGuard {
        // SAFETY: the model's main thread is the only writer of its structures, and it
        // retires only through `retire`.
        unsafe { LoadGuard::new() }
    }

    fn node(price: Ticks, height: usize) -> Node {
        Node::new(Side::Sell, price, height)
    }

    /// Walk level 0 from the head as `BookReader::depth` does: keys strictly increase (the
    /// reader's "moved node" retry never fires), and every node reached is published and
    /// alive (checked inside `first` / `next`). Returns the nodes seen.
    fn walk<'g>(list: &SkipList, guard: &'g Guard) -> Vec<&'g Node> {
        let mut seen: Vec<&Node> = Vec::new();
        let mut node = list.first(guard);
        // SAFETY: reachable from the head under the pinned `guard`.
        while let Some(n) = unsafe { node.as_ref() } {
            if let Some(last) = seen.last() {
                assert!(last.key < n.key, "keys out of order: {} then {}", last.key, n.key);
            }
            seen.push(n);
            node = n.next(guard);
        }
        seen
    }

    fn keys(nodes: &[&Node]) -> Vec<i64> {
        nodes.iter().map(|n| n.key).collect()
    }

    /// Keys on tower level `h`, walked by the writer; checks they increase.
    fn level_keys(list: &SkipList, h: usize, g: &LoadGuard) -> Vec<i64> {
        let mut out: Vec<i64> = Vec::new();
        let mut node = g.load(&list.head[h], Ordering::Acquire);
        // SAFETY: linked nodes are alive; the writer reads its own list.
        while let Some(n) = unsafe { node.as_ref() } {
            assert!(n.height() > h, "node {} of height {} linked at level {h}", n.key, n.height);
            assert!(out.last().is_none_or(|&k| k < n.key), "level {h} out of order: {out:?} then {}", n.key);
            out.push(n.key);
            node = g.load(&n.next[h], Ordering::Acquire);
        }
        out
    }

    /// Free every node still linked. The model is over: no other thread is left.
    fn free_linked(list: &SkipList) {
        let g = writer_guard();
        let mut node = list.first(&g);
        while !node.is_null() {
            // SAFETY: exclusive access; each linked node is freed once, here.
            let next = unsafe { node.deref() }.next(&g);
            // SAFETY: as above.
            drop(unsafe { node.into_owned() });
            node = next;
        }
    }

    /// Spawn the readers, each running `read` pinned on the default collector.
    fn spawn_readers<S: 'static>(shared: &Arc<S>, read: fn(&S, &Guard)) -> Vec<thread::JoinHandle<()>> {
        (0..crate::primitive::model_readers())
            .map(|_| {
                let shared = Arc::clone(shared);
                thread::spawn(move || read(&shared, &epoch::pin()))
            })
            .collect()
    }

    /// (i) The writer links nodes with towers of height two (a new first node, a node found
    /// through another node's level-1 pointer, one in the middle of a tower), then unlinks a
    /// tall node, while readers walk level 0: readers see increasing keys, only nodes that
    /// were fully built (whether reached through a link's store or an unlink's), and always
    /// the node that stays linked throughout. Afterwards both tower levels are sorted and
    /// complete. Weakening the publish store in `link`, or the store in `unlink`, to
    /// `Relaxed` fails this model.
    #[test]
    fn loom_readers_see_sorted_published_towers_while_the_writer_links() {
        loom::model(|| {
            let g = writer_guard();
            let list = Arc::new(SkipList::default());
            let tall = list.insert(node(20, 2), &g);
            list.insert(node(40, 1), &g);
            let readers = spawn_readers(&list, |list, guard| {
                let seen = keys(&walk(list, guard));
                assert!(seen.contains(&40), "lost the level linked throughout: {seen:?}");
                assert!(seen.iter().all(|k| [10, 15, 20, 30, 40].contains(k)), "unexpected keys {seen:?}");
            });
            list.insert(node(10, 2), &g);
            list.insert(node(15, 1), &g);
            list.insert(node(30, 2), &g);
            // SAFETY: the model's main thread is the writer; `tall` is linked.
            unsafe { list.unlink(tall, &g) };
            for r in readers {
                r.join().unwrap();
            }
            assert_eq!(level_keys(&list, 0, &g), [10, 15, 30, 40]);
            assert_eq!(level_keys(&list, 1, &g), [10, 30]);
            free_linked(&list);
            // SAFETY: unlinked above, and no other thread is left.
            drop(unsafe { tall.into_owned() });
        });
    }

    /// (ii) A reader may stand on a level while the writer unlinks it (`Step::retire_level`),
    /// links a new level right after it, and relinks the same retained node
    /// (`Step::level_for`), rewriting the next pointers the reader is about to follow: the
    /// reader walks on, in increasing key order, and never misses a level that stayed linked.
    /// Weakening the relinked node's own next-pointer stores in `link` to `Relaxed` fails
    /// this model (a reader standing on it follows the new pointer to an unpublished node).
    #[test]
    fn loom_reader_on_a_level_being_unlinked_and_relinked_walks_on_in_order() {
        loom::model(|| {
            let g = writer_guard();
            let list = Arc::new(SkipList::default());
            list.insert(node(10, 1), &g);
            let retained = list.insert(node(20, 2), &g);
            list.insert(node(30, 1), &g);
            let readers = spawn_readers(&list, |list, guard| {
                let seen = keys(&walk(list, guard));
                assert!(
                    seen.contains(&10) && seen.contains(&30),
                    "lost a level that stayed linked: {seen:?}"
                );
            });
            // SAFETY: the model's main thread is the writer; `retained` is linked.
            unsafe { list.unlink(retained, &g) };
            list.insert(node(25, 2), &g);
            list.link(retained, &g);
            for r in readers {
                r.join().unwrap();
            }
            assert_eq!(level_keys(&list, 0, &g), [10, 20, 25, 30]);
            assert_eq!(level_keys(&list, 1, &g), [20, 25]);
            free_linked(&list);
        });
    }

    /// The ladder and index of one side, as in `state::Ladder`.
    #[derive(Default)]
    struct Side1 {
        list: SkipList,
        index: PriceIndex,
    }

    /// Retire a level as the writer does (`Step::retire_level` freeing a retained level):
    /// out of the list, out of the index, then `retire`; then let the epoch advance far
    /// enough that, with no reader pinned, the node is freed.
    fn retire_level(side: &Side1, price: Ticks, g: &LoadGuard) {
        let n = side.index.get(price, g);
        // SAFETY: the model's main thread is the writer; the level is linked.
        unsafe { side.list.unlink(n, g) };
        side.index.remove(price, g);
        // SAFETY: out of the list and the index; retired once.
        unsafe { retire(n) };
        collect_garbage();
    }

    /// Two flushes: the first advances the epoch past the retired memory's, the second past
    /// that, and frees it (if no reader pinned earlier holds the epoch back).
    fn collect_garbage() {
        for _ in 0..2 {
            epoch::pin().flush();
        }
    }

    /// Sanity check of the model below: with no reader, a retired level is really freed by
    /// `collect_garbage` (so in the model, memory is freed whenever the epoch allows it).
    #[test]
    fn loom_retired_level_is_freed_once_no_reader_holds_it() {
        loom::model(|| {
            let g = writer_guard();
            let side = Side1::default();
            let n = side.list.insert(node(20, 2), &g);
            // SAFETY: just created; freed only through `retire_level`.
            unsafe { side.index.insert(20, n, &g) };
            let before = Canary::dropped();
            retire_level(&side, 20, &g);
            assert_eq!(Canary::dropped(), before + 1, "the retired node was not freed");
            // SAFETY: no other thread; the index holds nothing now.
            unsafe { side.index.destroy_table() };
        });
    }

    /// (iii) The writer retires a level (unlink, index remove, `retire`, epoch advanced)
    /// while a pinned reader holds it, reached either by walking the list or through the
    /// index: the reader's every access to it, up to its unpin, is to live memory (a free
    /// under it is a causality violation or a failed canary check). The writer loads only
    /// through its unpinned `LoadGuard`, as the book's writer does.
    #[test]
    fn loom_pinned_reader_keeps_a_retired_level_alive() {
        loom::model(|| {
            let g = writer_guard();
            let side = Arc::new(Side1::default());
            for (price, height) in [(10, 1), (20, 2)] {
                let n = side.list.insert(node(price, height), &g);
                // SAFETY: just created; freed only through `retire_level` or at the end.
                unsafe { side.index.insert(price, n, &g) };
            }
            let readers = spawn_readers(&side, |side, guard| {
                let mut held = walk(&side.list, guard);
                assert!(keys(&held).contains(&10), "lost the level that stayed");
                // SAFETY: indexed nodes are retired only through the epoch; `guard` is pinned.
                if let Some(n) = unsafe { side.index.get(20, guard).as_ref() } {
                    held.push(n);
                }
                // Still pinned: everything reached is still there.
                for n in held {
                    n.check_published();
                }
            });
            retire_level(&side, 20, &g);
            for r in readers {
                r.join().unwrap();
            }
            collect_garbage();
            assert_eq!(level_keys(&side.list, 0, &g), [10]);
            assert!(side.index.get(20, &g).is_null());
            free_linked(&side.list);
            // SAFETY: no other thread; the remaining node was freed just above.
            unsafe { side.index.destroy_table() };
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Walk every height as the writer: keys ascend, every node is linked and tall enough,
    /// and, where it keeps one ([`FULL_BACK_HEIGHT`]), its back pointer at that height names
    /// the node walked just before it (null for the first). Returns the keys at height 0.
    fn check_towers(list: &SkipList, g: &LoadGuard) -> Vec<i64> {
        let mut bottom = Vec::new();
        for h in 0..MAX_HEIGHT {
            let mut before: *const Node = ptr::null();
            let mut node = g.load(&list.head[h], Ordering::Acquire);
            // SAFETY: linked nodes are alive; this test is the list's only user.
            while let Some(n) = unsafe { node.as_ref() } {
                // SAFETY: as above (the writer's fields, read by the writer).
                unsafe {
                    assert!(n.is_linked() && n.height() > h, "node {} on height {h}", n.key);
                    if h < BACK_HEIGHTS || n.height() <= FULL_BACK_HEIGHT {
                        assert!(ptr::eq(n.back_at(h, g), before), "back pointer of {} at {h}", n.key);
                    }
                    assert!(before.as_ref().is_none_or(|b| b.key < n.key), "height {h} out of order");
                }
                if h == 0 {
                    bottom.push(n.key);
                }
                before = n;
                node = g.load(&n.next[h], Ordering::Acquire);
            }
        }
        bottom
    }

    /// The nearest linked node before `key` at height 0, walked by the writer.
    fn before<'g>(list: &SkipList, key: i64, g: &'g LoadGuard) -> Option<&'g Node> {
        let mut last = None;
        let mut node = list.first(g);
        // SAFETY: linked nodes are alive; this test is the list's only user.
        while let Some(n) = unsafe { node.as_ref() }.filter(|n| n.key < key) {
            last = Some(n);
            node = n.next(g);
        }
        last
    }

    #[test]
    fn back_pointers_name_each_predecessor_through_links_unlinks_and_relinks() {
        let count: usize = if cfg!(miri) { 60 } else { 600 };
        // SAFETY: this test is the list's only writer and frees nodes only at its end.
        let g = &unsafe { LoadGuard::new() };
        let list = SkipList::default();
        // Node i has key i; nodes are linked in a scrambled order; heights cycle through
        // 1..=MAX_HEIGHT (node i: 1 + i % MAX_HEIGHT), so every height has nodes.
        let nodes: Vec<_> = (0..count)
            .map(|i| g.adopt(Owned::new(Node::new(Side::Sell, i as i64, 1 + i % MAX_HEIGHT))))
            .collect();
        let link = |n: Shared<'_, Node>, finger: &Finger<'_>| {
            // SAFETY: the test is the writer; `n` is alive and not linked; the finger is
            // UNKNOWN or built from the nearest linked node before `n`'s key.
            unsafe { list.link_near(n, finger, g) }
        };
        let unlink = |n| {
            // SAFETY: the test is the writer, and `n` is linked.
            unsafe { list.unlink(n, g) }
        };
        let linked = |n: &Shared<'_, Node>| {
            // SAFETY: alive (freed only at the end); the writer's flag.
            unsafe { n.deref().is_linked() }
        };
        let expect = |keep: &dyn Fn(usize) -> bool| {
            (0..count).filter(|&i| keep(i)).map(|i| i as i64).collect::<Vec<_>>()
        };
        for i in 0..count {
            link(nodes[(i * 7919) % count], &Finger::UNKNOWN);
        }
        assert_eq!(check_towers(&list, g), expect(&|_| true));
        // Unlink a contiguous run (each unlink fixes the back pointers the next one uses),
        // then every third node elsewhere.
        let run = count / 3..count / 2;
        nodes[run.clone()].iter().for_each(|&n| unlink(n));
        assert_eq!(check_towers(&list, g), expect(&|i| !run.contains(&i)));
        nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !run.contains(i) && i % 3 == 0)
            .for_each(|(_, &n)| unlink(n));
        let gone = |i: usize| run.contains(&i) || i % 3 == 0;
        assert_eq!(check_towers(&list, g), expect(&|i| !gone(i)));
        assert!(nodes.iter().enumerate().all(|(i, n)| linked(n) != gone(i)));
        // Unlinked nodes lend their back-pointer slots to the retained-levels list, as the
        // book's emptied levels do; relinking after leaving it rewrites them.
        let mut retained = crate::retained::RetainedLevels::default();
        for n in nodes.iter().enumerate().filter(|(i, _)| gone(*i)).map(|(_, n)| n.as_raw()) {
            // SAFETY: the test is the writer; the node is alive, unlinked and not in the list.
            unsafe { retained.push_newest(n) };
        }
        for n in nodes.iter().enumerate().filter(|(i, _)| gone(*i) && i % 2 == 0).map(|(_, n)| n.as_raw()) {
            // SAFETY: the node is in the list.
            unsafe { retained.remove(n) };
        }
        // Relink every other unlinked node with a finger that knows its nearest predecessor's
        // heights (the rest found by a walk from the top), as the book's finger does.
        for (i, &n) in nodes.iter().enumerate().filter(|(i, _)| gone(*i) && i % 2 == 0) {
            let mut finger = Finger::UNKNOWN;
            match before(&list, i as i64, g) {
                Some(p) => finger.saw(p),
                None => finger.saw_all(),
            }
            link(n, &finger);
        }
        assert_eq!(check_towers(&list, g), expect(&|i| !gone(i) || i % 2 == 0));
        nodes.iter().filter(|n| linked(n)).for_each(|&n| unlink(n));
        assert_eq!(check_towers(&list, g), Vec::<i64>::new());
        for n in nodes {
            // SAFETY: every node is unlinked, and freed once, here.
            drop(unsafe { n.into_owned() });
        }
    }
}
