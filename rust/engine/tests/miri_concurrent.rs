//! A small concurrent reader/writer test sized for Miri (`make miri`): one writer submits,
//! crosses, modifies and cancels a few hundred orders in a narrow price band, so levels are
//! created, emptied, freed and their nodes retired through the epoch, while two readers walk
//! the book through `BookReader`s. Under Miri this checks the unsafe publish/retire protocol for use
//! after free, data races and aliasing violations on the interleavings Miri's scheduler
//! picks; natively it is just a quick smoke test (`stress.rs` is the heavy one).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use lft_engine::{BookConfig, BookWriter, Modify, NewOrder, OrderId, Side, Ticks};
use rust_decimal::Decimal;

const LOW: Ticks = 95;
const HIGH: Ticks = 105;

mod common;
use common::Rng;
use common::{check_depth, check_level};

#[test]
fn concurrent_readers_see_a_consistent_book_while_one_writer_churns_levels() {
    // A few hundred commands under Miri (each is thousands of interpreted steps); more natively.
    let commands: u64 = if cfg!(miri) { 200 } else { 20_000 };
    // Retain almost no empty levels, so emptied levels are unlinked and their nodes retired
    // through the epoch while the readers may still hold them.
    let cfg =
        BookConfig { retain_empty_levels: 1, ..BookConfig::new("MIRI", Decimal::ONE, Decimal::ONE).unwrap() };
    let mut writer = BookWriter::with_config(cfg);
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));

    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let (book, done, reads) = (writer.reader().clone(), Arc::clone(&done), Arc::clone(&reads));
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9 + r);
                let mut rounds = 0u64;
                // At least a few rounds even if the writer finishes first.
                while !done.load(Ordering::Acquire) || rounds < 3 {
                    let (bid, ask) = book.top_of_book();
                    if let (Some(b), Some(a)) = (bid, ask) {
                        assert!(b < a, "crossed top of book: {b} >= {a}");
                    }
                    // Separate loads may straddle a command; each alone must be in the band.
                    for p in [book.best_bid(), book.best_ask()].into_iter().flatten() {
                        assert!((LOW..=HIGH).contains(&p), "best price {p} outside the band");
                    }
                    check_depth(&book.depth(4));
                    let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                    let price = LOW + rng.below((HIGH - LOW + 1) as u64) as Ticks;
                    assert!(book.depth_at(side, price) >= 0);
                    if let Some(s) = book.level(side, price) {
                        check_level(&s, side, price);
                    }
                    rounds += 1;
                }
                reads.fetch_add(rounds, Ordering::Relaxed);
            })
        })
        .collect();

    // The writer: this thread, the book's only `BookWriter`.
    let reader = writer.reader().clone();
    let book = &mut writer;
    let mut rng = Rng(42);
    let mut live: Vec<OrderId> = Vec::new();
    for n in 0..commands {
        let ts = n as i64;
        match rng.below(10) {
            // Cancel a random live order (it may have been filled meanwhile).
            0..=2 if !live.is_empty() => {
                let id = live.swap_remove(rng.below(live.len() as u64) as usize);
                let _ = book.cancel(id, ts);
            }
            // Modify: may move it to another level or cross and trade.
            3 if !live.is_empty() => {
                let id = live[rng.below(live.len() as u64) as usize];
                let price = LOW + rng.below((HIGH - LOW + 1) as u64) as Ticks;
                let m =
                    Modify { id, quantity: Some(1 + rng.below(5) as i64), price: Some(price), timestamp: ts };
                let _ = book.modify(&m);
            }
            // New limit order anywhere in the band: rests, or crosses and trades.
            _ => {
                let id = OrderId::from(n + 1);
                let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                let price = LOW + rng.below((HIGH - LOW + 1) as u64) as Ticks;
                let r = book.submit(&NewOrder::limit(id, side, price, 1 + rng.below(5) as i64, ts)).unwrap();
                if r.report.is_some_and(|u| !u.status.is_final()) {
                    live.push(id);
                }
            }
        }
    }
    drop(writer);

    done.store(true, Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    assert!(reads.load(Ordering::Relaxed) >= 6);
    // The book is still whole once the threads are gone.
    check_depth(&reader.depth(usize::MAX));
}
