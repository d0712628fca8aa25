//! Order-entry fields of FIX 4.4 application messages, read into engine commands.
//!
//! Errors follow the standard's split: a required tag missing, a value that is not of the
//! tag's type, or one outside the tag's enumeration is a session-level Reject (3) naming the
//! tag ([`Refused::Session`]); a well-formed order the venue does not accept (a price off the
//! tick, a quantity off the lot, an unsupported combination) is an ExecutionReport with
//! ExecType 8, OrdStatus 8 and OrdRejReason (103) ([`Refused::Order`]).

use lft_engine::{parse_decimal, NewOrder, OrderType, Scale, Side, TimeInForce, Timestamp};

use crate::codec::{FieldProblem, Message, RejectReason};

/// Why an application message was not turned into a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Answer with a Reject (3).
    Session(FieldProblem, String),
    /// Answer with an ExecutionReport rejecting the order: OrdRejReason (103) and a text.
    Order(u8, String),
}

/// OrdRejReason (103) values used here.
pub mod ord_rej {
    /// 0: Broker / exchange option (the engine refused it; the text says why).
    pub const EXCHANGE: u8 = 0;
    /// 1: Unknown symbol.
    pub const UNKNOWN_SYMBOL: u8 = 1;
    /// 6: Duplicate order (ClOrdID already used in this session).
    pub const DUPLICATE: u8 = 6;
    /// 11: Unsupported order characteristic.
    pub const UNSUPPORTED: u8 = 11;
    /// 99: Other (price or quantity off the tick or lot).
    pub const OTHER: u8 = 99;
}

fn missing(tag: u32) -> Refused {
    Refused::Session(
        FieldProblem { tag, reason: RejectReason::RequiredTagMissing },
        format!("tag {tag} is required"),
    )
}

fn bad_value(tag: u32, what: &str) -> Refused {
    Refused::Session(
        FieldProblem { tag, reason: RejectReason::ValueOutOfRange },
        format!("tag {tag}: {what}"),
    )
}

fn bad_format(tag: u32, what: &str) -> Refused {
    Refused::Session(
        FieldProblem { tag, reason: RejectReason::IncorrectDataFormat },
        format!("tag {tag}: {what}"),
    )
}

/// A required field's text.
pub fn required<'a>(m: &Message<'a>, tag: u32) -> Result<&'a str, Refused> {
    match m.get(tag) {
        None => Err(missing(tag)),
        Some(v) => std::str::from_utf8(v).map_err(|_| bad_format(tag, "not ASCII text")),
    }
}

/// A FIX decimal ("Price", "Qty": digits with at most one point, an optional leading minus;
/// no exponent, no spaces).
pub fn fix_decimal(m: &Message<'_>, tag: u32) -> Result<Option<lft_engine::Decimal>, Refused> {
    let Some(v) = m.get(tag) else { return Ok(None) };
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    let points = digits.iter().filter(|&&b| b == b'.').count();
    let ok = !digits.is_empty()
        && points <= 1
        && digits.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        && digits.iter().any(u8::is_ascii_digit)
        && v.len() <= 40;
    if !ok {
        return Err(bad_format(tag, "not a decimal number"));
    }
    let text = std::str::from_utf8(v).map_err(|_| bad_format(tag, "not ASCII"))?;
    parse_decimal(text, "value").map(Some).map_err(|_| bad_format(tag, "not a decimal number"))
}

/// A FIX UTCTimestamp `YYYYMMDD-HH:MM:SS[.sss[sss[sss]]]` as nanoseconds since the epoch.
pub fn utc_timestamp(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 17 || b[8] != b'-' || b[11] != b':' || b[14] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        s.iter().all(u8::is_ascii_digit).then(|| s.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(12..14)?, num(15..17)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let frac_ns = match &b[17..] {
        [] => 0,
        [b'.', rest @ ..] if matches!(rest.len(), 3 | 6 | 9) && rest.iter().all(u8::is_ascii_digit) => {
            let v = rest.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
            v * 10i64.pow(9 - rest.len() as u32)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// A NewOrderSingle (D) read for the engine: its ClOrdID, symbol and the order (its id is
/// left 0: the gateway assigns the engine's id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrderSingle {
    /// ClOrdID (11).
    pub cl_ord_id: String,
    /// Symbol (55).
    pub symbol: String,
    /// The order, in ticks and lots.
    pub order: NewOrder,
}

/// Read a NewOrderSingle. `scale` is the symbol's tick and lot size (`None`: an unknown
/// symbol, refused with OrdRejReason 1); `now` the time the command runs at.
pub fn new_order_single(
    m: &Message<'_>,
    scale: impl FnOnce(&str) -> Option<Scale>,
    now: Timestamp,
) -> Result<NewOrderSingle, Refused> {
    let cl_ord_id = required(m, 11)?.to_string();
    let symbol = required(m, 55)?.to_string();
    let side = match required(m, 54)? {
        "1" => Side::Buy,
        "2" => Side::Sell,
        _ => return Err(bad_value(54, "Side must be 1 (buy) or 2 (sell)")),
    };
    required(m, 60)?; // TransactTime
    let order_type = match required(m, 40)? {
        "1" => OrderType::Market,
        "2" => OrderType::Limit,
        _ => return Err(bad_value(40, "OrdType must be 1 (market) or 2 (limit)")),
    };
    let time_in_force = match m.get_str(59).unwrap_or("0") {
        "0" => TimeInForce::Day,
        "1" => TimeInForce::Gtc,
        "3" => TimeInForce::Ioc,
        "4" => TimeInForce::Fok,
        "6" => TimeInForce::Gtd,
        _ => return Err(bad_value(59, "TimeInForce must be 0, 1, 3, 4 or 6")),
    };
    let post_only = match m.get_str(18) {
        None => false,
        Some(inst) => {
            let codes: Vec<&str> = inst.split(' ').collect();
            if codes.iter().any(|c| *c != "6") {
                return Err(Refused::Order(
                    ord_rej::UNSUPPORTED,
                    "ExecInst: only 6 (post-only) is supported".into(),
                ));
            }
            true
        }
    };
    let qty = fix_decimal(m, 38)?.ok_or_else(|| missing(38))?;
    let price = fix_decimal(m, 44)?;
    let max_floor = fix_decimal(m, 111)?;
    let expire_time = match (time_in_force, m.get_str(126)) {
        (TimeInForce::Gtd, None) => return Err(missing(126)),
        (TimeInForce::Gtd, Some(t)) => {
            Some(utc_timestamp(t).ok_or_else(|| bad_format(126, "not a UTCTimestamp"))?)
        }
        (_, Some(_)) => {
            return Err(Refused::Order(ord_rej::UNSUPPORTED, "ExpireTime needs TimeInForce 6 (GTD)".into()))
        }
        (_, None) => None,
    };
    let Some(scale) = scale(&symbol) else {
        return Err(Refused::Order(ord_rej::UNKNOWN_SYMBOL, format!("unknown symbol {symbol:?}")));
    };
    let off = |e: lft_engine::EngineError| Refused::Order(ord_rej::OTHER, e.to_string());
    let price = match (order_type, price) {
        (OrderType::Limit, None) => return Err(missing(44)),
        (OrderType::Limit, Some(p)) => Some(scale.to_ticks(p).map_err(off)?),
        (OrderType::Market, Some(_)) => {
            return Err(Refused::Order(ord_rej::UNSUPPORTED, "a market order has no Price (44)".into()))
        }
        (OrderType::Market, None) => None,
    };
    let order = NewOrder {
        id: 0,
        side,
        order_type,
        price,
        quantity: scale.to_lots(qty).map_err(off)?,
        time_in_force,
        expire_time,
        post_only,
        display_quantity: max_floor.map(|f| scale.to_lots_as(f, "MaxFloor")).transpose().map_err(off)?,
        timestamp: now,
    };
    Ok(NewOrderSingle { cl_ord_id, symbol, order })
}
