//! Concurrency stress: readers against a busy writer, two threads sharing one writer through
//! a mutex (as the Python `OrderBook` does), and a bounded-memory churn with a reader pinned
//! in a loop.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use lft_engine::{
    BookWriter, EngineError, Event, ExecutionReport, Modify, NewOrder, OrderId, OrderStatus, Side,
    TimeInForce,
};
use rust_decimal::Decimal;

/// The tests of this file run one at a time: each wants the (2) cores for itself, and the
/// memory test reads the RSS of the whole process.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

mod common;
use common::Rng;
use common::{check_depth, check_level};

fn new_book(symbol: &str) -> BookWriter {
    BookWriter::new(symbol, Decimal::new(1, 2), Decimal::ONE).expect("book")
}

/// The writer's view of which of its ids still rest, fed from reports.
#[derive(Default)]
struct Live {
    ids: Vec<OrderId>,
    pos: HashMap<OrderId, usize>,
}

impl Live {
    fn insert(&mut self, id: OrderId) {
        if !self.pos.contains_key(&id) {
            self.pos.insert(id, self.ids.len());
            self.ids.push(id);
        }
    }
    fn remove(&mut self, id: OrderId) {
        if let Some(i) = self.pos.remove(&id) {
            let last = self.ids.pop().unwrap();
            if last != id {
                self.ids[i] = last;
                self.pos.insert(last, i);
            }
        }
    }
    fn pick(&self, rng: &mut Rng) -> Option<OrderId> {
        (!self.ids.is_empty()).then(|| self.ids[rng.below(self.ids.len() as u64) as usize])
    }
    fn track(&mut self, r: &ExecutionReport) {
        for u in r.updates.iter().chain(r.report.iter()) {
            if u.status.is_final() {
                self.remove(u.order_id);
            } else {
                self.insert(u.order_id);
            }
        }
    }
}

// ----- one writer, three readers ---------------------------------------------------------

#[test]
fn readers_never_see_a_crossed_or_torn_book_while_one_writer_runs() {
    let _serial = serial();
    const COMMANDS: u64 = 200_000;
    const TARGET: usize = 3_000;
    let mut book = new_book("STRESS");
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    let mut readers = Vec::new();
    for r in 0..3u64 {
        let book = book.reader().clone();
        let done = Arc::clone(&done);
        readers.push(thread::spawn(move || {
            let mut rng = Rng(0x1234_5678 + r);
            let mut loops = 0u64;
            let mut last_seq = 0;
            while !done.load(Ordering::Acquire) {
                loops += 1;
                let seq = book.sequence();
                assert!(seq >= last_seq, "sequence went backwards");
                last_seq = seq;
                match (r + loops) % 3 {
                    0 => {
                        let d = book.depth(10);
                        assert!(d.bids.len() <= 10 && d.asks.len() <= 10);
                        check_depth(&d);
                    }
                    1 => {
                        let (b, a) = book.top_of_book();
                        if let (Some(b), Some(a)) = (b, a) {
                            assert!(b < a, "crossed top of book {b} >= {a}");
                        }
                        let _ = (book.best_bid(), book.best_ask(), book.len());
                    }
                    _ => {
                        let side = if rng.chance(50) { Side::Buy } else { Side::Sell };
                        let p = rng.range(900, 1_100);
                        assert!(book.depth_at(side, p) >= 0);
                        if let Some(s) = book.level(side, p) {
                            check_level(&s, side, p);
                        }
                    }
                }
            }
            loops
        }));
    }

    // the writer: a random walk of a mid price, a book kept around TARGET orders
    let mut rng = Rng(0xDEAD_BEEF);
    let mut live = Live::default();
    let mut mid: i64 = 1_000;
    let mut next_id: u128 = 1;
    let mut trades = 0usize;
    for i in 0..COMMANDS {
        let ts = i as i64 + 1;
        if rng.chance(2) {
            mid = (mid + rng.range(-1, 1)).clamp(950, 1_050);
        }
        let over = live.ids.len() > TARGET;
        let roll = rng.below(100);
        let res = if roll < (if over { 45 } else { 12 }) {
            match live.pick(&mut rng) {
                Some(id) => book.cancel(id, ts),
                None => continue,
            }
        } else if roll < 60 {
            match live.pick(&mut rng) {
                Some(id) => {
                    let q = rng.chance(60).then(|| rng.range(1, 50));
                    // mostly passive reprices, sometimes through the spread
                    let off = rng.range(-3, 25);
                    let p = (q.is_none() || rng.chance(40)).then(|| {
                        let buy = id % 2 == 0;
                        if buy {
                            mid - off
                        } else {
                            mid + off
                        }
                    });
                    book.modify(&Modify { id, quantity: q, price: p, timestamp: ts })
                }
                None => continue,
            }
        } else {
            let side = if rng.chance(50) { Side::Buy } else { Side::Sell };
            // even ids buy, odd ids sell (the modify branch relies on it)
            let id = next_id * 2 + (side == Side::Sell) as u128;
            next_id += 1;
            let mut o = if rng.chance(3) {
                NewOrder::market(id, side, rng.range(1, 30), ts)
            } else {
                // mostly passive, sometimes crossing
                let off = rng.range(-3, 25);
                let price = if side == Side::Buy { mid - off } else { mid + off };
                NewOrder::limit(id, side, price, rng.range(1, 50), ts)
            };
            if o.price.is_some() {
                match rng.below(10) {
                    0 => o.time_in_force = TimeInForce::Ioc,
                    1 => o.display_quantity = Some(rng.range(1, o.quantity)),
                    2 => {
                        o.time_in_force = TimeInForce::Gtd;
                        o.expire_time = Some(ts + rng.range(1, 5_000));
                    }
                    3 => o.post_only = true,
                    _ => {}
                }
            }
            book.submit(&o)
        };
        match res {
            Ok(r) => {
                trades += r.trades.len();
                live.track(&r);
            }
            Err(EngineError::OrderNotFound(id)) => live.remove(id), // an expired GTD order
            Err(e) => panic!("command {i}: {e}"),
        }
        if i % 10_000 == 0 {
            book.expire(ts).unwrap();
            if std::env::var_os("STRESS_VERBOSE").is_some() {
                eprintln!("{i}: len {} live {} trades {trades}", book.len(), live.ids.len());
            }
        }
    }
    done.store(true, Ordering::Release);
    let loops: Vec<u64> = readers.into_iter().map(|h| h.join().expect("reader panicked")).collect();
    let d = book.depth(usize::MAX);
    check_depth(&d);
    let visible: usize = d.bids.iter().chain(&d.asks).map(|l| l.order_count as usize).sum();
    assert_eq!(visible, book.len());
    assert!(book.len() > 500, "the book stayed populated: {}", book.len());
    assert!(trades > 10_000, "the flow crossed often: {trades} trades");
    assert!(loops.iter().all(|&l| l > 100), "readers made progress: {loops:?}");
    eprintln!(
        "one writer: {COMMANDS} commands, {trades} trades, final len {}, reader loops {loops:?}, {:?}",
        book.len(),
        started.elapsed()
    );
}

// ----- two threads writing one book through a mutex (as the Python binding does) -----------------------------------------------------------

#[test]
fn two_threads_sharing_a_writer_through_a_mutex_balance_fills_and_keep_sequence_numbers_unique() {
    let _serial = serial();
    const PER_WRITER: u64 = 30_000;
    let book = Arc::new(Mutex::new(new_book("TWO")));
    let clock = Arc::new(AtomicU64::new(1));
    let mut writers = Vec::new();
    for w in 0..2u64 {
        let book = Arc::clone(&book);
        let clock = Arc::clone(&clock);
        writers.push(thread::spawn(move || {
            let mut rng = Rng(0xABCD + w * 7919);
            let mut events: Vec<Event> = Vec::new();
            let mut mine: Vec<OrderId> = Vec::new();
            for i in 0..PER_WRITER {
                // ids: writer 0 even, writer 1 odd
                let id = (i as u128) * 2 + w as u128 + 1;
                let ts = clock.fetch_add(1, Ordering::Relaxed) as i64;
                let side = if rng.chance(50) { Side::Buy } else { Side::Sell };
                let r = if rng.chance(10) && !mine.is_empty() {
                    let victim = mine.swap_remove(rng.below(mine.len() as u64) as usize);
                    match book.lock().unwrap().cancel(victim, ts) {
                        Ok(r) => r,
                        Err(EngineError::OrderNotFound(_)) => continue, // filled by either writer
                        Err(e) => panic!("{e}"),
                    }
                } else {
                    let mut o = NewOrder::limit(id, side, rng.range(95, 105), rng.range(1, 20), ts);
                    if rng.chance(20) {
                        o.time_in_force = TimeInForce::Ioc;
                    }
                    if rng.chance(10) && o.time_in_force == TimeInForce::Gtc {
                        o.display_quantity = Some(rng.range(1, o.quantity));
                    }
                    mine.push(id);
                    book.lock().unwrap().submit(&o).expect("submit")
                };
                events.extend(r.events());
            }
            events
        }));
    }
    let mut all: Vec<Event> = writers.into_iter().flat_map(|h| h.join().expect("writer panicked")).collect();
    all.sort_by_key(Event::sequence);
    let seqs: Vec<u64> = all.iter().map(Event::sequence).collect();
    let book = book.lock().unwrap();
    let want: Vec<u64> = (1..=book.sequence()).collect();
    assert_eq!(seqs.len(), want.len(), "every sequence number is reported exactly once");
    assert_eq!(seqs, want, "sequence numbers are unique and gap-free");

    // final cumulative fill per order = the fill of its last update; buys and sells balance
    let mut last: HashMap<OrderId, (Side, i64, OrderStatus)> = HashMap::new();
    let mut traded = 0i64;
    for e in &all {
        match e {
            Event::Trade(t) => traded += t.quantity,
            Event::Update(u) => {
                last.insert(u.order_id, (u.side, u.filled_quantity, u.status));
            }
        }
    }
    let filled = |s: Side| last.values().filter(|v| v.0 == s).map(|v| v.1).sum::<i64>();
    assert_eq!(filled(Side::Buy), filled(Side::Sell));
    assert_eq!(filled(Side::Buy), traded);
    assert!(traded > 1_000, "writers crossed each other: {traded}");
    // what still rests is exactly the set of orders whose last update is not final
    let resting = last.values().filter(|v| !v.2.is_final()).count();
    assert_eq!(resting, book.len());
    check_depth(&book.depth(usize::MAX));
}

// ----- bounded memory ----------------------------------------------------------------------

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}

#[test]
fn churn_over_a_moving_price_band_keeps_memory_bounded() {
    let _serial = serial();
    const COMMANDS: u64 = 2_000_000;
    const LIVE: usize = 64;
    let mut book = new_book("CHURN");
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let reader = {
        let book = book.reader().clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut loops = 0u64;
            while !done.load(Ordering::Acquire) {
                loops += 1;
                let d = book.depth(10);
                check_depth(&d);
                if let Some(b) = d.bids.first() {
                    let _ = book.level(Side::Buy, b.price);
                    let _ = book.depth_at(Side::Buy, b.price);
                }
                if loops % 64 == 0 {
                    thread::sleep(Duration::from_micros(50));
                }
            }
            loops
        })
    };

    let mut rng = Rng(0x5EED);
    let mut queue: VecDeque<OrderId> = VecDeque::new();
    let mut baseline = 0;
    let mut peak_after_baseline = 0;
    let mut levels_touched = 0u64;
    for i in 0..COMMANDS {
        let ts = i as i64 + 1;
        // the band drifts one tick every 4 commands: ~500k distinct prices over the run,
        // every one of them created, emptied, retained and (mostly) evicted
        let mid = 1_000_000 + (i / 4) as i64;
        if queue.len() >= LIVE || (i % 2 == 1 && !queue.is_empty()) {
            let id = queue.pop_front().unwrap();
            match book.cancel(id, ts) {
                Ok(_) | Err(EngineError::OrderNotFound(_)) => {}
                Err(e) => panic!("{e}"),
            }
        } else {
            let side = if rng.chance(50) { Side::Buy } else { Side::Sell };
            let off = rng.range(1, 12);
            let price = if side == Side::Buy { mid - off } else { mid + off };
            let mut o = NewOrder::limit(i as u128 + 1, side, price, rng.range(1, 9), ts);
            if rng.chance(25) {
                // never due during the run: cancelled GTD orders leave stale heap entries
                o.time_in_force = TimeInForce::Gtd;
                o.expire_time = Some(i64::MAX);
            }
            book.submit(&o).expect("submit");
            queue.push_back(o.id);
            levels_touched += 1;
        }
        if i == 300_000 {
            baseline = rss_bytes();
        }
        if i > 300_000 && i % 100_000 == 0 {
            peak_after_baseline = peak_after_baseline.max(rss_bytes());
        }
    }
    done.store(true, Ordering::Release);
    let loops = reader.join().expect("reader panicked");
    let end = rss_bytes();
    let peak = peak_after_baseline.max(end);
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "churn: {COMMANDS} commands ({levels_touched} adds), rss baseline {} MiB, peak {} MiB, growth {} KiB, reader loops {loops}, {:?}",
        baseline >> 20,
        peak >> 20,
        growth >> 10,
        started.elapsed()
    );
    // ~500k level nodes of a few hundred bytes each would be >100 MiB if never freed
    assert!(growth < 48 << 20, "RSS grew by {} MiB", growth >> 20);
    assert!(loops > 100, "reader made progress: {loops}");
    // the recent levels are still there, far older ones are evicted
    assert!(book.level(Side::Buy, 1_000_000).is_none(), "levels 10,000+ emptyings ago are evicted");
}
