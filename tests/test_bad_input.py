"""Every rejection path: the right exception, a message that names the problem, and a book
that is exactly as it was (state_hash, sequence, depth, orders)."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import lockfree_trading as lft
import pytest
from lockfree_trading import Side
from reference_model import engine_snapshot

T = 1_000_000
BUY, SELL = Side.BUY, Side.SELL


def uid(n):
    return uuid.UUID(int=n)


@pytest.fixture
def busy_book():
    """A book with a few resting orders of every flavour, so 'unchanged' means something."""
    b = lft.OrderBook("BAD", tick_size="0.01", lot_size="1")
    b.submit(BUY, 5, "9.99", order_id=1, timestamp=T)
    b.submit(SELL, 5, "10.01", order_id=2, timestamp=T)
    b.submit(BUY, 9, "9.98", order_id=3, display_quantity=3, timestamp=T)
    b.submit(SELL, 4, "10.02", order_id=4, time_in_force="GTD", expire_time=T + 10_000, timestamp=T)
    b.submit(BUY, 2, "9.97", order_id=5, time_in_force="DAY", post_only=True, timestamp=T)
    b.submit(SELL, 1, "10.00", order_id=6, timestamp=T)
    b.submit(BUY, 2, "10.01", order_id=7, timestamp=T)  # fills 6, partially fills 2
    # a GTD order that is due at T + 100 but not swept yet: a failed command must not sweep
    b.submit(SELL, 1, "10.05", order_id=8, time_in_force="GTD", expire_time=T + 100, timestamp=T)
    return b


def full_snapshot(book):
    snap = engine_snapshot(book)
    orders = {}
    for oid in range(1, 12):
        o = book.order(uid(oid))
        orders[oid] = (
            None
            if o is None
            else (
                o.price,
                o.remaining_quantity,
                o.visible_quantity,
                o.filled_quantity,
                o.time_in_force.name,
                o.expire_time,
            )
        )
    snap["orders"] = orders
    snap["levels"] = [
        None
        if (s := book.level(side, p)) is None
        else (s.orders_added, s.orders_cancelled, s.orders_expired, s.quantity_executed, s.last_activity)
        for side in (BUY, SELL)
        for p in ("9.97", "9.98", "9.99", "10.00", "10.01", "10.02", "10.05")
    ]
    return snap


def check_rejected(book, fn, exc_type, keyword):
    before = full_snapshot(book)
    with pytest.raises(exc_type) as info:
        fn(book)
    assert re.search(keyword, str(info.value), re.IGNORECASE), (
        f"message {str(info.value)!r} does not mention /{keyword}/"
    )
    assert full_snapshot(book) == before
    return info.value


def new(side=BUY, qty=1, price="9.00", **kw):
    kw.setdefault("timestamp", T + 100)
    kw.setdefault("order_id", 100)
    return lambda b: b.submit(side, qty, price, **kw)


def market(side=BUY, qty=1, **kw):
    kw.setdefault("timestamp", T + 100)
    kw.setdefault("order_id", 100)
    return lambda b: b.submit(side, qty, **kw)


PRICE = r"price"
QTY = r"quantit"
TICK = r"tick|multiple|grid"
LOT = r"lot|multiple"
OVERFLOW = r"overflow|too (large|big)|range|i64|exceed|fit"

SUBMIT_CASES = {
    # price
    "price_off_tick_grid": (new(price="10.005"), TICK),
    "price_off_tick_grid_decimal": (new(price=Decimal("9.999")), TICK),
    "price_off_tick_grid_float": (new(price=9.001), TICK),
    "price_zero": (new(price="0"), PRICE),
    "price_negative": (new(price="-1.00"), PRICE),
    "price_nan": (new(price="NaN"), r"price|nan|finite"),
    "price_float_nan": (new(price=float("nan")), r"price|nan|finite"),
    "price_inf": (new(price="Infinity"), r"price|inf|finite"),
    "price_float_inf": (new(price=float("inf")), r"price|inf|finite"),
    "price_abc": (new(price="abc"), r"price|abc|decimal|number"),
    "price_overflows_i64_ticks": (new(price=Decimal(2**63) / 100), OVERFLOW),
    # beyond the 96-bit decimal range: said to be out of range, not "not finite"
    "price_huge": (new(price=Decimal("1e40")), r"price .*out of range"),
    # quantity
    "quantity_zero": (new(qty=0), QTY),
    "quantity_negative": (new(qty=-5), QTY),
    "quantity_off_lot": (new(qty="1.5"), LOT),
    "quantity_nan": (new(qty="NaN"), r"quantit|nan|finite"),
    "quantity_float_nan": (new(qty=float("nan")), r"quantit|nan|finite"),
    "quantity_inf": (new(qty=float("inf")), r"quantit|inf|finite"),
    "quantity_abc": (new(qty="abc"), r"quantit|abc|decimal|number"),
    "quantity_overflows_i64_lots": (new(qty=2**63), OVERFLOW),
    "quantity_huge_decimal": (new(qty=Decimal("1e30")), r"quantity .*out of range"),
    # order type / price presence
    "limit_without_price": (market(order_type="LIMIT"), PRICE),
    "market_with_price": (new(order_type="MARKET"), r"price|market"),
    "market_gtc": (market(time_in_force="GTC"), r"market|ioc|fok|time.in.force"),
    "market_day": (market(time_in_force="DAY"), r"market|ioc|fok|time.in.force"),
    "market_gtd": (market(time_in_force="GTD", expire_time=T + 200), r"market|ioc|fok|time.in.force"),
    # post-only
    "post_only_market": (market(post_only=True), r"post"),
    "post_only_ioc": (new(post_only=True, time_in_force="IOC"), r"post"),
    "post_only_fok": (new(post_only=True, time_in_force="FOK"), r"post"),
    # iceberg
    "display_zero": (new(qty=5, display_quantity=0), r"display"),
    "display_negative": (new(qty=5, display_quantity=-1), r"display"),
    "display_above_quantity": (new(qty=5, display_quantity=6), r"display"),
    "display_off_lot": (new(qty=5, display_quantity="1.5"), r"display|lot|multiple"),
    "display_on_market": (market(qty=5, display_quantity=1), r"display|iceberg"),
    "display_on_ioc": (new(qty=5, display_quantity=1, time_in_force="IOC"), r"display|iceberg"),
    "display_on_fok": (new(qty=5, display_quantity=1, time_in_force="FOK"), r"display|iceberg"),
    # GTD / expire_time
    "gtd_without_expire_time": (new(time_in_force="GTD"), r"expire"),
    "expire_time_on_gtc": (new(time_in_force="GTC", expire_time=T + 500), r"expire"),
    "expire_time_on_default_tif": (new(expire_time=T + 500), r"expire"),
    "expire_time_on_day": (new(time_in_force="DAY", expire_time=T + 500), r"expire"),
    "expire_time_on_ioc": (new(time_in_force="IOC", expire_time=T + 500), r"expire"),
    "expire_time_equal_to_timestamp": (new(time_in_force="GTD", expire_time=T + 100), r"expire"),
    "expire_time_before_timestamp": (new(time_in_force="GTD", expire_time=T + 99), r"expire"),
    # enum strings
    "bad_side_string": (new(side="SIDEWAYS"), r"side"),
    "bad_tif_string": (new(time_in_force="FOREVER"), r"time.in.force|tif|forever"),
    "bad_order_type_string": (new(order_type="STOP"), r"order.type|type|stop"),
}


@pytest.mark.parametrize("name", sorted(SUBMIT_CASES))
def test_invalid_new_order_raises_invalid_order_and_changes_nothing(busy_book, name):
    fn, keyword = SUBMIT_CASES[name]
    exc = check_rejected(busy_book, fn, lft.InvalidOrder, keyword)
    assert isinstance(exc, ValueError) and isinstance(exc, lft.TradingError)


def test_duplicate_resting_id_raises_duplicate_order_id(busy_book):
    exc = check_rejected(busy_book, new(order_id=1), lft.DuplicateOrderId, r"duplicate|already|resting")
    assert str(uid(1)) in str(exc)
    assert isinstance(exc, lft.TradingError)


@pytest.mark.parametrize("oid", [2, str(uid(3)), uid(4)])
def test_duplicate_id_in_any_form_is_detected(busy_book, oid):
    check_rejected(
        busy_book, new(order_id=oid, time_in_force="IOC"), lft.DuplicateOrderId, r"duplicate|already|resting"
    )


def test_duplicate_id_is_checked_even_when_the_order_would_be_rejected_by_post_only(busy_book):
    check_rejected(
        busy_book,
        new(order_id=5, price="10.01", post_only=True),
        lft.DuplicateOrderId,
        r"duplicate|already|resting",
    )


MODIFY_CASES = {
    "nothing_to_change": (dict(), r"quantit|price|nothing|change"),
    "quantity_zero": (dict(quantity=0), QTY),
    "quantity_negative": (dict(quantity=-1), QTY),
    "quantity_off_lot": (dict(quantity="0.5"), LOT),
    "quantity_nan": (dict(quantity=float("nan")), r"quantit|nan|finite"),
    "quantity_overflow": (dict(quantity=2**64), OVERFLOW),
    "price_off_tick": (dict(price="9.995"), TICK),
    "price_zero": (dict(price=0), PRICE),
    "price_negative": (dict(price="-9.99"), PRICE),
    "price_abc": (dict(price="abc"), r"price|abc|decimal|number"),
    "price_overflow": (dict(price=Decimal(2**64)), OVERFLOW),
}


@pytest.mark.parametrize("name", sorted(MODIFY_CASES))
def test_invalid_modify_raises_invalid_order_and_changes_nothing(busy_book, name):
    kw, keyword = MODIFY_CASES[name]
    check_rejected(busy_book, lambda b: b.modify(uid(1), timestamp=T + 100, **kw), lft.InvalidOrder, keyword)


NOT_RESTING = {
    "unknown": 999,
    "filled": 6,  # filled by order 7
    "taker_filled": 7,
    "due_gtd": 8,  # expire_time T + 100 == command timestamp
}


@pytest.mark.parametrize("name", sorted(NOT_RESTING))
def test_cancel_of_id_not_resting_raises_order_not_found(busy_book, name):
    oid = NOT_RESTING[name]
    exc = check_rejected(
        busy_book,
        lambda b: b.cancel(uid(oid), timestamp=T + 100),
        lft.OrderNotFound,
        r"not|found|resting|unknown",
    )
    assert isinstance(exc, KeyError) and isinstance(exc, lft.TradingError)
    assert str(uid(oid)) in str(exc)


@pytest.mark.parametrize("name", sorted(NOT_RESTING))
def test_modify_of_id_not_resting_raises_order_not_found(busy_book, name):
    oid = NOT_RESTING[name]
    exc = check_rejected(
        busy_book,
        lambda b: b.modify(uid(oid), quantity=2, timestamp=T + 100),
        lft.OrderNotFound,
        r"not|found|resting|unknown",
    )
    assert isinstance(exc, KeyError)
    assert str(uid(oid)) in str(exc)


def test_cancel_of_cancelled_order_raises(busy_book):
    busy_book.cancel(uid(1), timestamp=T + 1)
    check_rejected(
        busy_book, lambda b: b.cancel(uid(1), timestamp=T + 2), lft.OrderNotFound, r"not|found|resting"
    )


def test_order_not_found_is_catchable_as_key_error(busy_book):
    with pytest.raises(KeyError):
        busy_book.cancel(uid(12345), timestamp=T)
    with pytest.raises(lft.TradingError):
        busy_book.modify(12345, price="9.00", timestamp=T)


@pytest.mark.parametrize(
    "tick,lot,keyword",
    [
        ("0", "1", r"tick"),
        ("-0.01", "1", r"tick"),
        ("NaN", "1", r"tick"),
        ("abc", "1", r"tick"),
        (float("inf"), "1", r"tick"),
        ("0.01", "0", r"lot"),
        ("0.01", "-1", r"lot"),
        ("0.01", "NaN", r"lot"),
        ("0.01", float("nan"), r"lot"),
    ],
)
def test_invalid_tick_or_lot_size_is_refused(tick, lot, keyword):
    with pytest.raises(ValueError) as info:
        lft.OrderBook("X", tick_size=tick, lot_size=lot)
    assert re.search(keyword, str(info.value), re.IGNORECASE), str(info.value)


@pytest.mark.parametrize("value", ["10.005", "0", "-1", "NaN", "abc", Decimal(2**70)])
def test_to_ticks_refuses_what_submit_refuses(busy_book, value):
    before = full_snapshot(busy_book)
    with pytest.raises(lft.InvalidOrder):
        busy_book.to_ticks(value)
    assert full_snapshot(busy_book) == before


@pytest.mark.parametrize("value", ["1.5", "0", "-1", "inf", 2**64])
def test_to_lots_refuses_what_submit_refuses(busy_book, value):
    with pytest.raises(lft.InvalidOrder):
        busy_book.to_lots(value)


I64_MAX = 2**63 - 1


def test_order_that_would_overflow_its_level_total_is_refused(busy_book):
    # each order fits an i64, but the level's visible total would not
    busy_book.submit(SELL, I64_MAX - 10, "10.50", order_id=50, timestamp=T)
    check_rejected(busy_book, new(side=SELL, qty=11, price="10.50"), lft.InvalidOrder, OVERFLOW)
    check_rejected(
        busy_book,
        lambda b: b.modify(uid(2), quantity=I64_MAX, price="10.50", timestamp=T),
        lft.InvalidOrder,
        OVERFLOW,
    )
    r = busy_book.submit(SELL, 10, "10.50", order_id=51, timestamp=T)
    assert r.status.name == "NEW"
    assert busy_book.depth_at(SELL, "10.50") == I64_MAX


def test_failed_commands_do_not_run_the_expiry_sweep(busy_book):
    # order 8 is due at T + 100; a run of failures at that time must leave it in place
    for name in ("price_off_tick_grid", "quantity_zero", "gtd_without_expire_time"):
        with pytest.raises(lft.InvalidOrder):
            SUBMIT_CASES[name][0](busy_book)
    assert uid(8) in busy_book
    seq = busy_book.sequence
    ups = busy_book.expire(T + 100)
    assert [u.order_id for u in ups] == [uid(8)] and ups[0].sequence == seq + 1


def test_book_still_works_after_errors(busy_book):
    for name in sorted(SUBMIT_CASES):
        with pytest.raises(lft.InvalidOrder):
            SUBMIT_CASES[name][0](busy_book)
    r = busy_book.submit(BUY, 3, "10.01", order_id=100, timestamp=T + 10)
    assert r.status.name == "FILLED"
