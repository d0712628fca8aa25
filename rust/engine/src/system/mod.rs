//! Many books matched in parallel: each symbol's book is owned by exactly one worker
//! thread, commands reach it through that worker's bounded queue, answers come back through
//! one-shot reply slots, and every event is broadcast on the worker's ring.
//!
//! What blocks, precisely (`README.md` has the table per operation):
//! - the order path takes no lock: submitters claim a queue slot with a CAS loop (lock-free
//!   among submitters), the worker owns its books' `BookWriter`s (no token, no lock), and
//!   replies are filled with one atomic swap. It does wait and make system calls: the worker
//!   can be held at a slot whose submitter was preempted between claim and publish (its
//!   `pop` reads "empty" meanwhile), a submitter wakes a parked worker with `unpark`, and the
//!   worker wakes a parked reply waiter the same way (futex calls);
//! - a blocking `submit` waits for its own reply (spins, then parks); `OnFull::Block` waits
//!   for queue room (spins, yields, naps); an idle worker spins about 100 µs, then parks
//!   (1 ms timeout) until woken; `state_hash` waits for the worker to answer it;
//! - readers of any book never wait for its worker or delay it: best prices, `len` and
//!   `sequence` are wait-free, `depth_at` is wait-free apart from its epoch pin, and
//!   `depth`, `level` and `top_of_book` are lock-free (see `BookReader`);
//! - `shutdown` waits for submitters already inside `send` to finish, then for workers to
//!   drain their queues.

pub(crate) mod admission;
mod broadcast;
mod committer;
mod config;
mod doorbell;
mod feed;
mod live;
mod queue;
mod reply;
mod request;
mod snapshotter;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_utils::Backoff;

pub use committer::JournalCounters;
pub use config::{AckPolicy, FsyncPolicy, JournalConfig, OnFull, SnapshotConfig, SymbolSpec, SystemConfig};
pub use feed::{FeedEvent, FeedKind, NO_PRICE};
pub use live::{LatencyHistogram, LatencySnapshot, SymbolCounters, LATENCY_BUCKETS_NS};
pub use reply::{Notify, Pending, REPLY_SPIN};
pub use request::{CommandsSummary, Outcome, OwnedBatch, Request, SnapshotTaken, SystemReport};
pub use snapshotter::SnapshotCounters;
pub(crate) use worker::apply_request;

pub use crate::book::BookReader;
use crate::book::BookWriter;
use crate::error::{EngineError, EngineResult};
use crate::journal::recovery::RecoveredBook;
use broadcast::Cursor;
use reply::reply_slot;
use worker::{Envelope, WorkerShared};

/// A command the system did not carry out, and where in the symbol's sequence it fell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The command's per-symbol sequence number, or 0 if it never reached the worker
    /// (queue full, unknown symbol, system closed, price band).
    pub command_sequence: u64,
    /// Why.
    pub error: EngineError,
}

impl Refusal {
    pub(crate) fn before_queue(error: EngineError) -> Self {
        Refusal { command_sequence: 0, error }
    }
}

impl From<Refusal> for EngineError {
    fn from(r: Refusal) -> Self {
        r.error
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Refusal {}

/// What a submitter gets back.
pub type Reply = Result<SystemReport, Refusal>;

/// Per-symbol state visible to every thread.
pub(crate) struct SymbolSlot {
    pub(crate) name: String,
    pub(crate) worker: usize,
    pub(crate) price_band: Option<(crate::Ticks, crate::Ticks)>,
    /// Reader of the book the owning worker built (first touch) and writes.
    pub(crate) book: OnceLock<BookReader>,
    halted: AtomicBool,
    halt_reason: OnceLock<String>,
    /// Written by the owning worker only, on a cache line of its own (submitters read
    /// `halted` on every send).
    pub(crate) counters: crossbeam_utils::CachePadded<SymbolCounters>,
}

impl SymbolSlot {
    pub(crate) fn halted(&self) -> Option<String> {
        if self.halted.load(Ordering::Acquire) {
            Some(self.halt_reason.get().cloned().unwrap_or_default())
        } else {
            None
        }
    }

    pub(crate) fn halt(&self, reason: String) {
        let _ = self.halt_reason.set(reason);
        self.halted.store(true, Ordering::Release);
    }
}

/// State shared by the system handle, the submitters and the workers.
pub(crate) struct Shared {
    pub(crate) symbols: Vec<SymbolSlot>,
    pub(crate) workers: Vec<WorkerShared>,
    /// One journal committer per worker, when the journal is on (empty otherwise).
    pub(crate) committers: Vec<committer::CommitterShared>,
    /// The snapshot writer, when snapshots are on.
    pub(crate) snapshotter: Option<Arc<snapshotter::SnapshotShared>>,
    pub(crate) snapshot_config: Option<SnapshotConfig>,
    /// Statistics, when enabled: the config and the producing end of the rows' queue.
    pub(crate) stats: Option<StatsShared>,
    pub(crate) batch_size: usize,
    on_full: OnFull,
}

/// What the workers share to hand over closed statistics rows.
pub(crate) struct StatsShared {
    pub(crate) config: crate::stats::StatsConfig,
    rows: queue::QueueProducer<crate::stats::StatsRecord>,
    /// Rows dropped because the queue was full (the drainer fell behind).
    pub(crate) dropped: std::sync::atomic::AtomicU64,
    /// Origin of the enqueue times the latency statistics measure from.
    epoch: std::time::Instant,
}

impl StatsShared {
    /// Hand a closed row to the drainer; a full queue drops it (counted), never waits.
    pub(crate) fn emit(&self, record: crate::stats::StatsRecord) {
        if self.rows.push(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Monotonic nanoseconds since the system started.
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Queue and worker statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerStats {
    /// Symbols this worker owns (indices).
    pub symbols: Vec<u32>,
    /// Commands waiting in its queue now (approximate).
    pub queued: usize,
    /// Commands processed so far.
    pub processed: u64,
    /// Events published on its ring so far.
    pub events_published: u64,
    /// Events subscribers missed on its ring (they fell more than a ring behind).
    pub events_lost: u64,
    /// Core it was pinned to, if pinning was asked for and succeeded.
    pub core: Option<usize>,
}

/// The running system. Dropping it shuts it down (drains every queue first).
pub struct TradingSystem {
    shared: Arc<Shared>,
    /// The workers' join handles; taken (swapped to null) by whichever shutdown runs first.
    handles: AtomicPtr<Vec<JoinHandle<()>>>,
    /// Set once the workers have been joined.
    joined: AtomicBool,
    cores: Vec<Option<usize>>,
    assignment: Vec<usize>,
    /// The committers' and the snapshot writer's join handles (joined after the workers).
    background: std::sync::Mutex<Vec<JoinHandle<()>>>,
    recovery: Option<crate::journal::recovery::RecoveryReport>,
    /// The consuming end of the statistics rows' queue (one drainer at a time; off the
    /// order path).
    stats_rows: std::sync::Mutex<Option<queue::QueueConsumer<crate::stats::StatsRecord>>>,
    started_at: std::time::SystemTime,
}

impl TradingSystem {
    /// Validate the config, build every book on its worker's thread and start the workers.
    pub fn start(config: SystemConfig) -> EngineResult<TradingSystem> {
        config.validate()?;
        let assignment = config.assignment();
        let workers = config.worker_count();
        let book_configs: Vec<_> = config.symbols.iter().map(|s| s.book.clone()).collect();
        let durable = config.journal.is_some() || config.snapshots.is_some();
        let recovered = if durable
            && crate::journal::recovery::has_data(config.journal.as_ref(), config.snapshots.as_ref())?
        {
            Some(crate::journal::recovery::recover(
                &book_configs,
                config.journal.as_ref(),
                config.snapshots.as_ref(),
                crate::journal::recovery::Mode::Recover,
            )?)
        } else {
            None
        };
        let (recovered_books, recovery, summaries, run) = match recovered {
            Some(r) => (r.books.into_iter().map(Some).collect(), Some(r.report), r.summaries, r.next_run),
            None => ((0..book_configs.len()).map(|_| None).collect::<Vec<_>>(), None, Vec::new(), 1),
        };
        let mut recovered_books = recovered_books;
        let symbols = config
            .symbols
            .iter()
            .zip(&assignment)
            .map(|(s, &w)| SymbolSlot {
                name: s.book.symbol.clone(),
                worker: w,
                price_band: s.price_band,
                book: OnceLock::new(),
                halted: AtomicBool::new(false),
                halt_reason: OnceLock::new(),
                counters: Default::default(),
            })
            .collect();
        let (worker_shared, mut consumers): (Vec<_>, Vec<_>) = (0..workers)
            .map(|_| WorkerShared::new(config.queue_capacity, config.event_capacity))
            .map(|(shared, consumer)| (shared, Some(consumer)))
            .unzip();
        let (committer_shared, mut committer_queues): (Vec<_>, Vec<_>) = match &config.journal {
            Some(j) => (0..workers)
                .map(|_| committer::CommitterShared::new(j.queue_capacity))
                .map(|(shared, consumer)| (shared, Some(consumer)))
                .unzip(),
            None => (Vec::new(), Vec::new()),
        };
        let (snapshot_shared, snapshot_queue) = match &config.snapshots {
            Some(_) => {
                let (s, q) = snapshotter::SnapshotShared::new();
                (Some(Arc::new(s)), Some(q))
            }
            None => (None, None),
        };
        let (stats, stats_rows) = match &config.statistics {
            Some(s) => {
                let (rows, consumer) = queue::command_queue(s.queue_capacity);
                let shared = StatsShared {
                    config: s.clone(),
                    rows,
                    dropped: std::sync::atomic::AtomicU64::new(0),
                    epoch: std::time::Instant::now(),
                };
                (Some(shared), Some(consumer))
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            symbols,
            workers: worker_shared,
            committers: committer_shared,
            snapshotter: snapshot_shared,
            snapshot_config: config.snapshots.clone(),
            stats,
            batch_size: config.batch_size,
            on_full: config.on_full,
        });
        let registry: crate::journal::SegmentRegistry = Arc::new(std::sync::Mutex::new(summaries));
        // Every file and directory first (a path that cannot be written fails the start
        // before any thread runs), then the threads.
        let mut writers = Vec::new();
        if let Some(j) = &config.journal {
            for me in 0..workers {
                let header = crate::journal::segment::SegmentHeader {
                    run,
                    worker: me as u32,
                    index: 0,
                    first_sequence: 1,
                    symbols: (0..assignment.len())
                        .filter(|&i| assignment[i] == me)
                        .map(|i| {
                            let b = &config.symbols[i].book;
                            crate::journal::segment::SymbolEntry {
                                name: b.symbol.clone(),
                                tick_size: b.scale.tick_size,
                                lot_size: b.scale.lot_size,
                            }
                        })
                        .collect(),
                };
                let writer = crate::journal::segment::SegmentWriter::create(
                    &j.directory,
                    j.segment_bytes,
                    header.clone(),
                )
                .map_err(|e| EngineError::InvalidConfig(format!("journal.directory: {e}")))?;
                writers.push((header, writer));
            }
        }
        if let Some(cfg) = &config.snapshots {
            std::fs::create_dir_all(&cfg.directory).map_err(|e| {
                EngineError::InvalidConfig(format!(
                    "snapshots.directory: cannot create {}: {e}",
                    cfg.directory.display()
                ))
            })?;
        }
        let mut background = Vec::new();
        let mut spawn_failure = None;
        if let Some(j) = &config.journal {
            for (me, ((header, writer), queue)) in
                writers.into_iter().zip(committer_queues.iter_mut()).enumerate()
            {
                let names = header.symbols.iter().map(|s| s.name.clone()).collect();
                let log = crate::journal::SegmentLog::new(
                    writer,
                    names,
                    Arc::clone(&registry),
                    j.fsync != FsyncPolicy::Never,
                );
                let c = committer::Committer {
                    shared: Arc::clone(&shared),
                    me,
                    config: j.clone(),
                    first_sequence: header.first_sequence,
                    log: Some(Box::new(log)),
                    queue: queue.take().expect("one queue per committer"),
                };
                match std::thread::Builder::new().name(format!("lft-journal-{me}")).spawn(move || c.run()) {
                    Ok(h) => background.push(h),
                    Err(e) => {
                        spawn_failure = Some(format!("cannot start journal thread: {e}"));
                        break;
                    }
                }
            }
        }
        if let (Some(cfg), Some(queue), Some(s), None) =
            (&config.snapshots, snapshot_queue, &shared.snapshotter, &spawn_failure)
        {
            let (cfg, s) = (cfg.clone(), Arc::clone(s));
            let reg = config.journal.is_some().then(|| Arc::clone(&registry));
            let names = book_configs.iter().map(|b| b.symbol.clone()).collect();
            match std::thread::Builder::new()
                .name("lft-snapshots".into())
                .spawn(move || snapshotter::run(s, queue, cfg, reg, names))
            {
                Ok(h) => background.push(h),
                Err(e) => spawn_failure = Some(format!("cannot start snapshot thread: {e}")),
            }
        }
        if let Some(why) = spawn_failure {
            stop_background(&shared, background);
            return Err(EngineError::InvalidConfig(why));
        }
        let cores = crate::affinity::allowed_cores();
        let mut handles = Vec::with_capacity(workers);
        let mut pinned = vec![None; workers];
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<(usize, Result<Option<usize>, String>)>();
        let mut failure: Option<String> = None;
        for me in 0..workers {
            let mine: Vec<u32> =
                (0..assignment.len()).filter(|&i| assignment[i] == me).map(|i| i as u32).collect();
            let specs: Vec<_> = mine
                .iter()
                .map(|&i| (config.symbols[i as usize].book.clone(), recovered_books[i as usize].take()))
                .collect();
            let core = (config.pin_threads && !cores.is_empty()).then(|| cores[me % cores.len()]);
            let shared_w = Arc::clone(&shared);
            let ready = ready_tx.clone();
            let queue = consumers[me].take().expect("one consumer per worker");
            let spawned = std::thread::Builder::new().name(format!("lft-worker-{me}")).spawn(move || {
                let pinned_to = core.filter(|&c| crate::affinity::pin_current_thread(c));
                // First touch: the books' memory is allocated by the thread that uses it. A
                // book that cannot be built (e.g. a pool too large to reserve) fails the start.
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut books = Vec::with_capacity(mine.len());
                    for (&i, (spec, recovered)) in mine.iter().zip(specs) {
                        let start = match recovered {
                            Some(r) => r,
                            None => RecoveredBook::fresh(
                                BookWriter::try_with_config(spec).map_err(|e| e.to_string())?,
                            ),
                        };
                        let _ = shared_w.symbols[i as usize].book.set(start.book.reader().clone());
                        books.push((i, start));
                    }
                    Ok(books)
                }))
                .unwrap_or_else(|p| Err(panic_text(&*p)));
                let _ = shared_w.workers[me].thread.set(crate::primitive::thread::current());
                let (books, reply) = match built {
                    Ok(books) => (Some(books), Ok(pinned_to)),
                    Err(why) => (None, Err(why)),
                };
                let _ = ready.send((me, reply));
                drop(ready);
                if let Some(books) = books {
                    worker::run(shared_w, me, books, queue);
                }
            });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    failure = Some(format!("engine.threads: cannot start worker {me}: {e}"));
                    break;
                }
            }
        }
        drop(ready_tx);
        for _ in 0..handles.len() {
            match ready_rx.recv() {
                Ok((me, Ok(core))) => pinned[me] = core,
                Ok((me, Err(why))) => {
                    failure.get_or_insert(format!("worker {me} could not build its books: {why}"));
                }
                Err(_) => {
                    failure.get_or_insert("a worker exited while building its books".into());
                    break;
                }
            }
        }
        if let Some(why) = failure {
            // Stop the workers that did start (their queues are empty) and report.
            for w in &shared.workers {
                w.gate.close();
                w.stop.store(true, Ordering::Release);
                if let Some(t) = w.thread.get() {
                    t.unpark();
                }
            }
            for h in handles {
                let _ = h.join();
            }
            stop_background(&shared, background);
            return Err(EngineError::InvalidConfig(why));
        }
        Ok(TradingSystem {
            shared,
            handles: AtomicPtr::new(Box::into_raw(Box::new(handles))),
            joined: AtomicBool::new(false),
            cores: pinned,
            assignment,
            background: std::sync::Mutex::new(background),
            recovery,
            stats_rows: std::sync::Mutex::new(stats_rows),
            started_at: std::time::SystemTime::now(),
        })
    }

    /// What recovery found at start, if the journal or snapshot directory held data.
    pub fn recovery(&self) -> Option<&crate::journal::recovery::RecoveryReport> {
        self.recovery.as_ref()
    }

    /// Snapshot every book now: each worker captures its books between two commands (at a
    /// consistent per-symbol sequence number) and the snapshot writer makes the files
    /// durable. Blocks until every file is written.
    pub fn snapshot(&self) -> EngineResult<Vec<SystemReport>> {
        if self.shared.snapshotter.is_none() {
            return Err(EngineError::InvalidConfig(
                "snapshots are not enabled (set snapshots.enabled: true and snapshots.directory)".into(),
            ));
        }
        let pending: Vec<_> = (0..self.symbol_count() as u32)
            .map(|s| self.send(s, Request::Snapshot, false, None))
            .collect::<Result<_, _>>()
            .map_err(EngineError::from)?;
        pending.into_iter().map(|p| p.wait().map_err(EngineError::from)).collect()
    }

    /// The journal committers' counters (one per worker; empty without a journal).
    pub fn journal_counters(&self) -> Vec<&JournalCounters> {
        self.shared.committers.iter().map(|c| &c.counters).collect()
    }

    /// The snapshot writer's counters (without snapshots, `None`).
    pub fn snapshot_counters(&self) -> Option<&SnapshotCounters> {
        self.shared.snapshotter.as_deref().map(|s| &s.counters)
    }

    /// The statistics configuration, when statistics are enabled.
    pub fn statistics_config(&self) -> Option<&crate::stats::StatsConfig> {
        self.shared.stats.as_ref().map(|s| &s.config)
    }

    /// Take up to `max` closed statistics rows (oldest first). Rows wait in a bounded queue
    /// until drained; when it is full, workers drop new rows and count them
    /// ([`TradingSystem::statistics_rows_dropped`]). Callers serialise on a mutex, which
    /// no worker ever takes.
    pub fn drain_statistics(&self, max: usize) -> Vec<crate::stats::StatsRecord> {
        let mut guard = self.stats_rows.lock().unwrap_or_else(|p| p.into_inner());
        let Some(rows) = guard.as_mut() else { return Vec::new() };
        let mut out = Vec::new();
        while out.len() < max {
            match rows.pop() {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    }

    /// Statistics rows dropped so far because nobody drained the queue in time.
    pub fn statistics_rows_dropped(&self) -> u64 {
        self.shared.stats.as_ref().map_or(0, |s| s.dropped.load(Ordering::Relaxed))
    }

    /// Live counters of one symbol (commands, trades, rejects), written by its worker with
    /// relaxed stores; read them with relaxed loads from any thread (`None`: no such symbol).
    pub fn symbol_counters(&self, symbol: u32) -> Option<&SymbolCounters> {
        self.shared.symbols.get(symbol as usize).map(|s| &*s.counters)
    }

    /// Each worker's command-latency histogram (enqueue to the worker having run the
    /// queue entry), in worker order. Recorded only with statistics enabled
    /// ([`TradingSystem::statistics_config`] is `Some`); otherwise every count stays 0.
    pub fn latency_histograms(&self) -> Vec<&LatencyHistogram> {
        self.shared.workers.iter().map(|w| &*w.latency).collect()
    }

    /// When the system started (wall clock).
    pub fn started_at(&self) -> std::time::SystemTime {
        self.started_at
    }

    /// Close every statistics period of `symbol` that ended by `now` (the worker's clock
    /// when `None`): a command through the symbol's queue and journal, so quiet symbols get
    /// their rows and a replay closes the same periods. Returns once the worker ran it.
    pub fn close_periods(&self, symbol: u32, now: Option<crate::Timestamp>) -> Reply {
        self.execute(symbol, Request::ClosePeriods { now: now.unwrap_or(0) }, now.is_none())
    }

    /// Number of symbols.
    pub fn symbol_count(&self) -> usize {
        self.shared.symbols.len()
    }

    /// Name of symbol `index`.
    pub fn symbol_name(&self, index: u32) -> Option<&str> {
        self.shared.symbols.get(index as usize).map(|s| s.name.as_str())
    }

    /// Index of a symbol by name.
    pub fn symbol_index(&self, name: &str) -> EngineResult<u32> {
        self.shared
            .symbols
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as u32)
            .ok_or_else(|| EngineError::UnknownSymbol(name.to_string()))
    }

    /// Worker that owns each symbol.
    pub fn assignment(&self) -> &[usize] {
        &self.assignment
    }

    /// Number of worker threads.
    pub fn worker_count(&self) -> usize {
        self.shared.workers.len()
    }

    /// Read-only access to a symbol's book (a [`BookReader`]); nothing it offers waits for
    /// the worker or delays it. Best prices, `len` and `sequence` are wait-free, `depth_at`
    /// is wait-free apart from its epoch pin, and `depth`, `level` and `top_of_book` are
    /// lock-free. Submit through the system: the worker owns the book's only `BookWriter`
    /// (its writer-side `state_hash` is [`TradingSystem::state_hash`]).
    pub fn book(&self, symbol: u32) -> EngineResult<BookReader> {
        let slot = self.slot(symbol)?;
        Ok(slot.book.get().expect("built at start").clone())
    }

    /// The book's [`state_hash`](BookWriter::state_hash), answered by its worker between two
    /// commands (so it covers every command queued before this call). Blocks until then.
    pub fn state_hash(&self, symbol: u32) -> EngineResult<u64> {
        match self.execute(symbol, Request::StateHash, false)?.outcome {
            Outcome::StateHash(h) => Ok(h),
            other => unreachable!("a state-hash query answered {other:?}"),
        }
    }

    /// The top `levels` levels of each side exactly as command `.0` (the symbol's command
    /// sequence) left them, answered by the symbol's worker between commands (blocks until
    /// it is its turn). Events of later commands, applied to it, keep it exact.
    pub fn consistent_depth(&self, symbol: u32, levels: usize) -> EngineResult<(u64, crate::book::Depth)> {
        let r = self.execute(symbol, Request::Depth { levels }, false)?;
        match r.outcome {
            Outcome::Depth(d) => Ok((r.command_sequence, d)),
            other => unreachable!("a depth query answered {other:?}"),
        }
    }

    /// Send a request; the returned [`Pending`] yields the reply. `worker_time` lets the
    /// worker stamp the command with its clock (monotonic per symbol) instead of the
    /// request's own timestamp. `notify(token)` is called by the worker once the reply is in.
    pub fn send(
        &self,
        symbol: u32,
        request: Request,
        worker_time: bool,
        notify: Option<(Notify, u64)>,
    ) -> Result<Pending<Reply>, Refusal> {
        let slot = self.slot(symbol).map_err(Refusal::before_queue)?;
        check_band(slot, &request).map_err(Refusal::before_queue)?;
        let (replier, pending) = reply_slot(notify, || Err(Refusal::before_queue(EngineError::SystemClosed)));
        let enqueued_ns = self.shared.stats.as_ref().map_or(0, StatsShared::now_ns);
        self.enqueue(Envelope { symbol, request, worker_time, reply: Some(replier), enqueued_ns })?;
        Ok(pending)
    }

    /// Send a request and wait for its reply.
    pub fn execute(&self, symbol: u32, request: Request, worker_time: bool) -> Reply {
        self.send(symbol, request, worker_time, None)?.wait()
    }

    fn slot(&self, symbol: u32) -> EngineResult<&SymbolSlot> {
        self.shared
            .symbols
            .get(symbol as usize)
            .ok_or_else(|| EngineError::UnknownSymbol(format!("#{symbol}")))
    }

    fn enqueue(&self, env: Envelope) -> Result<(), Refusal> {
        let shared = &*self.shared;
        let slot = &shared.symbols[env.symbol as usize];
        let worker = &shared.workers[slot.worker];
        // Held until the push is done: shutdown waits for every holder before the drain.
        // One gate per worker, so submitters to different workers share no cache line.
        let Some(_inside) = worker.gate.enter() else {
            return Err(Refusal::before_queue(EngineError::SystemClosed));
        };
        if let Some(reason) = slot.halted() {
            return Err(Refusal::before_queue(EngineError::SymbolHalted {
                symbol: slot.name.clone(),
                reason,
            }));
        }
        let mut env = env;
        let backoff = Backoff::new();
        loop {
            match worker.queue.push(env) {
                Ok(()) => break,
                Err(back) => {
                    env = back;
                    if shared.on_full == OnFull::Reject {
                        return Err(Refusal::before_queue(EngineError::QueueFull {
                            symbol: slot.name.clone(),
                            capacity: worker.queue.capacity(),
                        }));
                    }
                    if worker.gate.is_closing() {
                        return Err(Refusal::before_queue(EngineError::SystemClosed));
                    }
                    worker.wake();
                    if backoff.is_completed() {
                        std::thread::sleep(Duration::from_micros(50));
                    } else {
                        backoff.snooze();
                    }
                }
            }
        }
        worker.wake();
        Ok(())
    }

    /// A new subscription to every symbol's events, starting with the next one published.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            shared: Arc::clone(&self.shared),
            cursors: self.shared.workers.iter().map(|w| Cursor::at_end(&w.ring)).collect(),
            next_worker: 0,
        }
    }

    /// Symbols halted by a worker failure, with the reason.
    pub fn halted(&self) -> Vec<(String, String)> {
        self.shared.symbols.iter().filter_map(|s| s.halted().map(|r| (s.name.clone(), r))).collect()
    }

    /// Per-worker statistics.
    pub fn worker_stats(&self) -> Vec<WorkerStats> {
        self.shared
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| WorkerStats {
                symbols: (0..self.assignment.len())
                    .filter(|&s| self.assignment[s] == i)
                    .map(|s| s as u32)
                    .collect(),
                queued: w.queue.len(),
                processed: w.processed.load(Ordering::Relaxed),
                events_published: w.ring.published(),
                events_lost: w.events_lost.load(Ordering::Relaxed),
                core: self.cores[i],
            })
            .collect()
    }

    /// Whether shutdown has begun.
    pub fn is_closed(&self) -> bool {
        self.shared.workers.first().is_some_and(|w| w.gate.is_closing())
    }

    /// Stop accepting, let every queued command run and be answered, join the workers.
    /// Idempotent; callable from any thread (later callers wait for the first to finish).
    pub fn shutdown(&self) {
        let shared = &*self.shared;
        for w in &shared.workers {
            w.gate.close();
        }
        for w in &shared.workers {
            w.stop.store(true, Ordering::Release);
            if let Some(t) = w.thread.get() {
                t.unpark();
            }
        }
        let taken = self.handles.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if taken.is_null() {
            while !self.joined.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_micros(200));
            }
            return;
        }
        // SAFETY: the pointer came from `Box::into_raw` in `start`, and the swap above gave
        // it to exactly one caller.
        let handles = unsafe { Box::from_raw(taken) };
        for h in *handles {
            // A worker never panics itself (commands run under catch_unwind).
            let _ = h.join();
        }
        // The workers have handed over their last rounds and shutdown snapshots: let the
        // committers write them and the snapshot writer finish, then join them.
        let background = std::mem::take(&mut *self.background.lock().unwrap_or_else(|p| p.into_inner()));
        stop_background(shared, background);
        self.joined.store(true, Ordering::Release);
    }
}

impl Drop for TradingSystem {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Stop the committers (each writes what is queued first), then the snapshot writer, and
/// join them.
fn stop_background(shared: &Shared, handles: Vec<JoinHandle<()>>) {
    for c in &shared.committers {
        c.stop.store(true, Ordering::Release);
        c.bell.unpark();
    }
    let (journal, snapshots): (Vec<_>, Vec<_>) =
        handles.into_iter().partition(|h| h.thread().name().is_some_and(|n| n.starts_with("lft-journal")));
    for h in journal {
        let _ = h.join();
    }
    if let Some(s) = &shared.snapshotter {
        s.stop.store(true, Ordering::Release);
        s.bell.unpark();
    }
    for h in snapshots {
        let _ = h.join();
    }
}

/// Refuse a request with any limit price outside the symbol's band: single orders and
/// modifies, every row of a batch (0 is a market row) and every command of a list.
fn check_band(slot: &SymbolSlot, request: &Request) -> EngineResult<()> {
    let Some((lo, hi)) = slot.price_band else { return Ok(()) };
    let check = |p: Option<crate::Ticks>| match p {
        Some(p) if p < lo || p > hi => Err(EngineError::InvalidOrder(format!(
            "price {p} ticks is outside {}'s price band {lo}..={hi} ticks",
            slot.name
        ))),
        _ => Ok(()),
    };
    match request {
        Request::New(o) => check(o.price),
        Request::Modify(m) => check(m.price),
        Request::Batch(b) => b.price.iter().try_for_each(|&p| check((p != 0).then_some(p))),
        Request::Commands(list) => list.iter().try_for_each(|c| match c {
            crate::Command::New(o) => check(o.price),
            crate::Command::Modify(m) => check(m.price),
            _ => Ok(()),
        }),
        _ => Ok(()),
    }
}

pub(crate) use crate::error::panic_text;

/// A subscriber's view of every worker's event ring. Events of one symbol come in
/// sequence order; events of different symbols interleave.
pub struct Subscription {
    shared: Arc<Shared>,
    cursors: Vec<Cursor>,
    next_worker: usize,
}

impl Subscription {
    /// The next event published, if any (never blocks).
    pub fn poll(&mut self) -> Option<FeedEvent> {
        let n = self.cursors.len();
        for k in 0..n {
            let i = (self.next_worker + k) % n;
            let lost = self.cursors[i].lost;
            let got = self.cursors[i].poll(&self.shared.workers[i].ring);
            let missed = self.cursors[i].lost - lost;
            if missed > 0 {
                self.shared.workers[i].events_lost.fetch_add(missed, Ordering::Relaxed);
            }
            if let Some(e) = got {
                self.next_worker = (i + 1) % n;
                return Some(e);
            }
        }
        None
    }

    /// Events this subscriber missed because it fell more than a ring behind.
    pub fn lost(&self) -> u64 {
        self.cursors.iter().map(|c| c.lost).sum()
    }

    /// Whether every event published so far has been read (or counted lost).
    pub fn caught_up(&self) -> bool {
        self.cursors.iter().zip(&self.shared.workers).all(|(c, w)| c.next >= w.ring.published())
    }
}
