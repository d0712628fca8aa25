//! Adapter driving the published `orderbook-rs` crate (crossbeam-skiplist price ladders,
//! DashMap order index, `pricelevel` queues) with workload records.
//!
//! Mapping (see [`NOTES`] for what is not exact):
//! - new GTC/IOC limit → `add_limit_order(Id::Sequential(id), price, qty, side, Gtc|Ioc)`;
//!   an IOC remainder comes back as `Err(InsufficientLiquidity)` after its trades, which
//!   is a normal outcome, not a reject;
//! - cancel → `cancel_order(id)` (`Ok(None)` = not resting = reject);
//! - modify → `update_order(UpdatePriceAndQuantity { .. })`, a cancel-then-re-add that
//!   loses time priority and sweeps if the new price crosses (`Ok(None)` = reject).
//!
//! Trades are counted with a trade listener: orderbook-rs only materialises a
//! `TradeResult` when someone consumes it, and a listener is its event output, the
//! counterpart of the engine's execution reports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lft_workload::{Kind, Record};
use orderbook_rs::{Clock, Id, OrderBook, OrderBookError, Side, TimeInForce, TimestampMs};
use pricelevel::{OrderUpdate, Price, Quantity};

/// Where the orderbook-rs comparison is not exact, for the JSON "notes".
pub const NOTES: &[&str] = &[
    "orderbook-rs: prices are u128 and quantities u64; records are mapped 1:1 (ticks, lots).",
    "orderbook-rs: modify uses update_order(UpdatePriceAndQuantity), a cancel-then-re-add that always loses time priority; the engine keeps priority on a same-price quantity decrease. The workload only reprices or increases quantity, so both lose priority on every modify it generates.",
    "orderbook-rs: modify and IOC with remainder also run its validate-first / risk / kill-switch / STP gates (all disabled or empty here); they are part of its per-command cost.",
    "orderbook-rs: trades are counted through a trade listener (its event output); without a listener it skips building TradeResults, which the engine cannot skip, so the listener is on in the timed run.",
    "orderbook-rs: order timestamps come from an injected constant clock (no wall-clock read per order); the engine takes the record's timestamp.",
    "orderbook-rs: cancel/modify of an id that is not resting returns Ok(None) and is counted as a reject, like the engine's OrderNotFound.",
    "orderbook-rs: events per command are not comparable (no per-order update events are produced), so only messages/s and trade counts are compared.",
];

/// A clock that always reads 0 ms: the workload carries no GTD orders, so time is unused.
#[derive(Debug, Default)]
struct ZeroClock;

impl Clock for ZeroClock {
    fn now_millis(&self) -> TimestampMs {
        TimestampMs::new(0)
    }
}

/// An orderbook-rs book plus its trade counter.
pub struct ObrsDriver {
    /// The book.
    pub book: OrderBook<()>,
    trades: Arc<AtomicU64>,
}

impl Default for ObrsDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl ObrsDriver {
    /// A fresh book with a counting trade listener and a constant clock.
    pub fn new() -> Self {
        let mut book = OrderBook::<()>::with_clock("BENCH", Arc::new(ZeroClock));
        let trades = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&trades);
        book.set_trade_listener(Arc::new(move |tr| {
            counter.fetch_add(tr.match_result.trades().len() as u64, Ordering::Relaxed);
        }));
        ObrsDriver { book, trades }
    }

    /// Trades reported so far.
    pub fn trades(&self) -> u64 {
        self.trades.load(Ordering::Relaxed)
    }

    /// Apply one record; returns whether it was accepted.
    #[inline]
    pub fn apply(&mut self, r: &Record) -> bool {
        let id = Id::Sequential(r.order_id);
        match r.kind {
            k if k == Kind::New as u8 => {
                let side = if r.side == 0 { Side::Buy } else { Side::Sell };
                let tif = if r.tif == 1 { TimeInForce::Ioc } else { TimeInForce::Gtc };
                match self.book.add_limit_order(id, r.price as u128, r.quantity as u64, side, tif, None) {
                    Ok(_) => true,
                    // IOC remainder cancelled after whatever it traded.
                    Err(OrderBookError::InsufficientLiquidity { .. }) => true,
                    Err(_) => false,
                }
            }
            k if k == Kind::Cancel as u8 => matches!(self.book.cancel_order(id), Ok(Some(_))),
            _ => matches!(
                self.book.update_order(OrderUpdate::UpdatePriceAndQuantity {
                    order_id: id,
                    new_price: Price::new(r.price as u128),
                    new_quantity: Quantity::new(r.quantity as u64),
                }),
                Ok(Some(_))
            ),
        }
    }
}
