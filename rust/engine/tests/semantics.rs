//! One small test per line of the contract in `docs/semantics.md`.

use lft_engine::{
    check_new_order, BatchInput, BatchOutput, BookConfig, BookWriter, Command, DepthLevel, EngineError,
    Event, ExecutionReport, LevelSnapshot, Lots, Modify, NewOrder, OrderId, OrderStatus, OrderType,
    OrderUpdate, RejectReason, Side, Ticks, TimeInForce, Timestamp, Trade,
};
use rust_decimal::Decimal;

use OrderStatus::*;
use Side::{Buy, Sell};

// ----- helpers --------------------------------------------------------------------------

fn book() -> BookWriter {
    BookWriter::new("SEM", Decimal::new(1, 2), Decimal::ONE).expect("book")
}

fn gtc(id: OrderId, side: Side, price: Ticks, qty: Lots, ts: Timestamp) -> NewOrder {
    NewOrder::limit(id, side, price, qty, ts)
}

fn with_tif(o: NewOrder, tif: TimeInForce) -> NewOrder {
    o.with_tif(tif)
}

fn gtd(id: OrderId, side: Side, price: Ticks, qty: Lots, ts: Timestamp, expire: Timestamp) -> NewOrder {
    NewOrder { time_in_force: TimeInForce::Gtd, expire_time: Some(expire), ..gtc(id, side, price, qty, ts) }
}

fn day(id: OrderId, side: Side, price: Ticks, qty: Lots, ts: Timestamp) -> NewOrder {
    with_tif(gtc(id, side, price, qty, ts), TimeInForce::Day)
}

fn iceberg(id: OrderId, side: Side, price: Ticks, qty: Lots, display: Lots, ts: Timestamp) -> NewOrder {
    NewOrder { display_quantity: Some(display), ..gtc(id, side, price, qty, ts) }
}

fn post_only(id: OrderId, side: Side, price: Ticks, qty: Lots, ts: Timestamp) -> NewOrder {
    NewOrder { post_only: true, ..gtc(id, side, price, qty, ts) }
}

fn submit(b: &mut BookWriter, o: NewOrder) -> ExecutionReport {
    b.submit(&o).unwrap_or_else(|e| panic!("submit {o:?}: {e}"))
}

fn modify(
    b: &mut BookWriter,
    id: OrderId,
    quantity: Option<Lots>,
    price: Option<Ticks>,
    ts: Timestamp,
) -> ExecutionReport {
    b.modify(&Modify { id, quantity, price, timestamp: ts }).unwrap_or_else(|e| panic!("modify {id}: {e}"))
}

fn rep(r: &ExecutionReport) -> OrderUpdate {
    r.report.expect("report")
}

/// (maker, taker, price, quantity) of each trade.
fn fills(r: &ExecutionReport) -> Vec<(OrderId, OrderId, Ticks, Lots)> {
    r.trades.iter().map(|t| (t.maker_order_id, t.taker_order_id, t.price, t.quantity)).collect()
}

/// (price, visible, count) per level, best first.
fn side_depth(b: &BookWriter, side: Side) -> Vec<(Ticks, Lots, u64)> {
    let d = b.depth(usize::MAX);
    let v = if side == Buy { d.bids } else { d.asks };
    v.into_iter().map(|l| (l.price, l.quantity, l.order_count)).collect()
}

/// Everything observable, to check that a command changed nothing.
#[derive(Debug, PartialEq)]
struct Snap {
    seq: u64,
    hash: u64,
    len: usize,
    depth: (Vec<DepthLevel>, Vec<DepthLevel>),
}

fn snap(b: &BookWriter) -> Snap {
    let d = b.depth(usize::MAX);
    Snap { seq: b.sequence(), hash: b.state_hash(), len: b.len(), depth: (d.bids, d.asks) }
}

#[allow(clippy::too_many_arguments)]
fn upd(
    seq: u64,
    id: OrderId,
    side: Side,
    status: OrderStatus,
    filled: Lots,
    remaining: Lots,
    price: Option<Ticks>,
    ts: Timestamp,
) -> OrderUpdate {
    OrderUpdate {
        sequence: seq,
        order_id: id,
        side,
        status,
        filled_quantity: filled,
        remaining_quantity: remaining,
        price,
        reject_reason: None,
        timestamp: ts,
    }
}

fn trade(
    seq: u64,
    price: Ticks,
    qty: Lots,
    maker: OrderId,
    taker: OrderId,
    side: Side,
    ts: Timestamp,
) -> Trade {
    Trade {
        sequence: seq,
        price,
        quantity: qty,
        maker_order_id: maker,
        taker_order_id: taker,
        taker_side: side,
        timestamp: ts,
    }
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, EngineError>) -> bool {
    matches!(r, Err(EngineError::InvalidOrder(_)))
}

// ----- sequence numbers and event order -------------------------------------------------

#[test]
fn sequence_numbers_start_at_one_and_every_event_takes_the_next() {
    let mut b = book();
    assert_eq!(b.sequence(), 0);
    assert_eq!(rep(&submit(&mut b, gtc(1, Sell, 100, 5, 1))).sequence, 1);
    assert_eq!(rep(&submit(&mut b, gtc(2, Sell, 100, 5, 2))).sequence, 2);
    let r = submit(&mut b, gtc(3, Buy, 100, 7, 3));
    let seqs: Vec<u64> = r.events().iter().map(Event::sequence).collect();
    assert_eq!(seqs, vec![3, 4, 5, 6, 7]);
    assert_eq!(b.sequence(), 7);
    // a failed command uses no number
    assert!(b.cancel(42, 4).is_err());
    assert_eq!(b.sequence(), 7);
    assert_eq!(rep(&b.cancel(2, 5).unwrap()).sequence, 8);
}

#[test]
fn event_order_is_sweep_then_trade_and_maker_update_pairs_then_own_report() {
    let mut b = book();
    submit(&mut b, gtd(1, Sell, 99, 4, 1, 10)); // seq 1, due at 10
    submit(&mut b, gtc(2, Sell, 100, 3, 2)); // seq 2
    submit(&mut b, gtc(3, Sell, 101, 3, 3)); // seq 3
    let r = submit(&mut b, gtc(4, Buy, 101, 5, 10));
    let ev = r.events();
    assert_eq!(
        ev,
        vec![
            Event::Update(upd(4, 1, Sell, Expired, 0, 0, Some(99), 10)),
            Event::Trade(trade(5, 100, 3, 2, 4, Buy, 10)),
            Event::Update(upd(6, 2, Sell, Filled, 3, 0, Some(100), 10)),
            Event::Trade(trade(7, 101, 2, 3, 4, Buy, 10)),
            Event::Update(upd(8, 3, Sell, PartiallyFilled, 2, 1, Some(101), 10)),
            Event::Update(upd(9, 4, Buy, Filled, 5, 0, Some(101), 10)),
        ]
    );
    assert_eq!(r.updates.len(), 3, "expired + makers, the own report separately");
    assert_eq!(r.trades.len(), 2);
}

// ----- matching -------------------------------------------------------------------------

#[test]
fn price_time_priority_best_price_first_then_fifo_within_level() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 101, 5, 1));
    submit(&mut b, gtc(2, Sell, 100, 5, 2));
    submit(&mut b, gtc(3, Sell, 100, 5, 3));
    let r = submit(&mut b, gtc(4, Buy, 101, 12, 4));
    assert_eq!(
        r.trades,
        vec![trade(4, 100, 5, 2, 4, Buy, 4), trade(6, 100, 5, 3, 4, Buy, 4), trade(8, 101, 2, 1, 4, Buy, 4)]
    );
    assert_eq!(
        r.updates,
        vec![
            upd(5, 2, Sell, Filled, 5, 0, Some(100), 4),
            upd(7, 3, Sell, Filled, 5, 0, Some(100), 4),
            upd(9, 1, Sell, PartiallyFilled, 2, 3, Some(101), 4),
        ]
    );
    assert_eq!(r.report, Some(upd(10, 4, Buy, Filled, 12, 0, Some(101), 4)));
    assert_eq!(side_depth(&b, Sell), vec![(101, 3, 1)]);
    assert!(side_depth(&b, Buy).is_empty());

    // sells: highest bid first, FIFO inside
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 99, 2, 1));
    submit(&mut b, gtc(2, Buy, 100, 2, 2));
    submit(&mut b, gtc(3, Buy, 100, 2, 3));
    let r = submit(&mut b, gtc(4, Sell, 99, 5, 4));
    assert_eq!(fills(&r), vec![(2, 4, 100, 2), (3, 4, 100, 2), (1, 4, 99, 1)]);
}

#[test]
fn trade_prints_at_the_maker_price() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    let r = submit(&mut b, gtc(2, Buy, 105, 2, 2));
    assert_eq!(fills(&r), vec![(1, 2, 100, 2)]);
    assert_eq!(rep(&r).price, Some(105), "the report keeps the taker's limit");
    submit(&mut b, gtc(3, Buy, 103, 5, 3));
    let r = submit(&mut b, gtc(4, Sell, 90, 1, 4));
    assert_eq!(fills(&r), vec![(3, 4, 103, 1)]);
}

#[test]
fn limit_order_does_not_trade_through_its_limit() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 101, 5, 1));
    let r = submit(&mut b, gtc(2, Buy, 100, 5, 2));
    assert!(r.trades.is_empty());
    assert_eq!(rep(&r).status, New);
    assert_eq!(b.top_of_book(), (Some(100), Some(101)));
}

#[test]
fn market_ioc_takes_any_price_and_cancels_the_remainder() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Sell, 1_000, 3, 2));
    let r = submit(&mut b, NewOrder::market(3, Buy, 10, 3));
    assert_eq!(fills(&r), vec![(1, 3, 100, 5), (2, 3, 1_000, 3)]);
    assert_eq!(r.report, Some(upd(7, 3, Buy, Canceled, 8, 0, None, 3)));
    assert!(b.is_empty());
    // a market order into an empty book
    let r = submit(&mut b, NewOrder::market(4, Sell, 1, 4));
    assert_eq!(r.report, Some(upd(8, 4, Sell, Canceled, 0, 0, None, 4)));
    // exactly filled
    submit(&mut b, gtc(5, Buy, 50, 4, 5));
    let r = submit(&mut b, NewOrder::market(6, Sell, 4, 6));
    assert_eq!(rep(&r).status, Filled);
    assert_eq!(rep(&r).filled_quantity, 4);
}

#[test]
fn market_fok_fills_completely_or_trades_nothing() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Sell, 500, 5, 2));
    let before = snap(&b);
    let r = submit(&mut b, with_tif(NewOrder::market(3, Buy, 11, 3), TimeInForce::Fok));
    assert!(r.trades.is_empty() && r.updates.is_empty());
    assert_eq!(r.report, Some(upd(3, 3, Buy, Canceled, 0, 0, None, 3)));
    assert_eq!(
        side_depth(&b, Sell),
        before.depth.1.iter().map(|l| (l.price, l.quantity, l.order_count)).collect::<Vec<_>>()
    );
    let r = submit(&mut b, with_tif(NewOrder::market(4, Buy, 10, 4), TimeInForce::Fok));
    assert_eq!(fills(&r), vec![(1, 4, 100, 5), (2, 4, 500, 5)]);
    assert_eq!(rep(&r).status, Filled);
    assert!(b.is_empty());
}

#[test]
fn ioc_limit_remainder_is_cancelled_never_rests() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 4, 1));
    submit(&mut b, gtc(2, Sell, 101, 4, 2));
    let r = submit(&mut b, with_tif(gtc(3, Buy, 100, 10, 3), TimeInForce::Ioc));
    assert_eq!(fills(&r), vec![(1, 3, 100, 4)]);
    assert_eq!(r.report, Some(upd(5, 3, Buy, Canceled, 4, 0, Some(100), 3)));
    assert_eq!(side_depth(&b, Buy), vec![]);
    assert_eq!(side_depth(&b, Sell), vec![(101, 4, 1)]);
    assert!(!b.contains(3));
    // IOC that fills completely
    let r = submit(&mut b, with_tif(gtc(4, Buy, 101, 4, 4), TimeInForce::Ioc));
    assert_eq!(rep(&r).status, Filled);
}

#[test]
fn fok_counts_hidden_iceberg_quantity() {
    let mut b = book();
    submit(&mut b, iceberg(1, Sell, 100, 10, 2, 1));
    assert_eq!(b.depth_at(Sell, 100), 2, "only the slice is visible");
    // 11 > 10 open: killed, nothing happens but the report
    let before = snap(&b);
    let r = submit(&mut b, with_tif(gtc(2, Buy, 100, 11, 2), TimeInForce::Fok));
    assert_eq!(r.report, Some(upd(2, 2, Buy, Canceled, 0, 0, Some(100), 2)));
    assert!(r.trades.is_empty());
    assert_eq!(b.sequence(), before.seq + 1);
    assert_eq!(b.depth(usize::MAX).asks, before.depth.1);
    // 9 <= 10 open (visible 2): fills by re-reaching the re-queued slices
    let r = submit(&mut b, with_tif(gtc(3, Buy, 100, 9, 3), TimeInForce::Fok));
    assert_eq!(
        fills(&r),
        vec![(1, 3, 100, 2), (1, 3, 100, 2), (1, 3, 100, 2), (1, 3, 100, 2), (1, 3, 100, 1)]
    );
    assert_eq!(rep(&r).status, Filled);
    assert_eq!(b.order(1).unwrap().remaining_quantity, 1);
    assert_eq!(b.depth_at(Sell, 100), 1);
}

#[test]
fn fok_only_counts_levels_within_its_limit() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Sell, 101, 5, 2));
    let r = submit(&mut b, with_tif(gtc(3, Buy, 100, 6, 3), TimeInForce::Fok));
    assert_eq!(rep(&r).status, Canceled);
    assert!(r.trades.is_empty());
    let r = submit(&mut b, with_tif(gtc(4, Buy, 101, 6, 4), TimeInForce::Fok));
    assert_eq!(rep(&r).status, Filled);
    assert_eq!(fills(&r), vec![(1, 4, 100, 5), (2, 4, 101, 1)]);
    // sell side mirrors it
    submit(&mut b, gtc(5, Buy, 99, 3, 5));
    let r = submit(&mut b, with_tif(gtc(6, Sell, 100, 1, 6), TimeInForce::Fok));
    assert_eq!(rep(&r).status, Canceled);
}

#[test]
fn gtc_remainder_rests_with_partially_filled_report() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 3, 1));
    let r = submit(&mut b, gtc(2, Buy, 100, 10, 2));
    assert_eq!(r.report, Some(upd(4, 2, Buy, PartiallyFilled, 3, 7, Some(100), 2)));
    assert_eq!(side_depth(&b, Buy), vec![(100, 7, 1)]);
    let v = b.order(2).unwrap();
    assert_eq!((v.quantity, v.remaining_quantity, v.filled_quantity), (10, 7, 3));
}

// ----- post-only ------------------------------------------------------------------------

#[test]
fn post_only_that_would_cross_is_rejected_and_leaves_the_book_unchanged() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 101, 5, 1));
    submit(&mut b, gtc(2, Buy, 99, 5, 2));
    for (o, side) in [
        (post_only(3, Buy, 101, 5, 3), Buy),
        (post_only(3, Buy, 150, 5, 3), Buy),
        (post_only(3, Sell, 99, 5, 3), Sell),
    ] {
        let before = snap(&b);
        let r = submit(&mut b, o);
        assert!(r.trades.is_empty() && r.updates.is_empty());
        let mut want = upd(before.seq + 1, 3, side, Rejected, 0, 0, o.price, 3);
        want.reject_reason = Some(RejectReason::PostOnlyWouldCross);
        assert_eq!(r.report, Some(want));
        assert_eq!(RejectReason::PostOnlyWouldCross.as_str(), "post-only order would cross the book");
        assert_eq!(b.depth(usize::MAX), lft_engine::Depth { bids: before.depth.0, asks: before.depth.1 });
        assert_eq!(b.len(), before.len);
        assert!(!b.contains(3));
        assert_eq!(b.sequence(), before.seq + 1, "only the report's sequence number is used");
    }
    // a post-only that does not cross rests normally
    let r = submit(&mut b, post_only(4, Buy, 100, 5, 4));
    assert_eq!(rep(&r).status, New);
    assert!(b.order(4).unwrap().post_only);
}

#[test]
fn post_only_is_checked_after_the_expiry_sweep() {
    let mut b = book();
    submit(&mut b, gtd(1, Sell, 100, 5, 1, 10));
    let r = submit(&mut b, post_only(2, Buy, 100, 5, 10));
    assert_eq!(r.updates, vec![upd(2, 1, Sell, Expired, 0, 0, Some(100), 10)]);
    assert_eq!(rep(&r).status, New);
    assert_eq!(b.best_bid(), Some(100));
}

// ----- icebergs -------------------------------------------------------------------------

#[test]
fn iceberg_shows_only_its_slice_in_depth_and_depth_at() {
    let mut b = book();
    submit(&mut b, iceberg(1, Buy, 100, 50, 5, 1));
    submit(&mut b, gtc(2, Buy, 100, 3, 2));
    assert_eq!(side_depth(&b, Buy), vec![(100, 8, 2)]);
    assert_eq!(b.depth_at(Buy, 100), 8);
    assert_eq!(b.level(Buy, 100).unwrap().quantity, 8);
    let v = b.order(1).unwrap();
    assert_eq!((v.remaining_quantity, v.visible_quantity, v.display_quantity), (50, 5, Some(5)));
}

#[test]
fn iceberg_refills_at_the_back_of_its_level_and_a_taker_can_reach_it_again() {
    let mut b = book();
    submit(&mut b, iceberg(1, Sell, 100, 6, 2, 1));
    submit(&mut b, gtc(2, Sell, 100, 2, 2));
    // 3 lots: the 2-lot slice of #1, then 1 of #2 (the fresh slice of #1 queued behind #2)
    let r = submit(&mut b, gtc(3, Buy, 100, 3, 3));
    assert_eq!(fills(&r), vec![(1, 3, 100, 2), (2, 3, 100, 1)]);
    assert_eq!(
        r.updates,
        vec![
            upd(4, 1, Sell, PartiallyFilled, 2, 4, Some(100), 3),
            upd(6, 2, Sell, PartiallyFilled, 1, 1, Some(100), 3)
        ]
    );
    assert_eq!(side_depth(&b, Sell), vec![(100, 3, 2)]);
    // 5 lots: #2's last lot, then #1's slice, then #1's next slice again
    let r = submit(&mut b, gtc(4, Buy, 100, 5, 4));
    assert_eq!(fills(&r), vec![(2, 4, 100, 1), (1, 4, 100, 2), (1, 4, 100, 2)]);
    assert_eq!(r.updates.last().unwrap().status, Filled);
    assert_eq!(r.updates.last().unwrap().filled_quantity, 6);
    assert!(b.is_empty());
}

#[test]
fn iceberg_partial_slice_keeps_its_place() {
    let mut b = book();
    submit(&mut b, iceberg(1, Sell, 100, 10, 4, 1));
    submit(&mut b, gtc(2, Sell, 100, 5, 2));
    let r = submit(&mut b, gtc(3, Buy, 100, 1, 3));
    assert_eq!(fills(&r), vec![(1, 3, 100, 1)]);
    let r = submit(&mut b, gtc(4, Buy, 100, 3, 4));
    assert_eq!(fills(&r), vec![(1, 4, 100, 3)], "still at the front with 3 visible");
    assert_eq!(b.order(1).unwrap().visible_quantity, 4, "fresh slice");
    let r = submit(&mut b, gtc(5, Buy, 100, 1, 5));
    assert_eq!(fills(&r), vec![(2, 5, 100, 1)], "the fresh slice went to the back");
}

#[test]
fn iceberg_last_slice_is_the_smaller_remainder() {
    let mut b = book();
    submit(&mut b, iceberg(1, Sell, 100, 5, 2, 1));
    submit(&mut b, gtc(2, Buy, 100, 4, 2));
    let v = b.order(1).unwrap();
    assert_eq!((v.remaining_quantity, v.visible_quantity), (1, 1));
    assert_eq!(b.depth_at(Sell, 100), 1);
}

// ----- expiry ---------------------------------------------------------------------------

#[test]
fn gtd_order_never_trades_at_or_after_its_expire_time_even_without_a_sweep() {
    let mut b = book();
    submit(&mut b, gtd(1, Sell, 100, 5, 1, 50));
    // still tradable just before
    let r = submit(&mut b, with_tif(gtc(2, Buy, 100, 1, 49), TimeInForce::Ioc));
    assert_eq!(fills(&r), vec![(1, 2, 100, 1)]);
    // at expire_time: the command sweeps it first, then finds nothing
    let r = submit(&mut b, NewOrder::market(3, Buy, 5, 50));
    assert!(r.trades.is_empty());
    assert_eq!(r.updates, vec![upd(5, 1, Sell, Expired, 1, 0, Some(100), 50)]);
    assert_eq!(r.report, Some(upd(6, 3, Buy, Canceled, 0, 0, None, 50)));
    assert!(b.is_empty());
}

#[test]
fn due_gtd_order_is_not_resting_for_cancel_or_modify_but_its_id_is_free() {
    let mut b = book();
    submit(&mut b, gtd(1, Sell, 100, 5, 1, 50));
    let before = snap(&b);
    assert_eq!(b.cancel(1, 50).unwrap_err(), EngineError::OrderNotFound(1));
    assert_eq!(
        b.modify(&Modify { id: 1, quantity: Some(2), price: None, timestamp: 60 }).unwrap_err(),
        EngineError::OrderNotFound(1)
    );
    assert_eq!(snap(&b), before, "a failed command changes nothing, not even a sweep");
    // the id can be reused at/after the expire time: the sweep removes the old order first
    let r = submit(&mut b, gtc(1, Buy, 90, 2, 50));
    assert_eq!(r.updates, vec![upd(2, 1, Sell, Expired, 0, 0, Some(100), 50)]);
    assert_eq!(rep(&r).status, New);
    assert_eq!(side_depth(&b, Sell), vec![]);
    assert_eq!(b.order(1).unwrap().side, Buy);
}

#[test]
fn expire_sweeps_due_gtd_orders_by_expire_time_then_acceptance() {
    let mut b = book();
    submit(&mut b, gtd(1, Sell, 105, 1, 1, 30)); // seq 1
    submit(&mut b, gtd(2, Buy, 95, 1, 2, 20)); // seq 2
    submit(&mut b, gtd(3, Sell, 104, 1, 3, 20)); // seq 3
    submit(&mut b, gtd(4, Buy, 96, 1, 4, 40)); // seq 4
    submit(&mut b, gtc(5, Buy, 97, 1, 5)); // seq 5
    assert_eq!(b.expire(19).unwrap(), vec![]);
    assert_eq!(b.sequence(), 5, "an empty sweep uses no sequence number");
    assert_eq!(
        b.expire(30).unwrap(),
        vec![
            upd(6, 2, Buy, Expired, 0, 0, Some(95), 30),
            upd(7, 3, Sell, Expired, 0, 0, Some(104), 30),
            upd(8, 1, Sell, Expired, 0, 0, Some(105), 30),
        ]
    );
    assert_eq!(b.len(), 2);
    let r = b.apply(&Command::Expire { now: 1_000 }).unwrap();
    assert_eq!(r.report, None);
    assert!(r.trades.is_empty());
    assert_eq!(r.updates, vec![upd(9, 4, Buy, Expired, 0, 0, Some(96), 1_000)]);
    assert_eq!(side_depth(&b, Buy), vec![(97, 1, 1)]);
}

#[test]
fn equal_expire_times_expire_in_acceptance_order_even_after_modify() {
    let mut b = book();
    submit(&mut b, gtd(1, Buy, 95, 1, 1, 20)); // seq 1
    submit(&mut b, gtd(2, Buy, 96, 1, 2, 20)); // seq 2
    modify(&mut b, 1, None, Some(94), 3); // seq 3: acceptance stays 1
    let ids: Vec<OrderId> = b.expire(20).unwrap().iter().map(|u| u.order_id).collect();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn end_of_day_sweeps_gtd_then_expires_every_day_order_in_acceptance_order() {
    let mut b = book();
    submit(&mut b, day(1, Buy, 95, 1, 1)); // seq 1
    submit(&mut b, gtd(2, Sell, 105, 1, 2, 100)); // seq 2
    submit(&mut b, gtc(3, Buy, 96, 1, 3)); // seq 3
    submit(&mut b, day(4, Sell, 104, 1, 4)); // seq 4
    submit(&mut b, gtd(5, Sell, 106, 1, 5, 500)); // seq 5, not due
    submit(&mut b, day(6, Buy, 94, 1, 6)); // seq 6
    modify(&mut b, 1, Some(3), None, 7); // seq 7: loses priority, keeps acceptance
    let ups = b.end_of_day(200).unwrap();
    assert_eq!(
        ups,
        vec![
            upd(8, 2, Sell, Expired, 0, 0, Some(105), 200),
            upd(9, 1, Buy, Expired, 0, 0, Some(95), 200),
            upd(10, 4, Sell, Expired, 0, 0, Some(104), 200),
            upd(11, 6, Buy, Expired, 0, 0, Some(94), 200),
        ]
    );
    assert_eq!(side_depth(&b, Buy), vec![(96, 1, 1)]);
    assert_eq!(side_depth(&b, Sell), vec![(106, 1, 1)]);
    let r = b.apply(&Command::EndOfDay { now: 300 }).unwrap();
    assert_eq!(r, ExecutionReport::default());
}

#[test]
fn expired_order_reports_its_cumulative_fill() {
    let mut b = book();
    submit(&mut b, day(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Buy, 100, 2, 2));
    let ups = b.end_of_day(3).unwrap();
    assert_eq!(ups, vec![upd(5, 1, Sell, Expired, 2, 0, Some(100), 3)]);
}

// ----- cancel ---------------------------------------------------------------------------

#[test]
fn cancel_removes_a_resting_order_and_reports_its_cumulative_fill() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Buy, 100, 2, 2));
    let r = b.cancel(1, 3).unwrap();
    assert_eq!(
        r,
        ExecutionReport { report: Some(upd(5, 1, Sell, Canceled, 2, 0, Some(100), 3)), ..Default::default() }
    );
    assert!(b.is_empty());
    assert_eq!(b.best_ask(), None);
    assert_eq!(b.order(1), None);
}

#[test]
fn cancel_of_filled_cancelled_expired_or_unknown_order_is_order_not_found_and_changes_nothing() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Buy, 100, 5, 2)); // fills 1 completely
    submit(&mut b, gtc(3, Sell, 110, 5, 3));
    b.cancel(3, 4).unwrap();
    submit(&mut b, gtd(4, Sell, 120, 5, 5, 6));
    b.expire(6).unwrap();
    submit(&mut b, gtc(9, Buy, 90, 5, 7));
    let before = snap(&b);
    for id in [1u128, 2, 3, 4, 77, u128::MAX] {
        assert_eq!(b.cancel(id, 8).unwrap_err(), EngineError::OrderNotFound(id));
        assert_eq!(snap(&b), before);
    }
    assert!(b.cancel(9, 8).is_ok());
}

#[test]
fn finished_order_id_can_be_reused() {
    let mut b = book();
    submit(&mut b, gtc(7, Sell, 100, 5, 1));
    b.cancel(7, 2).unwrap();
    let r = submit(&mut b, gtc(7, Buy, 90, 3, 3));
    assert_eq!(rep(&r).status, New);
    submit(&mut b, gtc(8, Sell, 90, 3, 4)); // fills 7
    assert_eq!(
        rep(&submit(&mut b, NewOrder::market(7, Sell, 1, 5))).status,
        Canceled,
        "IOC with a finished id"
    );
    assert_eq!(rep(&submit(&mut b, gtc(7, Sell, 99, 1, 6))).status, New);
    assert_eq!(b.order(7).unwrap().side, Sell);
}

#[test]
fn duplicate_order_id_while_resting_is_rejected_for_every_order_kind() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Buy, 90, 5, 2));
    let before = snap(&b);
    for o in [
        gtc(1, Sell, 100, 5, 3),
        gtc(1, Buy, 100, 5, 3),
        with_tif(gtc(1, Buy, 100, 5, 3), TimeInForce::Ioc),
        with_tif(gtc(1, Buy, 100, 5, 3), TimeInForce::Fok),
        NewOrder::market(1, Buy, 5, 3),
        post_only(2, Buy, 80, 5, 3),
    ] {
        let e = b.submit(&o).unwrap_err();
        assert_eq!(e, EngineError::DuplicateOrderId(o.id));
        assert_eq!(snap(&b), before);
    }
}

// ----- modify ---------------------------------------------------------------------------

/// Order ids in the queue at `price`, front first, read by trading the level away on a copy
/// of the command stream is impossible; instead we probe with 1-lot IOC takers.
fn first_in_queue(b: &mut BookWriter, side: Side, price: Ticks, probe_id: OrderId, ts: Timestamp) -> OrderId {
    let taker = with_tif(gtc(probe_id, side.opposite(), price, 1, ts), TimeInForce::Ioc);
    let r = submit(b, taker);
    r.trades[0].maker_order_id
}

#[test]
fn modify_same_price_smaller_quantity_keeps_priority() {
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, 10, 1));
    submit(&mut b, gtc(2, Buy, 100, 10, 2));
    let r = modify(&mut b, 1, Some(4), None, 3);
    assert_eq!(
        r,
        ExecutionReport { report: Some(upd(3, 1, Buy, New, 0, 4, Some(100), 3)), ..Default::default() }
    );
    assert_eq!(side_depth(&b, Buy), vec![(100, 14, 2)]);
    assert_eq!(first_in_queue(&mut b, Buy, 100, 50, 4), 1);
    // the partially filled order keeps priority too, and the report is PARTIALLY_FILLED
    let r = modify(&mut b, 1, Some(2), Some(100), 5);
    assert_eq!(rep(&r), upd(7, 1, Buy, PartiallyFilled, 1, 2, Some(100), 5));
    assert_eq!(first_in_queue(&mut b, Buy, 100, 51, 6), 1);
}

#[test]
fn modify_quantity_is_the_new_open_quantity_and_fill_stays_cumulative() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 10, 1));
    submit(&mut b, gtc(2, Buy, 100, 3, 2)); // 1 has 7 open, 3 filled
    let r = modify(&mut b, 1, Some(5), None, 3);
    assert_eq!(rep(&r), upd(5, 1, Sell, PartiallyFilled, 3, 5, Some(100), 3));
    let v = b.order(1).unwrap();
    assert_eq!((v.quantity, v.remaining_quantity, v.filled_quantity), (10, 5, 3));
    let r = modify(&mut b, 1, Some(9), None, 4);
    assert_eq!(rep(&r), upd(6, 1, Sell, PartiallyFilled, 3, 9, Some(100), 4));
    assert_eq!(b.depth_at(Sell, 100), 9);
}

#[test]
fn modify_without_change_reports_current_state_and_changes_nothing_else() {
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, 10, 1));
    submit(&mut b, gtc(2, Buy, 100, 10, 2));
    let h = b.state_hash();
    let r = modify(&mut b, 1, Some(10), Some(100), 3);
    assert_eq!(
        r,
        ExecutionReport { report: Some(upd(3, 1, Buy, New, 0, 10, Some(100), 3)), ..Default::default() }
    );
    let r = modify(&mut b, 1, None, Some(100), 4);
    assert_eq!(rep(&r).remaining_quantity, 10);
    assert_ne!(b.state_hash(), h, "the sequence moved on");
    assert_eq!(first_in_queue(&mut b, Buy, 100, 50, 5), 1);
}

#[test]
fn modify_larger_quantity_loses_priority() {
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, 10, 1));
    submit(&mut b, gtc(2, Buy, 100, 10, 2));
    let r = modify(&mut b, 1, Some(11), None, 3);
    assert_eq!(rep(&r), upd(3, 1, Buy, New, 0, 11, Some(100), 3));
    assert_eq!(side_depth(&b, Buy), vec![(100, 21, 2)]);
    assert_eq!(first_in_queue(&mut b, Buy, 100, 50, 4), 2);
}

#[test]
fn modify_price_change_loses_priority_and_moves_level() {
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, 10, 1));
    submit(&mut b, gtc(2, Buy, 101, 10, 2));
    let r = modify(&mut b, 1, None, Some(101), 3);
    assert_eq!(rep(&r), upd(3, 1, Buy, New, 0, 10, Some(101), 3));
    assert_eq!(side_depth(&b, Buy), vec![(101, 20, 2)]);
    assert_eq!(first_in_queue(&mut b, Buy, 101, 50, 4), 2);
    // price there and back: still at the back
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, 10, 1));
    submit(&mut b, gtc(2, Buy, 100, 10, 2));
    modify(&mut b, 1, None, Some(99), 3);
    modify(&mut b, 1, None, Some(100), 4);
    assert_eq!(first_in_queue(&mut b, Buy, 100, 50, 5), 2);
}

#[test]
fn crossing_modify_trades_as_taker_at_maker_prices_and_rests_the_remainder() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 3, 1)); // seq 1
    submit(&mut b, gtc(2, Sell, 101, 3, 2)); // seq 2
    submit(&mut b, gtc(3, Sell, 103, 3, 3)); // seq 3
    submit(&mut b, gtc(4, Buy, 99, 2, 4)); // seq 4
    submit(&mut b, gtc(5, Sell, 99, 1, 5)); // seq 5-7: #4 filled 1, open 1
    let r = modify(&mut b, 4, Some(8), Some(102), 6);
    assert_eq!(
        r.trades,
        vec![trade(8, 100, 3, 1, 4, Buy, 6), trade(10, 101, 3, 2, 4, Buy, 6)],
        "trades name the modified order as taker, at the makers' prices"
    );
    assert_eq!(r.report, Some(upd(12, 4, Buy, PartiallyFilled, 7, 2, Some(102), 6)));
    assert_eq!(side_depth(&b, Buy), vec![(102, 2, 1)]);
    assert_eq!(side_depth(&b, Sell), vec![(103, 3, 1)]);
    // fully filled by a crossing modify
    let r = modify(&mut b, 4, None, Some(103), 7);
    assert_eq!(fills(&r), vec![(3, 4, 103, 2)]);
    assert_eq!(r.report, Some(upd(15, 4, Buy, Filled, 9, 0, Some(103), 7)));
    assert!(!b.contains(4));
    assert_eq!(side_depth(&b, Sell), vec![(103, 1, 1)]);
}

#[test]
fn modify_of_iceberg_reduces_slice_in_place_or_starts_a_fresh_slice() {
    let mut b = book();
    submit(&mut b, iceberg(1, Sell, 100, 20, 5, 1));
    submit(&mut b, gtc(2, Sell, 100, 1, 2));
    submit(&mut b, gtc(3, Buy, 100, 2, 3)); // slice 3 left, open 18
    modify(&mut b, 1, Some(2), None, 4); // keeps priority; slice min(3, 2)
    let v = b.order(1).unwrap();
    assert_eq!((v.remaining_quantity, v.visible_quantity), (2, 2));
    assert_eq!(b.depth_at(Sell, 100), 3);
    assert_eq!(first_in_queue(&mut b, Sell, 100, 50, 5), 1);
    // same price, larger: fresh slice of min(display, open) at the back
    modify(&mut b, 1, Some(12), None, 6);
    let v = b.order(1).unwrap();
    assert_eq!((v.remaining_quantity, v.visible_quantity), (12, 5));
    assert_eq!(first_in_queue(&mut b, Sell, 100, 51, 7), 2);
    // reprice: fresh slice
    submit(&mut b, gtc(4, Buy, 100, 1, 8)); // slice 4 left
    modify(&mut b, 1, None, Some(101), 9);
    let v = b.order(1).unwrap();
    assert_eq!((v.price, v.remaining_quantity, v.visible_quantity), (101, 11, 5));
    assert_eq!(b.depth_at(Sell, 101), 5);
}

#[test]
fn post_only_modify_that_would_cross_is_rejected_and_the_order_stays_as_it_was() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 102, 5, 1));
    submit(&mut b, post_only(2, Buy, 100, 6, 2));
    submit(&mut b, gtc(3, Buy, 100, 6, 3));
    submit(&mut b, gtc(4, Sell, 100, 1, 4)); // 2 filled 1, open 5
    let view = b.order(2).unwrap();
    let depth = b.depth(usize::MAX);
    let seq = b.sequence();
    let r = modify(&mut b, 2, Some(3), Some(102), 5);
    let mut want = upd(seq + 1, 2, Buy, Rejected, 1, 5, Some(100), 5);
    want.reject_reason = Some(RejectReason::PostOnlyWouldCross);
    assert_eq!(r, ExecutionReport { report: Some(want), ..Default::default() });
    assert_eq!(b.order(2), Some(view));
    assert_eq!(b.depth(usize::MAX), depth);
    assert_eq!(first_in_queue(&mut b, Buy, 100, 50, 6), 2, "priority kept");
    // a post-only reprice that does not cross is fine
    let r = modify(&mut b, 2, None, Some(101), 7);
    assert_eq!(rep(&r).status, PartiallyFilled);
    assert_eq!(b.best_bid(), Some(101));
}

#[test]
fn modify_of_unknown_filled_or_cancelled_order_is_order_not_found() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    submit(&mut b, gtc(2, Buy, 100, 5, 2));
    submit(&mut b, gtc(3, Buy, 90, 5, 3));
    b.cancel(3, 4).unwrap();
    let before = snap(&b);
    for id in [1u128, 2, 3, 99] {
        let e = b.modify(&Modify { id, quantity: Some(1), price: None, timestamp: 5 }).unwrap_err();
        assert_eq!(e, EngineError::OrderNotFound(id));
        assert_eq!(snap(&b), before);
    }
}

#[test]
fn modify_keeps_time_in_force_and_options() {
    let mut b = book();
    submit(&mut b, gtd(1, Buy, 100, 5, 1, 100));
    modify(&mut b, 1, Some(8), Some(99), 2);
    let v = b.order(1).unwrap();
    assert_eq!(
        (v.time_in_force, v.expire_time, v.price, v.remaining_quantity),
        (TimeInForce::Gtd, Some(100), 99, 8)
    );
    assert_eq!(b.expire(100).unwrap().len(), 1);
}

#[test]
fn modify_invalid_requests_are_invalid_order_and_change_nothing() {
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, 5, 1));
    let before = snap(&b);
    for (q, p) in [
        (None, None),
        (Some(0), None),
        (Some(-1), None),
        (None, Some(0)),
        (None, Some(-5)),
        (Some(3), Some(0)),
        (Some(0), Some(100)),
    ] {
        let r = b.modify(&Modify { id: 1, quantity: q, price: p, timestamp: 2 });
        assert!(is_invalid(r), "modify {q:?} {p:?}");
        assert_eq!(snap(&b), before);
    }
}

// ----- statuses -------------------------------------------------------------------------

#[test]
fn every_status_is_reported_and_finality_is_right() {
    let mut b = book();
    let mut seen = vec![];
    seen.push(rep(&submit(&mut b, gtc(1, Sell, 100, 5, 1))).status); // NEW
    let r = submit(&mut b, gtc(2, Buy, 100, 2, 2));
    seen.push(r.updates[0].status); // PARTIALLY_FILLED (maker)
    seen.push(rep(&r).status); // FILLED
    seen.push(rep(&b.cancel(1, 3).unwrap()).status); // CANCELED
    submit(&mut b, gtc(3, Sell, 100, 5, 4));
    seen.push(rep(&submit(&mut b, post_only(4, Buy, 100, 1, 5))).status); // REJECTED
    submit(&mut b, gtd(5, Buy, 90, 1, 6, 7));
    seen.push(b.expire(7).unwrap()[0].status); // EXPIRED
    assert_eq!(seen, vec![New, PartiallyFilled, Filled, Canceled, Rejected, Expired]);
    for s in seen {
        assert_eq!(s.is_final(), !matches!(s, New | PartiallyFilled));
    }
}

// ----- level statistics -----------------------------------------------------------------

fn stats(b: &BookWriter, side: Side, price: Ticks) -> LevelSnapshot {
    b.level(side, price).unwrap_or_else(|| panic!("no level {side:?} {price}"))
}

#[test]
fn level_statistics_count_adds_fills_cancels_expiries_and_queue_wait() {
    let mut b = book();
    assert_eq!(b.level(Buy, 100), None);
    submit(&mut b, gtc(1, Buy, 100, 5, 10));
    let s = stats(&b, Buy, 100);
    assert_eq!(
        s,
        LevelSnapshot {
            side: Buy,
            price: 100,
            quantity: 5,
            order_count: 1,
            orders_added: 1,
            orders_cancelled: 0,
            orders_expired: 0,
            orders_filled: 0,
            quantity_executed: 0,
            trade_count: 0,
            queue_wait_ns: 0,
            first_activity: Some(10),
            last_activity: Some(10),
        }
    );
    submit(&mut b, gtc(2, Buy, 100, 3, 20));
    submit(&mut b, gtd(3, Buy, 100, 4, 30, 40));
    submit(&mut b, day(4, Buy, 100, 2, 35));
    // the sweep expires #3, then the sell fills #1 (waited 40 ns) and 1 lot of #2
    submit(&mut b, with_tif(gtc(5, Sell, 100, 6, 50), TimeInForce::Ioc));
    let s = stats(&b, Buy, 100);
    assert_eq!((s.quantity, s.order_count), (4, 2));
    assert_eq!((s.orders_added, s.orders_expired, s.orders_filled), (4, 1, 1));
    assert_eq!((s.quantity_executed, s.trade_count, s.queue_wait_ns), (6, 2, 40));
    assert_eq!((s.first_activity, s.last_activity), (Some(10), Some(50)));
    b.cancel(2, 60).unwrap();
    assert_eq!(stats(&b, Buy, 100).orders_cancelled, 1);
    b.end_of_day(70).unwrap();
    // the level is empty and off the ladder, its statistics still readable
    let s = stats(&b, Buy, 100);
    assert_eq!(
        s,
        LevelSnapshot {
            side: Buy,
            price: 100,
            quantity: 0,
            order_count: 0,
            orders_added: 4,
            orders_cancelled: 1,
            orders_expired: 2,
            orders_filled: 1,
            quantity_executed: 6,
            trade_count: 2,
            queue_wait_ns: 40,
            first_activity: Some(10),
            last_activity: Some(70),
        }
    );
    assert_eq!(b.best_bid(), None);
    assert!(b.depth(10).bids.is_empty());
    assert_eq!(b.depth_at(Buy, 100), 0);
    assert_eq!(b.level(Sell, 100), None, "the taker never rested: no ask level");
    // the level comes back with its history
    submit(&mut b, gtc(6, Buy, 100, 1, 80));
    let s = stats(&b, Buy, 100);
    assert_eq!(
        (s.orders_added, s.order_count, s.quantity, s.first_activity, s.last_activity),
        (5, 1, 1, Some(10), Some(80))
    );
}

#[test]
fn level_statistics_orders_added_counts_moves_by_modify_but_not_requeues() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 101, 5, 1));
    modify(&mut b, 1, None, Some(102), 2);
    modify(&mut b, 1, Some(9), None, 3); // same price, larger: re-queued, not "added"
    modify(&mut b, 1, Some(4), None, 4); // reduced in place
    let s101 = stats(&b, Sell, 101);
    assert_eq!(
        (s101.orders_added, s101.order_count, s101.orders_cancelled, s101.last_activity),
        (1, 0, 0, Some(2))
    );
    let s102 = stats(&b, Sell, 102);
    assert_eq!(
        (s102.orders_added, s102.order_count, s102.quantity, s102.first_activity, s102.last_activity),
        (1, 1, 4, Some(2), Some(4))
    );
}

#[test]
fn level_statistics_queue_wait_runs_from_when_the_order_last_joined_the_queue() {
    let mut b = book();
    submit(&mut b, iceberg(1, Sell, 100, 4, 2, 100));
    submit(&mut b, gtc(2, Buy, 100, 2, 110)); // slice consumed at 110: re-joins the queue
    submit(&mut b, gtc(3, Buy, 100, 2, 125)); // filled at 125
    let s = stats(&b, Sell, 100);
    assert_eq!((s.orders_filled, s.queue_wait_ns, s.trade_count, s.quantity_executed), (1, 15, 2, 4));
    // a modify that loses priority restarts the wait
    submit(&mut b, gtc(4, Sell, 100, 2, 200));
    modify(&mut b, 4, Some(3), None, 230);
    submit(&mut b, gtc(5, Buy, 100, 3, 240));
    assert_eq!(stats(&b, Sell, 100).queue_wait_ns, 15 + 10);
    // a taker fully filled by its own modify does not count at its new price
    submit(&mut b, gtc(6, Buy, 90, 1, 250));
    submit(&mut b, gtc(7, Sell, 91, 1, 251));
    modify(&mut b, 6, None, Some(91), 260);
    assert_eq!(stats(&b, Buy, 90).orders_filled, 0);
    assert_eq!(b.level(Buy, 91), None);
    assert_eq!((stats(&b, Sell, 91).orders_filled, stats(&b, Sell, 91).queue_wait_ns), (1, 9));
}

#[test]
fn level_statistics_of_many_emptied_levels_stay_readable_up_to_the_retention_bound() {
    let cfg =
        BookConfig { retain_empty_levels: 3, ..BookConfig::new("RET", Decimal::ONE, Decimal::ONE).unwrap() };
    let mut b = BookWriter::with_config(cfg);
    for (i, p) in [10i64, 20, 30, 40].into_iter().enumerate() {
        submit(&mut b, gtc(i as u128 + 1, Buy, p, 1, i as i64));
        b.cancel(i as u128 + 1, i as i64).unwrap();
    }
    assert_eq!(b.level(Buy, 10), None, "the oldest emptied level is evicted");
    for p in [20, 30, 40] {
        let s = stats(&b, Buy, p);
        assert_eq!((s.quantity, s.order_count, s.orders_added, s.orders_cancelled), (0, 0, 1, 1));
    }
}

/// CONTRACT CHECK (fails against the current engine, see the report): the contract says
/// "the book keeps the most recent 10,000 empty levels by default". Here only two levels are
/// ever empty, far below the bound, yet the engine counts each *emptying event* against the
/// bound (`Writer::retained` gets one entry per emptying, stale ones included), so a single
/// busy level that empties 10,000 times evicts the statistics of every other empty level.
#[test]
// 20,000 commands against the default 10,000-level bound (the count is the point, so it
// cannot shrink): over 20 minutes under Miri. The same emptying/retention code runs under
// Miri in `level_statistics_of_many_emptied_levels_stay_readable_up_to_the_retention_bound`.
#[cfg_attr(miri, ignore = "20,000 commands take over 20 minutes under Miri")]
fn retention_bound_counts_empty_levels_not_emptying_events() {
    let mut b = book(); // default retention: 10,000
    submit(&mut b, gtc(1, Buy, 50, 1, 1));
    b.cancel(1, 2).unwrap(); // level 50 is empty: the only empty level
    for i in 0..10_000u128 {
        submit(&mut b, gtc(10 + i, Buy, 60, 1, 3));
        b.cancel(10 + i, 4).unwrap(); // level 60 empties again: still just two empty levels
    }
    assert!(b.level(Buy, 60).is_some());
    assert!(
        b.level(Buy, 50).is_some(),
        "statistics of level 50 were evicted although only 2 levels are empty (bound 10,000)"
    );
}

// ----- validation -----------------------------------------------------------------------

#[test]
fn every_invalid_new_order_is_invalid_order_and_changes_nothing() {
    use TimeInForce::*;
    let mut b = book();
    submit(&mut b, gtc(100, Sell, 100, 5, 1));
    let before = snap(&b);
    let l = gtc(1, Buy, 100, 5, 10);
    let m = NewOrder::market(1, Buy, 5, 10);
    let cases: Vec<(&str, NewOrder)> = vec![
        ("zero quantity", NewOrder { quantity: 0, ..l }),
        ("negative quantity", NewOrder { quantity: -3, ..l }),
        ("market zero quantity", NewOrder { quantity: 0, ..m }),
        ("limit without price", NewOrder { price: None, ..l }),
        ("limit price zero", NewOrder { price: Some(0), ..l }),
        ("limit price negative", NewOrder { price: Some(-1), ..l }),
        ("limit price i64::MIN", NewOrder { price: Some(i64::MIN), ..l }),
        ("market with price", NewOrder { price: Some(100), ..m }),
        ("market GTC", m.with_tif(Gtc)),
        ("market DAY", m.with_tif(Day)),
        ("market GTD", NewOrder { time_in_force: Gtd, expire_time: Some(20), ..m }),
        ("GTD without expire_time", l.with_tif(Gtd)),
        ("GTD expire at timestamp", NewOrder { time_in_force: Gtd, expire_time: Some(10), ..l }),
        ("GTD expire before timestamp", NewOrder { time_in_force: Gtd, expire_time: Some(9), ..l }),
        ("expire_time on GTC", NewOrder { expire_time: Some(20), ..l }),
        ("expire_time on IOC", NewOrder { expire_time: Some(20), ..l.with_tif(Ioc) }),
        ("expire_time on FOK", NewOrder { expire_time: Some(20), ..l.with_tif(Fok) }),
        ("expire_time on DAY", NewOrder { expire_time: Some(20), ..l.with_tif(Day) }),
        ("expire_time on market", NewOrder { expire_time: Some(20), ..m }),
        ("post-only market", NewOrder { post_only: true, ..m }),
        ("post-only IOC", NewOrder { post_only: true, ..l.with_tif(Ioc) }),
        ("post-only FOK", NewOrder { post_only: true, ..l.with_tif(Fok) }),
        ("iceberg market", NewOrder { display_quantity: Some(1), ..m }),
        ("iceberg IOC", NewOrder { display_quantity: Some(1), ..l.with_tif(Ioc) }),
        ("iceberg FOK", NewOrder { display_quantity: Some(1), ..l.with_tif(Fok) }),
        ("iceberg display zero", NewOrder { display_quantity: Some(0), ..l }),
        ("iceberg display negative", NewOrder { display_quantity: Some(-1), ..l }),
        ("iceberg display > quantity", NewOrder { display_quantity: Some(6), ..l }),
    ];
    for (what, o) in cases {
        assert!(is_invalid(check_new_order(&o)), "check_new_order accepted: {what}");
        assert!(is_invalid(b.submit(&o)), "submit accepted: {what}");
        // even with a duplicate id the stateless error comes first
        assert!(is_invalid(b.submit(&NewOrder { id: 100, ..o })), "duplicate id: {what}");
        assert_eq!(snap(&b), before, "{what} changed the book");
    }
}

#[test]
fn boundary_new_orders_are_valid() {
    use TimeInForce::*;
    let l = gtc(1, Buy, 1, 1, 10);
    for o in [
        l,
        NewOrder { time_in_force: Gtd, expire_time: Some(11), ..l },
        NewOrder { display_quantity: Some(1), ..l },
        NewOrder { display_quantity: Some(5), quantity: 5, ..l },
        NewOrder { post_only: true, display_quantity: Some(1), quantity: 3, ..l.with_tif(Day) },
        NewOrder { post_only: true, time_in_force: Gtd, expire_time: Some(11), ..l },
        NewOrder::market(1, Sell, 1, 10).with_tif(Fok),
        l.with_tif(Ioc),
        l.with_tif(Fok),
    ] {
        assert_eq!(check_new_order(&o), Ok(()), "{o:?}");
        assert!(book().submit(&o).is_ok(), "{o:?}");
    }
}

// ----- 64-bit extremes ------------------------------------------------------------------

#[test]
fn level_total_overflow_with_i64_max_quantities_is_invalid_order_and_changes_nothing() {
    let mut b = book();
    submit(&mut b, gtc(1, Buy, 100, i64::MAX, 1));
    assert_eq!(side_depth(&b, Buy), vec![(100, i64::MAX, 1)]);
    let before = snap(&b);
    assert!(is_invalid(b.submit(&gtc(2, Buy, 100, 1, 2))));
    assert!(is_invalid(b.submit(&day(2, Buy, 100, 1, 2))));
    assert!(is_invalid(b.submit(&gtd(2, Buy, 100, 1, 2, 9))));
    assert_eq!(snap(&b), before);
    // other levels and non-resting orders are fine
    submit(&mut b, gtc(3, Buy, 99, i64::MAX, 3));
    assert_eq!(
        rep(&submit(&mut b, with_tif(gtc(4, Buy, 100, i64::MAX, 4), TimeInForce::Ioc))).status,
        Canceled
    );
    // modify: moving or growing into a full level overflows
    let before = snap(&b);
    assert!(is_invalid(b.modify(&Modify { id: 3, quantity: None, price: Some(100), timestamp: 5 })));
    assert_eq!(snap(&b), before);
    // same quantity at the same price is fine (the order's own quantity is replaced)
    assert_eq!(rep(&modify(&mut b, 1, Some(i64::MAX), Some(100), 6)).remaining_quantity, i64::MAX);
    modify(&mut b, 1, Some(i64::MAX - 10), None, 7);
    submit(&mut b, gtc(5, Buy, 100, 10, 8));
    assert_eq!(side_depth(&b, Buy), vec![(100, i64::MAX, 2), (99, i64::MAX, 1)]);
    // FOK over levels whose sum exceeds i64::MAX
    let r = submit(&mut b, with_tif(NewOrder::market(6, Sell, i64::MAX, 9), TimeInForce::Fok));
    assert_eq!(rep(&r).status, Filled);
    assert_eq!(fills(&r), vec![(1, 6, 100, i64::MAX - 10), (5, 6, 100, 10)]);
    assert_eq!(side_depth(&b, Buy), vec![(99, i64::MAX, 1)]);
    let r = submit(&mut b, NewOrder::market(7, Sell, i64::MAX, 10));
    assert_eq!(rep(&r).status, Filled);
    assert!(b.is_empty());
    let s = stats(&b, Buy, 99);
    assert_eq!(s.quantity_executed, i64::MAX);
}

#[test]
fn an_upward_modify_that_would_overflow_the_orders_lifetime_total_is_refused_and_changes_nothing() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 10, 1));
    submit(&mut b, with_tif(gtc(2, Buy, 100, 1, 2), TimeInForce::Ioc)); // order 1: filled 1, open 9
    let before = snap(&b);
    // filled 1 + open i64::MAX does not fit: the next fills would wrap the filled count
    assert!(is_invalid(b.modify(&Modify { id: 1, quantity: Some(i64::MAX), price: None, timestamp: 3 })));
    assert!(is_invalid(b.modify(&Modify {
        id: 1,
        quantity: Some(i64::MAX),
        price: Some(101),
        timestamp: 3
    })));
    assert_eq!(snap(&b), before);
    // the largest quantity that fits is accepted, and filling all of it counts exactly
    let r = modify(&mut b, 1, Some(i64::MAX - 1), None, 4);
    assert_eq!((rep(&r).filled_quantity, rep(&r).remaining_quantity), (1, i64::MAX - 1));
    let r = submit(&mut b, with_tif(NewOrder::market(3, Buy, i64::MAX - 1, 5), TimeInForce::Ioc));
    let maker = r.updates.iter().find(|u| u.order_id == 1).expect("maker update");
    assert_eq!((maker.status, maker.filled_quantity, maker.remaining_quantity), (Filled, i64::MAX, 0));
    assert!(b.is_empty());
}

#[test]
fn huge_prices_up_to_i64_max_ticks_work() {
    let mut b = book();
    let max = i64::MAX;
    submit(&mut b, gtc(1, Sell, max, 3, 1));
    submit(&mut b, gtc(2, Buy, max - 1, 3, 2));
    submit(&mut b, gtc(3, Buy, 1, 3, 3));
    assert_eq!(b.top_of_book(), (Some(max - 1), Some(max)));
    assert_eq!(side_depth(&b, Buy), vec![(max - 1, 3, 1), (1, 3, 1)]);
    assert_eq!(side_depth(&b, Sell), vec![(max, 3, 1)]);
    assert_eq!(b.depth_at(Sell, max), 3);
    let r = submit(&mut b, gtc(4, Buy, max, 1, 4));
    assert_eq!(fills(&r), vec![(1, 4, max, 1)]);
    let r = submit(&mut b, NewOrder::market(5, Buy, 2, 5));
    assert_eq!(fills(&r), vec![(1, 5, max, 2)]);
    assert_eq!(stats(&b, Sell, max).quantity_executed, 3);
    assert_eq!(stats(&b, Sell, max).order_count, 0);
    let r = submit(&mut b, NewOrder::market(6, Sell, 6, 6));
    assert_eq!(fills(&r), vec![(2, 6, max - 1, 3), (3, 6, 1, 3)]);
    // post-only and modify at the extremes
    submit(&mut b, post_only(7, Sell, max, 1, 7));
    modify(&mut b, 7, None, Some(1), 8);
    assert_eq!(b.best_ask(), Some(1));
    assert_eq!(b.level(Sell, max).unwrap().orders_added, 2);
}

// ----- batch ----------------------------------------------------------------------------

#[test]
fn batch_rows_with_a_resting_id_are_rejected_and_the_rest_proceed() {
    let mut b = book();
    submit(&mut b, gtc(5, Sell, 100, 5, 1));
    let side = [0i8, 1, 0];
    let price = [90i64, 101, 100];
    let qty = [1i64, 1, 2];
    let ids = [5u64, 6, 7];
    let mut out = BatchOutput::default();
    b.submit_batch(
        &BatchInput {
            side: &side,
            price: &price,
            quantity: &qty,
            time_in_force: None,
            order_id: Some(&ids),
            timestamp: 2,
        },
        &mut out,
    )
    .unwrap();
    assert_eq!(out.status, vec![Rejected as u8, New as u8, Filled as u8]);
    assert_eq!(out.filled, vec![0, 0, 2]);
    assert_eq!(out.remaining, vec![0, 1, 0]);
    assert_eq!(out.trade_taker_index, vec![2]);
    assert_eq!(out.trade_maker_order_id, vec![5]);
    assert_eq!(out.trade_sequence, vec![3]);
}

#[test]
fn malformed_batch_fails_whole_and_changes_nothing() {
    let mut b = book();
    submit(&mut b, gtc(1, Sell, 100, 5, 1));
    let before = snap(&b);
    let mut run = |side: &[i8], price: &[i64], qty: &[i64], tif: Option<&[u8]>| {
        let mut out = BatchOutput::default();
        b.submit_batch(
            &BatchInput { side, price, quantity: qty, time_in_force: tif, order_id: None, timestamp: 2 },
            &mut out,
        )
    };
    assert!(is_invalid(run(&[0, 0], &[100], &[1, 1], None)), "length mismatch");
    assert!(is_invalid(run(&[0, 2], &[100, 100], &[1, 1], None)), "side code");
    assert!(is_invalid(run(&[0, -1], &[100, 100], &[1, 1], None)), "negative side");
    assert!(is_invalid(run(&[0, 0], &[100, -1], &[1, 1], None)), "negative price");
    assert!(is_invalid(run(&[0, 0], &[100, 100], &[1, 0], None)), "zero quantity");
    assert!(is_invalid(run(&[0, 0], &[100, 100], &[1, 1], Some(&[0, 3]))), "GTD row");
    assert!(is_invalid(run(&[0, 0], &[100, 100], &[1, 1], Some(&[0, 9]))), "bad tif code");
    assert!(is_invalid(run(&[0, 0], &[100, 0], &[1, 1], Some(&[0, 0]))), "market GTC");
    assert_eq!(snap(&b), before);
}

#[test]
fn order_types_roundtrip_their_codes() {
    assert_eq!(Side::from_code(0), Some(Buy));
    assert_eq!(Side::from_code(1), Some(Sell));
    assert_eq!(Side::from_code(2), None);
    for c in 0..5u8 {
        assert_eq!(TimeInForce::from_code(c).unwrap() as u8, c);
    }
    assert_eq!(TimeInForce::from_code(5), None);
    assert_eq!(OrderType::Limit as u8, 0);
}
