//! Open-loop latency. Command `i` is due at `t0 + i / rate`; the engine thread busy-waits
//! until then unless it is already late, processes the command, hands its events to the
//! consumer thread, and records `now - due` in an HdrHistogram. Measuring from the due
//! time (not from when the engine got round to the command) counts queueing behind slow
//! commands, so coordinated omission does not hide stalls.

use std::hint::spin_loop;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lft_workload::{generate, GeneratorConfig, Record, Scenario};
use serde::Serialize;

use crate::drive::EngineDriver;
use crate::events::{with_consumer_thread, OutEvent, QueueSink, RejectNotice, Sink};
use crate::stats::{median, rate};
use crate::throughput::quick_throughput;

/// Largest latency the histogram resolves (longer ones are clamped): 10 minutes.
const MAX_TRACKED_NS: u64 = 600_000_000_000;

/// Closed-loop runs (whole stream, with consumer) whose median sizes the default rates.
const PRE_RUNS: usize = 3;

/// Cost of one `Instant::now()` in nanoseconds (mean over `n` back-to-back calls).
pub fn instant_now_cost_ns(n: u32) -> f64 {
    let n = n.max(1);
    let start = Instant::now();
    let mut last = start;
    for _ in 0..n {
        last = std::hint::black_box(Instant::now());
    }
    last.duration_since(start).as_nanos() as f64 / n as f64
}

/// Latency percentiles in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p999: u64,
    /// 99.99th percentile.
    #[serde(rename = "p99.99")]
    pub p9999: u64,
    /// Maximum.
    pub max: u64,
}

/// One rate's result.
#[derive(Clone, Debug, Serialize)]
pub struct RateResult {
    /// Offered load in commands per second.
    pub rate: f64,
    /// Commands / (time from t0 until the last command finished).
    pub achieved_rate: f64,
    /// Commands replayed (= samples in the histogram).
    pub commands: u64,
    /// Commands that were already due when the engine got to them (no wait).
    pub late_starts: u64,
    /// Events handed to the consumer.
    pub events: u64,
    /// The consumer received every event.
    pub consumer_received_all: bool,
    /// Latency (finish − scheduled time) percentiles, ns.
    pub percentiles_ns: Percentiles,
    /// Mean, ns.
    pub mean_ns: f64,
    /// Times the engine thread's clock jumped by more than [`STALL_NS`] between two
    /// consecutive reads (while waiting or around one command): the thread was not running
    /// (preempted, interrupted, or the hypervisor took the vCPU). Each gap delays every
    /// command due inside it.
    pub stalls: u64,
    /// Sum of those gaps, ns.
    pub stalled_ns: u64,
    /// Involuntary context switches of the engine thread during the run (Linux only).
    pub involuntary_switches: Option<u64>,
}

/// A gap between two clock reads of the engine loop longer than this is a stall: one
/// command costs well under a microsecond.
pub const STALL_NS: u64 = 10_000;

/// `nonvoluntary_ctxt_switches` of the calling thread.
fn involuntary_switches() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Replay `records` open-loop at `rate_per_s` through the engine.
pub fn run_open_loop(records: &[Record], rate_per_s: f64, queue_capacity: usize) -> RateResult {
    let mut driver = EngineDriver::new();
    open_loop(records, rate_per_s, queue_capacity, |r, sink| {
        driver.apply(r, sink);
    })
}

/// The same open loop with a handler that only hands one event per command to the
/// consumer: the latency floor of the machine, the clock and the hand-off.
pub fn run_noise_floor(records: &[Record], rate_per_s: f64, queue_capacity: usize) -> RateResult {
    open_loop(records, rate_per_s, queue_capacity, do_nothing)
}

/// The do-nothing handler: one event per command handed to the consumer, no book.
fn do_nothing(r: &Record, sink: &mut QueueSink) {
    sink.event(OutEvent::Reject(RejectNotice { order_id: r.order_id, kind: r.kind, code: 0 }));
    sink.end_command();
}

fn open_loop(
    records: &[Record],
    rate_per_s: f64,
    queue_capacity: usize,
    handle: impl FnMut(&Record, &mut QueueSink) + Send,
) -> RateResult {
    crate::pinning::on_engine_thread(|| open_loop_here(records, rate_per_s, queue_capacity, handle))
}

fn open_loop_here(
    records: &[Record],
    rate_per_s: f64,
    queue_capacity: usize,
    mut handle: impl FnMut(&Record, &mut QueueSink),
) -> RateResult {
    assert!(rate_per_s > 0.0, "rate must be positive");
    let interval_ns = 1e9 / rate_per_s;
    let mut hist = Histogram::<u64>::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("valid histogram bounds");
    let mut late_starts = 0u64;
    let (mut stalls, mut stalled_ns) = (0u64, 0u64);
    let switches_before = involuntary_switches();
    let (elapsed, sent, tally) = with_consumer_thread(queue_capacity, |sink| {
        // Give the consumer thread a moment to start before the first deadline.
        let t0 = Instant::now() + Duration::from_millis(2);
        let mut now = Instant::now();
        for (i, r) in records.iter().enumerate() {
            let due = t0 + Duration::from_nanos((i as f64 * interval_ns) as u64);
            if now >= due {
                late_starts += 1;
            } else {
                while now < due {
                    spin_loop();
                    let before = now;
                    now = Instant::now();
                    let gap = now.saturating_duration_since(before).as_nanos() as u64;
                    if gap > STALL_NS {
                        stalls += 1;
                        stalled_ns += gap;
                    }
                }
            }
            let before = now;
            handle(r, sink);
            now = Instant::now();
            let gap = now.saturating_duration_since(before).as_nanos() as u64;
            if gap > STALL_NS {
                stalls += 1;
                stalled_ns += gap;
            }
            hist.saturating_record(now.saturating_duration_since(due).as_nanos().min(u64::MAX as u128) as u64);
        }
        now.saturating_duration_since(t0).as_secs_f64()
    });
    let switches = involuntary_switches().zip(switches_before).map(|(a, b)| a.saturating_sub(b));
    RateResult {
        rate: rate_per_s,
        achieved_rate: rate(records.len() as u64, elapsed),
        commands: hist.len(),
        late_starts,
        events: sent,
        consumer_received_all: tally.events == sent,
        percentiles_ns: percentiles(&hist),
        mean_ns: hist.mean(),
        stalls,
        stalled_ns,
        involuntary_switches: switches,
    }
}

/// The latency section.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyReport {
    /// Scenario name.
    pub scenario: String,
    /// Commands per rate.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Mean cost of `Instant::now()`, ns (two calls per command when not late, one when late).
    pub instant_now_ns: f64,
    /// Median messages/s of the closed-loop pre-runs (same stream, with consumer) that
    /// sized the default rates (None when rates were given).
    pub pre_run_messages_per_s: Option<f64>,
    /// One entry per offered rate, ascending.
    pub rates: Vec<RateResult>,
    /// The open loop at 1M/s with a do-nothing handler (one event per command): what the
    /// machine, the clock and the hand-off alone cost, for reading the tails above.
    pub noise_floor_1m: RateResult,
    /// Each command's service time alone, engine twice and do-nothing once: which slow
    /// commands are the engine's own work and which the machine's.
    pub service_trace: ServiceTrace,
    /// How to read the numbers.
    pub notes: Vec<String>,
}

/// Default rates: 1M/s plus 50% and 90% of `throughput`, ascending, de-duplicated.
pub fn default_rates(throughput: f64) -> Vec<f64> {
    let mut v = vec![1_000_000.0, (0.5 * throughput).round(), (0.9 * throughput).round()];
    v.retain(|r| *r >= 1.0);
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Generate the scenario's stream and measure every rate (sized by a pre-run if `rates`
/// is `None`).
pub fn run_latency(
    scenario: Scenario,
    count: usize,
    seed: u64,
    rates: Option<Vec<f64>>,
    queue_capacity: usize,
) -> LatencyReport {
    let records = generate(GeneratorConfig::new(scenario, seed), count);
    let instant_now_ns = instant_now_cost_ns(1_000_000);
    let (rates, pre_run) = match rates {
        Some(r) => (r, None),
        None => {
            let t = median((0..PRE_RUNS).map(|_| quick_throughput(&records, queue_capacity)).collect());
            (default_rates(t), Some(t))
        }
    };
    if let Some(t) = pre_run {
        eprintln!("  latency pre-run ({}): {:.2} M msg/s", scenario.name(), t / 1e6);
    }
    eprintln!("  Instant::now() costs {instant_now_ns:.1} ns");
    let print = |label: &str, res: &RateResult| {
        eprintln!(
            "  latency {:<11} @ {:>6.3} M/s (achieved {:>6.3}): p50 {:>9} p99 {:>9} p99.9 {:>9} p99.99 {:>9} max {:>9}  late {:.1}%  stalls >10us {} ({:.2} ms, {} preemptions)",
            label,
            res.rate / 1e6,
            res.achieved_rate / 1e6,
            fmt_ns(res.percentiles_ns.p50),
            fmt_ns(res.percentiles_ns.p99),
            fmt_ns(res.percentiles_ns.p999),
            fmt_ns(res.percentiles_ns.p9999),
            fmt_ns(res.percentiles_ns.max),
            100.0 * res.late_starts as f64 / res.commands.max(1) as f64,
            res.stalls,
            res.stalled_ns as f64 / 1e6,
            res.involuntary_switches.map_or("?".to_string(), |n| n.to_string()),
        );
    };
    let mut results = Vec::new();
    for &r in &rates {
        let res = run_open_loop(&records, r, queue_capacity);
        print(scenario.name(), &res);
        results.push(res);
    }
    let noise_floor_1m = run_noise_floor(&records, 1e6, queue_capacity);
    print("noise-floor", &noise_floor_1m);
    let service_trace = run_service_trace(&records, queue_capacity);
    print_service_trace(&service_trace);
    LatencyReport {
        scenario: scenario.name().to_string(),
        count,
        seed,
        instant_now_ns,
        pre_run_messages_per_s: pre_run,
        rates: results,
        noise_floor_1m,
        service_trace,
        notes: vec![
            "latency = time the command's last event was handed to the consumer ring minus the command's scheduled time t0 + i/rate (open loop: a stall delays every later command and all of that lateness is recorded)".to_string(),
            "late_starts: commands already overdue when the engine reached them; near 100% means the offered rate exceeds what the engine + consumer sustain, and latency then grows with the backlog".to_string(),
            "service_trace: closed loop, each command's handler call timed alone (two clock reads included); a command slower than 2 us in both engine passes is slow because of its own work, one slow in a single pass met the machine".to_string(),
            "noise_floor_1m: same loop with a handler that only pushes one event; its tail is the machine's own jitter (VM, scheduler, other tenants) and bounds what the engine rows can show".to_string(),
        ],
    }
}

/// Human form of a nanosecond count.
pub fn fmt_ns(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=9_999_999 => format!("{:.1} us", ns as f64 / 1e3),
        10_000_000..=9_999_999_999 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

/// A command whose service time (the handler call alone: the engine and the push of its
/// events, not the wait for its scheduled time) passed [`SLOW_SERVICE_NS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SlowCommand {
    /// Position in the stream.
    pub index: u32,
    /// Service time, ns.
    pub ns: u32,
}

/// A command slower than this (the handler call alone) goes into the trace: the median
/// command costs about 0.1 µs.
pub const SLOW_SERVICE_NS: u64 = 2_000;

/// Service times of one closed-loop pass: every command's handler call timed alone.
#[derive(Clone, Debug, Serialize)]
pub struct ServicePass {
    /// Service-time percentiles, ns (the two clock reads included).
    pub percentiles_ns: Percentiles,
    /// Commands slower than [`SLOW_SERVICE_NS`], in stream order.
    #[serde(skip)]
    pub slow: Vec<SlowCommand>,
    /// How many there were.
    pub slow_commands: usize,
    /// Their summed service time, ns.
    pub slow_ns: u64,
}

/// The per-command timing trace: the same stream through the engine twice and through the
/// do-nothing handler once, each command's service time measured alone. A command slow in
/// both engine passes is slow because of the work it does (the engine's own stall: a table
/// growing, a long sweep); one slow in a single pass met the machine (an interrupt, the
/// hypervisor, a preemption), which hits the do-nothing handler at a similar rate per second
/// of running (that pass is shorter, so it meets fewer). A push that waits for a full ring
/// (the consumer preempted) counts as service time too.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceTrace {
    /// First engine pass.
    pub engine_first: ServicePass,
    /// Second engine pass (a fresh book, the same stream).
    pub engine_second: ServicePass,
    /// The do-nothing handler (one event per command).
    pub noise_floor: ServicePass,
    /// Commands slower than [`SLOW_SERVICE_NS`] in both engine passes.
    pub slow_in_both: Vec<SlowInBoth>,
    /// Of the first pass's slow commands, the share slow in the second pass too.
    pub repeat_share: f64,
}

/// A command slow in both engine passes, and what it did.
#[derive(Clone, Debug, Serialize)]
pub struct SlowInBoth {
    /// Position in the stream.
    pub index: u32,
    /// Service time in the two passes, ns.
    pub ns: [u32; 2],
    /// Record kind (new, cancel, modify).
    pub kind: &'static str,
    /// Events the command produced.
    pub events: u64,
    /// Orders resting after it.
    pub resting: usize,
}

fn service_pass(
    records: &[Record],
    queue_capacity: usize,
    mut handle: impl FnMut(&Record, &mut QueueSink) + Send,
) -> ServicePass {
    crate::pinning::on_engine_thread(|| {
        let mut hist =
            Histogram::<u64>::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("valid histogram bounds");
        let ((slow, slow_ns), _, _) = with_consumer_thread(queue_capacity, |sink| {
            let mut slow = Vec::new();
            let mut slow_ns = 0u64;
            for (i, r) in records.iter().enumerate() {
                let before = Instant::now();
                handle(r, sink);
                let ns = before.elapsed().as_nanos().min(u32::MAX as u128) as u64;
                hist.saturating_record(ns);
                if ns > SLOW_SERVICE_NS {
                    slow.push(SlowCommand { index: i as u32, ns: ns as u32 });
                    slow_ns += ns;
                }
            }
            (slow, slow_ns)
        });
        ServicePass { percentiles_ns: percentiles(&hist), slow_commands: slow.len(), slow, slow_ns }
    })
}

fn percentiles(hist: &Histogram<u64>) -> Percentiles {
    Percentiles {
        p50: hist.value_at_quantile(0.5),
        p99: hist.value_at_quantile(0.99),
        p999: hist.value_at_quantile(0.999),
        p9999: hist.value_at_quantile(0.9999),
        max: hist.max(),
    }
}

/// Run the per-command timing trace on `records`, over a ring of `queue_capacity` events.
pub fn run_service_trace(records: &[Record], queue_capacity: usize) -> ServiceTrace {
    let engine_pass = || {
        let mut driver = EngineDriver::new();
        service_pass(records, queue_capacity, |r, sink| {
            driver.apply(r, sink);
        })
    };
    let engine_first = engine_pass();
    let engine_second = engine_pass();
    let noise_floor = service_pass(records, queue_capacity, do_nothing);
    let second: std::collections::HashMap<u32, u32> =
        engine_second.slow.iter().map(|s| (s.index, s.ns)).collect();
    let mut slow_in_both: Vec<SlowInBoth> = engine_first
        .slow
        .iter()
        .filter_map(|s| second.get(&s.index).map(|&ns2| (s.index, [s.ns, ns2])))
        .map(|(index, ns)| SlowInBoth { index, ns, kind: "", events: 0, resting: 0 })
        .collect();
    describe_slow(records, &mut slow_in_both);
    let repeat_share = slow_in_both.len() as f64 / engine_first.slow.len().max(1) as f64;
    ServiceTrace { engine_first, engine_second, noise_floor, slow_in_both, repeat_share }
}

/// Fill in what each repeating slow command did, replaying the stream once more (untimed).
fn describe_slow(records: &[Record], slow: &mut [SlowInBoth]) {
    let mut driver = EngineDriver::new();
    let mut tally = crate::events::EventTally::default();
    let mut next = 0;
    for (i, r) in records.iter().enumerate() {
        if next == slow.len() {
            break;
        }
        let before = tally.events;
        driver.apply(r, &mut tally);
        if slow[next].index as usize == i {
            slow[next].kind = match r.kind {
                k if k == lft_workload::Kind::New as u8 => "new",
                k if k == lft_workload::Kind::Cancel as u8 => "cancel",
                _ => "modify",
            };
            slow[next].events = tally.events - before;
            slow[next].resting = driver.book.reader().len();
            next += 1;
        }
    }
}

/// Print the trace's summary.
pub fn print_service_trace(t: &ServiceTrace) {
    let row = |label: &str, p: &ServicePass| {
        eprintln!(
            "  service {:<13} p50 {:>7} p99 {:>7} p99.9 {:>7} p99.99 {:>8} max {:>8}  slower than {} ns: {} ({:.2} ms)",
            label,
            fmt_ns(p.percentiles_ns.p50),
            fmt_ns(p.percentiles_ns.p99),
            fmt_ns(p.percentiles_ns.p999),
            fmt_ns(p.percentiles_ns.p9999),
            fmt_ns(p.percentiles_ns.max),
            SLOW_SERVICE_NS,
            p.slow_commands,
            p.slow_ns as f64 / 1e6,
        );
    };
    row("engine (1)", &t.engine_first);
    row("engine (2)", &t.engine_second);
    row("do-nothing", &t.noise_floor);
    eprintln!(
        "  service slow in both engine passes: {} of {} ({:.0}%)",
        t.slow_in_both.len(),
        t.engine_first.slow_commands,
        100.0 * t.repeat_share
    );
    for s in t.slow_in_both.iter().take(12) {
        eprintln!(
            "    #{:<8} {:>7} / {:>7}  {:<6} events {:>4}  resting {}",
            s.index,
            fmt_ns(s.ns[0] as u64),
            fmt_ns(s.ns[1] as u64),
            s.kind,
            s.events,
            s.resting
        );
    }
}
