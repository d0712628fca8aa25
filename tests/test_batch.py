"""submit_batch: columnar input must behave exactly like one-by-one submits."""

from __future__ import annotations

import re
import uuid

import pytest

np = pytest.importorskip("numpy")

import lockfree_trading as lft  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from reference_model import engine_snapshot  # noqa: E402

T = 1_000_000
TIF_NAMES = {0: "GTC", 1: "IOC", 2: "FOK", 4: "DAY"}
MASK64 = (1 << 64) - 1


def new_book():
    return lft.OrderBook("BATCH", tick_size="0.01", lot_size="1")


def prefill(book):
    """Same resting orders (incl. an iceberg and GTD orders due at the batch time)."""
    book.submit("SELL", 12, "1.01", order_id=900_001, display_quantity=3, timestamp=T)
    book.submit("BUY", 12, "0.99", order_id=900_002, display_quantity=4, timestamp=T)
    book.submit("SELL", 5, "1.00", order_id=900_003, time_in_force="GTD", expire_time=T + 5, timestamp=T)
    book.submit("BUY", 5, "0.98", order_id=900_004, time_in_force="GTD", expire_time=T + 5, timestamp=T)
    book.submit("SELL", 3, "1.03", order_id=900_005, time_in_force="DAY", timestamp=T)
    book.submit("BUY", 3, "0.97", order_id=(7 << 64) | 900_006, timestamp=T)
    book.submit("BUY", 2, "0.95", order_id=(7 << 64) | 900_007, timestamp=T)


def random_batch(seed: int, n: int, *, with_tif: bool, with_ids: bool):
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, n).astype(np.int8)
    market = rng.random(n) < 0.12
    price = np.where(market, 0, rng.integers(95, 106, n)).astype(np.int64)
    quantity = rng.integers(1, 9, n).astype(np.int64)
    tif = None
    if with_tif:
        limit_tif = rng.choice(np.array([0, 0, 0, 1, 2, 4], dtype=np.uint8), n)
        market_tif = rng.choice(np.array([1, 2], dtype=np.uint8), n)
        tif = np.where(market, market_tif, limit_tif).astype(np.uint8)
    ids = None
    if with_ids:
        ids = (np.arange(n, dtype=np.uint64) * np.uint64(3) + np.uint64(seed % 1000 * 10_000 + 1)).astype(
            np.uint64
        )
    return side, price, quantity, tif, ids


def one_by_one(book, side, price, quantity, tif, ids, *, timestamp):
    """Submit each row as a separate command; return the batch-shaped expectation."""
    rows, trades = [], []
    for i in range(len(side)):
        is_market = price[i] == 0
        kw = {"timestamp": timestamp}
        if tif is not None:
            kw["time_in_force"] = TIF_NAMES[int(tif[i])]
        if ids is not None:
            kw["order_id"] = int(ids[i])
        p = None if is_market else book.from_ticks(int(price[i]))
        s = "BUY" if side[i] == 0 else "SELL"
        try:
            r = book.submit(s, book.from_lots(int(quantity[i])), p, **kw)
        except lft.DuplicateOrderId:
            rows.append((int(ids[i]), lft.OrderStatus.REJECTED.value, 0, 0))
            continue
        rows.append(
            (
                r.order_id.int & MASK64,
                r.status.value,
                book.to_lots(r.filled_quantity) if r.filled_quantity else 0,
                book.to_lots(r.remaining_quantity) if r.remaining_quantity else 0,
            )
        )
        for t in r.trades:
            trades.append(
                (
                    i,
                    t.maker_order_id.int & MASK64,
                    t.maker_order_id.int >> 64,
                    book.to_ticks(t.price),
                    book.to_lots(t.quantity),
                    t.sequence,
                )
            )
    return rows, trades


def batch_rows(res):
    return list(zip(res.order_id.tolist(), res.status.tolist(), res.filled.tolist(), res.remaining.tolist()))


def batch_trades(res):
    return list(
        zip(
            res.trade_taker_index.tolist(),
            res.trade_maker_order_id.tolist(),
            res.trade_maker_order_id_hi.tolist(),
            res.trade_price.tolist(),
            res.trade_quantity.tolist(),
            res.trade_sequence.tolist(),
        )
    )


def check_dtypes(res):
    assert res.order_id.dtype == np.uint64 and res.status.dtype == np.uint8
    assert res.filled.dtype == np.int64 and res.remaining.dtype == np.int64
    assert res.trade_taker_index.dtype == np.int64
    assert res.trade_maker_order_id.dtype == np.uint64 and res.trade_maker_order_id_hi.dtype == np.uint64
    assert res.trade_price.dtype == np.int64 and res.trade_quantity.dtype == np.int64
    assert res.trade_sequence.dtype == np.uint64
    n_trades = len(res.trade_price)
    assert all(
        len(c) == n_trades
        for c in (
            res.trade_taker_index,
            res.trade_maker_order_id,
            res.trade_maker_order_id_hi,
            res.trade_quantity,
            res.trade_sequence,
        )
    )


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    with_tif=st.booleans(),
)
def test_batch_equals_one_by_one_submits(seed, n, with_tif):
    a, b = new_book(), new_book()
    prefill(a)
    prefill(b)
    side, price, quantity, tif, ids = random_batch(seed, n, with_tif=with_tif, with_ids=True)
    ts = T + 10  # the prefilled GTD orders are due: the first row sweeps them
    res = a.submit_batch(side, price, quantity, tif, ids, timestamp=ts)
    check_dtypes(res)
    assert len(res) == n
    want_rows, want_trades = one_by_one(b, side, price, quantity, tif, ids, timestamp=ts)
    assert batch_rows(res) == want_rows
    assert batch_trades(res) == want_trades
    assert a.sequence == b.sequence
    assert a.state_hash() == b.state_hash()
    assert engine_snapshot(a) == engine_snapshot(b)


def test_batch_defaults_tif_to_gtc_for_limit_and_ioc_for_market():
    book = new_book()
    side = np.array([0, 1, 1], dtype=np.int8)
    price = np.array([100, 0, 101], dtype=np.int64)
    qty = np.array([5, 7, 2], dtype=np.int64)
    ids = np.array([1, 2, 3], dtype=np.uint64)
    res = book.submit_batch(side, price, qty, None, ids, timestamp=T)
    # row 0 rests (GTC); row 1 (market) trades 5 and the rest is cancelled; row 2 rests
    assert batch_rows(res) == [(1, 0, 0, 5), (2, 3, 5, 0), (3, 0, 0, 2)]
    assert batch_trades(res) == [(1, 1, 0, 100, 5, 2)]
    assert book.order(uuid.UUID(int=3)).time_in_force == lft.TimeInForce.GTC
    assert len(book) == 1


def test_batch_fok_and_ioc_rows():
    book = new_book()
    book.submit("SELL", 4, "1.00", order_id=50, timestamp=T)
    side = np.array([0, 0, 0], dtype=np.int8)
    price = np.array([100, 100, 0], dtype=np.int64)
    qty = np.array([5, 3, 2], dtype=np.int64)
    tif = np.array([2, 1, 2], dtype=np.uint8)
    ids = np.array([1, 2, 3], dtype=np.uint64)
    res = book.submit_batch(side, price, qty, tif, ids, timestamp=T)
    # FOK 5 > 4 available: cancelled; IOC 3 fills; market FOK 2 > 1 left: cancelled
    assert batch_rows(res) == [(1, 3, 0, 0), (2, 2, 3, 0), (3, 3, 0, 0)]
    assert book.order(uuid.UUID(int=50)).remaining_quantity == 1


def test_batch_row_with_resting_id_is_rejected_and_processing_continues():
    book = new_book()
    book.submit("BUY", 5, "0.90", order_id=7, timestamp=T)
    seq0 = book.sequence
    side = np.array([0, 0, 1, 0], dtype=np.int8)
    price = np.array([91, 92, 90, 93], dtype=np.int64)
    qty = np.array([1, 1, 1, 1], dtype=np.int64)
    ids = np.array([8, 7, 9, 8], dtype=np.uint64)
    res = book.submit_batch(side, price, qty, None, ids, timestamp=T)
    # row 1 reuses resting id 7: REJECTED; row 2 fills row 0; row 3 reuses the finished id 8
    assert batch_rows(res) == [(8, 0, 0, 1), (7, 4, 0, 0), (9, 2, 1, 0), (8, 0, 0, 1)]
    # like the raising one-by-one submit, the rejected row uses no sequence number:
    # row 0 report (+1), row 2 trade, maker update, report (+3), row 3 report (+1)
    assert batch_trades(res) == [(2, 8, 0, 91, 1, seq0 + 2)]
    assert book.sequence == seq0 + 5
    assert book.order(uuid.UUID(int=7)).price == book.from_ticks(90)
    assert book.order(uuid.UUID(int=7)).remaining_quantity == 5


def test_batch_id_of_row_filled_earlier_in_the_batch_can_be_reused():
    book = new_book()
    book.submit("SELL", 1, "1.00", order_id=70, timestamp=T)
    side = np.array([0, 0], dtype=np.int8)
    price = np.array([100, 99], dtype=np.int64)
    qty = np.array([1, 1], dtype=np.int64)
    ids = np.array([5, 5], dtype=np.uint64)
    res = book.submit_batch(side, price, qty, None, ids, timestamp=T)
    assert batch_rows(res) == [(5, 2, 1, 0), (5, 0, 0, 1)]


def test_batch_with_generated_ids_gives_distinct_ids():
    book = new_book()
    n = 50
    side, price, quantity, tif, _ = random_batch(3, n, with_tif=True, with_ids=False)
    res = book.submit_batch(side, price, quantity, tif, None, timestamp=T)
    assert len(res) == n and len(set(res.order_id.tolist())) == n


def test_batch_sequences_continue_from_the_book():
    book = new_book()
    book.submit("SELL", 3, "1.00", order_id=1, timestamp=T)
    book.submit("SELL", 3, "1.01", order_id=2, timestamp=T)
    res = book.submit_batch(
        np.array([0], dtype=np.int8),
        np.array([101], dtype=np.int64),
        np.array([4], dtype=np.int64),
        None,
        np.array([3], dtype=np.uint64),
        timestamp=T,
    )
    # trade(3) update(4) trade(5) update(6) report(7)
    assert res.trade_sequence.tolist() == [3, 5]
    assert book.sequence == 7


def test_empty_batch_returns_empty_result():
    book = new_book()
    e8, e64, eu8, eu64 = (np.array([], dtype=d) for d in (np.int8, np.int64, np.uint8, np.uint64))
    res = book.submit_batch(e8, e64, e64, eu8, eu64, timestamp=T)
    assert len(res) == 0 and len(res.trade_price) == 0 and len(book) == 0


def _cols(n=4):
    return dict(
        side=np.array([0, 1, 0, 1][:n], dtype=np.int8),
        price=np.array([100, 100, 101, 99][:n], dtype=np.int64),
        quantity=np.array([2, 2, 3, 1][:n], dtype=np.int64),
        time_in_force=np.array([0, 0, 0, 0][:n], dtype=np.uint8),
        order_id=np.array([11, 12, 13, 14][:n], dtype=np.uint64),
    )


def _with(row, **cols):
    c = _cols()
    for k, v in cols.items():
        arr = c[k].copy()
        arr[row] = v
        c[k] = arr
    return c


MALFORMED = {
    "bad_side_code_2": (_with(2, side=2), r"side"),
    "bad_side_code_negative": (_with(2, side=-1), r"side"),
    "zero_quantity": (_with(2, quantity=0), r"quantit"),
    "negative_quantity": (_with(2, quantity=-5), r"quantit"),
    "negative_price": (_with(2, price=-100), r"price"),
    "gtd_code": (_with(2, time_in_force=3), r"gtd|time.in.force|tif"),
    "unknown_tif_code": (_with(2, time_in_force=9), r"time.in.force|tif"),
    "market_row_with_gtc": (_with(2, price=0, time_in_force=0), r"market|ioc|fok"),
    "market_row_with_day": (_with(2, price=0, time_in_force=4), r"market|ioc|fok"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_batch_row_raises_invalid_order_naming_the_row_and_changes_nothing(name):
    cols, keyword = MALFORMED[name]
    book = new_book()
    prefill(book)
    before = engine_snapshot(book)
    with pytest.raises(lft.InvalidOrder) as info:
        book.submit_batch(
            cols["side"],
            cols["price"],
            cols["quantity"],
            cols["time_in_force"],
            cols["order_id"],
            timestamp=T + 10,
        )
    msg = str(info.value)
    assert re.search(r"\brow\b", msg, re.IGNORECASE) and re.search(r"\b2\b", msg), msg
    assert re.search(keyword, msg, re.IGNORECASE), msg
    # nothing processed: rows 0 and 1 would have traded, and the GTD orders are not swept
    assert engine_snapshot(book) == before


@pytest.mark.parametrize("column", ["side", "price", "quantity", "time_in_force", "order_id"])
def test_batch_with_mismatched_column_lengths_raises_invalid_order(column):
    book = new_book()
    prefill(book)
    before = engine_snapshot(book)
    cols = _cols()
    cols[column] = cols[column][:3]
    with pytest.raises(lft.InvalidOrder) as info:
        book.submit_batch(
            cols["side"],
            cols["price"],
            cols["quantity"],
            cols["time_in_force"],
            cols["order_id"],
            timestamp=T + 10,
        )
    assert re.search(r"length|len|size|shape|rows", str(info.value), re.IGNORECASE), str(info.value)
    assert engine_snapshot(book) == before


def test_batch_with_float_column_raises_invalid_order():
    book = new_book()
    before = engine_snapshot(book)
    cols = _cols()
    with pytest.raises(lft.InvalidOrder):
        book.submit_batch(
            cols["side"], cols["price"].astype(np.float64) + 0.5, cols["quantity"], None, None, timestamp=T
        )
    assert engine_snapshot(book) == before
