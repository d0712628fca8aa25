"""One small explicit test per line of the contract in docs/semantics.md."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import lockfree_trading as lft
import pytest
from lockfree_trading import OrderStatus, Side, TimeInForce

D = Decimal
T = 1_000_000
BUY, SELL = Side.BUY, Side.SELL


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def sub(book, side, qty, price=None, *, t=T, oid=None, **kw):
    if oid is not None:
        kw["order_id"] = oid
    return book.submit(side, qty, price, timestamp=t, **kw)


def lv(levels):
    return [(lvl.price, lvl.quantity, lvl.order_count) for lvl in levels]


def bids(book, n=100):
    return lv(book.depth(n).bids)


def asks(book, n=100):
    return lv(book.depth(n).asks)


def makers(report):
    return [(t.maker_order_id.int, t.price, t.quantity) for t in report.trades]


def fill_order(book, side, price, qty, *, t=T, oid=None):
    """Send an IOC taker against `side`'s level and return the makers it hit, in order."""
    taker_side = SELL if side == BUY else BUY
    r = sub(book, taker_side, qty, price, t=t, oid=oid, time_in_force="IOC")
    return [tr.maker_order_id.int for tr in r.trades]


def status(r):
    return r.status.name


# ----------------------------------------------------------------------------- enums & errors


def test_returned_decimals_carry_the_tick_and_lot_decimal_places():
    book = lft.OrderBook("FMT", tick_size="0.01", lot_size="0.001")
    r = sub(book, SELL, "1.5", "100.3")
    assert str(r.price) == "100.30"
    assert str(r.remaining_quantity) == "1.500"
    assert str(book.best_ask) == "100.30"
    assert str(book.depth(1).asks[0].quantity) == "1.500"


def test_enum_values_match_the_wire_codes():
    assert [
        s.value
        for s in (
            OrderStatus.NEW,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        )
    ] == [0, 1, 2, 3, 4, 5]
    assert [
        t.value for t in (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD, TimeInForce.DAY)
    ] == [0, 1, 2, 3, 4]
    assert (Side.BUY.value, Side.SELL.value) == (0, 1)
    assert Side.BUY.name == "BUY" and OrderStatus.PARTIALLY_FILLED.name == "PARTIALLY_FILLED"
    assert int(TimeInForce.DAY) == 4
    assert Side.BUY == Side.BUY and Side.BUY != Side.SELL
    assert (lft.OrderType.LIMIT.name, lft.OrderType.MARKET.name) == ("LIMIT", "MARKET")


def test_exception_hierarchy():
    assert issubclass(lft.InvalidOrder, lft.TradingError)
    assert issubclass(lft.InvalidOrder, ValueError)
    assert issubclass(lft.DuplicateOrderId, lft.TradingError)
    assert issubclass(lft.DuplicateOrderId, ValueError)  # a reused id is bad input
    assert issubclass(lft.OrderNotFound, lft.TradingError)
    assert issubclass(lft.OrderNotFound, KeyError)
    assert issubclass(lft.TradingError, Exception)


# ----------------------------------------------------------------------------- sequence numbers


def test_sequence_starts_at_one_and_book_sequence_is_last_used(book):
    assert book.sequence == 0
    r = sub(book, BUY, 1, "10.00")
    assert r.sequence == 1
    assert book.sequence == 1


def test_every_trade_and_update_takes_the_next_sequence_number(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 2, "10.01", oid=2)
    r = sub(book, BUY, 3, "10.01", oid=3)
    events = sorted([*r.trades, *r.updates], key=lambda e: e.sequence)
    assert [e.sequence for e in events] + [r.sequence] == [3, 4, 5, 6, 7]
    assert book.sequence == 7


def test_event_order_is_trade_then_maker_update_then_own_report(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 2, "10.01", oid=2)
    r = sub(book, BUY, 3, "10.01", oid=3)
    t1, t2 = r.trades
    u1, u2 = r.updates
    assert t1.sequence < u1.sequence < t2.sequence < u2.sequence < r.sequence
    assert (u1.order_id, u1.status) == (uid(1), OrderStatus.FILLED)
    assert (u2.order_id, u2.status) == (uid(2), OrderStatus.PARTIALLY_FILLED)


def test_maker_update_filled_is_cumulative_and_remaining_is_open_quantity(book):
    sub(book, SELL, 10, "10.00", oid=1)
    r1 = sub(book, BUY, 3, "10.00", oid=2)
    assert (r1.updates[0].filled_quantity, r1.updates[0].remaining_quantity) == (3, 7)
    r2 = sub(book, BUY, 4, "10.00", oid=3)
    assert (r2.updates[0].filled_quantity, r2.updates[0].remaining_quantity) == (7, 3)
    assert r2.updates[0].status == OrderStatus.PARTIALLY_FILLED


def test_maker_update_remaining_includes_hidden_iceberg_quantity(book):
    sub(book, SELL, 10, "10.00", oid=1, display_quantity=2)
    r = sub(book, BUY, 1, "10.00", oid=2)
    assert (r.updates[0].filled_quantity, r.updates[0].remaining_quantity) == (1, 9)


def test_expiry_sweep_comes_first_ordered_by_expire_time_then_acceptance(book):
    sub(book, SELL, 1, "10.05", oid=1, time_in_force="GTD", expire_time=T + 30)
    sub(book, SELL, 1, "10.03", oid=2, time_in_force="GTD", expire_time=T + 20)
    sub(book, SELL, 1, "10.04", oid=3, time_in_force="GTD", expire_time=T + 20)
    sub(book, SELL, 1, "10.00", oid=4)
    r = sub(book, BUY, 1, "10.00", t=T + 30, oid=5)
    assert [(u.order_id.int, u.status.name) for u in r.updates] == [
        (2, "EXPIRED"),
        (3, "EXPIRED"),
        (1, "EXPIRED"),
        (4, "FILLED"),
    ]
    seqs = [u.sequence for u in r.updates[:3]]
    assert seqs == [5, 6, 7]
    assert r.trades[0].sequence == 8 and r.updates[3].sequence == 9 and r.sequence == 10


def test_same_expire_time_expires_in_acceptance_order(book):
    # order 1 is accepted (rests) after order 2: its resting report comes after its trade
    sub(book, BUY, 1, "9.00", oid=9)
    sub(book, SELL, 1, "10.10", oid=2, time_in_force="GTD", expire_time=T + 50)
    sub(book, SELL, 2, "9.00", oid=1, time_in_force="GTD", expire_time=T + 50)
    ups = book.expire(T + 50)
    assert [u.order_id.int for u in ups] == [2, 1]


@pytest.mark.parametrize("change", [{"quantity": 5}, {"price": "8.99"}])
def test_modify_does_not_change_acceptance_order_for_expiry(book, change):
    # acceptance = the update that *first* put the order on the book
    sub(book, BUY, 1, "9.00", oid=1, time_in_force="GTD", expire_time=T + 5)
    sub(book, BUY, 1, "9.01", oid=2, time_in_force="GTD", expire_time=T + 5)
    sub(book, BUY, 1, "9.02", oid=3, time_in_force="DAY")
    sub(book, BUY, 1, "9.03", oid=4, time_in_force="DAY")
    book.modify(uid(1), timestamp=T, **change)
    book.modify(uid(3), timestamp=T, **change)
    assert [u.order_id.int for u in book.end_of_day(T + 5)] == [1, 2, 3, 4]


def test_updates_are_in_sequence_order(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 1)
    sub(book, SELL, 1, "10.01", oid=2)
    sub(book, SELL, 1, "10.02", oid=3)
    r = sub(book, BUY, 2, "10.02", t=T + 1, oid=4)
    seqs = [u.sequence for u in r.updates]
    assert seqs == sorted(seqs) and len(seqs) == 3


# ----------------------------------------------------------------------------- matching


def test_better_priced_maker_trades_first(book):
    sub(book, SELL, 1, "10.02", oid=1)
    sub(book, SELL, 1, "10.00", oid=2)
    sub(book, SELL, 1, "10.01", oid=3)
    r = sub(book, BUY, 3, "10.02", oid=4)
    assert [m for m, _, _ in makers(r)] == [2, 3, 1]


def test_sell_taker_hits_highest_bid_first(book):
    sub(book, BUY, 1, "9.98", oid=1)
    sub(book, BUY, 1, "10.00", oid=2)
    sub(book, BUY, 1, "9.99", oid=3)
    r = sub(book, SELL, 3, "9.98", oid=4)
    assert [m for m, _, _ in makers(r)] == [2, 3, 1]


def test_same_price_makers_fill_in_arrival_order(book):
    for i in (5, 3, 8):
        sub(book, SELL, 1, "10.00", oid=i)
    r = sub(book, BUY, 3, "10.00", oid=9)
    assert [m for m, _, _ in makers(r)] == [5, 3, 8]


def test_trade_prints_at_the_makers_price(book):
    sub(book, SELL, 1, "10.00", oid=1)
    r = sub(book, BUY, 1, "10.50", oid=2)
    assert r.trades[0].price == D("10.00")
    sub(book, BUY, 1, "9.00", oid=3)
    r = sub(book, SELL, 1, "8.00", oid=4)
    assert r.trades[0].price == D("9.00")


def test_trade_fields(book):
    sub(book, SELL, 4, "10.00", oid=1)
    r = sub(book, BUY, 3, "10.00", t=T + 7, oid=2)
    (tr,) = r.trades
    assert tr.maker_order_id == uid(1) and tr.taker_order_id == uid(2)
    assert tr.taker_side == BUY and tr.quantity == D(3) and tr.timestamp == T + 7


def test_buy_limit_does_not_match_asks_above_its_limit(book):
    sub(book, SELL, 1, "10.01", oid=1)
    r = sub(book, BUY, 1, "10.00", oid=2)
    assert r.trades == [] and status(r) == "NEW"
    assert book.best_bid == D("10.00") and book.best_ask == D("10.01")


def test_fill_takes_min_of_taker_remaining_and_maker_slice(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 5, "10.00", oid=2)
    r = sub(book, BUY, 4, "10.00", oid=3)
    assert [q for _, _, q in makers(r)] == [2, 2]


# ----------------------------------------------------------------------------- market orders


def test_order_type_is_limit_with_price_and_market_without(book):
    sub(book, SELL, 1, "10.00", oid=1)
    r = sub(book, BUY, 1, oid=2)
    assert r.price is None and status(r) == "FILLED"
    r = sub(book, BUY, 1, "9.00", oid=3)
    assert r.price == D("9.00") and status(r) == "NEW"


def test_market_order_trades_at_any_price_across_levels(book):
    sub(book, SELL, 1, "10.00", oid=1)
    sub(book, SELL, 1, "50.00", oid=2)
    r = sub(book, BUY, 2, oid=3)
    assert [p for _, p, _ in makers(r)] == [D("10.00"), D("50.00")]
    assert status(r) == "FILLED" and r.filled_quantity == 2 and r.remaining_quantity == 0


def test_market_order_defaults_to_ioc_and_never_rests(book):
    sub(book, SELL, 2, "10.00", oid=1)
    r = sub(book, BUY, 5, oid=2)
    assert status(r) == "CANCELED"
    assert (r.filled_quantity, r.remaining_quantity) == (2, 0)
    assert len(book) == 0 and bids(book) == []


def test_market_order_on_empty_book_is_canceled_with_nothing_filled(book):
    r = sub(book, SELL, 5, oid=1)
    assert status(r) == "CANCELED" and r.filled_quantity == 0 and r.remaining_quantity == 0
    assert r.trades == [] and r.sequence == 1


def test_market_fok_fills_completely_or_not_at_all(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 2, "11.00", oid=2)
    r = sub(book, BUY, 5, oid=3, time_in_force="FOK")
    assert status(r) == "CANCELED" and r.trades == [] and r.filled_quantity == 0
    assert len(book) == 2
    r = sub(book, BUY, 4, oid=4, time_in_force="FOK")
    assert status(r) == "FILLED" and r.filled_quantity == 4 and len(book) == 0


def test_explicit_market_order_type(book):
    sub(book, SELL, 1, "10.00", oid=1)
    r = sub(book, BUY, 1, oid=2, order_type="MARKET", time_in_force="IOC")
    assert status(r) == "FILLED"
    r = sub(book, BUY, 1, oid=3, order_type=lft.OrderType.MARKET)
    assert status(r) == "CANCELED"


# ----------------------------------------------------------------------------- time in force


@pytest.mark.parametrize("tif", ["GTC", "DAY", "GTD"])
def test_resting_tif_rests_partially_filled_remainder(book, tif):
    kw = {"expire_time": T + 100} if tif == "GTD" else {}
    sub(book, SELL, 2, "10.00", oid=2)
    r = sub(book, BUY, 5, "10.00", oid=3, time_in_force=tif, **kw)
    assert status(r) == "PARTIALLY_FILLED"
    assert (r.filled_quantity, r.remaining_quantity) == (2, 3)
    assert bids(book) == [(D("10.00"), D(3), 1)] and asks(book) == []
    o = book.order(uid(3))
    assert o.time_in_force.name == tif and o.remaining_quantity == 3 and o.filled_quantity == 2


@pytest.mark.parametrize("tif", ["GTC", "DAY", "GTD"])
def test_resting_tif_joins_the_back_of_its_level(book, tif):
    kw = {"expire_time": T + 100} if tif == "GTD" else {}
    sub(book, BUY, 1, "10.00", oid=1)
    sub(book, BUY, 1, "10.00", oid=2, time_in_force=tif, **kw)
    sub(book, BUY, 1, "10.00", oid=3)
    assert bids(book) == [(D("10.00"), D(3), 3)]
    assert fill_order(book, BUY, "10.00", 3) == [1, 2, 3]


def test_resting_order_with_nothing_filled_reports_new(book):
    r = sub(book, BUY, 5, "10.00", oid=1)
    assert status(r) == "NEW" and (r.filled_quantity, r.remaining_quantity) == (0, 5)
    assert r.reject_reason is None


def test_gtc_is_the_default_for_limit_orders(book):
    sub(book, BUY, 5, "10.00", oid=1)
    assert book.order(uid(1)).time_in_force == TimeInForce.GTC


def test_ioc_remainder_is_cancelled(book):
    sub(book, SELL, 2, "10.00", oid=1)
    r = sub(book, BUY, 5, "10.00", oid=2, time_in_force="IOC")
    assert status(r) == "CANCELED" and (r.filled_quantity, r.remaining_quantity) == (2, 0)
    assert len(book) == 0


def test_ioc_fully_filled_reports_filled(book):
    sub(book, SELL, 5, "10.00", oid=1)
    r = sub(book, BUY, 5, "10.00", oid=2, time_in_force=TimeInForce.IOC)
    assert status(r) == "FILLED" and r.remaining_quantity == 0


def test_ioc_that_cannot_trade_is_cancelled_with_nothing_filled(book):
    sub(book, SELL, 5, "10.01", oid=1)
    r = sub(book, BUY, 5, "10.00", oid=2, time_in_force="IOC")
    assert status(r) == "CANCELED" and r.filled_quantity == 0 and r.trades == []
    assert len(book) == 1


def test_fok_with_insufficient_liquidity_is_cancelled_without_trades(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 2, "10.01", oid=2)
    seq = book.sequence
    r = sub(book, BUY, 5, "10.01", oid=3, time_in_force="FOK")
    assert status(r) == "CANCELED" and r.filled_quantity == 0 and r.remaining_quantity == 0
    assert r.trades == [] and r.updates == []
    assert r.sequence == seq + 1
    assert asks(book) == [(D("10.00"), D(2), 1), (D("10.01"), D(2), 1)]


def test_fok_only_counts_quantity_at_crossing_prices(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 10, "10.02", oid=2)
    r = sub(book, BUY, 3, "10.01", oid=3, time_in_force="FOK")
    assert status(r) == "CANCELED" and r.trades == []


def test_fok_with_enough_liquidity_fills_completely(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, SELL, 2, "10.01", oid=2)
    r = sub(book, BUY, 3, "10.01", oid=3, time_in_force="FOK")
    assert status(r) == "FILLED" and r.filled_quantity == 3 and len(r.trades) == 2


def test_fok_counts_hidden_iceberg_quantity(book):
    sub(book, SELL, 9, "10.00", oid=1, display_quantity=3)
    assert asks(book) == [(D("10.00"), D(3), 1)]
    r = sub(book, BUY, 8, "10.00", oid=2, time_in_force="FOK")
    assert status(r) == "FILLED" and r.filled_quantity == 8
    assert [q for _, _, q in makers(r)] == [3, 3, 2]
    assert asks(book) == [(D("10.00"), D(1), 1)]


def test_fok_more_than_visible_plus_hidden_is_cancelled(book):
    sub(book, SELL, 9, "10.00", oid=1, display_quantity=3)
    r = sub(book, BUY, 10, "10.00", oid=2, time_in_force="FOK")
    assert status(r) == "CANCELED" and r.trades == []
    assert book.order(uid(1)).remaining_quantity == 9


# ----------------------------------------------------------------------------- post-only


def test_post_only_buy_that_would_cross_is_rejected_and_book_unchanged(book):
    sub(book, SELL, 1, "10.00", oid=1)
    sub(book, BUY, 1, "9.00", oid=2)
    before = (bids(book), asks(book), len(book))
    seq = book.sequence
    r = sub(book, BUY, 3, "10.00", oid=3, post_only=True)
    assert status(r) == "REJECTED"
    assert r.reject_reason == "post-only order would cross the book"
    assert (r.filled_quantity, r.remaining_quantity) == (0, 0)
    assert r.trades == [] and r.updates == []
    assert r.sequence == seq + 1
    assert (bids(book), asks(book), len(book)) == before
    assert uid(3) not in book


def test_post_only_sell_that_would_cross_is_rejected(book):
    sub(book, BUY, 1, "10.00", oid=1)
    r = sub(book, SELL, 1, "9.50", oid=2, post_only=True)
    assert status(r) == "REJECTED" and r.reject_reason
    assert len(book) == 1


def test_post_only_that_does_not_cross_rests(book):
    sub(book, SELL, 1, "10.01", oid=1)
    r = sub(book, BUY, 1, "10.00", oid=2, post_only=True)
    assert status(r) == "NEW" and book.order(uid(2)).post_only is True


def test_post_only_on_empty_opposite_side_rests(book):
    r = sub(book, SELL, 1, "10.00", oid=1, post_only=True, time_in_force="DAY")
    assert status(r) == "NEW"


def test_rejected_post_only_id_is_not_resting_and_can_be_reused(book):
    sub(book, SELL, 1, "10.00", oid=1)
    sub(book, BUY, 1, "10.00", oid=2, post_only=True)
    r = sub(book, BUY, 1, "9.00", oid=2)
    assert status(r) == "NEW"


# ----------------------------------------------------------------------------- iceberg


def test_iceberg_shows_only_current_slice(book):
    sub(book, SELL, 10, "10.00", oid=1, display_quantity=3)
    assert asks(book) == [(D("10.00"), D(3), 1)]
    assert book.depth_at(SELL, "10.00") == D(3)
    o = book.order(uid(1))
    assert (o.visible_quantity, o.remaining_quantity, o.display_quantity) == (3, 10, 3)
    assert o.quantity == 10


def test_iceberg_refreshed_slice_joins_back_of_level(book):
    sub(book, SELL, 5, "10.00", oid=1, display_quantity=2)
    sub(book, SELL, 4, "10.00", oid=2)
    r = sub(book, BUY, 2, "10.00", oid=3)
    assert makers(r) == [(1, D("10.00"), 2)]
    assert asks(book) == [(D("10.00"), D(6), 2)]
    # order 2 is now ahead of the refreshed slice of order 1
    r = sub(book, BUY, 5, "10.00", oid=4)
    assert [(m, q) for m, _, q in makers(r)] == [(2, 4), (1, 1)]


def test_taker_continues_down_the_queue_and_reaches_refreshed_slice_again(book):
    sub(book, SELL, 5, "10.00", oid=1, display_quantity=2)
    sub(book, SELL, 1, "10.00", oid=2)
    r = sub(book, BUY, 6, "10.00", oid=3)
    assert [(m, q) for m, _, q in makers(r)] == [(1, 2), (2, 1), (1, 2), (1, 1)]
    assert status(r) == "FILLED" and len(book) == 0


def test_iceberg_last_slice_is_min_of_display_and_hidden(book):
    sub(book, SELL, 5, "10.00", oid=1, display_quantity=3)
    sub(book, BUY, 3, "10.00", oid=2)
    assert asks(book) == [(D("10.00"), D(2), 1)]
    assert book.order(uid(1)).visible_quantity == 2


def test_partial_fill_of_iceberg_slice_keeps_place(book):
    sub(book, SELL, 6, "10.00", oid=1, display_quantity=3)
    sub(book, SELL, 1, "10.00", oid=2)
    sub(book, BUY, 1, "10.00", oid=3)
    assert book.order(uid(1)).visible_quantity == 2
    r = sub(book, BUY, 2, "10.00", oid=4)
    assert [(m, q) for m, _, q in makers(r)] == [(1, 2)]


def test_iceberg_maker_updates_per_slice(book):
    sub(book, SELL, 4, "10.00", oid=1, display_quantity=2)
    r = sub(book, BUY, 4, "10.00", oid=2)
    assert [(u.status.name, u.filled_quantity, u.remaining_quantity) for u in r.updates] == [
        ("PARTIALLY_FILLED", 2, 2),
        ("FILLED", 4, 0),
    ]


def test_iceberg_taker_remainder_rests_with_a_fresh_slice(book):
    sub(book, BUY, 2, "10.00", oid=1)
    r = sub(book, SELL, 10, "10.00", oid=2, display_quantity=3)
    assert status(r) == "PARTIALLY_FILLED" and r.trades[0].quantity == 2
    assert asks(book) == [(D("10.00"), D(3), 1)]
    assert book.order(uid(2)).remaining_quantity == 8


def test_iceberg_display_equal_to_quantity_is_allowed(book):
    sub(book, BUY, 4, "10.00", oid=1, display_quantity=4)
    assert bids(book) == [(D("10.00"), D(4), 1)]


# ----------------------------------------------------------------------------- GTD / DAY expiry


def test_gtd_order_trades_before_its_expire_time(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    r = sub(book, BUY, 1, "10.00", t=T + 9, oid=2)
    assert status(r) == "FILLED"


def test_gtd_never_trades_at_or_after_expire_time_even_without_a_sweep(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    r = sub(book, BUY, 1, "10.00", t=T + 10, oid=2)
    assert r.trades == [] and status(r) == "NEW"
    assert [(u.order_id, u.status) for u in r.updates] == [(uid(1), OrderStatus.EXPIRED)]
    exp = r.updates[0]
    assert exp.remaining_quantity == 0 and exp.timestamp == T + 10


def test_expired_gtd_is_not_counted_by_fok(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    r = sub(book, BUY, 5, "10.00", t=T + 11, oid=2, time_in_force="FOK")
    assert status(r) == "CANCELED" and r.trades == []
    assert [u.status.name for u in r.updates] == ["EXPIRED"]


def test_expired_gtd_does_not_make_post_only_cross(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    r = sub(book, BUY, 5, "10.00", t=T + 10, oid=2, post_only=True)
    assert status(r) == "NEW"


def test_due_gtd_stays_visible_until_some_command_sweeps(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    assert len(book) == 1 and asks(book) == [(D("10.00"), D(5), 1)]
    ups = book.expire(T + 10)
    assert len(book) == 0 and asks(book) == [] and len(ups) == 1


def test_expire_returns_expired_updates_and_removes_orders(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    sub(book, BUY, 3, "10.00", oid=2)
    sub(book, BUY, 3, "9.00", oid=3, time_in_force="GTD", expire_time=T + 5)
    ups = book.expire(T + 20)
    assert [(u.order_id.int, u.status.name, u.filled_quantity, u.remaining_quantity) for u in ups] == [
        (3, "EXPIRED", 0, 0),
        (1, "EXPIRED", 3, 0),
    ]
    assert [u.sequence for u in ups] == [6, 7]
    assert all(u.timestamp == T + 20 for u in ups)
    assert ups[1].price == D("10.00") and ups[1].side == SELL
    assert len(book) == 0 and book.sequence == 7


def test_expire_before_due_time_does_nothing(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    assert book.expire(T + 9) == []
    assert len(book) == 1 and book.sequence == 1


def test_expire_leaves_day_orders_alone(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="DAY")
    assert book.expire(T + 10**12) == []
    assert len(book) == 1


def test_end_of_day_sweeps_gtd_then_expires_day_orders_in_acceptance_order(book):
    sub(book, BUY, 1, "9.00", oid=1, time_in_force="DAY")
    sub(book, SELL, 1, "11.00", oid=2, time_in_force="DAY")
    sub(book, BUY, 1, "9.50", oid=3, time_in_force="GTD", expire_time=T + 5)
    sub(book, BUY, 1, "9.10", oid=4, time_in_force="DAY")
    sub(book, BUY, 1, "9.20", oid=5)
    sub(book, SELL, 1, "12.00", oid=6, time_in_force="GTD", expire_time=T + 500)
    ups = book.end_of_day(T + 100)
    assert [(u.order_id.int, u.status.name) for u in ups] == [
        (3, "EXPIRED"),
        (1, "EXPIRED"),
        (2, "EXPIRED"),
        (4, "EXPIRED"),
    ]
    assert [u.sequence for u in ups] == [7, 8, 9, 10]
    assert sorted(o for o in (5, 6) if uid(o) in book) == [5, 6]
    assert len(book) == 2


def test_expired_order_cannot_be_cancelled(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="DAY")
    book.end_of_day(T + 1)
    with pytest.raises(lft.OrderNotFound):
        book.cancel(uid(1), timestamp=T + 2)


# ----------------------------------------------------------------------------- cancel


def test_cancel_removes_resting_order_with_cumulative_fill(book):
    sub(book, SELL, 5, "10.00", oid=1)
    sub(book, BUY, 2, "10.00", oid=2)
    r = book.cancel(uid(1), timestamp=T + 1)
    assert status(r) == "CANCELED"
    assert (r.filled_quantity, r.remaining_quantity) == (2, 0)
    assert r.order_id == uid(1) and r.side == SELL and r.price == D("10.00")
    assert r.trades == [] and r.updates == [] and r.timestamp == T + 1
    assert len(book) == 0 and asks(book) == []
    assert book.order(uid(1)) is None and uid(1) not in book


def test_cancel_keeps_the_other_orders_of_the_level(book):
    sub(book, SELL, 5, "10.00", oid=1)
    sub(book, SELL, 3, "10.00", oid=2)
    book.cancel(uid(1), timestamp=T)
    assert asks(book) == [(D("10.00"), D(3), 1)]


def test_cancel_of_unknown_id_raises_order_not_found(book):
    with pytest.raises(lft.OrderNotFound):
        book.cancel(uid(42), timestamp=T)
    with pytest.raises(KeyError):
        book.cancel(uid(42), timestamp=T)
    assert book.sequence == 0


def test_cancel_of_filled_order_raises_order_not_found(book):
    sub(book, SELL, 1, "10.00", oid=1)
    sub(book, BUY, 1, "10.00", oid=2)
    for oid in (1, 2):
        with pytest.raises(lft.OrderNotFound):
            book.cancel(uid(oid), timestamp=T)


def test_cancel_of_cancelled_order_raises_order_not_found(book):
    sub(book, SELL, 1, "10.00", oid=1)
    book.cancel(uid(1), timestamp=T)
    seq = book.sequence
    with pytest.raises(lft.OrderNotFound):
        book.cancel(uid(1), timestamp=T)
    assert book.sequence == seq


def test_cancel_of_ioc_and_rejected_ids_raises(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="IOC")
    sub(book, BUY, 1, "9.00", oid=3)
    sub(book, SELL, 1, "9.00", oid=2, post_only=True)
    for oid in (1, 2):
        with pytest.raises(lft.OrderNotFound):
            book.cancel(uid(oid), timestamp=T)


def test_cancel_of_gtd_past_its_expire_time_raises_and_changes_nothing(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    sub(book, SELL, 1, "10.01", oid=2, time_in_force="GTD", expire_time=T + 10)
    seq, h = book.sequence, book.state_hash()
    with pytest.raises(lft.OrderNotFound):
        book.cancel(uid(1), timestamp=T + 10)
    # no sweep ran: order 2 is still there and no sequence number was used
    assert book.sequence == seq and book.state_hash() == h and len(book) == 2


def test_cancel_runs_the_expiry_sweep_first(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    sub(book, SELL, 1, "10.01", oid=2)
    r = book.cancel(uid(2), timestamp=T + 10)
    assert [(u.order_id.int, u.status.name) for u in r.updates] == [(1, "EXPIRED")]
    assert r.sequence == r.updates[0].sequence + 1 and len(book) == 0


def test_id_of_finished_order_can_be_reused(book):
    sub(book, SELL, 1, "10.00", oid=1)
    sub(book, BUY, 1, "10.00", oid=2)  # 1 and 2 are filled
    r = sub(book, SELL, 3, "10.00", oid=1)
    assert status(r) == "NEW"
    book.cancel(uid(1), timestamp=T)
    r = sub(book, BUY, 3, "9.00", oid=1)
    assert status(r) == "NEW" and book.order(uid(1)).side == BUY


def test_new_order_may_reuse_the_id_of_a_gtd_order_past_its_expire_time(book):
    # a GTD order whose expire time has passed is not resting: the sweep expires it first
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    r = sub(book, BUY, 2, "9.00", t=T + 10, oid=1)
    assert [(u.order_id.int, u.status.name) for u in r.updates] == [(1, "EXPIRED")]
    assert status(r) == "NEW" and book.order(uid(1)).side == BUY


def test_new_order_with_resting_id_raises_duplicate_and_changes_nothing(book):
    sub(book, SELL, 1, "10.00", oid=1)
    seq, h = book.sequence, book.state_hash()
    with pytest.raises(lft.DuplicateOrderId):
        sub(book, BUY, 1, "10.00", oid=1)
    assert book.sequence == seq and book.state_hash() == h


# ----------------------------------------------------------------------------- modify


def test_modify_decrease_at_same_price_keeps_priority(book):
    sub(book, BUY, 5, "10.00", oid=1)
    sub(book, BUY, 5, "10.00", oid=2)
    r = book.modify(uid(1), quantity=2, timestamp=T + 1)
    assert status(r) == "NEW" and (r.filled_quantity, r.remaining_quantity) == (0, 2)
    assert r.trades == [] and r.updates == []
    assert bids(book) == [(D("10.00"), D(7), 2)]
    assert fill_order(book, BUY, "10.00", 7) == [1, 2]


def test_modify_increase_loses_priority(book):
    sub(book, BUY, 5, "10.00", oid=1)
    sub(book, BUY, 5, "10.00", oid=2)
    r = book.modify(uid(1), quantity=6, timestamp=T + 1)
    assert status(r) == "NEW" and r.remaining_quantity == 6
    assert bids(book) == [(D("10.00"), D(11), 2)]
    assert fill_order(book, BUY, "10.00", 11) == [2, 1]


def test_modify_price_change_loses_priority(book):
    sub(book, BUY, 5, "10.00", oid=1)
    sub(book, BUY, 5, "9.99", oid=2)
    r = book.modify(uid(1), price="9.99", timestamp=T + 1)
    assert status(r) == "NEW" and r.price == D("9.99")
    assert bids(book) == [(D("9.99"), D(10), 2)]
    assert fill_order(book, BUY, "9.99", 10) == [2, 1]


def test_modify_price_back_and_forth_still_loses_priority(book):
    sub(book, BUY, 5, "10.00", oid=1)
    sub(book, BUY, 5, "10.00", oid=2)
    book.modify(uid(1), price="9.00", timestamp=T)
    book.modify(uid(1), price="10.00", timestamp=T)
    assert fill_order(book, BUY, "10.00", 10) == [2, 1]


def test_modify_with_same_price_and_quantity_changes_nothing(book):
    sub(book, BUY, 5, "10.00", oid=1)
    sub(book, BUY, 5, "10.00", oid=2)
    sub(book, SELL, 1, "10.00", oid=3)
    seq = book.sequence
    r = book.modify(uid(1), quantity=4, price="10.00", timestamp=T + 1)
    assert status(r) == "PARTIALLY_FILLED"
    assert (r.filled_quantity, r.remaining_quantity, r.price) == (1, 4, D("10.00"))
    assert r.sequence == seq + 1
    assert bids(book) == [(D("10.00"), D(9), 2)]
    assert fill_order(book, BUY, "10.00", 9) == [1, 2]


def test_modify_quantity_is_the_new_open_quantity(book):
    sub(book, SELL, 10, "10.00", oid=1)
    sub(book, BUY, 4, "10.00", oid=2)
    r = book.modify(uid(1), quantity=3, timestamp=T)
    assert status(r) == "PARTIALLY_FILLED" and (r.filled_quantity, r.remaining_quantity) == (4, 3)
    o = book.order(uid(1))
    assert (o.remaining_quantity, o.filled_quantity) == (3, 4)


def test_modify_that_crosses_trades_as_taker_at_makers_prices(book):
    sub(book, SELL, 2, "10.01", oid=1)
    sub(book, SELL, 2, "10.02", oid=2)
    sub(book, BUY, 5, "10.00", oid=3)
    r = book.modify(uid(3), price="10.05", timestamp=T + 1)
    assert [
        (t.maker_order_id.int, t.taker_order_id.int, t.price, t.quantity, t.taker_side) for t in r.trades
    ] == [(1, 3, D("10.01"), 2, BUY), (2, 3, D("10.02"), 2, BUY)]
    assert [(u.order_id.int, u.status.name) for u in r.updates] == [(1, "FILLED"), (2, "FILLED")]
    assert status(r) == "PARTIALLY_FILLED"
    assert (r.filled_quantity, r.remaining_quantity, r.price) == (4, 1, D("10.05"))
    assert bids(book) == [(D("10.05"), D(1), 1)] and asks(book) == []


def test_modify_that_crosses_and_fills_completely_reports_filled(book):
    sub(book, SELL, 5, "10.01", oid=1)
    sub(book, BUY, 3, "10.00", oid=2)
    r = book.modify(uid(2), price="10.01", timestamp=T)
    assert status(r) == "FILLED" and (r.filled_quantity, r.remaining_quantity) == (3, 0)
    assert uid(2) not in book and bids(book) == []
    with pytest.raises(lft.OrderNotFound):
        book.cancel(uid(2), timestamp=T)


def test_modify_of_post_only_order_that_would_cross_is_rejected_and_order_unchanged(book):
    sub(book, SELL, 2, "10.01", oid=1)
    sub(book, BUY, 5, "10.00", oid=2, post_only=True)
    sub(book, BUY, 1, "10.00", oid=3)
    sub(book, SELL, 1, "10.00", oid=4)  # fills 1 of order 2
    before = (bids(book), asks(book), len(book))
    seq = book.sequence
    r = book.modify(uid(2), price="10.01", timestamp=T + 1)
    assert status(r) == "REJECTED" and r.reject_reason
    assert (r.filled_quantity, r.remaining_quantity) == (1, 4)
    assert r.trades == [] and r.sequence == seq + 1
    assert (bids(book), asks(book), len(book)) == before
    o = book.order(uid(2))
    assert (o.price, o.remaining_quantity) == (D("10.00"), 4)
    # and it kept its priority ahead of order 3
    assert fill_order(book, BUY, "10.00", 5) == [2, 3]


def test_modify_of_post_only_order_that_does_not_cross_is_accepted(book):
    sub(book, SELL, 2, "10.05", oid=1)
    sub(book, BUY, 5, "10.00", oid=2, post_only=True)
    r = book.modify(uid(2), price="10.04", timestamp=T)
    assert status(r) == "NEW" and book.best_bid == D("10.04")


def test_modify_iceberg_decrease_caps_visible_slice(book):
    sub(book, SELL, 10, "10.00", oid=1, display_quantity=4)
    sub(book, SELL, 1, "10.00", oid=2)
    book.modify(uid(1), quantity=3, timestamp=T)
    o = book.order(uid(1))
    assert (o.visible_quantity, o.remaining_quantity) == (3, 3)
    assert asks(book) == [(D("10.00"), D(4), 2)]
    assert fill_order(book, SELL, "10.00", 4) == [1, 2]


def test_modify_iceberg_decrease_above_slice_keeps_slice(book):
    sub(book, SELL, 10, "10.00", oid=1, display_quantity=4)
    book.modify(uid(1), quantity=6, timestamp=T)
    o = book.order(uid(1))
    assert (o.visible_quantity, o.remaining_quantity) == (4, 6)


def test_modify_iceberg_increase_starts_a_fresh_slice(book):
    sub(book, SELL, 10, "10.00", oid=1, display_quantity=4)
    sub(book, BUY, 3, "10.00", oid=2)
    assert book.order(uid(1)).visible_quantity == 1
    book.modify(uid(1), quantity=12, timestamp=T)
    o = book.order(uid(1))
    assert (o.visible_quantity, o.remaining_quantity, o.filled_quantity) == (4, 12, 3)


def test_modify_filled_quantity_stays_cumulative(book):
    sub(book, SELL, 10, "10.00", oid=1)
    sub(book, BUY, 4, "10.00", oid=2)
    book.modify(uid(1), quantity=20, price="10.01", timestamp=T)
    r = sub(book, BUY, 5, "10.01", oid=3)
    assert r.updates[0].filled_quantity == 9 and r.updates[0].remaining_quantity == 15


def test_modify_of_unknown_or_finished_id_raises_order_not_found(book):
    with pytest.raises(lft.OrderNotFound):
        book.modify(uid(1), quantity=1, timestamp=T)
    sub(book, SELL, 1, "10.00", oid=1)
    book.cancel(uid(1), timestamp=T)
    with pytest.raises(lft.OrderNotFound):
        book.modify(uid(1), quantity=1, timestamp=T)


def test_modify_of_gtd_past_its_expire_time_raises_order_not_found(book):
    sub(book, SELL, 1, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    seq = book.sequence
    with pytest.raises(lft.OrderNotFound):
        book.modify(uid(1), quantity=2, timestamp=T + 10)
    assert book.sequence == seq and len(book) == 1


def test_modify_keeps_tif_and_expire_time(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    book.modify(uid(1), price="10.05", quantity=7, timestamp=T + 1)
    o = book.order(uid(1))
    assert o.time_in_force == TimeInForce.GTD and o.expire_time == T + 10
    assert [u.order_id.int for u in book.expire(T + 10)] == [1]


def test_modify_runs_the_expiry_sweep_first(book):
    sub(book, SELL, 5, "10.00", oid=1, time_in_force="GTD", expire_time=T + 10)
    sub(book, BUY, 5, "9.00", oid=2)
    r = book.modify(uid(2), price="10.00", timestamp=T + 10)
    assert [u.status.name for u in r.updates] == ["EXPIRED"] and r.trades == []
    assert status(r) == "NEW" and book.best_bid == D("10.00")


# ----------------------------------------------------------------------------- reading


def test_best_prices_are_none_on_an_empty_book(book):
    assert book.best_bid is None and book.best_ask is None
    d = book.depth()
    assert d.bids == [] and d.asks == []
    assert len(book) == 0


def test_depth_lists_levels_best_first_with_visible_quantity_and_order_count(book):
    sub(book, BUY, 1, "9.98", oid=1)
    sub(book, BUY, 2, "9.99", oid=2)
    sub(book, BUY, 3, "9.99", oid=3)
    sub(book, SELL, 4, "10.02", oid=4)
    sub(book, SELL, 8, "10.01", oid=5, display_quantity=5)
    assert bids(book) == [(D("9.99"), D(5), 2), (D("9.98"), D(1), 1)]
    assert asks(book) == [(D("10.01"), D(5), 1), (D("10.02"), D(4), 1)]
    assert book.best_bid == D("9.99") and book.best_ask == D("10.01")
    assert isinstance(book.best_bid, Decimal)


def test_depth_n_limits_the_number_of_levels_per_side(book):
    for i in range(5):
        sub(book, BUY, 1, D("9.00") + D(i) / 100, oid=10 + i)
        sub(book, SELL, 1, D("11.00") + D(i) / 100, oid=20 + i)
    d = book.depth(2)
    assert [lvl.price for lvl in d.bids] == [D("9.04"), D("9.03")]
    assert [lvl.price for lvl in d.asks] == [D("11.00"), D("11.01")]
    assert len(book.depth().bids) == 5


def test_depth_at_returns_visible_quantity_or_zero(book):
    sub(book, BUY, 2, "9.99", oid=1)
    sub(book, BUY, 7, "9.99", oid=2, display_quantity=3)
    assert book.depth_at(BUY, "9.99") == D(5)
    assert book.depth_at("BUY", D("9.99")) == D(5)
    assert book.depth_at(SELL, "9.99") == 0
    assert book.depth_at(BUY, "9.98") == 0
    assert isinstance(book.depth_at(BUY, "9.98"), Decimal)


def test_len_and_contains_track_resting_orders(book):
    sub(book, BUY, 2, "9.99", oid=1)
    sub(book, SELL, 2, "10.01", oid=2)
    sub(book, SELL, 2, "10.01", oid=3, time_in_force="IOC")
    assert len(book) == 2
    assert uid(1) in book and str(uid(2)) in book and 1 in book
    assert uid(3) not in book and uid(99) not in book


def test_order_returns_the_resting_order_or_none(book):
    sub(
        book,
        BUY,
        5,
        "9.99",
        oid=1,
        t=T + 3,
        time_in_force="GTD",
        expire_time=T + 100,
        post_only=True,
        display_quantity=2,
    )
    o = book.order(uid(1))
    assert o.order_id == uid(1) and o.side == BUY and o.price == D("9.99")
    assert (o.quantity, o.remaining_quantity, o.visible_quantity, o.filled_quantity) == (5, 5, 2, 0)
    assert o.time_in_force == TimeInForce.GTD and o.expire_time == T + 100
    assert o.post_only is True and o.display_quantity == D(2) and o.timestamp == T + 3
    assert book.order(uid(2)) is None
    plain = sub(book, SELL, 1, "10.00", oid=2)
    assert plain.status == OrderStatus.NEW
    o2 = book.order(str(uid(2)))
    assert o2.display_quantity is None and o2.expire_time is None and o2.post_only is False


def test_level_statistics_track_adds_fills_and_queue_wait(book):
    sub(book, SELL, 5, "10.00", t=T + 100, oid=1)
    sub(book, SELL, 3, "10.00", t=T + 110, oid=2)
    sub(book, BUY, 6, "10.00", t=T + 150, oid=3)
    st_ = book.level(SELL, "10.00")
    assert st_.side == SELL and st_.price == D("10.00")
    assert (st_.quantity, st_.order_count) == (D(2), 1)
    assert st_.orders_added == 2 and st_.orders_filled == 1
    assert st_.quantity_executed == D(6) and st_.trade_count == 2
    assert st_.queue_wait_ns == 50
    assert st_.orders_cancelled == 0 and st_.orders_expired == 0
    assert st_.first_activity == T + 100 and st_.last_activity == T + 150


def test_level_statistics_count_cancels_and_expiries(book):
    sub(book, BUY, 1, "9.00", t=T, oid=1)
    sub(book, BUY, 1, "9.00", t=T, oid=2, time_in_force="GTD", expire_time=T + 5)
    sub(book, BUY, 1, "9.00", t=T, oid=3, time_in_force="DAY")
    book.cancel(uid(1), timestamp=T + 1)
    book.expire(T + 5)
    book.end_of_day(T + 9)
    st_ = book.level(BUY, "9.00")
    assert st_ is not None
    assert (st_.orders_added, st_.orders_cancelled, st_.orders_expired) == (3, 1, 2)
    assert st_.quantity == 0 and st_.order_count == 0 and st_.last_activity == T + 9


@pytest.mark.parametrize(
    "change,price,wait",
    [
        ({"quantity": 3}, "10.00", 50),  # decrease keeps its place: waited since 100
        ({"quantity": 8}, "10.00", 30),  # increase re-joins the queue at 120
        ({"price": "10.01"}, "10.01", 30),  # moved to a new level at 120
    ],
)
def test_queue_wait_counts_from_when_the_order_last_joined_the_queue(book, change, price, wait):
    sub(book, SELL, 5, "10.00", t=100, oid=1)
    book.modify(uid(1), timestamp=120, **change)
    sub(book, BUY, 10, price, t=150, oid=2, time_in_force="IOC")
    st_ = book.level(SELL, price)
    assert st_.orders_filled == 1 and st_.queue_wait_ns == wait and st_.trade_count == 1
    assert st_.last_activity == 150


def test_order_moved_by_modify_counts_as_added_at_its_new_level(book):
    sub(book, SELL, 5, "10.00", t=100, oid=1)
    book.modify(uid(1), price="10.01", timestamp=120)
    st_ = book.level(SELL, "10.01")
    assert st_.orders_added == 1 and st_.order_count == 1 and st_.quantity == 5
    assert st_.first_activity == 120
    assert book.level(SELL, "10.00").order_count == 0


def test_refreshed_iceberg_slice_rejoins_the_queue_for_queue_wait(book):
    sub(book, SELL, 4, "10.00", t=100, oid=1, display_quantity=2)
    sub(book, BUY, 2, "10.00", t=120, oid=2)
    sub(book, BUY, 2, "10.00", t=150, oid=3)
    st_ = book.level(SELL, "10.00")
    assert (st_.orders_filled, st_.trade_count, st_.quantity_executed) == (1, 2, D(4))
    assert st_.queue_wait_ns == 30


def test_empty_level_leaves_the_ladder_but_stats_stay_readable(book):
    sub(book, SELL, 2, "10.00", oid=1)
    sub(book, BUY, 2, "10.00", oid=2)
    assert asks(book) == [] and book.best_ask is None
    st_ = book.level(SELL, "10.00")
    assert st_ is not None and st_.quantity == 0 and st_.orders_filled == 1
    assert st_.quantity_executed == D(2)


def test_level_of_a_price_never_used_is_none(book):
    assert book.level(BUY, "10.00") is None
    sub(book, BUY, 2, "10.00", oid=1)
    assert book.level(SELL, "10.00") is None


def test_retain_empty_levels_bounds_the_kept_empty_levels(lft):
    book = lft.OrderBook("R", tick_size="0.01", lot_size="1", retain_empty_levels=2)
    for i, p in enumerate(["10.00", "10.01", "10.02", "10.03"]):
        sub(book, BUY, 1, p, oid=i + 1)
        book.cancel(uid(i + 1), timestamp=T)
    assert book.level(BUY, "10.03") is not None
    assert book.level(BUY, "10.02") is not None
    assert book.level(BUY, "10.00") is None


# ----------------------------------------------------------------------------- inputs and units


@pytest.mark.parametrize(
    "price,qty",
    [
        (D("10.05"), D("3")),
        ("10.05", "3"),
        (10.05, 3.0),
        ("10.050", 3),
        (D("10.0500"), D("3.00")),
    ],
)
def test_decimal_int_str_float_inputs_are_equivalent(book, price, qty):
    r = sub(book, BUY, qty, price, oid=1)
    assert r.price == D("10.05") and r.remaining_quantity == D(3)
    assert isinstance(r.price, Decimal) and isinstance(r.remaining_quantity, Decimal)


def test_int_price_is_whole_currency_units(book):
    r = sub(book, BUY, 1, 10, oid=1)
    assert r.price == D("10.00")
    assert book.to_ticks(10) == 1000


def test_fractional_lot_size(lft):
    book = lft.OrderBook("FX", tick_size="0.0001", lot_size="0.001")
    sub(book, SELL, "1.5", "1.2345", oid=1)
    r = sub(book, BUY, D("0.250"), 1.2345, oid=2)
    assert r.filled_quantity == D("0.25") and r.trades[0].price == D("1.2345")
    assert book.depth_at(SELL, "1.2345") == D("1.25")
    assert book.to_lots("1.5") == 1500 and book.to_ticks("1.2345") == 12345


def test_float_is_converted_through_str(book):
    assert book.to_ticks(10.05) == 1005  # str(10.05) == "10.05", not the binary value
    with pytest.raises(lft.InvalidOrder):
        book.to_ticks(0.1 + 0.2)  # str() gives "0.30000000000000004": off the tick grid
    r = sub(book, BUY, 2.0, 0.07, oid=1)
    assert r.price == D("0.07") and r.remaining_quantity == 2


def test_decimal_in_exponent_form_is_accepted(book):
    r = sub(book, BUY, D("1E+1"), D("1E+1"), oid=1)
    assert r.price == D(10) and r.remaining_quantity == D(10)


def test_expire_time_accepts_a_datetime(book):
    when = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    sub(book, BUY, 1, "9.00", oid=1, time_in_force="GTD", expire_time=when)
    assert book.order(uid(1)).expire_time == 1_893_456_000 * 10**9


def test_contains_is_false_for_anything_that_is_not_a_resting_id(book):
    sub(book, BUY, 1, "9.00", oid=1)
    for other in ("not-a-uuid", None, 3.5, -1, 2**200, b"x", uid(2)):
        assert other not in book


def test_side_and_tif_accept_enums_and_strings(book):
    r1 = book.submit("BUY", 1, "9.00", time_in_force="GTC", order_id=1, timestamp=T)
    r2 = book.submit(Side.SELL, 1, "11.00", time_in_force=TimeInForce.DAY, order_id=2, timestamp=T)
    r3 = book.submit("buy", 1, "9.00", time_in_force="gtc", order_id=3, timestamp=T)
    assert (r1.side, r2.side, r3.side) == (BUY, SELL, BUY)
    assert book.order(uid(2)).time_in_force == TimeInForce.DAY


def test_order_ids_accept_uuid_str_and_int(book):
    u = uuid.uuid4()
    r = sub(book, BUY, 1, "9.00", oid=u)
    assert r.order_id == u and isinstance(r.order_id, uuid.UUID)
    r = sub(book, BUY, 1, "9.00", oid=str(uuid.UUID(int=77)))
    assert r.order_id == uid(77)
    r = sub(book, BUY, 1, "9.00", oid=78)
    assert r.order_id == uid(78)
    assert book.cancel(77, timestamp=T).status == OrderStatus.CANCELED
    assert book.cancel(str(u), timestamp=T).status == OrderStatus.CANCELED
    assert book.modify(uid(78), quantity=2, timestamp=T).remaining_quantity == 2


def test_generated_order_ids_are_distinct_uuids(book):
    ids = {sub(book, BUY, 1, "9.00").order_id for _ in range(50)}
    assert len(ids) == 50 and all(isinstance(i, uuid.UUID) for i in ids)
    assert all(i in book for i in ids)


def test_generated_order_ids_are_deterministic_per_book(lft):
    a = lft.OrderBook("A", tick_size="0.01")
    b = lft.OrderBook("A", tick_size="0.01")
    ra = [sub(a, BUY, 1, "9.00").order_id for _ in range(5)]
    rb = [sub(b, BUY, 1, "9.00").order_id for _ in range(5)]
    assert ra == rb


def test_report_and_event_timestamps_are_the_command_time(book):
    sub(book, SELL, 1, "10.00", oid=1, t=5)
    r = sub(book, BUY, 1, "10.00", oid=2, t=17)
    assert r.timestamp == 17 and r.trades[0].timestamp == 17 and r.updates[0].timestamp == 17


def test_datetime_timestamps_convert_to_nanoseconds(book):
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)
    r = book.submit(BUY, 1, "9.00", order_id=1, timestamp=when)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    expected = (when - epoch) // datetime.timedelta(microseconds=1) * 1000
    assert r.timestamp == expected


def test_clock_is_used_when_no_timestamp_is_given(lft):
    now = [100]
    book = lft.OrderBook("CLK", tick_size="0.01", clock=lambda: now[0])
    r1 = book.submit(BUY, 1, "9.00", order_id=1)
    r2 = book.submit(BUY, 1, "9.00", order_id=2, timestamp=5)
    now[0] = 110
    r3 = book.cancel(uid(1))
    assert r1.timestamp == 100 and r2.timestamp == 5 and r3.timestamp == 110


def test_book_properties(lft):
    book = lft.OrderBook("BTC-USD", tick_size="0.5", lot_size="0.001")
    assert book.symbol == "BTC-USD"
    assert book.tick_size == D("0.5") and book.lot_size == D("0.001")
    assert isinstance(book.tick_size, Decimal)


def test_default_tick_and_lot_sizes(lft):
    book = lft.OrderBook("X")
    assert book.tick_size == D("0.01") and book.lot_size == D("1")


def test_to_ticks_to_lots_and_back(book):
    assert book.to_ticks("10.05") == 1005 and book.to_ticks(D("0.01")) == 1
    assert book.to_lots("7") == 7 and book.to_lots(7) == 7
    assert book.from_ticks(1005) == D("10.05") and book.from_lots(7) == D(7)
    assert isinstance(book.from_ticks(1), Decimal)
    with pytest.raises(lft.InvalidOrder):
        book.to_ticks("10.005")
    with pytest.raises(lft.InvalidOrder):
        book.to_lots("1.5")


def test_repr_and_repr_html(book):
    sub(book, BUY, 3, "9.99", oid=1)
    sub(book, SELL, 4, "10.01", oid=2)
    text = repr(book)
    assert "TEST" in text
    html = book._repr_html_()
    assert isinstance(html, str) and "<" in html and "TEST" in html
    assert "9.99" in html and "10.01" in html
