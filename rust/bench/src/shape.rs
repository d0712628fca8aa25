//! The shape of a workload stream as a book sees it: how many orders stand and on how many
//! levels (sampled through the stream), how many fills and rejects it makes, how far the
//! mid walks. `lft-bench shape` prints it; the public-shape scenarios are calibrated against
//! the published figures with it.

use lft_engine::BookWriter;
use lft_workload::{generate, GeneratorConfig, Kind, Scenario};
use serde::Serialize;

use crate::drive::{command, new_engine_book};

/// One scenario's shape.
#[derive(Clone, Debug, Serialize)]
pub struct ShapeReport {
    /// Scenario name.
    pub scenario: String,
    /// Messages in the stream.
    pub messages: usize,
    /// Share of new orders, cancels and modifies.
    pub mix: [f64; 3],
    /// Share of new orders that are IOC.
    pub ioc_share: f64,
    /// Resting orders, mean over the samples.
    pub resting_mean: f64,
    /// Resting orders, most at any sample.
    pub resting_peak: usize,
    /// Price levels (both sides), mean over the samples.
    pub levels_mean: f64,
    /// Price levels, most at any sample.
    pub levels_peak: usize,
    /// Trades printed.
    pub fills: u64,
    /// Commands refused.
    pub rejected: u64,
    /// Lowest and highest mid (ticks) seen at the samples where both sides stood.
    pub mid_range: (i64, i64),
}

/// Replay `count` messages of `scenario` (seed `seed`) through one engine book, sampling
/// every `every` messages.
pub fn measure(scenario: Scenario, count: usize, seed: u64, every: usize) -> ShapeReport {
    let records = generate(GeneratorConfig::new(scenario, seed), count);
    let mut kinds = [0usize; 3];
    let mut ioc = 0usize;
    let mut book: BookWriter = new_engine_book();
    let (mut fills, mut rejected) = (0u64, 0u64);
    let (mut resting_sum, mut levels_sum, mut samples) = (0f64, 0f64, 0usize);
    let (mut resting_peak, mut levels_peak) = (0usize, 0usize);
    let (mut mid_lo, mut mid_hi) = (i64::MAX, i64::MIN);
    for (i, r) in records.iter().enumerate() {
        kinds[(r.kind as usize).min(2)] += 1;
        ioc += usize::from(r.kind == Kind::New as u8 && r.tif == 1);
        match book.apply(&command(r)) {
            Ok(report) => fills += report.trades.len() as u64,
            Err(_) => rejected += 1,
        }
        if (i + 1) % every.max(1) == 0 {
            let depth = book.depth(usize::MAX);
            let levels = depth.bids.len() + depth.asks.len();
            resting_sum += book.len() as f64;
            levels_sum += levels as f64;
            samples += 1;
            resting_peak = resting_peak.max(book.len());
            levels_peak = levels_peak.max(levels);
            if let (Some(b), Some(a)) = (depth.bids.first(), depth.asks.first()) {
                let mid = (b.price + a.price) / 2;
                mid_lo = mid_lo.min(mid);
                mid_hi = mid_hi.max(mid);
            }
        }
    }
    let n = records.len().max(1) as f64;
    ShapeReport {
        scenario: scenario.name().to_string(),
        messages: records.len(),
        mix: [kinds[0] as f64 / n, kinds[1] as f64 / n, kinds[2] as f64 / n],
        ioc_share: ioc as f64 / kinds[0].max(1) as f64,
        resting_mean: resting_sum / samples.max(1) as f64,
        resting_peak,
        levels_mean: levels_sum / samples.max(1) as f64,
        levels_peak,
        fills,
        rejected,
        mid_range: if mid_lo <= mid_hi { (mid_lo, mid_hi) } else { (0, 0) },
    }
}

/// One line per scenario, for the terminal.
pub fn describe(r: &ShapeReport) -> String {
    format!(
        "  {:<16} {:>9} msgs  new/cancel/modify {:.0}/{:.0}/{:.0}%  IOC {:.0}%  resting mean {:>7.0} peak {:>7}  \
         levels mean {:>6.0} peak {:>6}  fills {:>7}  rejected {:>7}  mid {}..{} ({} ticks)",
        r.scenario,
        r.messages,
        r.mix[0] * 100.0,
        r.mix[1] * 100.0,
        r.mix[2] * 100.0,
        r.ioc_share * 100.0,
        r.resting_mean,
        r.resting_peak,
        r.levels_mean,
        r.levels_peak,
        r.fills,
        r.rejected,
        r.mid_range.0,
        r.mid_range.1,
        r.mid_range.1 - r.mid_range.0,
    )
}

/// The public-shape scenarios side by side: shape, the engine with every event handed to a
/// consumer thread (`throughput`), the engine alone and the bare BTreeMap baseline on the
/// same stream (`compare`), and the ratio: engine with consumer ÷ baseline.
#[derive(Clone, Debug, Serialize)]
pub struct PublicReport {
    /// Messages per scenario.
    pub count: usize,
    /// Generator seed.
    pub seed: u64,
    /// Runs per measurement (medians reported).
    pub repeat: usize,
    /// One row per scenario, in [`Scenario::PUBLIC`] order.
    pub scenarios: Vec<PublicRow>,
    /// The lowest engine-with-consumer messages/s of the five (the figure the public
    /// benchmark ranks by) and its scenario.
    pub worst: (String, f64),
}

/// One public-shape scenario.
#[derive(Clone, Debug, Serialize)]
pub struct PublicRow {
    /// What the stream does to a book.
    pub shape: ShapeReport,
    /// Engine thread + consumer thread (events over the SPSC ring), messages/s.
    pub engine_with_consumer: f64,
    /// Engine alone, one thread, no consumer, messages/s (`compare`).
    pub engine_alone: f64,
    /// Bare BTreeMap-of-levels baseline, messages/s (`compare`).
    pub baseline: f64,
    /// orderbook-rs, messages/s (`compare`).
    pub orderbook_rs: f64,
    /// `engine_with_consumer / baseline` (the target: at least 1).
    pub with_consumer_over_baseline: f64,
    /// `engine_alone / baseline`.
    pub alone_over_baseline: f64,
    /// The same events over the same ring with no engine work, messages/s: an estimate of
    /// the most an engine handing these events to a consumer reaches on this machine.
    pub handoff_only: f64,
    /// `handoff_only / baseline`: well below 1, the with-consumer target is out of reach
    /// for an engine producing these events over this ring, however fast its matching.
    pub handoff_only_over_baseline: f64,
    /// All books printed the same trades.
    pub trades_equal: bool,
}

/// Measure every public-shape scenario.
pub fn run_public(count: usize, seed: u64, repeat: usize, queue_capacity: usize) -> PublicReport {
    let tp = crate::throughput::run_throughput(&Scenario::PUBLIC, count, seed, repeat, queue_capacity);
    let cmp = crate::compare::run_compare(&Scenario::PUBLIC, count, seed, repeat);
    let mut rows = Vec::new();
    for sc in Scenario::PUBLIC {
        let shape = measure(sc, count, seed, 2_000);
        let t = tp.scenarios.iter().find(|t| t.scenario == sc.name()).expect("measured");
        let c = cmp.runs.iter().find(|c| c.scenario == sc.name()).expect("compared");
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        rows.push(PublicRow {
            engine_with_consumer: t.with_consumer.messages_per_s,
            engine_alone: c.engine.messages_per_s,
            baseline: c.baseline.messages_per_s,
            orderbook_rs: c.orderbook_rs.messages_per_s,
            with_consumer_over_baseline: ratio(t.with_consumer.messages_per_s, c.baseline.messages_per_s),
            alone_over_baseline: ratio(c.engine.messages_per_s, c.baseline.messages_per_s),
            handoff_only: t.handoff_only.messages_per_s,
            handoff_only_over_baseline: ratio(t.handoff_only.messages_per_s, c.baseline.messages_per_s),
            trades_equal: c.trades_equal,
            shape,
        });
    }
    let worst = rows
        .iter()
        .min_by(|a, b| a.engine_with_consumer.total_cmp(&b.engine_with_consumer))
        .map(|r| (r.shape.scenario.clone(), r.engine_with_consumer))
        .unwrap_or_default();
    for r in &rows {
        eprintln!(
            "  public {:<16} engine+consumer {:>5.2} M/s  engine alone {:>5.2} M/s  baseline {:>5.2} M/s  \
             with consumer / baseline {:.2}x  alone / baseline {:.2}x  hand-off alone {:>5.2} M/s ({:.2}x baseline)",
            r.shape.scenario,
            r.engine_with_consumer / 1e6,
            r.engine_alone / 1e6,
            r.baseline / 1e6,
            r.with_consumer_over_baseline,
            r.alone_over_baseline,
            r.handoff_only / 1e6,
            r.handoff_only_over_baseline,
        );
    }
    PublicReport { count, seed, repeat, scenarios: rows, worst }
}
