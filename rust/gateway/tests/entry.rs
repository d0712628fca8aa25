//! Order entry through a real system: two sessions trading against each other, replaces,
//! cancels (of one's own orders only), duplicates, mass cancel, unsupported messages.

use lft_engine::system::{SymbolSpec, SystemConfig, TradingSystem};
use lft_engine::{BookConfig, Decimal};
use lft_gateway::codec::{decode, Decoded, Limits, MessageBuilder};
use lft_gateway::entry::{OrderEntry, Outgoing};
use lft_gateway::session::{Session, SessionConfig};

fn system() -> TradingSystem {
    let book = BookConfig::new("BTC-USD", Decimal::new(1, 2), Decimal::new(1, 3)).unwrap();
    let mut cfg = SystemConfig::with_symbols(vec![SymbolSpec::new(book)]);
    cfg.threads = 1;
    TradingSystem::start(cfg).unwrap()
}

fn sessions() -> Vec<Session> {
    ["A", "B"]
        .iter()
        .map(|c| {
            let cfg = SessionConfig {
                our_comp_id: "LFT".into(),
                their_comp_id: (*c).into(),
                password: None,
                heartbeat_range: (1, 60),
            };
            Session::new(cfg, 1, 1, 0)
        })
        .collect()
}

fn msg(msg_type: &str, fields: &[(u32, &str)]) -> Vec<u8> {
    let mut b = MessageBuilder::new(msg_type);
    b.field(49, "X").field(56, "LFT").field(34, 9).field(52, "20261202-10:00:00.000");
    for (t, v) in fields {
        b.field(*t, v);
    }
    b.finish()
}

/// (session, MsgType, ExecType, OrdStatus, CumQty, LeavesQty) of each message sent.
fn summary(out: &[Outgoing]) -> Vec<(usize, String, String, String, String, String)> {
    out.iter()
        .map(|(sid, bytes)| {
            let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!() };
            assert_eq!(m.problem, None);
            let s = |t| m.get_str(t).unwrap_or("-").to_string();
            (*sid, s(35), s(150), s(39), s(14), s(151))
        })
        .collect()
}

fn send(
    e: &mut OrderEntry<'_>,
    sid: usize,
    s: &mut [Session],
    msg_type: &str,
    fields: &[(u32, &str)],
) -> Vec<Outgoing> {
    let bytes = msg(msg_type, fields);
    let Decoded::Message(m, _) = decode(&bytes, &Limits::default()) else { panic!() };
    let mut out = e.on_message(sid, &m, s, 0);
    // New orders are pipelined: their replies are read by the drain.
    e.drain(s, 0, &mut out);
    out
}

/// What market data sends after the commands so far (every session reading promptly).
fn market_data(e: &mut OrderEntry<'_>, s: &mut [Session]) -> Vec<Outgoing> {
    let mut out = Vec::new();
    e.drain(s, 0, &mut out);
    e.publish_market_data(s, 0, |_| 0, &mut out);
    out
}

/// (MsgType, [(279, 269, 270, 271, 346)]) of a market-data message.
fn md_entries(bytes: &[u8]) -> (String, Vec<[String; 5]>) {
    let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!() };
    assert_eq!(m.problem, None);
    let mut rows: Vec<[String; 5]> = Vec::new();
    for (t, v) in &m.fields {
        let v = String::from_utf8_lossy(v).into_owned();
        let first = if m.msg_type() == Some(b"X") { 279 } else { 269 };
        if *t == first {
            rows.push(Default::default());
        }
        let k = match t {
            279 => 0,
            269 => 1,
            270 => 2,
            271 => 3,
            346 => 4,
            _ => continue,
        };
        rows.last_mut().unwrap()[k] = v;
    }
    (String::from_utf8_lossy(m.msg_type().unwrap()).into_owned(), rows)
}

fn md(row: [&str; 5]) -> [String; 5] {
    row.map(String::from)
}

fn row(
    sid: usize,
    t: &str,
    exec: &str,
    status: &str,
    cum: &str,
    leaves: &str,
) -> (usize, String, String, String, String, String) {
    (sid, t.into(), exec.into(), status.into(), cum.into(), leaves.into())
}

const NOW: &str = "20261202-10:00:00";

#[test]
fn two_sessions_trade_and_each_sees_its_own_fills() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    let buy =
        [(11, "a1"), (55, "BTC-USD"), (54, "1"), (60, NOW), (38, "1"), (40, "2"), (44, "100"), (59, "1")];
    assert_eq!(summary(&send(&mut e, 0, &mut s, "D", &buy)), [row(0, "8", "0", "0", "0", "1")]);
    let sell = [(11, "b1"), (55, "BTC-USD"), (54, "2"), (60, NOW), (38, "0.4"), (40, "2"), (44, "100")];
    assert_eq!(
        summary(&send(&mut e, 1, &mut s, "D", &sell)),
        [
            row(1, "8", "0", "0", "0", "0.4"),
            row(1, "8", "F", "2", "0.4", "0"),
            row(0, "8", "F", "1", "0.4", "0.6"),
        ]
    );
    // Replace to 0.8 in all: 0.4 filled, 0.4 left.
    let g =
        [(11, "a2"), (41, "a1"), (55, "BTC-USD"), (54, "1"), (60, NOW), (38, "0.8"), (40, "2"), (44, "100")];
    assert_eq!(summary(&send(&mut e, 0, &mut s, "G", &g)), [row(0, "8", "5", "1", "0.4", "0.4")]);
    // B cannot cancel A's order: A's ClOrdIDs are unknown to B.
    let f = [(11, "b2"), (41, "a2"), (55, "BTC-USD"), (54, "1"), (60, NOW)];
    assert_eq!(summary(&send(&mut e, 1, &mut s, "F", &f))[0].1, "9");
    let f = [(11, "a3"), (41, "a2"), (55, "BTC-USD"), (54, "1"), (60, NOW)];
    assert_eq!(summary(&send(&mut e, 0, &mut s, "F", &f)), [row(0, "8", "4", "4", "0.4", "0")]);
    assert_eq!(sys.book(0).unwrap().len(), 0);
}

#[test]
fn duplicates_rejects_unsupported_types_and_mass_cancel() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    let order = |cl: &'static str, px: &'static str| {
        [(11, cl), (55, "BTC-USD"), (54, "1"), (60, NOW), (38, "1"), (40, "2"), (44, px), (59, "1")]
    };
    send(&mut e, 0, &mut s, "D", &order("x1", "99"));
    send(&mut e, 0, &mut s, "D", &order("x2", "98"));
    let dup = summary(&send(&mut e, 0, &mut s, "D", &order("x1", "97")));
    assert_eq!((dup[0].2.as_str(), dup[0].3.as_str()), ("8", "8"));
    let off_tick = summary(&send(&mut e, 0, &mut s, "D", &order("x3", "97.001")));
    assert_eq!(off_tick[0].2, "8");
    let missing = summary(&send(&mut e, 0, &mut s, "D", &[(11, "x4")]));
    assert_eq!(missing[0].1, "3", "a required tag missing is a session Reject");
    assert_eq!(summary(&send(&mut e, 0, &mut s, "E", &[]))[0].1, "j");
    // Session B's order is not touched by A's mass cancel.
    send(&mut e, 1, &mut s, "D", &order("y1", "90"));
    let mass = summary(&send(&mut e, 0, &mut s, "q", &[(11, "m1"), (530, "7"), (60, NOW)]));
    assert_eq!(mass.iter().filter(|r| r.2 == "4").count(), 2);
    assert_eq!(mass.last().unwrap().1, "r");
    assert_eq!(sys.book(0).unwrap().len(), 1);
}

#[test]
fn a_market_data_request_gets_a_snapshot_of_the_top_levels() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    for (cl, side, px) in [("b1", "1", "99"), ("b2", "1", "98"), ("b3", "1", "99"), ("a1", "2", "101")] {
        send(
            &mut e,
            0,
            &mut s,
            "D",
            &[(11, cl), (55, "BTC-USD"), (54, side), (60, NOW), (38, "1"), (40, "2"), (44, px), (59, "1")],
        );
    }
    let out = send(
        &mut e,
        1,
        &mut s,
        "V",
        &[
            (262, "md1"),
            (263, "0"),
            (264, "2"),
            (267, "2"),
            (269, "0"),
            (269, "1"),
            (146, "1"),
            (55, "BTC-USD"),
        ],
    );
    let Decoded::Message(m, _) = decode(&out[0].1, &Limits::default()) else { panic!() };
    assert_eq!((m.msg_type(), m.get_str(262), m.get_str(268)), (Some(&b"W"[..]), Some("md1"), Some("3")));
    let entries: Vec<(String, String, String, String)> = m
        .fields
        .iter()
        .filter(|(t, _)| [269u32, 270, 271, 346].contains(t))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| (c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone()))
        .collect();
    assert_eq!(
        entries,
        [
            ("0".into(), "99".into(), "2".into(), "2".into()),
            ("0".into(), "98".into(), "1".into(), "1".into()),
            ("1".into(), "101".into(), "1".into(), "1".into()),
        ]
    );
    let no_update_type = send(&mut e, 1, &mut s, "V", &[(262, "md2"), (263, "1"), (55, "BTC-USD")]);
    assert_eq!(summary(&no_update_type)[0].1, "3", "MDUpdateType is required with 263=1");
    let full_refresh = send(&mut e, 1, &mut s, "V", &[(262, "md2"), (263, "1"), (265, "0"), (55, "BTC-USD")]);
    assert_eq!(summary(&full_refresh)[0].1, "Y");
    let unknown = send(&mut e, 1, &mut s, "V", &[(262, "md3"), (263, "0"), (55, "DOGE")]);
    assert_eq!(summary(&unknown)[0].1, "Y");
}

fn order<'a>(cl: &'a str, side: &'a str, qty: &'a str, px: &'a str) -> [(u32, &'a str); 8] {
    [(11, cl), (55, "BTC-USD"), (54, side), (60, NOW), (38, qty), (40, "2"), (44, px), (59, "1")]
}

#[test]
fn a_subscription_gets_a_snapshot_then_every_level_change_and_trade() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    send(&mut e, 0, &mut s, "D", &order("b1", "1", "1", "99"));
    let sub = [(262, "s1"), (263, "1"), (265, "1"), (264, "0"), (55, "BTC-USD")];
    let snap = send(&mut e, 1, &mut s, "V", &sub);
    assert_eq!(md_entries(&snap[0].1), ("W".into(), vec![md(["", "0", "99", "1", "1"])]));
    // A new level, a change, a trade that empties a level.
    send(&mut e, 0, &mut s, "D", &order("a1", "2", "2", "101"));
    send(&mut e, 0, &mut s, "D", &order("b2", "1", "2", "99"));
    send(&mut e, 0, &mut s, "D", &order("s1", "2", "3", "99"));
    let out = market_data(&mut e, &mut s);
    let got: Vec<_> = out.iter().filter(|(sid, _)| *sid == 1).map(|(_, b)| md_entries(b)).collect();
    assert_eq!(
        got,
        vec![
            ("X".into(), vec![md(["0", "1", "101", "2", "1"])]),
            ("X".into(), vec![md(["1", "0", "99", "3", "2"])]),
            (
                "X".into(),
                vec![
                    md(["2", "0", "99", "", ""]),
                    md(["0", "2", "99", "1", ""]),
                    md(["0", "2", "99", "2", ""])
                ]
            ),
        ]
    );
    // Unsubscribed: nothing more.
    send(&mut e, 1, &mut s, "V", &[(262, "s1"), (263, "2"), (55, "BTC-USD")]);
    send(&mut e, 0, &mut s, "D", &order("b3", "1", "1", "98"));
    assert!(market_data(&mut e, &mut s).iter().all(|(sid, _)| *sid != 1));
}

#[test]
fn a_top_n_subscription_sees_levels_enter_and_leave_its_depth() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    send(&mut e, 0, &mut s, "D", &order("b1", "1", "1", "99"));
    send(&mut e, 0, &mut s, "D", &order("b2", "1", "1", "98"));
    let sub = [(262, "t1"), (263, "1"), (265, "1"), (264, "1"), (267, "1"), (269, "0"), (55, "BTC-USD")];
    let snap = send(&mut e, 1, &mut s, "V", &sub);
    assert_eq!(md_entries(&snap[0].1).1, vec![md(["", "0", "99", "1", "1"])]);
    // Below the top: nothing. A better bid: 99 leaves the top 1, 100 enters.
    send(&mut e, 0, &mut s, "D", &order("b3", "1", "1", "97"));
    assert!(market_data(&mut e, &mut s).iter().all(|(sid, _)| *sid != 1));
    send(&mut e, 0, &mut s, "D", &order("b4", "1", "1", "100"));
    let out = market_data(&mut e, &mut s);
    let got: Vec<_> = out.iter().filter(|(sid, _)| *sid == 1).map(|(_, b)| md_entries(b).1).collect();
    assert_eq!(got, vec![vec![md(["2", "0", "99", "", ""]), md(["0", "0", "100", "1", "1"])]]);
}

#[test]
fn a_slow_subscriber_is_resynchronised_with_a_fresh_snapshot() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    let sub = [(262, "r1"), (263, "1"), (265, "1"), (55, "BTC-USD")];
    send(&mut e, 1, &mut s, "V", &sub);
    send(&mut e, 0, &mut s, "D", &order("b1", "1", "1", "99"));
    // Session 1 has a backlog: no increment for it, and no snapshot yet.
    let mut out = Vec::new();
    e.drain(&mut s, 0, &mut out);
    e.publish_market_data(&mut s, 0, |sid| if sid == 1 { 1 << 20 } else { 0 }, &mut out);
    assert!(out.iter().all(|(sid, _)| *sid != 1));
    send(&mut e, 0, &mut s, "D", &order("b2", "1", "2", "98"));
    // Caught up: one snapshot with the whole book, then increments again.
    let out = market_data(&mut e, &mut s);
    let got: Vec<_> = out.iter().filter(|(sid, _)| *sid == 1).map(|(_, b)| md_entries(b)).collect();
    assert_eq!(got, vec![("W".into(), vec![md(["", "0", "99", "1", "1"]), md(["", "0", "98", "2", "1"])])]);
    assert_eq!(e.market_data.resyncs, 1);
    send(&mut e, 0, &mut s, "D", &order("b3", "1", "1", "97"));
    let out = market_data(&mut e, &mut s);
    assert_eq!(out.iter().filter(|(sid, _)| *sid == 1).count(), 1);
}

#[test]
fn fills_and_cancels_by_commands_from_elsewhere_reach_the_owner() {
    use lft_engine::system::Request;
    use lft_engine::{NewOrder, Side, TimeInForce};
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    send(&mut e, 0, &mut s, "D", &order("m1", "2", "2", "101"));
    let mut day = order("m2", "2", "1", "102");
    day[7] = (59, "0");
    send(&mut e, 0, &mut s, "D", &day);
    // A taker from elsewhere (not the gateway) lifts 1 of m1...
    let book = sys.book(0).unwrap();
    let scale = *book.scale();
    let px = scale.to_ticks(Decimal::new(101, 0)).unwrap();
    let mut taker =
        NewOrder::limit(book.next_order_id(), Side::Buy, px, scale.to_lots(Decimal::ONE).unwrap(), 0);
    taker.time_in_force = TimeInForce::Ioc;
    sys.execute(0, Request::New(taker), true).unwrap();
    assert_eq!(summary(&market_data(&mut e, &mut s)), [row(0, "8", "F", "1", "1", "1")]);
    // ...and the end of the day expires the DAY order m2 (ExecType and OrdStatus C).
    sys.execute(0, Request::EndOfDay { now: 0 }, true).unwrap();
    assert_eq!(summary(&market_data(&mut e, &mut s)), [row(0, "8", "C", "C", "0", "0")]);
    assert_eq!(sys.book(0).unwrap().len(), 1);
}

#[test]
fn a_top_n_subscription_of_an_empty_book_sees_its_first_level() {
    let sys = system();
    let mut s = sessions();
    let mut e = OrderEntry::new(&sys, 2);
    let sub = [(262, "e1"), (263, "1"), (265, "1"), (264, "5"), (55, "BTC-USD")];
    assert_eq!(md_entries(&send(&mut e, 1, &mut s, "V", &sub)[0].1), ("W".into(), vec![]));
    send(&mut e, 0, &mut s, "D", &order("b1", "1", "0.5", "100.25"));
    let out = market_data(&mut e, &mut s);
    let got: Vec<_> = out.iter().filter(|(sid, _)| *sid == 1).map(|(_, b)| md_entries(b)).collect();
    assert_eq!(got, vec![("X".into(), vec![md(["0", "0", "100.25", "0.5", "1"])])]);
}
