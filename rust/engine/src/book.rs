//! `OrderBook`: one symbol's book. Writers are serialised by a token; readers go straight
//! to the epoch-protected ladders and never wait for a writer.

use core::cell::UnsafeCell;

use crossbeam_epoch::{self as epoch, Guard};
use rust_decimal::Decimal;

use crate::command::{Command, Modify, NewOrder};
use crate::error::{EngineError, EngineResult};
use crate::event::{ExecutionReport, OrderUpdate};
use crate::ids::{generated_order_id, Fnv64};
use crate::level::LevelChange;
use crate::level::LevelSnapshot;
use crate::matching::{all_nodes, check_new_order, Step, Writer};
use crate::primitive::sync::atomic::Ordering;
use crate::scale::Scale;
use crate::skiplist::Node;
use crate::state::SharedState;
use crate::types::{Lots, OrderId, OrderStatus, OrderType, Side, Ticks, TimeInForce, Timestamp};
use crate::writer_token::WriterToken;

/// Default number of emptied levels whose statistics stay readable.
pub const DEFAULT_RETAIN_EMPTY_LEVELS: usize = 10_000;

/// Construction parameters of a book.
#[derive(Clone, Debug)]
pub struct BookConfig {
    /// Instrument name; also seeds generated order ids.
    pub symbol: String,
    /// Tick and lot size.
    pub scale: Scale,
    /// How many emptied levels keep their statistics before being freed.
    pub retain_empty_levels: usize,
    /// Resting orders the book reserves room for at construction.
    pub order_capacity: usize,
    /// Most orders that may rest at once; `None` lets the pool grow. At the limit, an order
    /// that would rest is refused with [`RejectReason::OrderPoolFull`](crate::RejectReason).
    pub max_orders: Option<usize>,
}

impl BookConfig {
    /// Config with the default retention.
    pub fn new(symbol: impl Into<String>, tick_size: Decimal, lot_size: Decimal) -> EngineResult<Self> {
        Ok(BookConfig {
            symbol: symbol.into(),
            scale: Scale::new(tick_size, lot_size)?,
            retain_empty_levels: DEFAULT_RETAIN_EMPTY_LEVELS,
            order_capacity: 0,
            max_orders: None,
        })
    }
}

/// One aggregated price level in a depth view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DepthLevel {
    /// Price in ticks.
    pub price: Ticks,
    /// Visible quantity in lots.
    pub quantity: Lots,
    /// Number of resting orders.
    pub order_count: u64,
}

/// Top `n` levels of both sides, best first, never crossed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Depth {
    /// Bids, highest first.
    pub bids: Vec<DepthLevel>,
    /// Asks, lowest first.
    pub asks: Vec<DepthLevel>,
}

/// A resting order as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderView {
    /// Its id.
    pub id: OrderId,
    /// Its side.
    pub side: Side,
    /// Limit price.
    pub price: Ticks,
    /// Quantity when submitted.
    pub quantity: Lots,
    /// Open quantity, hidden part included.
    pub remaining_quantity: Lots,
    /// Current visible slice.
    pub visible_quantity: Lots,
    /// Filled so far.
    pub filled_quantity: Lots,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// GTD expiry.
    pub expire_time: Option<Timestamp>,
    /// Post-only flag.
    pub post_only: bool,
    /// Iceberg slice size.
    pub display_quantity: Option<Lots>,
    /// Submission time.
    pub timestamp: Timestamp,
}

/// Columnar batch input (see [`OrderBook::submit_batch`]).
#[derive(Clone, Copy, Debug)]
pub struct BatchInput<'a> {
    /// 0 buy, 1 sell.
    pub side: &'a [i8],
    /// Limit price in ticks; 0 for a market order.
    pub price: &'a [i64],
    /// Quantity in lots.
    pub quantity: &'a [i64],
    /// Time-in-force codes; `None` means GTC for limit rows and IOC for market rows.
    pub time_in_force: Option<&'a [u8]>,
    /// Order ids; `None` lets the book generate small integer ids.
    pub order_id: Option<&'a [u64]>,
    /// Timestamp of every row.
    pub timestamp: Timestamp,
}

/// Columnar batch output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutput {
    /// Id of each row's order.
    pub order_id: Vec<u64>,
    /// `OrderStatus as u8` per row.
    pub status: Vec<u8>,
    /// Filled lots per row.
    pub filled: Vec<i64>,
    /// Resting lots per row.
    pub remaining: Vec<i64>,
    /// Row of the taker of each trade.
    pub trade_taker_index: Vec<i64>,
    /// Low 64 bits of each trade's maker id.
    pub trade_maker_order_id: Vec<u64>,
    /// High 64 bits of each trade's maker id.
    pub trade_maker_order_id_hi: Vec<u64>,
    /// Trade price in ticks.
    pub trade_price: Vec<i64>,
    /// Trade quantity in lots.
    pub trade_quantity: Vec<i64>,
    /// Trade sequence number.
    pub trade_sequence: Vec<u64>,
}

/// A limit order book for one symbol.
pub struct OrderBook {
    config: BookConfig,
    id_seed: u64,
    token: WriterToken,
    writer: UnsafeCell<Writer>,
    shared: SharedState,
}

// SAFETY: `writer` is only touched while `token` is held (acquire/release ordering), and
// everything in `shared` is atomics or epoch-managed nodes designed for concurrent readers.
unsafe impl Sync for OrderBook {}
// SAFETY: as above; no thread-affine state.
unsafe impl Send for OrderBook {}

impl OrderBook {
    /// A book with default retention.
    pub fn new(symbol: impl Into<String>, tick_size: Decimal, lot_size: Decimal) -> EngineResult<Self> {
        Ok(Self::with_config(BookConfig::new(symbol, tick_size, lot_size)?))
    }

    /// A book from a full config.
    ///
    /// # Panics
    /// If `config.order_capacity` cannot be reserved; [`OrderBook::try_with_config`] reports
    /// that as an error instead.
    pub fn with_config(config: BookConfig) -> Self {
        Self::try_with_config(config).expect("order pool reservation")
    }

    /// A book, with its order pool reserved up front; an `InvalidConfig` error (not an abort)
    /// when the memory cannot be had.
    pub fn try_with_config(config: BookConfig) -> EngineResult<Self> {
        let mut h = Fnv64::default();
        h.bytes(config.symbol.as_bytes());
        let id_seed = h.finish();
        let writer =
            Writer::new(id_seed, config.retain_empty_levels, config.order_capacity, config.max_orders)
                .map_err(|e| {
                    EngineError::InvalidConfig(format!(
                        "order pool of {} orders for {} cannot be reserved: {e}",
                        config.order_capacity, config.symbol
                    ))
                })?;
        Ok(OrderBook {
            writer: UnsafeCell::new(writer),
            config,
            id_seed,
            token: WriterToken::new(),
            shared: SharedState::new(),
        })
    }

    /// Instrument name.
    pub fn symbol(&self) -> &str {
        &self.config.symbol
    }

    /// Tick and lot size.
    pub fn scale(&self) -> &Scale {
        &self.config.scale
    }

    /// A fresh UUID-shaped id, deterministic per book (same symbol, same n-th draw).
    pub fn next_order_id(&self) -> OrderId {
        let n = self.shared.id_counter.fetch_add(1, Ordering::Relaxed);
        generated_order_id(self.id_seed, n)
    }

    /// Run `f` as the book's single writer.
    fn write<R>(&self, now: Timestamp, out: &mut ExecutionReport, f: impl FnOnce(&mut Step<'_>) -> R) -> R {
        let _token = self.token.acquire();
        // SAFETY: the token holder is the only thread that retires ladder nodes and index
        // tables, and it retires them through a real pin (see `Step`), so its own loads never
        // touch freed memory; this saves a locked instruction per command.
        let guard = unsafe { epoch::unprotected() };
        // SAFETY: the token is held, so this is the only live reference to the writer.
        let w = unsafe { &mut *self.writer.get() };
        if let Some(log) = w.level_log.as_mut() {
            log.clear();
            w.log_stamp += 1;
        }
        let mut step = Step { w, sh: &self.shared, guard, out, now };
        f(&mut step)
    }

    /// Record, from now on, the state of every price level each command changes (read it
    /// with [`OrderBook::level_changes`]). Costs a few stores per change; off by default.
    pub fn track_level_changes(&self, on: bool) {
        let _token = self.token.acquire();
        // SAFETY: the token is held, so this is the only live reference to the writer.
        let w = unsafe { &mut *self.writer.get() };
        w.level_log = on.then(Vec::new);
    }

    /// The levels the last command changed, with their visible quantity and order count
    /// after it, in the order first touched (empty unless tracking is on). Replaces `out`'s
    /// content.
    pub fn level_changes(&self, out: &mut Vec<LevelChange>) {
        let _token = self.token.acquire();
        // SAFETY: the token is held, so no writer mutates concurrently.
        let w = unsafe { &*self.writer.get() };
        out.clear();
        out.extend_from_slice(w.level_log.as_deref().unwrap_or_default());
    }

    /// Submit a new order.
    pub fn submit(&self, order: &NewOrder) -> EngineResult<ExecutionReport> {
        let mut out = ExecutionReport::default();
        self.submit_into(order, &mut out)?;
        Ok(out)
    }

    /// Submit, writing into a reused report (its previous content is cleared).
    pub fn submit_into(&self, order: &NewOrder, out: &mut ExecutionReport) -> EngineResult<()> {
        out.clear();
        check_new_order(order)?;
        self.write(order.timestamp, out, |s| {
            s.validate_new(order)?;
            s.submit(order);
            Ok(())
        })
    }

    /// Cancel a resting order.
    pub fn cancel(&self, id: OrderId, timestamp: Timestamp) -> EngineResult<ExecutionReport> {
        let mut out = ExecutionReport::default();
        self.cancel_into(id, timestamp, &mut out)?;
        Ok(out)
    }

    /// Cancel, writing into a reused report (its previous content is cleared).
    pub fn cancel_into(
        &self,
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
    pub fn modify(&self, m: &Modify) -> EngineResult<ExecutionReport> {
        let mut out = ExecutionReport::default();
        self.modify_into(m, &mut out)?;
        Ok(out)
    }

    /// Modify, writing into a reused report (its previous content is cleared).
    pub fn modify_into(&self, m: &Modify, out: &mut ExecutionReport) -> EngineResult<()> {
        out.clear();
        self.write(m.timestamp, out, |s| {
            let idx = s.validate_modify(m)?;
            s.modify(idx, m);
            Ok(())
        })
    }

    /// Expire GTD orders due at `now`; returns their updates.
    pub fn expire(&self, now: Timestamp) -> Vec<OrderUpdate> {
        let mut out = ExecutionReport::default();
        self.write(now, &mut out, |s| s.expire());
        out.updates
    }

    /// Expire due GTD orders and every DAY order; returns their updates.
    pub fn end_of_day(&self, now: Timestamp) -> Vec<OrderUpdate> {
        let mut out = ExecutionReport::default();
        self.write(now, &mut out, |s| s.end_of_day());
        out.updates
    }

    /// Apply any command (journals, replays, differential tests).
    pub fn apply(&self, cmd: &Command) -> EngineResult<ExecutionReport> {
        match cmd {
            Command::New(o) => self.submit(o),
            Command::Cancel { id, timestamp } => self.cancel(*id, *timestamp),
            Command::Modify(m) => self.modify(m),
            Command::Expire { now } => {
                Ok(ExecutionReport { updates: self.expire(*now), ..Default::default() })
            }
            Command::EndOfDay { now } => {
                Ok(ExecutionReport { updates: self.end_of_day(*now), ..Default::default() })
            }
        }
    }

    /// Submit many orders at once, row by row exactly as [`OrderBook::submit`] would with the
    /// same timestamp. Malformed rows fail the whole batch before anything changes; a row
    /// whose id is resting (or that would overflow a level) is reported `Rejected`.
    pub fn submit_batch(&self, input: &BatchInput<'_>, out: &mut BatchOutput) -> EngineResult<()> {
        self.submit_batch_inner(input, out, None)
    }

    /// [`OrderBook::submit_batch`], also collecting every row's events into `events`: all
    /// trades in `trades`, and every order update (makers, then the row's own order) in
    /// `updates`, each in sequence order. For publishers of the event stream.
    pub fn submit_batch_with_events(
        &self,
        input: &BatchInput<'_>,
        out: &mut BatchOutput,
        events: &mut ExecutionReport,
    ) -> EngineResult<()> {
        events.clear();
        self.submit_batch_inner(input, out, Some(events))
    }

    fn submit_batch_inner(
        &self,
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
        let rows = (0..n).map(|i| batch_row(input, i, 0)).collect::<EngineResult<Vec<NewOrder>>>()?;
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
        });
        Ok(())
    }

    // ----- lock-free readers -------------------------------------------------------------

    fn best(&self, side: Side, guard: &Guard) -> Option<Ticks> {
        let mut node = self.shared.ladder(side).list.first(guard);
        // SAFETY: nodes reachable from the head are protected by `guard`.
        while let Some(n) = unsafe { node.as_ref() } {
            if n.level.counters.read_pair().1 > 0 {
                return Some(n.level.price);
            }
            // A level being emptied right now: its successor is the best.
            node = n.next(guard);
        }
        None
    }

    /// Highest bid in ticks. O(1), lock-free.
    pub fn best_bid(&self) -> Option<Ticks> {
        self.best(Side::Buy, &epoch::pin())
    }

    /// Lowest ask in ticks. O(1), lock-free.
    pub fn best_ask(&self) -> Option<Ticks> {
        self.best(Side::Sell, &epoch::pin())
    }

    /// Best bid and ask from one consistent, uncrossed view.
    pub fn top_of_book(&self) -> (Option<Ticks>, Option<Ticks>) {
        let guard = epoch::pin();
        loop {
            let bid = self.best(Side::Buy, &guard);
            let ask = self.best(Side::Sell, &guard);
            match (bid, ask) {
                (Some(b), Some(a)) if b >= a => crate::primitive::hint::spin_loop(),
                _ => return (bid, ask),
            }
        }
    }

    fn side_depth(&self, side: Side, n: usize, guard: &Guard) -> Option<Vec<DepthLevel>> {
        let mut levels = Vec::with_capacity(n.min(64));
        let mut last_key = i64::MIN;
        let mut node = self.shared.ladder(side).list.first(guard);
        // SAFETY: nodes reachable from the head are protected by `guard`.
        while let Some(nd) = unsafe { node.as_ref() } {
            if levels.len() >= n {
                break;
            }
            if nd.key <= last_key {
                return None; // walked through a node that moved: the view is not ordered
            }
            last_key = nd.key;
            let (quantity, order_count) = nd.level.counters.read_pair();
            if order_count > 0 {
                levels.push(DepthLevel { price: nd.level.price, quantity, order_count });
            }
            node = nd.next(guard);
        }
        Some(levels)
    }

    /// Top `n` levels per side, best first; never crossed, never torn. Lock-free: it only
    /// retries when the writer changed the book while it was being read.
    pub fn depth(&self, n: usize) -> Depth {
        let guard = epoch::pin();
        loop {
            let (Some(bids), Some(asks)) =
                (self.side_depth(Side::Buy, n, &guard), self.side_depth(Side::Sell, n, &guard))
            else {
                continue;
            };
            if let (Some(b), Some(a)) = (bids.first(), asks.first()) {
                if b.price >= a.price {
                    crate::primitive::hint::spin_loop();
                    continue;
                }
            }
            return Depth { bids, asks };
        }
    }

    fn with_level<R>(&self, side: Side, price: Ticks, f: impl FnOnce(&Node) -> R) -> Option<R> {
        let guard = epoch::pin();
        let s = self.shared.ladder(side).index.get(price, &guard);
        // SAFETY: indexed nodes are retired only through the epoch; `guard` is pinned.
        unsafe { s.as_ref() }.map(f)
    }

    /// Visible quantity resting at one price (0 if none). O(1), lock-free.
    pub fn depth_at(&self, side: Side, price: Ticks) -> Lots {
        self.with_level(side, price, |n| n.level.counters.visible()).unwrap_or(0)
    }

    /// Statistics of one price level (also of a recently emptied one). O(1), lock-free.
    pub fn level(&self, side: Side, price: Ticks) -> Option<LevelSnapshot> {
        self.with_level(side, price, |n| n.level.counters.snapshot(side, price))
    }

    /// Number of resting orders.
    pub fn len(&self) -> usize {
        self.shared.resting.load(Ordering::Acquire)
    }

    /// No resting orders.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence number of the last event.
    pub fn sequence(&self) -> u64 {
        self.shared.sequence.load(Ordering::Acquire)
    }

    // ----- queries that take the writer token (brief) ------------------------------------

    fn read_writer<R>(&self, f: impl FnOnce(&Writer, &Guard) -> R) -> R {
        let _token = self.token.acquire();
        let guard = epoch::pin();
        // SAFETY: the token is held, so no writer mutates concurrently.
        let w = unsafe { &*self.writer.get() };
        f(w, &guard)
    }

    /// A resting order by id.
    pub fn order(&self, id: OrderId) -> Option<OrderView> {
        self.read_writer(|w, _| {
            w.order(id).map(|o| OrderView {
                id: o.id(),
                side: o.side,
                price: o.price,
                quantity: o.original,
                remaining_quantity: o.open,
                visible_quantity: o.visible,
                filled_quantity: o.filled,
                time_in_force: o.tif,
                expire_time: o.expire_time(),
                post_only: o.post_only,
                display_quantity: (o.display > 0).then_some(o.display),
                timestamp: o.timestamp,
            })
        })
    }

    /// Is this id resting?
    pub fn contains(&self, id: OrderId) -> bool {
        self.read_writer(|w, _| w.contains(id))
    }

    /// Deterministic digest of the book's state (orders, priorities, sequence).
    pub fn state_hash(&self) -> u64 {
        self.read_writer(|w, g| {
            debug_assert_eq!(w.sequence(), self.sequence());
            w.state_hash(&self.shared, g)
        })
    }
}

/// Build (and statelessly validate) one batch row.
fn batch_row(input: &BatchInput<'_>, i: usize, id: OrderId) -> EngineResult<NewOrder> {
    let row_err = |e: EngineError| match e {
        EngineError::InvalidOrder(m) => EngineError::InvalidOrder(format!("row {i}: {m}")),
        other => other,
    };
    let side = u8::try_from(input.side[i]).ok().and_then(Side::from_code).ok_or_else(|| {
        EngineError::invalid(format!("row {i}: side must be 0 (buy) or 1 (sell), got {}", input.side[i]))
    })?;
    let price = input.price[i];
    if price < 0 {
        return Err(EngineError::invalid(format!(
            "row {i}: price must be >= 0 ticks (0 = market), got {price}"
        )));
    }
    let order_type = if price == 0 { OrderType::Market } else { OrderType::Limit };
    let tif = match input.time_in_force {
        None if order_type == OrderType::Market => TimeInForce::Ioc,
        None => TimeInForce::Gtc,
        Some(codes) => TimeInForce::from_code(codes[i]).ok_or_else(|| {
            EngineError::invalid(format!("row {i}: time_in_force code must be 0..=4, got {}", codes[i]))
        })?,
    };
    if tif == TimeInForce::Gtd {
        return Err(EngineError::invalid(format!(
            "row {i}: GTD needs an expire_time; submit GTD orders one by one"
        )));
    }
    let order = NewOrder {
        id,
        side,
        order_type,
        price: (price != 0).then_some(price),
        quantity: input.quantity[i],
        time_in_force: tif,
        expire_time: None,
        post_only: false,
        display_quantity: None,
        timestamp: input.timestamp,
    };
    check_new_order(&order).map_err(row_err)?;
    Ok(order)
}

impl Drop for OrderBook {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the book any more.
        let guard = unsafe { epoch::unprotected() };
        for node in all_nodes(&self.shared, guard) {
            // SAFETY: each live node is referenced once by its side's index; the epoch-deferred
            // ones were already removed from it, so nothing is freed twice.
            drop(unsafe { node.into_owned() });
        }
        for ladder in &self.shared.ladders {
            // SAFETY: exclusive access, see above.
            unsafe { ladder.index.destroy_table(guard) };
        }
    }
}
