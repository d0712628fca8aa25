//! Statistics by period through a running system: hand-computed rows, period edges,
//! determinism of a replay, and the tick that closes a quiet symbol's periods.

mod common;

use common::Rng;
use lft_engine::stats::{BookRow, StatsConfig, StatsPeriod, StatsRecord, WorkerRow};
use lft_engine::system::{Request, SymbolSpec, SystemConfig, TradingSystem};
use lft_engine::{BookConfig, Decimal, NewOrder, Side};

fn spec(name: &str) -> SymbolSpec {
    SymbolSpec::new(BookConfig::new(name, Decimal::ONE, Decimal::ONE).unwrap())
}

/// Periods of 1000 ns and 3000 ns of engine time.
fn stats_config() -> StatsConfig {
    StatsConfig {
        periods: vec![
            StatsPeriod { name: "1us".into(), nanos: 1_000 },
            StatsPeriod { name: "3us".into(), nanos: 3_000 },
        ],
        depth_levels: 5,
        levels: true,
        queue_capacity: 1 << 14,
    }
}

fn system(symbols: &[&str]) -> TradingSystem {
    let mut cfg = SystemConfig::with_symbols(symbols.iter().map(|s| spec(s)).collect());
    cfg.threads = 1;
    cfg.statistics = Some(stats_config());
    TradingSystem::start(cfg).unwrap()
}

fn run(sys: &TradingSystem, symbol: u32, r: Request) {
    let _ = sys.execute(symbol, r, false);
}

fn rows(sys: &TradingSystem) -> (Vec<BookRow>, Vec<WorkerRow>) {
    let (mut books, mut workers) = (Vec::new(), Vec::new());
    for r in sys.drain_statistics(usize::MAX) {
        match r {
            StatsRecord::Book(b) => books.push(*b),
            StatsRecord::Worker(w) => workers.push(*w),
        }
    }
    books.sort_by_key(|b| (b.symbol, b.period, b.start));
    (books, workers)
}

fn find(rows: &[BookRow], period: u8, start: i64) -> &BookRow {
    rows.iter().find(|r| r.period == period && r.start == start).unwrap_or_else(|| {
        panic!(
            "no row for period {period} at {start}: {:?}",
            rows.iter().map(|r| (r.period, r.start)).collect::<Vec<_>>()
        )
    })
}

/// The hand-built stream of the statistics docs (docs/statistics.md, "a worked example").
fn hand_stream(sys: &TradingSystem) {
    run(sys, 0, Request::New(NewOrder::limit(1, Side::Sell, 105, 10, 100)));
    run(sys, 0, Request::New(NewOrder::limit(2, Side::Buy, 100, 5, 200)));
    run(sys, 0, Request::New(NewOrder::limit(3, Side::Buy, 105, 4, 500)));
    run(sys, 0, Request::New(NewOrder::limit(4, Side::Sell, 100, 3, 700)));
    run(sys, 0, Request::Cancel { id: 99, timestamp: 900 });
    run(sys, 0, Request::Cancel { id: 2, timestamp: 1_200 });
    sys.close_periods(0, Some(3_000)).unwrap();
}

#[test]
fn a_hand_built_stream_gives_the_bars_spreads_and_levels_computed_by_hand() {
    let sys = system(&["X"]);
    hand_stream(&sys);
    let (books, workers) = rows(&sys);
    assert_eq!(books.len(), 3, "{books:#?}");

    let first = find(&books, 0, 0);
    assert!(first.complete);
    assert_eq!(
        (first.open, first.high, first.low, first.close),
        (Some(105), Some(105), Some(100), Some(100))
    );
    assert_eq!((first.volume, first.notional, first.trades), (7, 4 * 105 + 3 * 100, 2));
    assert_eq!((first.buy_volume, first.sell_volume), (4, 3));
    assert_eq!((first.orders_added, first.orders_cancelled, first.messages), (4, 0, 5));
    assert_eq!(first.rejected_total(), 1);
    assert_eq!(first.rejected[3], 1, "order_not_found is slot 3");
    // Both sides from 200 to 1000 at a spread of 5 ticks.
    assert_eq!((first.spread_time, first.two_sided_ns), (5 * 800, 800));
    // Bid 5 lots over 200..700, 2 over 700..1000; ask 10 over 100..500, 6 over 500..1000.
    assert_eq!((first.bid_size_time, first.bid_ns), (5 * 500 + 2 * 300, 800));
    assert_eq!((first.ask_size_time, first.ask_ns), (10 * 400 + 6 * 500, 900));
    assert_eq!((first.best_bid, first.best_ask), (Some((100, 2)), Some((105, 6))));
    assert_eq!((first.bid_depth, first.ask_depth, first.resting_orders), (2, 6, 2));
    assert_eq!((first.bid_levels, first.ask_levels), (1, 1));
    assert_eq!(first.levels.len(), 2);
    let bid_level = first.levels[0];
    assert_eq!((bid_level.side, bid_level.price), (Side::Buy, 100));
    assert_eq!((bid_level.orders_added, bid_level.quantity_executed, bid_level.trades), (1, 3, 1));
    assert_eq!((bid_level.quantity, bid_level.order_count, bid_level.orders_filled), (2, 1, 0));
    let ask_level = first.levels[1];
    assert_eq!((ask_level.side, ask_level.price), (Side::Sell, 105));
    assert_eq!((ask_level.orders_added, ask_level.quantity_executed, ask_level.trades), (1, 4, 1));

    let second = find(&books, 0, 1_000);
    assert_eq!((second.messages, second.orders_cancelled, second.trades), (1, 1, 0));
    assert_eq!((second.open, second.close), (None, None));
    assert_eq!((second.bid_size_time, second.bid_ns), (2 * 200, 200));
    assert_eq!((second.ask_size_time, second.ask_ns), (6 * 1_000, 1_000));
    assert_eq!((second.spread_time, second.two_sided_ns), (5 * 200, 200));
    assert_eq!((second.best_bid, second.best_ask), (None, Some((105, 6))));
    assert_eq!((second.resting_orders, second.bid_levels, second.ask_levels), (1, 0, 1));
    assert_eq!(second.levels.len(), 1);
    assert_eq!((second.levels[0].orders_cancelled, second.levels[0].order_count), (1, 0));

    // The 3 µs period: the sums of the two 1 µs rows, its own time-weighted values.
    let long = find(&books, 1, 0);
    assert_eq!((long.volume, long.trades, long.messages, long.orders_added), (7, 2, 6, 4));
    assert_eq!((long.orders_cancelled, long.rejected_total()), (1, 1));
    assert_eq!((long.open, long.close, long.high, long.low), (Some(105), Some(100), Some(105), Some(100)));
    assert_eq!((long.bid_size_time, long.bid_ns), (5 * 500 + 2 * 300 + 2 * 200, 1_000));
    assert_eq!((long.ask_size_time, long.ask_ns), (10 * 400 + 6 * 2_500, 2_900));
    assert_eq!((long.spread_time, long.two_sided_ns), (5 * 1_000, 1_000));
    assert_eq!(long.levels.len(), 2, "both levels were active in the long period");
    let merged = long.levels.iter().find(|l| l.side == Side::Buy).unwrap();
    assert_eq!((merged.orders_added, merged.orders_cancelled, merged.quantity_executed), (1, 1, 3));
    assert_eq!((merged.quantity, merged.order_count), (0, 0), "the level's last state");

    // The worker's rows: every command and the tick, one queue entry each.
    let w = workers.iter().find(|w| w.period == 0 && w.start == 0).expect("worker row");
    assert_eq!((w.commands, w.envelopes), (5, 5));
    assert_eq!(w.latency.count, 5);
    assert!(w.latency.p50 <= w.latency.p99 && w.latency.p99 <= w.latency.max);
}

#[test]
fn a_command_exactly_on_a_boundary_opens_the_next_period() {
    let sys = system(&["X"]);
    run(&sys, 0, Request::New(NewOrder::limit(1, Side::Sell, 105, 1, 999)));
    run(&sys, 0, Request::New(NewOrder::limit(2, Side::Sell, 106, 1, 1_000)));
    sys.close_periods(0, Some(2_000)).unwrap();
    let (books, _) = rows(&sys);
    assert_eq!(find(&books, 0, 0).orders_added, 1);
    assert_eq!(find(&books, 0, 1_000).orders_added, 1);
}

#[test]
fn empty_periods_have_no_rows_and_a_tick_closes_a_quiet_symbol() {
    let sys = system(&["X", "QUIET"]);
    run(&sys, 0, Request::New(NewOrder::limit(1, Side::Buy, 10, 1, 100)));
    run(&sys, 1, Request::New(NewOrder::limit(1, Side::Buy, 20, 3, 100)));
    // The clock jumps by many periods: only the periods with activity have rows.
    run(&sys, 0, Request::New(NewOrder::limit(2, Side::Buy, 11, 1, 10_000_500)));
    let (books, _) = rows(&sys);
    assert_eq!(
        books.iter().filter(|b| b.symbol == 0).map(|b| (b.period, b.start)).collect::<Vec<_>>(),
        [(0, 0), (1, 0)]
    );
    assert!(books.iter().all(|b| b.symbol == 0), "the quiet symbol has not closed anything yet");
    // The scheduler's tick closes it, with the book's state at the close.
    sys.close_periods(1, Some(5_000)).unwrap();
    let (quiet, _) = rows(&sys);
    let r = find(&quiet, 0, 0);
    assert_eq!(r.symbol, 1);
    assert_eq!((r.best_bid, r.orders_added, r.resting_orders), (Some((20, 3)), 1, 1));
    // Whole seconds of bid presence: 100..1000 in the short period, 100..3000 in the long.
    assert_eq!((r.bid_size_time, r.bid_ns), (3 * 900, 900));
    assert_eq!(find(&quiet, 1, 0).bid_ns, 2_900);
    // A tick is a command: it took a sequence number (and a journal record when journaling),
    // and it publishes no event (not even the previous command's level changes again).
    let mut feed = sys.subscribe();
    let reply = sys.close_periods(1, Some(6_000)).unwrap();
    assert_eq!(reply.command_sequence, 3);
    assert_eq!(feed.poll(), None);
}

#[test]
fn a_clean_stop_flushes_open_periods_as_incomplete_rows() {
    let mut cfg = SystemConfig::with_symbols(vec![spec("X")]);
    cfg.threads = 1;
    cfg.statistics = Some(stats_config());
    let sys = TradingSystem::start(cfg).unwrap();
    run(&sys, 0, Request::New(NewOrder::limit(1, Side::Buy, 10, 1, 100)));
    sys.shutdown();
    let (books, workers) = rows(&sys);
    assert_eq!(books.len(), 2);
    assert!(books.iter().all(|b| !b.complete && b.orders_added == 1), "{books:?}");
    assert!(workers.iter().all(|w| !w.complete));
}

/// A seeded random stream over two symbols, with explicit timestamps.
fn random_stream(sys: &TradingSystem, seed: u64) {
    let mut rng = Rng(seed);
    let mut t = 0i64;
    for n in 1..=3_000u128 {
        t += rng.range(1, 400);
        let symbol = rng.below(2) as u32;
        let side = if rng.chance(50) { Side::Buy } else { Side::Sell };
        let r = if rng.chance(30) && n > 10 {
            Request::Cancel { id: rng.below(n as u64) as u128 + 1, timestamp: t }
        } else {
            Request::New(NewOrder::limit(n, side, rng.range(95, 105), rng.range(1, 9), t))
        };
        run(sys, symbol, r);
    }
    sys.close_periods(0, Some(t + 3_000)).unwrap();
    sys.close_periods(1, Some(t + 3_000)).unwrap();
}

#[test]
fn the_same_commands_give_the_same_rows() {
    let a = system(&["A", "B"]);
    random_stream(&a, 7);
    let b = system(&["A", "B"]);
    random_stream(&b, 7);
    let (rows_a, _) = rows(&a);
    let (rows_b, _) = rows(&b);
    assert_eq!((a.statistics_rows_dropped(), b.statistics_rows_dropped()), (0, 0));
    assert!(rows_a.len() > 100, "{}", rows_a.len());
    assert_eq!(rows_a, rows_b);
    // Every period's trades add up to what the long periods say.
    for symbol in 0..2 {
        let short: u64 =
            rows_a.iter().filter(|r| r.symbol == symbol && r.period == 0).map(|r| r.trades).sum();
        let long: u64 = rows_a.iter().filter(|r| r.symbol == symbol && r.period == 1).map(|r| r.trades).sum();
        assert_eq!(short, long);
    }
}

#[test]
fn periods_that_are_not_multiples_of_the_shortest_are_refused() {
    let mut cfg = SystemConfig::with_symbols(vec![spec("X")]);
    let mut stats = stats_config();
    stats.periods[1].nanos = 2_500;
    stats.periods[1].name = "2.5us".into();
    cfg.statistics = Some(stats);
    let err = TradingSystem::start(cfg).err().expect("refused").to_string();
    assert!(err.contains("statistics.periods[1]") && err.contains("multiple"), "{err}");
}

#[test]
fn a_full_row_queue_drops_and_counts_rows_and_never_stalls_the_worker() {
    let mut cfg = SystemConfig::with_symbols(vec![spec("X")]);
    cfg.threads = 1;
    let mut stats = stats_config();
    stats.queue_capacity = 4;
    cfg.statistics = Some(stats);
    let sys = TradingSystem::start(cfg).unwrap();
    for n in 1..=50u128 {
        // Each command in a new period: two rows (book and worker) per command at least.
        run(&sys, 0, Request::New(NewOrder::limit(n, Side::Buy, 10, 1, n as i64 * 5_000)));
    }
    let drained = sys.drain_statistics(usize::MAX).len() as u64;
    assert_eq!(drained, 4, "the queue's capacity");
    assert!(sys.statistics_rows_dropped() > 50, "{}", sys.statistics_rows_dropped());
    // Matching went on: every order rests.
    assert_eq!(sys.book(0).unwrap().len(), 50);
}

#[test]
fn ticks_are_journaled_and_a_recovery_replays_them_and_counts_on() {
    use lft_engine::journal::record::Journaled;
    use lft_engine::journal::segment::{list_segments, scan_segment};
    use lft_engine::system::{AckPolicy, FsyncPolicy, JournalConfig};

    let dir = std::env::temp_dir().join(format!("lft-stats-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = || {
        let mut cfg = SystemConfig::with_symbols(vec![spec("X")]);
        cfg.threads = 1;
        cfg.statistics = Some(stats_config());
        cfg.journal = Some(JournalConfig {
            directory: dir.clone(),
            fsync: FsyncPolicy::Batch,
            ack: AckPolicy::AfterFsync,
            segment_bytes: 1 << 20,
            queue_capacity: 64,
        });
        cfg
    };
    let sys = TradingSystem::start(config()).unwrap();
    run(&sys, 0, Request::New(NewOrder::limit(1, Side::Buy, 10, 1, 100)));
    assert_eq!(sys.close_periods(0, Some(2_000)).unwrap().command_sequence, 2);
    let hash = sys.state_hash(0).unwrap();
    drop(sys);
    let kinds: Vec<Journaled> = list_segments(&dir)
        .unwrap()
        .iter()
        .flat_map(|(_, path)| scan_segment(path).unwrap().records)
        .map(|(_, r)| r.what)
        .collect();
    assert!(
        matches!(kinds.as_slice(), [Journaled::Command(_), Journaled::ClosePeriods { now: 2_000 }]),
        "{kinds:?}"
    );
    let sys = TradingSystem::start(config()).unwrap();
    assert_eq!(sys.state_hash(0).unwrap(), hash, "a tick changes no book");
    assert_eq!(sys.close_periods(0, Some(3_000)).unwrap().command_sequence, 3, "numbering goes on");
    drop(sys);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn batch_rows_rejected_by_validation_count_as_rejected_not_added() {
    use lft_engine::system::OwnedBatch;
    let sys = system(&["X"]);
    let batch = OwnedBatch {
        side: vec![0, 0, 1],
        price: vec![10, 11, 20],
        quantity: vec![1, 1, 1],
        time_in_force: None,
        order_id: Some(vec![7, 7, 8]), // the second row reuses a resting id
        timestamp: 100,
    };
    run(&sys, 0, Request::Batch(batch));
    sys.close_periods(0, Some(1_000)).unwrap();
    let (books, _) = rows(&sys);
    let r = find(&books, 0, 0);
    assert_eq!((r.orders_added, r.rejected_total(), r.messages), (2, 1, 1), "{r:?}");
}
