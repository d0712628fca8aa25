"""DataFrames, plots and HTML of the book objects (lockfree_trading.analysis, the [analysis] extra)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from decimal import Decimal as D

import pytest

pd = pytest.importorskip("pandas")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import lockfree_trading as lft  # noqa: E402
import numpy as np  # noqa: E402
from lockfree_trading import OrderStatus, Side, TradingSystem, analysis  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

T = 1_000_000


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def small_book(symbol: str = "TEST") -> lft.OrderBook:
    """Bids 9.99 x 3 (2 orders: 1 + 2), 9.98 x 5; asks 10.01 x 4, 10.02 x 1, 10.05 x 2."""
    book = lft.OrderBook(symbol, tick_size="0.01", lot_size="1")
    book.submit(Side.BUY, 1, "9.99", order_id=1, timestamp=T)
    book.submit(Side.BUY, 2, "9.99", order_id=2, timestamp=T)
    book.submit(Side.BUY, 5, "9.98", order_id=3, timestamp=T)
    book.submit(Side.SELL, 4, "10.01", order_id=4, timestamp=T)
    book.submit(Side.SELL, 1, "10.02", order_id=5, timestamp=T)
    book.submit(Side.SELL, 2, "10.05", order_id=6, timestamp=T)
    return book


# --- Depth.to_frame ---------------------------------------------------------------------------


def test_depth_to_frame_values_and_cumulative_quantity() -> None:
    frame = small_book().depth(10).to_frame()
    assert list(frame.columns) == ["side", "level", "price", "quantity", "order_count", "cumulative_quantity"]
    # side, level, price, quantity, order_count, cumulative_quantity
    assert [tuple(row) for row in frame.itertuples(index=False)] == [
        ("bid", 0, 9.99, 3.0, 2, 3.0),
        ("bid", 1, 9.98, 5.0, 1, 8.0),
        ("ask", 0, 10.01, 4.0, 1, 4.0),
        ("ask", 1, 10.02, 1.0, 1, 5.0),
        ("ask", 2, 10.05, 2.0, 1, 7.0),
    ]
    assert str(frame["price"].dtype) == "float64" and str(frame["cumulative_quantity"].dtype) == "float64"
    assert str(frame["level"].dtype) == "int64" and str(frame["order_count"].dtype) == "int64"


def test_depth_to_frame_limits_and_empty() -> None:
    frame = small_book().depth(1).to_frame()
    assert list(frame["side"]) == ["bid", "ask"] and list(frame["price"]) == [9.99, 10.01]
    empty = lft.OrderBook("E", tick_size="0.01", lot_size="1").depth(5).to_frame()
    assert len(empty) == 0
    assert list(empty.columns) == list(analysis.DEPTH_COLUMNS)
    assert str(empty["price"].dtype) == "float64" and str(empty["level"].dtype) == "int64"


def test_depth_frame_of_a_book_view() -> None:
    cfg = {"symbols": [{"name": "AAA", "tick_size": "0.01", "lot_size": "1"}], "engine": {"threads": 1}}
    with TradingSystem(cfg) as system:
        system.submit("AAA", Side.BUY, quantity=2, price="9.99", timestamp=T)
        system.submit("AAA", Side.SELL, quantity=3, price="10.01", timestamp=T)
        frame = system.book("AAA").depth(5).to_frame()
    assert list(zip(frame["side"], frame["price"], frame["quantity"])) == [
        ("bid", 9.99, 2.0),
        ("ask", 10.01, 3.0),
    ]


# --- Level / Trade / LevelStats as named tuples ------------------------------------------------


def test_levels_give_named_columns_in_pandas() -> None:
    depth = small_book().depth(10)
    frame = pd.DataFrame(depth.bids)
    assert list(frame.columns) == ["price", "quantity", "order_count"]
    assert frame.to_dict("records") == [
        {"price": D("9.99"), "quantity": D(3), "order_count": 2},
        {"price": D("9.98"), "quantity": D(5), "order_count": 1},
    ]
    assert list(pd.DataFrame(depth.asks)["price"]) == [D("10.01"), D("10.02"), D("10.05")]


def test_level_unpacks_like_a_named_tuple() -> None:
    from collections.abc import Sequence

    (best, _) = small_book().depth(10).bids
    price, quantity, order_count = best
    assert (price, quantity, order_count) == (D("9.99"), D(3), 2)
    assert tuple(best) == (D("9.99"), D(3), 2)
    assert len(best) == 3 and best[0] == D("9.99") and best[-1] == 2 and best[1:] == (D(3), 2)
    assert type(best)._fields == ("price", "quantity", "order_count") == best._fields
    assert best._asdict() == {"price": D("9.99"), "quantity": D(3), "order_count": 2}
    assert isinstance(best, Sequence)
    with pytest.raises(IndexError):
        best[3]
    with pytest.raises(TypeError):
        best["price"]


def test_trades_and_level_stats_are_named_tuples_too() -> None:
    book = small_book()
    (trade,) = book.submit(Side.BUY, 2, "10.01", order_id=7, timestamp=T + 1).trades
    assert trade._fields == (
        "sequence",
        "price",
        "quantity",
        "maker_order_id",
        "taker_order_id",
        "taker_side",
        "timestamp",
    )
    assert tuple(trade) == tuple(getattr(trade, f) for f in trade._fields)
    frame = pd.DataFrame([trade])
    assert list(frame.columns) == list(trade._fields) and frame["maker_order_id"][0] == uid(4)
    stats = book.level(Side.BUY, "9.99")
    assert stats is not None
    assert dict(zip(stats._fields, stats)) == stats._asdict()
    assert list(pd.DataFrame([stats]).columns) == list(stats._fields)


# --- ExecutionReport.trades_frame ----------------------------------------------------------------


def test_trades_frame_of_a_sweep() -> None:
    book = small_book()
    report = book.submit(Side.BUY, 6, "10.02", order_id=7, timestamp=T + 5)
    frame = report.trades_frame()
    assert list(frame.columns) == list(analysis.TRADE_COLUMNS)
    rows = frame.drop(columns=["sequence"]).to_dict("records")
    assert rows == [
        {
            "price": 10.01,
            "quantity": 4.0,
            "maker_order_id": uid(4),
            "taker_order_id": uid(7),
            "taker_side": "BUY",
            "timestamp": T + 5,
        },
        {
            "price": 10.02,
            "quantity": 1.0,
            "maker_order_id": uid(5),
            "taker_order_id": uid(7),
            "taker_side": "BUY",
            "timestamp": T + 5,
        },
    ]
    assert list(frame["sequence"]) == [t.sequence for t in report.trades]
    assert frame["sequence"].is_monotonic_increasing
    assert str(frame["price"].dtype) == "float64" and str(frame["timestamp"].dtype) == "int64"
    # The function takes a report or any iterable of trades.
    pd.testing.assert_frame_equal(analysis.trades_frame(report.trades), frame)
    no_trades = book.submit(Side.SELL, 1, "11.00", order_id=8, timestamp=T + 6).trades_frame()
    assert len(no_trades) == 0 and list(no_trades.columns) == list(analysis.TRADE_COLUMNS)


# --- BatchResult.to_frame ------------------------------------------------------------------------


def test_batch_to_frame_statuses() -> None:
    book = small_book()
    res = book.submit_batch(
        side=np.array([0, 0, 1, 0], np.int8),
        price=np.array([1001, 999, 0, 1010], np.int64),  # ticks; 0 = market
        quantity=np.array([4, 2, 4, 3], np.int64),  # lots
        time_in_force=np.array([0, 0, 1, 2], np.uint8),  # GTC, GTC, IOC, FOK
        order_id=np.array([11, 12, 13, 14], np.uint64),
        timestamp=T + 1,
    )
    frame = res.to_frame()
    assert list(frame.columns) == ["order_id", "status", "status_name", "filled", "remaining"]
    # 11 takes the 4 at 10.01; 12 rests at 9.99 behind 1 and 2; 13 (market sell 4) takes 1, 2
    # and 1 of 12; 14 (FOK buy 3 up to 10.10) finds 1 at 10.02 and 2 at 10.05.
    assert frame.to_dict("records") == [
        {"order_id": 11, "status": 2, "status_name": "FILLED", "filled": 4, "remaining": 0},
        {"order_id": 12, "status": 0, "status_name": "NEW", "filled": 0, "remaining": 2},
        {"order_id": 13, "status": 2, "status_name": "FILLED", "filled": 4, "remaining": 0},
        {"order_id": 14, "status": 2, "status_name": "FILLED", "filled": 3, "remaining": 0},
    ]
    assert str(frame["order_id"].dtype) == "uint64" and str(frame["status"].dtype) == "uint8"
    assert list(frame["status"]) == list(res.status) and list(frame["filled"]) == list(res.filled)


def test_batch_status_names_cover_every_status() -> None:
    statuses = [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    statuses += [OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED]
    assert analysis.status_names() == {s.value: s.name for s in statuses}
    book = lft.OrderBook("B", tick_size="0.01", lot_size="1")
    book.submit(Side.SELL, 1, "1.00", order_id=1, timestamp=T)
    book.submit(Side.SELL, 1, "3.00", order_id=9, timestamp=T)
    res = book.submit_batch(
        side=np.array([0, 1, 0], np.int8),
        price=np.array([100, 200, 300], np.int64),
        quantity=np.array([3, 1, 2], np.int64),
        time_in_force=np.array([1, 0, 0], np.uint8),  # IOC, GTC, GTC
        order_id=np.array([2, 9, 3], np.uint64),  # 9 is resting: REJECTED
        timestamp=T,
    )
    frame = res.to_frame()
    assert list(frame["status_name"]) == ["CANCELED", "REJECTED", "PARTIALLY_FILLED"]
    assert list(frame["filled"]) == [1, 0, 1] and list(frame["remaining"]) == [0, 0, 1]


# --- LevelStats.to_dict ----------------------------------------------------------------------------


def test_level_stats_to_dict_equals_the_getters() -> None:
    book = small_book()
    book.submit(Side.BUY, 1, "9.99", order_id=10, timestamp=T + 2)
    book.submit(Side.SELL, 1, "9.99", order_id=9, timestamp=T + 3)  # fills order 1
    book.cancel(10, timestamp=T + 4)
    stats = book.level(Side.BUY, "9.99")
    assert stats is not None
    record = stats.to_dict()
    assert type(record) is dict
    assert list(record) == list(stats._fields)
    assert record == {name: getattr(stats, name) for name in stats._fields}
    assert record["side"] == Side.BUY and record["price"] == D("9.99") and isinstance(record["quantity"], D)
    assert record["quantity"] == D(2) and record["order_count"] == 1 and record["orders_added"] == 3
    assert record["orders_filled"] == 1 and record["orders_cancelled"] == 1
    assert record["quantity_executed"] == D(1) and record["trade_count"] == 1


# --- plots -----------------------------------------------------------------------------------------


def test_plot_depth_returns_axes_with_two_step_lines(tmp_path) -> None:
    import matplotlib.pyplot as plt

    book = small_book()
    ax = book.plot_depth(levels=2)
    assert isinstance(ax, Axes)
    bids, asks = ax.get_lines()
    assert list(bids.get_xdata()) == [9.99, 9.98] and list(bids.get_ydata()) == [3.0, 8.0]
    assert list(asks.get_xdata()) == [10.01, 10.02] and list(asks.get_ydata()) == [4.0, 5.0]
    assert bids.get_drawstyle() == "steps-post" and asks.get_drawstyle() == "steps-post"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("price", "cumulative quantity")
    assert "TEST" in ax.get_title()
    out = tmp_path / "depth.png"
    ax.figure.savefig(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(ax.figure)


def test_plot_depth_on_given_axes_and_book_view(tmp_path) -> None:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    assert small_book().plot_depth(ax=left) is left
    assert len(left.get_lines()) == 2 and len(right.get_lines()) == 0
    cfg = {"symbols": [{"name": "AAA", "tick_size": "0.01", "lot_size": "1"}], "engine": {"threads": 1}}
    with TradingSystem(cfg) as system:
        system.submit("AAA", Side.BUY, quantity=2, price="9.99", timestamp=T)
        view = system.book("AAA")
        assert view.plot_depth(5, right) is right
    bids, asks = right.get_lines()
    assert list(bids.get_ydata()) == [2.0] and len(asks.get_xdata()) == 0
    fig.savefig(tmp_path / "two.png")
    assert (tmp_path / "two.png").stat().st_size > 0
    plt.close(fig)


def test_plot_depth_of_an_empty_book() -> None:
    import matplotlib.pyplot as plt

    ax = lft.OrderBook("E", tick_size="0.01", lot_size="1").plot_depth()
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [0, 0]
    plt.close(ax.figure)


# --- HTML --------------------------------------------------------------------------------------------


def test_repr_html_escapes_and_matches_the_book() -> None:
    book = small_book("A<B&C>")
    html = book._repr_html_()
    assert "A&lt;B&amp;C&gt;" in html and "A<B" not in html
    depth_html = book.depth(10)._repr_html_()
    assert "9.99" in depth_html and "10.05" in depth_html and "<table>" in depth_html
    # The same table as the book's own (top ten levels), under another title.
    table = html[html.index("<table>") :]
    assert depth_html[depth_html.index("<table>") :] == table
    assert "2 bid levels" in depth_html and "3 ask levels" in depth_html
    empty = lft.OrderBook("E", tick_size="0.01", lot_size="1").depth(3)._repr_html_()
    assert empty.count("<i>empty</i>") == 1


def test_book_view_repr_html_is_consistent_with_order_book() -> None:
    book = lft.OrderBook("AAA", tick_size="0.01", lot_size="1")
    cfg = {"symbols": [{"name": "AAA", "tick_size": "0.01", "lot_size": "1"}], "engine": {"threads": 1}}
    with TradingSystem(cfg) as system:
        for target in (book, system):
            args = ("AAA",) if target is system else ()
            target.submit(*args, Side.BUY, quantity=2, price="9.99", order_id=1, timestamp=T)
            target.submit(*args, Side.SELL, quantity=3, price="10.01", order_id=2, timestamp=T)
        view_html = system.book("AAA")._repr_html_()
    book_html = book._repr_html_()
    assert view_html.startswith("<div><b>BookView AAA</b>")
    assert view_html.replace("BookView", "OrderBook", 1) == book_html


def test_level_stats_repr_html() -> None:
    stats = small_book().level(Side.SELL, "10.01")
    assert stats is not None
    html = stats._repr_html_()
    assert html.startswith("<div><b>LevelStats SELL 10.01</b><table>")
    assert "<tr><td>quantity</td><td>4</td></tr>" in html
    assert "<tr><td>order_count</td><td>1</td></tr>" in html
    for name in stats._fields:
        assert f"<td>{name}</td>" in html


# --- missing extra -----------------------------------------------------------------------------------


def test_a_missing_pandas_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    module = importlib.reload(analysis)
    depth = small_book().depth(10)
    with pytest.raises(ImportError, match=r"pip install 'lockfree-trading\[analysis\]'"):
        depth.to_frame()
    with pytest.raises(ImportError, match="pandas"):
        module.trades_frame([])
    # What needs no pandas still works.
    assert depth.bids[0]._asdict()["price"] == D("9.99")


def test_a_missing_matplotlib_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"matplotlib.*pip install 'lockfree-trading\[analysis\]'"):
        small_book().plot_depth()


def test_importing_the_package_imports_neither_pandas_nor_matplotlib() -> None:
    code = (
        "import sys, lockfree_trading, lockfree_trading.analysis\n"
        "book = lockfree_trading.OrderBook('X', tick_size='0.01', lot_size='1')\n"
        "book._repr_html_(); book.depth(5)._repr_html_(); tuple(book.depth(5).bids)\n"
        "print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
