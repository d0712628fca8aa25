//! The flow model. See the crate docs for its shape.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::str::FromStr;

use crate::rng::Rng;
use crate::{Kind, Record};

/// Volatility regimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// The mid never moves and orders live long: a deep book on a few dozen levels.
    Static,
    /// Gentle random walk.
    Normal,
    /// Wide moves: around a thousand levels in play.
    Swing,
    /// Normal flow, then a one-way 10% fall over a tenth of the stream.
    FlashCrash,
    /// Public shape `static`: the mid never moves; the 5% of orders never cancelled pile up
    /// (about 21k resting on average, 42k at the end, on some 60 levels); IOCs rest at the
    /// mid, so they rarely trade.
    PubStatic,
    /// Public shape `normal`: a GBM path whose range is 2% of the start (~2.7k resting orders
    /// on ~290 levels).
    PubNormal,
    /// Public shape `swing-25`: the path's range is 25% of the start (~1.3k resting orders
    /// on ~830 levels).
    PubSwing25,
    /// Public shape `swing-40`: the path's range is 40% of the start (~700 resting orders
    /// on ~560 levels).
    PubSwing40,
    /// Public shape `flash-crash`: a crash inside the path, whose range is 60% of the start
    /// (~240 resting orders on ~210 levels, the walk covering tens of thousands of ticks).
    PubFlashCrash,
}

impl Scenario {
    /// The project's own scenarios, in report order.
    pub const ALL: [Scenario; 4] =
        [Scenario::Static, Scenario::Normal, Scenario::Swing, Scenario::FlashCrash];

    /// The five shapes of the public matching-engine benchmark (same construction: GBM mid,
    /// power-law depth, ~95% cancel / ~15% IOC / ~20% modify, one symbol, ~2M messages; the
    /// scenarios differ by the range the mid's path covers), in report order.
    pub const PUBLIC: [Scenario; 5] = [
        Scenario::PubStatic,
        Scenario::PubNormal,
        Scenario::PubSwing25,
        Scenario::PubSwing40,
        Scenario::PubFlashCrash,
    ];

    /// Every scenario: [`Scenario::ALL`] then [`Scenario::PUBLIC`].
    pub const EVERY: [Scenario; 9] = [
        Scenario::Static,
        Scenario::Normal,
        Scenario::Swing,
        Scenario::FlashCrash,
        Scenario::PubStatic,
        Scenario::PubNormal,
        Scenario::PubSwing25,
        Scenario::PubSwing40,
        Scenario::PubFlashCrash,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Static => "static",
            Scenario::Normal => "normal",
            Scenario::Swing => "swing",
            Scenario::FlashCrash => "flash-crash",
            Scenario::PubStatic => "pub-static",
            Scenario::PubNormal => "pub-normal",
            Scenario::PubSwing25 => "pub-swing-25",
            Scenario::PubSwing40 => "pub-swing-40",
            Scenario::PubFlashCrash => "pub-flash-crash",
        }
    }

    /// Per-event volatility of the log mid (the project's scenarios; the public shapes move
    /// along a precomputed path instead, see [`MidPath`]).
    fn sigma(self) -> f64 {
        match self {
            Scenario::Static => 0.0,
            Scenario::Normal | Scenario::FlashCrash => 2e-6,
            Scenario::Swing => 5e-5,
            _ => 0.0,
        }
    }

    /// Mean life of a resting order before its cancel, in events.
    fn cancel_delay(self) -> f64 {
        match self {
            Scenario::Static | Scenario::Swing => 60_000.0,
            Scenario::Normal | Scenario::FlashCrash => 4_000.0,
            Scenario::PubStatic => PUB_STATIC_LIFE,
            Scenario::PubNormal => PUB_NORMAL_LIFE,
            Scenario::PubSwing25 => PUB_SWING25_LIFE,
            Scenario::PubSwing40 => PUB_SWING40_LIFE,
            Scenario::PubFlashCrash => PUB_CRASH_LIFE,
        }
    }

    /// The range of the mid's path as a share of the start (public shapes).
    fn target_swing(self) -> f64 {
        match self {
            Scenario::PubNormal => 0.02,
            Scenario::PubSwing25 => 0.25,
            Scenario::PubSwing40 => 0.40,
            Scenario::PubFlashCrash => 0.60,
            _ => 0.0,
        }
    }

    /// Farthest a passive order rests from the mid, in ticks.
    fn max_distance(self) -> i64 {
        match self {
            Scenario::PubStatic => PUB_STATIC_MAX_DISTANCE,
            _ => 5_000,
        }
    }

    /// How far through the mid a marketable IOC reaches, in ticks (inclusive range).
    fn ioc_reach(self) -> (i64, i64) {
        match self {
            Scenario::PubStatic => (PUB_STATIC_IOC_REACH, PUB_STATIC_IOC_REACH),
            _ => (1, 5),
        }
    }
}

// Calibration of the public shapes (mean order life in events, IOC reach and farthest distance
// in ticks): chosen so that 2M messages of seed 42 show the published resting orders and
// levels (`lft-bench shape` measures them; `rust/bench/tests/public_shape.rs` keeps them in
// band). The fills are not matched: passive orders are priced from the path without seeing
// the book, so the ones the mid drifts past are crossed (README, "Public-shape scenarios").
const PUB_STATIC_LIFE: f64 = 1_500.0;
const PUB_NORMAL_LIFE: f64 = 34_000.0;
const PUB_SWING25_LIFE: f64 = 75_000.0;
const PUB_SWING40_LIFE: f64 = 30_000.0;
const PUB_CRASH_LIFE: f64 = 2_500.0;
const PUB_STATIC_IOC_REACH: i64 = 0;
const PUB_STATIC_MAX_DISTANCE: i64 = 30;
/// Events between two knots of a public-shape path.
const PATH_KNOT_EVENTS: usize = 1_000;
/// Stream length a public-shape path is laid over when the generator is not told one.
const DEFAULT_HORIZON: u64 = 2_000_000;

/// The mid's log path of a public shape, one point per event: a Gaussian random walk (plus,
/// for `pub-flash-crash`, a fall of the walk's own range between 40% and 50% of the stream),
/// scaled so that the price's range over the stream is the scenario's target share of the
/// start. Events past the horizon keep the last point.
struct MidPath {
    log_offsets: Vec<f64>,
}

impl MidPath {
    fn new(scenario: Scenario, horizon: u64, rng: &mut Rng) -> Option<MidPath> {
        let swing = scenario.target_swing();
        if swing <= 0.0 {
            return None;
        }
        // A Gaussian walk on knots PATH_KNOT_EVENTS apart, linear between them: the mid
        // drifts smoothly instead of jittering a tick every event (a jitter would cross every
        // order resting a tick or two away within a few events).
        let n = horizon.max(1) as usize;
        let knots = n / PATH_KNOT_EVENTS + 2;
        let mut knot = Vec::with_capacity(knots);
        let mut w = 0.0;
        for _ in 0..knots {
            knot.push(w);
            w += rng.normal();
        }
        let walk: Vec<f64> = (0..n)
            .map(|k| {
                let (i, frac) =
                    (k / PATH_KNOT_EVENTS, (k % PATH_KNOT_EVENTS) as f64 / PATH_KNOT_EVENTS as f64);
                knot[i] + (knot[i + 1] - knot[i]) * frac
            })
            .collect();
        let mut walk = walk;
        if scenario == Scenario::PubFlashCrash {
            let (lo, hi) = min_max(&walk);
            let depth = (hi - lo).max(1.0);
            for (k, x) in walk.iter_mut().enumerate() {
                let progress = ((k as f64 / n as f64 - 0.4) / 0.1).clamp(0.0, 1.0);
                *x -= depth * progress;
            }
        }
        // Scale a so that max(exp(a w)) - min(exp(a w)) = swing (monotone in a: bisection).
        let (lo, hi) = min_max(&walk);
        let range_at = |a: f64| libm::exp(a * hi) - libm::exp(a * lo);
        let (mut a_lo, mut a_hi) = (0.0, 1.0);
        while range_at(a_hi) < swing {
            a_hi *= 2.0;
        }
        for _ in 0..100 {
            let mid = 0.5 * (a_lo + a_hi);
            if range_at(mid) < swing {
                a_lo = mid;
            } else {
                a_hi = mid;
            }
        }
        let a = 0.5 * (a_lo + a_hi);
        Some(MidPath { log_offsets: walk.into_iter().map(|x| a * x).collect() })
    }

    fn at(&self, step: u64) -> f64 {
        let last = self.log_offsets.len() - 1;
        self.log_offsets[(step as usize).min(last)]
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::EVERY
            .into_iter()
            .find(|sc| sc.name() == s.trim().to_ascii_lowercase().replace('_', "-"))
            .ok_or_else(|| {
                let names: Vec<&str> = Scenario::EVERY.iter().map(|sc| sc.name()).collect();
                format!("unknown scenario {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Volatility regime.
    pub scenario: Scenario,
    /// Seed: same seed, same stream, on every machine.
    pub seed: u64,
    /// Number of symbols; activity across them follows a Pareto (Zipf, s = 1.16) law,
    /// or is equal when `uniform_activity` is set.
    pub symbols: u16,
    /// Every symbol equally active (for scaling benchmarks) instead of Pareto-skewed.
    pub uniform_activity: bool,
    /// Starting mid price in ticks.
    pub start_mid: i64,
    /// Mean gap between commands in nanoseconds.
    pub mean_gap_ns: f64,
    /// Share of new orders that are marketable IOC.
    pub ioc_ratio: f64,
    /// Share of resting orders that are cancelled later.
    pub cancel_ratio: f64,
    /// Share of resting orders that get a modify.
    pub modify_ratio: f64,
}

impl GeneratorConfig {
    /// Defaults for a scenario.
    pub fn new(scenario: Scenario, seed: u64) -> Self {
        GeneratorConfig {
            scenario,
            seed,
            symbols: 1,
            uniform_activity: false,
            start_mid: 100_000,
            mean_gap_ns: 1_000.0,
            ioc_ratio: 0.15,
            cancel_ratio: 0.95,
            modify_ratio: 0.20,
        }
    }
}

struct SymbolState {
    /// Random-walk part of the log mid, relative to the start.
    walk: f64,
    start_log_mid: f64,
}

/// Scheduled follow-up of a resting order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FollowUp {
    kind: u8,
    symbol: u16,
    side: u8,
    order_id: u64,
    price: i64,
    quantity: i64,
}

/// Infinite iterator of records; take as many as needed.
pub struct Generator {
    cfg: GeneratorConfig,
    rng: Rng,
    symbols: Vec<SymbolState>,
    /// Cumulative Pareto weights for picking a symbol.
    cumulative: Vec<f64>,
    pending: BinaryHeap<Reverse<(u64, u64, FollowUp)>>,
    step: u64,
    next_id: u64,
    clock: f64,
    /// Expected stream length, used to place the flash crash; 0 = unknown.
    horizon: u64,
    /// The public shapes' precomputed mid path (None: the project's random walk).
    path: Option<MidPath>,
}

impl Generator {
    /// A generator for `cfg`; `horizon` is the intended stream length (for the crash window).
    pub fn new(cfg: GeneratorConfig, horizon: u64) -> Self {
        let n = cfg.symbols.max(1) as usize;
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                total += if cfg.uniform_activity { 1.0 } else { libm::pow((k + 1) as f64, -1.16) };
                total
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|c| c / total)
            .collect();
        let start = libm::log(cfg.start_mid as f64);
        let mut rng = Rng::new(cfg.seed);
        let path_horizon = if horizon == 0 { DEFAULT_HORIZON } else { horizon };
        let path = MidPath::new(cfg.scenario, path_horizon, &mut rng);
        Generator {
            rng,
            path,
            symbols: (0..n).map(|_| SymbolState { walk: 0.0, start_log_mid: start }).collect(),
            cumulative,
            pending: BinaryHeap::new(),
            step: 0,
            next_id: 1,
            clock: 0.0,
            horizon,
            cfg,
        }
    }

    fn pick_symbol(&mut self) -> u16 {
        let u = self.rng.uniform();
        self.cumulative.iter().position(|&c| u < c).unwrap_or(self.cumulative.len() - 1) as u16
    }

    /// The crash's share of the log mid at this point of the stream: 0 before 40% of the
    /// horizon, falling linearly to ln(0.9) at 50%, then held.
    fn crash_offset(&self) -> f64 {
        if self.cfg.scenario != Scenario::FlashCrash || self.horizon == 0 {
            return 0.0;
        }
        let progress = (self.step as f64 / self.horizon as f64 - 0.4) / 0.1;
        libm::log(0.9) * progress.clamp(0.0, 1.0)
    }

    fn move_mid(&mut self, symbol: u16) -> i64 {
        if let Some(path) = &self.path {
            let s = &self.symbols[symbol as usize];
            return libm::round(libm::exp(s.start_log_mid + path.at(self.step))) as i64;
        }
        let crash = self.crash_offset();
        let step = self.cfg.scenario.sigma() * self.rng.normal();
        let s = &mut self.symbols[symbol as usize];
        // Keep the walk within ±50% so prices stay positive and bounded.
        s.walk = (s.walk + step).clamp(libm::log(0.5), libm::log(1.5));
        libm::round(libm::exp(s.start_log_mid + s.walk + crash)) as i64
    }

    /// Distance from the mid: power-law tail (density ∝ d^-2.2) with a hump 2–4 ticks out.
    fn distance(&mut self) -> i64 {
        let cap = self.cfg.scenario.max_distance();
        loop {
            let tail = libm::floor(self.rng.pareto(1.2)) as i64;
            let d = (tail + self.rng.range(0, 2)).clamp(1, 5_000);
            // The public shapes redraw past their cap (a book of a few dozen levels); the
            // project's scenarios have no cap below 5,000, so they never redraw.
            if d <= cap {
                return d;
            }
        }
    }

    fn schedule(&mut self, delay: f64, f: FollowUp) {
        let due = self.step + 1 + delay as u64;
        self.pending.push(Reverse((due, f.order_id * 4 + f.kind as u64, f)));
    }

    fn stamp(&mut self) -> i64 {
        self.clock += self.rng.exponential(self.cfg.mean_gap_ns).max(1.0);
        self.clock as i64
    }

    fn new_order(&mut self) -> Record {
        let symbol = self.pick_symbol();
        let mid = self.move_mid(symbol);
        let side = (self.rng.next_u64() & 1) as u8;
        let quantity = self.rng.range(1, 100);
        let order_id = self.next_id;
        self.next_id += 1;
        let timestamp = self.stamp();
        if self.rng.chance(self.cfg.ioc_ratio) {
            let (near, far) = self.cfg.scenario.ioc_reach();
            let through = self.rng.range(near, far);
            let price = if side == 0 { mid + through } else { (mid - through).max(1) };
            return new_order_record(side, 1, symbol, order_id, price, quantity, timestamp);
        }
        let d = self.distance();
        let price = if side == 0 { (mid - d).max(1) } else { mid + d };
        let delay_mean = self.cfg.scenario.cancel_delay();
        if self.rng.chance(self.cfg.modify_ratio) {
            let delay = self.rng.exponential(delay_mean / 2.0);
            let (new_price, new_qty) = if self.rng.chance(0.5) {
                let tick = if self.rng.chance(0.5) { 1 } else { -1 };
                ((price + tick).max(1), quantity)
            } else {
                (price, quantity + self.rng.range(1, 50))
            };
            self.schedule(
                delay,
                FollowUp {
                    kind: Kind::Modify as u8,
                    symbol,
                    side,
                    order_id,
                    price: new_price,
                    quantity: new_qty,
                },
            );
        }
        if self.rng.chance(self.cfg.cancel_ratio) {
            let delay = self.rng.exponential(delay_mean);
            self.schedule(
                delay,
                FollowUp { kind: Kind::Cancel as u8, symbol, side, order_id, price: 0, quantity: 0 },
            );
        }
        new_order_record(side, 0, symbol, order_id, price, quantity, timestamp)
    }
}

/// A new-order record (`tif` 0 GTC, 1 IOC).
fn new_order_record(
    side: u8,
    tif: u8,
    symbol: u16,
    order_id: u64,
    price: i64,
    quantity: i64,
    timestamp: i64,
) -> Record {
    Record {
        kind: Kind::New as u8,
        side,
        tif,
        flags: 0,
        symbol,
        reserved: 0,
        order_id,
        price,
        quantity,
        timestamp,
    }
}

impl Iterator for Generator {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let due = matches!(self.pending.peek(), Some(Reverse((at, _, _))) if *at <= self.step);
        let record = if due {
            let Reverse((_, _, f)) = self.pending.pop().expect("peeked");
            let timestamp = self.stamp();
            Record {
                kind: f.kind,
                side: f.side,
                tif: 0,
                flags: 0,
                symbol: f.symbol,
                reserved: 0,
                order_id: f.order_id,
                price: f.price,
                quantity: f.quantity,
                timestamp,
            }
        } else {
            self.new_order()
        };
        self.step += 1;
        Some(record)
    }
}

/// `count` records of a scenario.
pub fn generate(cfg: GeneratorConfig, count: usize) -> Vec<Record> {
    Generator::new(cfg, count as u64).take(count).collect()
}
