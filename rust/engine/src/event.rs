//! Events the book emits. Every event carries the book's next sequence number, so a
//! command stream replayed with the same timestamps yields byte-identical events.

use crate::types::{Lots, OrderId, OrderStatus, RejectReason, Side, Ticks, Timestamp};

/// One execution between a resting maker and an incoming taker, at the maker's price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Trade {
    /// Book sequence number of this event.
    pub sequence: u64,
    /// Execution price: always the resting order's price.
    pub price: Ticks,
    /// Executed quantity.
    pub quantity: Lots,
    /// The resting order.
    pub maker_order_id: OrderId,
    /// The incoming (or repriced) order.
    pub taker_order_id: OrderId,
    /// Side of the taker.
    pub taker_side: Side,
    /// Timestamp of the command that caused the trade.
    pub timestamp: Timestamp,
}

/// A change in one order's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderUpdate {
    /// Book sequence number of this event.
    pub sequence: u64,
    /// The order concerned.
    pub order_id: OrderId,
    /// Its side.
    pub side: Side,
    /// Its new status.
    pub status: OrderStatus,
    /// Quantity filled over the order's whole life.
    pub filled_quantity: Lots,
    /// Open quantity still resting (0 once final).
    pub remaining_quantity: Lots,
    /// Its limit price (`None` for market orders).
    pub price: Option<Ticks>,
    /// Set when `status` is `Rejected`.
    pub reject_reason: Option<RejectReason>,
    /// Timestamp of the command that caused the change.
    pub timestamp: Timestamp,
}

/// Everything the book reports, in sequence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// An execution.
    Trade(Trade),
    /// A status change of some order (the command's own order or a maker it touched).
    Update(OrderUpdate),
}

impl Event {
    /// The event's sequence number.
    pub fn sequence(&self) -> u64 {
        match self {
            Event::Trade(t) => t.sequence,
            Event::Update(u) => u.sequence,
        }
    }
}

/// The outcome of one command: the final state of the command's own order, the trades
/// it caused, and the updates of other orders (makers filled, orders expired on the way).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExecutionReport {
    /// Final state of the command's order (`None` only for sweeps like `expire`).
    pub report: Option<OrderUpdate>,
    /// Trades in execution order.
    pub trades: Vec<Trade>,
    /// Updates of other orders, in sequence order.
    pub updates: Vec<OrderUpdate>,
}

impl ExecutionReport {
    /// All events of this command in sequence order.
    pub fn events(&self) -> Vec<Event> {
        let mut all: Vec<Event> = self
            .trades
            .iter()
            .copied()
            .map(Event::Trade)
            .chain(self.updates.iter().copied().map(Event::Update))
            .chain(self.report.map(Event::Update))
            .collect();
        all.sort_by_key(Event::sequence);
        all
    }

    /// Forget the previous command's output but keep the allocations.
    pub fn clear(&mut self) {
        self.report = None;
        self.trades.clear();
        self.updates.clear();
    }
}
