"""The non-raising forms of `OrderBook.cancel` and `OrderBook.modify` (`missing_ok=True`):
for flow in which a cancel or modify of an order that already traded is normal. They answer
a miss with False / None where the plain forms raise `OrderNotFound`, leave the book exactly
as the plain forms do, and still raise for everything else."""

from __future__ import annotations

from decimal import Decimal

import lockfree_trading as lt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def book() -> lt.OrderBook:
    return lt.OrderBook("M", tick_size="0.01", lot_size="1")


def test_cancel_missing_ok_is_true_for_a_resting_order_and_removes_it() -> None:
    b = book()
    r = b.submit(lt.Side.BUY, 5, "10.00", timestamp=1)
    assert b.cancel(r.order_id, timestamp=2, missing_ok=True) is True
    assert r.order_id not in b and len(b) == 0 and b.best_bid is None


def test_cancel_missing_ok_is_false_for_unknown_traded_and_cancelled_orders() -> None:
    b = book()
    traded = b.submit(lt.Side.SELL, 5, "10.00", timestamp=1)
    b.submit(lt.Side.BUY, 5, "10.00", timestamp=2)  # trades it away
    gone = b.submit(lt.Side.BUY, 1, "9.00", timestamp=3)
    b.cancel(gone.order_id, timestamp=4)
    for missing in (traded.order_id, gone.order_id, 123_456):
        assert b.cancel(missing, timestamp=5, missing_ok=True) is False
    with pytest.raises(lt.OrderNotFound):
        b.cancel(123_456, timestamp=5)


def test_modify_missing_ok_returns_the_report_or_none() -> None:
    b = book()
    r = b.submit(lt.Side.BUY, 5, "10.00", timestamp=1)
    report = b.modify(r.order_id, quantity=3, timestamp=2, missing_ok=True)
    assert isinstance(report, lt.ExecutionReport) and b.order(r.order_id).remaining_quantity == Decimal(3)
    assert b.modify(999, quantity=3, timestamp=3, missing_ok=True) is None


@pytest.mark.parametrize("bad_id", [-1, "not-an-id", 2**128])
def test_missing_ok_still_raises_for_a_malformed_id(bad_id: object) -> None:
    b = book()
    with pytest.raises(lt.TradingError):
        b.cancel(bad_id, timestamp=1, missing_ok=True)  # type: ignore[call-overload]
    with pytest.raises(lt.TradingError):
        b.modify(bad_id, quantity=1, timestamp=1, missing_ok=True)  # type: ignore[call-overload]


def test_missing_ok_still_raises_for_a_bad_modify() -> None:
    b = book()
    r = b.submit(lt.Side.BUY, 5, "10.00", timestamp=1)
    with pytest.raises(lt.InvalidOrder):
        b.modify(r.order_id, price="10.001", timestamp=2, missing_ok=True)  # off the tick grid


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["new", "ioc", "cancel", "modify"]),
            st.sampled_from([lt.Side.BUY, lt.Side.SELL]),
            st.integers(95, 105),
            st.integers(1, 9),
            st.integers(0, 30),
        ),
        max_size=80,
    )
)
def test_the_non_raising_forms_leave_the_same_book_as_the_raising_forms(
    commands: list[tuple[str, lt.Side, int, int, int]],
) -> None:
    plain, quiet = book(), book()
    misses_plain = misses_quiet = 0
    for t, (kind, side, price, qty, target) in enumerate(commands, start=1):
        px = Decimal(price) / 100
        if kind in ("new", "ioc"):
            tif = "IOC" if kind == "ioc" else "GTC"
            for b in (plain, quiet):
                b.submit(side, qty, px, time_in_force=tif, order_id=t, timestamp=t)
        elif kind == "cancel":
            try:
                plain.cancel(target, timestamp=t)
            except lt.OrderNotFound:
                misses_plain += 1
            misses_quiet += not quiet.cancel(target, timestamp=t, missing_ok=True)
        else:
            try:
                plain.modify(target, quantity=qty, price=px, timestamp=t)
            except lt.OrderNotFound:
                misses_plain += 1
            misses_quiet += quiet.modify(target, quantity=qty, price=px, timestamp=t, missing_ok=True) is None
        assert quiet.state_hash() == plain.state_hash()
    assert misses_quiet == misses_plain
