//! NewOrderSingle fields into engine orders, and every refusal path.

use lft_engine::{Decimal, OrderType, Scale, Side, TimeInForce};
use lft_gateway::codec::{decode, Decoded, Limits, MessageBuilder, RejectReason};
use lft_gateway::orders::{new_order_single, ord_rej, utc_timestamp, Refused};

fn scale(symbol: &str) -> Option<Scale> {
    (symbol == "BTC-USD").then(|| Scale::new(Decimal::new(1, 2), Decimal::new(1, 3)).unwrap())
}

fn nos(fields: &[(u32, &str)]) -> Result<lft_gateway::orders::NewOrderSingle, Refused> {
    let mut b = MessageBuilder::new("D");
    b.field(49, "C").field(56, "LFT").field(34, 2).field(52, "20261202-10:00:00.000");
    for (t, v) in fields {
        b.field(*t, v);
    }
    let bytes = b.finish();
    let Decoded::Message(m, _) = decode(&bytes, &Limits::default()) else { panic!() };
    new_order_single(&m, scale, 7)
}

/// Extra fields of a case.
type Fields = &'static [(u32, &'static str)];

const BASE: [(u32, &str); 6] =
    [(11, "A1"), (55, "BTC-USD"), (54, "1"), (60, "20261202-10:00:00"), (38, "0.5"), (40, "2")];

fn with(extra: &[(u32, &str)], drop: &[u32]) -> Vec<(u32, &'static str)> {
    let mut v: Vec<(u32, &str)> = BASE.iter().copied().filter(|(t, _)| !drop.contains(t)).collect();
    for (t, x) in extra {
        let x: &'static str = Box::leak(x.to_string().into_boxed_str());
        v.push((*t, x));
    }
    v
}

#[test]
fn a_limit_order_reads_into_ticks_and_lots() {
    let o = nos(&with(&[(44, "100.25"), (59, "1")], &[])).unwrap();
    assert_eq!((o.cl_ord_id.as_str(), o.symbol.as_str()), ("A1", "BTC-USD"));
    let n = o.order;
    assert_eq!((n.side, n.order_type, n.price, n.quantity), (Side::Buy, OrderType::Limit, Some(10_025), 500));
    assert_eq!((n.time_in_force, n.post_only, n.timestamp), (TimeInForce::Gtc, false, 7));
}

#[test]
fn day_is_the_default_and_post_only_iceberg_and_gtd_map() {
    let o = nos(&with(&[(44, "1"), (18, "6"), (111, "0.1"), (59, "6"), (126, "20261203-00:00:00.000")], &[]))
        .unwrap();
    assert!(o.order.post_only);
    assert_eq!(o.order.display_quantity, Some(100));
    assert_eq!(o.order.expire_time, utc_timestamp("20261203-00:00:00"));
    assert_eq!(nos(&with(&[(44, "1")], &[])).unwrap().order.time_in_force, TimeInForce::Day);
    let m = nos(&with(&[(40, "1")], &[40])).unwrap();
    assert_eq!((m.order.order_type, m.order.price), (OrderType::Market, None));
}

#[test]
fn missing_required_tags_are_session_rejects_naming_the_tag() {
    for tag in [11u32, 55, 54, 60, 38, 40] {
        match nos(&with(&[(44, "1")], &[tag])) {
            Err(Refused::Session(p, _)) => {
                assert_eq!((p.tag, p.reason), (tag, RejectReason::RequiredTagMissing))
            }
            other => panic!("tag {tag}: {other:?}"),
        }
    }
    match nos(&with(&[], &[])) {
        Err(Refused::Session(p, _)) => assert_eq!(p.tag, 44, "a limit order needs a price"),
        other => panic!("{other:?}"),
    }
    match nos(&with(&[(44, "1"), (59, "6")], &[])) {
        Err(Refused::Session(p, _)) => assert_eq!(p.tag, 126, "GTD needs ExpireTime"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn values_outside_the_enumerations_or_of_the_wrong_format_are_session_rejects() {
    let cases: [(Fields, u32, RejectReason); 7] = [
        (&[(54, "9")], 54, RejectReason::ValueOutOfRange),
        (&[(40, "7")], 40, RejectReason::ValueOutOfRange),
        (&[(59, "2")], 59, RejectReason::ValueOutOfRange),
        (&[(38, "1e3")], 38, RejectReason::IncorrectDataFormat),
        (&[(38, "1.2.3")], 38, RejectReason::IncorrectDataFormat),
        (&[(38, " 1")], 38, RejectReason::IncorrectDataFormat),
        (&[(126, "2026-12-03")], 126, RejectReason::IncorrectDataFormat),
    ];
    for (extra, tag, reason) in cases {
        let mut fields = with(&[(44, "1")], &extra.iter().map(|(t, _)| *t).collect::<Vec<_>>());
        fields.extend_from_slice(extra);
        if tag == 126 {
            fields.push((59, "6"));
        }
        match nos(&fields) {
            Err(Refused::Session(p, _)) => assert_eq!((p.tag, p.reason), (tag, reason), "{extra:?}"),
            other => panic!("{extra:?}: {other:?}"),
        }
    }
}

#[test]
fn well_formed_orders_the_venue_refuses_are_order_rejects() {
    let cases: [(Fields, &[u32], u8); 6] = [
        (&[(44, "100.255")], &[], ord_rej::OTHER),             // off the tick
        (&[(44, "1"), (38, "0.0005")], &[38], ord_rej::OTHER), // off the lot
        (&[(44, "-1")], &[], ord_rej::OTHER),                  // not positive
        (&[(44, "1"), (55, "DOGE")], &[55], ord_rej::UNKNOWN_SYMBOL),
        (&[(44, "1"), (18, "G")], &[], ord_rej::UNSUPPORTED),
        (&[(44, "1"), (126, "20261203-00:00:00")], &[], ord_rej::UNSUPPORTED),
    ];
    for (extra, drop, code) in cases {
        match nos(&with(extra, drop)) {
            Err(Refused::Order(c, text)) => assert_eq!(c, code, "{extra:?}: {text}"),
            other => panic!("{extra:?}: {other:?}"),
        }
    }
}

#[test]
fn utc_timestamps_parse_to_nanoseconds_and_bad_ones_do_not() {
    assert_eq!(utc_timestamp("19700101-00:00:00"), Some(0));
    assert_eq!(utc_timestamp("19700101-00:00:01.5"), None);
    assert_eq!(utc_timestamp("19700101-00:00:01.500"), Some(1_500_000_000));
    assert_eq!(utc_timestamp("20000229-12:00:00.000001"), Some(951_825_600_000_001_000));
    for bad in
        ["", "2026120310:00:00", "20261303-10:00:00", "20261203-25:00:00", "20261203-10:00:00.12345678901"]
    {
        assert_eq!(utc_timestamp(bad), None, "{bad}");
    }
}
