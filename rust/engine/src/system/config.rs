//! Configuration of a [`TradingSystem`](super::TradingSystem) and the assignment of symbols
//! to worker threads.

use crate::book::BookConfig;
use crate::error::{EngineError, EngineResult};
use crate::types::Ticks;

/// What a submitter experiences when a worker's queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Wait (spinning, then yielding, then napping) until there is room.
    #[default]
    Block,
    /// Fail at once with [`EngineError::QueueFull`]; nothing is enqueued.
    Reject,
}

/// One configured symbol.
#[derive(Clone, Debug)]
pub struct SymbolSpec {
    /// The book: name, tick and lot size, retention, order pool.
    pub book: BookConfig,
    /// Pin the symbol to this worker (0-based); `None` lets the system balance.
    pub worker: Option<usize>,
    /// Inclusive band of accepted limit prices, in ticks; orders outside it are refused.
    pub price_band: Option<(Ticks, Ticks)>,
    /// Expected share of the order flow, for automatic balancing (default 1).
    pub weight: f64,
}

impl SymbolSpec {
    /// A symbol with the default placement and no price band.
    pub fn new(book: BookConfig) -> Self {
        SymbolSpec { book, worker: None, price_band: None, weight: 1.0 }
    }
}

/// The whole system.
#[derive(Clone, Debug)]
pub struct SystemConfig {
    /// Symbols, in the order their indices are given.
    pub symbols: Vec<SymbolSpec>,
    /// Worker threads; 0 means one per core minus one (at least 1), never more than symbols.
    pub threads: usize,
    /// Commands a worker takes from its queue per round.
    pub batch_size: usize,
    /// Commands each worker's queue holds.
    pub queue_capacity: usize,
    /// Policy when a queue is full.
    pub on_full: OnFull,
    /// Pin each worker to its own core (and allocate its books from there).
    pub pin_threads: bool,
    /// Events each worker's broadcast ring keeps for subscribers.
    pub event_capacity: usize,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            symbols: Vec::new(),
            threads: 0,
            batch_size: 64,
            queue_capacity: 65_536,
            on_full: OnFull::Block,
            pin_threads: false,
            event_capacity: 1 << 16,
        }
    }
}

impl SystemConfig {
    /// A config for these symbols with the defaults elsewhere.
    pub fn with_symbols(symbols: Vec<SymbolSpec>) -> Self {
        SystemConfig { symbols, ..SystemConfig::default() }
    }

    /// Worker count after resolving `threads = 0`.
    pub fn worker_count(&self) -> usize {
        let wanted = if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1).max(1)
        } else {
            self.threads
        };
        wanted.min(self.symbols.len()).max(1)
    }

    /// Check every field; the error names the field.
    pub fn validate(&self) -> EngineResult<()> {
        let bad = |m: String| Err(EngineError::InvalidConfig(m));
        if self.symbols.is_empty() {
            return bad("symbols: at least one symbol is needed".into());
        }
        if self.batch_size == 0 {
            return bad("engine.batch_size: must be at least 1".into());
        }
        if self.queue_capacity < 2 {
            return bad(format!("engine.queue_capacity: must be at least 2, got {}", self.queue_capacity));
        }
        if self.event_capacity < 2 {
            return bad(format!("engine.event_capacity: must be at least 2, got {}", self.event_capacity));
        }
        let workers = self.worker_count();
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.symbols.iter().enumerate() {
            let name = &s.book.symbol;
            if name.trim().is_empty() {
                return bad(format!("symbols[{i}].name: must not be empty"));
            }
            if !seen.insert(name.as_str()) {
                return bad(format!("symbols[{i}].name: {name:?} is configured twice"));
            }
            if let Some(w) = s.worker {
                if w >= workers {
                    return bad(format!(
                        "symbols[{i}].worker: {w} is out of range: the system runs {workers} worker(s) \
                         (engine.threads, at most one per symbol)"
                    ));
                }
            }
            if let Some((lo, hi)) = s.price_band {
                if lo <= 0 || hi < lo {
                    return bad(format!(
                        "symbols[{i}].price_band: need 0 < min <= max, got {lo}..{hi} ticks"
                    ));
                }
            }
            if !(s.weight.is_finite() && s.weight > 0.0) {
                return bad(format!("symbols[{i}].weight: must be a positive number, got {}", s.weight));
            }
        }
        Ok(())
    }

    /// Worker of each symbol: explicit placements first, then the rest by weight, heaviest
    /// first, each onto the least-loaded worker (ties: lowest index). Deterministic.
    pub fn assignment(&self) -> Vec<usize> {
        let workers = self.worker_count();
        let mut load = vec![0.0f64; workers];
        let mut out = vec![usize::MAX; self.symbols.len()];
        for (i, s) in self.symbols.iter().enumerate() {
            if let Some(w) = s.worker {
                out[i] = w;
                load[w] += s.weight;
            }
        }
        let mut rest: Vec<usize> = (0..self.symbols.len()).filter(|&i| out[i] == usize::MAX).collect();
        rest.sort_by(|&a, &b| self.symbols[b].weight.total_cmp(&self.symbols[a].weight).then(a.cmp(&b)));
        for i in rest {
            let w = (0..workers).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).unwrap_or(0);
            out[i] = w;
            load[w] += self.symbols[i].weight;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn spec(name: &str, weight: f64, worker: Option<usize>) -> SymbolSpec {
        let book = BookConfig::new(name, Decimal::ONE, Decimal::ONE).unwrap();
        SymbolSpec { weight, worker, ..SymbolSpec::new(book) }
    }

    #[test]
    fn balancing_puts_heavy_symbols_on_separate_workers() {
        let cfg = SystemConfig {
            threads: 2,
            ..SystemConfig::with_symbols(vec![
                spec("a", 1.0, None),
                spec("b", 5.0, None),
                spec("c", 4.0, None),
                spec("d", 1.0, None),
            ])
        };
        assert_eq!(cfg.assignment(), vec![1, 0, 1, 0]);
    }

    #[test]
    fn explicit_placement_is_honoured_and_counted() {
        let cfg = SystemConfig {
            threads: 2,
            ..SystemConfig::with_symbols(vec![
                spec("a", 3.0, Some(0)),
                spec("b", 1.0, None),
                spec("c", 1.0, None),
            ])
        };
        assert_eq!(cfg.assignment(), vec![0, 1, 1]);
    }

    #[test]
    fn never_more_workers_than_symbols() {
        let cfg = SystemConfig { threads: 8, ..SystemConfig::with_symbols(vec![spec("a", 1.0, None)]) };
        assert_eq!(cfg.worker_count(), 1);
    }

    #[test]
    fn validation_names_the_field() {
        let mut cfg =
            SystemConfig { threads: 2, ..SystemConfig::with_symbols(vec![spec("a", 1.0, Some(2))]) };
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("symbols[0].worker"), "{e}");
        cfg.symbols = vec![spec("a", 1.0, None), spec("a", 1.0, None)];
        assert!(cfg.validate().unwrap_err().to_string().contains("symbols[1].name"));
        cfg.symbols = vec![spec("a", 1.0, None)];
        cfg.batch_size = 0;
        assert!(cfg.validate().unwrap_err().to_string().contains("engine.batch_size"));
    }
}
