//! What the FIX conformance suite (tests/test_fix_conformance.py) found, pinned message by
//! message: the answers FIX 4.4 prescribes (volume 2, session test cases) where the gateway
//! used to give another.

use lft_gateway::codec::{checksum, decode, Decoded, FrameError, Limits, MessageBuilder};
use lft_gateway::session::{known_msg_type, Action, Session, SessionConfig, State};

fn config() -> SessionConfig {
    SessionConfig {
        our_comp_id: "LFT".into(),
        their_comp_id: "CLIENT".into(),
        password: None,
        heartbeat_range: (1, 120),
    }
}

const STAMP: &str = "20261202-10:00:00.000";

/// `fields` (after BodyLength, before CheckSum; `|` for SOH) framed as they are.
fn raw(fields: &str) -> Vec<u8> {
    let body = fields.replace('|', "\x01");
    let mut bytes = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
    let sum = checksum(&bytes);
    bytes.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    bytes
}

/// A client message with the standard header at `seq` and `body` (`|` for SOH).
fn client(msg_type: &str, seq: u64, body: &str) -> Vec<u8> {
    raw(&format!("35={msg_type}|49=CLIENT|56=LFT|34={seq}|52={STAMP}|{body}"))
}

fn feed(s: &mut Session, bytes: &[u8]) -> Vec<Action> {
    let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!("{bytes:?}") };
    s.on_message(&m, 10)
}

/// Each message sent: its MsgType and, for a Reject, (RefTagID, SessionRejectReason).
fn sent(actions: &[Action]) -> Vec<(String, Option<(String, String)>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(bytes) => {
                let Decoded::Message(m, _) = decode(bytes, &Limits::default()) else { panic!() };
                let t = String::from_utf8_lossy(m.msg_type().unwrap()).into_owned();
                let reject = (t == "3").then(|| {
                    (m.get_str(371).unwrap_or("-").to_string(), m.get_str(373).unwrap().to_string())
                });
                Some((t, reject))
            }
            _ => None,
        })
        .collect()
}

fn reject(tag: &str, reason: &str) -> Vec<(String, Option<(String, String)>)> {
    vec![("3".to_string(), Some((tag.to_string(), reason.to_string())))]
}

fn logged_on() -> Session {
    let mut s = Session::new(config(), 1, 1, 0);
    assert_eq!(sent(&feed(&mut s, &client("A", 1, "98=0|108=30|"))).len(), 1);
    assert_eq!(s.state(), State::Active);
    s
}

#[test]
fn a_message_whose_third_field_is_not_msg_type_is_garbled_and_not_counted() {
    for fields in ["49=CLIENT|35=0|56=LFT|34=2|", "49=CLIENT|56=LFT|34=2|52=x|"] {
        let bytes = raw(fields);
        assert_eq!(decode(&bytes, &Limits::default()), Decoded::Garbled(FrameError::NoMsgType, bytes.len()));
    }
}

#[test]
fn a_header_field_after_the_body_is_a_reject_naming_it() {
    let mut s = logged_on();
    let a = feed(&mut s, &raw(&format!("35=1|49=CLIENT|56=LFT|52={STAMP}|112=x|34=2|")));
    assert_eq!(sent(&a), reject("34", "14"));
    assert_eq!(s.sequence_numbers().0, 3, "it counts");
}

#[test]
fn sending_time_missing_or_not_a_timestamp_is_a_reject() {
    let mut s = logged_on();
    assert_eq!(sent(&feed(&mut s, &raw("35=1|49=CLIENT|56=LFT|34=2|112=x|"))), reject("52", "1"));
    assert_eq!(sent(&feed(&mut s, &raw("35=1|49=CLIENT|56=LFT|34=3|52=noon|112=x|"))), reject("52", "6"));
    assert_eq!(s.sequence_numbers().0, 4);
}

#[test]
fn a_repeated_tag_is_a_reject_unless_it_belongs_to_a_group() {
    let mut s = logged_on();
    assert_eq!(sent(&feed(&mut s, &client("D", 2, "11=a|11=b|"))), reject("11", "13"));
    let twice = raw(&format!("35=D|49=CLIENT|56=LFT|34=3|34=3|52={STAMP}|11=a|"));
    assert_eq!(sent(&feed(&mut s, &twice)), reject("34", "13"));
    let md = feed(&mut s, &client("V", 4, "262=m|263=0|267=2|269=0|269=1|146=2|55=A|55=B|"));
    assert!(matches!(md.as_slice(), [Action::Deliver(_)]), "{md:?}");
    let many: String = (0..40).map(|i| format!("{}=x|", 5000 + i)).collect::<String>() + "5000=y|";
    assert_eq!(sent(&feed(&mut s, &client("D", 5, &many))), reject("5000", "13"));
}

#[test]
fn an_undefined_msg_type_is_a_reject_and_a_defined_one_goes_to_order_entry() {
    let mut s = logged_on();
    assert_eq!(sent(&feed(&mut s, &client("ZZ", 2, ""))), reject("35", "11"));
    assert!(matches!(feed(&mut s, &client("E", 3, "")).as_slice(), [Action::Deliver(_)]));
    for t in ["0", "9", "A", "H", "J", "Z", "a", "z", "AA", "AZ", "BH", "U1", "UXY"] {
        assert!(known_msg_type(t.as_bytes()), "{t}");
    }
    for t in ["", "I", "O", "BI", "CA", "ZZ", "1A", "&"] {
        assert!(!known_msg_type(t.as_bytes()), "{t}");
    }
}

#[test]
fn session_messages_without_their_required_fields_are_rejects() {
    let mut s = logged_on();
    assert_eq!(sent(&feed(&mut s, &client("1", 2, ""))), reject("112", "1"));
    assert_eq!(sent(&feed(&mut s, &client("2", 3, "16=0|"))), reject("7", "1"));
    assert_eq!(sent(&feed(&mut s, &client("2", 4, "7=1|"))), reject("16", "1"));
    assert_eq!(sent(&feed(&mut s, &client("2", 5, "7=x|16=0|"))), reject("7", "6"));
    assert_eq!(sent(&feed(&mut s, &client("4", 6, "123=Y|"))), reject("36", "1"));
    assert_eq!(sent(&feed(&mut s, &client("4", 7, ""))), reject("36", "1"), "a Reset too");
    assert_eq!(s.sequence_numbers().0, 7, "the Reset without NewSeqNo did not count (it has none)");
}

#[test]
fn a_compid_problem_is_a_reject_and_a_logout_and_the_message_counts() {
    let mut s = logged_on();
    let a = feed(&mut s, &raw(&format!("35=1|49=OTHER|56=LFT|34=2|52={STAMP}|112=x|")));
    let types: Vec<String> = sent(&a).into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["3", "5"]);
    assert_eq!(sent(&a)[0].1, Some(("49".to_string(), "9".to_string())));
    assert_eq!(s.sequence_numbers().0, 3);
    let mut s = logged_on();
    let a = feed(&mut s, &raw(&format!("35=1|49=CLIENT|56=ELSE|34=2|52={STAMP}|112=x|")));
    assert_eq!(sent(&a)[0].1, Some(("56".to_string(), "9".to_string())), "RefTagID names TargetCompID");
}

#[test]
fn poss_dup_needs_an_orig_sending_time_not_after_the_sending_time() {
    let mut s = logged_on();
    feed(&mut s, &client("0", 2, ""));
    // Too low, PossDupFlag, no OrigSendingTime: a Reject; the session goes on.
    assert_eq!(sent(&feed(&mut s, &client("0", 2, "43=Y|"))), reject("122", "1"));
    assert_eq!(s.state(), State::Active);
    // With one before SendingTime: ignored.
    assert!(feed(&mut s, &client("0", 2, "43=Y|122=20261202-09:00:00.000|")).is_empty());
    // In sequence with PossDupFlag and no OrigSendingTime: a Reject that counts.
    assert_eq!(sent(&feed(&mut s, &client("0", 3, "43=Y|"))), reject("122", "1"));
    assert_eq!(s.sequence_numbers().0, 4);
    // OrigSendingTime after SendingTime: a Reject (373=10) and a Logout.
    let a = feed(&mut s, &client("0", 4, "43=Y|122=20261202-11:00:00.000|"));
    let types: Vec<String> = sent(&a).into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["3", "5"]);
    assert_eq!(sent(&a)[0].1, Some(("122".to_string(), "10".to_string())));
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn one_resend_request_per_gap() {
    let mut s = logged_on();
    assert_eq!(sent(&feed(&mut s, &client("0", 5, ""))).len(), 1, "2 to 4 missing: a ResendRequest");
    for seq in 6..9 {
        assert!(feed(&mut s, &client("0", seq, "")).is_empty(), "no second ResendRequest for {seq}");
    }
    // The client fills the gap up to 8; a later gap gets its own request.
    feed(&mut s, &client("4", 2, "123=Y|36=9|"));
    assert_eq!(s.sequence_numbers().0, 9);
    let a = feed(&mut s, &client("0", 12, ""));
    assert_eq!(sent(&a), vec![("2".to_string(), None)]);
}

#[test]
fn a_logon_without_a_sending_time_is_refused() {
    let mut s = Session::new(config(), 1, 1, 0);
    let a = feed(&mut s, &raw("35=A|49=CLIENT|56=LFT|34=1|98=0|108=30|"));
    assert!(matches!(a.last(), Some(Action::Disconnect(_))), "{a:?}");
}

#[test]
fn the_encoder_header_order_reads_back_without_a_problem() {
    let mut b = MessageBuilder::new("4");
    b.field(49, "LFT").field(56, "C").field(34, 3).field(43, "Y").field(52, STAMP).field(122, STAMP);
    b.field(123, "Y").field(36, 9);
    let bytes = b.finish();
    let Decoded::Message(m, _) = decode(&bytes, &Limits::default()) else { panic!() };
    assert_eq!(m.problem, None);
}
