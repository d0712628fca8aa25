//! Segment files: a worker's journal stream is a run of append-only files, each opening
//! with a header (format version, run, worker, first stream sequence, the symbol table its
//! records index into), then frames (`record.rs`). A segment rolls at a configured size.
//!
//! Names sort in replay order: `{run:08}-{worker:03}-{index:08}.lftj`. A run is one start
//! of the system; within a run, workers own disjoint symbols, so replaying run by run, and
//! within a run stream by stream, applies each symbol's commands in their original order.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use super::record::{decode_frame, FrameError, Record};
use crate::error::{EngineError, EngineResult};

/// First bytes of every segment.
pub const SEGMENT_MAGIC: &[u8; 8] = b"LFTJRNL\0";
/// The segment format version this build writes and reads.
pub const SEGMENT_VERSION: u16 = 1;
/// File name suffix of segments.
pub const SEGMENT_SUFFIX: &str = ".lftj";
/// Suffix a segment's file name carries while its header is being written: such a file
/// is never read, and recovery deletes it.
pub const SEGMENT_STAGING_SUFFIX: &str = ".tmp";

/// One symbol of a segment's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolEntry {
    /// The symbol's name.
    pub name: String,
    /// Its tick size when the segment was written.
    pub tick_size: Decimal,
    /// Its lot size when the segment was written.
    pub lot_size: Decimal,
}

/// A segment's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The run (one start of the system) that wrote it.
    pub run: u64,
    /// The worker whose stream it belongs to.
    pub worker: u32,
    /// Its position in that stream (0, 1, 2, ...).
    pub index: u64,
    /// Stream sequence of its first record.
    pub first_sequence: u64,
    /// The symbols its records name by index.
    pub symbols: Vec<SymbolEntry>,
}

/// Where a segment sits: its identity from the file name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentId {
    /// Run.
    pub run: u64,
    /// Worker.
    pub worker: u32,
    /// Index in the stream.
    pub index: u64,
}

impl SegmentId {
    /// The file name of this segment.
    pub fn file_name(&self) -> String {
        format!("{:08}-{:03}-{:08}{SEGMENT_SUFFIX}", self.run, self.worker, self.index)
    }

    /// Parse a file name written by [`SegmentId::file_name`].
    pub fn parse(name: &str) -> Option<SegmentId> {
        let stem = name.strip_suffix(SEGMENT_SUFFIX)?;
        let mut parts = stem.split('-');
        let run = parts.next()?.parse().ok()?;
        let worker = parts.next()?.parse().ok()?;
        let index = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(SegmentId { run, worker, index })
    }
}

pub(crate) fn io_error(what: &str, path: &Path, e: std::io::Error) -> EngineError {
    EngineError::Storage(format!("{what} {}: {e}", path.display()))
}

/// Make a directory entry (a new, renamed or deleted file) durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> EngineResult<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("cannot fsync directory", dir, e))
}

/// Make a directory entry durable: on Windows there is no directory fsync (a directory
/// cannot be opened as a file, and NTFS journals its own metadata), so this only checks that
/// the directory is still there.
#[cfg(not(unix))]
pub(crate) fn sync_dir(dir: &Path) -> EngineResult<()> {
    std::fs::metadata(dir).map(|_| ()).map_err(|e| io_error("cannot find directory", dir, e))
}

/// The files in `dir` whose (UTF-8) name `pick` maps to something, sorted (an absent
/// directory holds none).
fn list_journal_files<T: Ord>(
    dir: &Path,
    pick: impl Fn(&str) -> Option<T>,
) -> EngineResult<Vec<(T, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("cannot list journal directory", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("cannot list journal directory", dir, e))?;
        if let Some(key) = entry.file_name().to_str().and_then(&pick) {
            out.push((key, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Every segment in `dir`, in replay order (an absent directory holds none).
pub fn list_segments(dir: &Path) -> EngineResult<Vec<(SegmentId, PathBuf)>> {
    list_journal_files(dir, SegmentId::parse)
}

/// Staging files a crash left behind in `dir` (segments that never got their name).
pub fn list_staging_files(dir: &Path) -> EngineResult<Vec<PathBuf>> {
    let staged = |name: &str| name.strip_suffix(SEGMENT_STAGING_SUFFIX).and_then(SegmentId::parse);
    Ok(list_journal_files(dir, staged)?.into_iter().map(|(_, path)| path).collect())
}

/// Whether `bytes` (a whole file) stop inside a segment header that was being written: an
/// empty file, or the first bytes of a header with nothing wrong in what is there. A
/// journal written by this build never leaves one (segments are created by rename), but a
/// crash of an older writer, or a file system that reorders a rename before the data on
/// power loss, can.
pub fn is_unfinished_header(bytes: &[u8]) -> bool {
    if bytes.len() < 16 {
        return SEGMENT_MAGIC.starts_with(&bytes[..bytes.len().min(8)]);
    }
    if &bytes[..8] != SEGMENT_MAGIC {
        return false;
    }
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    bytes.len() < 16usize.saturating_add(len).saturating_add(4)
}

/// Whether the segment at `path` stops inside its header ([`is_unfinished_header`]).
pub fn is_unfinished_segment(path: &Path) -> EngineResult<bool> {
    use std::io::Read;
    let failed = |e| io_error("cannot read journal segment", path, e);
    let file = File::open(path).map_err(failed)?;
    let file_len = file.metadata().map_err(failed)?.len();
    let mut head = Vec::with_capacity(16);
    file.take(16).read_to_end(&mut head).map_err(failed)?;
    if head.len() < 16 {
        return Ok(is_unfinished_header(&head));
    }
    let len = u64::from(u32::from_le_bytes(head[12..16].try_into().expect("4 bytes")));
    Ok(&head[..8] == SEGMENT_MAGIC && file_len < 16 + len + 4)
}

fn encode_header(h: &SegmentHeader) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&h.run.to_le_bytes());
    body.extend_from_slice(&h.worker.to_le_bytes());
    body.extend_from_slice(&h.index.to_le_bytes());
    body.extend_from_slice(&h.first_sequence.to_le_bytes());
    body.extend_from_slice(&(h.symbols.len() as u32).to_le_bytes());
    for s in &h.symbols {
        for text in [s.name.as_str(), &s.tick_size.to_string(), &s.lot_size.to_string()] {
            body.extend_from_slice(&(text.len() as u16).to_le_bytes());
            body.extend_from_slice(text.as_bytes());
        }
    }
    let mut out = Vec::with_capacity(body.len() + 20);
    out.extend_from_slice(SEGMENT_MAGIC);
    out.extend_from_slice(&SEGMENT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32c::crc32c(&out).to_le_bytes());
    out
}

/// Parse a segment's header: the header and its length in bytes.
pub fn decode_header(bytes: &[u8], path: &Path) -> EngineResult<(SegmentHeader, usize)> {
    let bad = |offset: usize, why: String| super::record::corrupt_at(path, offset as u64, &why);
    if bytes.len() < 16 {
        return Err(bad(0, format!("segment header truncated ({} bytes)", bytes.len())));
    }
    if &bytes[..8] != SEGMENT_MAGIC {
        return Err(bad(0, "not a journal segment (bad magic)".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != SEGMENT_VERSION {
        return Err(bad(
            8,
            format!("unsupported journal segment version {version} (this build reads {SEGMENT_VERSION})"),
        ));
    }
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let end = 16usize.saturating_add(len);
    if bytes.len() < end.saturating_add(4) {
        return Err(bad(16, format!("segment header of {len} bytes is truncated")));
    }
    let stored = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..end]) != stored {
        return Err(bad(end, "segment header CRC32C mismatch".into()));
    }
    let body = &bytes[16..end];
    let mut at = 0usize;
    let mut take = |n: usize| -> EngineResult<&[u8]> {
        let s = body.get(at..at + n).ok_or_else(|| bad(16 + at, "segment header field truncated".into()))?;
        at += n;
        Ok(s)
    };
    let u64_of = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
    let run = u64_of(take(8)?);
    let worker = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let index = u64_of(take(8)?);
    let first_sequence = u64_of(take(8)?);
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
    let mut symbols = Vec::new();
    for _ in 0..count {
        let mut text = || -> EngineResult<String> {
            let n = u16::from_le_bytes(take(2)?.try_into().expect("2 bytes")) as usize;
            String::from_utf8(take(n)?.to_vec()).map_err(|_| bad(16, "symbol table text is not UTF-8".into()))
        };
        let name = text()?;
        let decimal = |t: String| {
            t.parse::<Decimal>().map_err(|_| bad(16, format!("symbol table size {t:?} is not a decimal")))
        };
        let tick_size = decimal(text()?)?;
        let lot_size = decimal(text()?)?;
        symbols.push(SymbolEntry { name, tick_size, lot_size });
    }
    Ok((SegmentHeader { run, worker, index, first_sequence, symbols }, end + 4))
}

/// The open segment a journal thread appends to.
pub(crate) struct SegmentWriter {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    header: SegmentHeader,
    /// Bytes in the file.
    size: u64,
    /// Size at which the next append rolls to a new segment.
    roll_at: u64,
}

impl SegmentWriter {
    /// Create the segment `header` names. The header is written to a temporary file,
    /// synced, and renamed into place, and the directory synced: a crash at any point
    /// leaves either no segment or one with a whole, durable header (at worst a stale
    /// `.lftj.tmp`, which recovery deletes), never a segment that stops inside its header.
    pub(crate) fn create(dir: &Path, roll_at: u64, header: SegmentHeader) -> EngineResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io_error("cannot create journal directory", dir, e))?;
        let id = SegmentId { run: header.run, worker: header.worker, index: header.index };
        let path = dir.join(id.file_name());
        let staging = dir.join(format!("{}{SEGMENT_STAGING_SUFFIX}", id.file_name()));
        // `truncate`, not `create_new`: a crash may have left this very staging file (a run
        // that died creating its first segment leaves no segment, so the next start reuses
        // its run number).
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&staging)
            .map_err(|e| io_error("cannot create journal segment", &staging, e))?;
        let bytes = encode_header(&header);
        file.write_all(&bytes).map_err(|e| io_error("cannot write journal segment", &staging, e))?;
        file.sync_data().map_err(|e| io_error("cannot fsync journal segment", &staging, e))?;
        if path.exists() {
            return Err(EngineError::Storage(format!(
                "journal segment {} already exists; refusing to overwrite it",
                path.display()
            )));
        }
        std::fs::rename(&staging, &path)
            .map_err(|e| io_error("cannot rename journal segment", &staging, e))?;
        sync_dir(dir)?;
        // Appends go to the end (the file was opened for writing at offset 0, and the header
        // is all it holds).
        Ok(SegmentWriter { dir: dir.to_path_buf(), file, path, header, size: bytes.len() as u64, roll_at })
    }

    /// If the segment has reached its size, sync it (unless told not to) and continue in a
    /// new one whose first record will be `next_sequence`. Returns whether it rolled.
    pub(crate) fn roll_if_full(&mut self, next_sequence: u64, sync_on_roll: bool) -> EngineResult<bool> {
        if self.size < self.roll_at {
            return Ok(false);
        }
        if sync_on_roll {
            self.sync()?;
        }
        let header = SegmentHeader {
            index: self.header.index + 1,
            first_sequence: next_sequence,
            ..self.header.clone()
        };
        *self = SegmentWriter::create(&self.dir, self.roll_at, header)?;
        Ok(true)
    }

    /// Append sealed frames with one `write`.
    pub(crate) fn write(&mut self, frames: &[u8]) -> EngineResult<()> {
        self.file.write_all(frames).map_err(|e| io_error("cannot write journal segment", &self.path, e))?;
        self.size += frames.len() as u64;
        Ok(())
    }

    /// The open segment's path.
    pub(crate) fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// `fdatasync` the open segment.
    pub(crate) fn sync(&mut self) -> EngineResult<()> {
        self.file.sync_data().map_err(|e| io_error("cannot fsync journal segment", &self.path, e))
    }
}

/// What reading one segment found.
#[derive(Debug)]
pub struct SegmentScan {
    /// Its header.
    pub header: SegmentHeader,
    /// Every record that reads whole, in order, with the byte offset of its frame.
    pub records: Vec<(u64, Record)>,
    /// Byte offset just past the last good record.
    pub good_until: u64,
    /// The file's length.
    pub file_len: u64,
    /// Set if the bytes after `good_until` are a torn tail (an unfinished append).
    pub torn: bool,
    /// Set if a complete but damaged frame was found at `good_until` (with the reason);
    /// nothing after it is returned.
    pub corrupt: Option<String>,
}

/// Read a segment: header, then frames until the end, a torn tail or a damaged frame.
pub fn scan_segment(path: &Path) -> EngineResult<SegmentScan> {
    let mut records = Vec::new();
    let mut buffer = Vec::new();
    let mut scan = stream_segment(path, &mut buffer, |_, offset, record| {
        records.push((offset, record));
        Ok(())
    })?;
    scan.records = records;
    Ok(scan)
}

/// [`scan_segment`] without collecting: `each(header, offset, record)` is called for every record
/// in order (its error stops the scan and is returned); the returned scan's `records` is
/// empty. The file is read into `buffer`, reused across calls (recovery reads many
/// segments of the same size).
pub fn stream_segment(
    path: &Path,
    buffer: &mut Vec<u8>,
    mut each: impl FnMut(&SegmentHeader, u64, Record) -> EngineResult<()>,
) -> EngineResult<SegmentScan> {
    use std::io::Read;
    buffer.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(buffer))
        .map_err(|e| io_error("cannot read journal segment", path, e))?;
    let bytes = &buffer[..];
    let (header, mut at) = decode_header(bytes, path)?;
    let mut torn = false;
    let mut corrupt = None;
    let mut expected = header.first_sequence;
    while at < bytes.len() {
        match decode_frame(&bytes[at..]) {
            Ok((record, n)) => {
                if record.stream_sequence != expected {
                    corrupt = Some(format!(
                        "stream sequence {} where {expected} was expected",
                        record.stream_sequence
                    ));
                    break;
                }
                expected += 1;
                each(&header, at as u64, record)?;
                at += n;
            }
            Err(FrameError::Truncated) => {
                torn = true;
                break;
            }
            Err(FrameError::Corrupt(why)) => {
                // A damaged frame that ends the file is an unfinished append too (its bytes
                // reached the disk only in part); one followed by more data is damage.
                let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
                if at + super::record::FRAME_HEADER + len >= bytes.len() && why.starts_with("CRC32C") {
                    torn = true;
                } else {
                    corrupt = Some(why);
                }
                break;
            }
        }
    }
    let file_len = bytes.len() as u64;
    Ok(SegmentScan { header, records: Vec::new(), good_until: at as u64, file_len, torn, corrupt })
}

/// Cut a torn tail off a segment (and make the cut durable).
pub(crate) fn truncate_segment(path: &Path, len: u64) -> EngineResult<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io_error("cannot open journal segment", path, e))?;
    f.set_len(len).map_err(|e| io_error("cannot truncate journal segment", path, e))?;
    f.sync_all().map_err(|e| io_error("cannot fsync journal segment", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_sort_in_replay_order_and_parse_back() {
        let ids = [
            SegmentId { run: 2, worker: 0, index: 0 },
            SegmentId { run: 1, worker: 1, index: 0 },
            SegmentId { run: 1, worker: 0, index: 10 },
            SegmentId { run: 1, worker: 0, index: 9 },
        ];
        let mut names: Vec<String> = ids.iter().map(SegmentId::file_name).collect();
        names.sort();
        let parsed: Vec<SegmentId> = names.iter().map(|n| SegmentId::parse(n).unwrap()).collect();
        let mut sorted = ids.to_vec();
        sorted.sort();
        assert_eq!(parsed, sorted);
        assert_eq!(SegmentId::parse("00000001-000-00000001.lftj.tmp"), None);
    }

    #[test]
    fn header_round_trips_and_damage_is_named() {
        let h = SegmentHeader {
            run: 3,
            worker: 1,
            index: 2,
            first_sequence: 99,
            symbols: vec![SymbolEntry {
                name: "BTC-USD".into(),
                tick_size: "0.01".parse().unwrap(),
                lot_size: "1".parse().unwrap(),
            }],
        };
        let bytes = encode_header(&h);
        let p = Path::new("x.lftj");
        assert_eq!(decode_header(&bytes, p).unwrap(), (h, bytes.len()));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            let e = decode_header(&bad, p).unwrap_err().to_string();
            assert!(e.contains("x.lftj"), "{e}");
        }
        for cut in 0..bytes.len() {
            assert!(decode_header(&bytes[..cut], p).is_err());
            assert!(is_unfinished_header(&bytes[..cut]), "a cut at {cut} is an unfinished header");
        }
        assert!(!is_unfinished_header(&bytes));
        assert!(!is_unfinished_header(b"NOTAJRNL\x01\0\0\0\xff\xff\0\0"), "wrong magic is damage");
    }

    #[test]
    fn a_created_segment_has_its_whole_header_and_no_staging_file_is_left() {
        let dir = std::env::temp_dir().join(format!("lft-segment-create-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let header = SegmentHeader { run: 1, worker: 0, index: 0, first_sequence: 1, symbols: Vec::new() };
        let id = SegmentId { run: 1, worker: 0, index: 0 };
        // A staging file a crash left with the same name is replaced, not an error.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}{SEGMENT_STAGING_SUFFIX}", id.file_name())), b"LFTJ").unwrap();
        let mut writer = SegmentWriter::create(&dir, 1 << 20, header.clone()).unwrap();
        writer.write(b"").unwrap();
        assert!(list_staging_files(&dir).unwrap().is_empty());
        let bytes = std::fs::read(dir.join(id.file_name())).unwrap();
        assert_eq!(decode_header(&bytes, Path::new("x")).unwrap().0, header);
        assert!(!is_unfinished_segment(&dir.join(id.file_name())).unwrap());
        // An existing segment is never overwritten.
        assert!(SegmentWriter::create(&dir, 1 << 20, header).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
