//! One symbol's statistics, kept by its worker: the open period of every configured length,
//! updated after each command and closed when time crosses its end.
//!
//! Per command only the shortest period's compact accumulator ([`Hot`], a few cache lines)
//! is touched, and the time-weighted values are integrated into it alone. When the shortest
//! period closes, its totals and integrals are added to the longer periods, and the time
//! until the next shortest period with activity (no command: the top of the book did not
//! change) is integrated into the longer ones directly.

use super::hasher::{level_key, LevelMap};
use super::{period_start, BookRow, LevelRow, StatsConfig, StatsRecord, ORDER_REJECT_BASE, REJECT_REASONS};
use crate::book::{BatchOutput, BookReader, BookWriter};
use crate::error::EngineError;
use crate::event::ExecutionReport;
use crate::level::LevelChange;
use crate::system::Request;
use crate::types::{Lots, OrderStatus, Side, Ticks, Timestamp};

/// Best price and visible size of one side.
type Best = Option<(Ticks, Lots)>;

/// Marks "no trade yet" in [`Hot`]'s prices.
const NONE: Ticks = Ticks::MIN;

/// What every command may update: the shortest period's totals, packed.
#[derive(Clone, Copy)]
struct Hot {
    end: Timestamp,
    messages: u64,
    orders_added: u64,
    trades: u64,
    volume: Lots,
    buy_volume: Lots,
    open: Ticks,
    high: Ticks,
    low: Ticks,
    close: Ticks,
    notional: i128,
    /// Time-weighted values (see `BookRow`), integrated up to `integrated_to`.
    integrated_to: Timestamp,
    tw: Integrals,
    // Less frequent.
    orders_cancelled: u64,
    orders_modified: u64,
    orders_expired: u64,
}

impl Hot {
    fn new(start: Timestamp, end: Timestamp) -> Self {
        Hot {
            end,
            messages: 0,
            orders_added: 0,
            trades: 0,
            volume: 0,
            buy_volume: 0,
            open: NONE,
            high: NONE,
            low: NONE,
            close: NONE,
            notional: 0,
            integrated_to: start,
            tw: Integrals::default(),
            orders_cancelled: 0,
            orders_modified: 0,
            orders_expired: 0,
        }
    }

    /// Integrate the top of the book as it stood from `integrated_to` up to `until`.
    #[inline]
    fn integrate(&mut self, bid: Best, ask: Best, until: Timestamp) {
        let dt = until.saturating_sub(self.integrated_to);
        if dt <= 0 {
            return;
        }
        self.integrated_to = until;
        self.tw.add_span(bid, ask, dt);
    }
}

/// Time-weighted sums over some span.
#[derive(Clone, Copy, Default)]
struct Integrals {
    spread_time: i128,
    two_sided_ns: i64,
    bid_size_time: i128,
    bid_ns: i64,
    ask_size_time: i128,
    ask_ns: i64,
}

impl Integrals {
    #[inline]
    fn add_span(&mut self, bid: Best, ask: Best, dt: i64) {
        if dt <= 0 {
            return;
        }
        if let Some((_, size)) = bid {
            self.bid_size_time += i128::from(size) * i128::from(dt);
            self.bid_ns += dt;
        }
        if let Some((_, size)) = ask {
            self.ask_size_time += i128::from(size) * i128::from(dt);
            self.ask_ns += dt;
        }
        if let (Some((b, _)), Some((a, _))) = (bid, ask) {
            self.spread_time += i128::from(a - b) * i128::from(dt);
            self.two_sided_ns += dt;
        }
    }

    fn add_to(&self, row: &mut BookRow) {
        row.spread_time += self.spread_time;
        row.two_sided_ns += self.two_sided_ns;
        row.bid_size_time += self.bid_size_time;
        row.bid_ns += self.bid_ns;
        row.ask_size_time += self.ask_size_time;
        row.ask_ns += self.ask_ns;
    }
}

/// The shortest period being accumulated.
struct Short {
    start: Timestamp,
    /// Where this row's coverage begins (the start, or the resume time inside it).
    from: Timestamp,
    complete: bool,
    hot: Hot,
    rejected: [u64; REJECT_REASONS],
}

/// A longer period being accumulated (it receives the shortest's totals).
struct Open {
    row: BookRow,
    end: Timestamp,
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
    /// The shortest period's accumulator (`None` before the first command and after a stop).
    short: Option<Short>,
    bid: Best,
    ask: Best,
    /// Engine time as far as statistics go: the largest timestamp seen.
    clock: Timestamp,
    /// Non-empty levels per side, kept from the writer's level log.
    levels: [u64; 2],
    symbol: u32,
    lengths: Box<[i64]>,
    depth_levels: usize,
    track_levels: bool,
    /// The longer periods (index `k - 1` for period `k`).
    longer: Vec<Option<Open>>,
    /// Engine time up to which the book has history this collector did not see (a
    /// recovered book's last command, or this collector's own stop): a period holding it is
    /// incomplete, and its time-weighted values start there (the row stored before covers
    /// the time until then).
    resume: Option<Timestamp>,
    /// The shortest period's level entries as taken from the book (buffer reused).
    taken: Vec<LevelChange>,
}

impl BookCollector {
    /// A collector for a book in its current state (`recovered`: the book has history, so
    /// the first periods are marked incomplete).
    pub(crate) fn new(
        symbol: u32,
        config: &StatsConfig,
        writer: &mut BookWriter,
        resume: Option<Timestamp>,
    ) -> Self {
        let n = config.periods.len();
        // The book keeps the shortest period's per-level activity itself (one entry per
        // level, found through a mark on the level: no lookup per change).
        writer.track_period_levels(config.levels);
        let [bid, ask] = writer.top_levels();
        let book = writer.reader();
        BookCollector {
            short: None,
            bid,
            ask,
            clock: Timestamp::MIN,
            levels: [book.level_count(Side::Buy) as u64, book.level_count(Side::Sell) as u64],
            symbol,
            lengths: config.periods.iter().map(|p| p.nanos).collect(),
            depth_levels: config.depth_levels,
            track_levels: config.levels,
            longer: (1..n).map(|_| None).collect(),
            resume,
            taken: Vec::new(),
        }
    }

    /// Before a command at `timestamp` (or a period-close tick): close every period that
    /// ended at or before it, handing the rows to `emit`, and open the current ones.
    #[inline]
    pub(crate) fn before(
        &mut self,
        timestamp: Timestamp,
        writer: &mut BookWriter,
        emit: &mut impl FnMut(StatsRecord),
    ) {
        let t = timestamp.max(self.clock);
        self.clock = t;
        if let Some(s) = &self.short {
            if t < s.hot.end {
                return;
            }
        }
        self.roll(t, writer, emit);
    }

    #[cold]
    fn roll(&mut self, t: Timestamp, writer: &mut BookWriter, emit: &mut impl FnMut(StatsRecord)) {
        let next_short = period_start(t, self.lengths[0]);
        let mut close = None;
        if let Some(mut s) = self.short.take() {
            let end = s.hot.end;
            s.hot.integrate(self.bid, self.ask, end);
            let levels = self.close_short(&s, writer);
            // The quiet time up to the next shortest period (or a longer period's end)
            // belongs to the longer periods: the top of the book held still over it.
            for o in self.longer.iter_mut().flatten() {
                let mut quiet = Integrals::default();
                quiet.add_span(self.bid, self.ask, (o.end.min(next_short) - end).max(0));
                quiet.add_to(&mut o.row);
            }
            let state = close.get_or_insert_with(|| self.close_state(writer.reader()));
            let row = self.short_row(&s, levels, state);
            emit(StatsRecord::Book(Box::new(row)));
        }
        for k in 0..self.longer.len() {
            if self.longer[k].as_ref().is_some_and(|o| o.end <= t) {
                let o = self.longer[k].take().expect("checked above");
                let state = close.get_or_insert_with(|| self.close_state(writer.reader()));
                self.emit_longer(o, state, emit);
            }
        }
        let end = next_short.saturating_add(self.lengths[0]);
        let (from, complete) = self.coverage(next_short, end);
        self.short = Some(Short {
            start: next_short,
            from,
            complete,
            hot: Hot::new(from, end),
            rejected: [0; REJECT_REASONS],
        });
        for k in 0..self.longer.len() {
            if self.longer[k].is_none() {
                let length = self.lengths[k + 1];
                let start = period_start(t, length);
                let end = start.saturating_add(length);
                let (from, complete) = self.coverage(start, end);
                let mut row = BookRow {
                    symbol: self.symbol,
                    period: (k + 1) as u8,
                    start,
                    length,
                    complete,
                    covered_from: from,
                    covered_to: end,
                    ..BookRow::default()
                };
                // From its coverage's start to the new shortest period: the top held still.
                let mut quiet = Integrals::default();
                quiet.add_span(self.bid, self.ask, (next_short - from).max(0));
                quiet.add_to(&mut row);
                self.longer[k] = Some(Open { row, end, levels: LevelMap::default() });
            }
        }
    }

    /// Where a period `[start, end)` opened now begins to be covered, and whether that is
    /// its whole length.
    fn coverage(&self, start: Timestamp, end: Timestamp) -> (Timestamp, bool) {
        match self.resume {
            Some(r) if r >= start => (r.min(end), false),
            _ => (start, true),
        }
    }

    /// The shortest period ends: take its level entries from the book, and add its totals
    /// (counters, integrals, levels) into the longer periods. Returns its level rows.
    fn close_short(&mut self, s: &Short, writer: &mut BookWriter) -> Vec<LevelRow> {
        let mut rows = Vec::new();
        if self.track_levels {
            writer.take_period_levels(&mut self.taken);
            rows.reserve(self.taken.len());
            for c in &self.taken {
                let a = &c.activity;
                rows.push(LevelRow {
                    side: c.side,
                    price: c.price,
                    orders_added: a.added,
                    orders_cancelled: a.cancelled,
                    orders_expired: a.expired,
                    orders_filled: a.filled,
                    quantity_executed: a.executed,
                    trades: a.trades,
                    queue_wait_ns: a.queue_wait_ns,
                    quantity: c.quantity,
                    order_count: c.order_count,
                });
            }
            // A level emptied, evicted and created again within the period has two entries
            // (a new node, a new mark): the stable sort keeps them in the order first
            // touched, and they merge into one with the later one's closing state.
            rows.sort_by_key(|l| (l.side as u8, l.price));
            rows.dedup_by(|later, earlier| {
                let same = (later.side, later.price) == (earlier.side, earlier.price);
                if same {
                    add_level(earlier, later);
                }
                same
            });
        }
        let h = &s.hot;
        for o in self.longer.iter_mut().flatten() {
            let row = &mut o.row;
            if h.trades > 0 {
                if row.open.is_none() {
                    row.open = Some(h.open);
                }
                row.high = Some(row.high.map_or(h.high, |x| x.max(h.high)));
                row.low = Some(row.low.map_or(h.low, |x| x.min(h.low)));
                row.close = Some(h.close);
            }
            row.volume = row.volume.saturating_add(h.volume);
            row.notional += h.notional;
            row.trades += h.trades;
            row.buy_volume = row.buy_volume.saturating_add(h.buy_volume);
            row.sell_volume = row.sell_volume.saturating_add(h.volume - h.buy_volume);
            row.orders_added += h.orders_added;
            row.orders_cancelled += h.orders_cancelled;
            row.orders_modified += h.orders_modified;
            row.orders_expired += h.orders_expired;
            row.messages += h.messages;
            for (a, b) in row.rejected.iter_mut().zip(s.rejected) {
                *a += b;
            }
            h.tw.add_to(row);
            for l in &rows {
                let into = o
                    .levels
                    .entry(level_key(l.side, l.price))
                    .or_insert_with(|| LevelRow::at(l.side, l.price));
                add_level(into, l);
            }
        }
        rows
    }

    fn short_row(&self, s: &Short, levels: Vec<LevelRow>, state: &CloseState) -> BookRow {
        let h = &s.hot;
        let px = |p: Ticks| (p != NONE).then_some(p);
        let mut row = BookRow {
            symbol: self.symbol,
            period: 0,
            start: s.start,
            length: self.lengths[0],
            complete: s.complete,
            covered_from: s.from,
            covered_to: h.integrated_to.max(s.from),
            open: px(h.open),
            high: px(h.high),
            low: px(h.low),
            close: px(h.close),
            volume: h.volume,
            notional: h.notional,
            trades: h.trades,
            buy_volume: h.buy_volume,
            sell_volume: h.volume - h.buy_volume,
            orders_added: h.orders_added,
            orders_cancelled: h.orders_cancelled,
            orders_modified: h.orders_modified,
            orders_expired: h.orders_expired,
            rejected: s.rejected,
            messages: h.messages,
            levels,
            ..BookRow::default()
        };
        h.tw.add_to(&mut row);
        self.fill_close(&mut row, state);
        row
    }

    fn fill_close(&self, row: &mut BookRow, state: &CloseState) {
        row.best_bid = self.bid;
        row.best_ask = self.ask;
        row.bid_depth = state.bid_depth;
        row.ask_depth = state.ask_depth;
        row.resting_orders = state.resting;
        row.bid_levels = self.levels[0];
        row.ask_levels = self.levels[1];
    }

    fn emit_longer(&self, o: Open, state: &CloseState, emit: &mut impl FnMut(StatsRecord)) {
        let Open { mut row, levels, .. } = o;
        self.fill_close(&mut row, state);
        if self.track_levels {
            let mut rows: Vec<LevelRow> = levels.into_values().collect();
            rows.sort_unstable_by_key(|l| (l.side as u8, l.price));
            row.levels = rows;
        }
        emit(StatsRecord::Book(Box::new(row)));
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

    /// After the book ran a command (not called for ticks, nor for commands that failed
    /// inside the book and halted it).
    #[inline]
    pub(crate) fn after(
        &mut self,
        request: &Request,
        ran: Ran<'_>,
        report: &ExecutionReport,
        changes: &[LevelChange],
        writer: &BookWriter,
    ) {
        let Some(s) = self.short.as_mut() else { return };
        let h = &mut s.hot;
        h.messages += 1;
        let batch = match ran {
            Ran::Refused(e) => {
                s.rejected[usize::from(e.code()).min(ORDER_REJECT_BASE - 1)] += 1;
                return;
            }
            Ran::Done(batch) => batch,
        };
        let own_reject = |rejected: &mut [u64; REJECT_REASONS]| match report.report {
            Some(u) if u.status == OrderStatus::Rejected => {
                rejected[order_reject_slot(u.reject_reason)] += 1;
                true
            }
            _ => false,
        };
        match request {
            Request::New(_) if !own_reject(&mut s.rejected) => h.orders_added += 1,
            Request::Cancel { .. } => h.orders_cancelled += 1,
            Request::Modify(_) if !own_reject(&mut s.rejected) => h.orders_modified += 1,
            Request::Batch(_) => {
                // Rows refused by validation have a rejected status and no update; rows the
                // book rejected (post-only, pool full) have both, with the reason.
                let (rows, rejected) = batch.map_or((0, 0), |b| {
                    let r = b.status.iter().filter(|&&c| c == OrderStatus::Rejected as u8).count();
                    (b.status.len() as u64, r as u64)
                });
                let mut with_reason = 0;
                for u in report.updates.iter().filter(|u| u.status == OrderStatus::Rejected) {
                    s.rejected[order_reject_slot(u.reject_reason)] += 1;
                    with_reason += 1;
                }
                s.rejected[ORDER_REJECT_BASE] += rejected.saturating_sub(with_reason);
                h.orders_added += rows.saturating_sub(rejected.max(with_reason));
            }
            _ => {}
        }
        if !report.updates.is_empty() {
            h.orders_expired +=
                report.updates.iter().filter(|u| u.status == OrderStatus::Expired).count() as u64;
        }
        for t in &report.trades {
            if h.open == NONE {
                h.open = t.price;
                h.high = t.price;
                h.low = t.price;
            }
            h.high = h.high.max(t.price);
            h.low = h.low.min(t.price);
            h.close = t.price;
            h.volume = h.volume.saturating_add(t.quantity);
            h.notional += i128::from(t.price) * i128::from(t.quantity);
            h.trades += 1;
            if t.taker_side == Side::Buy {
                h.buy_volume = h.buy_volume.saturating_add(t.quantity);
            }
        }
        // The top of the book can only have moved if a level at or better than a side's
        // best changed (or a side had none): most changes are deeper, and skip the read.
        let mut near_top = false;
        for c in changes {
            let before = c.order_count as i64 - c.activity.orders;
            let side = c.side as usize;
            if before == 0 && c.order_count > 0 {
                self.levels[side] += 1;
            } else if before > 0 && c.order_count == 0 {
                self.levels[side] = self.levels[side].saturating_sub(1);
            }
            near_top |= match (c.side, if side == 0 { self.bid } else { self.ask }) {
                (_, None) => true,
                (Side::Buy, Some((best, _))) => c.price >= best,
                (Side::Sell, Some((best, _))) => c.price <= best,
            };
        }
        if near_top {
            let [bid, ask] = writer.top_levels();
            if bid != self.bid || ask != self.ask {
                h.integrate(self.bid, self.ask, self.clock);
                self.bid = bid;
                self.ask = ask;
            }
        }
    }

    /// At a stop: every open period as an incomplete row (a row for the same period after
    /// the restart adds to it); periods only a tick opened are left out.
    pub(crate) fn flush(&mut self, writer: &mut BookWriter, emit: &mut impl FnMut(StatsRecord)) {
        let Some(mut s) = self.short.take() else { return };
        let state = self.close_state(writer.reader());
        let now = self.clock.min(s.hot.end);
        s.hot.integrate(self.bid, self.ask, now);
        s.complete = false;
        let levels = self.close_short(&s, writer);
        if s.hot.messages > 0 {
            let row = self.short_row(&s, levels, &state);
            emit(StatsRecord::Book(Box::new(row)));
        }
        for k in 0..self.longer.len() {
            if let Some(mut o) = self.longer[k].take() {
                o.row.complete = false;
                o.row.covered_to = now.max(o.row.covered_from);
                if o.row.messages > 0 {
                    self.emit_longer(o, &state, emit);
                }
            }
        }
        self.resume = Some(self.clock);
    }
}

/// The reject slot of an order the book rejected (slot `ORDER_REJECT_BASE` when it gave no
/// reason: a batch row refused by validation).
fn order_reject_slot(reason: Option<crate::types::RejectReason>) -> usize {
    (ORDER_REJECT_BASE + reason.map_or(0, |r| r as usize)).min(REJECT_REASONS - 1)
}

struct CloseState {
    bid_depth: Lots,
    ask_depth: Lots,
    resting: u64,
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
