//! What subscribers of a [`TradingSystem`](super::TradingSystem) receive: one fixed-size
//! record per event, so it can travel through the broadcast ring's seqlocked slots.

use crate::event::{ExecutionReport, OrderUpdate, Trade};
use crate::types::{Lots, OrderId, OrderStatus, Side, Ticks, Timestamp};

/// Kind of a [`FeedEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FeedKind {
    /// An execution: `order_id` is the taker, `other_id` the maker, at `price` for `quantity`.
    Trade = 1,
    /// A status change of an order (acks, fills, cancels, expiries, rejects with a reason):
    /// `quantity` is the filled quantity, `remaining` the open quantity.
    Order = 2,
    /// A price level after the command: `quantity` visible at `price`, `remaining` the
    /// number of orders there (0 once the level is empty).
    Level = 3,
    /// The command was refused before it reached the book (bad input, unknown order);
    /// `status` carries the error code (see [`EngineError::code`](crate::EngineError::code)).
    CommandRejected = 4,
    /// The symbol's worker failed; no further commands for it are processed.
    Halted = 5,
}

impl FeedKind {
    fn from_u8(v: u8) -> Option<FeedKind> {
        Some(match v {
            1 => FeedKind::Trade,
            2 => FeedKind::Order,
            3 => FeedKind::Level,
            4 => FeedKind::CommandRejected,
            5 => FeedKind::Halted,
            _ => return None,
        })
    }
}

/// One published event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FeedEvent {
    /// Index of the symbol in the system's configuration.
    pub symbol: u32,
    /// What happened.
    pub kind: FeedKind,
    /// Per-symbol sequence number of the command that caused it.
    pub command_sequence: u64,
    /// Book sequence number of the event (0 for `Level`, `CommandRejected` and `Halted`).
    pub sequence: u64,
    /// Timestamp of the command.
    pub timestamp: Timestamp,
    /// The order concerned (taker for trades).
    pub order_id: OrderId,
    /// The maker for trades; 0 otherwise.
    pub other_id: OrderId,
    /// Side (taker side for trades, level side for levels).
    pub side: Side,
    /// Order status (`Order`), or the error code (`CommandRejected`).
    pub status: u8,
    /// Reject reason code for `Order` events, 0 if none.
    pub reason: u8,
    /// Price in ticks (`i64::MIN` when the order has none, e.g. a market order).
    pub price: Ticks,
    /// See [`FeedKind`].
    pub quantity: Lots,
    /// See [`FeedKind`].
    pub remaining: i64,
}

/// Words per encoded event.
pub(crate) const WORDS: usize = 11;

/// Marks "no price" in the encoded form.
pub const NO_PRICE: Ticks = i64::MIN;

impl FeedEvent {
    pub(crate) fn encode(&self) -> [u64; WORDS] {
        [
            self.symbol as u64
                | (self.kind as u64) << 32
                | (self.side as u64) << 40
                | (self.status as u64) << 48
                | (self.reason as u64) << 56,
            self.command_sequence,
            self.sequence,
            self.timestamp as u64,
            self.order_id as u64,
            (self.order_id >> 64) as u64,
            self.other_id as u64,
            (self.other_id >> 64) as u64,
            self.price as u64,
            self.quantity as u64,
            self.remaining as u64,
        ]
    }

    pub(crate) fn decode(w: &[u64; WORDS]) -> Option<FeedEvent> {
        let side = match (w[0] >> 40) as u8 {
            0 => Side::Buy,
            1 => Side::Sell,
            _ => return None,
        };
        Some(FeedEvent {
            symbol: w[0] as u32,
            kind: FeedKind::from_u8((w[0] >> 32) as u8)?,
            side,
            status: (w[0] >> 48) as u8,
            reason: (w[0] >> 56) as u8,
            command_sequence: w[1],
            sequence: w[2],
            timestamp: w[3] as i64,
            order_id: w[4] as u128 | (w[5] as u128) << 64,
            other_id: w[6] as u128 | (w[7] as u128) << 64,
            price: w[8] as i64,
            quantity: w[9] as i64,
            remaining: w[10] as i64,
        })
    }

    /// The order status of an `Order` event.
    pub fn order_status(&self) -> Option<OrderStatus> {
        (self.kind == FeedKind::Order).then(|| OrderStatus::from_code(self.status)).flatten()
    }

    pub(crate) fn trade(symbol: u32, command_sequence: u64, t: &Trade) -> FeedEvent {
        FeedEvent {
            symbol,
            kind: FeedKind::Trade,
            command_sequence,
            sequence: t.sequence,
            timestamp: t.timestamp,
            order_id: t.taker_order_id,
            other_id: t.maker_order_id,
            side: t.taker_side,
            status: 0,
            reason: 0,
            price: t.price,
            quantity: t.quantity,
            remaining: 0,
        }
    }

    pub(crate) fn order(symbol: u32, command_sequence: u64, u: &OrderUpdate) -> FeedEvent {
        FeedEvent {
            symbol,
            kind: FeedKind::Order,
            command_sequence,
            sequence: u.sequence,
            timestamp: u.timestamp,
            order_id: u.order_id,
            other_id: 0,
            side: u.side,
            status: u.status as u8,
            reason: u.reject_reason.map_or(0, |r| r as u8),
            price: u.price.unwrap_or(NO_PRICE),
            quantity: u.filled_quantity,
            remaining: u.remaining_quantity,
        }
    }

    /// A command-level event that carries no book data (rejects, halts).
    pub(crate) fn notice(
        symbol: u32,
        kind: FeedKind,
        command_sequence: u64,
        timestamp: Timestamp,
        order_id: OrderId,
        code: u8,
    ) -> FeedEvent {
        FeedEvent {
            symbol,
            kind,
            command_sequence,
            sequence: 0,
            timestamp,
            order_id,
            other_id: 0,
            side: Side::Buy,
            status: code,
            reason: 0,
            price: NO_PRICE,
            quantity: 0,
            remaining: 0,
        }
    }
}

/// The book events of one report, in sequence order, as feed events.
pub(crate) fn report_events(
    symbol: u32,
    command_sequence: u64,
    report: &ExecutionReport,
    mut emit: impl FnMut(FeedEvent),
) {
    // Trades, updates and the command's own report are each in sequence order: merge.
    let (mut t, mut u) = (report.trades.iter().peekable(), report.updates.iter().peekable());
    let mut own = report.report.as_ref();
    loop {
        let ts = t.peek().map_or(u64::MAX, |x| x.sequence);
        let us = u.peek().map_or(u64::MAX, |x| x.sequence);
        let os = own.map_or(u64::MAX, |x| x.sequence);
        if ts == u64::MAX && us == u64::MAX && os == u64::MAX {
            break;
        }
        if ts <= us && ts <= os {
            emit(FeedEvent::trade(symbol, command_sequence, t.next().expect("peeked")));
        } else if us <= os {
            emit(FeedEvent::order(symbol, command_sequence, u.next().expect("peeked")));
        } else {
            emit(FeedEvent::order(symbol, command_sequence, own.take().expect("present")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_encoding() {
        let e = FeedEvent {
            symbol: 7,
            kind: FeedKind::Trade,
            command_sequence: 42,
            sequence: 99,
            timestamp: -5,
            order_id: u128::MAX - 3,
            other_id: 1 << 100,
            side: Side::Sell,
            status: 3,
            reason: 1,
            price: NO_PRICE,
            quantity: -1,
            remaining: i64::MAX,
        };
        assert_eq!(FeedEvent::decode(&e.encode()), Some(e));
    }

    #[test]
    fn unknown_codes_do_not_decode() {
        assert_eq!(FeedEvent::decode(&[0; WORDS]), None);
    }
}
