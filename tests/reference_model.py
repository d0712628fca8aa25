"""A deliberately simple, pure-Python reference order book.

It implements ``docs/semantics.md`` in the most literal way possible: dictionaries of
plain Python lists, linear scans, integer ticks / lots / nanoseconds everywhere. It is slow
and that is the point: every rule should be readable next to the line of the contract it
implements, so that the differential tests can trust it.

Public surface (all quantities in engine units):

* ``ReferenceBook(tick_size="0.01", lot_size="1")``
* ``submit(side, quantity, price=None, *, order_type=None, time_in_force=None,
  order_id=None, post_only=False, display_quantity=None, expire_time=None, timestamp)``
  -> ``Report``.  ``side``/``order_type``/``time_in_force`` accept the same enum-ish values
  as the engine (strings such as ``"BUY"`` or objects with a ``.name``); ``quantity``,
  ``price`` and ``display_quantity`` accept the user-facing ``Decimal``/``int``/``str``/
  ``float`` values and are converted with the book's tick and lot sizes, exactly like the
  engine's Python binding does.
* ``cancel(order_id, *, timestamp)``, ``modify(order_id, quantity=None, price=None, *,
  timestamp)`` -> ``Report``
* ``expire(now)``, ``end_of_day(now)`` -> ``list[Update]``
* read side: ``depth(n)``, ``depth_at(side, ticks)``, ``best_bid``, ``best_ask`` (ticks),
  ``order(id)``, ``__len__``, ``__contains__``, ``sequence``.

Events are plain named tuples in engine units (ticks, lots, int order ids, names for
enums) so that they compare with ``==``.

Errors raise classes with the same names and hierarchy as the engine's
(``TradingError``, ``InvalidOrder``, ``DuplicateOrderId``, ``OrderNotFound``); when the
``lockfree_trading`` package is importable its own classes are used.
"""

from __future__ import annotations

import decimal
import math
import uuid
from decimal import Decimal
from typing import NamedTuple

try:  # use the engine's exception classes when they exist, so `pytest.raises` agrees
    from lockfree_trading import (  # type: ignore[import-not-found]
        DuplicateOrderId,
        InvalidOrder,
        OrderNotFound,
        TradingError,
    )
except Exception:  # pragma: no cover - the reference must work without the engine

    class TradingError(Exception):
        """Base class of every book error."""

    class InvalidOrder(TradingError, ValueError):
        """Malformed order or request."""

    class DuplicateOrderId(TradingError):
        """A new order reused the id of a resting order."""

    class OrderNotFound(TradingError, KeyError):
        """Cancel/modify of an id that is not resting."""


I64_MAX = 2**63 - 1

BUY = "BUY"
SELL = "SELL"
SIDES = (BUY, SELL)
TIFS = ("GTC", "IOC", "FOK", "GTD", "DAY")
RESTING_TIFS = ("GTC", "GTD", "DAY")
STATUSES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED")

POST_ONLY_REASON = "post-only order would cross the book"


class Trade(NamedTuple):
    sequence: int
    price: int  # ticks (maker's price)
    quantity: int  # lots
    maker_order_id: int
    taker_order_id: int
    taker_side: str
    timestamp: int


class Update(NamedTuple):
    sequence: int
    order_id: int
    side: str
    status: str
    filled_quantity: int  # lots, cumulative
    remaining_quantity: int  # lots, open quantity (incl. hidden iceberg quantity)
    price: int | None  # ticks, None for market orders
    reject_reason: str | None
    timestamp: int


class Report(NamedTuple):
    """The outcome of one command: own report, trades, other orders' updates."""

    report: Update
    trades: list[Trade]
    updates: list[Update]

    def events(self) -> list[Trade | Update]:
        return sorted([*self.trades, *self.updates, self.report], key=lambda e: e.sequence)


# --------------------------------------------------------------------------- helpers


def _name(value, allowed, what):
    """Normalise an enum-ish argument (enum object with .name, or a string) to its name."""
    if value is None:
        return None
    name = getattr(value, "name", value)
    if not isinstance(name, str) or name.upper() not in allowed:
        raise InvalidOrder(f"invalid {what}: {value!r}")
    return name.upper()


def order_id_to_int(order_id) -> int:
    """UUID / str / int -> the 128-bit integer the engine uses."""
    if isinstance(order_id, uuid.UUID):
        return order_id.int
    if isinstance(order_id, bool):
        raise InvalidOrder(f"invalid order id: {order_id!r}")
    if isinstance(order_id, int):
        if not 0 <= order_id < 2**128:
            raise InvalidOrder(f"invalid order id: {order_id!r}")
        return order_id
    if isinstance(order_id, str):
        try:
            return uuid.UUID(order_id).int
        except ValueError:
            raise InvalidOrder(f"invalid order id: {order_id!r}") from None
    raise InvalidOrder(f"invalid order id: {order_id!r}")


def to_units(value, unit: Decimal, what: str) -> int:
    """Convert a user value (Decimal/int/str/float) to a positive integer count of `unit`."""
    if isinstance(value, bool) or value is None:
        raise InvalidOrder(f"invalid {what}: {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidOrder(f"invalid {what}: {value!r} is not finite")
        value = str(value)
    if isinstance(value, (int, str, Decimal)):
        try:
            d = Decimal(value)
        except (decimal.InvalidOperation, ValueError):
            raise InvalidOrder(f"invalid {what}: {value!r} is not a number") from None
    else:
        raise InvalidOrder(f"invalid {what}: {value!r}")
    if not d.is_finite():
        raise InvalidOrder(f"invalid {what}: {value!r} is not finite")
    if d <= 0:
        raise InvalidOrder(f"invalid {what}: {value!r} must be positive")
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        q = d / unit
        if q != q.to_integral_value():
            raise InvalidOrder(f"invalid {what}: {value!r} is not a multiple of {unit}")
        n = int(q)
    if n > I64_MAX:
        raise InvalidOrder(f"invalid {what}: {value!r} overflows i64")
    return n


# --------------------------------------------------------------------------- the book


class ReferenceBook:
    def __init__(self, tick_size="0.01", lot_size="1"):
        self.tick_size = Decimal(str(tick_size))
        self.lot_size = Decimal(str(lot_size))
        # side -> price (ticks) -> list of order dicts, FIFO (index 0 = front of queue)
        self.levels: dict[str, dict[int, list[dict]]] = {BUY: {}, SELL: {}}
        # order id -> order dict, for every resting order
        self.orders: dict[int, dict] = {}
        self.sequence = 0  # last sequence number used
        self._generated_ids = 0
        self._events: list = []  # events of the command being processed

    # ------------------------------------------------------------------ conversions

    def to_ticks(self, price) -> int:
        return to_units(price, self.tick_size, "price")

    def to_lots(self, quantity) -> int:
        return to_units(quantity, self.lot_size, "quantity")

    def from_ticks(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def from_lots(self, lots: int) -> Decimal:
        return lots * self.lot_size

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.orders)

    def __contains__(self, order_id) -> bool:
        try:
            return order_id_to_int(order_id) in self.orders
        except InvalidOrder:
            return False

    def order(self, order_id):
        o = self.orders.get(order_id_to_int(order_id))
        return None if o is None else dict(o)

    @property
    def best_bid(self) -> int | None:
        return max(self.levels[BUY]) if self.levels[BUY] else None

    @property
    def best_ask(self) -> int | None:
        return min(self.levels[SELL]) if self.levels[SELL] else None

    def depth(self, n: int = 10):
        """(bids, asks), each a list of (price ticks, visible lots, order count), best first."""
        out = []
        for side in SIDES:
            prices = sorted(self.levels[side], reverse=(side == BUY))[:n]
            out.append(
                [
                    (p, sum(o["visible"] for o in self.levels[side][p]), len(self.levels[side][p]))
                    for p in prices
                ]
            )
        return out[0], out[1]

    def depth_at(self, side, ticks: int) -> int:
        side = _name(side, SIDES, "side")
        return sum(o["visible"] for o in self.levels[side].get(ticks, []))

    # ------------------------------------------------------------------ events

    def _next_seq(self) -> int:
        self.sequence += 1
        return self.sequence

    def _update(self, o, status, timestamp, *, remaining=None, reason=None) -> Update:
        if remaining is None:
            remaining = o["open"] if status in ("NEW", "PARTIALLY_FILLED") else 0
        u = Update(
            sequence=self._next_seq(),
            order_id=o["id"],
            side=o["side"],
            status=status,
            filled_quantity=o["filled"],
            remaining_quantity=remaining,
            price=o["price"],
            reject_reason=reason,
            timestamp=timestamp,
        )
        self._events.append(u)
        return u

    def _finish(self, report: Update) -> Report:
        events, self._events = self._events, []
        trades = [e for e in events if isinstance(e, Trade)]
        updates = [e for e in events if isinstance(e, Update) and e is not report]
        return Report(report, trades, updates)

    # ------------------------------------------------------------------ book plumbing

    def _is_due(self, o, timestamp) -> bool:
        return o["tif"] == "GTD" and o["expire_time"] <= timestamp

    def _resting(self, oid: int, timestamp: int):
        """The resting order with this id, or None (a due GTD order is not resting)."""
        o = self.orders.get(oid)
        if o is None or self._is_due(o, timestamp):
            return None
        return o

    def _remove(self, o):
        queue = self.levels[o["side"]][o["price"]]
        queue.remove(o)
        if not queue:
            del self.levels[o["side"]][o["price"]]
        del self.orders[o["id"]]

    def _rest(self, o, timestamp):
        """Put an order at the back of its level with a fresh slice."""
        o["visible"] = o["open"] if o["display"] is None else min(o["display"], o["open"])
        o["joined"] = timestamp
        self.levels[o["side"]].setdefault(o["price"], []).append(o)
        self.orders[o["id"]] = o

    def _sweep(self, timestamp):
        """Contract step 1: remove every due GTD order, by (expire_time, acceptance)."""
        due = [o for o in self.orders.values() if self._is_due(o, timestamp)]
        due.sort(key=lambda o: (o["expire_time"], o["accept_seq"]))
        out = []
        for o in due:
            self._remove(o)
            out.append(self._update(o, "EXPIRED", timestamp))
        return out

    def _crosses(self, side, price) -> bool:
        """Would a `side` order at limit `price` (None = market) trade against the book?"""
        if side == BUY:
            best = self.best_ask
            return best is not None and (price is None or best <= price)
        best = self.best_bid
        return best is not None and (price is None or best >= price)

    def _crossing_open_quantity(self, side, price) -> int:
        """Visible + hidden quantity on the opposite side at prices that cross `price`."""
        opp = SELL if side == BUY else BUY
        total = 0
        for p, queue in self.levels[opp].items():
            if price is None or (p <= price if side == BUY else p >= price):
                total += sum(o["open"] for o in queue)
        return total

    def _match(self, taker, timestamp):
        """Match `taker` (dict with id/side/price/open/filled) against the opposite side."""
        opp = SELL if taker["side"] == BUY else BUY
        while taker["open"] > 0 and self._crosses(taker["side"], taker["price"]):
            best = self.best_ask if taker["side"] == BUY else self.best_bid
            queue = self.levels[opp][best]
            maker = queue[0]
            q = min(taker["open"], maker["visible"])
            self._events.append(
                Trade(
                    sequence=self._next_seq(),
                    price=maker["price"],
                    quantity=q,
                    maker_order_id=maker["id"],
                    taker_order_id=taker["id"],
                    taker_side=taker["side"],
                    timestamp=timestamp,
                )
            )
            taker["open"] -= q
            taker["filled"] += q
            maker["open"] -= q
            maker["filled"] += q
            maker["visible"] -= q
            if maker["open"] == 0:
                self._remove(maker)
                self._update(maker, "FILLED", timestamp)
            else:
                if maker["visible"] == 0:
                    # iceberg: a new slice joins the back of the level
                    queue.remove(maker)
                    maker["visible"] = min(maker["display"], maker["open"])
                    maker["joined"] = timestamp
                    queue.append(maker)
                self._update(maker, "PARTIALLY_FILLED", timestamp)

    # ------------------------------------------------------------------ commands

    def submit(
        self,
        side,
        quantity,
        price=None,
        *,
        order_type=None,
        time_in_force=None,
        order_id=None,
        post_only=False,
        display_quantity=None,
        expire_time=None,
        timestamp: int,
    ) -> Report:
        # ---------------- validation: raise before anything changes
        side = _name(side, SIDES, "side")
        order_type = _name(order_type, ("LIMIT", "MARKET"), "order type")
        tif = _name(time_in_force, TIFS, "time in force")
        if order_type is None:
            order_type = "LIMIT" if price is not None else "MARKET"
        lots = self.to_lots(quantity)
        if order_type == "LIMIT":
            if price is None:
                raise InvalidOrder("a limit order requires a price")
            ticks = self.to_ticks(price)
            if tif is None:
                tif = "GTC"
        else:
            if price is not None:
                raise InvalidOrder("a market order must not have a price")
            ticks = None
            if tif is None:
                tif = "IOC"
            if tif not in ("IOC", "FOK"):
                raise InvalidOrder(f"a market order accepts only IOC or FOK time in force, not {tif}")
        if tif == "GTD":
            if expire_time is None:
                raise InvalidOrder("a GTD order requires an expire_time")
            if expire_time <= timestamp:
                raise InvalidOrder("expire_time must be after the order's timestamp")
        elif expire_time is not None:
            raise InvalidOrder("expire_time is only allowed for GTD orders")
        if post_only:
            if order_type != "LIMIT":
                raise InvalidOrder("post_only is only allowed for limit orders")
            if tif in ("IOC", "FOK"):
                raise InvalidOrder("post_only is not allowed with IOC or FOK")
        display = None
        if display_quantity is not None:
            if order_type != "LIMIT":
                raise InvalidOrder("display_quantity (iceberg) is only allowed for limit orders")
            if tif not in RESTING_TIFS:
                raise InvalidOrder("display_quantity (iceberg) requires GTC, GTD or DAY")
            display = to_units(display_quantity, self.lot_size, "display_quantity")
            if display > lots:
                raise InvalidOrder("display_quantity must not exceed quantity")
        if order_id is None:
            self._generated_ids += 1
            oid = self._generated_ids
        else:
            oid = order_id_to_int(order_id)
        if self._resting(oid, timestamp) is not None:
            raise DuplicateOrderId(f"duplicate order id {uuid.UUID(int=oid)}")

        # ---------------- 1. expiry sweep
        self._sweep(timestamp)

        o = {
            "id": oid,
            "side": side,
            "order_type": order_type,
            "price": ticks,
            "quantity": lots,
            "open": lots,
            "visible": 0,
            "filled": 0,
            "tif": tif,
            "expire_time": expire_time,
            "post_only": bool(post_only),
            "display": display,
            "timestamp": timestamp,
            "joined": timestamp,
            "accept_seq": None,
        }

        # ---------------- post-only
        if post_only and self._crosses(side, ticks):
            return self._finish(self._update(o, "REJECTED", timestamp, remaining=0, reason=POST_ONLY_REASON))

        # ---------------- FOK
        if tif == "FOK" and self._crossing_open_quantity(side, ticks) < lots:
            return self._finish(self._update(o, "CANCELED", timestamp))

        # ---------------- 2. matching
        self._match(o, timestamp)

        # ---------------- remainder and 3. own report
        if o["open"] == 0:
            return self._finish(self._update(o, "FILLED", timestamp))
        if tif in RESTING_TIFS:
            status = "NEW" if o["filled"] == 0 else "PARTIALLY_FILLED"
            report = self._update(o, status, timestamp)
            o["accept_seq"] = report.sequence
            self._rest(o, timestamp)
            return self._finish(report)
        return self._finish(self._update(o, "CANCELED", timestamp))

    def cancel(self, order_id, *, timestamp: int) -> Report:
        oid = order_id_to_int(order_id)
        o = self._resting(oid, timestamp)
        if o is None:
            raise OrderNotFound(f"order {uuid.UUID(int=oid)} is not resting on the book")
        self._sweep(timestamp)
        self._remove(o)
        return self._finish(self._update(o, "CANCELED", timestamp))

    def modify(self, order_id, quantity=None, price=None, *, timestamp: int) -> Report:
        oid = order_id_to_int(order_id)
        if quantity is None and price is None:
            raise InvalidOrder("modify needs a new quantity or a new price (nothing to change)")
        new_open = None if quantity is None else self.to_lots(quantity)
        new_price = None if price is None else self.to_ticks(price)
        o = self._resting(oid, timestamp)
        if o is None:
            raise OrderNotFound(f"order {uuid.UUID(int=oid)} is not resting on the book")
        if new_open is None:
            new_open = o["open"]
        if new_price is None:
            new_price = o["price"]

        self._sweep(timestamp)

        def status_of(order):
            return "NEW" if order["filled"] == 0 else "PARTIALLY_FILLED"

        if new_price == o["price"] and new_open == o["open"]:
            return self._finish(self._update(o, status_of(o), timestamp))
        if new_price == o["price"] and new_open < o["open"]:
            # reduced in place, keeps priority
            o["open"] = new_open
            o["visible"] = min(o["visible"], new_open)
            return self._finish(self._update(o, status_of(o), timestamp))
        # price change or larger quantity: loses priority
        if o["post_only"] and self._crosses(o["side"], new_price):
            return self._finish(
                self._update(o, "REJECTED", timestamp, remaining=o["open"], reason=POST_ONLY_REASON)
            )
        self._remove(o)
        o["price"] = new_price
        o["open"] = new_open
        o["quantity"] = o["filled"] + new_open
        self._match(o, timestamp)
        if o["open"] == 0:
            return self._finish(self._update(o, "FILLED", timestamp))
        report = self._update(o, status_of(o), timestamp)
        self._rest(o, timestamp)
        return self._finish(report)

    def expire(self, now: int) -> list[Update]:
        updates = self._sweep(now)
        self._events = []
        return updates

    def end_of_day(self, now: int) -> list[Update]:
        updates = self._sweep(now)
        day = sorted((o for o in self.orders.values() if o["tif"] == "DAY"), key=lambda o: o["accept_seq"])
        for o in day:
            self._remove(o)
            updates.append(self._update(o, "EXPIRED", now))
        self._events = []
        return updates

    # ------------------------------------------------------------------ self-checks

    def check_invariants(self):
        """Internal consistency; used by the reference model's own tests."""
        count = 0
        for side in SIDES:
            for p, queue in self.levels[side].items():
                assert queue, f"empty level left on the ladder: {side} {p}"
                for o in queue:
                    count += 1
                    assert self.orders[o["id"]] is o
                    assert o["side"] == side and o["price"] == p
                    assert 0 < o["visible"] <= o["open"]
                    if o["display"] is None:
                        assert o["visible"] == o["open"]
                    else:
                        assert o["visible"] <= o["display"]
        assert count == len(self.orders)
        bb, ba = self.best_bid, self.best_ask
        assert bb is None or ba is None or bb < ba, f"crossed book {bb} >= {ba}"


# --------------------------------------------------------------------------- engine adapters
#
# Convert the engine's Python objects into the reference's comparable form (engine units,
# int ids, enum names). They only use attributes, so they work with any object that has the
# documented API.


def _exact_units(value: Decimal, unit: Decimal, what: str) -> int:
    assert isinstance(value, Decimal), f"{what} should be a Decimal, got {type(value).__name__}"
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        q = value / unit
        assert q == q.to_integral_value(), f"{what} {value} is not a multiple of {unit}"
        return int(q)


def price_ticks(book, price) -> int | None:
    return None if price is None else _exact_units(price, book.tick_size, "price")


def qty_lots(book, qty) -> int:
    return _exact_units(qty, book.lot_size, "quantity")


def conv_trade(book, t) -> Trade:
    return Trade(
        sequence=t.sequence,
        price=price_ticks(book, t.price),
        quantity=qty_lots(book, t.quantity),
        maker_order_id=t.maker_order_id.int,
        taker_order_id=t.taker_order_id.int,
        taker_side=t.taker_side.name,
        timestamp=t.timestamp,
    )


def conv_update(book, u, *, exact_reason: bool = False) -> Update:
    reason = u.reject_reason
    if not exact_reason and reason is not None:
        reason = "<reason>"
    return Update(
        sequence=u.sequence,
        order_id=u.order_id.int,
        side=u.side.name,
        status=u.status.name,
        filled_quantity=qty_lots(book, u.filled_quantity),
        remaining_quantity=qty_lots(book, u.remaining_quantity),
        price=price_ticks(book, u.price),
        reject_reason=reason,
        timestamp=u.timestamp,
    )


def conv_report(book, r, *, exact_reason: bool = False) -> Report:
    """ExecutionReport -> Report (the report fields of an ExecutionReport form an Update)."""
    return Report(
        conv_update(book, r, exact_reason=exact_reason),
        [conv_trade(book, t) for t in r.trades],
        [conv_update(book, u, exact_reason=exact_reason) for u in r.updates],
    )


def mask_reason(x):
    """Replace reject reasons by a presence marker (for Report, Update or lists of them)."""
    if isinstance(x, Report):
        return Report(mask_reason(x.report), x.trades, [mask_reason(u) for u in x.updates])
    if isinstance(x, Update):
        return x._replace(reject_reason=None if x.reject_reason is None else "<reason>")
    if isinstance(x, list):
        return [mask_reason(e) for e in x]
    return x


def engine_depth(book, n: int = 1000):
    d = book.depth(n)
    return (
        [(price_ticks(book, lv.price), qty_lots(book, lv.quantity), lv.order_count) for lv in d.bids],
        [(price_ticks(book, lv.price), qty_lots(book, lv.quantity), lv.order_count) for lv in d.asks],
    )


def engine_snapshot(book):
    """Everything observable about a book's state, for 'nothing changed' assertions."""
    return {
        "state_hash": book.state_hash(),
        "sequence": book.sequence,
        "len": len(book),
        "depth": engine_depth(book),
        "best_bid": book.best_bid,
        "best_ask": book.best_ask,
    }
