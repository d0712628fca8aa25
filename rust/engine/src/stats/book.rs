//! One symbol's statistics, kept by its worker: the open period of every configured length,
//! updated after each command and closed when time crosses its end.

use super::hasher::{level_key, LevelMap};
use super::{period_start, BookRow, LevelRow, StatsConfig, StatsRecord, ORDER_REJECT_BASE};
use crate::book::{BatchOutput, BookReader};
use crate::error::EngineError;
use crate::event::ExecutionReport;
use crate::level::LevelChange;
use crate::system::Request;
use crate::types::{Lots, OrderStatus, Side, Ticks, Timestamp};

/// Best price and visible size of one side.
type Best = Option<(Ticks, Lots)>;

/// A period being accumulated.
struct Open {
    row: BookRow,
    end: Timestamp,
    /// Time-weighted values are integrated up to here.
    integrated_to: Timestamp,
    /// Per-level rows (only used when levels are collected).
    levels: LevelMap<LevelRow>,
}

/// What a command did, as the statistics see it.
pub(crate) enum Ran<'a> {
    /// The book ran it (it may still have rejected the order itself).
    Done(Option<&'a BatchOutput>),
    /// The command was refused (bad input, unknown order).
    Refused(&'a EngineError),
}

/// One symbol's collector. Only the symbol's worker touches it.
pub(crate) struct BookCollector {
    symbol: u32,
    lengths: Box<[i64]>,
    depth_levels: usize,
    track_levels: bool,
    /// Engine time as far as statistics go: the largest timestamp seen.
    clock: Timestamp,
    open: Vec<Option<Open>>,
    /// Whether the next period opened for each length starts with history this collector
    /// did not see (the book was recovered, or the period was flushed at a stop).
    partial: Vec<bool>,
    bid: Best,
    ask: Best,
    /// Non-empty levels per side, kept from the writer's level log.
    levels: [u64; 2],
}

impl BookCollector {
    /// A collector for a book in its current state (`recovered`: the book has history, so
    /// the first periods are marked incomplete).
    pub(crate) fn new(symbol: u32, config: &StatsConfig, book: &BookReader, recovered: bool) -> Self {
        let n = config.periods.len();
        let (bid, ask) = book.top_of_book();
        BookCollector {
            symbol,
            lengths: config.periods.iter().map(|p| p.nanos).collect(),
            depth_levels: config.depth_levels,
            track_levels: config.levels,
            clock: Timestamp::MIN,
            open: (0..n).map(|_| None).collect(),
            partial: vec![recovered; n],
            bid: bid.map(|p| (p, book.depth_at(Side::Buy, p))),
            ask: ask.map(|p| (p, book.depth_at(Side::Sell, p))),
            levels: [book.level_count(Side::Buy) as u64, book.level_count(Side::Sell) as u64],
        }
    }

    /// Before a command at `timestamp` (or a period-close tick): close every period that
    /// ended at or before it, handing the rows to `emit`, and open the current ones.
    #[inline]
    pub(crate) fn before(
        &mut self,
        timestamp: Timestamp,
        book: &BookReader,
        emit: &mut impl FnMut(StatsRecord),
    ) {
        let t = timestamp.max(self.clock);
        self.clock = t;
        if let Some(o) = &self.open[0] {
            if t < o.end {
                return;
            }
        }
        self.roll(t, book, emit);
    }

    #[cold]
    fn roll(&mut self, t: Timestamp, book: &BookReader, emit: &mut impl FnMut(StatsRecord)) {
        let mut close = None;
        for k in 0..self.open.len() {
            let due = self.open[k].as_ref().is_some_and(|o| o.end <= t);
            if !due {
                continue;
            }
            let mut o = self.open[k].take().expect("checked above");
            let end = o.end;
            integrate(&mut o, self.bid, self.ask, end);
            if k == 0 {
                // The shortest period's totals are the longer ones' too.
                for longer in self.open[1..].iter_mut().flatten() {
                    add_counts(&mut longer.row, &o.row);
                    if self.track_levels {
                        for (key, l) in &o.levels {
                            add_level(longer.levels.entry(*key).or_insert_with(|| empty_level(l)), l);
                        }
                    }
                }
            }
            let state = close.get_or_insert_with(|| self.close_state(book));
            self.emit_row(o, state, emit);
        }
        for k in 0..self.open.len() {
            if self.open[k].is_none() {
                let start = period_start(t, self.lengths[k]);
                let complete = !std::mem::replace(&mut self.partial[k], false);
                self.open[k] = Some(Open {
                    row: BookRow {
                        symbol: self.symbol,
                        period: k as u8,
                        start,
                        length: self.lengths[k],
                        complete,
                        ..BookRow::default()
                    },
                    end: start.saturating_add(self.lengths[k]),
                    integrated_to: start,
                    levels: LevelMap::default(),
                });
            }
        }
    }

    /// The book as it stands when periods close (between two commands).
    fn close_state(&self, book: &BookReader) -> CloseState {
        let depth = book.depth(self.depth_levels);
        CloseState {
            bid_depth: depth.bids.iter().map(|l| l.quantity).sum(),
            ask_depth: depth.asks.iter().map(|l| l.quantity).sum(),
            resting: book.len() as u64,
        }
    }

    fn emit_row(&self, o: Open, state: &CloseState, emit: &mut impl FnMut(StatsRecord)) {
        let Open { mut row, levels, .. } = o;
        row.best_bid = self.bid;
        row.best_ask = self.ask;
        row.bid_depth = state.bid_depth;
        row.ask_depth = state.ask_depth;
        row.resting_orders = state.resting;
        row.bid_levels = self.levels[0];
        row.ask_levels = self.levels[1];
        if self.track_levels {
            let mut rows: Vec<LevelRow> = levels.into_values().collect();
            rows.sort_unstable_by_key(|l| (l.side as u8, l.price));
            row.levels = rows;
        }
        emit(StatsRecord::Book(Box::new(row)));
    }

    /// After the book ran a command (not called for refusals that never reached the book's
    /// sequence, nor for ticks).
    #[inline]
    pub(crate) fn after(
        &mut self,
        request: &Request,
        ran: Ran<'_>,
        report: &ExecutionReport,
        changes: &[LevelChange],
        book: &BookReader,
    ) {
        let Some(o) = self.open[0].as_mut() else { return };
        let row = &mut o.row;
        row.messages += 1;
        let batch = match ran {
            Ran::Refused(e) => {
                row.rejected[usize::from(e.code()).min(ORDER_REJECT_BASE - 1)] += 1;
                return;
            }
            Ran::Done(batch) => batch,
        };
        let own_reject = |row: &mut BookRow| match report.report {
            Some(u) if u.status == OrderStatus::Rejected => {
                let code = u.reject_reason.map_or(0, |r| r as usize);
                row.rejected[(ORDER_REJECT_BASE + code).min(super::REJECT_REASONS - 1)] += 1;
                true
            }
            _ => false,
        };
        match request {
            Request::New(_) if !own_reject(row) => row.orders_added += 1,
            Request::Cancel { .. } => row.orders_cancelled += 1,
            Request::Modify(_) if !own_reject(row) => row.orders_modified += 1,
            Request::Batch(_) => {
                let rows = batch.map_or(0, |b| b.status.len() as u64);
                let mut rejected = 0;
                for u in report.updates.iter().filter(|u| u.status == OrderStatus::Rejected) {
                    let code = u.reject_reason.map_or(0, |r| r as usize);
                    row.rejected[(ORDER_REJECT_BASE + code).min(super::REJECT_REASONS - 1)] += 1;
                    rejected += 1;
                }
                row.orders_added += rows.saturating_sub(rejected);
            }
            _ => {}
        }
        row.orders_expired +=
            report.updates.iter().filter(|u| u.status == OrderStatus::Expired).count() as u64;
        for t in &report.trades {
            row.open.get_or_insert(t.price);
            row.high = Some(row.high.map_or(t.price, |h| h.max(t.price)));
            row.low = Some(row.low.map_or(t.price, |l| l.min(t.price)));
            row.close = Some(t.price);
            row.volume = row.volume.saturating_add(t.quantity);
            row.notional += i128::from(t.price) * i128::from(t.quantity);
            row.trades += 1;
            match t.taker_side {
                Side::Buy => row.buy_volume = row.buy_volume.saturating_add(t.quantity),
                Side::Sell => row.sell_volume = row.sell_volume.saturating_add(t.quantity),
            }
        }
        for c in changes {
            let before = c.order_count as i64 - c.activity.orders;
            let s = c.side as usize;
            if before == 0 && c.order_count > 0 {
                self.levels[s] += 1;
            } else if before > 0 && c.order_count == 0 {
                self.levels[s] = self.levels[s].saturating_sub(1);
            }
            if self.track_levels {
                let l = o
                    .levels
                    .entry(level_key(c.side, c.price))
                    .or_insert_with(|| LevelRow::at(c.side, c.price));
                let a = &c.activity;
                l.orders_added += a.added;
                l.orders_cancelled += a.cancelled;
                l.orders_expired += a.expired;
                l.orders_filled += a.filled;
                l.quantity_executed = l.quantity_executed.saturating_add(a.executed);
                l.trades += a.trades;
                l.queue_wait_ns = l.queue_wait_ns.saturating_add(a.queue_wait_ns);
                l.quantity = c.quantity;
                l.order_count = c.order_count;
            }
        }
        let bid = best_after(Side::Buy, book.best_bid(), self.bid, changes, book);
        let ask = best_after(Side::Sell, book.best_ask(), self.ask, changes, book);
        if bid != self.bid || ask != self.ask {
            let now = self.clock;
            for o in self.open.iter_mut().flatten() {
                integrate(o, self.bid, self.ask, now);
            }
            self.bid = bid;
            self.ask = ask;
        }
    }

    /// At a stop: every open period as an incomplete row (a row for the same period after
    /// the restart adds to it).
    pub(crate) fn flush(&mut self, book: &BookReader, emit: &mut impl FnMut(StatsRecord)) {
        if self.open.iter().all(Option::is_none) {
            return;
        }
        let state = self.close_state(book);
        let now = self.clock;
        for k in 0..self.open.len() {
            if let Some(mut o) = self.open[k].take() {
                let until = now.min(o.end);
                integrate(&mut o, self.bid, self.ask, until);
                o.row.complete = false;
                if k == 0 {
                    // Longer periods have not received the shortest's totals yet.
                    for longer in self.open[1..].iter_mut().flatten() {
                        add_counts(&mut longer.row, &o.row);
                        if self.track_levels {
                            for (key, l) in &o.levels {
                                add_level(longer.levels.entry(*key).or_insert_with(|| empty_level(l)), l);
                            }
                        }
                    }
                }
                // A period only a tick opened holds nothing worth a row.
                if o.row.messages > 0 {
                    self.emit_row(o, &state, emit);
                }
                self.partial[k] = true;
            }
        }
    }
}

struct CloseState {
    bid_depth: Lots,
    ask_depth: Lots,
    resting: u64,
}

/// The best price and size of one side after a command: the level log has the size when
/// the command touched the best level; otherwise an unchanged best keeps its size, and a
/// new best the command did not touch (the old one emptied) is read from the book.
#[inline]
fn best_after(
    side: Side,
    price: Option<Ticks>,
    old: Best,
    changes: &[LevelChange],
    book: &BookReader,
) -> Best {
    let p = price?;
    if let Some(c) = changes.iter().find(|c| c.side == side && c.price == p) {
        return Some((p, c.quantity));
    }
    match old {
        Some((q, size)) if q == p => Some((p, size)),
        _ => Some((p, book.depth_at(side, p))),
    }
}

/// Integrate the top of the book as it stood from `o.integrated_to` up to `until`.
#[inline]
fn integrate(o: &mut Open, bid: Best, ask: Best, until: Timestamp) {
    let dt = until.saturating_sub(o.integrated_to);
    if dt <= 0 {
        return;
    }
    o.integrated_to = until;
    let row = &mut o.row;
    if let Some((_, size)) = bid {
        row.bid_size_time += i128::from(size) * i128::from(dt);
        row.bid_ns += dt;
    }
    if let Some((_, size)) = ask {
        row.ask_size_time += i128::from(size) * i128::from(dt);
        row.ask_ns += dt;
    }
    if let (Some((b, _)), Some((a, _))) = (bid, ask) {
        row.spread_time += i128::from(a - b) * i128::from(dt);
        row.two_sided_ns += dt;
    }
}

/// Add the counters of a shorter period's row (not its time-weighted values, which every
/// period integrates itself, nor its closing state).
fn add_counts(into: &mut BookRow, from: &BookRow) {
    if from.trades > 0 {
        into.open = into.open.or(from.open);
        into.high = max_opt(into.high, from.high);
        into.low = min_opt(into.low, from.low);
        into.close = from.close;
    }
    into.volume = into.volume.saturating_add(from.volume);
    into.notional += from.notional;
    into.trades += from.trades;
    into.buy_volume = into.buy_volume.saturating_add(from.buy_volume);
    into.sell_volume = into.sell_volume.saturating_add(from.sell_volume);
    into.orders_added += from.orders_added;
    into.orders_cancelled += from.orders_cancelled;
    into.orders_modified += from.orders_modified;
    into.orders_expired += from.orders_expired;
    for (a, b) in into.rejected.iter_mut().zip(from.rejected) {
        *a += b;
    }
    into.messages += from.messages;
}

fn empty_level(l: &LevelRow) -> LevelRow {
    LevelRow::at(l.side, l.price)
}

fn add_level(into: &mut LevelRow, from: &LevelRow) {
    into.orders_added += from.orders_added;
    into.orders_cancelled += from.orders_cancelled;
    into.orders_expired += from.orders_expired;
    into.orders_filled += from.orders_filled;
    into.quantity_executed = into.quantity_executed.saturating_add(from.quantity_executed);
    into.trades += from.trades;
    into.queue_wait_ns = into.queue_wait_ns.saturating_add(from.queue_wait_ns);
    into.quantity = from.quantity;
    into.order_count = from.order_count;
}

fn max_opt(a: Option<Ticks>, b: Option<Ticks>) -> Option<Ticks> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn min_opt(a: Option<Ticks>, b: Option<Ticks>) -> Option<Ticks> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}
