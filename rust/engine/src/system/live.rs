//! Live counters for the admin API's `/metrics`: per symbol (commands, trades, rejects) and
//! per worker (a command-latency histogram with fixed buckets). Each is written by exactly
//! one thread, the owning worker, with a relaxed load and a relaxed store (no read-modify-
//! write instruction: nobody else writes it); any thread may read them at any time with
//! relaxed loads. They live on cache lines of their own (`CachePadded`), so the worker's
//! stores never invalidate a line a submitter or another worker reads.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::event::ExecutionReport;
use crate::types::OrderStatus;

/// Add `n` to a counter only the calling thread writes.
#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// What one symbol's worker counted, since the system started (not across restarts).
#[derive(Debug, Default)]
pub struct SymbolCounters {
    /// Commands the worker ran for the symbol: every command that took a per-symbol
    /// sequence number (an order, a cancel, a modify, an expiry, an end of day, a whole
    /// batch; each command of a command list), refused ones included; the statistics'
    /// period-close ticks are not counted.
    pub commands: AtomicU64,
    /// Trades.
    pub trades: AtomicU64,
    /// Commands the book refused (invalid, unknown order id, ...) plus orders it answered
    /// with status REJECTED (post-only that would cross, a full pool, rejected batch rows).
    /// Refusals before the queue (queue full, halted symbol, price band) never reach the
    /// worker and are not counted.
    pub rejects: AtomicU64,
}

/// How a command ended, for [`SymbolCounters::ran`].
pub(crate) enum Ran<'a> {
    /// The book ran it: its report, and a batch's output.
    Done(&'a ExecutionReport, Option<&'a crate::BatchOutput>),
    /// The book refused it.
    Refused,
    /// It failed inside the book (the symbol halts).
    Failed,
}

impl SymbolCounters {
    /// Count one command: called by the owning worker only.
    #[inline]
    pub(crate) fn ran(&self, outcome: Ran<'_>) {
        bump(&self.commands, 1);
        let (report, batch) = match outcome {
            Ran::Done(report, batch) => (report, batch),
            Ran::Refused => return bump(&self.rejects, 1),
            Ran::Failed => return,
        };
        if !report.trades.is_empty() {
            bump(&self.trades, report.trades.len() as u64);
        }
        let rejected = match batch {
            // Rows refused by validation have a rejected status and no update; rows the book
            // rejected have both (as the statistics count them).
            Some(b) => {
                let by_status = b.status.iter().filter(|&&s| s == OrderStatus::Rejected as u8).count();
                let by_update = report.updates.iter().filter(|u| u.status == OrderStatus::Rejected).count();
                by_status.max(by_update) as u64
            }
            None => u64::from(report.report.as_ref().is_some_and(|u| u.status == OrderStatus::Rejected)),
        };
        if rejected > 0 {
            bump(&self.rejects, rejected);
        }
    }
}

/// Upper bounds (inclusive, nanoseconds) of the command-latency buckets: 1-2-5 steps from
/// 100 ns to 10 s; larger latencies fall in the last, unbounded bucket.
pub const LATENCY_BUCKETS_NS: [u64; 25] = [
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
    200_000_000,
    500_000_000,
    1_000_000_000,
    2_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// One worker's command latencies, from enqueue to the worker having run the queue entry
/// (before a journal, when on, releases the reply), in fixed buckets. Recorded only when
/// statistics are enabled (the enqueue time is taken only then), for every entry that took a
/// sequence number (period-close ticks included); queries (state hash, snapshot) are not
/// recorded. Recorded after the entry's reply was handed over.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Per bucket of [`LATENCY_BUCKETS_NS`], plus one for larger values (not cumulative).
    counts: [AtomicU64; LATENCY_BUCKETS_NS.len() + 1],
    sum_ns: AtomicU64,
}

/// What a [`LatencyHistogram`] held when read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// Cumulative counts: `cumulative[i]` samples were at most `LATENCY_BUCKETS_NS[i]`;
    /// the last entry is every sample (the `+Inf` bucket, equal to `count`).
    pub cumulative: Vec<u64>,
    /// Samples.
    pub count: u64,
    /// Their sum, in nanoseconds (read after the buckets: it may include a few samples the
    /// buckets do not yet show).
    pub sum_ns: u64,
}

impl LatencyHistogram {
    /// Record one sample: called by the owning worker only.
    #[inline]
    pub(crate) fn record(&self, ns: u64) {
        let i = LATENCY_BUCKETS_NS.partition_point(|&b| b < ns);
        bump(&self.counts[i], 1);
        bump(&self.sum_ns, ns);
    }

    /// Read it (relaxed loads; wait-free). Each bucket only grows, so successive reads
    /// never go down; the count is the buckets' sum, so it always equals the last one.
    pub fn read(&self) -> LatencySnapshot {
        let mut cumulative = Vec::with_capacity(self.counts.len());
        let mut total = 0u64;
        for c in &self.counts {
            total = total.wrapping_add(c.load(Relaxed));
            cumulative.push(total);
        }
        LatencySnapshot { cumulative, count: total, sum_ns: self.sum_ns.load(Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        let h = LatencyHistogram::default();
        for ns in [0, 100, 101, 999, 1_000, 10_000_000_000, 10_000_000_001, u64::MAX / 4] {
            h.record(ns);
        }
        let s = h.read();
        assert_eq!(s.count, 8);
        assert_eq!(s.cumulative.len(), LATENCY_BUCKETS_NS.len() + 1);
        assert_eq!(s.cumulative[0], 2); // 0 and 100
        assert_eq!(s.cumulative[1], 3); // 101
        assert_eq!(s.cumulative[3], 5); // 999, 1000
        assert_eq!(s.cumulative[LATENCY_BUCKETS_NS.len() - 1], 6);
        assert_eq!(*s.cumulative.last().unwrap(), 8);
        assert!(s.cumulative.windows(2).all(|w| w[0] <= w[1]));
    }
}
