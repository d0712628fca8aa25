//! Compact binary stream: a 16-byte header (`LFTW`, version, count) then 40-byte records.

use std::io::{self, Read, Write};

use crate::Record;

/// File magic.
pub const MAGIC: &[u8; 4] = b"LFTW";
/// Header size in bytes.
pub const HEADER_LEN: usize = 16;
/// Record size in bytes.
pub const RECORD_LEN: usize = 40;
const VERSION: u32 = 1;

/// Why a stream could not be read.
#[derive(Debug)]
pub enum FormatError {
    /// Underlying I/O failure.
    Io(io::Error),
    /// Not a stream file, or a version this code does not read.
    BadHeader(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Io(e) => write!(f, "I/O error: {e}"),
            FormatError::BadHeader(m) => write!(f, "not a workload stream: {m}"),
        }
    }
}

impl std::error::Error for FormatError {}

impl From<io::Error> for FormatError {
    fn from(e: io::Error) -> Self {
        FormatError::Io(e)
    }
}

fn encode(r: &Record, out: &mut [u8]) {
    out[0] = r.kind;
    out[1] = r.side;
    out[2] = r.tif;
    out[3] = r.flags;
    out[4..6].copy_from_slice(&r.symbol.to_le_bytes());
    out[6..8].copy_from_slice(&r.reserved.to_le_bytes());
    out[8..16].copy_from_slice(&r.order_id.to_le_bytes());
    out[16..24].copy_from_slice(&r.price.to_le_bytes());
    out[24..32].copy_from_slice(&r.quantity.to_le_bytes());
    out[32..40].copy_from_slice(&r.timestamp.to_le_bytes());
}

fn decode(b: &[u8]) -> Record {
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    Record {
        kind: b[0],
        side: b[1],
        tif: b[2],
        flags: b[3],
        symbol: u16::from_le_bytes([b[4], b[5]]),
        reserved: u16::from_le_bytes([b[6], b[7]]),
        order_id: u64_at(8),
        price: u64_at(16) as i64,
        quantity: u64_at(24) as i64,
        timestamp: u64_at(32) as i64,
    }
}

/// Write a whole stream.
pub fn write_stream(w: &mut impl Write, records: &[Record]) -> io::Result<()> {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(MAGIC);
    header[4..8].copy_from_slice(&VERSION.to_le_bytes());
    header[8..16].copy_from_slice(&(records.len() as u64).to_le_bytes());
    w.write_all(&header)?;
    let mut buf = vec![0u8; RECORD_LEN * 4096];
    for chunk in records.chunks(4096) {
        for (r, out) in chunk.iter().zip(buf.chunks_mut(RECORD_LEN)) {
            encode(r, out);
        }
        w.write_all(&buf[..chunk.len() * RECORD_LEN])?;
    }
    Ok(())
}

/// Read a whole stream.
pub fn read_stream(r: &mut impl Read) -> Result<Vec<Record>, FormatError> {
    let mut header = [0u8; HEADER_LEN];
    r.read_exact(&mut header)?;
    if &header[..4] != MAGIC {
        return Err(FormatError::BadHeader("missing LFTW magic".into()));
    }
    let version = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(FormatError::BadHeader(format!("version {version}, expected {VERSION}")));
    }
    let count = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")) as usize;
    let mut body = Vec::new();
    r.read_to_end(&mut body)?;
    if body.len() != count * RECORD_LEN {
        return Err(FormatError::BadHeader(format!(
            "header says {count} records but {} bytes follow",
            body.len()
        )));
    }
    Ok(body.chunks_exact(RECORD_LEN).map(decode).collect())
}
