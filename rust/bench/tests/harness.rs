//! Each subcommand's core function on tiny streams: the outputs must be self-consistent.

use lft_bench::baseline::BaselineBook;
use lft_bench::compare::{compare_records, replay_baseline, replay_engine, replay_orderbook_rs};
use lft_bench::drive::EngineDriver;
use lft_bench::events::{OutEvent, Sink};
use lft_bench::latency::{
    default_rates, instant_now_cost_ns, run_noise_floor, run_open_loop, run_service_trace, SLOW_SERVICE_NS,
};
use lft_bench::memory::{replay_growth, resting_memory, rss_bytes, BookKind};
use lft_bench::throughput::{
    record_events, replay_handoff_only, replay_inline, replay_with_consumer, run_throughput,
};
use lft_workload::{generate, GeneratorConfig, Kind, Record, Scenario};

fn stream(scenario: Scenario, n: usize) -> Vec<Record> {
    generate(GeneratorConfig::new(scenario, 7), n)
}

fn rec(kind: Kind, side: u8, tif: u8, id: u64, price: i64, quantity: i64) -> Record {
    Record {
        kind: kind as u8,
        side,
        tif,
        flags: 0,
        symbol: 0,
        reserved: 0,
        order_id: id,
        price,
        quantity,
        timestamp: id as i64,
    }
}

#[test]
fn throughput_counts_add_up() {
    let records = stream(Scenario::Normal, 20_000);
    let (with, consumer_tally) = replay_with_consumer(&records, 64);
    let (without, inline_tally) = replay_inline(&records);
    assert_eq!(with.messages, 20_000);
    // The consumer got every event, and exactly the same ones as the in-place tally.
    assert_eq!(with.consumed, with.events);
    assert_eq!(consumer_tally, inline_tally);
    assert_eq!(with.events, without.events);
    assert_eq!(with.trades, without.trades);
    assert_eq!(with.rejected, without.rejected);
    assert_eq!(inline_tally.rejects, without.rejected);
    // Every command yields its own report or a reject notice; trades come with maker updates.
    assert_eq!(inline_tally.events, inline_tally.trades + inline_tally.updates + inline_tally.rejects);
    assert!(inline_tally.updates + inline_tally.rejects >= with.messages);
    assert!(inline_tally.updates >= inline_tally.trades);
    assert!(with.trades > 0 && with.rejected > 0, "a normal stream trades and has stale cancels");

    let report = run_throughput(&[Scenario::Static, Scenario::Swing], 5_000, 3, 1, 256);
    assert_eq!(report.scenarios.len(), 2);
    let min = report.scenarios.iter().map(|s| s.with_consumer.messages_per_s).fold(f64::INFINITY, f64::min);
    assert_eq!(report.headline_messages_per_s, min);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["scenarios"]["swing"]["messages"], 5_000);
    assert_eq!(json["worst_scenario"], report.worst_scenario.as_str());
    for s in &report.scenarios {
        assert_eq!(s.with_consumer.consumer_received_all, Some(true));
        assert_eq!(s.with_consumer.events, s.without_consumer.events);
        assert!(s.with_consumer.messages_per_s > 0.0);
        assert_eq!(s.handoff_only.consumer_received_all, Some(true));
        assert_eq!(s.handoff_only.events, s.with_consumer.events);
    }
}

/// The hand-off-only replay pushes exactly the engine's events, command by command, and the
/// consumer receives them all.
#[test]
fn handoff_only_replays_the_engines_events() {
    let records = stream(Scenario::Normal, 20_000);
    let (with, consumer_tally) = replay_with_consumer(&records, 64);
    let handoff = replay_handoff_only(&record_events(&records), 64);
    assert_eq!(handoff.messages, with.messages);
    assert_eq!(handoff.events, with.events);
    assert_eq!(handoff.consumed, handoff.events);
    assert_eq!(handoff.trades, consumer_tally.trades);
}

/// The service-time trace covers every command of each pass, and what it calls slow in both
/// engine passes is slow in each.
#[test]
fn service_trace_times_every_command_and_pairs_slow_ones() {
    let records = stream(Scenario::Normal, 20_000);
    let t = run_service_trace(&records, 256);
    for pass in [&t.engine_first, &t.engine_second, &t.noise_floor] {
        let p = pass.percentiles_ns;
        assert!(p.p50 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.p9999 && p.p9999 <= p.max);
        assert_eq!(pass.slow_commands, pass.slow.len());
        assert!(pass.slow.iter().all(|s| s.ns as u64 > SLOW_SERVICE_NS));
    }
    for s in &t.slow_in_both {
        assert!(s.ns.iter().all(|&ns| ns as u64 > SLOW_SERVICE_NS));
        assert!(["new", "cancel", "modify"].contains(&s.kind));
        assert!(s.events >= 1, "every command reports or is refused");
    }
    assert!((0.0..=1.0).contains(&t.repeat_share));
}

/// Events leave the engine thread in sequence order (trades and maker updates merged,
/// the command's report last).
#[test]
fn engine_events_are_in_sequence_order() {
    struct Check {
        last: u64,
        n: u64,
    }
    impl Sink for Check {
        fn event(&mut self, e: OutEvent) {
            let seq = match e {
                OutEvent::Trade(t) => t.sequence,
                OutEvent::Update(u) => u.sequence,
                OutEvent::Reject(_) => return,
            };
            assert!(seq > self.last, "sequence {seq} after {}", self.last);
            self.last = seq;
            self.n += 1;
        }
    }
    let mut d = EngineDriver::new();
    let mut c = Check { last: 0, n: 0 };
    for r in &stream(Scenario::Swing, 20_000) {
        d.apply(r, &mut c);
    }
    assert_eq!(c.last, d.book.sequence());
    assert_eq!(c.n, c.last, "no sequence number skipped");
}

#[test]
fn latency_percentiles_are_ordered() {
    let records = stream(Scenario::Normal, 20_000);
    let r = run_open_loop(&records, 200_000.0, 256);
    assert_eq!(r.commands, 20_000);
    assert!(r.consumer_received_all);
    let p = r.percentiles_ns;
    assert!(p.p50 > 0);
    assert!(p.p50 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.p9999 && p.p9999 <= p.max);
    assert!(r.mean_ns <= p.max as f64);
    assert!(r.achieved_rate > 0.0 && r.achieved_rate <= 200_000.0 * 1.05);
    // An impossible rate: almost everything starts late and latency grows with the backlog.
    let hot = run_open_loop(&records, 1e12, 256);
    assert!(hot.late_starts as f64 > 0.99 * hot.commands as f64);
    assert!(hot.percentiles_ns.max >= hot.percentiles_ns.p50);
    let floor = run_noise_floor(&records, 200_000.0, 256);
    assert_eq!((floor.commands, floor.events), (20_000, 20_000));
    assert!(floor.consumer_received_all);

    assert_eq!(default_rates(4e6), vec![1e6, 2e6, 3.6e6]);
    assert_eq!(default_rates(2e6), vec![1e6, 1.8e6]);
    let c = instant_now_cost_ns(10_000);
    assert!(c > 0.0 && c < 10_000.0);
}

/// A hand-made crossing stream: rests on both sides, IOCs that sweep several levels and
/// leave remainders, a GTC that crosses and rests its remainder, cancels (one stale),
/// modifies that reprice through the spread and that increase quantity.
fn crossing_stream() -> Vec<Record> {
    use Kind::*;
    let mut v = Vec::new();
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    for lvl in 0..5 {
        for _ in 0..3 {
            v.push(rec(New, 1, 0, next(), 101 + lvl, 10));
            v.push(rec(New, 0, 0, next(), 99 - lvl, 10));
        }
    }
    v.push(rec(New, 0, 1, next(), 102, 45)); // IOC buy sweeps 101 and part of 102
    v.push(rec(New, 1, 1, next(), 97, 100)); // IOC sell: 99, 98, 97 then remainder cancelled
    v.push(rec(New, 0, 0, next(), 103, 50)); // GTC buy takes 45 up to 103, rests 5 at 103
    v.push(rec(Cancel, 0, 0, 1, 0, 0)); // id 1 already filled: stale cancel
    v.push(rec(Cancel, 0, 0, 30, 0, 0)); // resting bid at 95
    v.push(rec(Modify, 0, 0, 28, 105, 10)); // bid at 95 reprices through the asks
    v.push(rec(Modify, 1, 0, 29, 103, 25)); // ask at 105 reprices onto the resting bid
    v.push(rec(Modify, 0, 0, 999, 100, 1)); // unknown id
    v.push(rec(New, 1, 1, next(), 1, 1_000)); // IOC sell sweeps the whole bid side
    v.push(rec(New, 0, 1, next(), 1_000, 1_000)); // IOC buy sweeps the whole ask side
    v
}

#[test]
fn compare_books_agree_on_trades() {
    let records = crossing_stream();
    let (e, _) = replay_engine(&records);
    let (o, _) = replay_orderbook_rs(&records);
    let (b, _) = replay_baseline(&records);
    assert!(e.trades >= 10, "the stream trades: {e:?}");
    assert_eq!(e, b, "engine and baseline have identical semantics");
    assert_eq!(o.trades, e.trades, "orderbook-rs prints the same trades");
    assert_eq!(o.rejected, e.rejected, "stale cancel and unknown modify are refused by both");

    // After the final sweeps the books are empty (a sweep on each side).
    let mut bb = BaselineBook::new();
    for r in &records {
        let _ = bb.apply(r);
    }
    assert!(bb.is_empty());

    for sc in [Scenario::Normal, Scenario::FlashCrash] {
        let run = compare_records(sc.name(), &stream(sc, 20_000), 1);
        assert!(run.trades_equal, "{run:?}");
        assert!(run.engine_baseline_identical_counts, "{run:?}");
        assert!(run.ratio_engine_over_baseline > 0.0 && run.ratio_engine_over_orderbook_rs > 0.0);
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!(json["books"]["lft-engine"]["counts"]["trades"], run.engine.counts.trades);
        assert!(json["books"]["orderbook-rs"]["messages_per_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn memory_measurements_are_sane() {
    assert!(rss_bytes() > 0, "statm is readable on Linux");
    for book in [BookKind::Engine, BookKind::Baseline, BookKind::OrderbookRs] {
        let r = resting_memory(book, 20_000, 100);
        assert_eq!(r.resting, 20_000, "{book:?}: nothing crossed");
        // Other tests run in parallel in this process, so the RSS delta is not asserted.
        assert!(r.rss_after > 0 && r.bytes_per_order.is_finite());
    }
    let g = replay_growth(Scenario::Normal, 30_000, 5_000, 1);
    assert_eq!(g.samples.first().unwrap().messages, 0);
    assert_eq!(g.samples.last().unwrap().messages, 30_000);
    assert!(g.samples.windows(2).all(|w| w[0].messages < w[1].messages));
    assert_eq!(g.growth_after_warmup, g.rss_after as i64 - g.rss_after_warmup as i64);
    assert!(g.resting_after > 0);
}

#[test]
fn durability_bench_runs_every_mode_and_recovers_what_it_wrote() {
    let dir = std::env::temp_dir().join(format!("lft-durability-bench-{}", std::process::id()));
    let r = lft_bench::durability::run_durability(&dir, 20_000, 2, 1, 1, 10_000, 7, &[1_000]);
    assert_eq!(r.modes.len(), 5);
    assert!(r.modes.iter().all(|m| m.messages_per_s > 0.0 && m.ack_us[0] <= m.ack_us[3]));
    assert!(r.modes.iter().skip(1).all(|m| m.bytes_per_command > 20.0), "every mode journals");
    assert!(r.modes[3].fsync_mean_us > 0.0, "batch syncs");
    assert_eq!(r.snapshots[0].orders, 1_000);
    assert_eq!(r.recovery_commands, 10_000);
    let _ = std::fs::remove_dir_all(&dir);
}
