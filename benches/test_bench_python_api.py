"""pytest-benchmark: cost of the Python API (`make bench-python`).

Measured, never asserted: these numbers go into the README with the machine they ran on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from lockfree_trading import OrderBook, Side

MID = 1_000_000


def deep_book(resting: int) -> OrderBook:
    """A book with `resting` orders, 100 per level, bids below and asks above MID."""
    book = OrderBook("BENCH", tick_size=1, lot_size=1)
    n = resting // 2
    levels = np.arange(n) // 100
    ones = np.ones(n, dtype=np.int64)
    book.submit_batch(np.zeros(n, dtype=np.int8), MID - 1 - levels, ones * 10, timestamp=1)
    book.submit_batch(np.ones(n, dtype=np.int8), MID + 1 + levels, ones * 10, timestamp=1)
    return book


@pytest.mark.parametrize("resting", [100, 10_000, 1_000_000])
def test_best_bid(benchmark: Any, resting: int) -> None:
    book = deep_book(resting)
    benchmark(lambda: book.best_bid)


@pytest.mark.parametrize("resting", [100, 10_000, 1_000_000])
def test_depth_10(benchmark: Any, resting: int) -> None:
    book = deep_book(resting)
    benchmark(book.depth, 10)


def test_submit_one_at_a_time_add_cancel(benchmark: Any) -> None:
    """One limit order in and out per round: two Python calls."""
    book = deep_book(10_000)

    def round_trip() -> None:
        r = book.submit(Side.BUY, 1, MID - 5, timestamp=2)
        book.cancel(r.order_id, timestamp=2)

    benchmark(round_trip)


def test_submit_marketable_one_fill(benchmark: Any) -> None:
    book = OrderBook("BENCH", tick_size=1, lot_size=1)
    book.submit(Side.SELL, 10**15, MID + 1, timestamp=1)
    benchmark(lambda: book.submit(Side.BUY, 1, MID + 1, time_in_force="IOC", timestamp=2))


def test_submit_batch_100k_mixed(benchmark: Any) -> None:
    """100k rows per call: passive adds around the mid plus 10% marketable IOC rows."""
    rng = np.random.default_rng(7)
    n = 100_000
    side = rng.integers(0, 2, n).astype(np.int8)
    offset = rng.integers(1, 50, n)
    price = np.where(side == 0, MID - offset, MID + offset).astype(np.int64)
    marketable = rng.random(n) < 0.1
    price[marketable] = np.where(side[marketable] == 0, MID + 60, MID - 60)
    tif = np.where(marketable, 1, 0).astype(np.uint8)
    qty = rng.integers(1, 100, n).astype(np.int64)

    def run() -> None:
        book = OrderBook("BENCH", tick_size=1, lot_size=1)
        book.submit_batch(side, price, qty, tif, timestamp=1)

    benchmark.pedantic(run, rounds=5, iterations=1)
