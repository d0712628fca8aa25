//! Durability costs, side by side in one run:
//! - throughput of the multi-symbol `TradingSystem` (the `simulate` workload shape: several
//!   symbols, one driver handing commands over in chunks) with the journal off, and with
//!   `fsync: never`, `interval`, `batch` and `always`;
//! - the round-trip (ack) latency of single submits in each mode, and the disk's
//!   `fdatasync` latency as the committer saw it;
//! - the worker's pause to capture a book of 1e3, 1e5 and 1e6 resting orders, and the
//!   snapshot file's size per order;
//! - recovery time from a journal of `--recovery-count` commands and from a snapshot of
//!   1e6 orders.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lft_engine::journal::recovery::{recover, Mode};
use lft_engine::journal::snapshot;
use lft_engine::system::{
    AckPolicy, FsyncPolicy, JournalConfig, Request, SnapshotConfig, SystemConfig, TradingSystem,
};
use lft_engine::{BookConfig, BookWriter, Decimal, NewOrder, Side};
use lft_workload::{generate, GeneratorConfig, Scenario};
use serde::Serialize;

use crate::scaling::{bench_config, run_once, run_pipelined, split};
use crate::stats::{median, rate};

/// One journal mode's results.
#[derive(Clone, Debug, Serialize)]
pub struct ModeResult {
    /// `off`, `never`, `interval`, `batch`, `always`.
    pub mode: String,
    /// `after_write` or `after_fsync` (empty when off).
    pub ack: String,
    /// Median commands per second.
    pub messages_per_s: f64,
    /// Relative to the journal off, same run.
    pub vs_off: f64,
    /// Single-submit round trip, p50 / p99 / p99.9 / max, microseconds.
    pub ack_us: [f64; 4],
    /// Mean and max `fdatasync`, microseconds (0 without syncs).
    pub fsync_mean_us: f64,
    /// Longest `fdatasync` seen.
    pub fsync_max_us: f64,
    /// Journal bytes per command.
    pub bytes_per_command: f64,
    /// Records per `write` call (the group-commit factor).
    pub records_per_write: f64,
}

/// One book size's snapshot numbers.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotPoint {
    /// Resting orders.
    pub orders: usize,
    /// Worker pause to capture (median of 5), milliseconds.
    pub capture_ms: f64,
    /// Snapshot file bytes per order (LZ4).
    pub file_bytes_per_order: f64,
    /// Encode + compress + write + fsync on the snapshot thread, milliseconds.
    pub write_ms: f64,
    /// Read + decompress + decode + restore (+ state-hash check), milliseconds.
    pub restore_ms: f64,
}

/// The durability section.
#[derive(Clone, Debug, Serialize)]
pub struct DurabilityReport {
    /// Commands per throughput run.
    pub count: usize,
    /// Symbols.
    pub symbols: u16,
    /// Worker threads.
    pub workers: usize,
    /// Runs per mode.
    pub repeat: usize,
    /// Where the files went.
    pub directory: String,
    /// By mode.
    pub modes: Vec<ModeResult>,
    /// By book size.
    pub snapshots: Vec<SnapshotPoint>,
    /// Commands in the recovery journal.
    pub recovery_commands: usize,
    /// Seconds to recover them (scan + replay, no snapshot).
    pub recovery_seconds: f64,
    /// Commands per second of that replay.
    pub recovery_messages_per_s: f64,
}

/// Hand-offs of 256 commands in flight per symbol: a durable system's throughput needs
/// clients that pipeline past the sync latency (an ack waits for `fdatasync`, 1-10 ms on
/// this disk), as FIX clients do; the same depth is used for every mode, off included.
const IN_FLIGHT: usize = 128;

const MODES: [(&str, Option<(FsyncPolicy, AckPolicy)>); 5] = [
    ("off", None),
    ("never", Some((FsyncPolicy::Never, AckPolicy::AfterWrite))),
    ("interval", Some((FsyncPolicy::Interval(Duration::from_millis(10)), AckPolicy::AfterFsync))),
    ("batch", Some((FsyncPolicy::Batch, AckPolicy::AfterFsync))),
    ("always", Some((FsyncPolicy::Always, AckPolicy::AfterFsync))),
];

fn journal(dir: &Path, fsync: FsyncPolicy, ack: AckPolicy) -> JournalConfig {
    JournalConfig { directory: dir.to_path_buf(), fsync, ack, segment_bytes: 64 << 20, queue_capacity: 4096 }
}

fn system(symbols: usize, workers: usize, journal: Option<JournalConfig>) -> TradingSystem {
    TradingSystem::start(SystemConfig { journal, ..bench_config(symbols, workers) })
        .expect("valid durability config")
}

fn fresh(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("bench directory");
}

fn percentiles(h: &Histogram<u64>) -> [f64; 4] {
    [h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.value_at_quantile(0.999), h.max()]
        .map(|ns| ns as f64 / 1e3)
}

/// Single submits, one at a time, resting far from each other (no trades).
fn ack_latency(sys: &TradingSystem, n: usize) -> [f64; 4] {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for i in 0..n {
        let o = NewOrder::limit(10_000_000 + i as u128, Side::Buy, 1 + (i % 1000) as i64, 1, i as i64);
        let t = Instant::now();
        let _ = sys.execute((i % sys.symbol_count()) as u32, Request::New(o), false);
        h.record(t.elapsed().as_nanos() as u64).expect("in range");
    }
    percentiles(&h)
}

/// A book with `n` resting orders on 2,000 levels, bids below asks.
fn big_book(n: usize) -> BookWriter {
    let mut cfg = BookConfig::new("BIG", Decimal::ONE, Decimal::ONE).expect("valid");
    cfg.order_capacity = n;
    let mut b = BookWriter::try_with_config(cfg).expect("book");
    for i in 0..n {
        let (side, price) = if i % 2 == 0 {
            (Side::Buy, 10_000 - (i % 1000) as i64)
        } else {
            (Side::Sell, 10_001 + (i % 1000) as i64)
        };
        let mut o = NewOrder::limit(i as u128 + 1, side, price, 1 + (i % 7) as i64, i as i64);
        if i % 11 == 0 {
            o.quantity = 10;
            o.display_quantity = Some(3);
        }
        b.submit(&o).expect("rests");
    }
    b
}

fn snapshot_point(n: usize, dir: &Path) -> SnapshotPoint {
    let book = big_book(n);
    let mut pauses = Vec::new();
    let mut image = book.capture();
    for _ in 0..5 {
        let t = Instant::now();
        image = book.capture();
        pauses.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let t = Instant::now();
    let bytes = snapshot::encode(n as u64, 0, &image, true);
    let (path, size) = snapshot::write(dir, "BIG", &bytes, n as u64).expect("snapshot write");
    let write_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let file = snapshot::read(&path).expect("snapshot read");
    let restored = BookWriter::restore(file.image.config().expect("config"), &file.image).expect("restore");
    let restore_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(restored.len(), book.len());
    let _ = std::fs::remove_file(&path);
    SnapshotPoint {
        orders: n,
        capture_ms: median(pauses),
        file_bytes_per_order: size as f64 / n.max(1) as f64,
        write_ms,
        restore_ms,
    }
}

/// Run every measurement. Files go under `base` (a directory on the disk to measure).
#[allow(clippy::too_many_arguments)]
pub fn run_durability(
    base: &Path,
    count: usize,
    symbols: u16,
    workers: usize,
    repeat: usize,
    recovery_count: usize,
    seed: u64,
    book_sizes: &[usize],
) -> DurabilityReport {
    let mut cfg = GeneratorConfig::new(Scenario::Normal, seed);
    cfg.symbols = symbols;
    let records = generate(cfg, count);
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    let mut fsync = vec![(0f64, 0f64); MODES.len()];
    let mut bytes = vec![0f64; MODES.len()];
    let mut per_write = vec![0f64; MODES.len()];
    // Interleave the modes round by round, so drift of the machine hits them alike.
    for _ in 0..repeat.max(1) {
        for (k, (name, mode)) in MODES.iter().enumerate() {
            let dir = base.join(format!("tp-{name}"));
            fresh(&dir);
            let sys = system(symbols as usize, workers, mode.map(|(f, a)| journal(&dir, f, a)));
            let (secs, _, _) = run_pipelined(&sys, split(&records, symbols as usize), IN_FLIGHT);
            runs[k].push(rate(records.len() as u64, secs));
            let c = sys.journal_counters();
            let syncs: u64 = c.iter().map(|c| c.syncs.load(std::sync::atomic::Ordering::Relaxed)).sum();
            let sync_ns: u64 = c.iter().map(|c| c.sync_ns.load(std::sync::atomic::Ordering::Relaxed)).sum();
            let max_ns =
                c.iter().map(|c| c.sync_max_ns.load(std::sync::atomic::Ordering::Relaxed)).max().unwrap_or(0);
            let written: u64 =
                c.iter().map(|c| c.bytes_written.load(std::sync::atomic::Ordering::Relaxed)).sum();
            if syncs > 0 {
                fsync[k] = (sync_ns as f64 / syncs as f64 / 1e3, fsync[k].1.max(max_ns as f64 / 1e3));
            }
            bytes[k] = written as f64 / count.max(1) as f64;
            let records: u64 = c.iter().map(|c| c.records.load(std::sync::atomic::Ordering::Relaxed)).sum();
            let writes: u64 = c.iter().map(|c| c.writes.load(std::sync::atomic::Ordering::Relaxed)).sum();
            per_write[k] = records as f64 / writes.max(1) as f64;
            drop(sys);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let off = median(runs[0].clone());
    let mut modes = Vec::new();
    for (k, (name, mode)) in MODES.iter().enumerate() {
        let dir = base.join(format!("ack-{name}"));
        fresh(&dir);
        let sys = system(symbols as usize, workers, mode.map(|(f, a)| journal(&dir, f, a)));
        // Fewer samples where each waits for a sync (an interval sync waits up to 10 ms).
        let small = count <= 200_000;
        let samples = match *name {
            "interval" => {
                if small {
                    50
                } else {
                    300
                }
            }
            "always" | "batch" => {
                if small {
                    300
                } else {
                    1_000
                }
            }
            _ => {
                if small {
                    2_000
                } else {
                    5_000
                }
            }
        };
        let ack_us = ack_latency(&sys, samples);
        drop(sys);
        let _ = std::fs::remove_dir_all(&dir);
        let mps = median(runs[k].clone());
        let r = ModeResult {
            mode: name.to_string(),
            ack: mode.map_or(String::new(), |(_, a)| {
                if a == AckPolicy::AfterWrite { "after_write" } else { "after_fsync" }.into()
            }),
            messages_per_s: mps,
            vs_off: if off > 0.0 { mps / off } else { 0.0 },
            ack_us,
            fsync_mean_us: fsync[k].0,
            fsync_max_us: fsync[k].1,
            bytes_per_command: bytes[k],
            records_per_write: per_write[k],
        };
        eprintln!(
            "  journal {:<9} {:<11} {:>6.2} M msg/s ({:>4.2}x off)  ack p50 {:>7.1} us p99 {:>8.1} us  fsync mean {:>7.1} us max {:>8.1} us  {:>7.0} records/write",
            r.mode, r.ack, mps / 1e6, r.vs_off, r.ack_us[0], r.ack_us[1], r.fsync_mean_us, r.fsync_max_us, r.records_per_write
        );
        modes.push(r);
    }
    let snap_dir = base.join("snapshots");
    fresh(&snap_dir);
    let snapshots: Vec<SnapshotPoint> = book_sizes
        .iter()
        .map(|&n| {
            let p = snapshot_point(n, &snap_dir);
            eprintln!(
                "  snapshot {:>9} orders: capture pause {:>8.3} ms, {:>5.1} B/order on disk, write {:>8.1} ms, restore {:>8.1} ms",
                n, p.capture_ms, p.file_bytes_per_order, p.write_ms, p.restore_ms
            );
            p
        })
        .collect();
    let _ = std::fs::remove_dir_all(&snap_dir);
    // Recovery: a journal of `recovery_count` commands, no snapshot.
    let rdir = base.join("recovery");
    fresh(&rdir);
    let mut cfg = GeneratorConfig::new(Scenario::Normal, seed + 1);
    cfg.symbols = symbols;
    let rec = generate(cfg, recovery_count);
    let j = journal(&rdir, FsyncPolicy::Never, AckPolicy::AfterWrite);
    let sys = system(symbols as usize, workers, Some(j.clone()));
    run_once(&sys, split(&rec, symbols as usize));
    drop(sys);
    let books: Vec<BookConfig> = (0..symbols)
        .map(|i| BookConfig::new(format!("S{i:03}"), Decimal::ONE, Decimal::ONE).expect("valid"))
        .collect();
    let t = Instant::now();
    let r = recover(&books, Some(&j), None::<&SnapshotConfig>, Mode::Verify).expect("recovery");
    let recovery_seconds = t.elapsed().as_secs_f64();
    assert_eq!(r.report.commands_replayed as usize, recovery_count);
    let _ = std::fs::remove_dir_all(&rdir);
    eprintln!(
        "  recovery of {recovery_count} journaled commands: {recovery_seconds:.2} s ({:.2} M cmd/s)",
        recovery_count as f64 / recovery_seconds / 1e6
    );
    DurabilityReport {
        count,
        symbols,
        workers,
        repeat,
        directory: base.display().to_string(),
        modes,
        snapshots,
        recovery_commands: recovery_count,
        recovery_seconds,
        recovery_messages_per_s: recovery_count as f64 / recovery_seconds,
    }
}

/// The default place for the bench's files: `target/durability-bench` (the disk the
/// project lives on, not a tmpfs).
pub fn default_directory() -> PathBuf {
    PathBuf::from("target/durability-bench")
}
