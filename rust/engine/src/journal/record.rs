//! Journal records: one framed, checksummed record per command a worker took from its
//! queue, in the order it ran, with the timestamp it ran at. `docs/journal-format.md`
//! describes the bytes; this file is the one encoder and decoder of them.
//!
//! A frame is `u32 body length | u32 CRC32C of the body | body`, the body being
//! `u64 stream sequence | u32 symbol | u64 command sequence | i64 timestamp | u8 kind | ...`.
//! The worker encodes frames with a zero stream sequence and CRC (the cheapest possible
//! work on the matching thread); the journal thread stamps both before it writes them.

use crate::book::BatchInput;
use crate::command::{Command, Modify, NewOrder};
use crate::error::{EngineError, EngineResult};
use crate::system::{OwnedBatch, Request};
use crate::types::{OrderId, OrderType, Side, TimeInForce, Timestamp};

/// Bytes of the frame header (length and CRC32C).
pub const FRAME_HEADER: usize = 8;
/// Bytes of the fixed part of a body (stream sequence .. kind).
pub const BODY_FIXED: usize = 8 + 4 + 8 + 8 + 1;
/// Largest body a reader accepts (a batch of about 2.5M rows); anything longer is corrupt.
pub const MAX_BODY: usize = 64 << 20;

/// The kind byte of each record.
mod kind {
    pub(super) const NEW: u8 = 1;
    pub(super) const CANCEL: u8 = 2;
    pub(super) const MODIFY: u8 = 3;
    pub(super) const EXPIRE: u8 = 4;
    pub(super) const END_OF_DAY: u8 = 5;
    pub(super) const BATCH: u8 = 6;
    pub(super) const HALTED: u8 = 7;
    pub(super) const CLOSE_PERIODS: u8 = 8;
}

/// What a record says the worker ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Journaled {
    /// A single-book command (its timestamp is the one it ran with).
    Command(Command),
    /// A columnar batch of new orders, matched as one command.
    Batch(OwnedBatch),
    /// A statistics period-close tick (changes no book).
    ClosePeriods {
        /// The time it ran at.
        now: Timestamp,
    },
    /// A command that took a sequence number and then halted the symbol (a worker
    /// failure): it changed nothing that survives, and replays as nothing.
    Halted,
}

impl Journaled {
    /// A short readable form for `trading-system journal dump`.
    pub fn describe(&self) -> String {
        match self {
            Journaled::Command(Command::New(o)) => format!(
                "NEW id={} {:?} {:?} {} price={} qty={}{}{}{}",
                crate::format_id(o.id),
                o.side,
                o.order_type,
                o.time_in_force,
                o.price.map_or("-".into(), |p| p.to_string()),
                o.quantity,
                o.expire_time.map_or(String::new(), |e| format!(" expire={e}")),
                if o.post_only { " post_only" } else { "" },
                o.display_quantity.map_or(String::new(), |d| format!(" display={d}")),
            ),
            Journaled::Command(Command::Cancel { id, .. }) => format!("CANCEL id={}", crate::format_id(*id)),
            Journaled::Command(Command::Modify(m)) => format!(
                "MODIFY id={} qty={} price={}",
                crate::format_id(m.id),
                m.quantity.map_or("-".into(), |q| q.to_string()),
                m.price.map_or("-".into(), |p| p.to_string())
            ),
            Journaled::Command(Command::Expire { .. }) => "EXPIRE".into(),
            Journaled::Command(Command::EndOfDay { .. }) => "END_OF_DAY".into(),
            Journaled::Batch(b) => format!("BATCH rows={}", b.side.len()),
            Journaled::Halted => "HALTED (a worker failure; replays as nothing)".into(),
            Journaled::ClosePeriods { .. } => "CLOSE_PERIODS (statistics tick)".into(),
        }
    }
}

/// One decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Position in its worker's stream: 1, 2, 3, ... across that stream's segments.
    pub stream_sequence: u64,
    /// Index of the symbol in the segment's symbol table.
    pub symbol: u32,
    /// The symbol's command sequence number the worker gave the command.
    pub command_sequence: u64,
    /// The timestamp the command ran with.
    pub timestamp: Timestamp,
    /// What ran.
    pub what: Journaled,
}

/// Append one frame (stream sequence and CRC left zero: see [`seal_frames`]).
pub(crate) fn encode_request(out: &mut Vec<u8>, symbol: u32, command_sequence: u64, request: &Request) {
    let (timestamp, k) = match request {
        Request::New(o) => (o.timestamp, kind::NEW),
        Request::Cancel { timestamp, .. } => (*timestamp, kind::CANCEL),
        Request::Modify(m) => (m.timestamp, kind::MODIFY),
        Request::Expire { now } => (*now, kind::EXPIRE),
        Request::EndOfDay { now } => (*now, kind::END_OF_DAY),
        Request::Batch(b) => (b.timestamp, kind::BATCH),
        Request::ClosePeriods { now } => (*now, kind::CLOSE_PERIODS),
        // Not commands (never journaled as such): a panic-injection test command that
        // halts its symbol is recorded as `HALTED` by `encode_halted`.
        Request::Commands(_)
        | Request::StateHash
        | Request::Depth { .. }
        | Request::Snapshot
        | Request::InjectPanic => (request.timestamp(), kind::HALTED),
    };
    let start = begin(out, symbol, command_sequence, timestamp, k);
    match request {
        Request::New(o) => {
            put_u128(out, o.id);
            let flags = o.price.is_some() as u8
                | (o.expire_time.is_some() as u8) << 1
                | (o.post_only as u8) << 2
                | (o.display_quantity.is_some() as u8) << 3;
            out.extend_from_slice(&[o.side as u8, o.order_type as u8, o.time_in_force as u8, flags]);
            put_i64(out, o.price.unwrap_or(0));
            put_i64(out, o.quantity);
            put_i64(out, o.expire_time.unwrap_or(0));
            put_i64(out, o.display_quantity.unwrap_or(0));
        }
        Request::Cancel { id, .. } => put_u128(out, *id),
        Request::Modify(m) => {
            put_u128(out, m.id);
            out.push(m.quantity.is_some() as u8 | (m.price.is_some() as u8) << 1);
            put_i64(out, m.quantity.unwrap_or(0));
            put_i64(out, m.price.unwrap_or(0));
        }
        Request::Batch(b) => encode_batch(out, &b.as_input()),
        _ => {}
    }
    finish(out, start);
}

/// Append a `HALTED` frame: the command took `command_sequence` and halted the symbol.
pub(crate) fn encode_halted(out: &mut Vec<u8>, symbol: u32, command_sequence: u64, timestamp: Timestamp) {
    let start = begin(out, symbol, command_sequence, timestamp, kind::HALTED);
    finish(out, start);
}

fn encode_batch(out: &mut Vec<u8>, b: &BatchInput<'_>) {
    let n = b.side.len();
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.push(b.time_in_force.is_some() as u8 | (b.order_id.is_some() as u8) << 1);
    out.extend(b.side.iter().map(|&s| s as u8));
    b.price.iter().for_each(|&p| put_i64(out, p));
    b.quantity.iter().for_each(|&q| put_i64(out, q));
    if let Some(t) = b.time_in_force {
        out.extend_from_slice(t);
    }
    if let Some(ids) = b.order_id {
        ids.iter().for_each(|&i| out.extend_from_slice(&i.to_le_bytes()));
    }
}

fn begin(out: &mut Vec<u8>, symbol: u32, command_sequence: u64, timestamp: Timestamp, k: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER]);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&symbol.to_le_bytes());
    out.extend_from_slice(&command_sequence.to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.push(k);
    start
}

fn finish(out: &mut [u8], start: usize) {
    let len = (out.len() - start - FRAME_HEADER) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u128(out: &mut Vec<u8>, v: u128) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Give each frame of `frames` (as built by the encoders) its stream sequence, starting at
/// `next`, and its CRC32C. Returns the number of frames. Runs on the journal thread.
pub(crate) fn seal_frames(frames: &mut [u8], mut next: u64) -> u64 {
    let mut at = 0;
    let mut count = 0;
    while at + FRAME_HEADER <= frames.len() {
        let len = u32::from_le_bytes(frames[at..at + 4].try_into().expect("4 bytes")) as usize;
        let body = at + FRAME_HEADER..at + FRAME_HEADER + len;
        frames[body.start..body.start + 8].copy_from_slice(&next.to_le_bytes());
        let crc = crc32c::crc32c(&frames[body.clone()]);
        frames[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        next += 1;
        count += 1;
        at = body.end;
    }
    count
}

/// Call `f(symbol, command_sequence)` for each frame of a buffer of whole frames.
pub(crate) fn for_each_frame(frames: &[u8], mut f: impl FnMut(u32, u64)) {
    let mut at = 0;
    while at + FRAME_HEADER <= frames.len() {
        let len = u32::from_le_bytes(frames[at..at + 4].try_into().expect("4 bytes")) as usize;
        let body = at + FRAME_HEADER;
        let symbol = u32::from_le_bytes(frames[body + 8..body + 12].try_into().expect("4 bytes"));
        let seq = u64::from_le_bytes(frames[body + 12..body + 20].try_into().expect("8 bytes"));
        f(symbol, seq);
        at = body + len;
    }
}

/// The number of frames in a buffer of whole frames.
pub(crate) fn frame_count(frames: &[u8]) -> u64 {
    let mut n = 0;
    for_each_frame(frames, |_, _| n += 1);
    n
}

/// Why a frame could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes end inside the frame: an append the process did not finish (a torn tail).
    Truncated,
    /// The frame is complete but wrong (CRC32C, length, or content); the text says what.
    Corrupt(String),
}

/// Read the frame at the start of `bytes`: the record and the frame's length in bytes.
pub fn decode_frame(bytes: &[u8]) -> Result<(Record, usize), FrameError> {
    if bytes.len() < FRAME_HEADER {
        return Err(FrameError::Truncated);
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if !(BODY_FIXED..=MAX_BODY).contains(&len) {
        // A length no encoder writes: a torn header (zeros) at the end, or damage.
        return Err(if bytes.len() < FRAME_HEADER + BODY_FIXED || bytes[..8].iter().all(|&b| b == 0) {
            FrameError::Truncated
        } else {
            FrameError::Corrupt(format!("frame length {len} is outside {BODY_FIXED}..={MAX_BODY}"))
        });
    }
    let Some(body) = bytes.get(FRAME_HEADER..FRAME_HEADER + len) else {
        return Err(FrameError::Truncated);
    };
    let actual = crc32c::crc32c(body);
    if actual != crc {
        return Err(FrameError::Corrupt(format!(
            "CRC32C mismatch (stored {crc:#010x}, computed {actual:#010x})"
        )));
    }
    let record = decode_body(body).map_err(FrameError::Corrupt)?;
    Ok((record, FRAME_HEADER + len))
}

/// A bounds-checked little-endian reader over one body.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!("record body ends at byte {} reading {n} more", self.bytes.len()));
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(self.u64()? as i64)
    }
    fn u128(&mut self) -> Result<u128, String> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into().expect("16 bytes")))
    }
}

fn decode_body(body: &[u8]) -> Result<Record, String> {
    let mut c = Cursor { bytes: body, at: 0 };
    let stream_sequence = c.u64()?;
    let symbol = c.u32()?;
    let command_sequence = c.u64()?;
    let timestamp = c.i64()?;
    let k = c.u8()?;
    let what = match k {
        kind::NEW => {
            let id: OrderId = c.u128()?;
            let side = Side::from_code(c.u8()?).ok_or("side code must be 0 or 1")?;
            let order_type = match c.u8()? {
                0 => OrderType::Limit,
                1 => OrderType::Market,
                t => return Err(format!("order type code {t} is unknown")),
            };
            let tif = c.u8()?;
            let time_in_force =
                TimeInForce::from_code(tif).ok_or(format!("time-in-force code {tif} is unknown"))?;
            let flags = c.u8()?;
            if flags >> 4 != 0 {
                return Err(format!("new-order flags {flags:#x} has unknown bits"));
            }
            let (price, quantity, expire, display) = (c.i64()?, c.i64()?, c.i64()?, c.i64()?);
            Journaled::Command(Command::New(NewOrder {
                id,
                side,
                order_type,
                price: (flags & 1 != 0).then_some(price),
                quantity,
                time_in_force,
                expire_time: (flags & 2 != 0).then_some(expire),
                post_only: flags & 4 != 0,
                display_quantity: (flags & 8 != 0).then_some(display),
                timestamp,
            }))
        }
        kind::CANCEL => Journaled::Command(Command::Cancel { id: c.u128()?, timestamp }),
        kind::MODIFY => {
            let id = c.u128()?;
            let flags = c.u8()?;
            if flags >> 2 != 0 {
                return Err(format!("modify flags {flags:#x} has unknown bits"));
            }
            let (q, p) = (c.i64()?, c.i64()?);
            Journaled::Command(Command::Modify(Modify {
                id,
                quantity: (flags & 1 != 0).then_some(q),
                price: (flags & 2 != 0).then_some(p),
                timestamp,
            }))
        }
        kind::EXPIRE => Journaled::Command(Command::Expire { now: timestamp }),
        kind::END_OF_DAY => Journaled::Command(Command::EndOfDay { now: timestamp }),
        kind::BATCH => {
            let n = c.u32()? as usize;
            let flags = c.u8()?;
            if flags >> 2 != 0 {
                return Err(format!("batch flags {flags:#x} has unknown bits"));
            }
            // Every row takes at least 17 bytes: check before allocating anything for it.
            if n.saturating_mul(17) > body.len() {
                return Err(format!("batch of {n} rows does not fit a {}-byte record", body.len()));
            }
            let side = c.take(n)?.iter().map(|&s| s as i8).collect();
            let price = (0..n).map(|_| c.i64()).collect::<Result<_, _>>()?;
            let quantity = (0..n).map(|_| c.i64()).collect::<Result<_, _>>()?;
            let time_in_force = if flags & 1 != 0 { Some(c.take(n)?.to_vec()) } else { None };
            let order_id =
                if flags & 2 != 0 { Some((0..n).map(|_| c.u64()).collect::<Result<_, _>>()?) } else { None };
            Journaled::Batch(OwnedBatch { side, price, quantity, time_in_force, order_id, timestamp })
        }
        kind::HALTED => Journaled::Halted,
        kind::CLOSE_PERIODS => Journaled::ClosePeriods { now: timestamp },
        k => return Err(format!("record kind {k} is unknown")),
    };
    if c.at != body.len() {
        return Err(format!("record has {} bytes after its last field", body.len() - c.at));
    }
    Ok(Record { stream_sequence, symbol, command_sequence, timestamp, what })
}

impl Journaled {
    /// The request that replays this record, by value (`None` for [`Journaled::Halted`]).
    pub fn into_request(self) -> Option<Request> {
        match self {
            Journaled::Command(c) => Some(c.into()),
            Journaled::Batch(b) => Some(Request::Batch(b)),
            Journaled::ClosePeriods { now } => Some(Request::ClosePeriods { now }),
            Journaled::Halted => None,
        }
    }

    /// The request that replays this record (`None` for [`Journaled::Halted`]).
    pub fn to_request(&self) -> Option<Request> {
        match self {
            Journaled::Command(c) => Some((*c).into()),
            Journaled::Batch(b) => Some(Request::Batch(b.clone())),
            Journaled::ClosePeriods { now } => Some(Request::ClosePeriods { now: *now }),
            Journaled::Halted => None,
        }
    }
}

/// An error naming a file and a byte offset.
pub(crate) fn corrupt_at(path: &std::path::Path, offset: u64, why: &str) -> EngineError {
    EngineError::CorruptData(format!("{}: at byte {offset}: {why}", path.display()))
}

/// Decode a whole buffer of sealed frames (tests and tools).
pub fn decode_all(mut bytes: &[u8]) -> EngineResult<Vec<Record>> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while !bytes.is_empty() {
        let (r, n) =
            decode_frame(bytes).map_err(|e| EngineError::CorruptData(format!("at byte {offset}: {e:?}")))?;
        out.push(r);
        bytes = &bytes[n..];
        offset += n;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests() -> Vec<Request> {
        let mut gtd = NewOrder::limit(7, Side::Sell, 101, 5, 10).with_tif(TimeInForce::Gtd);
        gtd.expire_time = Some(99);
        gtd.post_only = true;
        gtd.display_quantity = Some(2);
        vec![
            Request::New(NewOrder::limit(u128::MAX, Side::Buy, 100, 3, 1)),
            Request::New(NewOrder::market(3, Side::Sell, 9, 2)),
            Request::New(gtd),
            Request::Cancel { id: 42, timestamp: 3 },
            Request::Modify(Modify { id: 5, quantity: Some(2), price: None, timestamp: 4 }),
            Request::Modify(Modify { id: 5, quantity: None, price: Some(77), timestamp: 4 }),
            Request::Expire { now: 5 },
            Request::EndOfDay { now: 6 },
            Request::Batch(OwnedBatch {
                side: vec![0, 1],
                price: vec![10, 0],
                quantity: vec![1, 2],
                time_in_force: Some(vec![0, 1]),
                order_id: Some(vec![11, 12]),
                timestamp: 8,
            }),
            Request::Batch(OwnedBatch {
                side: vec![1],
                price: vec![3],
                quantity: vec![4],
                timestamp: 9,
                ..Default::default()
            }),
        ]
    }

    #[test]
    fn every_request_kind_round_trips() {
        let mut buf = Vec::new();
        for (i, r) in requests().iter().enumerate() {
            encode_request(&mut buf, i as u32, 100 + i as u64, r);
        }
        encode_halted(&mut buf, 9, 200, 77);
        assert_eq!(seal_frames(&mut buf, 5), requests().len() as u64 + 1);
        let recs = decode_all(&buf).unwrap();
        for (i, (rec, req)) in recs.iter().zip(requests()).enumerate() {
            assert_eq!(rec.stream_sequence, 5 + i as u64);
            assert_eq!(rec.symbol, i as u32);
            assert_eq!(rec.command_sequence, 100 + i as u64);
            assert_eq!(rec.timestamp, req.timestamp());
            assert_eq!(format!("{:?}", rec.what.to_request().unwrap()), format!("{req:?}"));
        }
        assert_eq!(recs.last().unwrap().what, Journaled::Halted);
    }

    #[test]
    fn every_truncation_and_byte_flip_is_an_error_never_a_panic() {
        let mut buf = Vec::new();
        for r in requests() {
            encode_request(&mut buf, 0, 1, &r);
        }
        seal_frames(&mut buf, 1);
        let first = decode_frame(&buf).unwrap().1;
        for cut in 0..first {
            assert!(decode_frame(&buf[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x41;
            // Either the flipped frame fails, or (a flip in a later frame) the first still reads.
            let _ = decode_all(&bad).expect_err("a flip is always detected somewhere");
        }
    }
}
