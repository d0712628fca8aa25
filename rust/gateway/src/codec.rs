//! The FIX 4.4 tag=value wire format: `8=FIX.4.4<SOH>9=<body length><SOH>35=<type><SOH>...
//! 10=<checksum><SOH>`, where the body length counts the bytes from `35=` up to and including
//! the SOH before `10=`, and the checksum is the sum of every byte before `10=`, modulo 256,
//! as three digits.
//!
//! [`decode`] takes bytes as they arrive from a socket and says what the front of the buffer
//! holds: a whole message, not enough bytes yet, a garbled frame to skip (FIX: ignore it, do
//! not count its sequence number), or framing lost for good (disconnect). It never panics
//! and never reads past the buffer, whatever the bytes; a declared length above
//! [`Limits::max_message_bytes`] is refused before anything is buffered for it. A message
//! whose third field is not MsgType (35) is garbled too (FIX 4.4 session test case 2.t: the
//! first three fields must be BeginString, BodyLength, MsgType). Field-level problems (a tag
//! that is not a number, a tag without a value, too many fields, a header field after the
//! first body field) leave the message whole and are reported in [`Message::problem`], so
//! the session can answer with a Reject naming the tag.

use std::fmt;

/// The field separator.
pub const SOH: u8 = 0x01;
/// The only protocol version spoken.
pub const BEGIN_STRING: &str = "FIX.4.4";
/// `8=FIX.4.4<SOH>`: every message starts with these bytes.
const PREFIX: &[u8] = b"8=FIX.4.4\x01";
/// `10=ddd<SOH>`.
const TRAILER_LEN: usize = 7;
/// Digits of the longest BodyLength accepted (a larger one is refused as too long anyway).
const MAX_LENGTH_DIGITS: usize = 9;

/// Bounds on what one message may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a whole message, header and trailer included.
    pub max_message_bytes: usize,
    /// Fields of one message.
    pub max_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message_bytes: 64 * 1024, max_fields: 512 }
    }
}

/// Why the front of a buffer is not a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes do not start with `8=FIX.4.4<SOH>`.
    NotFix,
    /// BodyLength (9) is missing, not a number, or not the second field.
    BadBodyLength,
    /// The message declares more bytes than [`Limits::max_message_bytes`].
    TooLarge {
        /// Bytes the message would take.
        declared: usize,
        /// The limit.
        limit: usize,
    },
    /// No `10=ddd<SOH>` where BodyLength says the body ends.
    MissingChecksum,
    /// The checksum does not match the bytes.
    BadChecksum {
        /// Computed from the bytes.
        expected: u8,
        /// Written in the message.
        found: u8,
    },
    /// The third field is not MsgType (35).
    NoMsgType,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NotFix => write!(f, "not a FIX.4.4 message (BeginString 8=FIX.4.4 expected first)"),
            FrameError::BadBodyLength => write!(f, "BodyLength (9) missing, not a number, or not second"),
            FrameError::TooLarge { declared, limit } => {
                write!(f, "message of {declared} bytes is over the limit of {limit}")
            }
            FrameError::MissingChecksum => write!(f, "CheckSum (10) not where BodyLength says the body ends"),
            FrameError::BadChecksum { expected, found } => {
                write!(f, "CheckSum {found:03} is wrong (the bytes sum to {expected:03})")
            }
            FrameError::NoMsgType => write!(f, "the third field is not MsgType (35)"),
        }
    }
}

impl std::error::Error for FrameError {}

/// A field-level problem of a message that framed correctly. The codes are FIX's
/// SessionRejectReason (373) values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The offending tag (0 when the tag itself could not be read).
    pub tag: u32,
    /// SessionRejectReason.
    pub reason: RejectReason,
}

/// SessionRejectReason (373), the values this codec and the session layer use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RejectReason {
    /// 0: Invalid tag number.
    InvalidTag = 0,
    /// 1: Required tag missing.
    RequiredTagMissing = 1,
    /// 4: Tag specified without a value.
    TagWithoutValue = 4,
    /// 5: Value is incorrect (out of range) for this tag.
    ValueOutOfRange = 5,
    /// 6: Incorrect data format for value.
    IncorrectDataFormat = 6,
    /// 9: CompID problem.
    CompIdProblem = 9,
    /// 10: SendingTime accuracy problem.
    SendingTimeAccuracy = 10,
    /// 11: Invalid MsgType.
    InvalidMsgType = 11,
    /// 13: Tag appears more than once.
    TagRepeated = 13,
    /// 14: Tag specified out of required order.
    TagOutOfOrder = 14,
    /// 99: Other (here: too many fields).
    Other = 99,
}

/// One framed message: its bytes and its fields in order (header and trailer included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The whole message.
    pub bytes: &'a [u8],
    /// `(tag, value)` in wire order; values are the raw bytes between `=` and SOH.
    pub fields: Vec<(u32, &'a [u8])>,
    /// The first field-level problem found, if any (the fields before it are all there).
    pub problem: Option<FieldProblem>,
}

impl<'a> Message<'a> {
    /// MsgType (35): the third field of every well-formed message.
    pub fn msg_type(&self) -> Option<&'a [u8]> {
        match self.fields.get(2) {
            Some((35, v)) => Some(v),
            _ => None,
        }
    }

    /// The first value of `tag`.
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
    }

    /// The first value of `tag` as text (FIX values here are ASCII).
    pub fn get_str(&self, tag: u32) -> Option<&'a str> {
        self.get(tag).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of `tag` as an unsigned integer: `Ok(None)` when absent, a problem
    /// naming the tag when it is not a number that fits.
    pub fn get_u64(&self, tag: u32) -> Result<Option<u64>, FieldProblem> {
        match self.get(tag) {
            None => Ok(None),
            Some(v) => {
                parse_u64(v).map(Some).ok_or(FieldProblem { tag, reason: RejectReason::IncorrectDataFormat })
            }
        }
    }

    /// MsgSeqNum (34).
    pub fn seq_num(&self) -> Result<Option<u64>, FieldProblem> {
        self.get_u64(34)
    }

    /// The first tag that appears more than once, among tags not in `repeatable`
    /// (the fields of repeating groups).
    pub fn repeated_tag(&self, repeatable: &[u32]) -> Option<u32> {
        let mut seen = std::collections::HashSet::with_capacity(self.fields.len());
        self.fields.iter().map(|(t, _)| *t).find(|t| !repeatable.contains(t) && !seen.insert(*t))
    }
}

/// What the front of a receive buffer holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole message, and the bytes it took from the front of the buffer.
    Message(Message<'a>, usize),
    /// Not enough bytes yet for a whole message.
    Incomplete,
    /// A garbled message (bad checksum, no checksum where the length says): skip this many
    /// bytes and go on. FIX: ignore it, do not count its sequence number.
    Garbled(FrameError, usize),
    /// The stream is not FIX, or its framing cannot be trusted (a length over the limit, a
    /// BodyLength that is not a number): disconnect.
    Fatal(FrameError),
}

fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// The sum of `bytes` modulo 256 (FIX's checksum).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b))
}

/// Where the next `8=FIX.4.4<SOH>` starts after the first byte, or the buffer's end.
fn resync(buf: &[u8]) -> usize {
    (1..buf.len())
        .find(|&i| buf[i..].starts_with(PREFIX) || PREFIX.starts_with(&buf[i..]))
        .unwrap_or(buf.len())
}

/// Say what the front of `buf` holds (see [`Decoded`]).
pub fn decode<'a>(buf: &'a [u8], limits: &Limits) -> Decoded<'a> {
    if buf.len() < PREFIX.len() {
        return if PREFIX.starts_with(buf) {
            Decoded::Incomplete
        } else {
            Decoded::Fatal(FrameError::NotFix)
        };
    }
    if !buf.starts_with(PREFIX) {
        return Decoded::Fatal(FrameError::NotFix);
    }
    // `9=<digits><SOH>`
    let rest = &buf[PREFIX.len()..];
    if rest.len() < 2 {
        return if b"9=".starts_with(rest) {
            Decoded::Incomplete
        } else {
            Decoded::Fatal(FrameError::BadBodyLength)
        };
    }
    if !rest.starts_with(b"9=") {
        return Decoded::Fatal(FrameError::BadBodyLength);
    }
    let digits = &rest[2..];
    let Some(end) = digits.iter().take(MAX_LENGTH_DIGITS + 1).position(|&b| b == SOH) else {
        return if digits.len() <= MAX_LENGTH_DIGITS && digits.iter().all(u8::is_ascii_digit) {
            Decoded::Incomplete
        } else {
            Decoded::Fatal(FrameError::BadBodyLength)
        };
    };
    let Some(body_len) = parse_u64(&digits[..end]).and_then(|n| usize::try_from(n).ok()) else {
        return Decoded::Fatal(FrameError::BadBodyLength);
    };
    let body_start = PREFIX.len() + 2 + end + 1;
    let declared = body_start.saturating_add(body_len).saturating_add(TRAILER_LEN);
    if declared > limits.max_message_bytes {
        return Decoded::Fatal(FrameError::TooLarge { declared, limit: limits.max_message_bytes });
    }
    if buf.len() < declared {
        return Decoded::Incomplete;
    }
    let body_end = body_start + body_len;
    let trailer = &buf[body_end..declared];
    let found = match trailer {
        [b'1', b'0', b'=', a, b, c, SOH] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            u32::from(a - b'0') * 100 + u32::from(b - b'0') * 10 + u32::from(c - b'0')
        }
        _ => return Decoded::Garbled(FrameError::MissingChecksum, resync(buf)),
    };
    let expected = checksum(&buf[..body_end]);
    if found != u32::from(expected) {
        let found = u8::try_from(found).unwrap_or(u8::MAX);
        return Decoded::Garbled(FrameError::BadChecksum { expected, found }, declared);
    }
    if body_len == 0 || buf[body_end - 1] != SOH {
        return Decoded::Garbled(FrameError::BadBodyLength, declared);
    }
    if !buf[body_start..].starts_with(b"35=") {
        return Decoded::Garbled(FrameError::NoMsgType, declared);
    }
    let (fields, problem) = split_fields(&buf[..declared], limits);
    Decoded::Message(Message { bytes: &buf[..declared], fields, problem }, declared)
}

/// The fields of a framed message, and the first problem found among them.
fn split_fields<'a>(bytes: &'a [u8], limits: &Limits) -> (Vec<(u32, &'a [u8])>, Option<FieldProblem>) {
    let mut fields = Vec::with_capacity(16);
    let mut problem = None;
    for raw in bytes.split(|&b| b == SOH) {
        if raw.is_empty() {
            continue; // after the final SOH
        }
        if fields.len() >= limits.max_fields {
            problem.get_or_insert(FieldProblem { tag: 0, reason: RejectReason::Other });
            break;
        }
        let Some(eq) = raw.iter().position(|&b| b == b'=') else {
            problem.get_or_insert(FieldProblem { tag: 0, reason: RejectReason::InvalidTag });
            continue;
        };
        let Some(tag) = parse_u64(&raw[..eq]).and_then(|t| u32::try_from(t).ok()).filter(|&t| t > 0) else {
            problem.get_or_insert(FieldProblem { tag: 0, reason: RejectReason::InvalidTag });
            continue;
        };
        let value = &raw[eq + 1..];
        if value.is_empty() {
            problem.get_or_insert(FieldProblem { tag, reason: RejectReason::TagWithoutValue });
        }
        fields.push((tag, value));
    }
    if problem.is_none() {
        // The standard header first: a header field after the first body field is out of
        // order (8, 9 and 35 are where they belong: `decode` checked them).
        let mut in_body = false;
        for &(tag, _) in fields.iter().skip(3) {
            let header = is_header_tag(tag);
            if header && in_body {
                problem = Some(FieldProblem { tag, reason: RejectReason::TagOutOfOrder });
                break;
            }
            in_body |= !header && tag != 10;
        }
    }
    (fields, problem)
}

/// A value [`MessageBuilder::field`] can write: written straight into the message (no
/// `fmt` machinery on the hot path of every report).
pub trait FixValue {
    /// Append the value's FIX text.
    fn write_to(&self, out: &mut Vec<u8>);
}

impl<T: FixValue + ?Sized> FixValue for &T {
    fn write_to(&self, out: &mut Vec<u8>) {
        (**self).write_to(out)
    }
}

impl FixValue for str {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes())
    }
}

impl FixValue for String {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes())
    }
}

impl FixValue for char {
    fn write_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(self.encode_utf8(&mut buf).as_bytes())
    }
}

macro_rules! unsigned_value {
    ($($t:ty),*) => {$(
        impl FixValue for $t {
            fn write_to(&self, out: &mut Vec<u8>) {
                write_uint(out, *self as u128)
            }
        }
    )*};
}
unsigned_value!(u8, u16, u32, u64, usize, u128);

macro_rules! signed_value {
    ($($t:ty),*) => {$(
        impl FixValue for $t {
            fn write_to(&self, out: &mut Vec<u8>) {
                if *self < 0 {
                    out.push(b'-');
                }
                write_uint(out, (*self as i128).unsigned_abs())
            }
        }
    )*};
}
signed_value!(i32, i64);

impl FixValue for lft_engine::Decimal {
    /// Plain decimal notation without trailing zeros (`100.5`, `0.25`, `3`).
    fn write_to(&self, out: &mut Vec<u8>) {
        let scale = self.scale() as usize;
        let mantissa = self.mantissa();
        if mantissa < 0 {
            out.push(b'-');
        }
        let start = out.len();
        write_uint(out, mantissa.unsigned_abs());
        if scale == 0 {
            return;
        }
        // Left-pad with zeros so there is a digit before the point.
        let digits = out.len() - start;
        if digits <= scale {
            let pad = scale + 1 - digits;
            out.splice(start..start, std::iter::repeat_n(b'0', pad));
        }
        let point = out.len() - scale;
        // Trailing zeros of the fraction go, and the point with them if nothing is left.
        let mut end = out.len();
        while end > point && out[end - 1] == b'0' {
            end -= 1;
        }
        out.truncate(end);
        if end > point {
            out.insert(point, b'.');
        }
    }
}

/// Decimal digits of `v`.
fn write_uint(out: &mut Vec<u8>, v: u128) {
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    if let Ok(mut small) = u64::try_from(v) {
        // The usual case, without 128-bit divisions.
        loop {
            i -= 1;
            buf[i] = b'0' + (small % 10) as u8;
            small /= 10;
            if small == 0 {
                break;
            }
        }
        out.extend_from_slice(&buf[i..]);
        return;
    }
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// The tags of FIX 4.4's standard header after BeginString, BodyLength and MsgType
/// (NoHops 627 and its group's fields included).
pub const HEADER_TAGS: [u32; 27] = [
    49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144, 129, 145, 43, 97, 52, 122, 212, 213, 347, 369,
    627, 628, 629, 630,
];

/// Whether `tag` is one of [`HEADER_TAGS`].
pub fn is_header_tag(tag: u32) -> bool {
    matches!(
        tag,
        49 | 56
            | 115
            | 128
            | 90
            | 91
            | 34
            | 50
            | 142
            | 57
            | 143
            | 116
            | 144
            | 129
            | 145
            | 43
            | 97
            | 52
            | 122
            | 212
            | 213
            | 347
            | 369
            | 627
            | 628
            | 629
            | 630
    )
}

/// Builds one outgoing message: the body fields in order, then [`MessageBuilder::finish`]
/// adds BeginString, BodyLength and CheckSum.
#[derive(Clone, Debug)]
pub struct MessageBuilder {
    body: Vec<u8>,
}

impl MessageBuilder {
    /// A message of type `msg_type` (its first body field, 35).
    pub fn new(msg_type: &str) -> Self {
        let mut b = MessageBuilder { body: Vec::with_capacity(256) };
        b.field(35, msg_type);
        b
    }

    /// Append `tag=value`. The value must not contain SOH (FIX has no escaping); a value
    /// that does is cut at its first SOH, so a message can never be smuggled inside another.
    pub fn field(&mut self, tag: u32, value: impl FixValue) -> &mut Self {
        let start = self.body.len();
        write_uint(&mut self.body, u128::from(tag));
        self.body.push(b'=');
        let value_start = self.body.len();
        value.write_to(&mut self.body);
        if let Some(cut) = self.body[value_start..].iter().position(|&b| b == SOH) {
            self.body.truncate(value_start + cut);
        }
        if self.body.len() == value_start {
            // No value: no field (FIX forbids empty values).
            self.body.truncate(start);
            return self;
        }
        self.body.push(SOH);
        self
    }

    /// The whole message: `8=FIX.4.4`, `9=` the body's length, the body, `10=` its checksum.
    pub fn finish(&self) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::with_capacity(self.body.len() + 32);
        out.extend_from_slice(PREFIX);
        let _ = write!(out, "9={}\x01", self.body.len());
        out.extend_from_slice(&self.body);
        let sum = checksum(&out);
        let _ = write!(out, "10={sum:03}\x01");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_fix_text() {
        let text = |v: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            v(&mut out);
            String::from_utf8(out).unwrap()
        };
        use lft_engine::Decimal;
        for (d, want) in [
            (Decimal::new(1005, 1), "100.5"),
            (Decimal::new(25, 2), "0.25"),
            (Decimal::new(3, 0), "3"),
            (Decimal::new(3000, 3), "3"),
            (Decimal::new(0, 4), "0"),
            (Decimal::new(-15, 3), "-0.015"),
            (Decimal::new(7, 28), "0.0000000000000000000000000007"),
            (Decimal::MAX, "79228162514264337593543950335"),
        ] {
            assert_eq!(text(&|o| d.write_to(o)), want);
            assert_eq!(want, d.normalize().to_string());
        }
        assert_eq!(text(&|o| u128::MAX.write_to(o)), u128::MAX.to_string());
        assert_eq!(text(&|o| 0u64.write_to(o)), "0");
        assert_eq!(text(&|o| (-42i64).write_to(o)), "-42");
        assert_eq!(text(&|o| i64::MIN.write_to(o)), i64::MIN.to_string());
        assert_eq!(text(&|o| 'Y'.write_to(o)), "Y");
    }

    fn heartbeat() -> Vec<u8> {
        MessageBuilder::new("0")
            .field(49, "CLIENT")
            .field(56, "LFT")
            .field(34, 2)
            .field(52, "20261202-10:00:00.000")
            .finish()
    }

    #[test]
    fn an_encoded_message_decodes_to_its_fields_with_length_and_checksum_right() {
        let bytes = heartbeat();
        let Decoded::Message(m, used) = decode(&bytes, &Limits::default()) else { panic!("{bytes:?}") };
        assert_eq!(used, bytes.len());
        assert_eq!(m.problem, None);
        assert_eq!(m.msg_type(), Some(&b"0"[..]));
        assert_eq!(m.seq_num(), Ok(Some(2)));
        assert_eq!(m.get_str(49), Some("CLIENT"));
        let tags: Vec<u32> = m.fields.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, [8, 9, 35, 49, 56, 34, 52, 10]);
    }

    #[test]
    fn a_known_message_has_the_checksum_of_the_fix_specification() {
        // The classic example: 8=FIX.4.4|9=5|35=0|10=? with the sum computed by hand.
        let m = MessageBuilder::new("0").finish();
        let head = b"8=FIX.4.4\x019=5\x0135=0\x01";
        assert!(m.starts_with(head));
        let sum: u32 = head.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(&m[head.len()..], format!("10={:03}\x01", sum % 256).as_bytes());
    }

    #[test]
    fn every_prefix_is_incomplete_and_the_whole_is_a_message() {
        let bytes = heartbeat();
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], &Limits::default()), Decoded::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn a_wrong_checksum_is_garbled_and_skips_exactly_the_message() {
        let mut bytes = heartbeat();
        let n = bytes.len();
        bytes[n - 2] = if bytes[n - 2] == b'9' { b'0' } else { b'9' };
        let mut stream = bytes.clone();
        stream.extend(heartbeat());
        match decode(&stream, &Limits::default()) {
            Decoded::Garbled(FrameError::BadChecksum { .. }, skip) => assert_eq!(skip, n),
            other => panic!("{other:?}"),
        }
        assert!(matches!(decode(&stream[n..], &Limits::default()), Decoded::Message(..)));
    }

    #[test]
    fn a_length_over_the_limit_is_fatal_before_anything_is_buffered() {
        let header = b"8=FIX.4.4\x019=10000000\x01";
        match decode(header, &Limits::default()) {
            Decoded::Fatal(FrameError::TooLarge { declared, limit }) => {
                assert!(declared > 10_000_000 && limit == 65_536)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_not_fix() {
        assert_eq!(decode(b"GET / HTTP/1.1\r\n", &Limits::default()), Decoded::Fatal(FrameError::NotFix));
        assert_eq!(decode(b"8=FIX.4.2\x019=5\x01", &Limits::default()), Decoded::Fatal(FrameError::NotFix));
        assert_eq!(
            decode(b"8=FIX.4.4\x019=x\x01", &Limits::default()),
            Decoded::Fatal(FrameError::BadBodyLength)
        );
        assert_eq!(
            decode(b"8=FIX.4.4\x0135=0\x01", &Limits::default()),
            Decoded::Fatal(FrameError::BadBodyLength)
        );
    }

    #[test]
    fn field_problems_name_the_tag_and_keep_the_message() {
        let cases: [(&[u8], FieldProblem); 4] = [
            (b"35=D\x0111=\x01", FieldProblem { tag: 11, reason: RejectReason::TagWithoutValue }),
            (b"35=D\x01x1=a\x01", FieldProblem { tag: 0, reason: RejectReason::InvalidTag }),
            (b"35=D\x01novalue\x01", FieldProblem { tag: 0, reason: RejectReason::InvalidTag }),
            (b"35=D\x0111=a\x0134=2\x01", FieldProblem { tag: 34, reason: RejectReason::TagOutOfOrder }),
        ];
        for (body, want) in cases {
            let mut bytes = format!("8=FIX.4.4\x019={}\x01", body.len()).into_bytes();
            bytes.extend_from_slice(body);
            let sum = checksum(&bytes);
            bytes.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
            let Decoded::Message(m, _) = decode(&bytes, &Limits::default()) else { panic!("{bytes:?}") };
            assert_eq!(m.problem, Some(want), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn the_header_tag_list_and_its_test_agree() {
        assert!(HEADER_TAGS.iter().all(|&t| is_header_tag(t)));
        assert_eq!((1..100_000).filter(|&t| is_header_tag(t)).count(), HEADER_TAGS.len());
    }

    #[test]
    fn a_message_whose_third_field_is_not_msg_type_is_garbled() {
        let body = b"49=A\x0135=D\x01";
        let mut bytes = format!("8=FIX.4.4\x019={}\x01", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        let sum = checksum(&bytes);
        bytes.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        assert_eq!(decode(&bytes, &Limits::default()), Decoded::Garbled(FrameError::NoMsgType, bytes.len()));
    }

    #[test]
    fn too_many_fields_is_a_problem_not_a_crash() {
        let mut b = MessageBuilder::new("D");
        for i in 0..600 {
            b.field(5000 + i, "x");
        }
        let bytes = b.finish();
        let Decoded::Message(m, _) = decode(&bytes, &Limits::default()) else { panic!() };
        assert_eq!(m.problem, Some(FieldProblem { tag: 0, reason: RejectReason::Other }));
        assert_eq!(m.fields.len(), 512);
    }

    #[test]
    fn a_repeated_tag_is_found_unless_it_belongs_to_a_group() {
        let bytes = MessageBuilder::new("V").field(267, 2).field(269, 0).field(269, 1).finish();
        let Decoded::Message(m, _) = decode(&bytes, &Limits::default()) else { panic!() };
        assert_eq!(m.repeated_tag(&[]), Some(269));
        assert_eq!(m.repeated_tag(&[269]), None);
    }

    #[test]
    fn a_value_cannot_smuggle_a_second_message() {
        let bytes = MessageBuilder::new("8").field(58, "text\x0110=000\x01").finish();
        let Decoded::Message(m, used) = decode(&bytes, &Limits::default()) else { panic!() };
        assert_eq!((m.get_str(58), used), (Some("text"), bytes.len()));
    }
}
