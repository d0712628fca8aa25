//! The cost of statistics by period, side by side in one run, statistics off and on, runs
//! interleaved (off, on, off, on, ...) so drift of a shared machine hits both alike:
//!
//! - **worker**: each symbol's whole stream handed to its worker as one command list, so
//!   the time measured is the worker's own (the driver waits parked): the worker
//!   throughput the target is about;
//! - **pipelined**: the `simulate` shape (chunks of 256 commands, 128 in flight per
//!   symbol), with the hand-off and the driver thread sharing the cores.
//!
//! With statistics on, a drainer thread takes the closed rows every 20 ms, as the Python
//! facade's recorder does every `flush_seconds`.
//!
//! Two sets of periods of the workload's engine time (a command every 1 µs on average, so a
//! run covers about one second): `1s,1m,1h` (config.yaml's default: the cost per command),
//! and `1ms,100ms,1s` (a shortest-period row per symbol every ~250 commands, with ~35 level
//! rows each: far more often than a real deployment closes rows; the cost of closing).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lft_engine::stats::{StatsConfig, StatsPeriod, StatsRecord};
use lft_engine::system::{Request, SystemConfig, TradingSystem};
use lft_engine::Command;
use lft_workload::{generate, GeneratorConfig, Record, Scenario};
use serde::Serialize;

use crate::drive::command;
use crate::scaling::{bench_config, run_once, split};
use crate::stats::{median, rate};

/// One way of driving the system.
#[derive(Clone, Debug, Serialize)]
pub struct CostPoint {
    /// `worker` or `pipelined`.
    pub mode: String,
    /// The periods collected.
    pub periods: String,
    /// Book and worker rows one run with statistics produced.
    pub rows: u64,
    /// Level rows inside them.
    pub level_rows: u64,
    /// Median commands per second, statistics off.
    pub off_messages_per_s: f64,
    /// Median commands per second, statistics on.
    pub on_messages_per_s: f64,
    /// `on / off` (1.0 = free; the target is at least 0.95).
    pub on_vs_off: f64,
}

/// The statistics section.
#[derive(Clone, Debug, Serialize)]
pub struct StatisticsCostReport {
    /// Commands per run.
    pub count: usize,
    /// Symbols.
    pub symbols: u16,
    /// Runs per setting and mode.
    pub repeat: usize,
    /// By mode and periods.
    pub modes: Vec<CostPoint>,
    /// Rows dropped because the drainer fell behind (pipelined, last run).
    pub rows_dropped: u64,
}

const DEFAULT_PERIODS: [(&str, i64); 3] =
    [("1s", 1_000_000_000), ("1m", 60_000_000_000), ("1h", 3_600_000_000_000)];
const SHORT_PERIODS: [(&str, i64); 3] = [("1ms", 1_000_000), ("100ms", 100_000_000), ("1s", 1_000_000_000)];

fn config(symbols: usize, stats: bool, periods: &[(&str, i64); 3]) -> SystemConfig {
    let periods = periods.map(|(name, nanos)| StatsPeriod { name: name.into(), nanos }).to_vec();
    SystemConfig {
        statistics: stats.then(|| StatsConfig { periods, ..StatsConfig::default() }),
        ..bench_config(symbols, 1)
    }
}

fn count_rows(rows: Vec<StatsRecord>, into: &mut (u64, u64)) {
    for r in rows {
        into.0 += 1;
        if let StatsRecord::Book(b) = r {
            into.1 += b.levels.len() as u64;
        }
    }
}

/// Drain rows on a thread of its own until told to stop; returns (rows, level rows).
fn drainer(sys: Arc<TradingSystem>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let mut seen = (0, 0);
        while !stop.load(Ordering::Acquire) {
            count_rows(sys.drain_statistics(usize::MAX), &mut seen);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        count_rows(sys.drain_statistics(usize::MAX), &mut seen);
        seen
    })
}

/// Every symbol's commands as one list (one hand-off per symbol).
fn whole_streams(records: &[Record], symbols: usize) -> Vec<Vec<Command>> {
    let mut per: Vec<Vec<Command>> = vec![Vec::new(); symbols];
    for r in records {
        per[r.symbol as usize].push(command(r));
    }
    per
}

/// Worker time for the whole stream: one command list per symbol, all sent, then waited for.
fn run_worker(sys: &TradingSystem, streams: Vec<Vec<Command>>) -> f64 {
    let started = Instant::now();
    let pending: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(s, list)| sys.send(s as u32, Request::Commands(list), false, None).expect("queued"))
        .collect();
    for p in pending {
        let _ = p.wait_parked();
    }
    started.elapsed().as_secs_f64()
}

/// Run the comparison. `only` runs one setting (`Some(true)`: statistics on) for
/// profiling; the other's rates are then 0.
pub fn run_statistics_cost(
    count: usize,
    symbols: u16,
    repeat: usize,
    seed: u64,
    only: Option<bool>,
) -> StatisticsCostReport {
    let mut cfg = GeneratorConfig::new(Scenario::Normal, seed);
    cfg.symbols = symbols;
    let records = generate(cfg, count);
    let n = symbols as usize;
    // (mode, periods): worker time with the default periods, with short periods, and the
    // pipelined shape with the default periods.
    let setups: [(&str, &[(&str, i64); 3]); 3] =
        [("worker", &DEFAULT_PERIODS), ("worker", &SHORT_PERIODS), ("pipelined", &DEFAULT_PERIODS)];
    let mut rates: Vec<[Vec<f64>; 2]> = setups.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    let mut rows = vec![(0u64, 0u64); setups.len()];
    let mut dropped = 0;
    for _ in 0..repeat {
        for stats in [false, true].into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
            for (i, (mode, periods)) in setups.iter().enumerate() {
                let sys = Arc::new(TradingSystem::start(config(n, stats, periods)).expect("valid config"));
                let stop = Arc::new(AtomicBool::new(false));
                let drain = stats.then(|| drainer(Arc::clone(&sys), Arc::clone(&stop)));
                let secs = if *mode == "worker" {
                    run_worker(&sys, whole_streams(&records, n))
                } else {
                    run_once(&sys, split(&records, n)).0
                };
                sys.shutdown();
                stop.store(true, Ordering::Release);
                if let Some(d) = drain {
                    rows[i] = d.join().unwrap_or_default();
                    dropped = dropped.max(sys.statistics_rows_dropped());
                }
                rates[i][stats as usize].push(rate(count as u64, secs));
            }
        }
    }
    let modes = setups
        .iter()
        .zip(rates)
        .zip(rows)
        .map(|(((mode, periods), [off, on]), (rows, level_rows))| {
            let (off, on) = (median(off), median(on));
            CostPoint {
                mode: (*mode).into(),
                periods: periods.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(","),
                rows,
                level_rows,
                off_messages_per_s: off,
                on_messages_per_s: on,
                on_vs_off: if off > 0.0 { on / off } else { 0.0 },
            }
        })
        .collect();
    StatisticsCostReport { count, symbols, repeat, modes, rows_dropped: dropped }
}
