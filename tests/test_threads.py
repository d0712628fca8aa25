"""Concurrency: readers see consistent snapshots while a writer works; concurrent writers are
serialised (every event sequence number is used exactly once, quantities are conserved and
a replay in the processing order reproduces the same events)."""

from __future__ import annotations

import random
import sys
import threading
import time
import uuid
from decimal import Decimal

import lockfree_trading as lft
import pytest
from reference_model import ReferenceBook, conv_report, engine_depth, mask_reason

READ_SECONDS = 1.5


def _check_depth(d):
    """Return an error string for an inconsistent depth snapshot, or None."""
    bids = [(lv.price, lv.quantity, lv.order_count) for lv in d.bids]
    asks = [(lv.price, lv.quantity, lv.order_count) for lv in d.asks]
    for name, levels in (("bid", bids), ("ask", asks)):
        for price, qty, count in levels:
            if not qty > 0 or not count > 0:
                return f"{name} level {price} has quantity {qty} and {count} orders"
    bid_prices = [p for p, _, _ in bids]
    ask_prices = [p for p, _, _ in asks]
    if bid_prices != sorted(bid_prices, reverse=True) or len(set(bid_prices)) != len(bid_prices):
        return f"bids out of order: {bid_prices}"
    if ask_prices != sorted(ask_prices) or len(set(ask_prices)) != len(ask_prices):
        return f"asks out of order: {ask_prices}"
    if bids and asks and not bids[0][0] < asks[0][0]:
        return f"crossed book: best bid {bids[0][0]} >= best ask {asks[0][0]}"
    return None


def test_readers_never_see_an_inconsistent_book_while_a_writer_trades():
    book = lft.OrderBook("RW", tick_size="0.01", lot_size="1")
    stop = threading.Event()
    errors: list[str] = []
    reads = [0]
    writes = [0]

    def writer():
        rng = random.Random(1)
        live: list[uuid.UUID] = []
        t = 1_000
        n = 0
        try:
            while not stop.is_set():
                t += 1
                n += 1
                r = rng.random()
                if r < 0.6 or not live:
                    side = rng.choice(["BUY", "SELL"])
                    price = Decimal(rng.randint(95, 105)) / 100
                    kw = {}
                    if rng.random() < 0.15:
                        kw["display_quantity"] = 1
                    if rng.random() < 0.1:
                        kw["time_in_force"] = "IOC"
                        kw.pop("display_quantity", None)
                    rep = book.submit(side, rng.randint(1, 6), price, order_id=n, timestamp=t, **kw)
                    if rep.status in (lft.OrderStatus.NEW, lft.OrderStatus.PARTIALLY_FILLED):
                        live.append(rep.order_id)
                elif r < 0.8:
                    oid = live.pop(rng.randrange(len(live)))
                    try:
                        book.cancel(oid, timestamp=t)
                    except lft.OrderNotFound:
                        pass  # filled meanwhile
                elif r < 0.95:
                    oid = rng.choice(live)
                    try:
                        book.modify(
                            oid,
                            quantity=rng.randint(1, 6),
                            price=Decimal(rng.randint(95, 105)) / 100,
                            timestamp=t,
                        )
                    except lft.OrderNotFound:
                        live.remove(oid)
                else:
                    book.submit(rng.choice(["BUY", "SELL"]), rng.randint(1, 10), order_id=n, timestamp=t)
                writes[0] += 1
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(f"writer: {exc!r}")

    def reader(seed):
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                err = _check_depth(book.depth(10))
                if err:
                    errors.append(err)
                bb, ba = book.best_bid, book.best_ask
                assert bb is None or isinstance(bb, Decimal)
                assert ba is None or isinstance(ba, Decimal)
                p = Decimal(rng.randint(95, 105)) / 100
                q = book.depth_at(rng.choice(["BUY", "SELL"]), p)
                if q < 0:
                    errors.append(f"negative depth_at {p}: {q}")
                book.level(rng.choice(["BUY", "SELL"]), p)
                len(book)
                reads[0] += 1
        except Exception as exc:
            errors.append(f"reader: {exc!r}")

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader, args=(s,)) for s in range(3)
    ]
    for th in threads:
        th.start()
    time.sleep(READ_SECONDS)
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors[:5]
    assert writes[0] > 100 and reads[0] > 100, (writes[0], reads[0])
    assert _check_depth(book.depth(1000)) is None


def test_concurrent_writers_are_serialised():
    book = lft.OrderBook("WW", tick_size="0.01", lot_size="1")
    per_thread = 1500
    results: dict[str, list] = {"BUY": [], "SELL": []}
    errors: list[str] = []
    start = threading.Barrier(2)

    def writer(side, seed, base_id):
        rng = random.Random(seed)
        out = results[side]
        start.wait()
        try:
            for i in range(per_thread):
                kw = dict(order_id=base_id + i, timestamp=10_000 + i)
                if rng.random() < 0.1:
                    args = (side, rng.randint(1, 5))
                else:
                    args = (side, rng.randint(1, 5), Decimal(rng.randint(98, 102)) / 100)
                rep = book.submit(*args, **kw)
                out.append((args, kw, rep))
        except Exception as exc:  # pragma: no cover
            errors.append(repr(exc))

    threads = [
        threading.Thread(target=writer, args=("BUY", 1, 1_000_000)),
        threading.Thread(target=writer, args=("SELL", 2, 2_000_000)),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors[:5]
    everything = results["BUY"] + results["SELL"]
    assert len(everything) == 2 * per_thread

    # every sequence number is used exactly once across both threads' reports
    seqs = []
    for _, _, rep in everything:
        seqs.extend(t.sequence for t in rep.trades)
        seqs.extend(u.sequence for u in rep.updates)
        seqs.append(rep.sequence)
    assert sorted(seqs) == list(range(1, book.sequence + 1))

    # quantity is conserved: each trade fills one buy and one sell, so per side
    # submitted = traded + still resting + cancelled market remainders
    traded = sum(t.quantity for _, _, rep in everything for t in rep.trades)
    for side in ("BUY", "SELL"):
        submitted = sum(Decimal(args[1]) for args, _, _ in results[side])
        resting = Decimal(0)
        cancelled = Decimal(0)
        for args, kw, rep in results[side]:
            o = book.order(kw["order_id"])
            if o is not None:
                resting += o.remaining_quantity
            if rep.status == lft.OrderStatus.CANCELED:
                cancelled += Decimal(args[1]) - rep.filled_quantity
        assert submitted == traded + resting + cancelled, side
    d = book.depth(1000)
    assert len(book) == sum(lv.order_count for lv in d.bids) + sum(lv.order_count for lv in d.asks)
    assert _check_depth(d) is None

    # replaying the commands in the order the engine processed them reproduces every event
    ordered = sorted(everything, key=lambda x: x[2].sequence)
    ref = ReferenceBook(tick_size="0.01", lot_size="1")
    for args, kw, rep in ordered:
        want = mask_reason(ref.submit(*args, **kw))
        assert conv_report(book, rep) == want
    assert engine_depth(book) == ref.depth(1000)


def test_a_batch_uses_its_columns_as_they_were_at_the_call_while_another_thread_writes_them():
    """The columns are copied before the GIL is released: a thread that rewrites the arrays
    while the engine works changes nothing about the batch (before, the engine read the numpy
    buffers with the GIL released: a data race, and rows that mixed old and new values)."""
    np = pytest.importorskip("numpy")
    n = 300_000
    book = lft.OrderBook("RACE", tick_size=1, lot_size=1)
    side = np.zeros(n, dtype=np.int8)  # all buys ...
    price = np.full(n, 100, dtype=np.int64)  # ... resting at 100
    quantity = np.ones(n, dtype=np.int64)
    go = threading.Event()
    scribbled = threading.Event()

    def scribble() -> None:
        go.wait()
        # Runs as soon as the batch releases the GIL: sells at 1 would cross every buy.
        side[:] = 1
        price[:] = 1
        quantity[:] = 7
        scribbled.set()

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(30.0)  # the main thread keeps the GIL until the batch releases it
    try:
        t = threading.Thread(target=scribble)
        t.start()
        go.set()
        result = book.submit_batch(side, price, quantity, timestamp=1)
    finally:
        sys.setswitchinterval(old_interval)
    t.join(timeout=30)
    assert scribbled.is_set()
    assert np.unique(result.status).tolist() == [lft.OrderStatus.NEW.value]
    assert len(result.trade_price) == 0
    assert (book.best_bid, book.best_ask) == (100, None)
    assert book.depth_at("BUY", 100) == n
    assert len(book) == n
