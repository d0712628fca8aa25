//! ExecutionReport fields as FIX 4.4 defines them.

use lft_engine::{Decimal, OrderStatus, Scale, Side};
use lft_gateway::codec::{decode, Decoded, Limits};
use lft_gateway::reports::{avg_px, execution_report, ExecType, OrderState, Report};
use lft_gateway::session::{Session, SessionConfig};

fn scale() -> Scale {
    Scale::new(Decimal::new(1, 2), Decimal::new(1, 3)).unwrap()
}

fn session() -> Session {
    let cfg = SessionConfig {
        our_comp_id: "LFT".into(),
        their_comp_id: "C".into(),
        password: None,
        heartbeat_range: (1, 60),
    };
    Session::new(cfg, 1, 1, 0)
}

fn fields(bytes: &[u8]) -> Vec<(u32, String)> {
    let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!() };
    assert_eq!(m.problem, None);
    m.fields.iter().map(|(t, v)| (*t, String::from_utf8(v.to_vec()).unwrap())).collect()
}

fn get(f: &[(u32, String)], tag: u32) -> Option<&str> {
    f.iter().find(|(t, _)| *t == tag).map(|(_, v)| v.as_str())
}

#[test]
fn a_partial_fill_report_has_the_quantities_and_prices_of_the_standard() {
    let mut st = OrderState::new(42, "A1", "BTC-USD", Side::Buy, 1_000, Some(10_050));
    st.fill(10_040, 300);
    st.fill(10_050, 100);
    let r = Report {
        exec_type: ExecType::Trade,
        status: OrderStatus::PartiallyFilled,
        leaves: 600,
        last: Some((10_050, 100)),
        exec_id: "BTC-USD:17".into(),
        ord_rej_reason: None,
        text: None,
    };
    let f = fields(&execution_report(&mut session(), 0, &scale(), &st, &r));
    assert_eq!(get(&f, 35), Some("8"));
    assert_eq!((get(&f, 37), get(&f, 11), get(&f, 17)), (Some("42"), Some("A1"), Some("BTC-USD:17")));
    assert_eq!((get(&f, 150), get(&f, 39), get(&f, 54)), (Some("F"), Some("1"), Some("1")));
    assert_eq!((get(&f, 38), get(&f, 14), get(&f, 151)), (Some("1"), Some("0.4"), Some("0.6")));
    assert_eq!((get(&f, 31), get(&f, 32), get(&f, 44)), (Some("100.5"), Some("0.1"), Some("100.5")));
    // (100.40 × 0.3 + 100.50 × 0.1) / 0.4 = 100.425
    assert_eq!(get(&f, 6), Some("100.425"));
}

#[test]
fn a_reject_carries_its_reason_and_text_and_no_fill() {
    let st = OrderState::new(7, "B2", "BTC-USD", Side::Sell, 10, None);
    let r = Report {
        exec_type: ExecType::Rejected,
        status: OrderStatus::Rejected,
        leaves: 0,
        last: None,
        exec_id: "x".into(),
        ord_rej_reason: Some(99),
        text: Some("price is not a multiple of the tick size"),
    };
    let f = fields(&execution_report(&mut session(), 0, &scale(), &st, &r));
    assert_eq!((get(&f, 150), get(&f, 39), get(&f, 103)), (Some("8"), Some("8"), Some("99")));
    assert_eq!((get(&f, 14), get(&f, 151), get(&f, 6), get(&f, 31)), (Some("0"), Some("0"), Some("0"), None));
    assert!(get(&f, 58).unwrap().contains("tick"));
}

#[test]
fn avg_px_is_exact_for_large_fills() {
    let mut st = OrderState::new(1, "a", "X", Side::Buy, i64::MAX, None);
    st.fill(i64::MAX / 4, i64::MAX / 2);
    st.fill(i64::MAX / 4, i64::MAX / 2);
    let px = avg_px(&scale(), &st);
    assert_eq!(px, Decimal::from(i64::MAX / 4) * Decimal::new(1, 2));
}
