//! Recovery: for each symbol the newest snapshot that reads whole (falling back to older
//! ones), then every journal record after it, through the same book calls the worker makes.
//!
//! Rules, in the order they apply:
//! - a snapshot that fails its CRC, its image checks or its state hash is skipped with a
//!   note naming the file, and the next older one is tried; none left means an empty book
//!   and the whole journal;
//! - a snapshot or segment whose symbol config (tick or lot size) differs from the config
//!   is an error naming the file: the journal's integers mean nothing at another scale;
//! - a torn record at the end of a segment (an append the crash interrupted) ends that
//!   segment's replay; in [`Mode::Recover`] the tail is cut off, and a note says so;
//! - the last segment of a stream that stops inside its header (a crash while it was being
//!   created: it holds no record) is removed in [`Mode::Recover`], with a note, and so
//!   are staging files (`.lftj.tmp`) of segments that never got their name; the same
//!   segment anywhere but last in its stream is an error;
//! - a complete but damaged frame followed by more data is an error naming the file and
//!   the byte offset;
//! - a record whose command sequence skips ahead of its symbol's (a lost record, a missing
//!   segment) is an error naming the file, the offset and both numbers: never a silently
//!   different state.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::record::corrupt_at;
use super::segment::{
    is_unfinished_segment, list_segments, list_staging_files, stream_segment, truncate_segment,
    SegmentHeader, SegmentId,
};
use super::{snapshot, SegmentSummary};
use crate::book::{BookConfig, BookWriter};
use crate::error::{EngineError, EngineResult};
use crate::event::ExecutionReport;
use crate::system::{apply_request, JournalConfig, Request, SnapshotConfig};
use crate::types::Timestamp;

/// What recovery may do to the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Cut torn tails off (the system is about to append after them).
    Recover,
    /// Change nothing (`trading-system recover --verify`).
    Verify,
}

/// One recovered book and where its sequence stands.
pub struct RecoveredBook {
    /// The book.
    pub book: BookWriter,
    /// Command sequence number of the last command it includes.
    pub command_sequence: u64,
    /// Command sequence of the snapshot it started from (0 without one): the commands
    /// after it are only in the journal, so the book is due a snapshot (at shutdown, by
    /// count) even if no new command arrives.
    pub snapshot_sequence: u64,
    /// Timestamp of that command.
    pub last_time: Timestamp,
}

impl RecoveredBook {
    /// A book with no history: nothing recovered, nothing to snapshot yet.
    pub fn fresh(book: BookWriter) -> Self {
        RecoveredBook { book, command_sequence: 0, snapshot_sequence: 0, last_time: 0 }
    }
}

/// What recovery did for one symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolRecovery {
    /// The symbol.
    pub symbol: String,
    /// The snapshot it started from, if any.
    pub snapshot: Option<PathBuf>,
    /// The command sequence that snapshot was taken at (0 without one).
    pub snapshot_sequence: u64,
    /// Journal records replayed after it.
    pub commands_replayed: u64,
    /// The symbol's command sequence now.
    pub command_sequence: u64,
    /// Orders resting now.
    pub resting_orders: usize,
    /// The book's state hash now.
    pub state_hash: u64,
}

/// What recovery did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveryReport {
    /// Per symbol, in config order.
    pub symbols: Vec<SymbolRecovery>,
    /// Segment files read.
    pub segments: usize,
    /// Journal records replayed, all symbols.
    pub commands_replayed: u64,
    /// Wall time taken.
    pub seconds: f64,
    /// Things worth saying: snapshots skipped, torn tails cut, unknown symbols ignored.
    pub notes: Vec<String>,
}

/// Everything the system needs to go on from where the files left it.
pub struct Recovered {
    /// One per configured symbol, in config order.
    pub books: Vec<RecoveredBook>,
    /// What happened.
    pub report: RecoveryReport,
    /// What each existing segment holds (for deleting the ones snapshots have passed).
    pub summaries: Vec<SegmentSummary>,
    /// The run number the system writes under next.
    pub next_run: u64,
}

/// Whether there is anything to recover from.
pub fn has_data(journal: Option<&JournalConfig>, snapshots: Option<&SnapshotConfig>) -> EngineResult<bool> {
    if let Some(j) = journal {
        if !list_segments(&j.directory)?.is_empty() {
            return Ok(true);
        }
    }
    if let Some(s) = snapshots {
        if let Ok(entries) = std::fs::read_dir(&s.directory) {
            if entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(snapshot::SNAPSHOT_SUFFIX))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn scale_mismatch(
    symbol: &str,
    what: &str,
    stored: impl std::fmt::Display,
    configured: impl std::fmt::Display,
    file: &Path,
) -> EngineError {
    EngineError::InvalidConfig(format!(
        "symbols[{symbol}].{what}: {configured} in the config, but {stored} in {}; the journal's prices and \
         quantities are integers at the old size. Restore the old value, or move the journal and snapshot \
         directories away to start empty",
        file.display()
    ))
}

/// Rebuild every configured symbol's book from the snapshots and the journal.
pub fn recover(
    books: &[BookConfig],
    journal: Option<&JournalConfig>,
    snapshots: Option<&SnapshotConfig>,
    mode: Mode,
) -> EngineResult<Recovered> {
    let started = Instant::now();
    let mut report = RecoveryReport::default();
    let mut out = Vec::with_capacity(books.len());
    let index: HashMap<&str, usize> = books.iter().enumerate().map(|(i, b)| (b.symbol.as_str(), i)).collect();
    for config in books {
        out.push(start_from_snapshot(config, snapshots, &mut report)?);
    }
    let mut replayed = vec![0u64; books.len()];
    let mut summaries = Vec::new();
    let mut next_run = 1;
    if let Some(j) = journal {
        for staged in list_staging_files(&j.directory)? {
            let what = remove_leftover(mode, &j.directory, &staged)?;
            report.notes.push(format!(
                "{}: a segment the crash stopped before it was named (it holds no record): {what}",
                staged.display()
            ));
        }
        let segments = list_segments(&j.directory)?;
        report.segments = segments.len();
        let mut scratch = ExecutionReport::default();
        let mut buffer = Vec::new();
        let mut warned_unknown = std::collections::HashSet::new();
        for (at, (id, path)) in segments.iter().enumerate() {
            next_run = next_run.max(id.run + 1);
            let last_of_stream =
                segments.get(at + 1).is_none_or(|(next, _)| (next.run, next.worker) != (id.run, id.worker));
            if last_of_stream && is_unfinished_segment(path)? {
                let what = remove_leftover(mode, &j.directory, path)?;
                report.notes.push(format!(
                    "{}: the crash came while this segment's header was being written (it holds no record): {what}",
                    path.display()
                ));
                continue;
            }
            let mut map: Option<Vec<Option<usize>>> = None;
            let mut summary: Option<SegmentSummary> = None;
            let scan = stream_segment(path, &mut buffer, |header, offset, rec| {
                if map.is_none() {
                    check_header(header, id, path)?;
                    map = Some(symbol_map(
                        header,
                        books,
                        &index,
                        path,
                        &mut warned_unknown,
                        &mut report.notes,
                    )?);
                    summary = Some(SegmentSummary::new(
                        path.clone(),
                        header.symbols.iter().map(|s| s.name.clone()).collect(),
                    ));
                }
                let map = map.as_ref().expect("built above");
                summary.as_mut().expect("built above").note(rec.symbol, rec.command_sequence);
                let Some(&Some(i)) = map.get(rec.symbol as usize) else {
                    if map.get(rec.symbol as usize).is_none() {
                        return Err(corrupt_at(
                            path,
                            offset,
                            &format!("record names symbol #{} of a {}-symbol table", rec.symbol, map.len()),
                        ));
                    }
                    return Ok(());
                };
                let state = &mut out[i];
                if rec.command_sequence <= state.command_sequence {
                    return Ok(()); // the snapshot includes it
                }
                if rec.command_sequence != state.command_sequence + 1 {
                    return Err(corrupt_at(
                        path,
                        offset,
                        &format!(
                            "{}: command {} follows command {}: records {}..{} are missing (a lost or deleted \
                             segment, or a snapshot older than the journal's start)",
                            books[i].symbol,
                            rec.command_sequence,
                            state.command_sequence,
                            state.command_sequence + 1,
                            rec.command_sequence - 1
                        ),
                    ));
                }
                if let Some(request) = rec.what.into_request() {
                    let book = &mut state.book;
                    // An id the book generated before the crash was drawn outside the journal:
                    // move the generator past it, or the next drawn id would repeat it.
                    if let Request::New(o) = &request {
                        book.account_order_id(o.id);
                    }
                    let ran = catch_unwind(AssertUnwindSafe(|| apply_request(book, &request, &mut scratch)));
                    if matches!(ran, Ok(Err(EngineError::BookPoisoned { .. })) | Err(_)) {
                        return Err(corrupt_at(
                            path,
                            offset,
                            &format!(
                                "{}: command {} failed inside the book on replay",
                                books[i].symbol, rec.command_sequence
                            ),
                        ));
                    }
                }
                state.command_sequence = rec.command_sequence;
                state.last_time = state.last_time.max(rec.timestamp);
                replayed[i] += 1;
                Ok(())
            })?;
            if map.is_none() {
                // No records: still check the header and its symbol table against the config.
                check_header(&scan.header, id, path)?;
                symbol_map(&scan.header, books, &index, path, &mut warned_unknown, &mut report.notes)?;
            }
            let summary = summary.unwrap_or_else(|| {
                SegmentSummary::new(
                    path.clone(),
                    scan.header.symbols.iter().map(|s| s.name.clone()).collect(),
                )
            });
            if let Some(why) = &scan.corrupt {
                return Err(corrupt_at(
                    path,
                    scan.good_until,
                    &format!("damaged record ({why}) with data after it"),
                ));
            }
            if scan.torn {
                let cut = scan.file_len - scan.good_until;
                let what = match mode {
                    Mode::Recover => {
                        truncate_segment(path, scan.good_until)?;
                        "cut off"
                    }
                    Mode::Verify => "would be cut off (verify changes nothing)",
                };
                report.notes.push(format!(
                    "{}: torn record at byte {} (an unfinished append): {cut} bytes {what}; replay stopped at the last good record",
                    path.display(),
                    scan.good_until
                ));
            }
            summaries.push(summary);
        }
    }
    for (i, state) in out.iter().enumerate() {
        let s = &mut report.symbols[i];
        s.commands_replayed = replayed[i];
        s.command_sequence = state.command_sequence;
        s.resting_orders = state.book.len();
        s.state_hash = state.book.state_hash();
        report.commands_replayed += replayed[i];
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(Recovered { books: out, report, summaries, next_run })
}

/// Remove a file a crash left in the journal directory that holds no record (a staging
/// file, a segment stopped inside its header), durably, in [`Mode::Recover`]; change
/// nothing in [`Mode::Verify`]. Returns what was done, for the note.
fn remove_leftover(mode: Mode, dir: &Path, path: &Path) -> EngineResult<&'static str> {
    match mode {
        Mode::Recover => {
            std::fs::remove_file(path)
                .map_err(|e| super::segment::io_error("cannot remove journal file", path, e))?;
            super::segment::sync_dir(dir)?;
            Ok("removed")
        }
        Mode::Verify => Ok("would be removed (verify changes nothing)"),
    }
}

/// The segment's table index -> config index (`None`: a symbol no longer configured, noted
/// once); a changed tick or lot size is an error naming the file.
fn symbol_map(
    header: &SegmentHeader,
    books: &[BookConfig],
    index: &HashMap<&str, usize>,
    path: &Path,
    warned_unknown: &mut std::collections::HashSet<String>,
    notes: &mut Vec<String>,
) -> EngineResult<Vec<Option<usize>>> {
    let mut map = Vec::with_capacity(header.symbols.len());
    for s in &header.symbols {
        match index.get(s.name.as_str()) {
            Some(&i) => {
                let c = &books[i];
                if c.scale.tick_size != s.tick_size.normalize() {
                    return Err(scale_mismatch(&s.name, "tick_size", s.tick_size, c.scale.tick_size, path));
                }
                if c.scale.lot_size != s.lot_size.normalize() {
                    return Err(scale_mismatch(&s.name, "lot_size", s.lot_size, c.scale.lot_size, path));
                }
                map.push(Some(i));
            }
            None => {
                if warned_unknown.insert(s.name.clone()) {
                    notes.push(format!(
                        "{}: symbol {:?} is in the journal but not in the config; its records are ignored",
                        path.display(),
                        s.name
                    ));
                }
                map.push(None);
            }
        }
    }
    Ok(map)
}

fn check_header(h: &super::segment::SegmentHeader, id: &SegmentId, path: &Path) -> EngineResult<()> {
    if (h.run, h.worker, h.index) != (id.run, id.worker, id.index) {
        return Err(corrupt_at(path, 16, "the header's run, worker or index differs from the file name"));
    }
    Ok(())
}

/// The newest snapshot of `config`'s symbol that reads whole, or an empty book.
fn start_from_snapshot(
    config: &BookConfig,
    snapshots: Option<&SnapshotConfig>,
    report: &mut RecoveryReport,
) -> EngineResult<RecoveredBook> {
    let symbol = &config.symbol;
    let mut entry = SymbolRecovery {
        symbol: symbol.clone(),
        snapshot: None,
        snapshot_sequence: 0,
        commands_replayed: 0,
        command_sequence: 0,
        resting_orders: 0,
        state_hash: 0,
    };
    if let Some(s) = snapshots {
        for (_, path) in snapshot::list(&s.directory, symbol)?.into_iter().rev() {
            let loaded = snapshot::read(&path).and_then(|f| {
                snapshot::check_symbol(&f, symbol, &path)?;
                let book = BookWriter::restore(config.clone(), &f.image).map_err(|e| match e {
                    EngineError::InvalidConfig(m) => {
                        EngineError::InvalidConfig(format!("{}: {m}", path.display()))
                    }
                    other => EngineError::CorruptData(format!("{}: {other}", path.display())),
                })?;
                Ok((f, book))
            });
            match loaded {
                Ok((f, book)) => {
                    entry.snapshot = Some(path);
                    entry.snapshot_sequence = f.command_sequence;
                    report.symbols.push(entry);
                    return Ok(RecoveredBook {
                        book,
                        command_sequence: f.command_sequence,
                        snapshot_sequence: f.command_sequence,
                        last_time: f.last_time,
                    });
                }
                Err(e @ EngineError::InvalidConfig(_)) => return Err(e),
                Err(e) => report.notes.push(format!("{e}; trying an older snapshot")),
            }
        }
    }
    report.symbols.push(entry);
    Ok(RecoveredBook::fresh(BookWriter::try_with_config(config.clone())?))
}
