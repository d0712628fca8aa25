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

/// When the journal thread calls `fdatasync` on the open segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every worker hand-off (one round of up to `batch_size` commands), before the
    /// next is written: hand-offs are never merged into one sync.
    Always,
    /// Group commit: everything queued when the thread wakes is written with one `write`
    /// and made durable with one `fdatasync`.
    Batch,
    /// At most every `interval`, whatever has been written since.
    Interval(std::time::Duration),
    /// Never: the operating system writes the pages back when it likes.
    Never,
}

/// When a journaled command's reply and its events are released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckPolicy {
    /// Once its record is written to the file (in the OS page cache): survives a crash of
    /// the process, not of the machine (unless the fsync policy has synced it).
    AfterWrite,
    /// Once its record is on stable storage (`fdatasync` returned): survives an OS crash
    /// and power loss.
    AfterFsync,
}

/// The command journal.
#[derive(Clone, Debug)]
pub struct JournalConfig {
    /// Directory of the segment files.
    pub directory: std::path::PathBuf,
    /// When segments are synced.
    pub fsync: FsyncPolicy,
    /// When replies and events are released.
    pub ack: AckPolicy,
    /// Size at which a segment rolls to the next file.
    pub segment_bytes: u64,
    /// Worker hand-offs the journal thread's queue holds; a worker that finds it full waits
    /// (the disk is slower than matching).
    pub queue_capacity: usize,
}

/// Snapshots of every book.
#[derive(Clone, Debug)]
pub struct SnapshotConfig {
    /// Directory of the snapshot files.
    pub directory: std::path::PathBuf,
    /// Take one of every changed book this often.
    pub interval: Option<std::time::Duration>,
    /// Take one of a book after this many commands.
    pub every_commands: Option<u64>,
    /// Snapshots kept per symbol (the newest); older ones and the journal segments every
    /// kept snapshot has passed are deleted.
    pub keep: usize,
    /// Take one of every book at clean shutdown.
    pub on_shutdown: bool,
    /// Compress the files (LZ4).
    pub compress: bool,
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
    /// The command journal, if enabled.
    pub journal: Option<JournalConfig>,
    /// Snapshots, if enabled.
    pub snapshots: Option<SnapshotConfig>,
    /// Statistics by period, if enabled.
    pub statistics: Option<crate::stats::StatsConfig>,
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
            journal: None,
            snapshots: None,
            statistics: None,
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
        if let Some(j) = &self.journal {
            if j.ack == AckPolicy::AfterFsync && j.fsync == FsyncPolicy::Never {
                return bad("journal.ack: after_fsync needs journal.fsync always, batch or interval \
                            (with fsync: never nothing is ever known to be on disk)"
                    .into());
            }
            if let FsyncPolicy::Interval(d) = j.fsync {
                if d.is_zero() {
                    return bad("journal.interval_ms: must be at least 1".into());
                }
            }
            if j.segment_bytes < 4096 {
                return bad(format!("journal.segment_bytes: must be at least 4096, got {}", j.segment_bytes));
            }
            if j.queue_capacity < 2 {
                return bad(format!("journal.queue_capacity: must be at least 2, got {}", j.queue_capacity));
            }
        }
        if let Some(s) = &self.snapshots {
            if s.keep == 0 {
                return bad("snapshots.keep: must be at least 1".into());
            }
            if s.every_commands == Some(0) {
                return bad("snapshots.every_commands: must be at least 1".into());
            }
            if s.interval.is_some_and(|d| d.is_zero()) {
                return bad("snapshots.interval_seconds: must be > 0".into());
            }
        }
        if let Some(s) = &self.statistics {
            s.validate()?;
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
