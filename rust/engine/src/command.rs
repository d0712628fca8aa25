//! Commands accepted by a book, in engine units (ticks, lots, nanoseconds).

use crate::types::{Lots, OrderId, OrderType, Side, Ticks, TimeInForce, Timestamp};

/// A new order. Validated by the book before anything changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// Unique among resting orders.
    pub id: OrderId,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Limit price in ticks; must be `None` for market orders.
    pub price: Option<Ticks>,
    /// Total quantity in lots (> 0).
    pub quantity: Lots,
    /// Time in force; market orders accept only IOC and FOK.
    pub time_in_force: TimeInForce,
    /// Required for GTD (and only GTD): the order expires once time reaches it.
    pub expire_time: Option<Timestamp>,
    /// Reject instead of trading on arrival (limit only).
    pub post_only: bool,
    /// Iceberg slice size in lots (limit only, `0 < display <= quantity`).
    pub display_quantity: Option<Lots>,
    /// Command time; drives expiry and statistics.
    pub timestamp: Timestamp,
}

impl NewOrder {
    /// A GTC limit order with no options.
    pub fn limit(id: OrderId, side: Side, price: Ticks, quantity: Lots, timestamp: Timestamp) -> Self {
        NewOrder {
            id,
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            quantity,
            time_in_force: TimeInForce::Gtc,
            expire_time: None,
            post_only: false,
            display_quantity: None,
            timestamp,
        }
    }

    /// An IOC market order.
    pub fn market(id: OrderId, side: Side, quantity: Lots, timestamp: Timestamp) -> Self {
        NewOrder {
            id,
            side,
            order_type: OrderType::Market,
            price: None,
            quantity,
            time_in_force: TimeInForce::Ioc,
            expire_time: None,
            post_only: false,
            display_quantity: None,
            timestamp,
        }
    }

    /// Same order with another time in force.
    pub fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.time_in_force = tif;
        self
    }
}

/// Change a resting order's open quantity and/or price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modify {
    /// The resting order.
    pub id: OrderId,
    /// New open (unfilled) quantity, if changing.
    pub quantity: Option<Lots>,
    /// New limit price, if changing.
    pub price: Option<Ticks>,
    /// Command time.
    pub timestamp: Timestamp,
}

/// Any command a book understands; the unit of journals and differential tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Submit a new order.
    New(NewOrder),
    /// Cancel a resting order.
    Cancel {
        /// The resting order.
        id: OrderId,
        /// Command time.
        timestamp: Timestamp,
    },
    /// Modify a resting order.
    Modify(Modify),
    /// Expire every GTD order whose expire time is at or before `now`.
    Expire {
        /// Current time.
        now: Timestamp,
    },
    /// Expire every DAY order (and due GTD orders).
    EndOfDay {
        /// Current time.
        now: Timestamp,
    },
}
