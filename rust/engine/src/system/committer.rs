//! The journal committer: one thread per worker that makes the worker's records durable
//! and only then releases what they caused.
//!
//! The worker never waits for a disk. At the end of each round it hands the round's
//! records (already framed, see `journal::record`) and everything the round would have
//! released (replies to fill, events to publish) to its committer as one [`Chunk`], and
//! goes on matching. The committer seals the frames (stream sequence, CRC32C), writes all
//! the chunks it finds queued with one `write` (group commit), syncs them as
//! [`FsyncPolicy`] says, and releases each chunk when [`AckPolicy`] allows: replies are
//! filled and events published in the order the worker produced them. While journaling is
//! on the committer is the only publisher of its worker's event ring.
//!
//! The worker does wait when the committer's queue is full, that is when the disk is
//! slower than matching for longer than the queue holds: back-pressure, not a lock.
//!
//! A write or sync that fails halts every symbol of the worker (nothing more can be made
//! durable) and answers the affected commands with a storage error: their effect is in
//! memory only, and a restart recovers without them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::broadcast::EventRing;
use super::doorbell::Doorbell;
use super::feed::FeedEvent;
use super::queue::{command_queue, QueueConsumer, QueueProducer};
use super::reply::Replier;
use super::{AckPolicy, FsyncPolicy, JournalConfig, Refusal, Reply, Shared};
use crate::error::EngineError;
use crate::journal::record::seal_frames;
use crate::journal::CommandLog;
use crate::primitive::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One worker round: its frames and what they release, held until the frames are durable
/// enough. Events and replies are kept apart (an event is a few words, a reply can be
/// large); each reply records how many of the round's events came before it, so the
/// release keeps the worker's order.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(crate) frames: Vec<u8>,
    pub(crate) events: Vec<FeedEvent>,
    pub(crate) replies: Vec<(usize, Replier<Reply>, Reply)>,
}

impl Chunk {
    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.events.is_empty() && self.replies.is_empty()
    }

    /// An empty chunk with room for what this one held.
    pub(crate) fn like(&self) -> Chunk {
        Chunk {
            frames: Vec::with_capacity(self.frames.len()),
            events: Vec::with_capacity(self.events.len()),
            replies: Vec::with_capacity(self.replies.len()),
        }
    }
}

/// Counters of one committer, for statistics and benches.
#[derive(Default)]
pub struct JournalCounters {
    /// Bytes appended to segments.
    pub bytes_written: AtomicU64,
    /// Records appended.
    pub records: AtomicU64,
    /// `write` calls (records / writes is the group-commit factor).
    pub writes: AtomicU64,
    /// `fdatasync` calls.
    pub syncs: AtomicU64,
    /// Summed duration of those calls, in nanoseconds.
    pub sync_ns: AtomicU64,
    /// Longest of them, in nanoseconds.
    pub sync_max_ns: AtomicU64,
}

/// What a worker and the system share with one committer.
pub(crate) struct CommitterShared {
    pub(crate) queue: QueueProducer<Chunk>,
    pub(crate) bell: Doorbell,
    /// Set by shutdown once the worker has exited: write what is left and leave.
    pub(crate) stop: AtomicBool,
    pub(crate) counters: JournalCounters,
}

impl CommitterShared {
    pub(crate) fn new(capacity: usize) -> (Self, QueueConsumer<Chunk>) {
        let (queue, consumer) = command_queue(capacity);
        let shared = CommitterShared {
            queue,
            bell: Doorbell::new(),
            stop: AtomicBool::new(false),
            counters: JournalCounters::default(),
        };
        (shared, consumer)
    }

    /// Worker side: hand a round over, waiting only while the queue is full.
    pub(crate) fn hand_off(&self, mut chunk: Chunk) {
        let backoff = crossbeam_utils::Backoff::new();
        loop {
            match self.queue.push(chunk) {
                Ok(()) => break,
                Err(back) => {
                    chunk = back;
                    self.bell.ring();
                    if backoff.is_completed() {
                        std::thread::sleep(Duration::from_micros(20));
                    } else {
                        backoff.snooze();
                    }
                }
            }
        }
        self.bell.ring();
    }
}

/// Everything one committer thread owns.
pub(crate) struct Committer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) me: usize,
    pub(crate) config: JournalConfig,
    /// Stream sequence of the first record this committer writes.
    pub(crate) first_sequence: u64,
    /// Where the records go: the local segment files ([`SegmentLog`], opened by
    /// `TradingSystem::start`, so a directory that cannot be written fails the start), or
    /// any other [`CommandLog`].
    pub(crate) log: Option<Box<dyn CommandLog>>,
    pub(crate) queue: QueueConsumer<Chunk>,
}

/// Most chunks one group commit takes (bounds the latency of the first of them).
const GROUP_MAX: usize = 4096;

impl Committer {
    /// The thread's loop; returns when stopped and drained.
    pub(crate) fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let me = &shared.committers[self.me];
        me.bell.install();
        let ring = &shared.workers[self.me].ring;
        let mut log = self.log.take();
        let mut next_sequence = self.first_sequence;
        let mut group: Vec<Chunk> = Vec::new();
        // Written, waiting for a sync before release (`ack: after_fsync`).
        let mut held: Vec<Chunk> = Vec::new();
        let mut buffer: Vec<u8> = Vec::new();
        let mut last_sync = Instant::now();
        // Written since the last sync.
        let mut dirty = false;
        let mut failed = log.is_none();
        let syncs = self.config.fsync != FsyncPolicy::Never;
        loop {
            while group.len() < GROUP_MAX {
                match self.queue.pop() {
                    Some(c) => group.push(c),
                    None => break,
                }
            }
            if group.is_empty() {
                let stopping = me.stop.load(Ordering::Acquire) && self.queue.is_empty();
                let interval_due =
                    matches!(self.config.fsync, FsyncPolicy::Interval(d) if last_sync.elapsed() >= d);
                // An interval sync is due even when nothing new arrives; at stop, whatever
                // was written is synced (unless the policy never syncs).
                if (interval_due || stopping) && dirty && syncs && !failed {
                    if let Some(l) = log.as_deref_mut() {
                        if let Err(e) = self.sync(l) {
                            failed = true;
                            self.fail(&e);
                        }
                    }
                    dirty = false;
                    last_sync = Instant::now();
                }
                if !dirty || failed {
                    for c in held.drain(..) {
                        release(ring, c, failed);
                    }
                }
                if stopping {
                    if let Some(l) = log.as_deref_mut() {
                        l.close();
                    }
                    return;
                }
                let timeout = match self.config.fsync {
                    FsyncPolicy::Interval(d) if dirty => d.saturating_sub(last_sync.elapsed()),
                    _ => Duration::from_millis(1),
                };
                let queue = &self.queue;
                me.bell.sleep(timeout.max(Duration::from_micros(50)), || {
                    !queue.is_empty() || me.stop.load(Ordering::Relaxed)
                });
                continue;
            }
            // Seal every frame (stream sequence, CRC32C).
            for c in &mut group {
                next_sequence += seal_frames(&mut c.frames, next_sequence);
            }
            let Some(l) = log.as_deref_mut().filter(|_| !failed) else {
                for c in group.drain(..) {
                    release(ring, c, true);
                }
                continue;
            };
            let outcome = if self.config.fsync == FsyncPolicy::Always {
                // One write and one sync per hand-off, each released before the next.
                let mut result = Ok(());
                for c in group.drain(..) {
                    if !c.frames.is_empty() {
                        result = result.and_then(|()| self.append(l, &c.frames)).and_then(|()| self.sync(l));
                    }
                    release(ring, c, result.is_err());
                }
                last_sync = Instant::now();
                result
            } else {
                buffer.clear();
                for c in &group {
                    buffer.extend_from_slice(&c.frames);
                }
                let mut result = if buffer.is_empty() { Ok(()) } else { self.append(l, &buffer) };
                dirty |= !buffer.is_empty();
                if result.is_ok() && self.config.ack == AckPolicy::AfterWrite {
                    for c in group.drain(..) {
                        release(ring, c, false);
                    }
                }
                let sync_now = match self.config.fsync {
                    FsyncPolicy::Batch => dirty,
                    FsyncPolicy::Interval(d) => dirty && last_sync.elapsed() >= d,
                    FsyncPolicy::Always | FsyncPolicy::Never => false,
                };
                if result.is_ok() && sync_now {
                    result = self.sync(l);
                    dirty = false;
                    last_sync = Instant::now();
                }
                held.append(&mut group);
                if result.is_ok() && (!dirty || !syncs) {
                    for c in held.drain(..) {
                        release(ring, c, false);
                    }
                }
                result
            };
            if let Err(e) = outcome {
                failed = true;
                self.fail(&e);
                for c in held.drain(..).chain(group.drain(..)) {
                    release(ring, c, true);
                }
            }
        }
    }

    /// Append sealed frames to the log, counting them.
    fn append(&self, log: &mut dyn CommandLog, frames: &[u8]) -> crate::EngineResult<()> {
        log.append(frames)?;
        let c = &self.shared.committers[self.me].counters;
        c.bytes_written.fetch_add(frames.len() as u64, Ordering::Relaxed);
        c.writes.fetch_add(1, Ordering::Relaxed);
        c.records.fetch_add(crate::journal::record::frame_count(frames), Ordering::Relaxed);
        Ok(())
    }

    fn sync(&self, log: &mut dyn CommandLog) -> crate::EngineResult<()> {
        let start = Instant::now();
        log.sync()?;
        let ns = start.elapsed().as_nanos() as u64;
        let c = &self.shared.committers[self.me].counters;
        c.syncs.fetch_add(1, Ordering::Relaxed);
        c.sync_ns.fetch_add(ns, Ordering::Relaxed);
        c.sync_max_ns.fetch_max(ns, Ordering::Relaxed);
        Ok(())
    }

    /// Nothing more can be made durable: halt the worker's symbols.
    fn fail(&self, e: &EngineError) {
        let why = format!("the journal failed: {e}");
        eprintln!("lockfree-trading: worker {}: {why}; its symbols are halted", self.me);
        for slot in self.shared.symbols.iter().filter(|s| s.worker == self.me) {
            slot.halt(why.clone());
        }
    }
}

/// Fill the chunk's replies and publish its events, in order. After a journal failure the
/// commands' effects are not durable: replies say so and events are dropped.
fn release(ring: &EventRing, chunk: Chunk, failed: bool) {
    let Chunk { events, replies, .. } = chunk;
    let mut published = 0;
    let mut publish_to = |upto: usize| {
        if !failed {
            for e in &events[published..upto] {
                ring.publish(e);
            }
        }
        published = upto;
    };
    for (before, replier, answer) in replies {
        publish_to(before);
        let answer = match answer {
            Ok(report) if failed => Err(Refusal {
                command_sequence: report.command_sequence,
                error: EngineError::Storage(
                    "the journal failed before this command was durable; it is lost on restart".into(),
                ),
            }),
            other => other,
        };
        replier.fill(answer);
    }
    publish_to(events.len());
}
