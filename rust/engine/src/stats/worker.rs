//! One worker's statistics: commands, latency from enqueue to answer (an HdrHistogram per
//! period), queue depth, events and the journal's and snapshots' work, by period of the
//! engine time of the worker's commands.

use hdrhistogram::Histogram;

use super::{period_start, LatencySummary, StatsConfig, StatsRecord, WorkerRow};
use crate::types::Timestamp;

/// Cumulative counters the worker reads when a period opens and closes (the row holds the
/// difference).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Gauges {
    pub(crate) events_published: u64,
    pub(crate) events_lost: u64,
    pub(crate) journal_bytes: u64,
    pub(crate) journal_records: u64,
    pub(crate) journal_syncs: u64,
    pub(crate) journal_sync_ns: u64,
    pub(crate) rows_dropped: u64,
}

struct Open {
    row: WorkerRow,
    end: Timestamp,
    at_open: Gauges,
}

/// Latencies above this (ten seconds) are counted as ten seconds.
const LATENCY_MAX_NS: u64 = 10_000_000_000;

/// One worker's collector. Only the worker touches it.
pub(crate) struct WorkerCollector {
    worker: u32,
    lengths: Box<[i64]>,
    clock: Timestamp,
    open: Vec<Option<Open>>,
    partial: Vec<bool>,
    /// One histogram per period (two significant digits, 32-bit counts: about 14 KiB
    /// each); every sample is recorded into each (a few per queue entry, not per command),
    /// so closing a period reads and clears its own histogram only.
    latency: Vec<Histogram<u32>>,
}

impl WorkerCollector {
    pub(crate) fn new(worker: u32, config: &StatsConfig, recovered: bool) -> Self {
        let n = config.periods.len();
        WorkerCollector {
            worker,
            lengths: config.periods.iter().map(|p| p.nanos).collect(),
            clock: Timestamp::MIN,
            open: (0..n).map(|_| None).collect(),
            partial: vec![recovered; n],
            latency: (0..n)
                .map(|_| Histogram::new_with_bounds(1, LATENCY_MAX_NS, 2).expect("valid histogram bounds"))
                .collect(),
        }
    }

    /// Move the worker's clock to `timestamp` (a command it ran), closing due periods.
    #[inline]
    pub(crate) fn advance(
        &mut self,
        timestamp: Timestamp,
        gauges: impl FnOnce() -> Gauges,
        emit: &mut impl FnMut(StatsRecord),
    ) {
        let t = timestamp.max(self.clock);
        self.clock = t;
        if let Some(o) = &self.open[0] {
            if t < o.end {
                return;
            }
        }
        self.roll(t, gauges(), emit);
    }

    #[cold]
    fn roll(&mut self, t: Timestamp, now: Gauges, emit: &mut impl FnMut(StatsRecord)) {
        for k in 0..self.open.len() {
            if self.open[k].as_ref().is_none_or(|o| o.end > t) {
                continue;
            }
            let o = self.open[k].take().expect("checked above");
            self.close(k, o, now, emit);
        }
        for k in 0..self.open.len() {
            if self.open[k].is_none() {
                let start = period_start(t, self.lengths[k]);
                let complete = !std::mem::replace(&mut self.partial[k], false);
                self.open[k] = Some(Open {
                    row: WorkerRow {
                        worker: self.worker,
                        period: k as u8,
                        start,
                        length: self.lengths[k],
                        complete,
                        covered_from: start,
                        covered_to: start.saturating_add(self.lengths[k]),
                        ..WorkerRow::default()
                    },
                    end: start.saturating_add(self.lengths[k]),
                    at_open: now,
                });
            }
        }
    }

    fn close(&mut self, k: usize, o: Open, now: Gauges, emit: &mut impl FnMut(StatsRecord)) {
        let Open { mut row, at_open, .. } = o;
        if k == 0 {
            for o in self.open[1..].iter_mut().flatten() {
                o.row.commands += row.commands;
                o.row.envelopes += row.envelopes;
                o.row.queue_depth_max = o.row.queue_depth_max.max(row.queue_depth_max);
                o.row.snapshots += row.snapshots;
                o.row.snapshot_capture_max_ns =
                    o.row.snapshot_capture_max_ns.max(row.snapshot_capture_max_ns);
            }
        }
        let h = &mut self.latency[k];
        row.latency = summary(h);
        h.reset();
        row.events_published = now.events_published.saturating_sub(at_open.events_published);
        row.events_lost = now.events_lost.saturating_sub(at_open.events_lost);
        row.journal_bytes = now.journal_bytes.saturating_sub(at_open.journal_bytes);
        row.journal_records = now.journal_records.saturating_sub(at_open.journal_records);
        row.journal_syncs = now.journal_syncs.saturating_sub(at_open.journal_syncs);
        row.journal_sync_ns = now.journal_sync_ns.saturating_sub(at_open.journal_sync_ns);
        row.rows_dropped = now.rows_dropped.saturating_sub(at_open.rows_dropped);
        emit(StatsRecord::Worker(Box::new(row)));
    }

    /// One queue entry answered: `commands` sequence numbers taken, `latency_ns` from its
    /// enqueue to now.
    #[inline]
    pub(crate) fn entry_done(&mut self, commands: u64, latency_ns: u64) {
        if let Some(o) = self.open[0].as_mut() {
            o.row.commands += commands;
            o.row.envelopes += 1;
            let v = latency_ns.clamp(1, LATENCY_MAX_NS);
            for h in &mut self.latency {
                h.saturating_record(v);
            }
        }
    }

    /// The queue's length at the start of a round.
    #[inline]
    pub(crate) fn queue_depth(&mut self, depth: usize) {
        if let Some(o) = self.open[0].as_mut() {
            o.row.queue_depth_max = o.row.queue_depth_max.max(depth as u64);
        }
    }

    /// A book captured for a snapshot, pausing the worker `capture_ns`.
    pub(crate) fn snapshot_taken(&mut self, capture_ns: u64) {
        if let Some(o) = self.open[0].as_mut() {
            o.row.snapshots += 1;
            o.row.snapshot_capture_max_ns = o.row.snapshot_capture_max_ns.max(capture_ns);
        }
    }

    /// At a stop: every open period as an incomplete row.
    pub(crate) fn flush(&mut self, now: Gauges, emit: &mut impl FnMut(StatsRecord)) {
        for k in 0..self.open.len() {
            if let Some(mut o) = self.open[k].take() {
                o.row.complete = false;
                o.row.covered_to = self.clock.clamp(o.row.covered_from, o.end);
                self.close(k, o, now, emit);
                self.partial[k] = true;
            }
        }
    }
}

/// The percentiles of one histogram in a single pass over its recorded buckets.
fn summary(h: &Histogram<u32>) -> LatencySummary {
    let count = h.len();
    if count == 0 {
        return LatencySummary::default();
    }
    // The rank of each percentile (as `value_at_quantile` counts them: at least one).
    let rank = |q: f64| ((q * count as f64).ceil() as u64).clamp(1, count);
    let wanted = [rank(0.50), rank(0.90), rank(0.99), rank(0.999)];
    let mut found = [0u64; 4];
    let mut next = 0;
    let mut seen = 0u64;
    for v in h.iter_recorded() {
        seen += v.count_at_value() as u64;
        while next < 4 && seen >= wanted[next] {
            found[next] = h.highest_equivalent(v.value_iterated_to());
            next += 1;
        }
        if next == 4 {
            break;
        }
    }
    LatencySummary {
        count,
        mean: h.mean(),
        p50: found[0],
        p90: found[1],
        p99: found[2],
        p999: found[3],
        max: h.max(),
    }
}
