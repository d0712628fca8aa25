//! Differential tests: the engine against the naive reference book in `reference/`,
//! plus determinism and batch-vs-one-by-one equivalence.

mod reference;

use lft_engine::{
    BatchInput, BatchOutput, BookConfig, BookWriter, Command, Depth, EngineError, Event, ExecutionReport,
    Modify, NewOrder, OrderId, OrderStatus, OrderType, OrderView, Side, TimeInForce, Timestamp,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reference::{same_error_kind, RefBook};
use rust_decimal::Decimal;

// ----- command generation ---------------------------------------------------------------

const LO: i64 = 95;
const HI: i64 = 105;
const ID_POOL: u8 = 30;
const START: Timestamp = 1_000_000;

/// Small integers and full 128-bit ids alike.
fn order_id(k: u8) -> OrderId {
    let k = k as u128;
    if k % 2 == 0 {
        k
    } else {
        (0x9e37_79b9_7f4a_7c15u128 << 64) | (k << 32) | k
    }
}

#[derive(Clone, Debug)]
struct NewSpec {
    id: u8,
    side: Side,
    market: bool,
    limit_price: Option<i64>,
    qty: i64,
    limit_tif: TimeInForce,
    market_tif: TimeInForce,
    /// Relative to the command's timestamp.
    expire_delta: Option<i64>,
    post_only: bool,
    display: Option<i64>,
    /// 0: none; 1: market with a price; 2: market post-only; 3: market iceberg;
    /// 4: expire_time on a non-GTD order.
    glitch: u8,
    /// Keep post-only/iceberg flags on an IOC/FOK limit order (invalid) instead of dropping them.
    keep_bad_flags: bool,
}

/// Which order a cancel or modify names.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The n-th (mod count) order resting in the reference book, by id; pool id 1 if none.
    Live(u16),
    /// Any id of the pool: often finished, never used or expired.
    Pool(u8),
}

#[derive(Clone, Debug)]
enum OpKind {
    New(NewSpec),
    Cancel(Target),
    Modify(Target, Option<i64>, Option<i64>),
    Expire,
    EndOfDay,
}

#[derive(Clone, Debug)]
struct Op {
    dt: i64,
    kind: OpKind,
}

fn side_s() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn new_spec() -> impl Strategy<Value = NewSpec> {
    let limit_price = prop_oneof![
        96 => (LO..=HI).prop_map(Some),
        2 => Just(None),
        1 => Just(Some(0)),
        1 => Just(Some(-7)),
    ];
    let qty = prop_oneof![
        90 => 1i64..=20,
        5 => 21i64..=60,
        3 => Just(0i64),
        2 => Just(-5i64),
    ];
    let limit_tif = prop_oneof![
        40 => Just(TimeInForce::Gtc),
        12 => Just(TimeInForce::Ioc),
        12 => Just(TimeInForce::Fok),
        22 => Just(TimeInForce::Gtd),
        14 => Just(TimeInForce::Day),
    ];
    let market_tif = prop_oneof![
        48 => Just(TimeInForce::Ioc),
        48 => Just(TimeInForce::Fok),
        2 => Just(TimeInForce::Gtc),
        1 => Just(TimeInForce::Gtd),
        1 => Just(TimeInForce::Day),
    ];
    let expire_delta = prop_oneof![
        92 => (1i64..=150).prop_map(Some),
        4 => Just(None),
        4 => (-10i64..=0).prop_map(Some),
    ];
    let display = prop_oneof![
        80 => Just(None),
        17 => (1i64..=8).prop_map(Some),
        2 => Just(Some(0)),
        1 => Just(Some(1000)),
    ];
    let glitch = prop_oneof![92 => Just(0u8), 2 => Just(1u8), 2 => Just(2u8), 2 => Just(3u8), 2 => Just(4u8)];
    (
        1..=ID_POOL,
        side_s(),
        prop::bool::weighted(0.15),
        limit_price,
        qty,
        limit_tif,
        market_tif,
        expire_delta,
        prop::bool::weighted(0.15),
        display,
        glitch,
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                id,
                side,
                market,
                limit_price,
                qty,
                limit_tif,
                market_tif,
                expire_delta,
                post_only,
                display,
                glitch,
                keep_bad_flags,
            )| {
                NewSpec {
                    id,
                    side,
                    market,
                    limit_price,
                    qty,
                    limit_tif,
                    market_tif,
                    expire_delta,
                    post_only,
                    display,
                    glitch,
                    keep_bad_flags,
                }
            },
        )
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![75 => any::<u16>().prop_map(Target::Live), 25 => (1..=ID_POOL).prop_map(Target::Pool)]
}

fn op_kind() -> impl Strategy<Value = OpKind> {
    let mqty = prop_oneof![
        30 => Just(None),
        45 => (1i64..=12).prop_map(Some),
        20 => (13i64..=30).prop_map(Some),
        5 => Just(Some(0)),
    ];
    let mprice = prop_oneof![35 => Just(None), 62 => (LO..=HI).prop_map(Some), 3 => Just(Some(0))];
    prop_oneof![
        60 => new_spec().prop_map(OpKind::New),
        10 => target().prop_map(OpKind::Cancel),
        22 => (target(), mqty, mprice).prop_map(|(t, q, p)| OpKind::Modify(t, q, p)),
        5 => Just(OpKind::Expire),
        1 => Just(OpKind::EndOfDay),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let dt = prop_oneof![70 => 1i64..=15, 20 => Just(0i64), 10 => -8i64..0];
    (dt, op_kind()).prop_map(|(dt, kind)| Op { dt, kind })
}

fn to_new_order(s: &NewSpec, now: Timestamp) -> NewOrder {
    let mut o = if s.market {
        NewOrder {
            id: order_id(s.id),
            side: s.side,
            order_type: OrderType::Market,
            price: None,
            quantity: s.qty,
            time_in_force: s.market_tif,
            expire_time: None,
            post_only: false,
            display_quantity: None,
            timestamp: now,
        }
    } else {
        let keep = s.limit_tif.rests() || s.keep_bad_flags;
        NewOrder {
            id: order_id(s.id),
            side: s.side,
            order_type: OrderType::Limit,
            price: s.limit_price,
            quantity: s.qty,
            time_in_force: s.limit_tif,
            expire_time: None,
            post_only: s.post_only && keep,
            display_quantity: s.display.filter(|_| keep),
            timestamp: now,
        }
    };
    if o.time_in_force == TimeInForce::Gtd {
        o.expire_time = s.expire_delta.map(|d| now + d);
    }
    match s.glitch {
        1 if s.market => o.price = Some(100),
        2 if s.market => o.post_only = true,
        3 if s.market => o.display_quantity = Some(1),
        4 if o.time_in_force != TimeInForce::Gtd => o.expire_time = Some(now + 5),
        _ => {}
    }
    o
}

fn resolve_target(t: Target, rb: &RefBook) -> OrderId {
    match t {
        Target::Pool(k) => order_id(k),
        Target::Live(n) => {
            let mut live: Vec<OrderId> =
                rb.bids.values().chain(rb.asks.values()).flat_map(|v| v.iter().map(|o| o.id)).collect();
            live.sort_unstable();
            if live.is_empty() {
                order_id(1)
            } else {
                live[n as usize % live.len()]
            }
        }
    }
}

/// Turn one generated op into a command. `rb` (the reference book's state before the
/// command) only serves to aim cancels and modifies at live orders.
fn to_command(op: &Op, now: &mut Timestamp, rb: &RefBook) -> Command {
    *now += op.dt;
    let now = *now;
    match &op.kind {
        OpKind::New(s) => Command::New(to_new_order(s, now)),
        OpKind::Cancel(t) => Command::Cancel { id: resolve_target(*t, rb), timestamp: now },
        OpKind::Modify(t, q, p) => {
            Command::Modify(Modify { id: resolve_target(*t, rb), quantity: *q, price: *p, timestamp: now })
        }
        OpKind::Expire => Command::Expire { now },
        OpKind::EndOfDay => Command::EndOfDay { now },
    }
}

/// Build a command stream up front (the reference book is run alongside to aim targets).
fn build(ops: &[Op]) -> Vec<Command> {
    let mut rb = RefBook::new();
    let mut now = START;
    ops.iter()
        .map(|op| {
            let cmd = to_command(op, &mut now, &rb);
            let _ = rb.apply(&cmd);
            cmd
        })
        .collect()
}

fn new_book() -> BookWriter {
    BookWriter::new("TEST", Decimal::new(1, 2), Decimal::ONE).expect("book")
}

// ----- comparison -----------------------------------------------------------------------

fn ref_view(o: &reference::RefOrder) -> OrderView {
    OrderView {
        id: o.id,
        side: o.side,
        price: o.price,
        quantity: o.original,
        remaining_quantity: o.open,
        visible_quantity: o.visible,
        filled_quantity: o.filled,
        time_in_force: o.tif,
        expire_time: o.expire_time,
        post_only: o.post_only,
        display_quantity: (o.display > 0).then_some(o.display),
        timestamp: o.timestamp,
    }
}

/// Compare one command's outcome and the whole observable state afterwards.
#[allow(clippy::too_many_arguments)]
fn compare(
    step: usize,
    cmd: &Command,
    eng: &Result<ExecutionReport, EngineError>,
    refr: &Result<ExecutionReport, EngineError>,
    book: &BookWriter,
    rb: &RefBook,
    seq_before: u64,
    stats: bool,
) -> Result<(), TestCaseError> {
    match (eng, refr) {
        (Ok(a), Ok(b)) => {
            prop_assert_eq!(a, b, "step {}: {:?}", step, cmd);
            // events carry consecutive sequence numbers
            let seqs: Vec<u64> = a.events().iter().map(Event::sequence).collect();
            let expect: Vec<u64> = (seq_before + 1..=seq_before + seqs.len() as u64).collect();
            prop_assert_eq!(seqs, expect, "step {}: sequence numbers {:?}", step, cmd);
        }
        (Err(a), Err(b)) => {
            prop_assert!(same_error_kind(a, b), "step {}: {:?}: engine {:?} reference {:?}", step, cmd, a, b);
        }
        _ => prop_assert!(false, "step {}: {:?}: engine {:?} vs reference {:?}", step, cmd, eng, refr),
    }
    prop_assert_eq!(book.sequence(), rb.seq, "step {}: sequence", step);
    let d = book.depth(usize::MAX);
    let want = Depth { bids: rb.bid_levels(), asks: rb.ask_levels() };
    prop_assert_eq!(&d, &want, "step {}: depth after {:?}", step, cmd);
    prop_assert_eq!(book.len(), rb.len(), "step {}: len", step);
    prop_assert_eq!(book.is_empty(), rb.len() == 0);
    prop_assert_eq!(book.best_bid(), rb.best_bid(), "step {}: best bid", step);
    prop_assert_eq!(book.best_ask(), rb.best_ask(), "step {}: best ask", step);
    prop_assert_eq!(book.top_of_book(), (rb.best_bid(), rb.best_ask()));
    let d3 = book.depth(3);
    prop_assert_eq!(&d3.bids[..], &want.bids[..want.bids.len().min(3)]);
    prop_assert_eq!(&d3.asks[..], &want.asks[..want.asks.len().min(3)]);
    for side in [Side::Buy, Side::Sell] {
        for p in LO - 1..=HI + 1 {
            prop_assert_eq!(
                book.depth_at(side, p),
                rb.depth_at(side, p),
                "step {}: depth_at {:?} {}",
                step,
                side,
                p
            );
            if stats {
                prop_assert_eq!(
                    book.level(side, p),
                    rb.level(side, p),
                    "step {}: level {:?} {}",
                    step,
                    side,
                    p
                );
            } else {
                // no retention: a level is readable exactly while it has orders
                let l = book.level(side, p);
                let want = rb.level(side, p).filter(|s| s.order_count > 0);
                prop_assert_eq!(
                    l.map(|s| (s.quantity, s.order_count)),
                    want.map(|s| (s.quantity, s.order_count))
                );
            }
        }
    }
    for k in 1..=ID_POOL {
        let id = order_id(k);
        let want = rb.order(id).map(|o| ref_view(&o));
        prop_assert_eq!(book.order(id), want, "step {}: order {:#x}", step, id);
        prop_assert_eq!(book.contains(id), want.is_some());
    }
    Ok(())
}

fn run_stream(ops: &[Op]) -> Result<(), TestCaseError> {
    run_stream_on(&mut new_book(), ops, true)
}

/// `stats`: compare level statistics too (only valid while the book retains every level).
fn run_stream_on(book: &mut BookWriter, ops: &[Op], stats: bool) -> Result<(), TestCaseError> {
    let mut rb = RefBook::new();
    let mut now = START;
    for (step, op) in ops.iter().enumerate() {
        let cmd = to_command(op, &mut now, &rb);
        let seq_before = book.sequence();
        let eng = book.apply(&cmd);
        let refr = rb.apply(&cmd);
        compare(step, &cmd, &eng, &refr, book, &rb, seq_before, stats)?;
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, max_shrink_iters: 20_000, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(200))]

    /// 200 cases x 60 commands = 12,000 commands per run, every kind, narrow price band.
    #[test]
    fn engine_matches_reference(ops in prop::collection::vec(op(), 60)) {
        run_stream(&ops)?;
    }
}

proptest! {
    #![proptest_config(config(50))]

    /// With no empty-level retention every emptied level is evicted (and reclaimed through
    /// the epoch) at once; matching must not notice.
    #[test]
    fn engine_without_level_retention_matches_reference(ops in prop::collection::vec(op(), 60)) {
        let cfg = BookConfig { retain_empty_levels: 0, ..BookConfig::new("TEST", Decimal::new(1, 2), Decimal::ONE).unwrap() };
        run_stream_on(&mut BookWriter::with_config(cfg), &ops, false)?;
    }
}

/// One long deterministic stream (the book is never reset, so it grows deeper queues and
/// far more iceberg re-queues, GTD sweeps and modifies of old orders than the short cases).
#[test]
fn engine_matches_reference_long_stream() {
    let mut runner = TestRunner::deterministic();
    let strat = op();
    let ops: Vec<Op> = (0..8_000).map(|_| strat.new_tree(&mut runner).expect("value").current()).collect();
    if let Err(e) = run_stream(&ops) {
        panic!("{e}");
    }
}

// ----- determinism ----------------------------------------------------------------------

proptest! {
    #![proptest_config(config(40))]

    /// The same commands through two books give identical events and state hashes.
    #[test]
    fn same_commands_same_events_and_state_hash(ops in prop::collection::vec(op(), 80)) {
        let cmds = build(&ops);
        let mut a = new_book();
        let mut b = new_book();
        for cmd in &cmds {
            let ra = a.apply(cmd);
            let rb = b.apply(cmd);
            prop_assert_eq!(&ra, &rb);
            if let Ok(r) = &ra {
                prop_assert_eq!(r.events(), rb.as_ref().unwrap().events());
            }
            prop_assert_eq!(a.state_hash(), b.state_hash());
            prop_assert_eq!(a.sequence(), b.sequence());
        }
    }
}

#[test]
fn generated_order_ids_are_deterministic_per_symbol() {
    let a = new_book();
    let b = new_book();
    let c = BookWriter::new("OTHER", Decimal::new(1, 2), Decimal::ONE).unwrap();
    let ia: Vec<OrderId> = (0..100).map(|_| a.next_order_id()).collect();
    let ib: Vec<OrderId> = (0..100).map(|_| b.next_order_id()).collect();
    let ic: Vec<OrderId> = (0..100).map(|_| c.next_order_id()).collect();
    assert_eq!(ia, ib);
    assert_ne!(ia, ic);
    let mut uniq = ia.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), ia.len(), "generated ids are unique");
    for id in ia {
        // version 4 UUID, RFC 4122 variant
        assert_eq!((id >> 76) & 0xF, 4);
        assert_eq!((id >> 62) & 0x3, 0b10);
    }
}

#[test]
fn state_hash_reflects_state() {
    let mut a = new_book();
    let mut b = new_book();
    assert_eq!(a.state_hash(), b.state_hash());
    a.submit(&NewOrder::limit(1, Side::Buy, 100, 5, 1)).unwrap();
    assert_ne!(a.state_hash(), b.state_hash());
    b.submit(&NewOrder::limit(1, Side::Buy, 100, 5, 1)).unwrap();
    assert_eq!(a.state_hash(), b.state_hash());
    // a failed command leaves the hash alone
    let h = a.state_hash();
    assert!(a.cancel(99, 2).is_err());
    assert!(a.submit(&NewOrder::limit(2, Side::Buy, 100, 0, 2)).is_err());
    assert_eq!(a.state_hash(), h);
}

// ----- batch vs one by one --------------------------------------------------------------

#[derive(Clone, Debug)]
struct Row {
    side: i8,
    price: i64,
    qty: i64,
    tif: u8,
    id: u64,
}

fn row() -> impl Strategy<Value = Row> {
    let price = prop_oneof![85 => LO..=HI, 15 => Just(0i64)];
    (0i8..=1, price, 1i64..=20, prop_oneof![Just(0u8), Just(1u8), Just(2u8), Just(4u8)], 1u64..=40).prop_map(
        |(side, price, qty, tif, id)| {
            // market rows must be IOC or FOK
            let tif = if price == 0 && (tif == 0 || tif == 4) { 1 } else { tif };
            Row { side, price, qty, tif, id }
        },
    )
}

fn row_order(r: &Row, id: OrderId, ts: Timestamp) -> NewOrder {
    NewOrder {
        id,
        side: if r.side == 0 { Side::Buy } else { Side::Sell },
        order_type: if r.price == 0 { OrderType::Market } else { OrderType::Limit },
        price: (r.price != 0).then_some(r.price),
        quantity: r.qty,
        time_in_force: TimeInForce::from_code(r.tif).unwrap(),
        expire_time: None,
        post_only: false,
        display_quantity: None,
        timestamp: ts,
    }
}

/// What `submit_batch` reports, computed with one `submit` per row.
fn one_by_one(book: &mut BookWriter, rows: &[Row], ids: &[u64], ts: Timestamp) -> BatchOutput {
    let mut out = BatchOutput::default();
    for (i, (r, id)) in rows.iter().zip(ids).enumerate() {
        let (status, filled, remaining, trades) = match book.submit(&row_order(r, *id as OrderId, ts)) {
            Ok(rep) => {
                let u = rep.report.unwrap();
                (u.status, u.filled_quantity, u.remaining_quantity, rep.trades)
            }
            Err(EngineError::DuplicateOrderId(_)) => (OrderStatus::Rejected, 0, 0, vec![]),
            Err(e) => panic!("row {i}: unexpected error {e}"),
        };
        out.order_id.push(*id);
        out.status.push(status as u8);
        out.filled.push(filled);
        out.remaining.push(remaining);
        for t in trades {
            out.trade_taker_index.push(i as i64);
            out.trade_maker_order_id.push(t.maker_order_id as u64);
            out.trade_maker_order_id_hi.push((t.maker_order_id >> 64) as u64);
            out.trade_price.push(t.price);
            out.trade_quantity.push(t.quantity);
            out.trade_sequence.push(t.sequence);
        }
    }
    out
}

proptest! {
    #![proptest_config(config(60))]

    /// `submit_batch` equals one-by-one submits with the same ids and timestamp.
    #[test]
    fn batch_equals_one_by_one(
        batches in prop::collection::vec(prop::collection::vec(row(), 1..40), 1..5),
        explicit_ids in any::<bool>(),
    ) {
        let mut a = new_book();
        let mut b = new_book();
        let mut ts = START;
        for rows in &batches {
            ts += 10;
            let side: Vec<i8> = rows.iter().map(|r| r.side).collect();
            let price: Vec<i64> = rows.iter().map(|r| r.price).collect();
            let qty: Vec<i64> = rows.iter().map(|r| r.qty).collect();
            let tif: Vec<u8> = rows.iter().map(|r| r.tif).collect();
            let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
            let input = BatchInput {
                side: &side,
                price: &price,
                quantity: &qty,
                time_in_force: Some(&tif),
                order_id: explicit_ids.then_some(&ids[..]),
                timestamp: ts,
            };
            let mut out = BatchOutput::default();
            a.submit_batch(&input, &mut out).unwrap();
            prop_assert_eq!(out.order_id.len(), rows.len());
            // generated ids: replay with the ids the batch chose
            let want = one_by_one(&mut b, rows, &out.order_id, ts);
            prop_assert_eq!(&out, &want);
            prop_assert_eq!(a.state_hash(), b.state_hash());
            prop_assert_eq!(a.sequence(), b.sequence());
            prop_assert_eq!(a.depth(usize::MAX), b.depth(usize::MAX));
            prop_assert_eq!(a.len(), b.len());
        }
    }
}

#[test]
fn batch_default_tif_is_gtc_for_limit_and_ioc_for_market() {
    let mut a = new_book();
    let mut b = new_book();
    let side = [1i8, 1, 0, 0];
    let price = [101i64, 102, 0, 99];
    let qty = [5i64, 5, 7, 4];
    let ids = [1u64, 2, 3, 4];
    let input = BatchInput {
        side: &side,
        price: &price,
        quantity: &qty,
        time_in_force: None,
        order_id: Some(&ids),
        timestamp: 10,
    };
    let mut out = BatchOutput::default();
    a.submit_batch(&input, &mut out).unwrap();
    let rows: Vec<Row> = (0..4)
        .map(|i| Row {
            side: side[i],
            price: price[i],
            qty: qty[i],
            tif: if price[i] == 0 { 1 } else { 0 },
            id: ids[i],
        })
        .collect();
    let want = one_by_one(&mut b, &rows, &ids, 10);
    assert_eq!(out, want);
    assert_eq!(
        out.status,
        vec![
            OrderStatus::New as u8,
            OrderStatus::New as u8,
            OrderStatus::Filled as u8,
            OrderStatus::New as u8
        ]
    );
    assert_eq!(a.state_hash(), b.state_hash());
}

/// Thousands of GTD orders, most cancelled (stale heap entries pile up until the engine
/// compacts its expiry heap), expired in (expire_time, acceptance) order like the reference.
#[test]
fn gtd_expiry_order_survives_heap_compaction() {
    let mut book = new_book();
    let mut rb = RefBook::new();
    let mut rng = TestRunner::deterministic();
    let mut live: Vec<OrderId> = Vec::new();
    let mut next: OrderId = 1_000;
    let mut now: Timestamp = START;
    let mut expired = 0usize;
    let pick = |r: &mut TestRunner, lo: i64, hi: i64| (lo..=hi).new_tree(r).unwrap().current();
    for step in 0..12_000usize {
        now += pick(&mut rng, 0, 2);
        let roll = pick(&mut rng, 0, 99);
        let cmd = if roll < 45 || live.is_empty() {
            let side = if pick(&mut rng, 0, 1) == 0 { Side::Buy } else { Side::Sell };
            // non-crossing: bids 50..=90, asks 110..=150; expiry times collide on purpose
            let price = if side == Side::Buy { pick(&mut rng, 50, 90) } else { pick(&mut rng, 110, 150) };
            // 30% expire soon; 70% far in the future, so that once cancelled they linger in
            // the engine's expiry heap as stale entries (compaction kicks in past 1024 of them)
            let expire = if pick(&mut rng, 0, 9) < 3 {
                now + 10 * pick(&mut rng, 1, 60)
            } else {
                now + 1_000_000 + pick(&mut rng, 0, 50)
            };
            next += 1;
            let tif = if pick(&mut rng, 0, 9) == 0 { TimeInForce::Day } else { TimeInForce::Gtd };
            let o = NewOrder {
                id: next,
                side,
                order_type: OrderType::Limit,
                price: Some(price),
                quantity: pick(&mut rng, 1, 9),
                time_in_force: tif,
                expire_time: (tif == TimeInForce::Gtd).then_some(expire),
                post_only: false,
                display_quantity: None,
                timestamp: now,
            };
            live.push(next);
            Command::New(o)
        } else if roll < 88 {
            let i = pick(&mut rng, 0, live.len() as i64 - 1) as usize;
            Command::Cancel { id: live.swap_remove(i), timestamp: now }
        } else if roll < 97 {
            Command::Expire { now }
        } else {
            let i = pick(&mut rng, 0, live.len() as i64 - 1) as usize;
            Command::Modify(Modify {
                id: live[i],
                quantity: Some(pick(&mut rng, 1, 9)),
                price: None,
                timestamp: now,
            })
        };
        let eng = book.apply(&cmd);
        let refr = rb.apply(&cmd);
        match (&eng, &refr) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "step {step}: {cmd:?}");
                expired += a.updates.iter().filter(|u| u.status == OrderStatus::Expired).count();
            }
            (Err(a), Err(b)) => assert!(same_error_kind(a, b), "step {step}: {a:?} vs {b:?}"),
            _ => panic!("step {step}: {cmd:?}: {eng:?} vs {refr:?}"),
        }
        if step % 500 == 0 {
            assert_eq!(book.depth(usize::MAX), Depth { bids: rb.bid_levels(), asks: rb.ask_levels() });
        }
    }
    let eod = Command::EndOfDay { now: now + 2_000_000 };
    assert_eq!(book.apply(&eod).unwrap(), rb.apply(&eod).unwrap());
    assert!(book.is_empty());
    assert!(expired > 300, "expiry exercised: {expired}");
}
