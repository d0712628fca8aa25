//! The snapshot writer: one thread for the system that turns book images the workers
//! captured into durable files, keeps the newest `snapshots.keep` per symbol, and deletes
//! the journal segments every kept snapshot has passed.
//!
//! A worker's pause is the capture alone (`BookWriter::capture`, a copy of the book in
//! memory); encoding, compression, the write and both fsyncs happen here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::doorbell::Doorbell;
use super::queue::{command_queue, QueueConsumer, QueueProducer};
use super::reply::Replier;
use super::request::{Outcome, SnapshotTaken, SystemReport};
use super::{Refusal, Reply, SnapshotConfig};
use crate::book::BookImage;
use crate::journal::segment::sync_dir;
use crate::journal::snapshot;
use crate::journal::SegmentRegistry;
use crate::primitive::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::types::Timestamp;

/// One captured book, on its way to a file.
pub(crate) struct SnapshotJob {
    pub(crate) symbol: u32,
    pub(crate) name: String,
    pub(crate) command_sequence: u64,
    pub(crate) last_time: Timestamp,
    pub(crate) image: BookImage,
    /// How long the worker paused to capture it.
    pub(crate) capture_ns: u64,
    /// A `TradingSystem::snapshot` caller waiting for the file.
    pub(crate) reply: Option<Replier<Reply>>,
}

/// Counters of the snapshot writer.
#[derive(Default)]
pub struct SnapshotCounters {
    /// Snapshot files written.
    pub written: AtomicU64,
    /// Bytes written.
    pub bytes: AtomicU64,
    /// Longest capture pause of a worker, in nanoseconds.
    pub capture_max_ns: AtomicU64,
    /// Summed write time (encode, compress, write, fsync, rename), in nanoseconds.
    pub write_ns: AtomicU64,
    /// Journal segments deleted.
    pub segments_deleted: AtomicU64,
}

pub(crate) struct SnapshotShared {
    pub(crate) queue: QueueProducer<SnapshotJob>,
    pub(crate) bell: Doorbell,
    pub(crate) stop: AtomicBool,
    pub(crate) counters: SnapshotCounters,
}

impl SnapshotShared {
    pub(crate) fn new() -> (Self, QueueConsumer<SnapshotJob>) {
        let (queue, consumer) = command_queue(1024);
        (
            SnapshotShared {
                queue,
                bell: Doorbell::new(),
                stop: AtomicBool::new(false),
                counters: SnapshotCounters::default(),
            },
            consumer,
        )
    }

    /// Worker side: hand a captured image over (waits only while 1024 are queued).
    pub(crate) fn submit(&self, mut job: SnapshotJob) {
        loop {
            match self.queue.push(job) {
                Ok(()) => break,
                Err(back) => {
                    job = back;
                    self.bell.ring();
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        self.bell.ring();
    }
}

/// The thread's loop.
pub(crate) fn run(
    shared: Arc<SnapshotShared>,
    mut queue: QueueConsumer<SnapshotJob>,
    config: SnapshotConfig,
    registry: Option<SegmentRegistry>,
    names: Vec<String>,
) {
    shared.bell.install();
    // Oldest kept snapshot per symbol (the floor below which journal records are not needed),
    // starting from the files already there.
    let mut floors: HashMap<String, u64> = HashMap::new();
    for name in names {
        if let Ok(Some(oldest)) = snapshot::prune(&config.directory, &name, config.keep) {
            floors.insert(name, oldest);
        }
    }
    let mut wrote = true;
    loop {
        let Some(job) = queue.pop() else {
            let stopping = shared.stop.load(Ordering::Acquire) && queue.is_empty();
            // At stop the committers have registered their last segments: prune once more.
            if wrote || stopping {
                if let Some(r) = &registry {
                    prune_segments(r, &floors, &shared.counters);
                }
                wrote = false;
            }
            if stopping {
                return;
            }
            let q = &queue;
            shared
                .bell
                .sleep(Duration::from_millis(5), || !q.is_empty() || shared.stop.load(Ordering::Relaxed));
            continue;
        };
        shared.counters.capture_max_ns.fetch_max(job.capture_ns, Ordering::Relaxed);
        let started = Instant::now();
        let bytes = snapshot::encode(job.command_sequence, job.last_time, &job.image, config.compress);
        let written = snapshot::write(&config.directory, &job.name, &bytes, job.command_sequence).and_then(
            |(path, size)| {
                let oldest = snapshot::prune(&config.directory, &job.name, config.keep)?;
                Ok((path, size, oldest))
            },
        );
        shared.counters.write_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let answer = match written {
            Ok((path, size, oldest)) => {
                shared.counters.written.fetch_add(1, Ordering::Relaxed);
                shared.counters.bytes.fetch_add(size, Ordering::Relaxed);
                if let Some(o) = oldest {
                    floors.insert(job.name.clone(), o);
                }
                wrote = true;
                Ok(SystemReport {
                    symbol: job.symbol,
                    command_sequence: job.command_sequence,
                    timestamp: job.last_time,
                    outcome: Outcome::Snapshot(SnapshotTaken {
                        path,
                        bytes: size,
                        resting_orders: job.image.len() as u64,
                        capture_ns: job.capture_ns,
                    }),
                })
            }
            Err(error) => {
                eprintln!("lockfree-trading: snapshot of {} failed: {error}", job.name);
                Err(Refusal { command_sequence: job.command_sequence, error })
            }
        };
        if let Some(r) = job.reply {
            r.fill(answer);
        }
    }
}

/// Delete closed segments whose every record is at or below its symbol's floor.
fn prune_segments(registry: &SegmentRegistry, floors: &HashMap<String, u64>, counters: &SnapshotCounters) {
    let mut segments = registry.lock().unwrap_or_else(|p| p.into_inner());
    let mut dirs = Vec::new();
    segments.retain(|s| {
        if !s.passed_by(|name| floors.get(name).copied()) {
            return true;
        }
        match std::fs::remove_file(&s.path) {
            Ok(()) => {
                counters.segments_deleted.fetch_add(1, Ordering::Relaxed);
                if let Some(d) = s.path.parent() {
                    if !dirs.iter().any(|x: &std::path::PathBuf| x == d) {
                        dirs.push(d.to_path_buf());
                    }
                }
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => {
                eprintln!("lockfree-trading: cannot delete journal segment {}: {e}", s.path.display());
                true
            }
        }
    });
    drop(segments);
    for d in dirs {
        let _ = sync_dir(&d);
    }
}
