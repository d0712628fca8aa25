//! The multi-symbol system: determinism under concurrent submitters, shutdown with
//! commands in flight, a panicking worker, full queues under both policies, slow subscribers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use lft_engine::system::{
    FeedKind, OnFull, OwnedBatch, Refusal, Reply, Request, SymbolSpec, SystemConfig, TradingSystem,
};
use lft_engine::{BookConfig, BookWriter, Decimal, EngineError, Modify, NewOrder, Side, TimeInForce};

fn spec(name: &str) -> SymbolSpec {
    SymbolSpec::new(BookConfig::new(name, Decimal::ONE, Decimal::ONE).unwrap())
}

fn config(symbols: &[&str], threads: usize) -> SystemConfig {
    SystemConfig { threads, ..SystemConfig::with_symbols(symbols.iter().map(|s| spec(s)).collect()) }
}

/// xorshift, so the test needs no RNG crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random command for a symbol; ids are unique per producer, and cancels/modifies aim at
/// this producer's earlier ids (some of which will have traded already).
fn random_request(rng: &mut Rng, producer: u64, n: u64) -> Request {
    let ts = (n * 10 + producer) as i64;
    let earlier = if n == 0 { 1 } else { producer << 40 | rng.below(n) };
    match rng.below(10) {
        0..=5 => {
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            let price = 100 + rng.below(10) as i64 - if side == Side::Buy { 2 } else { -2 };
            let tif = if rng.below(6) == 0 { TimeInForce::Ioc } else { TimeInForce::Gtc };
            Request::New(
                NewOrder::limit((producer << 40 | n) as u128, side, price, 1 + rng.below(20) as i64, ts)
                    .with_tif(tif),
            )
        }
        6..=8 => Request::Cancel { id: earlier as u128, timestamp: ts },
        _ => Request::Modify(Modify {
            id: earlier as u128,
            quantity: Some(1 + rng.below(30) as i64),
            price: Some(95 + rng.below(10) as i64),
            timestamp: ts,
        }),
    }
}

fn apply_alone(book: &mut BookWriter, request: &Request) -> Result<lft_engine::ExecutionReport, EngineError> {
    match request {
        Request::New(o) => book.submit(o),
        Request::Cancel { id, timestamp } => book.cancel(*id, *timestamp),
        Request::Modify(m) => book.modify(m),
        other => panic!("not used here: {other:?}"),
    }
}

#[test]
fn per_symbol_results_equal_a_single_threaded_replay_in_queue_order() {
    const PRODUCERS: u64 = 4;
    const EACH: u64 = 3_000;
    let names = ["AAA", "BBB", "CCC", "DDD", "EEE"];
    let system = Arc::new(TradingSystem::start(config(&names, 2)).unwrap());
    let mut feed = system.subscribe();
    let barrier = Arc::new(Barrier::new(PRODUCERS as usize));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let system = Arc::clone(&system);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9 ^ ((p + 1) * 0x1234_5678_9ABC));
                let mut sent = Vec::new();
                barrier.wait();
                for n in 0..EACH {
                    let symbol = rng.below(names.len() as u64) as u32;
                    let request = random_request(&mut rng, p, n);
                    let reply = system.execute(symbol, request.clone(), false);
                    sent.push((symbol, request, reply));
                }
                sent
            })
        })
        .collect();
    let mut per_symbol: BTreeMap<u32, Vec<(u64, Request, Reply)>> = BTreeMap::new();
    let mut events = Vec::new();
    let mut done = 0;
    let mut results = Vec::new();
    for h in producers {
        while !h.is_finished() {
            while let Some(e) = feed.poll() {
                events.push(e);
            }
        }
        results.push(h.join().unwrap());
        done += 1;
    }
    assert_eq!(done, PRODUCERS);
    for (symbol, request, reply) in results.into_iter().flatten() {
        let seq = match &reply {
            Ok(r) => r.command_sequence,
            Err(Refusal { command_sequence, .. }) => *command_sequence,
        };
        assert!(seq > 0, "every command reached its worker: {reply:?}");
        per_symbol.entry(symbol).or_default().push((seq, request, reply));
    }
    let total: usize = per_symbol.values().map(Vec::len).sum();
    assert_eq!(total as u64, PRODUCERS * EACH, "nothing lost");
    for (symbol, mut commands) in per_symbol {
        commands.sort_by_key(|c| c.0);
        let seqs: Vec<u64> = commands.iter().map(|c| c.0).collect();
        assert_eq!(seqs, (1..=commands.len() as u64).collect::<Vec<_>>(), "sequence has no gap or repeat");
        let mut alone = BookWriter::new(names[symbol as usize], Decimal::ONE, Decimal::ONE).unwrap();
        for (seq, request, reply) in &commands {
            let expected = apply_alone(&mut alone, request);
            match (reply, expected) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(got.report(), Some(&want), "{} command {seq}", names[symbol as usize])
                }
                (Err(got), Err(want)) => {
                    assert_eq!(got.error, want, "{} command {seq}", names[symbol as usize])
                }
                (got, want) => {
                    panic!("{} command {seq}: system {got:?}, alone {want:?}", names[symbol as usize])
                }
            }
        }
        let live = system.book(symbol).unwrap();
        assert_eq!(
            (live.sequence(), live.len()),
            (alone.sequence(), alone.len()),
            "{}",
            names[symbol as usize]
        );
        let hash = system.state_hash(symbol).unwrap();
        assert_eq!(hash, alone.state_hash(), "{} final state", names[symbol as usize]);
    }
    // The feed: per symbol, book events in strictly increasing book sequence.
    while let Some(e) = feed.poll() {
        events.push(e);
    }
    assert_eq!(feed.lost(), 0);
    let mut last: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for e in events.iter().filter(|e| matches!(e.kind, FeedKind::Trade | FeedKind::Order)) {
        let prev = last.insert(e.symbol, (e.command_sequence, e.sequence)).unwrap_or_default();
        assert!((e.command_sequence, e.sequence) > prev, "feed out of order for symbol {}", e.symbol);
    }
}

#[test]
fn shutdown_with_commands_in_flight_answers_every_accepted_command() {
    let system = Arc::new(parking_shutdown_system());
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..3u64)
        .map(|p| {
            let system = Arc::clone(&system);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let (mut accepted, mut refused) = (0u64, 0u64);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 10 {
                    let order = NewOrder::limit((p << 40 | n) as u128, Side::Buy, 100, 1, n as i64);
                    match system.send((n % 2) as u32, Request::New(order), false, None) {
                        Ok(pending) => {
                            // Every accepted command is answered, exactly once.
                            pending.wait().unwrap();
                            accepted += 1;
                        }
                        Err(r) => {
                            assert_eq!(r.error, EngineError::SystemClosed);
                            refused += 1;
                            break;
                        }
                    }
                    n += 1;
                }
                (accepted, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    system.shutdown();
    assert!(system.is_closed());
    stop.store(true, Ordering::Relaxed);
    let mut total_accepted = 0;
    for h in producers {
        let (accepted, _) = h.join().unwrap();
        total_accepted += accepted;
    }
    assert!(total_accepted > 0);
}

fn parking_shutdown_system() -> TradingSystem {
    TradingSystem::start(config(&["X", "Y"], 2)).unwrap()
}

#[test]
fn a_panicking_worker_halts_its_symbol_and_the_others_carry_on() {
    // Both symbols on one worker, a third on another.
    let mut cfg = config(&["BAD", "SAME", "OTHER"], 2);
    cfg.symbols[0].worker = Some(0);
    cfg.symbols[1].worker = Some(0);
    cfg.symbols[2].worker = Some(1);
    let system = TradingSystem::start(cfg).unwrap();
    let mut feed = system.subscribe();
    let order = |id: u128| Request::New(NewOrder::limit(id, Side::Buy, 100, 1, 1));
    system.execute(0, order(1), false).unwrap();
    let err = system.execute(0, Request::InjectPanic, false).unwrap_err();
    assert!(
        matches!(&err.error, EngineError::SymbolHalted { symbol, reason } if symbol == "BAD" && reason.contains("injected"))
    );
    assert_eq!(err.command_sequence, 2);
    let again = system.execute(0, order(2), false).unwrap_err();
    assert!(matches!(again.error, EngineError::SymbolHalted { .. }), "{again:?}");
    assert!(again.to_string().contains("halted"));
    // The same worker and the other worker still serve their symbols.
    assert_eq!(system.execute(1, order(3), false).unwrap().command_sequence, 1);
    assert_eq!(system.execute(2, order(4), false).unwrap().command_sequence, 1);
    let halted = system.halted();
    assert_eq!(halted.len(), 1);
    assert_eq!(halted[0].0, "BAD");
    // The book stays readable, and the failure is on the feed.
    assert_eq!(system.book(0).unwrap().len(), 1);
    let kinds: Vec<_> =
        std::iter::from_fn(|| feed.poll()).filter(|e| e.symbol == 0).map(|e| e.kind).collect();
    assert!(kinds.contains(&FeedKind::Halted), "{kinds:?}");
}

/// A batch big enough to keep a worker busy for a while.
fn slow_batch(rows: usize) -> Request {
    Request::Batch(OwnedBatch {
        side: (0..rows).map(|i| (i % 2) as i8).collect(),
        price: (0..rows)
            .map(|i| if i % 2 == 0 { 100 - (i % 50) as i64 } else { 200 + (i % 50) as i64 })
            .collect(),
        quantity: vec![1; rows],
        time_in_force: None,
        order_id: None,
        timestamp: 1,
    })
}

#[test]
fn a_full_queue_under_reject_refuses_with_queue_full_and_enqueues_nothing() {
    let cfg = SystemConfig { queue_capacity: 2, on_full: OnFull::Reject, ..config(&["Q"], 1) };
    let system = TradingSystem::start(cfg).unwrap();
    let busy = system.send(0, slow_batch(400_000), false, None).unwrap();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for id in 0..50u128 {
        match system.send(0, Request::New(NewOrder::limit(id + 1_000_000, Side::Buy, 1, 1, 2)), false, None) {
            Ok(p) => accepted.push(p),
            Err(r) => {
                assert!(
                    matches!(r.error, EngineError::QueueFull { ref symbol, capacity: 2 } if symbol == "Q"),
                    "{r:?}"
                );
                assert_eq!(r.command_sequence, 0);
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the queue never filled");
    busy.wait().unwrap();
    let n = accepted.len();
    let seqs: Vec<u64> = accepted.into_iter().map(|p| p.wait().unwrap().command_sequence).collect();
    assert_eq!(seqs, (2..2 + n as u64).collect::<Vec<_>>(), "only accepted commands ran, in order");
}

#[test]
fn a_full_queue_under_block_waits_for_room_and_loses_nothing() {
    let cfg = SystemConfig { queue_capacity: 2, on_full: OnFull::Block, ..config(&["Q"], 1) };
    let system = TradingSystem::start(cfg).unwrap();
    let busy = system.send(0, slow_batch(200_000), false, None).unwrap();
    let pending: Vec<_> = (0..50u128)
        .map(|id| {
            system
                .send(0, Request::New(NewOrder::limit(id + 1_000_000, Side::Buy, 1, 1, 2)), false, None)
                .unwrap()
        })
        .collect();
    busy.wait().unwrap();
    let seqs: Vec<u64> = pending.into_iter().map(|p| p.wait().unwrap().command_sequence).collect();
    assert_eq!(seqs, (2..52).collect::<Vec<_>>());
}

#[test]
fn a_slow_subscriber_sees_a_gap_and_never_slows_the_worker() {
    let cfg = SystemConfig { event_capacity: 16, ..config(&["S"], 1) };
    let system = TradingSystem::start(cfg).unwrap();
    let mut slow = system.subscribe();
    for id in 0..500u128 {
        system
            .execute(0, Request::New(NewOrder::limit(id + 1, Side::Buy, 10 + (id % 7) as i64, 1, 1)), false)
            .unwrap();
    }
    let published: u64 = system.worker_stats().iter().map(|w| w.events_published).sum();
    let got: Vec<_> = std::iter::from_fn(|| slow.poll()).collect();
    assert!(got.len() <= 16);
    assert_eq!(got.len() as u64 + slow.lost(), published, "every event is either read or counted lost");
    assert!(slow.caught_up());
    // A new subscriber starts at the end, with no backlog and nothing lost.
    let mut fresh = system.subscribe();
    assert!(fresh.poll().is_none());
    assert_eq!(fresh.lost(), 0);
}

#[test]
fn the_worker_stamps_commands_without_a_timestamp_monotonically() {
    let system = TradingSystem::start(config(&["T"], 1)).unwrap();
    let mut last = 0;
    for id in 0..100u128 {
        let r = system.execute(0, Request::New(NewOrder::limit(id + 1, Side::Sell, 50, 1, 0)), true).unwrap();
        assert!(r.timestamp >= last && r.timestamp > 1_600_000_000_000_000_000, "{}", r.timestamp);
        last = r.timestamp;
    }
}

#[test]
fn unknown_symbols_and_price_bands_are_refused_before_the_queue() {
    let mut cfg = config(&["B"], 1);
    cfg.symbols[0].price_band = Some((90, 110));
    let system = TradingSystem::start(cfg).unwrap();
    assert!(matches!(system.symbol_index("NOPE"), Err(EngineError::UnknownSymbol(s)) if s == "NOPE"));
    let out = system.execute(0, Request::New(NewOrder::limit(1, Side::Buy, 111, 1, 1)), false).unwrap_err();
    assert!(matches!(&out.error, EngineError::InvalidOrder(m) if m.contains("price band")), "{out:?}");
    assert_eq!(out.command_sequence, 0);
    assert!(system.execute(0, Request::New(NewOrder::limit(1, Side::Buy, 110, 1, 1)), false).is_ok());
    assert!(matches!(
        system.execute(7, Request::Expire { now: 1 }, false),
        Err(Refusal { error: EngineError::UnknownSymbol(_), .. })
    ));
}

#[test]
fn a_full_order_pool_refuses_the_resting_part_with_a_reason_and_keeps_trades() {
    let mut cfg = config(&["P"], 1);
    cfg.symbols[0].book.order_capacity = 2;
    cfg.symbols[0].book.max_orders = Some(2);
    let system = TradingSystem::start(cfg).unwrap();
    let rest = |id: u128, side, price| {
        system.execute(0, Request::New(NewOrder::limit(id, side, price, 5, 1)), false)
    };
    rest(1, Side::Sell, 101).unwrap();
    rest(2, Side::Sell, 102).unwrap();
    let refused = rest(3, Side::Sell, 103).unwrap();
    let own = refused.report().unwrap().report.unwrap();
    assert_eq!(own.status, lft_engine::OrderStatus::Rejected);
    assert_eq!(own.reject_reason, Some(lft_engine::RejectReason::OrderPoolFull));
    // A buy for 8 takes order 1 (5 lots) and 3 of order 2; its 0 remainder needs no slot.
    let taker = system.execute(0, Request::New(NewOrder::limit(4, Side::Buy, 102, 8, 2)), false).unwrap();
    assert_eq!(taker.report().unwrap().trades.len(), 2);
    // Now one slot is free again.
    rest(5, Side::Sell, 104).unwrap();
    assert_eq!(system.book(0).unwrap().len(), 2);
}

#[test]
fn a_command_list_runs_each_command_as_if_sent_alone() {
    let one_by_one = TradingSystem::start(config(&["L"], 1)).unwrap();
    let listed = TradingSystem::start(config(&["L"], 1)).unwrap();
    let mut rng = Rng(77);
    let commands: Vec<lft_engine::Command> = (0..2_000)
        .map(|n| match random_request(&mut rng, 1, n) {
            Request::New(o) => lft_engine::Command::New(o),
            Request::Cancel { id, timestamp } => lft_engine::Command::Cancel { id, timestamp },
            Request::Modify(m) => lft_engine::Command::Modify(m),
            _ => unreachable!(),
        })
        .collect();
    let mut rejected = 0;
    for c in &commands {
        rejected += one_by_one.execute(0, (*c).into(), false).is_err() as u64;
    }
    let mut feed = listed.subscribe();
    let summary = match listed.execute(0, Request::Commands(commands), false).unwrap().outcome {
        lft_engine::system::Outcome::Commands(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!((summary.commands, summary.rejected, summary.last_command_sequence), (2_000, rejected, 2_000));
    assert_eq!(one_by_one.state_hash(0).unwrap(), listed.state_hash(0).unwrap());
    let rejects = std::iter::from_fn(|| feed.poll()).filter(|e| e.kind == FeedKind::CommandRejected).count();
    assert_eq!(rejects as u64, rejected);
}

#[test]
fn level_tracking_reports_every_level_a_command_changed_with_its_final_state() {
    let mut book = BookWriter::new("LV", Decimal::ONE, Decimal::ONE).unwrap();
    book.submit(&NewOrder::limit(1, Side::Sell, 101, 5, 1)).unwrap();
    let mut changes = book.level_changes().to_vec();
    assert!(changes.is_empty(), "tracking is off by default");
    book.track_level_changes(true);
    book.submit(&NewOrder::limit(2, Side::Sell, 102, 5, 1)).unwrap();
    changes = book.level_changes().to_vec();
    let state = |c: &[lft_engine::LevelChange]| {
        c.iter().map(|l| (l.side, l.price, l.quantity, l.order_count)).collect::<Vec<_>>()
    };
    assert_eq!(state(&changes), vec![(Side::Sell, 102, 5, 1)]);
    // A reprice moves the order: both levels change; the old one empties.
    book.modify(&Modify { id: 2, quantity: None, price: Some(103), timestamp: 2 }).unwrap();
    changes = book.level_changes().to_vec();
    assert_eq!(state(&changes), vec![(Side::Sell, 102, 0, 0), (Side::Sell, 103, 5, 1)]);
    // A sweep through two levels reports each once, with its state after the command.
    book.submit(&NewOrder::limit(3, Side::Buy, 103, 7, 3)).unwrap();
    changes = book.level_changes().to_vec();
    assert_eq!(state(&changes), vec![(Side::Sell, 101, 0, 0), (Side::Sell, 103, 3, 1)]);
    // A refused command changes nothing and reports nothing.
    assert!(book.cancel(99, 4).is_err());
    changes = book.level_changes().to_vec();
    assert!(changes.is_empty());
}

#[test]
fn a_book_that_cannot_be_built_fails_the_start_instead_of_hanging() {
    let mut cfg = config(&["OK", "HUGE"], 2);
    cfg.symbols[1].book.order_capacity = usize::MAX / 2;
    let err = TradingSystem::start(cfg).err().expect("start must fail");
    assert!(matches!(&err, EngineError::InvalidConfig(m) if m.contains("could not build")), "{err}");
}

#[test]
fn batches_publish_their_trades_and_order_updates_and_reductions_their_level() {
    let system = TradingSystem::start(config(&["F"], 1)).unwrap();
    let mut feed = system.subscribe();
    system.execute(0, Request::New(NewOrder::limit(1, Side::Sell, 100, 5, 1)), false).unwrap();
    let batch = OwnedBatch {
        side: vec![0, 0],
        price: vec![100, 90],
        quantity: vec![3, 4],
        time_in_force: None,
        order_id: Some(vec![10, 11]),
        timestamp: 2,
    };
    system.execute(0, Request::Batch(batch), false).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| feed.poll()).filter(|e| e.command_sequence == 2).collect();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            FeedKind::Trade,
            FeedKind::Order,
            FeedKind::Order,
            FeedKind::Order,
            FeedKind::Level,
            FeedKind::Level
        ],
        "{events:?}"
    );
    let book_events: Vec<u64> =
        events.iter().filter(|e| e.kind != FeedKind::Level).map(|e| e.sequence).collect();
    assert!(book_events.windows(2).all(|w| w[0] < w[1]), "in sequence order: {book_events:?}");
    // Reducing a resting order in place changes its level: one level event.
    system
        .execute(0, Request::Modify(Modify { id: 11, quantity: Some(1), price: None, timestamp: 3 }), false)
        .unwrap();
    let level: Vec<_> = std::iter::from_fn(|| feed.poll()).filter(|e| e.kind == FeedKind::Level).collect();
    assert_eq!(level.len(), 1);
    assert_eq!((level[0].side, level[0].price, level[0].quantity, level[0].remaining), (Side::Buy, 90, 1, 1));
}

#[test]
fn the_price_band_covers_batches_and_command_lists() {
    let mut cfg = config(&["B"], 1);
    cfg.symbols[0].price_band = Some((90, 110));
    let system = TradingSystem::start(cfg).unwrap();
    let batch = OwnedBatch {
        side: vec![0, 0],
        price: vec![100, 500],
        quantity: vec![1, 1],
        time_in_force: None,
        order_id: None,
        timestamp: 1,
    };
    let refused = system.execute(0, Request::Batch(batch), false).unwrap_err();
    assert!(matches!(&refused.error, EngineError::InvalidOrder(m) if m.contains("price band")));
    let list = vec![lft_engine::Command::New(NewOrder::limit(1, Side::Buy, 500, 1, 1))];
    assert!(system.execute(0, Request::Commands(list), false).is_err());
    let market = OwnedBatch { price: vec![0], side: vec![0], quantity: vec![1], ..OwnedBatch::default() };
    assert!(system.execute(0, Request::Batch(market), false).is_ok(), "market rows have no price to check");
    assert_eq!(system.book(0).unwrap().len(), 0);
}

#[test]
fn live_counters_count_commands_trades_and_rejects_per_symbol() {
    let system = TradingSystem::start(config(&["A", "B"], 1)).unwrap();
    let read = |s: u32| {
        let c = system.symbol_counters(s).unwrap();
        (
            c.commands.load(Ordering::Relaxed),
            c.trades.load(Ordering::Relaxed),
            c.rejects.load(Ordering::Relaxed),
        )
    };
    assert_eq!(read(0), (0, 0, 0));
    system.execute(0, Request::New(NewOrder::limit(1, Side::Sell, 100, 5, 1)), false).unwrap();
    system.execute(0, Request::New(NewOrder::limit(2, Side::Sell, 101, 5, 1)), false).unwrap();
    // One taker against two makers: two trades.
    system.execute(0, Request::New(NewOrder::limit(3, Side::Buy, 101, 7, 1)), false).unwrap();
    assert_eq!(read(0), (3, 2, 0));
    // A post-only that would cross: answered REJECTED. A cancel of an unknown id: refused.
    let mut post_only = NewOrder::limit(4, Side::Buy, 101, 1, 1);
    post_only.post_only = true;
    system.execute(0, Request::New(post_only), false).unwrap();
    assert!(system.execute(0, Request::Cancel { id: 99, timestamp: 1 }, false).is_err());
    assert_eq!(read(0), (5, 2, 2));
    // A batch is one command; its trades all count.
    let batch = OwnedBatch {
        side: vec![0, 1, 1],
        price: vec![90, 90, 90],
        quantity: vec![1, 1, 1],
        time_in_force: None,
        order_id: None,
        timestamp: 1,
    };
    system.execute(0, Request::Batch(batch), false).unwrap();
    assert_eq!(read(0), (6, 3, 2));
    // Each command of a list counts; queries (state hash) and refusals before the queue do not.
    let list = vec![
        lft_engine::Command::New(NewOrder::limit(10, Side::Buy, 50, 1, 1)),
        lft_engine::Command::Cancel { id: 10, timestamp: 1 },
    ];
    system.execute(0, Request::Commands(list), false).unwrap();
    system.state_hash(0).unwrap();
    assert_eq!(read(0), (8, 3, 2));
    assert_eq!(read(1), (0, 0, 0));
    // Without statistics the latency histogram records nothing.
    assert!(system.latency_histograms().iter().all(|h| h.read().count == 0));
}
