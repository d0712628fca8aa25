//! One price level: reader-visible counters behind a per-level sequence lock, plus the
//! writer-only FIFO of orders.

use core::cell::UnsafeCell;

use crate::primitive::sync::atomic::{fence, AtomicI64, AtomicU64, Ordering};
use crate::types::{Lots, Side, Ticks, Timestamp};

/// Index sentinel for "no order" in the intrusive FIFO.
pub(crate) const NIL: u32 = u32::MAX;
/// Marker for "no activity yet" in the activity timestamps.
const NO_TIME: i64 = i64::MIN;

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

/// Counters readers may copy at any time. The writer is the only one that stores; each
/// change is bracketed by `seq` going odd then even, so readers detect a torn copy and retry.
pub(crate) struct LevelCounters {
    seq: AtomicU64,
    visible: AtomicI64,
    orders: AtomicU64,
    added: AtomicU64,
    cancelled: AtomicU64,
    expired: AtomicU64,
    filled: AtomicU64,
    executed: AtomicI64,
    trades: AtomicU64,
    queue_wait: AtomicU64,
    first: AtomicI64,
    last: AtomicI64,
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
        LevelCounters {
            seq: AtomicU64::new(0),
            visible: AtomicI64::new(0),
            orders: AtomicU64::new(0),
            added: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            filled: AtomicU64::new(0),
            executed: AtomicI64::new(0),
            trades: AtomicU64::new(0),
            queue_wait: AtomicU64::new(0),
            first: AtomicI64::new(NO_TIME),
            last: AtomicI64::new(NO_TIME),
        }
    }

    /// Writer only: the visible quantity and order count as the writer left them.
    pub(crate) fn visible_and_orders(&self) -> (Lots, u64) {
        (self.visible.load(Ordering::Relaxed), self.orders.load(Ordering::Relaxed))
    }

    /// Writer only. Plain load+store instead of RMW: there is exactly one writer.
    pub(crate) fn apply(&self, d: &LevelDelta, now: Timestamp) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        let bump_u = |a: &AtomicU64, by: u64| {
            if by != 0 {
                a.store(a.load(Ordering::Relaxed).saturating_add(by), Ordering::Relaxed)
            }
        };
        if d.visible != 0 {
            self.visible.store(self.visible.load(Ordering::Relaxed) + d.visible, Ordering::Relaxed);
        }
        if d.orders != 0 {
            let o = self.orders.load(Ordering::Relaxed) as i64 + d.orders;
            self.orders.store(o as u64, Ordering::Relaxed);
        }
        bump_u(&self.added, d.added);
        bump_u(&self.cancelled, d.cancelled);
        bump_u(&self.expired, d.expired);
        bump_u(&self.filled, d.filled);
        if d.executed != 0 {
            let e = self.executed.load(Ordering::Relaxed).saturating_add(d.executed);
            self.executed.store(e, Ordering::Relaxed);
        }
        bump_u(&self.trades, d.trades);
        bump_u(&self.queue_wait, d.queue_wait);
        if self.first.load(Ordering::Relaxed) == NO_TIME {
            self.first.store(now, Ordering::Relaxed);
        }
        self.last.store(now, Ordering::Relaxed);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// Any thread: visible quantity (a single word, never torn).
    pub(crate) fn visible(&self) -> Lots {
        self.visible.load(Ordering::Acquire)
    }

    /// Any thread: (visible quantity, order count) from the same writer step.
    pub(crate) fn read_pair(&self) -> (Lots, u64) {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let q = self.visible.load(Ordering::Relaxed);
                let c = self.orders.load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    return (q, c);
                }
            }
            crate::primitive::hint::spin_loop();
        }
    }

    /// Any thread: full consistent copy.
    pub(crate) fn snapshot(&self, side: Side, price: Ticks) -> LevelSnapshot {
        let opt = |t: i64| if t == NO_TIME { None } else { Some(t) };
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let snap = LevelSnapshot {
                    side,
                    price,
                    quantity: self.visible.load(Ordering::Relaxed),
                    order_count: self.orders.load(Ordering::Relaxed),
                    orders_added: self.added.load(Ordering::Relaxed),
                    orders_cancelled: self.cancelled.load(Ordering::Relaxed),
                    orders_expired: self.expired.load(Ordering::Relaxed),
                    orders_filled: self.filled.load(Ordering::Relaxed),
                    quantity_executed: self.executed.load(Ordering::Relaxed),
                    trade_count: self.trades.load(Ordering::Relaxed),
                    queue_wait_ns: self.queue_wait.load(Ordering::Relaxed),
                    first_activity: opt(self.first.load(Ordering::Relaxed)),
                    last_activity: opt(self.last.load(Ordering::Relaxed)),
                };
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    return snap;
                }
            }
            crate::primitive::hint::spin_loop();
        }
    }
}

/// Writer-only part of a level: the FIFO and bookkeeping for retention.
pub(crate) struct LevelQueue {
    /// Oldest order (arena index) or [`NIL`].
    pub head: u32,
    /// Newest order or [`NIL`].
    pub tail: u32,
    /// Open quantity including hidden iceberg quantity (for FOK and overflow checks).
    pub total_open: Lots,
    /// Whether the node is currently linked into its side's skiplist.
    pub linked: bool,
    /// Identifies the latest time the level became empty (see retention in `ladder`).
    pub empty_stamp: u64,
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
}

impl Level {
    pub(crate) fn new(side: Side, price: Ticks) -> Self {
        Level {
            side,
            price,
            counters: LevelCounters::new(),
            queue: UnsafeCell::new(LevelQueue {
                head: NIL,
                tail: NIL,
                total_open: 0,
                linked: false,
                empty_stamp: 0,
            }),
            log_mark: UnsafeCell::new((0, 0)),
        }
    }

    /// This level's (command stamp, index) in the level-change log.
    ///
    /// # Safety
    /// The caller must hold the book's writer token.
    pub(crate) unsafe fn log_mark(&self) -> (u64, u32) {
        // SAFETY: only the token holder reads or writes the mark; a plain copy, no reference kept.
        unsafe { *self.log_mark.get() }
    }

    /// Set the mark read by [`Level::log_mark`].
    ///
    /// # Safety
    /// The caller must hold the book's writer token.
    pub(crate) unsafe fn set_log_mark(&self, mark: (u64, u32)) {
        // SAFETY: as in `log_mark`.
        unsafe { *self.log_mark.get() = mark }
    }

    /// The writer-only queue.
    ///
    /// # Safety
    /// The caller must hold the book's writer token, and must not keep two returned
    /// references to the same level alive at once.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn queue(&self) -> &mut LevelQueue {
        // SAFETY: the caller holds the writer token, so no other thread touches the queue,
        // and promises not to alias the returned reference.
        unsafe { &mut *self.queue.get() }
    }
}
