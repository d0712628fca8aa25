//! One symbol's book, split by who may do what:
//! - [`BookWriter`]: the only handle that changes the book. `Send` but neither `Sync` nor
//!   `Clone`, so exactly one thread at a time owns it (a system worker, or the Python
//!   `OrderBook`, which serialises its callers itself); it needs no token or lock.
//! - [`BookReader`]: cloneable and `Sync`; best prices, depth and levels from any thread,
//!   without ever waiting for the writer or delaying it (guarantees per method).

mod image;
mod reader;
mod writer;

use rust_decimal::Decimal;

pub use image::{BookImage, BOOK_IMAGE_MAGIC, BOOK_IMAGE_VERSION};
pub use reader::BookReader;
pub use writer::BookWriter;

use crate::command::NewOrder;
use crate::error::{EngineError, EngineResult};
use crate::ids::Fnv64;
use crate::matching::{all_nodes, check_new_order};
use crate::scale::Scale;
use crate::state::SharedState;
use crate::types::{Lots, OrderId, OrderType, Side, Ticks, TimeInForce, Timestamp};

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

/// Columnar batch input (see [`BookWriter::submit_batch`]).
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

/// What the writer and every reader of one book share.
pub(crate) struct BookCore {
    pub(crate) config: BookConfig,
    pub(crate) id_seed: u64,
    pub(crate) shared: SharedState,
}

// SAFETY: everything in `shared` is atomics or epoch-managed nodes built for concurrent
// readers; the writer-only parts of the nodes (`UnsafeCell`s in each level, and each node's
// linked flag and back pointers) are touched only by the one `BookWriter`, which is not
// `Sync` and is the only handle with write methods.
unsafe impl Sync for BookCore {}
// SAFETY: as above; no thread-affine state.
unsafe impl Send for BookCore {}

impl BookCore {
    fn new(config: BookConfig) -> Self {
        let mut h = Fnv64::default();
        h.bytes(config.symbol.as_bytes());
        BookCore { id_seed: h.finish(), config, shared: SharedState::new() }
    }
}

impl Drop for BookCore {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: the writer and every reader are gone.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        for node in all_nodes(&self.shared, guard) {
            // SAFETY: each live node is referenced once by its side's index; the retired ones
            // were removed from it first, so nothing is freed twice. A node a panicking
            // command left out of the index is leaked, never freed twice.
            drop(unsafe { node.into_owned() });
        }
        for ladder in &self.shared.ladders {
            // SAFETY: exclusive access, see above.
            unsafe { ladder.index.destroy_table() };
        }
    }
}

/// Build (and statelessly validate) one batch row (its id is filled in by the writer).
pub(crate) fn batch_row(
    input: &BatchInput<'_>,
    i: usize,
    id: OrderId,
    scale: &Scale,
) -> EngineResult<NewOrder> {
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
    scale.check_order(&order).map_err(row_err)?;
    Ok(order)
}

#[cfg(all(test, not(loom)))]
mod image_tests;
#[cfg(all(test, not(loom)))]
mod tests;
