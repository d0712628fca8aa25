//! The same pre-generated stream, one thread, no consumer, through three books:
//! `lft-engine`, `orderbook-rs`, and the BTreeMap baseline. Runs are interleaved
//! (engine, orderbook-rs, baseline, engine, ...) so background load hits all three alike.

use std::time::Instant;

use lft_workload::{generate, GeneratorConfig, Record, Scenario};
use serde::Serialize;

use crate::baseline::BaselineBook;
use crate::drive::EngineDriver;
use crate::events::EventTally;
use crate::obrs::{ObrsDriver, NOTES};
use crate::stats::{as_object, median, rate};

/// What one replay of one book produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BookCounts {
    /// Commands replayed.
    pub messages: u64,
    /// Commands refused.
    pub rejected: u64,
    /// Trades printed.
    pub trades: u64,
    /// Lots traded (0 where the book does not report it cheaply).
    pub traded_lots: i64,
}

/// Replay through `lft-engine`; returns counts and seconds.
pub fn replay_engine(records: &[Record]) -> (BookCounts, f64) {
    let mut d = EngineDriver::new();
    let mut tally = EventTally::default();
    let mut rejected = 0;
    let start = Instant::now();
    for r in records {
        rejected += !d.apply(r, &mut tally) as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let c = BookCounts {
        messages: records.len() as u64,
        rejected,
        trades: tally.trades,
        traded_lots: tally.traded_lots,
    };
    (c, secs)
}

/// Replay through `orderbook-rs`; returns counts and seconds.
pub fn replay_orderbook_rs(records: &[Record]) -> (BookCounts, f64) {
    let mut d = ObrsDriver::new();
    let mut rejected = 0;
    let start = Instant::now();
    for r in records {
        rejected += !d.apply(r) as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    (BookCounts { messages: records.len() as u64, rejected, trades: d.trades(), traded_lots: 0 }, secs)
}

/// Replay through the BTreeMap baseline; returns counts and seconds.
pub fn replay_baseline(records: &[Record]) -> (BookCounts, f64) {
    let mut b = BaselineBook::new();
    let mut rejected = 0;
    let mut trades = 0u64;
    let mut lots = 0i64;
    let start = Instant::now();
    for r in records {
        match b.apply(r) {
            Ok(()) => {
                trades += b.trades.len() as u64;
                lots += b.trades.iter().map(|t| t.quantity).sum::<i64>();
            }
            Err(_) => rejected += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    (BookCounts { messages: records.len() as u64, rejected, trades, traded_lots: lots }, secs)
}

/// One book's timing.
#[derive(Clone, Debug, Serialize)]
pub struct BookResult {
    /// Median commands per second.
    pub messages_per_s: f64,
    /// Commands per second of each run.
    pub runs_messages_per_s: Vec<f64>,
    /// Counts of the first run (identical across runs).
    pub counts: BookCounts,
}

/// One stream through the three books.
#[derive(Clone, Debug, Serialize)]
pub struct CompareRun {
    /// Scenario name.
    pub scenario: String,
    /// Commands.
    pub count: usize,
    /// lft-engine.
    #[serde(skip)]
    pub engine: BookResult,
    /// orderbook-rs.
    #[serde(skip)]
    pub orderbook_rs: BookResult,
    /// BTreeMap baseline.
    #[serde(skip)]
    pub baseline: BookResult,
    /// The three as a JSON object: `lft-engine`, `orderbook-rs`, `btreemap-baseline`.
    #[serde(serialize_with = "as_object")]
    pub books: Vec<(String, BookResult)>,
    /// engine messages/s ÷ orderbook-rs messages/s.
    pub ratio_engine_over_orderbook_rs: f64,
    /// engine messages/s ÷ baseline messages/s.
    pub ratio_engine_over_baseline: f64,
    /// All three printed the same number of trades.
    pub trades_equal: bool,
    /// Engine and baseline also agree on rejects and traded lots.
    pub engine_baseline_identical_counts: bool,
}

/// The comparison section.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    /// Generator seed.
    pub seed: u64,
    /// Runs per book (medians reported).
    pub repeat: usize,
    /// One entry per scenario.
    pub runs: Vec<CompareRun>,
    /// Where the mapping onto orderbook-rs is not exact.
    pub notes: Vec<String>,
}

fn book_result(runs: &[(BookCounts, f64)]) -> BookResult {
    let per: Vec<f64> = runs.iter().map(|(c, s)| rate(c.messages, *s)).collect();
    BookResult { messages_per_s: median(per.clone()), runs_messages_per_s: per, counts: runs[0].0 }
}

/// Time the three books on `records`, `repeat` interleaved rounds.
pub fn compare_records(scenario: &str, records: &[Record], repeat: usize) -> CompareRun {
    let (mut e, mut o, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat.max(1) {
        e.push(replay_engine(records));
        o.push(replay_orderbook_rs(records));
        b.push(replay_baseline(records));
    }
    let (engine, orderbook_rs, baseline) = (book_result(&e), book_result(&o), book_result(&b));
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    CompareRun {
        scenario: scenario.to_string(),
        count: records.len(),
        ratio_engine_over_orderbook_rs: ratio(engine.messages_per_s, orderbook_rs.messages_per_s),
        ratio_engine_over_baseline: ratio(engine.messages_per_s, baseline.messages_per_s),
        trades_equal: engine.counts.trades == orderbook_rs.counts.trades
            && engine.counts.trades == baseline.counts.trades,
        engine_baseline_identical_counts: engine.counts == baseline.counts,
        books: vec![
            ("lft-engine".to_string(), engine.clone()),
            ("orderbook-rs".to_string(), orderbook_rs.clone()),
            ("btreemap-baseline".to_string(), baseline.clone()),
        ],
        engine,
        orderbook_rs,
        baseline,
    }
}

/// Generate each scenario's stream and compare.
pub fn run_compare(scenarios: &[Scenario], count: usize, seed: u64, repeat: usize) -> CompareReport {
    let mut runs = Vec::new();
    for &sc in scenarios {
        let records = generate(GeneratorConfig::new(sc, seed), count);
        let run = compare_records(sc.name(), &records, repeat);
        eprintln!(
            "  compare {:<12} engine {:>6.2} M/s | orderbook-rs {:>6.2} M/s | baseline {:>6.2} M/s | engine/orderbook-rs {:.2}x  engine/baseline {:.2}x | trades {} / {} / {}",
            run.scenario,
            run.engine.messages_per_s / 1e6,
            run.orderbook_rs.messages_per_s / 1e6,
            run.baseline.messages_per_s / 1e6,
            run.ratio_engine_over_orderbook_rs,
            run.ratio_engine_over_baseline,
            run.engine.counts.trades,
            run.orderbook_rs.counts.trades,
            run.baseline.counts.trades,
        );
        runs.push(run);
    }
    let mut notes: Vec<String> = NOTES.iter().map(|s| s.to_string()).collect();
    notes.push(
        "baseline: BTreeMap<price, FIFO level> + slab + multiply-fold hashed id map, same command semantics as the engine (written in rust/bench/src/baseline.rs); it fills trade/update/report buffers like the engine's ExecutionReport."
            .to_string(),
    );
    notes.push(
        "engine: driven exactly like BookWriter.replay (submit_into with a reused report; cancel/modify return a fresh report per call); events tallied in place, no consumer thread."
            .to_string(),
    );
    CompareReport { seed, repeat, runs, notes }
}
