//! Snapshot files: one book's image at a command sequence number.
//!
//! Layout (little-endian; `docs/journal-format.md`): magic `LFTSNAP\0`, u16 version, u16
//! flags (bit 0: LZ4-compressed image), u64 command sequence, i64 last command timestamp,
//! u64 state hash, u64 image length, u64 stored length, the stored image bytes, u32
//! CRC32C of everything before it. The image itself (`BookImage`, with its own header,
//! symbol config and CRC) is described in `docs/snapshot-format.md`.
//!
//! Files are named `{symbol, escaped}@{command sequence, 20 digits}.lfts`, written to a
//! temporary name, synced, renamed into place and the directory synced: a crash leaves
//! either the old set of snapshots or the new one, never a half-written file under a real
//! name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::segment::{io_error, sync_dir};
use crate::book::BookImage;
use crate::error::{EngineError, EngineResult};
use crate::types::Timestamp;

/// First bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"LFTSNAP\0";
/// The snapshot file version this build writes and reads.
pub const SNAPSHOT_VERSION: u16 = 1;
/// File name suffix.
pub const SNAPSHOT_SUFFIX: &str = ".lfts";
const HEADER: usize = 8 + 2 + 2 + 8 + 8 + 8 + 8 + 8;

/// A decoded snapshot file.
#[derive(Clone, Debug)]
pub struct SnapshotFile {
    /// The command sequence number of the last command the image includes.
    pub command_sequence: u64,
    /// The timestamp of that command (the worker's clock resumes from it).
    pub last_time: Timestamp,
    /// The book's state hash at capture.
    pub state_hash: u64,
    /// The book.
    pub image: BookImage,
}

/// A symbol name as a file-name part: ASCII letters, digits, `.`, `_` and `-` as they are,
/// every other byte as `%XX`.
pub fn escape_symbol(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The file name of `symbol`'s snapshot at `command_sequence`.
pub fn file_name(symbol: &str, command_sequence: u64) -> String {
    format!("{}@{command_sequence:020}{SNAPSHOT_SUFFIX}", escape_symbol(symbol))
}

/// `symbol`'s snapshots in `dir`, oldest first, as (command sequence, path).
pub fn list(dir: &Path, symbol: &str) -> EngineResult<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("cannot list snapshot directory", dir, e)),
    };
    let prefix = format!("{}@", escape_symbol(symbol));
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("cannot list snapshot directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let seq = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(SNAPSHOT_SUFFIX))
            .and_then(|d| (d.len() == 20).then(|| d.parse::<u64>().ok()).flatten());
        if let Some(seq) = seq {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Encode a snapshot file's bytes.
pub fn encode(command_sequence: u64, last_time: Timestamp, image: &BookImage, compress: bool) -> Vec<u8> {
    let raw = image.encode();
    let stored = if compress { lz4_flex::block::compress(&raw) } else { raw.clone() };
    let mut out = Vec::with_capacity(HEADER + stored.len() + 4);
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&(compress as u16).to_le_bytes());
    out.extend_from_slice(&command_sequence.to_le_bytes());
    out.extend_from_slice(&last_time.to_le_bytes());
    out.extend_from_slice(&image.state_hash().to_le_bytes());
    out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    out.extend_from_slice(&(stored.len() as u64).to_le_bytes());
    out.extend_from_slice(&stored);
    out.extend_from_slice(&crc32c::crc32c(&out).to_le_bytes());
    out
}

/// Decode a snapshot file's bytes; errors name `path` and the byte offset.
pub fn decode(bytes: &[u8], path: &Path) -> EngineResult<SnapshotFile> {
    let bad = |offset: usize, why: &str| super::record::corrupt_at(path, offset as u64, why);
    if bytes.len() < HEADER + 4 {
        return Err(bad(0, &format!("snapshot truncated ({} bytes)", bytes.len())));
    }
    if &bytes[..8] != SNAPSHOT_MAGIC {
        return Err(bad(0, "not a snapshot file (bad magic)"));
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u16_at(8);
    if version != SNAPSHOT_VERSION {
        return Err(bad(
            8,
            &format!("unsupported snapshot version {version} (this build reads {SNAPSHOT_VERSION})"),
        ));
    }
    let flags = u16_at(10);
    if flags > 1 {
        return Err(bad(10, &format!("unknown snapshot flags {flags:#x}")));
    }
    let (command_sequence, last_time, state_hash) = (u64_at(12), u64_at(20) as i64, u64_at(28));
    let (raw_len, stored_len) = (u64_at(36), u64_at(44));
    // Checked: the stored length is read from the file and may be anything.
    let fits = (HEADER as u64).checked_add(stored_len).and_then(|e| e.checked_add(4));
    if fits != Some(bytes.len() as u64) {
        return Err(bad(
            44,
            &format!("stored length {stored_len} does not match the file's {} bytes", bytes.len()),
        ));
    }
    let end = HEADER + stored_len as usize;
    let stored_crc = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..end]) != stored_crc {
        return Err(bad(end, "snapshot CRC32C mismatch"));
    }
    let stored = &bytes[HEADER..end];
    let raw = if flags & 1 != 0 {
        // Bounded: an image is never more than 255x its LZ4 form, and the CRC matched.
        if raw_len > (stored_len.saturating_mul(255)).max(1 << 20) {
            return Err(bad(
                36,
                &format!("image length {raw_len} is implausible for {stored_len} stored bytes"),
            ));
        }
        lz4_flex::block::decompress(stored, raw_len as usize)
            .map_err(|e| bad(HEADER, &format!("LZ4 data does not decompress: {e}")))?
    } else {
        stored.to_vec()
    };
    let image = BookImage::decode(&raw).map_err(|e| bad(HEADER, &e.to_string()))?;
    if image.state_hash() != state_hash {
        return Err(bad(28, "the state hash in the header differs from the image's"));
    }
    Ok(SnapshotFile { command_sequence, last_time, state_hash, image })
}

/// Read and decode one snapshot file.
pub fn read(path: &Path) -> EngineResult<SnapshotFile> {
    let bytes = std::fs::read(path).map_err(|e| io_error("cannot read snapshot", path, e))?;
    decode(&bytes, path)
}

/// Write a snapshot durably: temporary file, fsync, rename, fsync the directory.
/// Returns the path and the file's size.
pub fn write(dir: &Path, symbol: &str, bytes: &[u8], command_sequence: u64) -> EngineResult<(PathBuf, u64)> {
    std::fs::create_dir_all(dir).map_err(|e| io_error("cannot create snapshot directory", dir, e))?;
    let name = file_name(symbol, command_sequence);
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io_error("cannot create", &tmp, e))?;
    f.write_all(bytes).map_err(|e| io_error("cannot write", &tmp, e))?;
    f.sync_all().map_err(|e| io_error("cannot fsync", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|e| io_error("cannot rename snapshot into", &path, e))?;
    sync_dir(dir)?;
    Ok((path, bytes.len() as u64))
}

/// Delete all but the newest `keep` snapshots of `symbol`; returns the command sequence of
/// the oldest one kept.
pub fn prune(dir: &Path, symbol: &str, keep: usize) -> EngineResult<Option<u64>> {
    let all = list(dir, symbol)?;
    let cut = all.len().saturating_sub(keep);
    for (_, p) in &all[..cut] {
        std::fs::remove_file(p).map_err(|e| io_error("cannot delete old snapshot", p, e))?;
    }
    if cut > 0 {
        sync_dir(dir)?;
    }
    Ok(all.get(cut).map(|(s, _)| *s))
}

/// Refuse a snapshot that belongs to a different symbol than its file name says.
pub(crate) fn check_symbol(file: &SnapshotFile, symbol: &str, path: &Path) -> EngineResult<()> {
    if file.image.symbol() != symbol {
        return Err(EngineError::CorruptData(format!(
            "{}: holds symbol {:?}, not {symbol:?}",
            path.display(),
            file.image.symbol()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_length_near_u64_max_is_corrupt_not_an_overflow() {
        let mut bytes = vec![0u8; HEADER + 4];
        bytes[..8].copy_from_slice(SNAPSHOT_MAGIC);
        bytes[8..10].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        for len in [u64::MAX, u64::MAX - 3, u64::MAX - HEADER as u64] {
            bytes[44..52].copy_from_slice(&len.to_le_bytes());
            let e = decode(&bytes, Path::new("x.lfts")).unwrap_err().to_string();
            assert!(e.contains("x.lfts") && e.contains("stored length"), "{e}");
        }
    }

    #[test]
    fn names_escape_and_list_back() {
        assert_eq!(escape_symbol("BTC/USD x"), "BTC%2FUSD%20x");
        assert_eq!(file_name("A", 7), "A@00000000000000000007.lfts");
    }
}
