"""Self-checks of the pure-Python reference model (no engine needed).

The differential tests trust ``reference_model.ReferenceBook``; these tests pin the
reference to ``docs/semantics.md`` on small hand-made scenarios and check its internal
invariants on random command streams.
"""

from __future__ import annotations

import random

import pytest
from reference_model import (
    POST_ONLY_REASON,
    DuplicateOrderId,
    InvalidOrder,
    OrderNotFound,
    ReferenceBook,
    Trade,
    Update,
)

T0 = 1_000


def rb():
    return ReferenceBook(tick_size="0.01", lot_size="1")


def px(ticks):
    """ticks -> user price string for a 0.01 tick."""
    return f"{ticks / 100:.2f}"


def test_sequence_numbers_start_at_one_and_cover_every_event():
    b = rb()
    r1 = b.submit("SELL", 5, px(100), order_id=1, timestamp=T0)
    assert r1.report.sequence == 1 and r1.report.status == "NEW"
    r2 = b.submit("BUY", 3, px(101), order_id=2, timestamp=T0)
    # trade, maker update, own report
    assert [type(e) for e in r2.events()] == [Trade, Update, Update]
    assert [e.sequence for e in r2.events()] == [2, 3, 4]
    assert r2.trades[0].price == 100  # maker's price
    assert r2.updates[0].status == "PARTIALLY_FILLED" and r2.updates[0].remaining_quantity == 2
    assert r2.report.status == "FILLED" and r2.report.filled_quantity == 3
    assert b.sequence == 4


def test_price_time_priority_and_fifo():
    b = rb()
    b.submit("SELL", 1, px(101), order_id=1, timestamp=T0)
    b.submit("SELL", 1, px(100), order_id=2, timestamp=T0)
    b.submit("SELL", 1, px(100), order_id=3, timestamp=T0)
    r = b.submit("BUY", 3, px(101), order_id=4, timestamp=T0)
    assert [t.maker_order_id for t in r.trades] == [2, 3, 1]
    assert [t.price for t in r.trades] == [100, 100, 101]


def test_ioc_remainder_cancelled_and_gtc_rests():
    b = rb()
    b.submit("SELL", 2, px(100), order_id=1, timestamp=T0)
    r = b.submit("BUY", 5, px(100), order_id=2, time_in_force="IOC", timestamp=T0)
    assert (r.report.status, r.report.filled_quantity, r.report.remaining_quantity) == ("CANCELED", 2, 0)
    b.submit("SELL", 2, px(100), order_id=3, timestamp=T0)
    r = b.submit("BUY", 5, px(100), order_id=4, timestamp=T0)
    assert (r.report.status, r.report.filled_quantity, r.report.remaining_quantity) == (
        "PARTIALLY_FILLED",
        2,
        3,
    )
    assert b.depth() == ([(100, 3, 1)], [])


def test_fok_counts_hidden_iceberg_quantity():
    b = rb()
    b.submit("SELL", 10, px(100), order_id=1, display_quantity=2, timestamp=T0)
    assert b.depth() == ([], [(100, 2, 1)])
    r = b.submit("BUY", 10, px(100), order_id=2, time_in_force="FOK", timestamp=T0)
    assert r.report.status == "FILLED"
    assert [t.quantity for t in r.trades] == [2, 2, 2, 2, 2]
    b.submit("SELL", 3, px(100), order_id=3, display_quantity=1, timestamp=T0)
    r = b.submit("BUY", 4, px(100), order_id=4, time_in_force="FOK", timestamp=T0)
    assert (r.report.status, r.report.filled_quantity, r.trades) == ("CANCELED", 0, [])
    assert b.depth() == ([], [(100, 1, 1)])


def test_iceberg_slice_requeued_behind_later_orders():
    b = rb()
    b.submit("SELL", 4, px(100), order_id=1, display_quantity=2, timestamp=T0)
    b.submit("SELL", 3, px(100), order_id=2, timestamp=T0)
    r = b.submit("BUY", 6, px(100), order_id=3, timestamp=T0)
    assert [(t.maker_order_id, t.quantity) for t in r.trades] == [(1, 2), (2, 3), (1, 1)]
    assert b.depth() == ([], [(100, 1, 1)])
    assert b.order(1)["open"] == 1


def test_post_only_reject_changes_nothing_but_takes_a_sequence():
    b = rb()
    b.submit("SELL", 1, px(100), order_id=1, timestamp=T0)
    r = b.submit("BUY", 1, px(100), order_id=2, post_only=True, timestamp=T0)
    assert r.report.status == "REJECTED" and r.report.reject_reason == POST_ONLY_REASON
    assert (r.report.filled_quantity, r.report.remaining_quantity) == (0, 0)
    assert r.report.sequence == 2 and not r.trades
    assert b.depth() == ([], [(100, 1, 1)])


def test_gtd_sweep_order_and_never_trades_after_expiry():
    b = rb()
    b.submit("SELL", 1, px(101), order_id=1, time_in_force="GTD", expire_time=T0 + 10, timestamp=T0)
    b.submit("SELL", 1, px(100), order_id=2, time_in_force="GTD", expire_time=T0 + 5, timestamp=T0)
    b.submit("SELL", 1, px(102), order_id=3, time_in_force="GTD", expire_time=T0 + 5, timestamp=T0)
    r = b.submit("BUY", 1, px(102), order_id=4, timestamp=T0 + 10)
    assert [(u.order_id, u.status) for u in r.updates] == [(2, "EXPIRED"), (3, "EXPIRED"), (1, "EXPIRED")]
    assert [u.sequence for u in r.updates] == [4, 5, 6]
    assert r.report.status == "NEW" and r.report.sequence == 7
    with pytest.raises(OrderNotFound):
        b.cancel(2, timestamp=T0 + 11)


def test_cancel_of_due_gtd_raises_and_changes_nothing():
    b = rb()
    b.submit("SELL", 1, px(101), order_id=1, time_in_force="GTD", expire_time=T0 + 10, timestamp=T0)
    with pytest.raises(OrderNotFound):
        b.cancel(1, timestamp=T0 + 10)
    assert len(b) == 1 and b.sequence == 1  # no sweep ran
    assert b.expire(T0 + 10)[0].status == "EXPIRED"
    assert len(b) == 0


def test_end_of_day_expires_day_orders_in_acceptance_order():
    b = rb()
    b.submit("BUY", 1, px(99), order_id=1, time_in_force="DAY", timestamp=T0)
    b.submit("BUY", 1, px(98), order_id=2, time_in_force="GTC", timestamp=T0)
    b.submit("SELL", 1, px(101), order_id=3, time_in_force="DAY", timestamp=T0)
    b.submit("SELL", 1, px(102), order_id=4, time_in_force="GTD", expire_time=T0 + 1, timestamp=T0)
    ups = b.end_of_day(T0 + 5)
    assert [(u.order_id, u.status) for u in ups] == [(4, "EXPIRED"), (1, "EXPIRED"), (3, "EXPIRED")]
    assert len(b) == 1


def test_modify_rules():
    b = rb()
    b.submit("BUY", 5, px(100), order_id=1, timestamp=T0)
    b.submit("BUY", 5, px(100), order_id=2, timestamp=T0)
    # decrease keeps priority
    r = b.modify(1, quantity=3, timestamp=T0)
    assert r.report.status == "NEW" and r.report.remaining_quantity == 3
    assert [o["id"] for o in b.levels["BUY"][100]] == [1, 2]
    # increase loses priority
    b.modify(1, quantity=4, timestamp=T0)
    assert [o["id"] for o in b.levels["BUY"][100]] == [2, 1]
    # same everything: no change, still a report
    seq = b.sequence
    r = b.modify(1, quantity=4, price=px(100), timestamp=T0)
    assert r.report.sequence == seq + 1 and [o["id"] for o in b.levels["BUY"][100]] == [2, 1]
    # crossing modify trades as taker at the maker's price
    b.submit("SELL", 2, px(102), order_id=3, timestamp=T0)
    r = b.modify(1, price=px(103), timestamp=T0)
    assert [(t.maker_order_id, t.taker_order_id, t.price, t.quantity) for t in r.trades] == [(3, 1, 102, 2)]
    assert (r.report.status, r.report.filled_quantity, r.report.remaining_quantity) == (
        "PARTIALLY_FILLED",
        2,
        2,
    )
    assert b.best_bid == 103
    with pytest.raises(InvalidOrder):
        b.modify(1, timestamp=T0)
    with pytest.raises(OrderNotFound):
        b.modify(3, quantity=1, timestamp=T0)


def test_post_only_modify_that_would_cross_is_rejected_unchanged():
    b = rb()
    b.submit("SELL", 1, px(101), order_id=1, timestamp=T0)
    b.submit("BUY", 4, px(99), order_id=2, post_only=True, timestamp=T0)
    before = b.depth()
    r = b.modify(2, price=px(101), timestamp=T0)
    assert r.report.status == "REJECTED" and r.report.remaining_quantity == 4
    assert b.depth() == before and b.order(2)["price"] == 99


def test_errors_change_nothing():
    b = rb()
    b.submit("SELL", 1, px(101), order_id=1, timestamp=T0)
    with pytest.raises(DuplicateOrderId):
        b.submit("BUY", 1, px(99), order_id=1, timestamp=T0)
    for bad in [
        dict(quantity=0, price=px(99)),
        dict(quantity=1, price="0.995"),
        dict(quantity="nan", price=px(99)),
        dict(quantity=1, price=None, time_in_force="GTC"),
        dict(quantity=1, price=px(99), time_in_force="GTD"),
        dict(quantity=1, price=px(99), time_in_force="IOC", post_only=True),
        dict(quantity=1, price=px(99), display_quantity=2),
        dict(quantity=2**63, price=px(99)),
    ]:
        with pytest.raises(InvalidOrder):
            b.submit("BUY", order_id=9, timestamp=T0, **bad)
    assert b.sequence == 1 and len(b) == 1
    # finished id may be reused
    b.cancel(1, timestamp=T0)
    b.submit("BUY", 1, px(99), order_id=1, timestamp=T0)


OPS = ["limit", "limit", "limit", "market", "cancel", "modify", "expire", "eod"]


@pytest.mark.parametrize("seed", range(20))
def test_random_streams_keep_invariants(seed):
    rng = random.Random(seed)
    b = rb()
    t = T0
    ids = list(range(1, 30))
    for _ in range(400):
        t += rng.randint(0, 3)
        op = rng.choice(OPS)
        seq0 = b.sequence
        try:
            if op == "limit":
                tif = rng.choice(["GTC", "IOC", "FOK", "GTD", "DAY"])
                qty = rng.randint(1, 8)
                kw = {}
                if tif == "GTD":
                    kw["expire_time"] = t + rng.randint(1, 20)
                if tif in ("GTC", "GTD", "DAY") and rng.random() < 0.2:
                    kw["display_quantity"] = rng.randint(1, qty)
                if tif in ("GTC", "GTD", "DAY") and rng.random() < 0.2:
                    kw["post_only"] = True
                side = rng.choice(["BUY", "SELL"])
                r = b.submit(
                    side,
                    qty,
                    px(rng.randint(95, 105)),
                    time_in_force=tif,
                    order_id=rng.choice(ids),
                    timestamp=t,
                    **kw,
                )
            elif op == "market":
                side = rng.choice(["BUY", "SELL"])
                qty = rng.randint(1, 8)
                r = b.submit(
                    side, qty, time_in_force=rng.choice(["IOC", "FOK"]), order_id=rng.choice(ids), timestamp=t
                )
            elif op == "cancel":
                r = b.cancel(rng.choice(ids), timestamp=t)
            elif op == "modify":
                r = b.modify(
                    rng.choice(ids),
                    quantity=rng.choice([None, 1, 3, 6]),
                    price=rng.choice([None, px(rng.randint(95, 105))]),
                    timestamp=t,
                )
            elif op == "expire":
                evs = b.expire(t)
                assert [e.sequence for e in evs] == list(range(seq0 + 1, b.sequence + 1))
                r = None
            else:
                evs = b.end_of_day(t)
                assert [e.sequence for e in evs] == list(range(seq0 + 1, b.sequence + 1))
                r = None
        except (InvalidOrder, DuplicateOrderId, OrderNotFound):
            assert b.sequence == seq0
            b.check_invariants()
            continue
        if r is not None:
            evs = r.events()
            assert [e.sequence for e in evs] == list(range(seq0 + 1, b.sequence + 1))
            assert evs[-1] is r.report
            for tr in r.trades:
                assert tr.taker_order_id == r.report.order_id
            if op in ("limit", "market"):
                assert r.report.filled_quantity == sum(tr.quantity for tr in r.trades)
            # every trade is followed by exactly one update of its maker
            trade_makers = [e.maker_order_id for e in evs if isinstance(e, Trade)]
            for i, e in enumerate(evs):
                if isinstance(e, Trade):
                    nxt = evs[i + 1]
                    assert isinstance(nxt, Update) and nxt.order_id == e.maker_order_id
                    assert nxt.status in ("PARTIALLY_FILLED", "FILLED")
            assert len(trade_makers) == len(r.trades)
        b.check_invariants()
