//! Multi-core scaling of the `TradingSystem`: the same multi-symbol stream through 1, 2, ...
//! worker threads, with uniform and Pareto-skewed symbol activity.
//!
//! One driver thread hands each symbol's commands to the system in chunks
//! (`Request::Commands`, every command still runs as if sent alone, events published),
//! keeping a few chunks in flight per symbol. The clock runs from the first hand-off to the
//! last reply. Streams are split by symbol before timing.

use std::collections::VecDeque;
use std::time::Instant;

use lft_engine::system::{Outcome, Pending, Reply, Request, SymbolSpec, SystemConfig, TradingSystem};
use lft_engine::{BookConfig, Command, Decimal};
use lft_workload::{generate, GeneratorConfig, Record, Scenario};

use serde::Serialize;

use crate::drive::command;
use crate::stats::{median, rate};

/// Commands per hand-off.
pub const CHUNK: usize = 256;
/// Hand-offs in flight per symbol.
const IN_FLIGHT: usize = 4;

/// One worker count's result.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingPoint {
    /// Worker threads.
    pub workers: usize,
    /// Median commands per second.
    pub messages_per_s: f64,
    /// Each run's commands per second.
    pub runs_messages_per_s: Vec<f64>,
    /// Throughput relative to one worker.
    pub speedup: f64,
    /// `speedup / workers` (1.0 is linear).
    pub efficiency: f64,
    /// Largest share of the commands owned by one worker (the bound on speedup).
    pub busiest_worker_share: f64,
    /// Commands refused (cancels of filled orders and the like), identical across runs.
    pub rejected: u64,
    /// Trades, identical across runs.
    pub trades: u64,
}

/// One activity profile.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingCurve {
    /// `uniform` or `pareto`.
    pub activity: String,
    /// Share of the commands of the most active symbol.
    pub hottest_symbol_share: f64,
    /// By worker count.
    pub points: Vec<ScalingPoint>,
}

/// The whole scaling section.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingReport {
    /// Symbols in the stream.
    pub symbols: u16,
    /// Commands in the stream.
    pub count: usize,
    /// Scenario of every symbol's flow.
    pub scenario: String,
    /// Runs per point (medians reported).
    pub repeat: usize,
    /// Cores this process may use.
    pub cores: usize,
    /// Whether workers were pinned to cores.
    pub pinned: bool,
    /// Uniform, then Pareto.
    pub curves: Vec<ScalingCurve>,
}

/// Each symbol's commands, in stream order, cut into hand-off chunks.
pub fn split(records: &[Record], symbols: usize) -> Vec<Vec<Vec<Command>>> {
    let mut per: Vec<Vec<Command>> = vec![Vec::new(); symbols];
    for r in records {
        per[r.symbol as usize].push(command(r));
    }
    per.into_iter().map(|v| v.chunks(CHUNK).map(<[Command]>::to_vec).collect()).collect()
}

/// The benches' system: symbols `S000`, `S001`, ... (tick and lot 1), `workers` workers,
/// queues of 1024 hand-offs.
pub fn bench_config(symbols: usize, workers: usize) -> SystemConfig {
    let specs = (0..symbols)
        .map(|i| {
            SymbolSpec::new(BookConfig::new(format!("S{i:03}"), Decimal::ONE, Decimal::ONE).expect("valid"))
        })
        .collect();
    SystemConfig { threads: workers, queue_capacity: 1024, ..SystemConfig::with_symbols(specs) }
}

fn system(symbols: usize, workers: usize, pin: bool) -> TradingSystem {
    let cfg = SystemConfig { pin_threads: pin, ..bench_config(symbols, workers) };
    TradingSystem::start(cfg).expect("valid scaling config")
}

/// One timed run: (seconds, rejected, trades).
pub fn run_once(sys: &TradingSystem, chunks: Vec<Vec<Vec<Command>>>) -> (f64, u64, u64) {
    run_pipelined(sys, chunks, IN_FLIGHT)
}

/// [`run_once`] with `in_flight` hand-offs outstanding per symbol.
pub fn run_pipelined(
    sys: &TradingSystem,
    chunks: Vec<Vec<Vec<Command>>>,
    in_flight_max: usize,
) -> (f64, u64, u64) {
    let mut queues: Vec<VecDeque<Vec<Command>>> = chunks.into_iter().map(VecDeque::from).collect();
    let mut in_flight: Vec<VecDeque<Pending<Reply>>> = queues.iter().map(|_| VecDeque::new()).collect();
    let (mut rejected, mut trades) = (0u64, 0u64);
    // The driver parks at once when it must wait: on a small machine it shares the cores
    // with the workers, and polling would take their time.
    let mut take = |p: Pending<Reply>| match p.wait_parked() {
        Ok(r) => {
            if let Outcome::Commands(s) = r.outcome {
                rejected += s.rejected;
                trades += s.trades;
            }
        }
        Err(e) => panic!("scaling run refused a hand-off: {e}"),
    };
    let start = Instant::now();
    loop {
        let mut sent = false;
        for (i, q) in queues.iter_mut().enumerate() {
            // Keep a few hand-offs queued per symbol; collect the oldest when full.
            if in_flight[i].len() >= in_flight_max {
                if !in_flight[i][0].is_ready() {
                    continue;
                }
                take(in_flight[i].pop_front().expect("non-empty"));
            }
            if let Some(chunk) = q.pop_front() {
                let p = sys.send(i as u32, Request::Commands(chunk), false, None).expect("running system");
                in_flight[i].push_back(p);
                sent = true;
            }
        }
        if !sent {
            if queues.iter().all(VecDeque::is_empty) {
                break;
            }
            // Every symbol with work left is at its in-flight limit: wait (parking at once)
            // for the oldest hand-off of the first of them, leaving the cores to the workers.
            let i = (0..queues.len()).find(|&i| !queues[i].is_empty()).expect("some symbol has work");
            take(in_flight[i].pop_front().expect("at its limit, so non-empty"));
        }
    }
    for q in in_flight {
        for p in q {
            take(p);
        }
    }
    (start.elapsed().as_secs_f64(), rejected, trades)
}

/// Default worker counts: 1, 2, 4, ... up to `max`, plus `max`.
pub fn default_workers(max: usize) -> Vec<usize> {
    let mut v = Vec::new();
    let mut w = 1;
    while w < max {
        v.push(w);
        w *= 2;
    }
    v.push(max.max(1));
    v
}

/// Measure both activity profiles at each worker count.
pub fn run_scaling(
    scenario: Scenario,
    symbols: u16,
    count: usize,
    seed: u64,
    workers: &[usize],
    repeat: usize,
    pin: bool,
) -> ScalingReport {
    let repeat = repeat.max(1);
    let mut curves = Vec::new();
    for uniform in [true, false] {
        let mut cfg = GeneratorConfig::new(scenario, seed);
        cfg.symbols = symbols;
        cfg.uniform_activity = uniform;
        let records = generate(cfg, count);
        let mut per_symbol = vec![0u64; symbols as usize];
        for r in &records {
            per_symbol[r.symbol as usize] += 1;
        }
        let hottest = *per_symbol.iter().max().unwrap_or(&0) as f64 / records.len().max(1) as f64;
        let activity = if uniform { "uniform" } else { "pareto" };
        let mut points: Vec<ScalingPoint> = Vec::new();
        for &w in workers {
            let mut runs = Vec::new();
            let (mut rejected, mut trades) = (0, 0);
            let mut busiest = 0.0;
            for _ in 0..repeat {
                let sys = system(symbols as usize, w, pin);
                let mut load = vec![0u64; sys.worker_count()];
                for (s, &n) in per_symbol.iter().enumerate() {
                    load[sys.assignment()[s]] += n;
                }
                busiest = *load.iter().max().unwrap_or(&0) as f64 / records.len().max(1) as f64;
                let chunks = split(&records, symbols as usize);
                let (secs, rej, tr) = run_once(&sys, chunks);
                runs.push(rate(records.len() as u64, secs));
                (rejected, trades) = (rej, tr);
            }
            let mps = median(runs.clone());
            let base = points.first().map_or(mps, |p| p.messages_per_s);
            let speedup = if base > 0.0 { mps / base } else { 0.0 };
            eprintln!(
                "  scaling {activity:<8} {w:>3} workers: {:>7.2} M msg/s  speedup {speedup:>5.2}  efficiency {:>4.2}  busiest worker {:.0}% of the flow",
                mps / 1e6,
                speedup / w as f64,
                busiest * 100.0
            );
            points.push(ScalingPoint {
                workers: w,
                messages_per_s: mps,
                runs_messages_per_s: runs,
                speedup,
                efficiency: speedup / w as f64,
                busiest_worker_share: busiest,
                rejected,
                trades,
            });
        }
        curves.push(ScalingCurve { activity: activity.into(), hottest_symbol_share: hottest, points });
    }
    ScalingReport {
        symbols,
        count,
        scenario: scenario.name().into(),
        repeat,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        pinned: pin,
        curves,
    }
}
