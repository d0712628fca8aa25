//! Closed-loop throughput: one engine thread replays a pre-generated stream as fast as it
//! can, handing every event to a consumer thread over the SPSC ring (or, for reference,
//! tallying them in place).

use std::time::Instant;

use lft_workload::{generate, GeneratorConfig, Record, Scenario};
use serde::Serialize;

use crate::drive::EngineDriver;
use crate::events::{with_consumer_thread, EventTally, OutEvent, Sink};
use crate::stats::{median, rate};

/// Default ring capacity in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;

/// Outcome of one replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ReplayOutcome {
    /// Commands replayed.
    pub messages: u64,
    /// Commands the engine refused.
    pub rejected: u64,
    /// Events produced by the engine thread (reject notices included).
    pub events: u64,
    /// Trades among them.
    pub trades: u64,
    /// Events the consumer received (equals `events` with a consumer; 0 without).
    pub consumed: u64,
    /// Wall time of the replay in seconds (end-to-end: until the consumer has drained).
    pub seconds: f64,
}

impl ReplayOutcome {
    /// Commands per second.
    pub fn messages_per_s(&self) -> f64 {
        rate(self.messages, self.seconds)
    }
    /// Events per second.
    pub fn events_per_s(&self) -> f64 {
        rate(self.events, self.seconds)
    }
}

/// Replay on this thread, events tallied in place (no consumer thread).
pub fn replay_inline(records: &[Record]) -> (ReplayOutcome, EventTally) {
    crate::pinning::on_engine_thread(|| replay_inline_here(records))
}

fn replay_inline_here(records: &[Record]) -> (ReplayOutcome, EventTally) {
    let mut driver = EngineDriver::new();
    let mut tally = EventTally::default();
    let mut rejected = 0u64;
    let start = Instant::now();
    for r in records {
        rejected += !driver.apply(r, &mut tally) as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    let out = ReplayOutcome {
        messages: records.len() as u64,
        rejected,
        events: tally.events,
        trades: tally.trades,
        consumed: 0,
        seconds,
    };
    (out, tally)
}

/// Replay on this thread, every event pushed to a consumer thread over the ring.
/// Returns the outcome and what the consumer tallied.
pub fn replay_with_consumer(records: &[Record], queue_capacity: usize) -> (ReplayOutcome, EventTally) {
    crate::pinning::on_engine_thread(|| replay_with_consumer_here(records, queue_capacity))
}

fn replay_with_consumer_here(records: &[Record], queue_capacity: usize) -> (ReplayOutcome, EventTally) {
    let mut driver = EngineDriver::new();
    let ((start, rejected), sent, tally) = with_consumer_thread(queue_capacity, |sink| {
        let start = Instant::now();
        let mut rejected = 0u64;
        for r in records {
            rejected += !driver.apply(r, sink) as u64;
        }
        (start, rejected)
    });
    let seconds = start.elapsed().as_secs_f64();
    let out = ReplayOutcome {
        messages: records.len() as u64,
        rejected,
        events: sent,
        trades: tally.trades,
        consumed: tally.events,
        seconds,
    };
    (out, tally)
}

/// The engine's events for a stream, recorded once (untimed) so the hand-off alone can be
/// replayed: every event in order, and how many each command produced.
pub struct RecordedEvents {
    events: Vec<OutEvent>,
    per_command: Vec<u32>,
    /// Commands the engine refused (each left one reject notice among the events).
    rejected: u64,
}

struct Recorder<'a> {
    out: &'a mut RecordedEvents,
    this_command: u32,
}

impl Sink for Recorder<'_> {
    #[inline]
    fn event(&mut self, e: OutEvent) {
        self.out.rejected += matches!(e, OutEvent::Reject(_)) as u64;
        self.out.events.push(e);
        self.this_command += 1;
    }
    #[inline]
    fn end_command(&mut self) {
        self.out.per_command.push(self.this_command);
        self.this_command = 0;
    }
}

/// Run `records` through a fresh engine once, keeping every event.
pub fn record_events(records: &[Record]) -> RecordedEvents {
    let mut out =
        RecordedEvents { events: Vec::new(), per_command: Vec::with_capacity(records.len()), rejected: 0 };
    let mut driver = EngineDriver::new();
    let mut rec = Recorder { out: &mut out, this_command: 0 };
    for r in records {
        driver.apply(r, &mut rec);
    }
    out
}

/// The hand-off alone: the engine's recorded events pushed over the ring exactly as the
/// engine thread pushes them (published at the end of each command), with no matching.
/// Its messages/s estimate the ceiling of an engine handing this event stream over this
/// ring on this machine. An estimate, not a bound: the recorded events stream in from
/// memory, where an engine writes its events from cache.
pub fn replay_handoff_only(recorded: &RecordedEvents, queue_capacity: usize) -> ReplayOutcome {
    crate::pinning::on_engine_thread(|| {
        let (start, sent, tally) = with_consumer_thread(queue_capacity, |sink| {
            let start = Instant::now();
            let mut next = 0usize;
            for &n in &recorded.per_command {
                for e in &recorded.events[next..next + n as usize] {
                    sink.event(*e);
                }
                next += n as usize;
                sink.end_command();
            }
            start
        });
        ReplayOutcome {
            messages: recorded.per_command.len() as u64,
            rejected: recorded.rejected,
            events: sent,
            trades: tally.trades,
            consumed: tally.events,
            seconds: start.elapsed().as_secs_f64(),
        }
    })
}

/// Repeated measurements of one mode.
#[derive(Clone, Debug, Serialize)]
pub struct ModeResult {
    /// Median commands per second over the runs.
    pub messages_per_s: f64,
    /// Median events per second over the runs.
    pub events_per_s: f64,
    /// Commands per second of each run.
    pub runs_messages_per_s: Vec<f64>,
    /// Events produced per run (identical across runs).
    pub events: u64,
    /// Trades per run.
    pub trades: u64,
    /// Rejected commands per run.
    pub rejected: u64,
    /// With a consumer: every run's consumer received exactly the events sent.
    pub consumer_received_all: Option<bool>,
}

fn summarize(runs: &[ReplayOutcome], with_consumer: bool) -> ModeResult {
    let first = runs[0];
    ModeResult {
        messages_per_s: median(runs.iter().map(|r| r.messages_per_s()).collect()),
        events_per_s: median(runs.iter().map(|r| r.events_per_s()).collect()),
        runs_messages_per_s: runs.iter().map(|r| r.messages_per_s()).collect(),
        events: first.events,
        trades: first.trades,
        rejected: first.rejected,
        consumer_received_all: with_consumer.then(|| runs.iter().all(|r| r.consumed == r.events)),
    }
}

/// One scenario's throughput.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioThroughput {
    /// Scenario name.
    pub scenario: String,
    /// Commands in the stream.
    pub messages: u64,
    /// Seconds spent generating the stream (untimed for the replay).
    pub generate_seconds: f64,
    /// Engine thread + consumer thread over the SPSC ring (the headline mode).
    pub with_consumer: ModeResult,
    /// Same replay with events tallied in place, for reference.
    pub without_consumer: ModeResult,
    /// The hand-off alone: the same events over the same ring with no engine work
    /// ([`replay_handoff_only`]); an estimate of the ceiling of `with_consumer` here.
    pub handoff_only: ModeResult,
}

/// The whole throughput section.
#[derive(Clone, Debug, Serialize)]
pub struct ThroughputReport {
    /// Commands per scenario.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Runs per mode (medians are reported).
    pub repeat: usize,
    /// Ring capacity in events.
    pub queue_capacity: usize,
    /// Per scenario, in run order (a JSON object keyed by scenario name).
    #[serde(serialize_with = "scenarios_as_object")]
    pub scenarios: Vec<ScenarioThroughput>,
    /// The scenario with the lowest messages/s with a consumer.
    pub worst_scenario: String,
    /// Its messages/s.
    pub headline_messages_per_s: f64,
    /// Its events/s.
    pub headline_events_per_s: f64,
}

fn scenarios_as_object<S: serde::Serializer>(v: &[ScenarioThroughput], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|x| (&x.scenario, x)))
}

/// Generate and time each scenario.
pub fn run_throughput(
    scenarios: &[Scenario],
    count: usize,
    seed: u64,
    repeat: usize,
    queue_capacity: usize,
) -> ThroughputReport {
    let repeat = repeat.max(1);
    let mut out = Vec::new();
    for &sc in scenarios {
        let t = Instant::now();
        let records = generate(GeneratorConfig::new(sc, seed), count);
        let generate_seconds = t.elapsed().as_secs_f64();
        let recorded = record_events(&records);
        let mut with = Vec::new();
        let mut without = Vec::new();
        let mut handoff = Vec::new();
        for _ in 0..repeat {
            with.push(replay_with_consumer(&records, queue_capacity).0);
            without.push(replay_inline(&records).0);
            handoff.push(replay_handoff_only(&recorded, queue_capacity));
        }
        drop(recorded);
        let r = ScenarioThroughput {
            scenario: sc.name().to_string(),
            messages: records.len() as u64,
            generate_seconds,
            with_consumer: summarize(&with, true),
            without_consumer: summarize(&without, false),
            handoff_only: summarize(&handoff, true),
        };
        eprintln!(
            "  throughput {:<12} {:>6.2} M msg/s  {:>6.2} M events/s  (no consumer: {:>6.2} M msg/s; hand-off alone: {:>6.2} M msg/s)  events/msg {:.2}  trades {}  rejected {}",
            r.scenario,
            r.with_consumer.messages_per_s / 1e6,
            r.with_consumer.events_per_s / 1e6,
            r.without_consumer.messages_per_s / 1e6,
            r.handoff_only.messages_per_s / 1e6,
            r.with_consumer.events as f64 / r.messages.max(1) as f64,
            r.with_consumer.trades,
            r.with_consumer.rejected,
        );
        out.push(r);
    }
    let worst = out
        .iter()
        .min_by(|a, b| a.with_consumer.messages_per_s.total_cmp(&b.with_consumer.messages_per_s))
        .expect("at least one scenario");
    ThroughputReport {
        count,
        seed,
        repeat,
        queue_capacity,
        worst_scenario: worst.scenario.clone(),
        headline_messages_per_s: worst.with_consumer.messages_per_s,
        headline_events_per_s: worst.with_consumer.events_per_s,
        scenarios: out,
    }
}

/// A short single replay with a consumer, for sizing the latency rates.
pub fn quick_throughput(records: &[Record], queue_capacity: usize) -> f64 {
    replay_with_consumer(records, queue_capacity).0.messages_per_s()
}
