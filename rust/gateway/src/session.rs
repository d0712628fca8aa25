//! The FIX 4.4 session layer as a pure state machine: no sockets and no clock of its own
//! (the caller passes the time), so every rule is testable message by message.
//!
//! What it does, by the standard (FIX 4.4, volume 2, "Session protocol"):
//! - Logon (A) first: the CompIDs must be the configured ones (SenderCompID 49 is the
//!   client's, TargetCompID 56 ours), the password (554) must match when one is configured,
//!   HeartBtInt (108) must be in range; ResetSeqNumFlag (141=Y) resets both sequence numbers
//!   to 1. Anything else first is a disconnect.
//! - Inbound sequence numbers: the expected one is processed; a higher one is answered with a
//!   ResendRequest (2) for the gap (the message itself is dropped: the resend brings it
//!   again; while that request is outstanding, higher numbers do not bring another); a lower
//!   one without PossDupFlag (43=Y) ends the session with a Logout; with it, it is ignored
//!   (after a Reject when OrigSendingTime 122 is missing, and a Reject and a Logout when it
//!   is after SendingTime).
//! - Heartbeat (0) every HeartBtInt seconds of silence on our side; TestRequest (1) answered
//!   with a Heartbeat carrying its TestReqID (112); when the client is silent for HeartBtInt
//!   plus 20%, a TestRequest, and when that goes unanswered for another HeartBtInt, a
//!   disconnect.
//! - ResendRequest (2) from the client: this gateway does not resend application messages
//!   (execution reports describe state the client can query again; resending them would
//!   repeat fills), so the requested range is answered with one SequenceReset-GapFill (4,
//!   123=Y) up to the next sequence number.
//! - SequenceReset (4): GapFill moves the expected number forward; Reset sets it (never
//!   backwards: a Reject, reason 5).
//! - A message with a field problem (see [`crate::codec::FieldProblem`]), a SendingTime (52)
//!   missing or not a UTCTimestamp, a tag repeated outside a repeating group, a MsgType that
//!   FIX 4.4 does not define, or a session message without its required fields gets a Reject
//!   (3) naming the tag and the SessionRejectReason, and counts as received. Another
//!   SenderCompID or TargetCompID is a Reject (373=9) and a Logout, and counts too.
//! - Logout (5) is answered with a Logout, then the session ends.

use crate::codec::{FieldProblem, Message, MessageBuilder, RejectReason};

/// One configured session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our CompID (the client's TargetCompID, 56).
    pub our_comp_id: String,
    /// The client's CompID (its SenderCompID, 49).
    pub their_comp_id: String,
    /// Password (554) the client must send at Logon, if any.
    pub password: Option<String>,
    /// Accepted HeartBtInt range, seconds.
    pub heartbeat_range: (u32, u32),
}

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Connected, no Logon yet.
    AwaitingLogon,
    /// Logged on.
    Active,
    /// We sent a Logout and wait for the client's.
    LoggingOut,
    /// Over: the connection is to be closed.
    Closed,
}

/// What the caller must do after feeding the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to the client.
    Send(Vec<u8>),
    /// An application message in sequence, for the order-entry layer (its raw bytes).
    Deliver(Vec<u8>),
    /// Close the connection (after sending what came before), and why.
    Disconnect(String),
}

/// One session's state.
#[derive(Clone, Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    next_in: u64,
    next_out: u64,
    heartbeat_ms: u64,
    last_received_ms: u64,
    /// The last SendingTime formatted: (ms, text).
    stamp: (u64, String),
    last_sent_ms: u64,
    test_request: Option<(u64, u64)>,
    test_requests_sent: u64,
    /// The last number of the gap our outstanding ResendRequest asked for.
    resend_to: Option<u64>,
    /// Messages rejected with a Reject (3), for the counters.
    pub rejects_sent: u64,
}

const ADMIN: [&[u8]; 7] = [b"0", b"1", b"2", b"3", b"4", b"5", b"A"];

impl Session {
    /// A session expecting Logon, with the sequence numbers it resumes from (persisted
    /// across restarts by the caller; 1 and 1 for a new one).
    pub fn new(config: SessionConfig, next_in: u64, next_out: u64, now_ms: u64) -> Self {
        Session {
            config,
            state: State::AwaitingLogon,
            next_in: next_in.max(1),
            next_out: next_out.max(1),
            heartbeat_ms: 30_000,
            last_received_ms: now_ms,
            stamp: (0, String::new()),
            last_sent_ms: now_ms,
            test_request: None,
            test_requests_sent: 0,
            resend_to: None,
            rejects_sent: 0,
        }
    }

    /// The session's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// `(next expected inbound, next outbound)` sequence numbers (to persist).
    pub fn sequence_numbers(&self) -> (u64, u64) {
        (self.next_in, self.next_out)
    }

    /// An outgoing message of type `msg_type` with the standard header; takes the next
    /// outbound sequence number. `body` adds the body fields.
    pub fn outgoing(
        &mut self,
        msg_type: &str,
        now_ms: u64,
        body: impl FnOnce(&mut MessageBuilder),
    ) -> Vec<u8> {
        let mut b = MessageBuilder::new(msg_type);
        b.field(49, &self.config.our_comp_id)
            .field(56, &self.config.their_comp_id)
            .field(34, self.next_out)
            .field(52, self.stamp(now_ms));
        body(&mut b);
        self.next_out += 1;
        self.last_sent_ms = now_ms;
        b.finish()
    }

    fn logout(&mut self, now_ms: u64, text: &str, out: &mut Vec<Action>) {
        let msg = self.outgoing("5", now_ms, |b| {
            b.field(58, text);
        });
        out.push(Action::Send(msg));
        self.state = State::Closed;
        out.push(Action::Disconnect(text.to_string()));
    }

    /// A Reject (3) of `m`: RefSeqNum 45, RefTagID 371 (when the tag is known), RefMsgType
    /// 372, SessionRejectReason 373, Text 58. Counted in `rejects_sent`.
    pub fn reject_message(&mut self, now_ms: u64, m: &Message<'_>, p: FieldProblem, text: &str) -> Vec<u8> {
        self.rejects_sent += 1;
        let ref_seq = m.seq_num().ok().flatten().unwrap_or(0);
        let msg_type = m.msg_type().map(|t| String::from_utf8_lossy(t).into_owned());
        self.outgoing("3", now_ms, |b| {
            b.field(45, ref_seq);
            if p.tag > 0 {
                b.field(371, p.tag);
            }
            if let Some(t) = msg_type {
                b.field(372, t);
            }
            b.field(373, p.reason as u8).field(58, text);
        })
    }

    fn reject(&mut self, now_ms: u64, m: &Message<'_>, p: FieldProblem, text: &str, out: &mut Vec<Action>) {
        let msg = self.reject_message(now_ms, m, p, text);
        out.push(Action::Send(msg));
    }

    /// SendingTime for `now_ms`, formatted once per millisecond.
    fn stamp(&mut self, now_ms: u64) -> &str {
        if self.stamp.0 != now_ms || self.stamp.1.is_empty() {
            self.stamp = (now_ms, sending_time(now_ms));
        }
        &self.stamp.1
    }

    /// The fast path of [`Session::on_message`] for an application message that needs no
    /// session action: logged on, the right CompIDs, the expected sequence number, no field
    /// problem, no PossDupFlag. Takes its sequence number and returns true; anything else
    /// returns false and changes nothing (feed it to `on_message`).
    pub fn accept_application(&mut self, m: &Message<'_>, now_ms: u64) -> bool {
        let msg_type = m.msg_type().unwrap_or_default();
        let ok = self.state == State::Active
            && !Self::is_admin(msg_type)
            && m.problem.is_none()
            && m.seq_num().ok().flatten() == Some(self.next_in)
            && m.get(43) != Some(b"Y")
            && m.get_str(49) == Some(self.config.their_comp_id.as_str())
            && m.get_str(56) == Some(self.config.our_comp_id.as_str())
            && header_problem(m, msg_type).is_none();
        if ok {
            self.next_in += 1;
            self.last_received_ms = now_ms;
        }
        ok
    }

    /// Feed one framed message received at `now_ms`.
    pub fn on_message(&mut self, m: &Message<'_>, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Closed {
            return out;
        }
        self.last_received_ms = now_ms;
        let msg_type = m.msg_type().unwrap_or_default();
        let seq = match m.seq_num() {
            Ok(Some(s)) if s > 0 => s,
            _ => {
                self.logout(now_ms, "MsgSeqNum (34) missing or not a positive number", &mut out);
                return out;
            }
        };
        let comp_ok = m.get_str(49) == Some(self.config.their_comp_id.as_str())
            && m.get_str(56) == Some(self.config.our_comp_id.as_str());
        if self.state == State::AwaitingLogon {
            if msg_type != b"A" {
                self.state = State::Closed;
                out.push(Action::Disconnect("the first message must be a Logon (35=A)".into()));
                return out;
            }
            if !comp_ok {
                self.state = State::Closed;
                out.push(Action::Disconnect("unknown SenderCompID/TargetCompID at Logon".into()));
                return out;
            }
            return self.on_logon(m, seq, now_ms);
        }
        if !comp_ok {
            // FIX 4.4 session test case 2.h: Reject, count the message, Logout.
            if seq == self.next_in {
                self.next_in += 1;
            }
            // RefTagID names the CompID that is wrong: SenderCompID (49) or TargetCompID (56).
            let tag = if m.get_str(49) == Some(self.config.their_comp_id.as_str()) { 56 } else { 49 };
            let p = FieldProblem { tag, reason: RejectReason::CompIdProblem };
            self.reject(now_ms, m, p, "CompID problem", &mut out);
            self.logout(now_ms, "CompID problem", &mut out);
            return out;
        }
        // SequenceReset-Reset is processed whatever its sequence number.
        if msg_type == b"4" && m.get(123) != Some(b"Y") {
            self.on_sequence_reset(m, now_ms, &mut out);
            return out;
        }
        if seq > self.next_in {
            let from = self.next_in;
            // One ResendRequest per gap: while ours is outstanding, do not send another.
            if self.resend_to.is_none_or(|to| from > to) {
                let msg = self.outgoing("2", now_ms, |b| {
                    b.field(7, from).field(16, 0);
                });
                out.push(Action::Send(msg));
                self.resend_to = Some(seq - 1);
            }
            if msg_type == b"5" {
                self.logout(now_ms, "Logout received", &mut out);
            }
            return out;
        }
        if seq < self.next_in {
            if m.get(43) != Some(b"Y") {
                let text = format!("MsgSeqNum too low, expecting {} but received {seq}", self.next_in);
                self.logout(now_ms, &text, &mut out);
            } else if let Some((p, text, logout)) = poss_dup_problem(m, msg_type) {
                self.reject(now_ms, m, p, &text, &mut out);
                if logout {
                    self.logout(now_ms, &text, &mut out);
                }
            }
            return out;
        }
        self.next_in += 1;
        if let Some(p) = m.problem {
            self.reject(now_ms, m, p, "invalid message", &mut out);
            return out;
        }
        if let Some((p, text)) = header_problem(m, msg_type).or_else(|| admin_problem(m, msg_type)) {
            self.reject(now_ms, m, p, &text, &mut out);
            return out;
        }
        if let Some((p, text, logout)) = poss_dup_problem(m, msg_type) {
            self.reject(now_ms, m, p, &text, &mut out);
            if logout {
                self.logout(now_ms, &text, &mut out);
            }
            return out;
        }
        match msg_type {
            b"0" => {
                if let Some((id, _)) = self.test_request {
                    if m.get_u64(112).ok().flatten() == Some(id) {
                        self.test_request = None;
                    }
                }
            }
            b"1" => {
                let id = m.get_str(112).unwrap_or_default().to_string();
                let msg = self.outgoing("0", now_ms, |b| {
                    b.field(112, id);
                });
                out.push(Action::Send(msg));
            }
            b"2" => {
                let begin = m.get_u64(7).ok().flatten().unwrap_or(1).max(1);
                let next = self.next_out;
                if begin < next {
                    // One gap fill over the whole range, sent with the range's first number.
                    let mut b = MessageBuilder::new("4");
                    b.field(49, &self.config.our_comp_id)
                        .field(56, &self.config.their_comp_id)
                        .field(34, begin)
                        .field(43, "Y")
                        .field(52, sending_time(now_ms))
                        .field(122, sending_time(now_ms))
                        .field(123, "Y")
                        .field(36, next);
                    out.push(Action::Send(b.finish()));
                    self.last_sent_ms = now_ms;
                }
            }
            b"3" => {}
            b"4" => self.on_sequence_reset(m, now_ms, &mut out),
            b"5" => {
                if self.state != State::LoggingOut {
                    let msg = self.outgoing("5", now_ms, |_| {});
                    out.push(Action::Send(msg));
                }
                self.state = State::Closed;
                out.push(Action::Disconnect("Logout".into()));
            }
            b"A" => {
                let p = FieldProblem { tag: 35, reason: RejectReason::InvalidMsgType };
                self.reject(now_ms, m, p, "already logged on", &mut out);
            }
            _ => out.push(Action::Deliver(m.bytes.to_vec())),
        }
        out
    }

    fn on_logon(&mut self, m: &Message<'_>, seq: u64, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(p) = m.problem.or_else(|| header_problem(m, b"A").map(|(p, _)| p)) {
            self.state = State::Closed;
            out.push(Action::Disconnect(format!("malformed Logon: tag {} ({:?})", p.tag, p.reason)));
            return out;
        }
        if let Some(want) = &self.config.password {
            if m.get_str(554) != Some(want.as_str()) {
                self.state = State::Closed;
                out.push(Action::Disconnect("wrong password (554) at Logon".into()));
                return out;
            }
        }
        let (lo, hi) = self.config.heartbeat_range;
        let heartbeat = match m.get_u64(108) {
            Ok(Some(h)) if h >= u64::from(lo) && h <= u64::from(hi) => h,
            _ => {
                let text = format!("HeartBtInt (108) must be {lo} to {hi} seconds");
                self.logout(now_ms, &text, &mut out);
                return out;
            }
        };
        let reset = m.get(141) == Some(b"Y");
        if reset {
            self.next_in = 1;
            self.next_out = 1;
        }
        if seq < self.next_in {
            let text = format!("MsgSeqNum too low, expecting {} but received {seq}", self.next_in);
            self.logout(now_ms, &text, &mut out);
            return out;
        }
        self.heartbeat_ms = heartbeat * 1000;
        self.state = State::Active;
        let msg = self.outgoing("A", now_ms, |b| {
            b.field(98, 0).field(108, heartbeat);
            if reset {
                b.field(141, "Y");
            }
        });
        out.push(Action::Send(msg));
        if seq > self.next_in {
            let from = self.next_in;
            let msg = self.outgoing("2", now_ms, |b| {
                b.field(7, from).field(16, 0);
            });
            out.push(Action::Send(msg));
        } else {
            self.next_in += 1;
        }
        out
    }

    fn on_sequence_reset(&mut self, m: &Message<'_>, now_ms: u64, out: &mut Vec<Action>) {
        match m.get_u64(36) {
            Ok(Some(new)) if new >= self.next_in => self.next_in = new,
            Ok(None) => {
                let p = FieldProblem { tag: 36, reason: RejectReason::RequiredTagMissing };
                self.reject(now_ms, m, p, "NewSeqNo (36) is required", out);
            }
            Err(p) => self.reject(now_ms, m, p, "NewSeqNo (36) must be a number", out),
            _ => {
                let p = FieldProblem { tag: 36, reason: RejectReason::ValueOutOfRange };
                let text = format!("NewSeqNo (36) must be at least {}", self.next_in);
                self.reject(now_ms, m, p, &text, out);
            }
        }
    }

    /// Let time pass: heartbeats, test requests, and the end of a silent client.
    pub fn on_timer(&mut self, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state != State::Active {
            return out;
        }
        if let Some((_, sent)) = self.test_request {
            if now_ms.saturating_sub(sent) >= self.heartbeat_ms {
                self.logout(now_ms, "missed heartbeats: no answer to TestRequest", &mut out);
                return out;
            }
        } else if now_ms.saturating_sub(self.last_received_ms) >= self.heartbeat_ms + self.heartbeat_ms / 5 {
            self.test_requests_sent += 1;
            let id = self.test_requests_sent;
            let msg = self.outgoing("1", now_ms, |b| {
                b.field(112, id);
            });
            out.push(Action::Send(msg));
            self.test_request = Some((id, now_ms));
        }
        if now_ms.saturating_sub(self.last_sent_ms) >= self.heartbeat_ms {
            let msg = self.outgoing("0", now_ms, |_| {});
            out.push(Action::Send(msg));
        }
        out
    }

    /// Whether `msg_type` is a session-level message.
    pub fn is_admin(msg_type: &[u8]) -> bool {
        ADMIN.contains(&msg_type)
    }
}

/// Tags that may repeat in any message: the fields of FIX 4.4's common repeating groups
/// (Parties, PartySubIDs, NoHops, SecurityAltID, TradingSessions, Events, Underlyings' and
/// Legs' symbols are not among them).
const GROUP_TAGS: [u32; 12] = [448, 447, 452, 523, 803, 628, 629, 630, 455, 456, 336, 625];
/// Tags that may also repeat in a MarketDataRequest (V): MDEntryType (NoMDEntryTypes 267)
/// and the Instrument fields of NoRelatedSym (146).
const MD_REQUEST_GROUP_TAGS: [u32; 14] = [269, 55, 65, 48, 22, 460, 461, 167, 200, 541, 207, 106, 107, 15];
/// Tags that may also repeat in a Logon (A): NoMsgTypes (384).
const LOGON_GROUP_TAGS: [u32; 2] = [372, 385];

/// Whether FIX 4.4 defines `msg_type` (or it is user-defined: it starts with U).
pub fn known_msg_type(msg_type: &[u8]) -> bool {
    match msg_type {
        [b'U', ..] => true,
        [c] => {
            c.is_ascii_digit()
                || c.is_ascii_lowercase()
                || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'O'))
        }
        [b'A', c] => c.is_ascii_uppercase(),
        [b'B', c] => (b'A'..=b'H').contains(c),
        _ => false,
    }
}

/// A problem of the standard header or the message as a whole, for a Reject: SendingTime
/// (52) missing or not a UTCTimestamp, a tag repeated outside a repeating group, a MsgType
/// FIX 4.4 does not define.
fn header_problem(m: &Message<'_>, msg_type: &[u8]) -> Option<(FieldProblem, String)> {
    let problem = |tag, reason, text: &str| Some((FieldProblem { tag, reason }, text.to_string()));
    match m.get_str(52) {
        None => return problem(52, RejectReason::RequiredTagMissing, "SendingTime (52) is required"),
        Some(t) if crate::orders::utc_timestamp(t).is_none() => {
            return problem(52, RejectReason::IncorrectDataFormat, "SendingTime (52) is not a UTCTimestamp")
        }
        Some(_) => {}
    }
    let extra: &[u32] = match msg_type {
        b"V" => &MD_REQUEST_GROUP_TAGS,
        b"A" => &LOGON_GROUP_TAGS,
        _ => &[],
    };
    let may_repeat = |t: u32| GROUP_TAGS.contains(&t) || extra.contains(&t);
    let repeated = if m.fields.len() <= 32 {
        m.fields
            .iter()
            .enumerate()
            .find(|&(i, &(t, _))| !may_repeat(t) && m.fields[..i].iter().any(|(u, _)| *u == t))
            .map(|(_, &(t, _))| t)
    } else {
        let mut seen = std::collections::HashSet::with_capacity(m.fields.len());
        m.fields.iter().map(|(t, _)| *t).find(|&t| !may_repeat(t) && !seen.insert(t))
    };
    if let Some(tag) = repeated {
        return problem(tag, RejectReason::TagRepeated, &format!("tag {tag} appears more than once"));
    }
    if !known_msg_type(msg_type) {
        let text = format!("MsgType {:?} is not a FIX 4.4 message type", String::from_utf8_lossy(msg_type));
        return problem(35, RejectReason::InvalidMsgType, &text);
    }
    None
}

/// The required fields of the session messages this layer answers: TestReqID (112) of a
/// TestRequest, BeginSeqNo (7) and EndSeqNo (16) of a ResendRequest (numbers).
fn admin_problem(m: &Message<'_>, msg_type: &[u8]) -> Option<(FieldProblem, String)> {
    let tags: &[u32] = match msg_type {
        b"1" => &[112],
        b"2" => &[7, 16],
        _ => &[],
    };
    for &tag in tags {
        if m.get(tag).is_none() {
            let p = FieldProblem { tag, reason: RejectReason::RequiredTagMissing };
            return Some((p, format!("tag {tag} is required")));
        }
        if msg_type == b"2" {
            if let Err(p) = m.get_u64(tag) {
                return Some((p, format!("tag {tag} must be a number")));
            }
        }
    }
    None
}

/// A PossDupFlag (43=Y) message other than a SequenceReset needs OrigSendingTime (122), not
/// after its SendingTime (FIX 4.4 session test cases 2.e and 2.f); `true`: also a Logout.
fn poss_dup_problem(m: &Message<'_>, msg_type: &[u8]) -> Option<(FieldProblem, String, bool)> {
    if m.get(43) != Some(b"Y") || msg_type == b"4" {
        return None;
    }
    let Some(orig) = m.get_str(122) else {
        let p = FieldProblem { tag: 122, reason: RejectReason::RequiredTagMissing };
        return Some((p, "PossDupFlag (43=Y) needs OrigSendingTime (122)".into(), false));
    };
    let Some(orig) = crate::orders::utc_timestamp(orig) else {
        let p = FieldProblem { tag: 122, reason: RejectReason::IncorrectDataFormat };
        return Some((p, "OrigSendingTime (122) is not a UTCTimestamp".into(), false));
    };
    let sent = m.get_str(52).and_then(crate::orders::utc_timestamp);
    if sent.is_some_and(|sent| orig > sent) {
        let p = FieldProblem { tag: 122, reason: RejectReason::SendingTimeAccuracy };
        return Some((p, "OrigSendingTime (122) is after SendingTime (52)".into(), true));
    }
    None
}

/// (year, month, day) of `days` since 1970-01-01 (Howard Hinnant's algorithm); shared by
/// SendingTime and the admin API's HTTP Date.
pub(crate) fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// SendingTime (52) for `ms` since the Unix epoch: `YYYYMMDD-HH:MM:SS.sss`, UTC.
pub fn sending_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}
