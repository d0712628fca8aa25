//! The session rules, message by message, against a scripted client.

use lft_gateway::codec::{decode, Decoded, Limits, MessageBuilder};
use lft_gateway::session::{sending_time, Action, Session, SessionConfig, State};

fn config() -> SessionConfig {
    SessionConfig {
        our_comp_id: "LFT".into(),
        their_comp_id: "CLIENT".into(),
        password: Some("secret".into()),
        heartbeat_range: (1, 120),
    }
}

/// A client message `35=msg_type` with sequence number `seq` and extra fields.
fn client(msg_type: &str, seq: u64, fields: &[(u32, &str)]) -> Vec<u8> {
    let mut b = MessageBuilder::new(msg_type);
    b.field(49, "CLIENT").field(56, "LFT").field(34, seq).field(52, "20261202-10:00:00.000");
    for (t, v) in fields {
        b.field(*t, v);
    }
    b.finish()
}

fn feed(s: &mut Session, bytes: &[u8], now: u64) -> Vec<Action> {
    let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!("{bytes:?}") };
    s.on_message(&m, now)
}

/// The type and a field of each message sent.
fn sent(actions: &[Action]) -> Vec<(String, Option<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(bytes) => {
                let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!() };
                let t = String::from_utf8(m.msg_type().unwrap().to_vec()).unwrap();
                let key = match t.as_str() {
                    "2" => m.get_str(7),
                    "3" => m.get_str(373),
                    "4" => m.get_str(36),
                    "5" => m.get_str(58),
                    "0" | "1" => m.get_str(112),
                    _ => None,
                };
                Some((t, key.map(str::to_string)))
            }
            _ => None,
        })
        .collect()
}

fn logged_on() -> Session {
    let mut s = Session::new(config(), 1, 1, 0);
    let a = feed(&mut s, &client("A", 1, &[(98, "0"), (108, "30"), (554, "secret")]), 0);
    assert_eq!(sent(&a), [("A".to_string(), None)]);
    assert_eq!(s.state(), State::Active);
    s
}

#[test]
fn a_logon_with_the_right_compids_and_password_is_answered_with_a_logon() {
    let s = logged_on();
    assert_eq!(s.sequence_numbers(), (2, 2));
}

#[test]
fn a_wrong_password_an_unknown_compid_or_another_first_message_disconnect() {
    for bytes in [
        client("A", 1, &[(98, "0"), (108, "30"), (554, "wrong")]),
        client("A", 1, &[(98, "0"), (108, "30")]),
        client("0", 1, &[]),
    ] {
        let mut s = Session::new(config(), 1, 1, 0);
        let a = feed(&mut s, &bytes, 0);
        assert!(matches!(a.last(), Some(Action::Disconnect(_))), "{a:?}");
        assert_eq!(s.state(), State::Closed);
    }
    let mut b = MessageBuilder::new("A");
    b.field(49, "INTRUDER").field(56, "LFT").field(34, 1).field(52, "x").field(108, 30).field(554, "secret");
    let mut s = Session::new(config(), 1, 1, 0);
    assert!(matches!(feed(&mut s, &b.finish(), 0).last(), Some(Action::Disconnect(_))));
}

#[test]
fn a_heartbeat_interval_out_of_range_is_a_logout() {
    let mut s = Session::new(config(), 1, 1, 0);
    let a = feed(&mut s, &client("A", 1, &[(98, "0"), (108, "0"), (554, "secret")]), 0);
    assert_eq!(sent(&a)[0].0, "5");
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn a_sequence_gap_is_answered_with_a_resend_request_from_the_expected_number() {
    let mut s = logged_on();
    let a = feed(&mut s, &client("D", 5, &[(11, "x")]), 10);
    assert_eq!(sent(&a), [("2".to_string(), Some("2".to_string()))]);
    assert!(!a.iter().any(|x| matches!(x, Action::Deliver(_))), "the message waits for the resend");
    assert_eq!(s.sequence_numbers().0, 2);
}

#[test]
fn a_number_too_low_without_possdup_is_a_logout_and_with_it_is_ignored() {
    let mut s = logged_on();
    assert!(feed(&mut s, &client("0", 1, &[(43, "Y"), (122, "20261202-09:59:59.000")]), 10).is_empty());
    let a = feed(&mut s, &client("0", 1, &[]), 10);
    assert!(sent(&a)[0].1.as_deref().unwrap().contains("MsgSeqNum too low, expecting 2"));
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn a_test_request_gets_a_heartbeat_with_its_id() {
    let mut s = logged_on();
    let a = feed(&mut s, &client("1", 2, &[(112, "PING-7")]), 10);
    assert_eq!(sent(&a), [("0".to_string(), Some("PING-7".to_string()))]);
}

#[test]
fn a_resend_request_is_answered_with_one_gap_fill_to_the_next_number() {
    let mut s = logged_on();
    for n in 0..3 {
        s.outgoing("8", 10, |b| {
            b.field(37, n);
        });
    }
    let a = feed(&mut s, &client("2", 2, &[(7, "2"), (16, "0")]), 20);
    assert_eq!(sent(&a), [("4".to_string(), Some("5".to_string()))]);
    let Action::Send(bytes) = &a[0] else { panic!() };
    let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!() };
    assert_eq!((m.get_str(34), m.get_str(123), m.get_str(43)), (Some("2"), Some("Y"), Some("Y")));
    assert_eq!(s.sequence_numbers().1, 5, "a gap fill takes no new number");
}

#[test]
fn sequence_resets_move_forward_and_never_back() {
    let mut s = logged_on();
    feed(&mut s, &client("4", 2, &[(123, "Y"), (36, "10")]), 10);
    assert_eq!(s.sequence_numbers().0, 10);
    let a = feed(&mut s, &client("4", 99, &[(36, "3")]), 10);
    assert_eq!(sent(&a), [("3".to_string(), Some("5".to_string()))]);
    feed(&mut s, &client("4", 99, &[(36, "20")]), 10);
    assert_eq!(s.sequence_numbers().0, 20);
}

#[test]
fn a_message_with_a_field_problem_is_rejected_naming_the_tag_and_still_counts() {
    let mut s = logged_on();
    let mut bytes = client("D", 2, &[]);
    // Splice an empty-valued field into the body and fix the length and checksum.
    let body_start = bytes.iter().position(|&b| b == b'3').unwrap();
    let body_end = bytes.len() - 7;
    let mut body = bytes[body_start..body_end].to_vec();
    body.extend_from_slice(b"11=\x01");
    bytes = format!("8=FIX.4.4\x019={}\x01", body.len()).into_bytes();
    bytes.extend_from_slice(&body);
    let sum = lft_gateway::codec::checksum(&bytes);
    bytes.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    let a = feed(&mut s, &bytes, 10);
    assert_eq!(sent(&a), [("3".to_string(), Some("4".to_string()))]);
    assert_eq!(s.sequence_numbers().0, 3);
}

#[test]
fn application_messages_in_sequence_are_delivered() {
    let mut s = logged_on();
    let a = feed(&mut s, &client("D", 2, &[(11, "A1")]), 10);
    assert!(matches!(a.as_slice(), [Action::Deliver(_)]), "{a:?}");
}

#[test]
fn silence_brings_a_heartbeat_then_a_test_request_then_a_disconnect() {
    let mut s = logged_on();
    assert_eq!(sent(&s.on_timer(30_000)), [("0".to_string(), None)]);
    let a = s.on_timer(36_000);
    assert_eq!(sent(&a), [("1".to_string(), Some("1".to_string()))]);
    assert!(s.on_timer(50_000).is_empty(), "the test request is pending and we spoke 14 s ago");
    let a = s.on_timer(66_001);
    assert!(matches!(a.last(), Some(Action::Disconnect(why)) if why.contains("missed heartbeats")), "{a:?}");
}

#[test]
fn a_heartbeat_answering_the_test_request_keeps_the_session() {
    let mut s = logged_on();
    s.on_timer(36_000);
    feed(&mut s, &client("0", 2, &[(112, "1")]), 37_000);
    assert!(!s.on_timer(67_000).iter().any(|a| matches!(a, Action::Disconnect(_))));
}

#[test]
fn logout_is_answered_and_ends_the_session() {
    let mut s = logged_on();
    let a = feed(&mut s, &client("5", 2, &[]), 10);
    assert_eq!(sent(&a)[0].0, "5");
    assert!(matches!(a.last(), Some(Action::Disconnect(_))));
}

#[test]
fn reset_seq_num_flag_starts_both_sides_at_one() {
    let mut s = Session::new(config(), 57, 91, 0);
    feed(&mut s, &client("A", 1, &[(98, "0"), (108, "30"), (141, "Y"), (554, "secret")]), 0);
    assert_eq!(s.sequence_numbers(), (2, 2));
}

#[test]
fn sending_time_is_utc_with_milliseconds() {
    assert_eq!(sending_time(0), "19700101-00:00:00.000");
    assert_eq!(sending_time(1_796_207_696_789), "20261202-10:34:56.789");
    assert_eq!(sending_time(951_782_400_000), "20000229-00:00:00.000");
}
