//! Plain value types shared by commands, events and the book.

/// Price in integer ticks (`price / tick_size`). Always positive for a limit price.
pub type Ticks = i64;
/// Quantity in integer lots (`quantity / lot_size`). Always positive for an order.
pub type Lots = i64;
/// Caller-supplied time in nanoseconds; the engine never reads a clock itself.
pub type Timestamp = i64;
/// Order identifier: the 128 bits of a UUID.
pub type OrderId = u128;

/// Which side of the book an order belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Side {
    /// Bid: matches asks priced at or below its limit.
    Buy = 0,
    /// Ask: matches bids priced at or above its limit.
    Sell = 1,
}

impl Side {
    /// The side this side trades against.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// Decode the wire/batch code (0 buy, 1 sell).
    pub fn from_code(code: u8) -> Option<Side> {
        match code {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }
}

impl core::fmt::Display for TimeInForce {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limit orders carry a price; market orders take whatever the book offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OrderType {
    /// Trades at its limit price or better; may rest.
    Limit = 0,
    /// Trades at any price; never rests.
    Market = 1,
}

/// How long an order may stay on the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc = 0,
    /// Immediate or cancel: the unfilled remainder is cancelled.
    Ioc = 1,
    /// Fill or kill: fills completely at once or trades nothing.
    Fok = 2,
    /// Good till date: expires at `expire_time`.
    Gtd = 3,
    /// Good for the day: expires at `end_of_day`.
    Day = 4,
}

impl TimeInForce {
    /// Decode the wire/batch code (GTC=0, IOC=1, FOK=2, GTD=3, DAY=4).
    pub fn from_code(code: u8) -> Option<TimeInForce> {
        Some(match code {
            0 => TimeInForce::Gtc,
            1 => TimeInForce::Ioc,
            2 => TimeInForce::Fok,
            3 => TimeInForce::Gtd,
            4 => TimeInForce::Day,
            _ => return None,
        })
    }

    /// Upper-case name, as users write it.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
            TimeInForce::Gtd => "GTD",
            TimeInForce::Day => "DAY",
        }
    }

    /// Whether an unfilled remainder rests on the book.
    #[inline]
    pub fn rests(self) -> bool {
        matches!(self, TimeInForce::Gtc | TimeInForce::Gtd | TimeInForce::Day)
    }
}

/// Lifecycle state of an order as reported in an [`crate::OrderUpdate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OrderStatus {
    /// Resting, nothing filled yet.
    New = 0,
    /// Resting, partly filled.
    PartiallyFilled = 1,
    /// Completely filled; no longer on the book.
    Filled = 2,
    /// Remainder cancelled (by the owner, IOC/market remainder, or FOK kill).
    Canceled = 3,
    /// Refused; the book is unchanged by this command.
    Rejected = 4,
    /// Removed because its GTD time or the trading day ended.
    Expired = 5,
}

impl OrderStatus {
    /// The status with this code (`status as u8`).
    pub fn from_code(code: u8) -> Option<OrderStatus> {
        Some(match code {
            0 => OrderStatus::New,
            1 => OrderStatus::PartiallyFilled,
            2 => OrderStatus::Filled,
            3 => OrderStatus::Canceled,
            4 => OrderStatus::Rejected,
            5 => OrderStatus::Expired,
            _ => return None,
        })
    }

    /// True once the order can no longer trade.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// Why an otherwise well-formed command was refused by the book's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RejectReason {
    /// A post-only order (or a post-only modify) would have traded on arrival.
    PostOnlyWouldCross = 1,
    /// A batch row reused the id of an order that is resting.
    DuplicateOrderId = 2,
    /// The order would rest but the book's order pool is at its configured limit
    /// (`memory.pool_growth: false`); any part that traded first stands.
    OrderPoolFull = 3,
}

impl RejectReason {
    /// Human-readable reason, as shown to Python users.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::PostOnlyWouldCross => "post-only order would cross the book",
            RejectReason::DuplicateOrderId => "order id is already resting on the book",
            RejectReason::OrderPoolFull => "the book's order pool is full",
        }
    }
}
