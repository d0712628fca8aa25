"""DataFrames and plots of the book objects: the optional ``[analysis]`` extra.

This is the one module that uses pandas and matplotlib, and it imports them only inside the
functions that need them, so ``import lockfree_trading`` (and this module) works without
them; a function that needs a missing one raises ``ImportError`` saying what to install
(``pip install 'lockfree-trading[analysis]'``).

The objects' methods call these functions: ``Depth.to_frame()``, ``ExecutionReport.
trades_frame()``, ``BatchResult.to_frame()``, ``OrderBook.plot_depth()`` and
``BookView.plot_depth()``.

Prices and quantities are exact ``Decimal`` values in the objects; in the frames they are
``float64`` columns (the nearest double; sums such as ``cumulative_quantity`` are taken
exactly first, then converted). Keep the objects when exact values matter. The batch frame
keeps the batch's integer lots, as its numpy columns do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Optional, Union

from ._core import BatchResult, BookView, Depth, ExecutionReport, Level, OrderBook, OrderStatus, Trade

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "INSTALL_HINT",
    "batch_frame",
    "depth_frame",
    "plot_depth",
    "status_names",
    "trades_frame",
]

INSTALL_HINT = "pip install 'lockfree-trading[analysis]'"

DEPTH_COLUMNS = ("side", "level", "price", "quantity", "order_count", "cumulative_quantity")
TRADE_COLUMNS = (
    "sequence",
    "price",
    "quantity",
    "maker_order_id",
    "taker_order_id",
    "taker_side",
    "timestamp",
)
BATCH_COLUMNS = ("order_id", "status", "status_name", "filled", "remaining")

_STATUSES = (
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.REJECTED,
    OrderStatus.EXPIRED,
)


def status_names() -> dict[int, str]:
    """The ``OrderStatus`` names by code, as in ``BatchResult.status``."""
    return {s.value: s.name for s in _STATUSES}


@contextlib.contextmanager
def _extra(package: str, what: str) -> Iterator[None]:
    """Turns a failed import of the optional ``package`` into an ``ImportError`` naming the extra."""
    try:
        yield
    except ImportError as e:
        raise ImportError(
            f"{what} needs {package}, which is not installed; install the analysis extra: {INSTALL_HINT}"
        ) from e


def _side_rows(side: str, levels: Iterable[Level]) -> Iterator[tuple[str, int, float, float, int, float]]:
    total = Decimal(0)
    for i, level in enumerate(levels):
        total += level.quantity
        yield side, i, float(level.price), float(level.quantity), level.order_count, float(total)


def depth_frame(depth: Depth) -> pd.DataFrame:
    """Both sides of ``depth``, one row per level: bids first, then asks.

    Columns: ``side`` (``"bid"`` or ``"ask"``), ``level`` (0 = best), ``price``,
    ``quantity``, ``order_count`` and ``cumulative_quantity`` (this level and every better
    one of its side). Prices and quantities are floats (exact ``Decimal`` in ``depth``).
    """
    with _extra("pandas", "Depth.to_frame()"):
        import pandas as pd
    rows = [*_side_rows("bid", depth.bids), *_side_rows("ask", depth.asks)]
    frame = pd.DataFrame.from_records(rows, columns=list(DEPTH_COLUMNS))
    return frame.astype(
        {
            "side": object,
            "level": "int64",
            "price": "float64",
            "quantity": "float64",
            "order_count": "int64",
            "cumulative_quantity": "float64",
        }
    )


def trades_frame(trades: Union[ExecutionReport, Iterable[Trade]]) -> pd.DataFrame:
    """Trades (an ``ExecutionReport``'s, or any iterable of ``Trade``), one row each, in order.

    Columns: ``sequence``, ``price`` and ``quantity`` (floats; exact ``Decimal`` in the
    trades), ``maker_order_id`` and ``taker_order_id`` (``uuid.UUID``), ``taker_side``
    (``"BUY"`` or ``"SELL"``) and ``timestamp`` (integer nanoseconds).
    """
    with _extra("pandas", "trades_frame()"):
        import pandas as pd
    items = trades.trades if isinstance(trades, ExecutionReport) else list(trades)
    rows = [
        (
            t.sequence,
            float(t.price),
            float(t.quantity),
            t.maker_order_id,
            t.taker_order_id,
            t.taker_side.name,
            t.timestamp,
        )
        for t in items
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(TRADE_COLUMNS))
    return frame.astype(
        {
            "sequence": "uint64",
            "price": "float64",
            "quantity": "float64",
            "maker_order_id": object,
            "taker_order_id": object,
            "taker_side": object,
            "timestamp": "int64",
        }
    )


def batch_frame(batch: BatchResult) -> pd.DataFrame:
    """A batch's per-order columns, one row per order in batch order.

    Columns: ``order_id`` (``uint64``), ``status`` (the ``OrderStatus`` code, ``uint8``),
    ``status_name`` (its name, e.g. ``"FILLED"``), ``filled`` and ``remaining`` (integer
    lots, as in the batch's arrays). The trade columns stay on the ``BatchResult``.
    """
    with _extra("pandas", "BatchResult.to_frame()"):
        import pandas as pd
    names = status_names()
    return pd.DataFrame(
        {
            "order_id": batch.order_id,
            "status": batch.status,
            "status_name": pd.Series(
                [names.get(int(c), f"UNKNOWN({int(c)})") for c in batch.status], dtype=object
            ),
            "filled": batch.filled,
            "remaining": batch.remaining,
        },
        columns=list(BATCH_COLUMNS),
    )


def _cumulative(levels: Iterable[Level]) -> tuple[list[float], list[float]]:
    prices: list[float] = []
    totals: list[float] = []
    total = Decimal(0)
    for level in levels:
        total += level.quantity
        prices.append(float(level.price))
        totals.append(float(total))
    return prices, totals


def plot_depth(book: Union[OrderBook, BookView], levels: int = 20, ax: Optional[Axes] = None) -> Axes:
    """Cumulative depth chart of ``book``'s top ``levels`` levels per side; returns the Axes.

    Bids and asks are drawn as step curves (two lines, in that order, even for an empty side)
    of the cumulative quantity against price, from each side's best price outward, over a
    light fill. Draws on ``ax`` if given, else on a new figure (``matplotlib.pyplot``).
    """
    if levels < 0:
        raise ValueError(f"levels must be >= 0, got {levels}")
    if ax is None:
        with _extra("matplotlib", "plot_depth()"):
            import matplotlib.pyplot as plt
        _, ax = plt.subplots()
    depth = book.depth(levels)
    for name, side, color in (("bids", depth.bids, "tab:green"), ("asks", depth.asks, "tab:red")):
        prices, totals = _cumulative(side)
        ax.step(prices, totals, where="post", color=color, label=name)
        if prices:
            ax.fill_between(prices, totals, step="post", color=color, alpha=0.2)
    ax.set_xlabel("price")
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    ax.set_ylabel("cumulative quantity")
    ax.set_title(f"{book.symbol} depth")
    ax.legend()
    return ax
