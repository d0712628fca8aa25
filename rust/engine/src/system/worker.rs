//! A worker thread: the one owner of its symbols' books. It takes commands from its queue
//! in batches, runs each through the book exactly as if it came alone, answers the
//! submitter and publishes the events to its broadcast ring.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_utils::{Backoff, CachePadded};

use super::broadcast::EventRing;
use super::committer::{Chunk, CommitterShared};
use super::feed::{report_events, FeedEvent, FeedKind};
use super::queue::{command_queue, QueueConsumer, QueueProducer};
use super::reply::Replier;
use super::request::{CommandsSummary, Outcome, Request, SystemReport};
use super::snapshotter::SnapshotJob;
use super::{Refusal, Reply, Shared, StatsShared};
use crate::book::{BatchOutput, BookWriter};
use crate::error::EngineError;
use crate::event::ExecutionReport;
use crate::journal::record::{encode_halted, encode_request};
use crate::journal::recovery::RecoveredBook;
use crate::primitive::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use crate::primitive::thread::{park_timeout, Thread};
use crate::stats::{BookCollector, Ran, WorkerCollector};
use crate::types::Timestamp;

/// One queued command.
pub(crate) struct Envelope {
    /// Index of the symbol in the system.
    pub(crate) symbol: u32,
    pub(crate) request: Request,
    /// Let the worker stamp the command with its clock.
    pub(crate) worker_time: bool,
    pub(crate) reply: Option<Replier<Reply>>,
    /// When it was queued (`StatsShared::now_ns`; 0 without statistics).
    pub(crate) enqueued_ns: u64,
}

/// What a worker shares with submitters and the system.
pub(crate) struct WorkerShared {
    pub(crate) queue: QueueProducer<Envelope>,
    /// Submitters pass it to push; shutdown closes it before the final drain.
    pub(crate) gate: super::admission::Admission,
    pub(crate) ring: EventRing,
    /// Set while the worker is parked (or about to park): submitters unpark it.
    pub(crate) sleeping: CachePadded<AtomicBool>,
    /// Set by shutdown once no submitter can enqueue any more: drain and exit.
    pub(crate) stop: AtomicBool,
    /// Commands processed (for statistics).
    pub(crate) processed: AtomicU64,
    /// Events subscribers missed on this ring (added by subscribers when they skip).
    pub(crate) events_lost: AtomicU64,
    /// The worker's thread, for unparking.
    pub(crate) thread: std::sync::OnceLock<Thread>,
    /// Command latencies (with statistics on), written by the worker only, on cache lines
    /// of their own.
    pub(crate) latency: CachePadded<super::live::LatencyHistogram>,
}

impl WorkerShared {
    /// The shared half of a worker, and the consuming end of its queue (for its thread).
    pub(crate) fn new(queue_capacity: usize, event_capacity: usize) -> (Self, QueueConsumer<Envelope>) {
        let (queue, consumer) = command_queue(queue_capacity);
        let shared = WorkerShared {
            queue,
            gate: super::admission::Admission::new(),
            ring: EventRing::new(event_capacity),
            sleeping: CachePadded::new(AtomicBool::new(false)),
            stop: AtomicBool::new(false),
            processed: AtomicU64::new(0),
            events_lost: AtomicU64::new(0),
            thread: std::sync::OnceLock::new(),
            latency: CachePadded::new(super::live::LatencyHistogram::default()),
        };
        (shared, consumer)
    }

    /// Wake the worker if it sleeps. Called by submitters after a push.
    pub(crate) fn wake(&self) {
        // Pairs with the fence in `sleep`: either the worker sees our item, or we see it asleep.
        if !crate::primitive::mutant::active("wake-no-fence") {
            fence(Ordering::SeqCst);
        }
        if self.sleeping.load(Ordering::Relaxed) {
            if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
    }
}

/// Per-symbol state only the owning worker touches.
pub(crate) struct Owned {
    pub(crate) index: u32,
    /// Position in this worker's journal symbol table.
    pub(crate) local: u32,
    pub(crate) book: BookWriter,
    pub(crate) command_sequence: u64,
    pub(crate) last_time: Timestamp,
    /// Command sequence of the last snapshot captured (or recovered from).
    snapshot_sequence: u64,
    /// Its statistics, when enabled.
    stats: Option<BookCollector>,
}

/// Where a worker's replies, events, journal records and statistics rows go.
pub(crate) struct Outbox<'a> {
    ring: &'a EventRing,
    /// With a journal: the round's records and what they release, handed to the committer.
    journal: Option<(&'a CommitterShared, Chunk)>,
    /// With statistics: where closed rows go, and the worker's own collector.
    stats: Option<(&'a StatsShared, WorkerCollector)>,
}

impl Outbox<'_> {
    fn publish(&mut self, e: FeedEvent) {
        match &mut self.journal {
            None => self.ring.publish(&e),
            Some((_, chunk)) => chunk.events.push(e),
        }
    }

    fn reply(&mut self, r: Replier<Reply>, answer: Reply) {
        match &mut self.journal {
            None => r.fill(answer),
            Some((_, chunk)) => chunk.replies.push((chunk.events.len(), r, answer)),
        }
    }

    fn frames(&mut self) -> Option<&mut Vec<u8>> {
        self.journal.as_mut().map(|(_, c)| &mut c.frames)
    }

    /// End of a round: hand the round to the committer.
    fn flush(&mut self) {
        if let Some((committer, chunk)) = &mut self.journal {
            if !chunk.is_empty() {
                let next = chunk.like();
                let full = std::mem::replace(chunk, next);
                committer.hand_off(full);
            }
        }
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn wall_clock_ns() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

/// The books a worker starts with: (symbol index, the book and where its sequence stands).
pub(crate) type StartBook = (u32, RecoveredBook);

/// The worker loop: the only owner of `books` (their writers) and of the queue's consumer.
pub(crate) fn run(shared: Arc<Shared>, me: usize, books: Vec<StartBook>, mut queue: QueueConsumer<Envelope>) {
    let worker = &shared.workers[me];
    let mut owned: Vec<Option<Owned>> = (0..shared.symbols.len()).map(|_| None).collect();
    let stats = shared.stats.as_ref();
    let mut recovered_any = false;
    for (local, (s, start)) in books.into_iter().enumerate() {
        let RecoveredBook { mut book, command_sequence, snapshot_sequence, last_time } = start;
        book.track_level_changes(true);
        recovered_any |= command_sequence > 0;
        let collector = stats.map(|st| {
            BookCollector::new(s, &st.config, &mut book, (command_sequence > 0).then_some(last_time))
        });
        owned[s as usize] = Some(Owned {
            index: s,
            local: local as u32,
            book,
            command_sequence,
            last_time,
            snapshot_sequence,
            stats: collector,
        });
    }
    let mut out = Outbox {
        ring: &worker.ring,
        journal: shared.committers.get(me).map(|c| (c, Chunk::default())),
        stats: stats.map(|st| (st, WorkerCollector::new(me as u32, &st.config, recovered_any))),
    };
    let snapshots = shared.snapshot_config.as_ref();
    let interval = snapshots.and_then(|c| c.interval);
    let mut next_snapshot = interval.map(|d| std::time::Instant::now() + d);
    let batch = shared.batch_size;
    let mut scratch = Scratch::new();
    loop {
        let mut taken = 0;
        if let Some((_, w)) = out.stats.as_mut() {
            w.queue_depth(worker.queue.len());
        }
        while taken < batch {
            let Some(env) = queue.pop() else { break };
            taken += 1;
            let enqueued_ns = env.enqueued_ns;
            let Some(state) = owned[env.symbol as usize].as_mut() else {
                // Cannot happen: submitters route by the same assignment.
                if let Some(r) = env.reply {
                    out.reply(
                        r,
                        Err(Refusal::before_queue(EngineError::UnknownSymbol(env.symbol.to_string()))),
                    );
                }
                continue;
            };
            // `run_one` already contains panics from the book; this guards the worker's own
            // code, so a bug there halts one symbol instead of silencing the whole worker.
            let symbol = env.symbol as usize;
            let before_sequence = state.command_sequence;
            let handled =
                catch_unwind(AssertUnwindSafe(|| handle(&shared, state, env, &mut scratch, &mut out)));
            if let Err(panic) = handled {
                let why = format!("worker failed outside the book: {}", super::panic_text(&*panic));
                eprintln!("lockfree-trading: symbol {} halted: {why}", shared.symbols[symbol].name);
                shared.symbols[symbol].halt(why);
                scratch = Scratch::new();
            }
            if let Some((st, w)) = out.stats.as_mut() {
                let state = owned[symbol].as_ref().expect("checked above");
                let commands = state.command_sequence - before_sequence;
                // Queries (state hash, snapshot) take no sequence number: not commands.
                if commands > 0 {
                    w.advance(state.last_time, || gauges(&shared, me), &mut |r| st.emit(r));
                    let latency_ns = st.now_ns().saturating_sub(enqueued_ns);
                    w.entry_done(commands, latency_ns);
                    worker.latency.record(latency_ns);
                }
            }
        }
        if let Some(every) = snapshots.and_then(|c| c.every_commands) {
            for state in owned.iter_mut().flatten() {
                if state.command_sequence >= state.snapshot_sequence + every {
                    capture(&shared, state, None, &mut out);
                }
            }
        }
        if let (Some(at), Some(d)) = (next_snapshot, interval) {
            if std::time::Instant::now() >= at {
                for state in owned.iter_mut().flatten() {
                    if state.command_sequence != state.snapshot_sequence {
                        capture(&shared, state, None, &mut out);
                    }
                }
                next_snapshot = Some(std::time::Instant::now() + d);
            }
        }
        out.flush();
        if taken > 0 {
            worker.processed.fetch_add(taken as u64, Ordering::Relaxed);
            continue;
        }
        if worker.stop.load(Ordering::Acquire) {
            // No submitter can enqueue now; drain what is left and leave.
            if queue.is_empty() {
                if snapshots.is_some_and(|c| c.on_shutdown) {
                    for state in owned.iter_mut().flatten() {
                        if state.command_sequence != state.snapshot_sequence || state.command_sequence == 0 {
                            capture(&shared, state, None, &mut out);
                        }
                    }
                }
                if let Some((st, w)) = out.stats.as_mut() {
                    // The periods still open, as incomplete rows (a restart adds to them).
                    for state in owned.iter_mut().flatten() {
                        if let Some(c) = state.stats.as_mut() {
                            c.flush(&mut state.book, &mut |r| st.emit(r));
                        }
                    }
                    w.flush(gauges(&shared, me), &mut |r| st.emit(r));
                }
                out.flush();
                return;
            }
            continue;
        }
        idle(worker, &queue);
    }
}

/// The cumulative counters a worker's statistics rows take differences of.
fn gauges(shared: &Shared, me: usize) -> crate::stats::Gauges {
    let w = &shared.workers[me];
    let mut g = crate::stats::Gauges {
        events_published: w.ring.published(),
        events_lost: w.events_lost.load(Ordering::Relaxed),
        rows_dropped: shared.stats.as_ref().map_or(0, |s| s.dropped.load(Ordering::Relaxed)),
        ..Default::default()
    };
    if let Some(c) = shared.committers.get(me) {
        let c = &c.counters;
        g.journal_bytes = c.bytes_written.load(Ordering::Relaxed);
        g.journal_records = c.records.load(Ordering::Relaxed);
        g.journal_syncs = c.syncs.load(Ordering::Relaxed);
        g.journal_sync_ns = c.sync_ns.load(Ordering::Relaxed);
    }
    g
}

/// Capture a book (the worker's whole pause) and hand it to the snapshot writer.
fn capture(shared: &Shared, state: &mut Owned, reply: Option<Replier<Reply>>, out: &mut Outbox<'_>) {
    let Some(writer) = shared.snapshotter.as_ref() else {
        if let Some(r) = reply {
            r.fill(Err(Refusal::before_queue(EngineError::InvalidConfig(
                "snapshots are not enabled (snapshots.enabled: true, snapshots.directory)".into(),
            ))));
        }
        return;
    };
    if state.book.poisoned().is_some() {
        return;
    }
    let started = std::time::Instant::now();
    let image = state.book.capture();
    let capture_ns = started.elapsed().as_nanos() as u64;
    if let Some((_, w)) = out.stats.as_mut() {
        w.snapshot_taken(capture_ns);
    }
    state.snapshot_sequence = state.command_sequence;
    writer.submit(SnapshotJob {
        symbol: state.index,
        name: shared.symbols[state.index as usize].name.clone(),
        command_sequence: state.command_sequence,
        last_time: state.last_time,
        image,
        capture_ns,
        reply,
    });
}

/// How long an idle worker keeps polling its queue before it parks. Waking a parked
/// thread costs tens of microseconds on a VM; a command arriving within this window is
/// picked up in well under one.
const IDLE_SPIN: Duration = Duration::from_micros(100);

/// Nothing queued: spin a while, then park until a submitter wakes us.
fn idle(worker: &WorkerShared, queue: &QueueConsumer<Envelope>) {
    let backoff = Backoff::new();
    let start = std::time::Instant::now();
    loop {
        if !queue.is_empty() || worker.stop.load(Ordering::Relaxed) {
            return;
        }
        if backoff.is_completed() {
            if start.elapsed() >= IDLE_SPIN {
                break;
            }
            std::hint::spin_loop();
        } else {
            backoff.snooze();
        }
    }
    sleep(worker, queue);
}

/// Announce that we sleep, look at the queue once more, and park unless something arrived.
/// The handshake with [`WorkerShared::wake`] (checked by the loom model below): either the
/// re-check sees a submitter's item, or that submitter sees `sleeping` and unparks us.
fn sleep(worker: &WorkerShared, queue: &QueueConsumer<Envelope>) {
    worker.sleeping.store(true, Ordering::Relaxed);
    if !crate::primitive::mutant::active("sleep-no-fence") {
        fence(Ordering::SeqCst);
    }
    if queue.is_empty() && !worker.stop.load(Ordering::Relaxed) {
        // The timeout bounds the cost of any missed wake-up to a millisecond.
        park_timeout(Duration::from_millis(1));
    }
    worker.sleeping.store(false, Ordering::Relaxed);
}

/// Scratch buffer a worker reuses across commands.
pub(crate) struct Scratch {
    report: ExecutionReport,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Scratch { report: ExecutionReport::default() }
    }
}

fn handle(shared: &Shared, state: &mut Owned, env: Envelope, scratch: &mut Scratch, out: &mut Outbox<'_>) {
    let slot = &shared.symbols[state.index as usize];
    let Envelope { request, worker_time, reply, .. } = env;
    if let Some(reason) = slot.halted() {
        if let Some(r) = reply {
            out.reply(
                r,
                Err(Refusal::before_queue(EngineError::SymbolHalted { symbol: slot.name.clone(), reason })),
            );
        }
        return;
    }
    let answer = match request {
        // A query of the writer's own structures: answered here, by the book's owner; not a
        // command (no sequence number, no event).
        Request::StateHash => Ok(SystemReport {
            symbol: state.index,
            command_sequence: state.command_sequence,
            timestamp: state.last_time,
            outcome: Outcome::StateHash(state.book.state_hash()),
        }),
        // Read by the writer's own thread between commands: a consistent view.
        Request::Depth { levels } => Ok(SystemReport {
            symbol: state.index,
            command_sequence: state.command_sequence,
            timestamp: state.last_time,
            outcome: Outcome::Depth(state.book.reader().depth(levels)),
        }),
        // Answered by the snapshot writer once the file is durable.
        Request::Snapshot => {
            capture(shared, state, reply, out);
            return;
        }
        Request::Commands(commands) => {
            let mut sum = CommandsSummary::default();
            for c in commands {
                if slot.halted().is_some() {
                    break;
                }
                sum.commands += 1;
                match run_one(shared, state, c.into(), worker_time, scratch, out) {
                    Ok(done) => {
                        sum.trades += scratch.report.trades.len() as u64;
                        sum.events += done.events;
                    }
                    Err(refusal) => {
                        sum.rejected += 1;
                        sum.not_found += u64::from(matches!(refusal.error, EngineError::OrderNotFound(_)));
                    }
                }
                sum.last_command_sequence = state.command_sequence;
            }
            match slot.halted() {
                Some(reason) => Err(Refusal {
                    command_sequence: state.command_sequence,
                    error: EngineError::SymbolHalted { symbol: slot.name.clone(), reason },
                }),
                None => Ok(SystemReport {
                    symbol: state.index,
                    command_sequence: state.command_sequence,
                    timestamp: state.last_time,
                    outcome: Outcome::Commands(sum),
                }),
            }
        }
        request => run_one(shared, state, request, worker_time, scratch, out).map(|done| SystemReport {
            symbol: state.index,
            command_sequence: done.command_sequence,
            timestamp: done.timestamp,
            outcome: match done.batch {
                Some(out) => Outcome::Batch(out),
                None => Outcome::Report(std::mem::take(&mut scratch.report)),
            },
        }),
    };
    if let Some(r) = reply {
        out.reply(r, answer);
    }
}

/// What one command did (its report stays in the scratch buffer).
struct Done {
    command_sequence: u64,
    timestamp: Timestamp,
    events: u64,
    batch: Option<BatchOutput>,
}

/// Halt a symbol whose book failed: print why, publish a halted event, refuse the command.
#[allow(clippy::too_many_arguments)]
fn halt(
    slot: &super::SymbolSlot,
    out: &mut Outbox<'_>,
    symbol: u32,
    seq: u64,
    timestamp: Timestamp,
    order_id: crate::OrderId,
    reason: String,
) -> Refusal {
    slot.halt(reason.clone());
    eprintln!("lockfree-trading: symbol {} halted: {reason}", slot.name);
    out.publish(FeedEvent::notice(symbol, FeedKind::Halted, seq, timestamp, order_id, 0));
    Refusal { command_sequence: seq, error: EngineError::SymbolHalted { symbol: slot.name.clone(), reason } }
}

/// The book call of one command: the one mapping from a [`Request`] to the book, shared by
/// the worker and by recovery's replay (so a replay runs exactly what ran).
pub(crate) fn apply_request(
    book: &mut BookWriter,
    request: &Request,
    report: &mut crate::event::ExecutionReport,
) -> crate::EngineResult<Option<BatchOutput>> {
    match request {
        Request::New(o) => book.submit_into(o, report).map(|()| None),
        Request::Cancel { id, timestamp } => book.cancel_into(*id, *timestamp, report).map(|()| None),
        Request::Modify(m) => book.modify_into(m, report).map(|()| None),
        Request::Expire { now } => {
            report.clear();
            book.expire(*now).map(|updates| {
                report.updates = updates;
                None
            })
        }
        Request::EndOfDay { now } => {
            report.clear();
            book.end_of_day(*now).map(|updates| {
                report.updates = updates;
                None
            })
        }
        Request::Batch(b) => {
            let mut out = BatchOutput::default();
            book.submit_batch_with_events(&b.as_input(), &mut out, report).map(|()| Some(out))
        }
        // Statistics only (the worker closes the periods before it gets here).
        Request::ClosePeriods { .. } => {
            report.clear();
            Ok(None)
        }
        Request::Commands(_) => Err(EngineError::invalid("nested command lists are not supported")),
        Request::StateHash | Request::Depth { .. } | Request::Snapshot => {
            Err(EngineError::invalid("a query is not a command"))
        }
        Request::InjectPanic => panic!("injected panic (test of the halting path)"),
    }
}

/// Run one command through the book exactly as if it came alone, journal it, publish its
/// events.
fn run_one(
    shared: &Shared,
    state: &mut Owned,
    mut request: Request,
    worker_time: bool,
    scratch: &mut Scratch,
    out: &mut Outbox<'_>,
) -> Result<Done, Refusal> {
    let slot = &shared.symbols[state.index as usize];
    state.command_sequence += 1;
    let seq = state.command_sequence;
    if worker_time {
        let now = wall_clock_ns().max(state.last_time);
        request.set_timestamp(now);
    }
    let timestamp = request.timestamp();
    state.last_time = state.last_time.max(timestamp);
    let order_id = request.order_id();
    if let (Some(c), Some((st, _))) = (state.stats.as_mut(), out.stats.as_ref()) {
        c.before(timestamp, &mut state.book, &mut |r| st.emit(r));
    }
    let book = &mut state.book;
    let Scratch { report } = scratch;
    let ran = catch_unwind(AssertUnwindSafe(|| apply_request(book, &request, report)));
    // Every command that took a sequence number is journaled, refused ones too; one that
    // failed inside the book is journaled as HALTED (it replays as nothing).
    let local = state.local;
    if let Some(frames) = out.frames() {
        match &ran {
            Ok(Err(EngineError::BookPoisoned { .. })) | Err(_) => {
                encode_halted(frames, local, seq, timestamp)
            }
            Ok(_) => encode_request(frames, local, seq, &request),
        }
    }
    let symbol = state.index;
    if let Some(c) = state.stats.as_mut() {
        if !matches!(request, Request::ClosePeriods { .. }) {
            let seen = match &ran {
                Ok(Ok(batch)) => Some(Ran::Done(batch.as_ref())),
                Ok(Err(EngineError::BookPoisoned { .. })) | Err(_) => None,
                Ok(Err(e)) => Some(Ran::Refused(e)),
            };
            if let Some(seen) = seen {
                c.after(&request, seen, report, state.book.level_changes(), &state.book);
            }
        }
    }
    if !matches!(request, Request::ClosePeriods { .. }) {
        use super::live::Ran as Live;
        slot.counters.ran(match &ran {
            Ok(Ok(batch)) => Live::Done(report, batch.as_ref()),
            // A failure inside the book halts the symbol (below): not a reject.
            Ok(Err(EngineError::BookPoisoned { .. })) | Err(_) => Live::Failed,
            Ok(Err(_)) => Live::Refused,
        });
    }
    match ran {
        Ok(Ok(batch)) => {
            let mut events = 0u64;
            report_events(symbol, seq, report, |e| {
                out.publish(e);
                events += 1;
            });
            // The writer logged every level it changed, with the state it left it in (a
            // tick does not reach the book: the log is still the previous command's).
            let changes: &[crate::LevelChange] = if matches!(request, Request::ClosePeriods { .. }) {
                &[]
            } else {
                state.book.level_changes()
            };
            for l in changes {
                out.publish(FeedEvent {
                    side: l.side,
                    price: l.price,
                    quantity: l.quantity,
                    remaining: l.order_count as i64,
                    ..FeedEvent::notice(symbol, FeedKind::Level, seq, timestamp, 0, 0)
                });
            }
            Ok(Done { command_sequence: seq, timestamp, events, batch })
        }
        Ok(Err(EngineError::BookPoisoned { reason, .. })) => {
            // Cannot happen: the panic that poisoned the book halted the symbol (below).
            let reason = format!("the book refused command {seq}: {reason}");
            Err(halt(slot, out, symbol, seq, timestamp, order_id, reason))
        }
        Ok(Err(error)) => {
            out.publish(FeedEvent::notice(
                symbol,
                FeedKind::CommandRejected,
                seq,
                timestamp,
                order_id,
                error.code(),
            ));
            Err(Refusal { command_sequence: seq, error })
        }
        Err(panic) => {
            let reason = format!("worker panicked on command {seq}: {}", super::panic_text(&*panic));
            Err(halt(slot, out, symbol, seq, timestamp, order_id, reason))
        }
    }
}

/// Loom models of the idle worker's sleep handshake. `park_timeout` is modelled as a park
/// that only an unpark ends (see `primitive::thread`), so a missed wake-up is a deadlock.
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    use super::{sleep, Envelope, QueueConsumer, WorkerShared};
    use crate::primitive::sync::atomic::Ordering;
    use crate::primitive::thread;
    use crate::system::request::Request;

    fn envelope() -> Envelope {
        Envelope { symbol: 0, request: Request::StateHash, worker_time: false, reply: None, enqueued_ns: 0 }
    }

    /// The worker's loop, cut down to what matters here (`run` without the books): take an
    /// item, or stop once told to and drained, or sleep. The yield stands for `idle`'s spin
    /// phase (a spinning thread, for loom, waits for another thread to make progress).
    /// Returns the items taken.
    fn worker_loop(shared: &WorkerShared, mut queue: QueueConsumer<Envelope>, want: usize) -> usize {
        let mut taken = 0;
        loop {
            if queue.pop().is_some() {
                taken += 1;
                if taken == want {
                    return taken;
                }
                continue;
            }
            if shared.stop.load(Ordering::Acquire) {
                if queue.is_empty() {
                    return taken;
                }
                continue;
            }
            sleep(shared, &queue);
            loom::thread::yield_now();
        }
    }

    /// A worker finding its queue empty goes to sleep while a submitter pushes and calls
    /// `wake`: the worker always gets the item (with either SeqCst fence removed, loom finds
    /// the store-buffering run in which the worker parks and nobody unparks it).
    #[test]
    fn loom_idle_worker_never_sleeps_through_a_submit() {
        loom::model(|| {
            let (shared, queue) = WorkerShared::new(2, 2);
            let shared = Arc::new(shared);
            let worker = {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || {
                    // As in `System::start`: the worker installs its own handle.
                    let _ = shared.thread.set(thread::current());
                    worker_loop(&shared, queue, 1)
                })
            };
            assert!(shared.queue.push(envelope()).is_ok(), "room for one");
            shared.wake();
            assert_eq!(worker.join().unwrap(), 1);
        });
    }

    /// Shutdown of an idle worker (as `System::shutdown` does it: stop, then an unconditional
    /// unpark, once the worker's handle is installed): the worker always exits.
    #[test]
    fn loom_idle_worker_exits_on_shutdown() {
        loom::model(|| {
            let (shared, queue) = WorkerShared::new(2, 2);
            let shared = Arc::new(shared);
            let started = Arc::new(AtomicBool::new(false));
            let worker = {
                let (shared, started) = (Arc::clone(&shared), Arc::clone(&started));
                loom::thread::spawn(move || {
                    let _ = shared.thread.set(thread::current());
                    // `start` hears from each worker (a channel) before it returns.
                    started.store(true, Ordering::Release);
                    worker_loop(&shared, queue, usize::MAX)
                })
            };
            while !started.load(Ordering::Acquire) {
                loom::thread::yield_now();
            }
            shared.gate.close();
            shared.stop.store(true, Ordering::Release);
            shared.thread.get().expect("installed before `started`").unpark();
            assert_eq!(worker.join().unwrap(), 0);
        });
    }
}
