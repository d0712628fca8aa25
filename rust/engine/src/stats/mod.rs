//! Statistics by time period, kept by each worker for its own books with no lock.
//!
//! Every configured period (say 1 s, 1 min, 1 h) is aligned to clock boundaries of the
//! engine's own timestamps: the period of length `p` holding time `t` starts at
//! `t - t.rem_euclid(p)`. A period closes when a command (or a period-close tick, see
//! [`Request::ClosePeriods`](crate::system::Request::ClosePeriods)) arrives at or after its
//! end; its row is handed to a bounded lock-free queue that the system's owner drains
//! ([`TradingSystem::drain_statistics`](crate::system::TradingSystem::drain_statistics)) and
//! stores. Because the rows depend only on the commands and their timestamps, a replay of
//! the same commands produces the same book and level rows (the worker rows hold measured
//! latencies, which do not replay).
//!
//! Cost: every command updates the accumulator of the shortest period only (a few adds and
//! compares; the book itself keeps the per-level activity of the period through a mark on
//! each level, no lookup); each longer period must be a multiple of the shortest and
//! receives the shortest's totals and time-weighted integrals when that closes.

mod book;
mod hasher;
mod worker;

pub(crate) use book::{BookCollector, Ran};
pub(crate) use worker::{Gauges, WorkerCollector};

use crate::error::{EngineError, EngineResult};
use crate::types::{Lots, Side, Ticks, Timestamp};

/// One statistics period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsPeriod {
    /// Its name as configured and stored (`"1s"`, `"1m"`, `"1h"`).
    pub name: String,
    /// Its length in nanoseconds of engine time.
    pub nanos: i64,
}

/// What statistics a system collects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsConfig {
    /// Periods, shortest first; each a whole multiple of the shortest.
    pub periods: Vec<StatsPeriod>,
    /// Levels per side summed into a row's closing depth (`bid_depth`, `ask_depth`).
    pub depth_levels: usize,
    /// Collect per-price-level rows (one per level active in a period).
    pub levels: bool,
    /// Rows (one per symbol or worker and period) the hand-off queue holds; when it is full
    /// a closing row is dropped and counted, never waited for.
    pub queue_capacity: usize,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            periods: vec![
                StatsPeriod { name: "1s".into(), nanos: 1_000_000_000 },
                StatsPeriod { name: "1m".into(), nanos: 60_000_000_000 },
            ],
            depth_levels: 5,
            levels: true,
            queue_capacity: 1 << 16,
        }
    }
}

impl StatsConfig {
    /// Check the periods; the error names the key.
    pub fn validate(&self) -> EngineResult<()> {
        let bad = |m: String| Err(EngineError::InvalidConfig(m));
        let Some(first) = self.periods.first() else {
            return bad("statistics.periods: at least one period is needed".into());
        };
        for (i, p) in self.periods.iter().enumerate() {
            if p.nanos <= 0 {
                return bad(format!("statistics.periods[{i}]: {} must be longer than zero", p.name));
            }
            if i > 0 {
                let prev = &self.periods[i - 1];
                if p.nanos <= prev.nanos {
                    return bad(format!(
                        "statistics.periods[{i}]: {} must be longer than {} (list them shortest first, once each)",
                        p.name, prev.name
                    ));
                }
                if p.nanos % first.nanos != 0 {
                    return bad(format!(
                        "statistics.periods[{i}]: {} is not a whole multiple of the shortest period {} \
                         (longer periods are built from the shortest's rows)",
                        p.name, first.name
                    ));
                }
            }
        }
        if self.depth_levels == 0 || self.depth_levels > 1000 {
            return bad(format!("statistics.depth_levels: {} is not in 1..=1000", self.depth_levels));
        }
        if self.periods.len() > 16 {
            return bad(format!("statistics.periods: {} periods; at most 16", self.periods.len()));
        }
        if self.queue_capacity == 0 || self.queue_capacity > 1 << 24 {
            return bad(format!("statistics.queue_capacity: {} is not in 1..=16777216", self.queue_capacity));
        }
        Ok(())
    }
}

/// Start of the period of length `nanos` that holds `t`.
#[inline]
pub(crate) fn period_start(t: Timestamp, nanos: i64) -> Timestamp {
    // Saturates at the far end of time (i64::MIN) instead of wrapping.
    t.saturating_sub(t.rem_euclid(nanos))
}

/// Number of distinct reject reasons a row counts (see [`reject_reason_name`]).
pub const REJECT_REASONS: usize = 16;

/// Slot of an order-level reject reason (a `RejectReason` code) among the reject counts;
/// slots below it are command refusals by [`EngineError::code`].
pub(crate) const ORDER_REJECT_BASE: usize = 12;

/// Name of reject slot `i` as stored (`None` for unused slots).
pub fn reject_reason_name(i: usize) -> Option<&'static str> {
    Some(match i {
        1 => "invalid_order",
        2 => "duplicate_order_id",
        3 => "order_not_found",
        4 => "invalid_config",
        5 => "unknown_symbol",
        6 => "queue_full",
        7 => "symbol_halted",
        8 => "system_closed",
        9 => "book_poisoned",
        10 => "corrupt_data",
        11 => "storage",
        12 => "batch_row_rejected",
        13 => "post_only_would_cross",
        14 => "duplicate_resting_id",
        15 => "order_pool_full",
        _ => return None,
    })
}

/// One symbol's row for one period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookRow {
    /// Index of the symbol.
    pub symbol: u32,
    /// Index of the period in [`StatsConfig::periods`].
    pub period: u8,
    /// Period start (engine time, ns).
    pub start: Timestamp,
    /// Period length (ns).
    pub length: i64,
    /// False when the row does not cover its whole period: the system started (after a
    /// recovery) or stopped inside it. A later row for the same period adds to it.
    pub complete: bool,
    /// Engine time the row's coverage starts at (`start`, or a resume time inside it).
    pub covered_from: Timestamp,
    /// Engine time it covers up to (the end, or the stop inside it).
    pub covered_to: Timestamp,
    /// First, highest, lowest and last trade price (ticks).
    pub open: Option<Ticks>,
    /// See `open`.
    pub high: Option<Ticks>,
    /// See `open`.
    pub low: Option<Ticks>,
    /// See `open`.
    pub close: Option<Ticks>,
    /// Lots traded.
    pub volume: Lots,
    /// Sum of price × quantity over trades (ticks × lots), for the VWAP.
    pub notional: i128,
    /// Trades printed.
    pub trades: u64,
    /// Lots traded with a buying taker.
    pub buy_volume: Lots,
    /// Lots traded with a selling taker.
    pub sell_volume: Lots,
    /// New orders accepted (single orders and batch rows not rejected).
    pub orders_added: u64,
    /// Orders cancelled by a cancel command.
    pub orders_cancelled: u64,
    /// Modify commands accepted.
    pub orders_modified: u64,
    /// Orders expired (GTD time or end of day).
    pub orders_expired: u64,
    /// Commands refused and orders rejected, by reason slot (see [`reject_reason_name`]).
    pub rejected: [u64; REJECT_REASONS],
    /// Commands (each with its sequence number; period-close ticks not included).
    pub messages: u64,
    /// Best bid and its visible size when the period closed.
    pub best_bid: Option<(Ticks, Lots)>,
    /// Best ask and its visible size when the period closed.
    pub best_ask: Option<(Ticks, Lots)>,
    /// ∫ (ask − bid) dt over the time both sides were present (ticks × ns).
    pub spread_time: i128,
    /// Time both sides were present (ns).
    pub two_sided_ns: i64,
    /// ∫ best bid size dt (lots × ns) over `bid_ns`.
    pub bid_size_time: i128,
    /// Time a bid was present (ns).
    pub bid_ns: i64,
    /// ∫ best ask size dt (lots × ns) over `ask_ns`.
    pub ask_size_time: i128,
    /// Time an ask was present (ns).
    pub ask_ns: i64,
    /// Visible lots in the best [`StatsConfig::depth_levels`] bid levels at close.
    pub bid_depth: Lots,
    /// Visible lots in the best ask levels at close.
    pub ask_depth: Lots,
    /// Orders resting at close.
    pub resting_orders: u64,
    /// Non-empty bid levels at close.
    pub bid_levels: u64,
    /// Non-empty ask levels at close.
    pub ask_levels: u64,
    /// Per-level rows of the period (levels with activity), when enabled.
    pub levels: Vec<LevelRow>,
}

impl BookRow {
    /// Total of [`BookRow::rejected`].
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

/// One price level's activity in one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelRow {
    /// Side of the book.
    pub side: Side,
    /// Price (ticks).
    pub price: Ticks,
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
    pub trades: u64,
    /// Summed queue wait of the orders fully executed here (ns); the mean is this over
    /// `orders_filled`.
    pub queue_wait_ns: u64,
    /// Visible lots at the level's last change in the period.
    pub quantity: Lots,
    /// Orders resting there at its last change in the period.
    pub order_count: u64,
}

impl LevelRow {
    /// A level with no activity yet.
    pub fn at(side: Side, price: Ticks) -> LevelRow {
        LevelRow {
            side,
            price,
            orders_added: 0,
            orders_cancelled: 0,
            orders_expired: 0,
            orders_filled: 0,
            quantity_executed: 0,
            trades: 0,
            queue_wait_ns: 0,
            quantity: 0,
            order_count: 0,
        }
    }
}

/// One worker's row for one period (measured values: they do not replay).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerRow {
    /// Index of the worker.
    pub worker: u32,
    /// Index of the period.
    pub period: u8,
    /// Period start (engine time of the worker's commands, ns).
    pub start: Timestamp,
    /// Period length (ns).
    pub length: i64,
    /// See [`BookRow::complete`].
    pub complete: bool,
    /// See [`BookRow::covered_from`].
    pub covered_from: Timestamp,
    /// See [`BookRow::covered_to`].
    pub covered_to: Timestamp,
    /// Commands processed (sequence numbers taken, ticks included).
    pub commands: u64,
    /// Queue entries taken (a batch or command list is one).
    pub envelopes: u64,
    /// Latency from enqueue to the worker's answer, per queue entry (ns).
    pub latency: LatencySummary,
    /// Longest the worker's queue was at the start of a round.
    pub queue_depth_max: u64,
    /// Events published on the worker's ring.
    pub events_published: u64,
    /// Events subscribers missed because they fell a ring behind.
    pub events_lost: u64,
    /// Journal bytes the worker's committer wrote.
    pub journal_bytes: u64,
    /// Journal records written.
    pub journal_records: u64,
    /// Journal syncs (fdatasync calls).
    pub journal_syncs: u64,
    /// Their summed duration (ns).
    pub journal_sync_ns: u64,
    /// Book captures for snapshots.
    pub snapshots: u64,
    /// Longest capture pause (ns).
    pub snapshot_capture_max_ns: u64,
    /// Rows dropped because the statistics queue was full (since the previous row).
    pub rows_dropped: u64,
}

/// Percentiles of one period's latency samples (0 when there were none).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Mean (ns).
    pub mean: f64,
    /// Median (ns).
    pub p50: u64,
    /// 90th percentile (ns).
    pub p90: u64,
    /// 99th percentile (ns).
    pub p99: u64,
    /// 99.9th percentile (ns).
    pub p999: u64,
    /// Largest (ns).
    pub max: u64,
}

/// A closed row, as drained from the system.
#[derive(Clone, Debug, PartialEq)]
pub enum StatsRecord {
    /// A symbol's period row (with its level rows).
    Book(Box<BookRow>),
    /// A worker's period row.
    Worker(Box<WorkerRow>),
}
