//! [`BookWriter`]: the one handle that changes a book.
//!
//! Ownership is the serialisation: the type is `Send` but neither `Sync` nor `Clone`, and
//! every write takes `&mut self`, so the compiler guarantees a single writer without any
//! token, lock or atomic read-modify-write. A command that panics poisons the writer: its
//! private structures (order map, FIFOs, retained levels) may be half-updated, so every
//! later write is refused with [`EngineError::BookPoisoned`] and nothing touches them again.
//! The panic itself goes on to the caller (a `TradingSystem` worker catches it and halts the
//! symbol; the Python binding turns it into `BookPoisoned`). Readers stay safe: what they
//! reach is published atomically and freed only through the epoch.

use core::cell::Cell;
use core::marker::PhantomData;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::{batch_row, BatchInput, BatchOutput, BookConfig, BookCore, BookReader, OrderView};
use crate::command::{Command, Modify, NewOrder};
use crate::error::{EngineError, EngineResult};
use crate::event::{ExecutionReport, OrderUpdate};
use crate::level::LevelChange;
use crate::matching::{check_new_order, Limits, Step, Writer};
use crate::primitive::sync::atomic::Ordering;
use crate::reclaim::LoadGuard;
use crate::types::{Lots, OrderId, OrderStatus, Side, Ticks, Timestamp};

/// The reason a poisoned book gives.
const POISONED: &str = "a command panicked inside the book before it finished";

/// The writing handle of one symbol's book. Reads go through [`BookWriter::reader`] (also
/// reachable by `Deref`, so `writer.best_bid()` works).
///
/// One owner at a time: a writer moves between threads but cannot be shared or copied.
/// ```
/// fn movable<T: Send>() {}
/// movable::<lft_engine::BookWriter>();
/// ```
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<lft_engine::BookWriter>(); // BookWriter is not Sync
/// ```
/// ```compile_fail
/// fn copied<T: Clone>() {}
/// copied::<lft_engine::BookWriter>(); // BookWriter is not Clone
/// ```
pub struct BookWriter {
    pub(super) reader: BookReader,
    pub(super) w: Writer,
    /// Set while a command runs; still set after a panic unwound out of one (poisoned).
    in_command: bool,
    /// Makes the type `!Sync` (the writer state is not meant to be shared), keeps `Send`.
    _not_sync: PhantomData<Cell<()>>,
}

impl core::ops::Deref for BookWriter {
    type Target = BookReader;
    fn deref(&self) -> &BookReader {
        &self.reader
    }
}

impl BookWriter {
    /// A book with default retention.
    pub fn new(symbol: impl Into<String>, tick_size: Decimal, lot_size: Decimal) -> EngineResult<Self> {
        Self::try_with_config(BookConfig::new(symbol, tick_size, lot_size)?)
    }

    /// A book from a full config.
    ///
    /// # Panics
    /// If `config.order_capacity` cannot be reserved; [`BookWriter::try_with_config`] reports
    /// that as an error instead.
    pub fn with_config(config: BookConfig) -> Self {
        Self::try_with_config(config).expect("order pool reservation")
    }

    /// A book, with its order pool reserved up front; an `InvalidConfig` error (not an abort)
    /// when the memory cannot be had.
    pub fn try_with_config(config: BookConfig) -> EngineResult<Self> {
        let core = BookCore::new(config);
        let c = &core.config;
        let limits = Limits { max_orders: c.max_orders, max_level_total: c.scale.max_lots() };
        let w = Writer::new(core.id_seed, c.retain_empty_levels, c.order_capacity, limits).map_err(|e| {
            EngineError::InvalidConfig(format!(
                "order pool of {} orders for {} cannot be reserved: {e}",
                c.order_capacity, c.symbol
            ))
        })?;
        Ok(BookWriter {
            reader: BookReader { core: Arc::new(core) },
            w,
            in_command: false,
            _not_sync: PhantomData,
        })
    }

    /// A reader of this book, for any thread (clone it freely).
    pub fn reader(&self) -> &BookReader {
        &self.reader
    }

    /// Why the book refuses writes, if a command panicked in it.
    pub fn poisoned(&self) -> Option<&'static str> {
        self.in_command.then_some(POISONED)
    }

    fn poisoned_error(&self) -> EngineError {
        EngineError::BookPoisoned { symbol: self.reader.symbol().to_string(), reason: POISONED.into() }
    }

    /// Run one command as the book's writer. `in_command` is set for the command's whole
    /// run: a panic that unwinds out of it leaves the flag set, and the book refuses every
    /// later write (two plain stores per command; no unwinding machinery on the hot path).
    #[inline]
    fn write<R>(
        &mut self,
        now: Timestamp,
        out: &mut ExecutionReport,
        f: impl FnOnce(&mut Step<'_>) -> EngineResult<R>,
    ) -> EngineResult<R> {
        if self.in_command {
            return Err(self.poisoned_error());
        }
        self.in_command = true;
        let w = &mut self.w;
        if let Some(log) = w.level_log.as_mut() {
            log.clear();
            w.log_stamp += 1;
        }
        // SAFETY: `&mut self` makes this the book's only writer, and the writer retires ladder
        // nodes and index tables only through `reclaim::retire` (a real pin).
        let guard = unsafe { LoadGuard::new() };
        let mut step = Step { w, sh: &self.reader.core.shared, guard: &guard, out, now };
        let result = f(&mut step);
        self.in_command = false;
        result
    }

    /// Record, from now on, the state of every price level each command changes (read it
    /// with [`BookWriter::level_changes`]). Costs a few stores per change; off by default.
    pub fn track_level_changes(&mut self, on: bool) {
        self.w.level_log = on.then(Vec::new);
    }

    /// Keep, from now on, one entry per price level changed since the last
    /// [`BookWriter::take_period_levels`], with the level's summed activity and its state
    /// after its last change: the per-level statistics of a period at a few stores per
    /// change (no lookup). Off by default.
    pub fn track_period_levels(&mut self, on: bool) {
        self.w.period_log = on.then(Vec::new);
        // Marks of the previous log must not match entries of the new one.
        self.w.period_stamp += 1;
    }

    /// The levels changed since the previous call (or since tracking began), moved into
    /// `into` (cleared first; its allocation is reused for the next period).
    pub fn take_period_levels(&mut self, into: &mut Vec<LevelChange>) {
        into.clear();
        if let Some(log) = self.w.period_log.as_mut() {
            std::mem::swap(log, into);
            self.w.period_stamp += 1;
        }
    }

    /// The levels the last command changed, with their visible quantity and order count
    /// after it, in the order first touched (empty unless tracking is on).
    pub fn level_changes(&self) -> &[LevelChange] {
        self.w.level_log.as_deref().unwrap_or_default()
    }

    /// Submit a new order.
    pub fn submit(&mut self, order: &NewOrder) -> EngineResult<ExecutionReport> {
        let mut out = ExecutionReport::default();
        self.submit_into(order, &mut out)?;
        Ok(out)
    }

    /// Submit, writing into a reused report (its previous content is cleared).
    pub fn submit_into(&mut self, order: &NewOrder, out: &mut ExecutionReport) -> EngineResult<()> {
        out.clear();
        check_new_order(order)?;
        self.reader.scale().check_order(order)?;
        self.write(order.timestamp, out, |s| {
            s.validate_new(order)?;
            s.submit(order);
            Ok(())
        })
    }

    /// Cancel a resting order.
    pub fn cancel(&mut self, id: OrderId, timestamp: Timestamp) -> EngineResult<ExecutionReport> {
        let mut out = ExecutionReport::default();
        self.cancel_into(id, timestamp, &mut out)?;
        Ok(out)
    }

    /// Cancel, writing into a reused report (its previous content is cleared).
    pub fn cancel_into(
        &mut self,
        id: OrderId,
        timestamp: Timestamp,
        out: &mut ExecutionReport,
    ) -> EngineResult<()> {
        out.clear();
        self.write(timestamp, out, |s| {
            let idx = s.validate_resting(id)?;
            s.cancel(idx);
            Ok(())
        })
    }

    /// Change a resting order's open quantity and/or price.
    pub fn modify(&mut self, m: &Modify) -> EngineResult<ExecutionReport> {
        let mut out = ExecutionReport::default();
        self.modify_into(m, &mut out)?;
        Ok(out)
    }

    /// Modify, writing into a reused report (its previous content is cleared).
    pub fn modify_into(&mut self, m: &Modify, out: &mut ExecutionReport) -> EngineResult<()> {
        out.clear();
        self.reader.scale().check_modify(m)?;
        self.write(m.timestamp, out, |s| {
            let idx = s.validate_modify(m)?;
            s.modify(idx, m);
            Ok(())
        })
    }

    /// Expire GTD orders due at `now`; returns their updates.
    pub fn expire(&mut self, now: Timestamp) -> EngineResult<Vec<OrderUpdate>> {
        let mut out = ExecutionReport::default();
        self.write(now, &mut out, |s| {
            s.expire();
            Ok(())
        })?;
        Ok(out.updates)
    }

    /// Expire due GTD orders and every DAY order; returns their updates.
    pub fn end_of_day(&mut self, now: Timestamp) -> EngineResult<Vec<OrderUpdate>> {
        let mut out = ExecutionReport::default();
        self.write(now, &mut out, |s| {
            s.end_of_day();
            Ok(())
        })?;
        Ok(out.updates)
    }

    /// Apply any command (journals, replays, differential tests).
    pub fn apply(&mut self, cmd: &Command) -> EngineResult<ExecutionReport> {
        match cmd {
            Command::New(o) => self.submit(o),
            Command::Cancel { id, timestamp } => self.cancel(*id, *timestamp),
            Command::Modify(m) => self.modify(m),
            Command::Expire { now } => {
                Ok(ExecutionReport { updates: self.expire(*now)?, ..Default::default() })
            }
            Command::EndOfDay { now } => {
                Ok(ExecutionReport { updates: self.end_of_day(*now)?, ..Default::default() })
            }
        }
    }

    /// Submit many orders at once, row by row exactly as [`BookWriter::submit`] would with
    /// the same timestamp. Malformed rows fail the whole batch before anything changes; a
    /// row whose id is resting (or that would overflow a level) is reported `Rejected`.
    pub fn submit_batch(&mut self, input: &BatchInput<'_>, out: &mut BatchOutput) -> EngineResult<()> {
        self.submit_batch_inner(input, out, None)
    }

    /// [`BookWriter::submit_batch`], also collecting every row's events into `events`: all
    /// trades in `trades`, and every order update (makers, then the row's own order) in
    /// `updates`, each in sequence order. For publishers of the event stream.
    pub fn submit_batch_with_events(
        &mut self,
        input: &BatchInput<'_>,
        out: &mut BatchOutput,
        events: &mut ExecutionReport,
    ) -> EngineResult<()> {
        events.clear();
        self.submit_batch_inner(input, out, Some(events))
    }

    fn submit_batch_inner(
        &mut self,
        input: &BatchInput<'_>,
        out: &mut BatchOutput,
        mut events: Option<&mut ExecutionReport>,
    ) -> EngineResult<()> {
        let n = input.side.len();
        let len_ok = input.price.len() == n
            && input.quantity.len() == n
            && input.time_in_force.is_none_or(|t| t.len() == n)
            && input.order_id.is_none_or(|t| t.len() == n);
        if !len_ok {
            return Err(EngineError::invalid("batch columns must all have the same length"));
        }
        // Build and validate every row before anything changes; ids are filled in below.
        let scale = self.reader.scale();
        let rows = (0..n).map(|i| batch_row(input, i, 0, scale)).collect::<EngineResult<Vec<NewOrder>>>()?;
        *out = BatchOutput::default();
        out.order_id.reserve(n);
        out.status.reserve(n);
        out.filled.reserve(n);
        out.remaining.reserve(n);
        let mut report = ExecutionReport::default();
        self.write(input.timestamp, &mut report, |s| {
            for (i, mut order) in rows.into_iter().enumerate() {
                let id = match input.order_id {
                    Some(ids) => ids[i] as OrderId,
                    None => s.w.next_batch_id(),
                };
                order.id = id;
                s.out.clear();
                let (status, filled, remaining) = match s.validate_new(&order) {
                    Ok(()) => {
                        s.submit(&order);
                        let r = s.out.report.expect("submit always reports");
                        (r.status, r.filled_quantity, r.remaining_quantity)
                    }
                    Err(_) => (OrderStatus::Rejected, 0, 0),
                };
                out.order_id.push(id as u64);
                out.status.push(status as u8);
                out.filled.push(filled);
                out.remaining.push(remaining);
                for t in &s.out.trades {
                    out.trade_taker_index.push(i as i64);
                    out.trade_maker_order_id.push(t.maker_order_id as u64);
                    out.trade_maker_order_id_hi.push((t.maker_order_id >> 64) as u64);
                    out.trade_price.push(t.price);
                    out.trade_quantity.push(t.quantity);
                    out.trade_sequence.push(t.sequence);
                }
                if let Some(ev) = events.as_deref_mut() {
                    ev.trades.extend_from_slice(&s.out.trades);
                    ev.updates.extend_from_slice(&s.out.updates);
                    ev.updates.extend(s.out.report);
                }
            }
            Ok(())
        })
    }

    // ----- queries of the writer's own structures (the owner asks; no other thread can) ---
    //
    // On a poisoned book these read structures a failed command may have left half-updated:
    // they never touch freed memory, but their answers are unreliable and they may panic.
    // Check [`BookWriter::poisoned`] first (the Python binding does).

    /// A resting order by id.
    pub fn order(&self, id: OrderId) -> Option<OrderView> {
        self.w.order(id).map(|(o, expire_time)| OrderView {
            id: o.id(),
            side: o.side,
            price: o.price,
            quantity: o.original,
            remaining_quantity: o.open,
            visible_quantity: o.visible,
            filled_quantity: o.filled,
            time_in_force: o.tif,
            expire_time,
            post_only: o.post_only,
            display_quantity: (o.display > 0).then_some(o.display),
            timestamp: o.timestamp,
        })
    }

    /// Is this id resting?
    pub fn contains(&self, id: OrderId) -> bool {
        self.w.contains(id)
    }

    /// Account for an order id that may have been drawn from this book's generator
    /// ([`BookReader::next_order_id`]) before it was journaled: a replay of the journal
    /// calls this for every new order, so ids drawn after the recovery never repeat one of
    /// the replayed orders'.
    pub fn account_order_id(&self, id: OrderId) {
        let core = &self.reader.core;
        if let Some(n) = crate::ids::generated_index(core.id_seed, id) {
            let counter = &core.shared.id_counter;
            let mut seen = counter.load(Ordering::Relaxed);
            while seen <= n {
                match counter.compare_exchange_weak(seen, n + 1, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
        }
    }

    /// Best price and its visible quantity on each side, `[bid, ask]`, as the last command
    /// left them. O(1) and no pin: the writer reads the first node of each ladder (linked
    /// levels are never empty and never retired under their writer).
    pub fn top_levels(&self) -> [Option<(Ticks, Lots)>; 2] {
        // SAFETY: `&self` on the only writer: no command runs, and this only loads.
        let guard = unsafe { LoadGuard::new() };
        [Side::Buy, Side::Sell].map(|side| {
            let first = self.reader.core.shared.ladder(side).list.first(&guard);
            // SAFETY: linked nodes are never retired, and only this writer retires.
            unsafe { first.as_ref() }.map(|n| (n.level.price, n.level.counters.visible_and_orders().0))
        })
    }

    /// Deterministic digest of the book's state (orders, priorities, sequence).
    pub fn state_hash(&self) -> u64 {
        // SAFETY: `&self` on the only writer: no command runs, and this only loads.
        let guard = unsafe { LoadGuard::new() };
        debug_assert_eq!(self.w.sequence(), self.reader.sequence());
        self.w.state_hash(&self.reader.core.shared, &guard)
    }
}
