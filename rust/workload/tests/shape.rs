//! The generator's published shape: determinism, ratios, and book depth per scenario.

use lft_engine::{BookWriter, Decimal, Modify, NewOrder, Side, TimeInForce};
use lft_workload::{generate, read_stream, write_stream, GeneratorConfig, Kind, Record, Scenario};

fn stream(scenario: Scenario, seed: u64, n: usize) -> Vec<Record> {
    generate(GeneratorConfig::new(scenario, seed), n)
}

fn fnv(records: &[Record]) -> u64 {
    let mut bytes = Vec::new();
    write_stream(&mut bytes, records).unwrap();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

#[test]
fn same_seed_gives_the_same_stream_and_another_seed_does_not() {
    for sc in Scenario::ALL {
        assert_eq!(stream(sc, 7, 20_000), stream(sc, 7, 20_000), "{sc:?}");
        assert_ne!(stream(sc, 7, 20_000), stream(sc, 8, 20_000), "{sc:?}");
    }
}

/// Golden digest of the first 100k records of `normal`, seed 42. The generator uses its own
/// RNG and libm (pure Rust) maths, so this holds on every machine; a change here means the
/// published streams changed and benchmark results are no longer comparable.
#[test]
fn normal_seed_42_stream_is_bit_identical_to_the_published_one() {
    assert_eq!(fnv(&stream(Scenario::Normal, 42, 100_000)), GOLDEN_NORMAL_42);
}
const GOLDEN_NORMAL_42: u64 = 14_870_935_409_231_519_963;

#[test]
fn binary_format_round_trips_and_rejects_garbage() {
    let records = stream(Scenario::Swing, 3, 5_000);
    let mut bytes = Vec::new();
    write_stream(&mut bytes, &records).unwrap();
    assert_eq!(bytes.len(), 16 + 40 * records.len());
    assert_eq!(read_stream(&mut bytes.as_slice()).unwrap(), records);
    assert!(read_stream(&mut &b"NOPE0000000000000000"[..]).is_err());
    assert!(read_stream(&mut &bytes[..bytes.len() - 1]).is_err());
}

struct Shape {
    ioc_ratio: f64,
    cancel_ratio: f64,
    modify_ratio: f64,
    resting: usize,
    levels: usize,
    /// Fewest levels that together hold 90% of the resting quantity.
    core_levels: usize,
    rejected: usize,
}

fn shape(sc: Scenario, n: usize) -> Shape {
    let records = stream(sc, 42, n);
    let news: Vec<_> = records.iter().filter(|r| r.kind == Kind::New as u8).collect();
    let passive = news.iter().filter(|r| r.tif == 0).count() as f64;
    // Follow-ups of late orders fall past the end of the stream: measure the ratios on
    // orders from the first third, whose follow-ups are (almost) all inside it.
    let early: std::collections::HashSet<u64> = records[..n / 3]
        .iter()
        .filter(|r| r.kind == Kind::New as u8 && r.tif == 0)
        .map(|r| r.order_id)
        .collect();
    let followed = |k: Kind| {
        records.iter().filter(|r| r.kind == k as u8 && early.contains(&r.order_id)).count() as f64
            / early.len() as f64
    };
    let mut book = BookWriter::new("W", Decimal::ONE, Decimal::ONE).unwrap();
    let mut rejected = 0;
    for r in &records {
        let id = r.order_id as u128;
        let side = if r.side == 0 { Side::Buy } else { Side::Sell };
        let result = match r.kind {
            0 => {
                let tif = if r.tif == 1 { TimeInForce::Ioc } else { TimeInForce::Gtc };
                book.submit(&NewOrder::limit(id, side, r.price, r.quantity, r.timestamp).with_tif(tif))
                    .map(|_| ())
            }
            1 => book.cancel(id, r.timestamp).map(|_| ()),
            _ => book
                .modify(&Modify {
                    id,
                    quantity: Some(r.quantity),
                    price: Some(r.price),
                    timestamp: r.timestamp,
                })
                .map(|_| ()),
        };
        rejected += result.is_err() as usize;
    }
    let depth = book.depth(usize::MAX);
    let mut sizes: Vec<i64> = depth.bids.iter().chain(&depth.asks).map(|l| l.quantity).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let total: i64 = sizes.iter().sum();
    let mut acc = 0;
    let core_levels = sizes
        .iter()
        .take_while(|q| {
            let before = acc;
            acc += **q;
            before * 10 < total * 9
        })
        .count();
    Shape {
        ioc_ratio: (news.len() as f64 - passive) / news.len() as f64,
        cancel_ratio: followed(Kind::Cancel),
        modify_ratio: followed(Kind::Modify),
        resting: book.len(),
        levels: depth.bids.len() + depth.asks.len(),
        core_levels,
        rejected,
    }
}

#[test]
fn ratios_match_the_published_shape() {
    for sc in Scenario::ALL {
        let s = shape(sc, 400_000);
        eprintln!("{sc:?}: ioc {:.3} cancel {:.3} modify {:.3}", s.ioc_ratio, s.cancel_ratio, s.modify_ratio);
        assert!((0.13..0.17).contains(&s.ioc_ratio), "{sc:?} ioc {}", s.ioc_ratio);
        assert!((0.90..0.96).contains(&s.cancel_ratio), "{sc:?} cancel {}", s.cancel_ratio);
        assert!((0.17..0.21).contains(&s.modify_ratio), "{sc:?} modify {}", s.modify_ratio);
        assert!(s.rejected > 0, "{sc:?}: some cancels/modifies must hit orders that already traded");
    }
}

#[test]
fn static_scenario_piles_a_deep_book_on_few_levels() {
    let s = shape(Scenario::Static, 400_000);
    eprintln!("static: resting {} levels {} core {}", s.resting, s.levels, s.core_levels);
    assert!(s.resting >= 10_000, "resting {}", s.resting);
    assert!(s.core_levels <= 60, "90% of the quantity sits on {} levels", s.core_levels);
}

#[test]
fn swing_scenario_spreads_over_about_a_thousand_levels() {
    let s = shape(Scenario::Swing, 400_000);
    let n = shape(Scenario::Normal, 400_000);
    eprintln!(
        "swing: resting {} levels {} core {}; normal: resting {} levels {} core {}",
        s.resting, s.levels, s.core_levels, n.resting, n.levels, n.core_levels
    );
    assert!((400..3_000).contains(&s.levels), "swing levels {}", s.levels);
    assert!(n.levels < s.levels, "normal {} vs swing {}", n.levels, s.levels);
}

#[test]
fn flash_crash_falls_about_ten_percent_in_one_direction() {
    let n = 200_000;
    let records = stream(Scenario::FlashCrash, 42, n);
    let mean_new_price = |from: usize, to: usize| {
        let prices: Vec<f64> =
            records[from..to].iter().filter(|r| r.kind == Kind::New as u8).map(|r| r.price as f64).collect();
        prices.iter().sum::<f64>() / prices.len() as f64
    };
    let before = mean_new_price(n * 3 / 10, n * 4 / 10);
    let after = mean_new_price(n / 2, n * 6 / 10);
    eprintln!("flash crash: mean price {before:.0} -> {after:.0}");
    assert!(after < before * 0.93 && after > before * 0.85, "{before} -> {after}");
}

#[test]
fn multi_symbol_activity_is_pareto_shaped() {
    let mut cfg = GeneratorConfig::new(Scenario::Normal, 42);
    cfg.symbols = 50;
    let records = generate(cfg, 200_000);
    let mut per_symbol = vec![0usize; 50];
    for r in records.iter().filter(|r| r.kind == Kind::New as u8) {
        per_symbol[r.symbol as usize] += 1;
    }
    let total: usize = per_symbol.iter().sum();
    let top_10: usize = per_symbol[..10].iter().sum();
    assert!(
        per_symbol[0] > per_symbol[4] && per_symbol[4] > per_symbol[24],
        "activity falls with rank: {per_symbol:?}"
    );
    assert!(top_10 * 100 / total >= 55, "the top 20% of symbols carry most of the flow: {top_10}/{total}");
    assert!(per_symbol[49] > 0, "every symbol trades");
}
