//! Durability: the command journal's files, snapshot files, and recovery from them.
//!
//! - `record`: one framed, checksummed record per command (`docs/journal-format.md`);
//! - `segment`: the append-only segment files a worker's journal stream is made of;
//! - `snapshot`: snapshot files (a book image at a command sequence number), written
//!   to a temporary file, synced, renamed and the directory synced;
//! - `recovery`: newest valid snapshot of each symbol plus the journal after it.
//!
//! The threads that write them live with the system (`system::committer`,
//! `system::snapshotter`); the workers only frame records and capture book images.
//!
//! The journal sits behind a small interface ([`CommandLog`]): append a group of sealed
//! frames, make them durable, say where a stream stands. The local segment files are one
//! implementation; a replicated, sequenced log (NATS JetStream is the plan for scale-out)
//! can be another without touching the workers.

pub mod record;
pub mod recovery;
pub mod segment;
pub mod snapshot;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::EngineResult;

/// The log a committer writes to: append a group of sealed frames (stream sequence and
/// CRC32C set, in stream order), make them durable, close. The committer's group commit,
/// fsync and ack policies and the workers know nothing else about it, so a replicated,
/// sequenced log can stand in for the local segment files ([`SegmentLog`]); reading a
/// stream back from a position is [`segment::list_segments`] + [`segment::stream_segment`]
/// for the files.
pub trait CommandLog: Send {
    /// Append a group of frames.
    fn append(&mut self, frames: &[u8]) -> EngineResult<()>;
    /// Make everything appended so far durable.
    fn sync(&mut self) -> EngineResult<()>;
    /// No more appends (clean shutdown): finish any bookkeeping.
    fn close(&mut self) {}
}

/// Closed segments and what they hold, shared with the snapshot writer (which deletes the
/// ones every kept snapshot has passed). Touched once per segment roll: never on the order
/// path.
pub(crate) type SegmentRegistry = Arc<Mutex<Vec<SegmentSummary>>>;

/// The local implementation of [`CommandLog`]: one worker's stream of segment files,
/// rolling at the configured size and registering each closed segment's summary.
pub(crate) struct SegmentLog {
    writer: segment::SegmentWriter,
    summary: SegmentSummary,
    registry: SegmentRegistry,
    /// Sync a full segment before rolling (every policy but `fsync: never`).
    sync_on_roll: bool,
}

impl SegmentLog {
    pub(crate) fn new(
        writer: segment::SegmentWriter,
        names: Vec<String>,
        registry: SegmentRegistry,
        sync_on_roll: bool,
    ) -> Self {
        let summary = SegmentSummary::new(writer.path(), names);
        SegmentLog { writer, summary, registry, sync_on_roll }
    }

    fn register(&mut self, closed: SegmentSummary) {
        self.registry.lock().unwrap_or_else(|p| p.into_inner()).push(closed);
    }
}

impl CommandLog for SegmentLog {
    fn append(&mut self, frames: &[u8]) -> EngineResult<()> {
        if frames.len() < record::FRAME_HEADER + 8 {
            return Ok(());
        }
        let first = u64::from_le_bytes(
            frames[record::FRAME_HEADER..record::FRAME_HEADER + 8].try_into().expect("8 bytes"),
        );
        if self.writer.roll_if_full(first, self.sync_on_roll)? {
            let next = SegmentSummary::new(self.writer.path(), self.summary.names.clone());
            let closed = std::mem::replace(&mut self.summary, next);
            self.register(closed);
        }
        let summary = &mut self.summary;
        record::for_each_frame(frames, |symbol, seq| summary.note(symbol, seq));
        self.writer.write(frames)
    }

    fn sync(&mut self) -> EngineResult<()> {
        self.writer.sync()
    }

    fn close(&mut self) {
        let last = std::mem::take(&mut self.summary);
        self.register(last);
    }
}

/// What a closed segment holds: for each symbol of its table, the last command sequence
/// number it recorded (0: none). A segment every kept snapshot has passed can be deleted.
#[derive(Clone, Debug, Default)]
pub struct SegmentSummary {
    /// The segment file.
    pub path: PathBuf,
    /// Its symbol table's names.
    pub names: Vec<String>,
    /// Last command sequence per symbol of the table.
    pub last: Vec<u64>,
}

impl SegmentSummary {
    pub(crate) fn new(path: PathBuf, names: Vec<String>) -> Self {
        let last = vec![0; names.len()];
        SegmentSummary { path, names, last }
    }

    pub(crate) fn note(&mut self, symbol: u32, command_sequence: u64) {
        if let Some(l) = self.last.get_mut(symbol as usize) {
            *l = (*l).max(command_sequence);
        }
    }

    /// Whether every record is at or below the given floor of its symbol (the oldest kept
    /// snapshot's sequence number; a symbol without a snapshot has none).
    pub(crate) fn passed_by(&self, floor: impl Fn(&str) -> Option<u64>) -> bool {
        self.names.iter().zip(&self.last).all(|(n, &l)| l == 0 || floor(n).is_some_and(|f| f >= l))
    }
}
