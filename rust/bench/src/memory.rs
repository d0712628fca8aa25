//! Memory: bytes per resting order, and RSS growth over a long stable-book replay. Both
//! read the resident set size from `/proc/self/statm`; each measurement is meant to run
//! in a fresh process (see `lft-bench memory`), so memory freed by earlier work and kept
//! by the allocator cannot hide growth.

use std::time::Instant;

use lft_workload::{generate, GeneratorConfig, Scenario};
use serde::Serialize;

use crate::baseline::BaselineBook;
use crate::drive::EngineDriver;
use crate::events::EventTally;
use crate::obrs::ObrsDriver;

/// Page size from the auxiliary vector (`AT_PAGESZ`), 4096 if unreadable.
pub fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    if let Ok(aux) = std::fs::read("/proc/self/auxv") {
        for pair in aux.chunks_exact(16) {
            let key = u64::from_ne_bytes(pair[..8].try_into().expect("8 bytes"));
            let val = u64::from_ne_bytes(pair[8..].try_into().expect("8 bytes"));
            if key == AT_PAGESZ && val > 0 {
                return val;
            }
        }
    }
    4096
}

/// Resident set size in bytes (`/proc/self/statm`, second field × page size); 0 when
/// unavailable (not Linux).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page_size())
}

/// Which book a resting-memory measurement builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BookKind {
    /// lft-engine.
    Engine,
    /// The BTreeMap baseline.
    Baseline,
    /// orderbook-rs.
    OrderbookRs,
}

impl BookKind {
    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BookKind::Engine => "engine",
            BookKind::Baseline => "baseline",
            BookKind::OrderbookRs => "orderbook-rs",
        }
    }

    /// Parse a command-line name.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "engine" => Ok(BookKind::Engine),
            "baseline" => Ok(BookKind::Baseline),
            "orderbook-rs" => Ok(BookKind::OrderbookRs),
            _ => Err(format!("unknown book {s:?}; expected engine, baseline or orderbook-rs")),
        }
    }
}

/// Bytes per resting order.
#[derive(Clone, Debug, Serialize)]
pub struct RestingMemory {
    /// Book measured.
    pub book: BookKind,
    /// Orders rested.
    pub orders: usize,
    /// Distinct price levels per side.
    pub levels_per_side: usize,
    /// Orders actually resting at the end (checks nothing crossed).
    pub resting: usize,
    /// RSS before building the book, bytes.
    pub rss_before: u64,
    /// RSS with the book built, bytes.
    pub rss_after: u64,
    /// (after − before) / orders.
    pub bytes_per_order: f64,
    /// Seconds to build.
    pub build_seconds: f64,
}

/// Rest `orders` non-crossing GTC orders (alternating sides, `levels_per_side` levels per
/// side around a mid of 100 000 ticks) and measure the RSS delta.
pub fn resting_memory(book: BookKind, orders: usize, levels_per_side: usize) -> RestingMemory {
    const MID: i64 = 100_000;
    let levels = levels_per_side.max(1);
    let order = |i: usize| {
        let side = (i % 2) as u8;
        let level = ((i / 2) % levels) as i64;
        let price = if side == 0 { MID - 1 - level } else { MID + 1 + level };
        let qty = 1 + (i as i64 * 7919) % 100;
        (i as u64 + 1, side, price, qty)
    };
    let rss_before = rss_bytes();
    let start = Instant::now();
    let (rss_after, resting, build_seconds) = match book {
        BookKind::Engine => {
            let mut d = EngineDriver::new();
            let mut sink = EventTally::default();
            for i in 0..orders {
                let (id, side, price, quantity) = order(i);
                let r = lft_workload::Record {
                    kind: 0,
                    side,
                    tif: 0,
                    flags: 0,
                    symbol: 0,
                    reserved: 0,
                    order_id: id,
                    price,
                    quantity,
                    timestamp: i as i64,
                };
                d.apply(&r, &mut sink);
            }
            let secs = start.elapsed().as_secs_f64();
            (rss_bytes(), d.book.len(), secs)
        }
        BookKind::Baseline => {
            let mut b = BaselineBook::new();
            for i in 0..orders {
                let (id, side, price, quantity) = order(i);
                b.submit(id, side, price, quantity, false).expect("valid order");
            }
            let secs = start.elapsed().as_secs_f64();
            (rss_bytes(), b.len(), secs)
        }
        BookKind::OrderbookRs => {
            let d = ObrsDriver::new();
            for i in 0..orders {
                let (id, side, price, quantity) = order(i);
                let side = if side == 0 { orderbook_rs::Side::Buy } else { orderbook_rs::Side::Sell };
                d.book
                    .add_limit_order(
                        orderbook_rs::Id::Sequential(id),
                        price as u128,
                        quantity as u64,
                        side,
                        orderbook_rs::TimeInForce::Gtc,
                        None,
                    )
                    .expect("valid order");
            }
            let secs = start.elapsed().as_secs_f64();
            (rss_bytes(), d.book.get_all_orders().len(), secs)
        }
    };
    RestingMemory {
        book,
        orders,
        levels_per_side: levels,
        resting,
        rss_before,
        rss_after,
        bytes_per_order: (rss_after as f64 - rss_before as f64) / orders.max(1) as f64,
        build_seconds,
    }
}

/// One RSS sample during the replay.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RssSample {
    /// Commands applied so far.
    pub messages: u64,
    /// RSS, bytes.
    pub rss: u64,
    /// Orders resting in the book.
    pub resting: usize,
}

/// RSS over a long replay.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayMemory {
    /// Scenario name.
    pub scenario: String,
    /// Commands replayed in total (warm-up included).
    pub messages: usize,
    /// Commands in the warm-up.
    pub warmup: usize,
    /// RSS after generating the stream, before the book exists, bytes.
    pub rss_before: u64,
    /// RSS after the warm-up.
    pub rss_after_warmup: u64,
    /// RSS at the end.
    pub rss_after: u64,
    /// `rss_after − rss_after_warmup`.
    pub growth_after_warmup: i64,
    /// Growth per command after the warm-up, bytes.
    pub growth_bytes_per_message: f64,
    /// Resting orders after the warm-up.
    pub resting_after_warmup: usize,
    /// Resting orders at the end.
    pub resting_after: usize,
    /// Samples every `messages / 10` commands.
    pub samples: Vec<RssSample>,
    /// Seconds the replay took.
    pub replay_seconds: f64,
}

/// Replay `messages` commands of `scenario` through the engine (events tallied in place),
/// reading RSS before, after the first `warmup` commands, periodically and at the end.
pub fn replay_growth(scenario: Scenario, messages: usize, warmup: usize, seed: u64) -> ReplayMemory {
    let records = generate(GeneratorConfig::new(scenario, seed), messages);
    let warmup = warmup.min(messages);
    let every = (messages / 10).max(1);
    let mut d = EngineDriver::new();
    let mut sink = EventTally::default();
    let rss_before = rss_bytes();
    let mut rss_after_warmup = rss_before;
    let mut resting_after_warmup = 0;
    let mut samples = Vec::with_capacity(16);
    let start = Instant::now();
    for (i, r) in records.iter().enumerate() {
        if i == warmup {
            rss_after_warmup = rss_bytes();
            resting_after_warmup = d.book.len();
        }
        if i % every == 0 {
            samples.push(RssSample { messages: i as u64, rss: rss_bytes(), resting: d.book.len() });
        }
        d.apply(r, &mut sink);
    }
    let replay_seconds = start.elapsed().as_secs_f64();
    let rss_after = rss_bytes();
    if warmup == messages {
        rss_after_warmup = rss_after;
        resting_after_warmup = d.book.len();
    }
    samples.push(RssSample { messages: messages as u64, rss: rss_after, resting: d.book.len() });
    let growth = rss_after as i64 - rss_after_warmup as i64;
    ReplayMemory {
        scenario: scenario.name().to_string(),
        messages,
        warmup,
        rss_before,
        rss_after_warmup,
        rss_after,
        growth_after_warmup: growth,
        growth_bytes_per_message: growth as f64 / (messages - warmup).max(1) as f64,
        resting_after_warmup,
        resting_after: d.book.len(),
        samples,
        replay_seconds,
    }
}
