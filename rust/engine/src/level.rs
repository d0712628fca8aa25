//! One price level: reader-visible counters behind a double-buffered latch, plus the
//! writer-only FIFO of orders.

use core::cell::UnsafeCell;

use crate::latch::Latch;
use crate::primitive::sync::atomic::{AtomicI64, Ordering};
use crate::types::{Lots, Side, Ticks, Timestamp};

/// Index sentinel for "no order" in the intrusive FIFO.
pub(crate) const NIL: u32 = u32::MAX;
/// Marker for "no activity yet" in the activity timestamps.
pub(crate) const NO_TIME: i64 = i64::MIN;
/// Number of counter words of a level (the book image stores them all, in this order).
pub(crate) const COUNTER_WORDS: usize = word::COUNT;
/// Position of the visible quantity among the counter words.
pub(crate) const VISIBLE_WORD: usize = word::VISIBLE;
/// Position of the order count among the counter words.
pub(crate) const ORDERS_WORD: usize = word::ORDERS;
/// Position of the first activity time among the counter words.
pub(crate) const FIRST_WORD: usize = word::FIRST;
/// Position of the last activity time among the counter words.
pub(crate) const LAST_WORD: usize = word::LAST;

/// Consistent copy of a level's public state, as a reader sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelSnapshot {
    /// Side of the book.
    pub side: Side,
    /// Price in ticks.
    pub price: Ticks,
    /// Visible quantity (iceberg slices only) in lots.
    pub quantity: Lots,
    /// Orders resting at this price.
    pub order_count: u64,
    /// Orders that started resting here.
    pub orders_added: u64,
    /// Orders cancelled from here.
    pub orders_cancelled: u64,
    /// Orders expired from here.
    pub orders_expired: u64,
    /// Orders fully executed here.
    pub orders_filled: u64,
    /// Lots executed here.
    pub quantity_executed: Lots,
    /// Trades printed here.
    pub trade_count: u64,
    /// Summed queue wait of fully executed orders (ns).
    pub queue_wait_ns: u64,
    /// First activity time, if any.
    pub first_activity: Option<Timestamp>,
    /// Last activity time, if any.
    pub last_activity: Option<Timestamp>,
}

/// Positions of the counters in the level's latch.
mod word {
    pub(super) const VISIBLE: usize = 0;
    pub(super) const ORDERS: usize = 1;
    pub(super) const ADDED: usize = 2;
    pub(super) const CANCELLED: usize = 3;
    pub(super) const EXPIRED: usize = 4;
    pub(super) const FILLED: usize = 5;
    pub(super) const EXECUTED: usize = 6;
    pub(super) const TRADES: usize = 7;
    pub(super) const QUEUE_WAIT: usize = 8;
    pub(super) const FIRST: usize = 9;
    pub(super) const LAST: usize = 10;
    pub(super) const COUNT: usize = 11;
}

/// Counters readers may copy at any time. The writer is the only one that stores; it
/// publishes every change whole through a double-buffered [`Latch`], so a reader always has a
/// stable copy to read and never waits for the writer (see `latch.rs` for the guarantees).
pub(crate) struct LevelCounters {
    words: Latch<{ word::COUNT }>,
    /// The visible quantity alone, for wait-free, monotonic single reads (`depth_at`).
    visible: AtomicI64,
}

/// A price level's visible state after a command, recorded by the writer as it applies
/// its changes (no lookup afterwards).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelChange {
    /// Side of the book.
    pub side: Side,
    /// Price in ticks.
    pub price: Ticks,
    /// Visible quantity after the command (0 once the level is empty).
    pub quantity: Lots,
    /// Orders resting there after the command.
    pub order_count: u64,
    /// What the command did at this level (the change of its counters), for statistics.
    pub activity: LevelActivity,
}

/// The change one command made to a level's counters (see [`LevelSnapshot`] for their
/// meaning): summed over every step of the command that touched the level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LevelActivity {
    /// Change of the number of resting orders (so the level was empty before the command
    /// exactly when `order_count - orders == 0`).
    pub orders: i64,
    /// Orders that started resting here.
    pub added: u64,
    /// Orders cancelled from here.
    pub cancelled: u64,
    /// Orders expired from here.
    pub expired: u64,
    /// Orders fully executed here.
    pub filled: u64,
    /// Lots executed here.
    pub executed: Lots,
    /// Trades printed here.
    pub trades: u64,
    /// Summed queue wait of the orders fully executed here (ns).
    pub queue_wait_ns: u64,
}

impl LevelActivity {
    #[inline]
    pub(crate) fn add(&mut self, d: &LevelDelta) {
        self.orders += d.orders;
        self.added += d.added;
        self.cancelled += d.cancelled;
        self.expired += d.expired;
        self.filled += d.filled;
        self.executed = self.executed.saturating_add(d.executed);
        self.trades += d.trades;
        self.queue_wait_ns = self.queue_wait_ns.saturating_add(d.queue_wait);
    }
}

/// What one writer step does to a level; applied atomically with respect to readers.
#[derive(Default, Clone, Copy)]
pub(crate) struct LevelDelta {
    pub visible: Lots,
    pub orders: i64,
    pub added: u64,
    pub cancelled: u64,
    pub expired: u64,
    pub filled: u64,
    pub executed: Lots,
    pub trades: u64,
    pub queue_wait: u64,
}

impl LevelCounters {
    fn new() -> Self {
        let mut initial = [0u64; word::COUNT];
        initial[word::FIRST] = NO_TIME as u64;
        initial[word::LAST] = NO_TIME as u64;
        LevelCounters { words: Latch::new(initial), visible: AtomicI64::new(0) }
    }

    /// Writer only: the visible quantity and order count as the writer left them.
    pub(crate) fn visible_and_orders(&self) -> (Lots, u64) {
        (self.words.current_word(word::VISIBLE) as Lots, self.words.current_word(word::ORDERS))
    }

    /// Writer only: every counter word as the writer left them (what a book image keeps,
    /// so a restored level's statistics read the same).
    pub(crate) fn words(&self) -> [u64; word::COUNT] {
        self.words.current()
    }

    /// Writer only: replace every counter word at once (restoring a book image), published
    /// whole like any other change, the visible quantity's single word included.
    pub(crate) fn set_words(&self, words: &[u64; word::COUNT]) {
        self.words.publish(words);
        self.visible.store(words[word::VISIBLE] as Lots, Ordering::Release);
    }

    /// Writer only: apply one step's change and publish it whole (only the words that
    /// change are stored). Counts saturate; the visible quantity and order count cannot
    /// leave their range (the book checks a level's total before it accepts an order).
    #[inline(always)]
    pub(crate) fn apply(&self, d: &LevelDelta, now: Timestamp) {
        // Each changed word is computed from copy 1 as it stands, once per copy: copy 1 still
        // holds the old value when copy 0 is written, and is read just before it is itself
        // rewritten. Unchanged words are neither loaded nor stored.
        let cur = |i| self.words.current_word(i);
        let first_activity = cur(word::FIRST) as i64 == NO_TIME;
        let visible = (d.visible != 0).then(|| (cur(word::VISIBLE) as Lots + d.visible) as u64);
        self.words.publish_with(|copy| {
            let store = |i: usize, v: u64| {
                crate::stop_point::hit();
                copy[i].store(v, Ordering::Relaxed);
            };
            if let Some(v) = visible {
                store(word::VISIBLE, v);
            }
            if d.orders != 0 {
                store(word::ORDERS, (cur(word::ORDERS) as i64 + d.orders) as u64);
            }
            let counts = [
                (word::ADDED, d.added),
                (word::CANCELLED, d.cancelled),
                (word::EXPIRED, d.expired),
                (word::FILLED, d.filled),
                (word::TRADES, d.trades),
                (word::QUEUE_WAIT, d.queue_wait),
            ];
            for (i, by) in counts {
                if by != 0 {
                    store(i, cur(i).saturating_add(by));
                }
            }
            if d.executed != 0 {
                store(word::EXECUTED, (cur(word::EXECUTED) as Lots).saturating_add(d.executed) as u64);
            }
            if first_activity {
                store(word::FIRST, now as u64);
            }
            store(word::LAST, now as u64);
        });
        if let Some(v) = visible {
            crate::stop_point::hit();
            self.visible.store(v as Lots, Ordering::Release);
        }
    }

    /// Any thread: visible quantity. Wait-free: one load.
    pub(crate) fn visible(&self) -> Lots {
        self.visible.load(Ordering::Acquire)
    }

    /// Any thread: (visible quantity, order count) from the same writer step. Lock-free.
    pub(crate) fn read_pair(&self) -> (Lots, u64) {
        let w = self.words.read();
        (w[word::VISIBLE] as Lots, w[word::ORDERS])
    }

    /// Any thread: full consistent copy. Lock-free.
    pub(crate) fn snapshot(&self, side: Side, price: Ticks) -> LevelSnapshot {
        let opt = |t: u64| if t as i64 == NO_TIME { None } else { Some(t as i64) };
        let w = self.words.read();
        LevelSnapshot {
            side,
            price,
            quantity: w[word::VISIBLE] as Lots,
            order_count: w[word::ORDERS],
            orders_added: w[word::ADDED],
            orders_cancelled: w[word::CANCELLED],
            orders_expired: w[word::EXPIRED],
            orders_filled: w[word::FILLED],
            quantity_executed: w[word::EXECUTED] as Lots,
            trade_count: w[word::TRADES],
            queue_wait_ns: w[word::QUEUE_WAIT],
            first_activity: opt(w[word::FIRST]),
            last_activity: opt(w[word::LAST]),
        }
    }
}

/// Writer-only part of a level: the FIFO, its open quantity, and when it last emptied.
pub(crate) struct LevelQueue {
    /// Oldest order (arena index) or [`NIL`].
    pub head: u32,
    /// Newest order or [`NIL`].
    pub tail: u32,
    /// Open quantity including hidden iceberg quantity (for FOK and overflow checks).
    pub total_open: Lots,
    /// Identifies the latest time the level became empty (see `Step::retire_level`).
    pub empty_stamp: u64,
}

impl LevelQueue {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        LevelQueue { head: NIL, tail: NIL, total_open: 0, empty_stamp: 0 }
    }
}

/// A price level: the skiplist node payload.
pub(crate) struct Level {
    pub side: Side,
    pub price: Ticks,
    pub counters: LevelCounters,
    queue: UnsafeCell<LevelQueue>,
    /// Writer-only: (command stamp, index) of this level's entry in the book's level-change
    /// log, so a command that changes the level many times updates one entry in O(1).
    log_mark: UnsafeCell<(u64, u32)>,
    /// Writer-only: (period stamp, index) of this level's entry in the book's
    /// statistics-period log (see [`Level::log_mark`]).
    period_mark: UnsafeCell<(u64, u32)>,
}

impl Level {
    pub(crate) fn new(side: Side, price: Ticks) -> Self {
        Level {
            side,
            price,
            counters: LevelCounters::new(),
            queue: UnsafeCell::new(LevelQueue::new()),
            log_mark: UnsafeCell::new((0, 0)),
            period_mark: UnsafeCell::new((0, 0)),
        }
    }

    /// This level's (command stamp, index) in the level-change log.
    ///
    /// # Safety
    /// The caller must be the book's writer (the `BookWriter` that owns the level's book).
    pub(crate) unsafe fn log_mark(&self) -> (u64, u32) {
        // SAFETY: only the writer reads or writes the mark; a plain copy, no reference kept.
        unsafe { *self.log_mark.get() }
    }

    /// Set the mark read by [`Level::log_mark`].
    ///
    /// # Safety
    /// The caller must be the book's writer (the `BookWriter` that owns the level's book).
    pub(crate) unsafe fn set_log_mark(&self, mark: (u64, u32)) {
        // SAFETY: as in `log_mark`.
        unsafe { *self.log_mark.get() = mark }
    }

    /// This level's (period stamp, index) in the statistics-period log.
    ///
    /// # Safety
    /// The caller must be the book's writer (the `BookWriter` that owns the level's book).
    pub(crate) unsafe fn period_mark(&self) -> (u64, u32) {
        // SAFETY: only the writer reads or writes the mark; a plain copy, no reference kept.
        unsafe { *self.period_mark.get() }
    }

    /// Set the mark read by [`Level::period_mark`].
    ///
    /// # Safety
    /// The caller must be the book's writer (the `BookWriter` that owns the level's book).
    pub(crate) unsafe fn set_period_mark(&self, mark: (u64, u32)) {
        // SAFETY: as in `period_mark`.
        unsafe { *self.period_mark.get() = mark }
    }

    /// The writer-only queue.
    ///
    /// # Safety
    /// The caller must be the book's writer, and must not keep two returned
    /// references to the same level alive at once.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn queue(&self) -> &mut LevelQueue {
        // SAFETY: the caller is the writer, so no other thread touches the queue, and it
        // promises not to alias the returned reference.
        unsafe { &mut *self.queue.get() }
    }
}
