"""OrderBook.snapshot / OrderBook.restore / pickling: a restored book is the same book."""

from __future__ import annotations

import copy
import pickle
import random
from decimal import Decimal

import lockfree_trading as lft
import pytest
from lockfree_trading import Side, TimeInForce

T = 1_000_000


def update_tuple(u):
    return (
        u.sequence,
        u.order_id,
        u.side,
        u.status,
        u.filled_quantity,
        u.remaining_quantity,
        u.price,
        u.reject_reason,
        u.timestamp,
    )


def report_tuple(r):
    trades = [
        (t.sequence, t.price, t.quantity, t.maker_order_id, t.taker_order_id, t.timestamp) for t in r.trades
    ]
    return (update_tuple(r), trades, [update_tuple(u) for u in r.updates])


def depth_tuple(book):
    d = book.depth(1000)
    return (
        [(x.price, x.quantity, x.order_count) for x in d.bids],
        [(x.price, x.quantity, x.order_count) for x in d.asks],
    )


def levels(book):
    out = {}
    for side in (Side.BUY, Side.SELL):
        for p in range(90, 111):
            lvl = book.level(side, Decimal(p) / 100)
            if lvl is not None:
                out[(side, p)] = repr(lvl)
    return out


def orders(book, ids):
    return {i: repr(book.order(i)) for i in ids}


def random_commands(seed, n):
    rng = random.Random(seed)
    cmds = []
    t = T
    for i in range(n):
        t += rng.randrange(3)
        k = rng.random()
        if k < 0.6:
            tif = rng.choice(
                [TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.DAY, TimeInForce.GTD]
            )
            kw = {"time_in_force": tif, "order_id": i + 1, "timestamp": t}
            qty = rng.randrange(1, 20)
            if tif == TimeInForce.GTD:
                kw["expire_time"] = t + rng.randrange(1, 30)
            if tif != TimeInForce.IOC and rng.random() < 0.2:
                kw["display_quantity"] = rng.randrange(1, qty + 1)
            if tif != TimeInForce.IOC and rng.random() < 0.1:
                kw["post_only"] = True
            price = Decimal(rng.randrange(90, 111)) / 100
            cmds.append(("submit", (rng.choice([Side.BUY, Side.SELL]), qty, price), kw))
        elif k < 0.75:
            cmds.append(("cancel", (rng.randrange(1, i + 2),), {"timestamp": t}))
        elif k < 0.95:
            cmds.append(("modify", (rng.randrange(1, i + 2), rng.randrange(1, 25)), {"timestamp": t}))
        else:
            cmds.append(("expire", (t,), {}))
    return cmds


def run(book, cmd):
    name, args, kw = cmd
    try:
        r = getattr(book, name)(*args, **kw)
    except lft.TradingError as e:
        return ("error", type(e).__name__, str(e))
    if name == "expire":
        return [update_tuple(u) for u in r]
    return report_tuple(r)


def assert_same(a, b, ids):
    assert a.state_hash() == b.state_hash()
    assert a.sequence == b.sequence
    assert len(a) == len(b)
    assert (a.best_bid, a.best_ask) == (b.best_bid, b.best_ask)
    assert depth_tuple(a) == depth_tuple(b)
    assert levels(a) == levels(b)
    assert orders(a, ids) == orders(b, ids)
    assert (a.symbol, a.tick_size, a.lot_size) == (b.symbol, b.tick_size, b.lot_size)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_then_the_same_commands_give_the_same_reports(seed):
    cmds = random_commands(seed, 400)
    a = lft.OrderBook("SNAP", tick_size="0.01", lot_size="1", retain_empty_levels=3)
    for c in cmds[:200]:
        run(a, c)
    data = a.snapshot()
    assert isinstance(data, bytes) and data.startswith(b"LFTBOOK\0")
    b = lft.OrderBook.restore(data)
    assert isinstance(b, lft.OrderBook)
    ids = range(0, 402)
    assert_same(a, b, ids)
    assert b.snapshot() == data
    for c in cmds[200:]:
        assert run(a, c) == run(b, c), c
    assert_same(a, b, ids)


def test_generated_ids_continue_the_same_way():
    a = lft.OrderBook("IDS", tick_size="0.5", lot_size="0.001")
    a.submit("buy", "1.5", "100", timestamp=T)
    b = lft.OrderBook.restore(a.snapshot())
    ra = a.submit("sell", "0.5", "101", timestamp=T + 1)
    rb = b.submit("sell", "0.5", "101", timestamp=T + 1)
    assert ra.order_id == rb.order_id
    assert b.tick_size == Decimal("0.5") and b.lot_size == Decimal("0.001")


def test_pickle_and_deepcopy_give_an_equal_independent_book():
    a = lft.OrderBook("PKL", tick_size="0.01", lot_size="1")
    a.submit("buy", 5, "99.5", order_id=1, timestamp=T)
    a.submit("sell", 7, "100.5", order_id=2, display_quantity=2, timestamp=T)
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
        assert_same(a, b, [1, 2, 3])
        b.cancel(1, timestamp=T + 1)
        assert 1 in a and 1 not in b


def test_a_restored_book_uses_the_default_clock():
    a = lft.OrderBook("CLK", tick_size="0.01", lot_size="1", clock=lambda: 42)
    a.submit("buy", 1, "1.00", order_id=1)
    b = pickle.loads(pickle.dumps(a))
    assert b.order(1).timestamp == a.order(1).timestamp
    assert b.submit("buy", 1, "1.00", order_id=2).timestamp != 42


def test_an_empty_book_round_trips():
    a = lft.OrderBook("EMPTY")
    b = lft.OrderBook.restore(a.snapshot())
    assert_same(a, b, [1])
    assert len(b) == 0


def test_corrupt_bytes_raise_corrupt_data():
    a = lft.OrderBook("BAD", tick_size="0.01", lot_size="1")
    a.submit("buy", 5, "99.5", order_id=1, timestamp=T)
    data = a.snapshot()
    for bad in (b"", b"LFTBOOK\0", data[:-1], data[:40], data + b"\0", b"x" * len(data)):
        with pytest.raises(lft.CorruptData):
            lft.OrderBook.restore(bad)
    flipped = bytearray(data)
    flipped[30] ^= 0x10
    with pytest.raises(lft.CorruptData, match="CRC32C"):
        lft.OrderBook.restore(bytes(flipped))
    version = bytearray(data)
    version[8] = 7
    with pytest.raises(lft.CorruptData, match="unsupported book image version 7"):
        lft.OrderBook.restore(bytes(version))
    assert isinstance(lft.CorruptData("x"), ValueError)


@pytest.mark.parametrize("value", ["LFTBOOK", 17, None, bytearray(b"LFTBOOK\0"), memoryview(b"abc")])
def test_restore_takes_only_bytes(value):
    with pytest.raises(TypeError):
        lft.OrderBook.restore(value)
