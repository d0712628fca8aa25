"""A good pure-Python limit order book: the floor that the Rust engine is measured against.

Same matching semantics as ``docs/semantics.md`` for the subset the benchmark flows use:
GTC and IOC limit orders, market orders, cancel and modify, price-time priority, trades at
the maker's price. No validation beyond "is this id resting", no timestamps, no expiry,
icebergs, post-only or statistics: it is meant to be the fastest honest Python book, not a
second engine.

Layout, per side (0 buy, 1 sell):

* ``levels``: dict ``key -> level``, with ``key = -price`` for bids and ``price`` for asks, so
  that the best level of either side is the *smallest* key;
* ``heap``: a ``heapq`` of those keys. A key is in the heap exactly while it is in
  ``levels``; a level that empties stays in ``levels`` (count 0) until it reaches the top of
  the heap, where it is popped lazily. No set of "keys in the heap" is needed;
* a level is a list ``[total_open_qty, live_order_count, deque_of_orders]``;
* an order is a list ``[open_qty, price, order_id, level, side]``. Cancel is lazy: it sets
  ``open_qty`` to 0 and fixes the level's total and count; matching skips dead orders at the
  front of a queue, and a queue that is mostly dead is compacted on cancel.

Quantities and prices are plain ints (lots and ticks). Fills are counted; their
``(maker_id, price, quantity)`` tuples are kept only when the book is built with
``record_fills=True``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from heapq import heappop, heappush
from typing import Any, Optional

__all__ = ["NOT_RESTING", "PythonBook"]

#: Returned by :meth:`PythonBook.cancel` / :meth:`PythonBook.modify` for an id that is not
#: resting, and by :meth:`PythonBook.submit` for an id that is (the engine raises there).
NOT_RESTING = -1

_NO_LIMIT = 1 << 62  # heap keys never reach this: a market order crosses every level


class PythonBook:
    """Price-time priority book on ``dict`` + ``deque`` + ``heapq``, integer ticks and lots."""

    __slots__ = ("_heaps", "_levels", "_orders", "fills", "trades")

    def __init__(self, record_fills: bool = False) -> None:
        self._levels: tuple[dict[int, list[Any]], dict[int, list[Any]]] = ({}, {})
        self._heaps: tuple[list[int], list[int]] = ([], [])
        self._orders: dict[int, list[Any]] = {}
        #: ``(maker_order_id, price, quantity)`` per fill, in order, if ``record_fills``.
        self.fills: Optional[list[tuple[int, int, int]]] = [] if record_fills else None
        #: Number of fills so far.
        self.trades = 0

    # ------------------------------------------------------------------ commands

    def submit(self, side: int, quantity: int, price: int, tif: int = 0, order_id: int = 0) -> int:
        """New limit order (side 0 buy / 1 sell, tif 0 GTC / 1 IOC); returns the filled quantity.

        Returns :data:`NOT_RESTING` (-1) if ``order_id`` is already resting (nothing changes).
        """
        orders = self._orders
        if order_id in orders:
            return NOT_RESTING
        # Opposite side's keys are <= lim exactly at crossing prices.
        if side:
            heap = self._heaps[0]
            lim = -price
        else:
            heap = self._heaps[1]
            lim = price
        filled = 0
        if heap and heap[0] <= lim:
            filled = self._take(side, quantity, lim)
            quantity -= filled
            if not quantity:
                return filled
        if tif:  # IOC: the remainder is cancelled
            return filled
        levels = self._levels[side]
        key = -price if side == 0 else price
        level = levels.get(key)
        if level is None:
            order: list[Any] = [quantity, price, order_id, None, side]
            level = order[3] = [quantity, 1, deque((order,))]
            levels[key] = level
            heappush(self._heaps[side], key)
        else:
            order = [quantity, price, order_id, level, side]
            level[0] += quantity
            level[1] += 1
            level[2].append(order)
        orders[order_id] = order
        return filled

    def market(self, side: int, quantity: int, order_id: int = 0) -> int:
        """Market order (never rests); returns the filled quantity."""
        if order_id in self._orders:
            return NOT_RESTING
        if not self._heaps[1 - side]:
            return 0
        return self._take(side, quantity, _NO_LIMIT)

    def cancel(self, order_id: int) -> int:
        """Cancel a resting order; returns its open quantity, or :data:`NOT_RESTING`."""
        order = self._orders.pop(order_id, None)
        if order is None:
            return NOT_RESTING
        qty: int = order[0]
        order[0] = 0
        level = order[3]
        level[0] -= qty
        count = level[1] = level[1] - 1
        queue = level[2]
        if not count:
            queue.clear()
        elif len(queue) > (count << 2) + 32:  # mostly dead: compact (amortised O(1))
            level[2] = deque([o for o in queue if o[0]])
        return qty

    def modify(self, order_id: int, quantity: int, price: int) -> int:
        """Set a resting order's open quantity and price; returns the quantity it traded.

        Same price and a smaller quantity keeps queue priority; a new price or a larger
        quantity sends the order to the back of its (new) level, after matching it as a
        taker if the new price crosses. Returns :data:`NOT_RESTING` for an unknown id.
        """
        orders = self._orders
        order = orders.get(order_id)
        if order is None:
            return NOT_RESTING
        old = order[0]
        level = order[3]
        if price == order[1] and quantity <= old:
            if quantity < old:
                level[0] -= old - quantity
                order[0] = quantity
            return 0
        # Loses priority: leave the level, then come back as a new GTC order with the same id.
        del orders[order_id]
        order[0] = 0
        level[0] -= old
        count = level[1] = level[1] - 1
        queue = level[2]
        if not count:
            queue.clear()
        elif len(queue) > (count << 2) + 32:
            level[2] = deque([o for o in queue if o[0]])
        return self.submit(order[4], quantity, price, 0, order_id)

    def _take(self, side: int, quantity: int, lim: int) -> int:
        """Match `quantity` against the side opposite `side` at keys <= `lim`."""
        other = 1 - side
        heap = self._heaps[other]
        levels = self._levels[other]
        orders = self._orders
        fills = self.fills
        left = quantity
        trades = 0
        while heap:
            key = heap[0]
            if key > lim:
                break
            level = levels[key]
            if not level[1]:  # emptied by cancels: drop it now that it is on top
                heappop(heap)
                del levels[key]
                continue
            queue = level[2]
            while True:
                order = queue[0]
                oq = order[0]
                if not oq:  # cancelled (or modified away) earlier: skip
                    queue.popleft()
                    continue
                trades += 1
                if oq <= left:
                    left -= oq
                    order[0] = 0
                    queue.popleft()
                    del orders[order[2]]
                    if fills is not None:
                        fills.append((order[2], order[1], oq))
                    level[0] -= oq
                    level[1] -= 1
                    if not level[1]:
                        queue.clear()  # dead orders point back at the level: break the cycle
                        heappop(heap)
                        del levels[key]
                        break
                    if not left:
                        break
                else:
                    order[0] = oq - left
                    level[0] -= left
                    if fills is not None:
                        fills.append((order[2], order[1], left))
                    left = 0
                    break
            if not left:
                break
        self.trades += trades
        return quantity - left

    # ------------------------------------------------------------------ streams

    def replay(self, records: Iterable[Sequence[int]]) -> tuple[int, int]:
        """Apply workload records (tuples in ``workload.DTYPE`` field order, e.g. from
        ``stream.tolist()``); returns ``(commands, rejected)``, like ``OrderBook.replay``."""
        submit = self.submit
        cancel = self.cancel
        modify = self.modify
        commands = rejected = 0
        for kind, side, tif, _flags, _symbol, _res, oid, price, qty, _ts in records:
            commands += 1
            if kind == 0:
                if submit(side, qty, price, tif, oid) < 0:
                    rejected += 1
            elif kind == 1:
                if cancel(oid) < 0:
                    rejected += 1
            elif modify(oid, qty, price) < 0:
                rejected += 1
        return commands, rejected

    # ------------------------------------------------------------------ queries

    def _best_key(self, side: int) -> Optional[int]:
        heap = self._heaps[side]
        levels = self._levels[side]
        while heap:
            key = heap[0]
            if levels[key][1]:
                return key
            heappop(heap)
            del levels[key]
        return None

    @property
    def best_bid(self) -> Optional[int]:
        """Highest bid price in ticks, or None."""
        key = self._best_key(0)
        return None if key is None else -key

    @property
    def best_ask(self) -> Optional[int]:
        """Lowest ask price in ticks, or None."""
        return self._best_key(1)

    def _side_depth(self, side: int, n: int) -> list[tuple[int, int, int]]:
        # Walk the heap tree best-first with a small frontier heap: O(k log k) for the k
        # entries visited (the n levels wanted plus any emptied ones above them).
        heap = self._heaps[side]
        levels = self._levels[side]
        size = len(heap)
        out: list[tuple[int, int, int]] = []
        if not size or n <= 0:
            return out
        frontier = [(heap[0], 0)]
        sign = -1 if side == 0 else 1
        while frontier:
            key, i = heappop(frontier)
            level = levels[key]
            if level[1]:
                out.append((sign * key, level[0], level[1]))
                if len(out) == n:
                    break
            child = 2 * i + 1
            if child < size:
                heappush(frontier, (heap[child], child))
                if child + 1 < size:
                    heappush(frontier, (heap[child + 1], child + 1))
        return out

    def depth(self, n: int = 10) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """Best `n` levels per side as ``(price, total quantity, order count)``, best first."""
        return self._side_depth(0, n), self._side_depth(1, n)

    def depth_at(self, side: int, price: int) -> int:
        """Open quantity resting at `price` on `side`."""
        level = self._levels[side].get(-price if side == 0 else price)
        return 0 if level is None else level[0]

    def order(self, order_id: int) -> Optional[tuple[int, int, int]]:
        """``(side, price, open quantity)`` of a resting order, or None."""
        order = self._orders.get(order_id)
        return None if order is None else (order[4], order[1], order[0])

    def queue(self, side: int, price: int) -> list[tuple[int, int]]:
        """Live ``(order_id, open quantity)`` at one level, in priority order."""
        level = self._levels[side].get(-price if side == 0 else price)
        return [] if level is None else [(o[2], o[0]) for o in level[2] if o[0]]

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders
