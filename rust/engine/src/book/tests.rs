//! The writer/reader contract, checked from inside the crate (with the store-point hook):
//! poisoning after a panic, readers that complete while the writer is stopped at any store,
//! and a writer that never waits for a reader.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use super::{BatchInput, BatchOutput, BookConfig, BookReader, BookWriter};
use crate::command::{Modify, NewOrder};
use crate::error::EngineError;
use crate::stop_point;
use crate::types::{Side, TimeInForce};

fn book(retain_empty_levels: usize) -> BookWriter {
    let mut config = BookConfig::new("T", Decimal::ONE, Decimal::ONE).expect("config");
    config.retain_empty_levels = retain_empty_levels;
    BookWriter::with_config(config)
}

fn is_poisoned<T: std::fmt::Debug>(r: Result<T, EngineError>) -> bool {
    matches!(r, Err(EngineError::BookPoisoned { .. }))
}

/// A book where order 2 (buy 10 @ 99) rests alone on its level and a reprice to 100 crosses
/// order 1 (sell 5 @ 100): the modify empties and frees level 99 (no retention), trades,
/// then rests the rest at 100.
fn crossing_modify_book() -> BookWriter {
    let mut b = book(0);
    b.submit(&NewOrder::limit(1, Side::Sell, 100, 5, 1)).unwrap();
    b.submit(&NewOrder::limit(2, Side::Buy, 99, 10, 2)).unwrap();
    b.submit(&NewOrder::limit(3, Side::Buy, 98, 1, 3)).unwrap();
    b
}

const CROSSING_MODIFY: Modify = Modify { id: 2, quantity: None, price: Some(100), timestamp: 4 };

#[test]
fn a_panic_at_any_store_of_a_crossing_modify_poisons_the_book_and_later_writes_touch_nothing() {
    let mut points_covered = 0;
    for k in 1.. {
        let mut b = crossing_modify_book();
        let hits = Rc::new(Cell::new(0u32));
        let counter = Rc::clone(&hits);
        stop_point::set(move || {
            counter.set(counter.get() + 1);
            if counter.get() == k {
                panic!("injected failure at store point {k}");
            }
        });
        let modified = catch_unwind(AssertUnwindSafe(|| b.modify(&CROSSING_MODIFY)));
        stop_point::clear();
        if hits.get() < k {
            // The modify ran to its end before store point k: every point was tried.
            assert!(matches!(modified, Ok(Ok(_))), "{modified:?}");
            break;
        }
        points_covered += 1;
        let panic = modified.expect_err("the injected panic reaches the caller");
        assert!(crate::error::panic_text(&*panic).contains(&format!("store point {k}")));
        assert!(b.poisoned().is_some(), "store point {k}");
        match b.cancel(2, 5) {
            Err(EngineError::BookPoisoned { symbol, reason }) => {
                assert_eq!(symbol, "T");
                assert!(reason.contains("panicked"), "{reason}");
            }
            other => panic!("store point {k}: expected BookPoisoned, got {other:?}"),
        }
        // Every write is refused before it reaches the half-updated writer state (the
        // cancel of order 2 above would have followed its pointer to the freed level 99).
        assert!(is_poisoned(b.modify(&Modify { timestamp: 5, ..CROSSING_MODIFY })));
        assert!(is_poisoned(b.submit(&NewOrder::limit(9, Side::Sell, 99, 1, 5))));
        assert!(is_poisoned(b.expire(5)));
        assert!(is_poisoned(b.end_of_day(5)));
        let batch = BatchInput {
            side: &[0],
            price: &[99],
            quantity: &[1],
            time_in_force: None,
            order_id: None,
            timestamp: 5,
        };
        assert!(is_poisoned(b.submit_batch(&batch, &mut BatchOutput::default())));
        // Readers still answer from what was published.
        let reader = b.reader().clone();
        let _ = (reader.best_bid(), reader.best_ask(), reader.top_of_book(), reader.len());
        let _ = (reader.depth(10), reader.depth_at(Side::Buy, 99), reader.level(Side::Buy, 98));
        drop(b);
        // The reader outlives the writer; the book is freed with the last handle.
        let _ = reader.depth(10);
    }
    assert!(points_covered >= 10, "only {points_covered} store points in a crossing modify");
}

#[test]
fn a_level_the_writer_is_still_creating_reads_as_absent_not_as_empty() {
    let mut b = book(10);
    let reader = b.reader().clone();
    let seen = Rc::new(Cell::new(0u32));
    {
        let seen = Rc::clone(&seen);
        // At every store of the submit that creates level 975 (linked and indexed before its
        // counters are first published), read the level from the same thread.
        stop_point::set(move || {
            if let Some(s) = reader.level(Side::Sell, 975) {
                assert!(s.first_activity.is_some() && s.orders_added >= s.order_count, "{s:?}");
                seen.set(seen.get() + 1);
            }
        });
    }
    b.submit(&NewOrder::limit(1, Side::Sell, 975, 5, 1)).unwrap();
    stop_point::clear();
    assert!(seen.get() > 0, "the level became visible during the command");
    let s = b.level(Side::Sell, 975).expect("level");
    assert_eq!((s.quantity, s.order_count, s.orders_added), (5, 1, 1));
    assert_eq!(b.level(Side::Sell, 976), None);
}

#[test]
fn a_reader_outlives_its_writer() {
    let mut b = book(10);
    b.submit(&NewOrder::limit(1, Side::Sell, 100, 5, 1)).unwrap();
    let reader: BookReader = b.reader().clone();
    drop(b);
    assert_eq!(reader.best_ask(), Some(100));
    assert_eq!(reader.depth(1).asks.len(), 1);
}

/// Commands that go through every kind of store: new levels (skiplist link, index insert,
/// index rebuilds), joins of existing levels, sweeps, level retirement and eviction, an
/// in-place reduction, reprices and a GTD expiry.
fn store_heavy_commands(b: &mut BookWriter, rounds: u64) {
    let mut id = 10u128;
    let mut ts = 10i64;
    let mut next = || {
        id += 1;
        ts += 1;
        (id, ts)
    };
    for r in 0..rounds {
        let base = 1_000 + (r as i64 % 7) * 3;
        for i in 0..6 {
            let (id, ts) = next();
            b.submit(&NewOrder::limit(id, Side::Sell, base + 10 + i, 2, ts)).unwrap();
            let (id, ts) = next();
            b.submit(&NewOrder::limit(id, Side::Buy, base - 10 - i, 2, ts)).unwrap();
        }
        let (gtd, ts) = next();
        let mut o = NewOrder::limit(gtd, Side::Buy, base - 11, 1, ts);
        o.time_in_force = TimeInForce::Gtd;
        o.expire_time = Some(ts + 2);
        b.submit(&o).unwrap();
        let (reduce, ts) = next();
        b.submit(&NewOrder::limit(reduce, Side::Sell, base + 10, 5, ts)).unwrap();
        let (_, ts) = next();
        b.modify(&Modify { id: reduce, quantity: Some(3), price: None, timestamp: ts }).unwrap();
        let (_, ts) = next();
        b.modify(&Modify { id: reduce, quantity: None, price: Some(base + 30), timestamp: ts }).unwrap();
        // sweep both sides through several levels
        let (id, ts) = next();
        b.submit(&NewOrder::limit(id, Side::Buy, base + 40, 40, ts).with_tif(TimeInForce::Ioc)).unwrap();
        let (id, ts) = next();
        b.submit(&NewOrder::limit(id, Side::Sell, base - 40, 40, ts).with_tif(TimeInForce::Ioc)).unwrap();
        let (_, ts) = next();
        b.expire(ts).unwrap();
    }
}

#[test]
fn readers_complete_while_the_writer_is_stopped_at_any_store() {
    const READERS: u64 = 2;
    let rounds = if cfg!(miri) { 1 } else { 6 };
    let mut b = book(4);
    let reader = b.reader().clone();
    let reads = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..READERS)
        .map(|r| {
            let (book, reads, done) = (reader.clone(), Arc::clone(&reads), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut i = 0i64;
                while !done.load(Ordering::Acquire) {
                    i += 1;
                    let p = 980 + (i + r as i64) % 60;
                    let (bid, ask) = book.top_of_book();
                    if let (Some(bid), Some(ask)) = (bid, ask) {
                        assert!(bid < ask, "crossed top {bid} >= {ask}");
                    }
                    let d = book.depth(8);
                    if let (Some(bid), Some(ask)) = (d.bids.first(), d.asks.first()) {
                        assert!(bid.price < ask.price);
                    }
                    for l in d.bids.iter().chain(&d.asks) {
                        assert!(l.quantity > 0 && l.order_count > 0, "{l:?}");
                    }
                    let _ = (book.best_bid(), book.best_ask(), book.len(), book.sequence());
                    let _ = book.depth_at(Side::Buy, p);
                    if let Some(s) = book.level(Side::Sell, p) {
                        assert!(s.quantity >= 0 && (s.quantity == 0) == (s.order_count == 0), "{s:?}");
                    }
                    reads.fetch_add(1, Ordering::Release);
                }
            })
        })
        .collect();
    // At every store point, stop the writer until each reader has completed a couple of
    // full rounds of reads. A reader that waited for the writer would never get there.
    let stops = Rc::new(Cell::new(0u64));
    let stuck = Rc::new(Cell::new(None::<u64>));
    {
        let (stops, stuck, reads) = (Rc::clone(&stops), Rc::clone(&stuck), Arc::clone(&reads));
        let patience = Duration::from_secs(if cfg!(miri) { 600 } else { 20 });
        stop_point::set(move || {
            stops.set(stops.get() + 1);
            if stuck.get().is_some() {
                return;
            }
            // Under Miri (every step interpreted) one round per reader on average, else two.
            let target = reads.load(Ordering::Acquire) + if cfg!(miri) { READERS } else { 2 * READERS };
            let since = Instant::now();
            while reads.load(Ordering::Acquire) < target {
                if since.elapsed() > patience {
                    stuck.set(Some(stops.get()));
                    return;
                }
                std::thread::yield_now();
            }
        });
    }
    store_heavy_commands(&mut b, rounds);
    stop_point::clear();
    done.store(true, Ordering::Release);
    for t in threads {
        t.join().expect("a reader failed");
    }
    assert_eq!(stuck.get(), None, "readers stopped completing while the writer was stopped");
    assert!(stops.get() > 100, "only {} store points", stops.get());
    assert!(b.poisoned().is_none());
}

#[test]
fn the_writer_never_waits_for_a_reader_stopped_inside_a_read() {
    let mut b = book(0);
    let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
    let (resume_tx, resume_rx) = std::sync::mpsc::channel::<()>();
    b.submit(&NewOrder::limit(1, Side::Sell, 5_000, 1, 1)).unwrap();
    let reader = b.reader().clone();
    // A reader stopped in the middle of a read: pinned, standing on the best ask's node.
    let r = std::thread::spawn(move || {
        let guard = crossbeam_epoch::pin();
        let first = reader.core.shared.ladder(Side::Sell).list.first(&guard);
        stopped_tx.send(()).unwrap();
        resume_rx.recv().unwrap();
        // SAFETY: reachable from the head under `guard`, which was pinned all along.
        unsafe { first.as_ref() }.map(|n| n.level.price)
    });
    stopped_rx.recv().unwrap();
    // Meanwhile the writer retires levels, evicts them and rebuilds its index many times.
    store_heavy_commands(&mut b, if cfg!(miri) { 2 } else { 300 });
    b.cancel(1, i64::MAX - 1).unwrap();
    resume_tx.send(()).unwrap();
    let seen = r.join().unwrap();
    assert_eq!(seen, Some(5_000));
}

/// Levels are linked through a neighbour found in the price index when one is within a few
/// ticks, and by a search otherwise (`Step::find_finger`), and unlinked through their back
/// pointers; in debug builds every link and unlink checks its predecessors against a full
/// search. Books dense and sparse, with and without retained levels, keep exactly the levels
/// a plain model has, in order.
#[test]
fn levels_linked_near_a_neighbour_or_by_search_stay_exactly_ordered() {
    use std::collections::BTreeMap;
    // (retained levels, tick spacing, prices in the band, levels resting deep below it):
    // with fewer than `FINGER_MIN_LEVELS` (64) linked a side always searches from the head.
    let cases = [
        (0, 1, 40, 0),
        (64, 1, 40, 600),
        (0, 3, 400, 600),
        (16, 7, 2000, 0),
        (16, 7, 2000, 700),
        (1024, 1, 3000, 600),
        (0, 1, 60, 2000),
    ];
    // Under Miri (`FINGER_MIN_LEVELS` is 16 there) a book of 24 deep levels takes the
    // finger's paths, and one without them does not.
    let miri_cases = [(0, 1, 40, 0), (64, 1, 40, 24)];
    let cases = if cfg!(miri) { &miri_cases[..] } else { &cases[..] };
    for &(retain, spacing, band, deep) in cases {
        let mut b = book(retain);
        let deepest = 1 + band as i64 * spacing as i64;
        for k in 0..deep {
            let id = 1_000_000 + 2 * k as u128;
            b.submit(&NewOrder::limit(id, Side::Buy, 100_000 - deepest - 2 * k as i64, 1, 0)).unwrap();
            b.submit(&NewOrder::limit(id + 1, Side::Sell, 100_000 + deepest + 3 * k as i64, 1, 0)).unwrap();
        }
        let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (spacing * 1000 + retain as u64 + deep);
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Bids below 100,000, asks above: nothing ever trades.
        let mut live: Vec<(u128, Side, i64)> = Vec::new();
        let mut model: [BTreeMap<i64, usize>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for k in 0..deep as i64 {
            model[Side::Buy as usize].insert(100_000 - deepest - 2 * k, 1);
            model[Side::Sell as usize].insert(100_000 + deepest + 3 * k, 1);
        }
        // Under Miri (every step interpreted, each link checked by a full search) a short run.
        let steps: u64 = if cfg!(miri) { 150 } else { 6000 };
        for step in 0..steps {
            if live.is_empty() || next() % 100 < 55 {
                let side = if next() % 2 == 0 { Side::Buy } else { Side::Sell };
                let offset = 1 + (next() % band) as i64 * spacing as i64;
                let price = if side == Side::Buy { 100_000 - offset } else { 100_000 + offset };
                let id = 1 + u128::from(step);
                b.submit(&NewOrder::limit(id, side, price, 1, step as i64)).unwrap();
                *model[side as usize].entry(price).or_default() += 1;
                live.push((id, side, price));
            } else {
                let (id, side, price) = live.swap_remove((next() % live.len() as u64) as usize);
                b.cancel(id, step as i64).unwrap();
                let count = model[side as usize].get_mut(&price).unwrap();
                *count -= 1;
                if *count == 0 {
                    model[side as usize].remove(&price);
                }
            }
            let checked_tail = if cfg!(miri) { 3 } else { 100 };
            if step % 97 == 0 || step + checked_tail > steps {
                let depth = b.reader().depth(usize::MAX);
                let bids: Vec<i64> = depth.bids.iter().map(|l| l.price).collect();
                let asks: Vec<i64> = depth.asks.iter().map(|l| l.price).collect();
                assert_eq!(
                    bids,
                    model[Side::Buy as usize].keys().rev().copied().collect::<Vec<_>>(),
                    "step {step}"
                );
                assert_eq!(
                    asks,
                    model[Side::Sell as usize].keys().copied().collect::<Vec<_>>(),
                    "step {step}"
                );
            }
        }
    }
}
