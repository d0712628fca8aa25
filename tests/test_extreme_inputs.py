"""Extreme values through every Python entry point: each call either works or raises a
package error (``lockfree_trading.errors``) or the TypeError/ValueError/OverflowError Python
itself raises for a wrong type or an int that does not fit a count argument, and never a
Rust panic (``pyo3_runtime.PanicException``, which derives from BaseException)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import lockfree_trading as lft
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

I64_MAX, I64_MIN = 2**63 - 1, -(2**63)
T = 1_000_000

# Python's own errors for a value of the wrong type, or an int too large for a count
# argument (depth's n, retain_empty_levels): acceptable, unlike a panic.
PYTHON_ERRORS = (TypeError, ValueError, OverflowError)

EXTREME_INTS = [
    0,
    1,
    -1,
    2,
    2**31 - 1,
    2**31,
    -(2**31),
    2**53,
    2**53 + 1,
    -(2**53),
    2**62,
    I64_MAX - 1,
    I64_MAX,
    I64_MAX + 1,
    I64_MIN,
    I64_MIN - 1,
    2**64 - 1,
    2**64,
    -(2**64),
    2**96 - 1,
    2**96,
    10**28,
    10**29,
    10**40,
    -(10**40),
    10**400,
]
EXTREME_DECIMALS = [
    Decimal("NaN"),
    Decimal("-NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("0"),
    Decimal("-0"),
    Decimal("0E-50"),
    Decimal("1E-28"),
    Decimal("1E-29"),
    Decimal("1E-400"),
    Decimal("1E+30"),
    Decimal("7.9E+28"),
    Decimal("79228162514264337593543950335"),
    Decimal("79228162514264337593543950336"),
    Decimal("-79228162514264337593543950335"),
    Decimal("1.00000000000000000000000000001"),
    Decimal("0.1234567890123456789012345678"),
    Decimal(2**63) / 100,
    Decimal(I64_MAX) * 10**10,
    Decimal("9" * 60),
]
EXTREME_FLOATS = [
    float("inf"),
    float("-inf"),
    float("nan"),
    -0.0,
    0.0,
    5e-324,
    1e-300,
    1.7976931348623157e308,
    1e30,
]
EXTREME_STRINGS = [
    "1e30",
    "-1e30",
    "1e-40",
    "1E+28",
    "NaN",
    "sNaN",
    "inf",
    "-Infinity",
    "-0",
    "",
    " ",
    "abc",
    "0x10",
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits
    "1\x00",
    "9" * 500,
    "0." + "0" * 40 + "1",
]
ODD_OBJECTS: list[Any] = [None, True, False, [], {}, object(), b"1", 1j, uuid.UUID(int=1)]

ints = st.sampled_from(EXTREME_INTS) | st.integers()
numbers = st.one_of(
    ints,
    st.sampled_from(EXTREME_DECIMALS),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(EXTREME_FLOATS),
    st.floats(),
    st.sampled_from(EXTREME_STRINGS),
    st.sampled_from(ODD_OBJECTS),
)
timestamps = st.one_of(ints, st.sampled_from([None, T, "soon", 1.5, True]))
sides = st.sampled_from(["BUY", "SELL", 0, 1, 2, -1, "sideways", None, lft.Side.BUY, lft.Side.SELL, 2**64])
tifs = st.sampled_from([None, "GTC", "IOC", "FOK", "GTD", "DAY", 0, 4, 5, -1, 2**64, "forever"])
order_types = st.sampled_from([None, "LIMIT", "MARKET", 0, 1, 2, "stop"])
order_ids = st.one_of(
    st.sampled_from([None, 0, 1, 2**64 - 1, 2**128 - 1, 2**128, -1, "nope", uuid.UUID(int=7)]), ints
)

# Tick and lot sizes a book accepts, from tiny to huge (1e10 is the case).
SCALES = [
    ("0.01", "1"),
    ("1", "1"),
    (10**10, "1"),
    (10**10, 10**10),
    (10**20, "0.001"),
    ("1e-20", "1e-20"),
    ("1e-28", "1"),
    ("12345678901.23", "0.5"),
]
# Tick and lot sizes fed to constructors (many refused).
SIZES = [
    *[t for t, _ in SCALES],
    10**22,
    10**23,
    10**28,
    10**29,
    "1e-29",
    "1e-40",
    "0.1234567890123456789012345678",
    *EXTREME_DECIMALS,
    *EXTREME_FLOATS,
    *EXTREME_STRINGS,
    *ODD_OBJECTS,
]


# Mostly sizes a book accepts (so the later calls run), else anything.
sizes = st.sampled_from([x for pair in SCALES for x in pair]) | st.sampled_from(SIZES)


def is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException" or type(e).__module__ == "pyo3_runtime"


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one entry point: its result, or None if it raised an acceptable error."""
    try:
        return fn(*args, **kwargs)
    except BaseException as e:
        if is_panic(e):
            pytest.fail(f"{getattr(fn, '__name__', fn)}{args!r} {kwargs!r} panicked: {e!r}")
        if isinstance(e, (lft.TradingError, *PYTHON_ERRORS)):
            return None
        raise


ENUMS = (lft.Side, lft.OrderStatus, lft.OrderType, lft.TimeInForce)


def touch(obj: Any, depth: int = 3) -> None:
    """Read every public attribute of a result object (conversions happen on read) and its repr."""
    if obj is None or depth == 0 or isinstance(obj, (int, str, bytes, Decimal, float, *ENUMS)):
        return
    if isinstance(obj, (list, tuple)):
        for o in obj:
            touch(o, depth - 1)
        return
    call(repr, obj)
    for name in dir(obj):
        if name.startswith("_"):
            continue
        value = call(getattr, obj, name)
        if callable(value):
            continue
        if isinstance(value, (list, tuple)) or type(value).__module__ == "lockfree_trading._core":
            touch(value, depth - 1)


def look(book: Any) -> None:
    """Every read-only view of a book, after whatever was done to it."""
    for name in ("best_bid", "best_ask", "sequence", "symbol"):
        call(getattr, book, name)
    call(len, book)
    call(repr, book)
    if hasattr(book, "_repr_html_"):
        call(book._repr_html_)
    depth = call(book.depth, 10)
    if depth is not None:
        touch(depth.bids)
        touch(depth.asks)
        for side, levels in (("BUY", depth.bids), ("SELL", depth.asks)):
            for level in levels[:2]:
                price = call(getattr, level, "price")
                if price is not None:
                    touch(call(book.level, side, price))
                    if hasattr(book, "depth_at"):
                        call(book.depth_at, side, price)


def new_book(tick: Any, lot: Any) -> Any:
    return lft.OrderBook("X", tick_size=tick, lot_size=lot, clock=lambda: T)


# ------------------------------------------------------------------------- regression


def test_batch_price_whose_decimal_overflows_is_refused_and_best_ask_never_panics() -> None:
    book = lft.OrderBook("X", tick_size=10**10)
    before = (book.state_hash(), book.sequence, len(book))
    with pytest.raises(lft.InvalidOrder, match=r"price"):
        book.submit_batch(
            np.array([1], dtype=np.int8),
            np.array([I64_MAX], dtype=np.int64),
            np.array([1], dtype=np.int64),
            timestamp=T,
        )
    assert (book.state_hash(), book.sequence, len(book)) == before
    assert book.best_ask is None and book.best_bid is None
    # the largest price the book can show still works, end to end
    top = 2**96 // 10**10
    if top > I64_MAX:  # pragma: no cover - not at this tick size
        top = I64_MAX
    while top * 10**10 >= 2**96:
        top -= 1
    book.submit_batch(
        np.array([1], dtype=np.int8),
        np.array([top], dtype=np.int64),
        np.array([1], dtype=np.int64),
        timestamp=T,
    )
    assert book.best_ask == Decimal(top) * 10**10
    assert book.from_ticks(top) == book.best_ask
    with pytest.raises(lft.InvalidOrder):
        book.from_ticks(top + 1)


def test_submit_and_modify_refuse_prices_and_quantities_beyond_what_the_book_can_show() -> None:
    book = lft.OrderBook("X", tick_size=10**10, lot_size=10**10)
    book.submit("SELL", 10**10, 10**10, order_id=1, timestamp=T)
    before = (book.state_hash(), book.sequence)
    for kw in ({"price": Decimal(I64_MAX) * 10**10}, {"quantity": Decimal(I64_MAX) * 10**10}):
        with pytest.raises(lft.InvalidOrder):
            book.submit("SELL", kw.get("quantity", 10**10), kw.get("price", 10**10), order_id=2, timestamp=T)
        with pytest.raises(lft.InvalidOrder):
            book.modify(1, timestamp=T, **kw)
    assert (book.state_hash(), book.sequence) == before
    assert book.best_ask == 10**10


@pytest.mark.parametrize("value", [I64_MAX + 1, I64_MIN - 1, 2**64, 10**400])
def test_raw_counts_outside_64_bits_raise_invalid_order(value: int) -> None:
    book = lft.OrderBook("X", tick_size="0.01")
    with pytest.raises(lft.InvalidOrder):
        book.from_ticks(value)
    with pytest.raises(lft.InvalidOrder):
        book.from_lots(value)


def test_raw_counts_beyond_the_decimal_range_raise_invalid_order() -> None:
    book = lft.OrderBook("X", tick_size=10**20, lot_size=10**20)
    for fn in (book.from_ticks, book.from_lots):
        with pytest.raises(lft.InvalidOrder, match=r"largest"):
            fn(I64_MAX)
        assert fn(-1) == -(10**20)
    with pytest.raises(lft.InvalidOrder):
        book.to_ticks(Decimal("1e30"))


@pytest.mark.parametrize("tick", [10**23, 10**28, "0.1234567890123456789012345678"])
def test_tick_sizes_that_leave_too_few_representable_prices_are_refused(tick: Any) -> None:
    with pytest.raises(lft.InvalidConfig, match=r"tick_size"):
        lft.OrderBook("X", tick_size=tick)
    with pytest.raises(lft.InvalidConfig, match=r"lot_size"):
        lft.OrderBook("X", lot_size=tick)


# ------------------------------------------------------------------------- OrderBook


@settings(max_examples=200, deadline=None, database=None)
@given(tick=sizes, lot=sizes, retain=ints)
def test_order_book_constructor_never_panics(tick: Any, lot: Any, retain: int) -> None:
    book = call(lft.OrderBook, "X", tick_size=tick, lot_size=lot, retain_empty_levels=retain)
    if book is not None:
        look(book)
        call(book.to_ticks, 1)
        call(book.from_ticks, I64_MAX)


def book_op() -> st.SearchStrategy[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    kw_submit = st.fixed_dictionaries(
        {},
        optional={
            "order_type": order_types,
            "time_in_force": tifs,
            "order_id": order_ids,
            "post_only": st.booleans(),
            "display_quantity": numbers,
            "expire_time": timestamps,
            "timestamp": timestamps,
        },
    )
    return st.one_of(
        st.tuples(st.just("submit"), st.tuples(sides, numbers, numbers), kw_submit),
        st.tuples(st.just("submit"), st.tuples(sides, numbers), kw_submit),
        st.tuples(
            st.just("cancel"),
            st.tuples(order_ids),
            st.fixed_dictionaries({}, optional={"timestamp": timestamps}),
        ),
        st.tuples(
            st.just("modify"),
            st.tuples(order_ids, numbers, numbers),
            st.fixed_dictionaries({}, optional={"timestamp": timestamps}),
        ),
        st.tuples(st.just("expire"), st.tuples(timestamps), st.just({})),
        st.tuples(st.just("end_of_day"), st.tuples(timestamps), st.just({})),
        st.tuples(st.sampled_from(["to_ticks", "to_lots"]), st.tuples(numbers), st.just({})),
        st.tuples(
            st.sampled_from(["from_ticks", "from_lots"]), st.tuples(st.one_of(ints, numbers)), st.just({})
        ),
        st.tuples(st.sampled_from(["depth_at", "level"]), st.tuples(sides, numbers), st.just({})),
        st.tuples(st.just("depth"), st.tuples(ints), st.just({})),
        st.tuples(st.just("order"), st.tuples(order_ids), st.just({})),
        st.tuples(st.just("batch"), st.tuples(batch_columns()), st.just({})),
    )


def max_units(step: Any) -> int:
    """The largest count whose value a Decimal (96-bit mantissa) shows at the step's scale."""
    digits = Decimal(str(step)).normalize().as_tuple().digits
    return min(I64_MAX, (2**96 - 1) // int("".join(map(str, digits))))


# Counts at and around every configured book's bound, and plain int64 extremes.
BOUNDS = sorted({max_units(x) for t, lo in SCALES for x in (t, lo)} | {max_units(10**20), max_units("1e-20")})
EDGE_COUNTS = sorted({b + d for b in BOUNDS for d in (-1, 0, 1) if 0 < b + d <= I64_MAX})
INT64_EXTREMES = [0, 1, -1, 2, 100, 2**31, 2**53, 2**62, I64_MAX, I64_MAX - 1, I64_MIN, I64_MIN + 1]
positive_counts = (
    st.sampled_from(EDGE_COUNTS) | st.sampled_from([1, 2, 2**53, I64_MAX]) | st.integers(1, I64_MAX)
)
any_i64 = st.sampled_from(INT64_EXTREMES + EDGE_COUNTS) | st.integers(I64_MIN, I64_MAX)


@st.composite
def batch_columns(draw: st.DrawFn) -> tuple[Any, ...]:
    """Mostly well-formed rows (each batch fails whole on one malformed row) at extreme
    counts; sometimes malformed columns."""
    n = draw(st.integers(1, 3))
    well_formed = draw(st.integers(0, 3)) > 0
    rows = st.sampled_from([0, 1]) if well_formed else st.sampled_from([0, 1, 2, -1, 127, -128])
    side = np.array(draw(st.lists(rows, min_size=n, max_size=n)), np.int8)
    prices = (st.just(0) | positive_counts) if well_formed else any_i64
    price = np.array(draw(st.lists(prices, min_size=n, max_size=n)), np.int64)
    quantity = np.array(
        draw(st.lists(positive_counts if well_formed else any_i64, min_size=n, max_size=n)), np.int64
    )
    tif = None
    if draw(st.booleans()):
        # market rows (price 0) are IOC or FOK; GTD (3) needs an expire_time a batch lacks
        codes = [st.sampled_from([1, 2] if p == 0 else [0, 1, 2, 4]) for p in price]
        if not well_formed:
            codes = [st.sampled_from([0, 1, 2, 3, 4, 5, 255])] * n
        tif = np.array(draw(st.tuples(*codes)), np.uint8)
    ids = draw(
        st.none() | st.lists(st.sampled_from([0, 1, 2**63, 2**64 - 1]), min_size=n, max_size=n, unique=True)
    )
    if ids is not None:
        ids = np.array(ids, np.uint64)
    if well_formed:
        return side, price, quantity, tif, ids
    odd = draw(st.integers(0, 6))
    if odd == 1:  # a float column with non-finite values
        price = np.array([np.inf, np.nan, -np.inf][:n], np.float64)
    elif odd == 2:  # unsigned values that do not fit int64
        quantity = np.full(n, 2**64 - 1, np.uint64)
    elif odd == 3:  # two-dimensional
        price = price.reshape(1, -1)
    elif odd == 4:  # lengths that disagree
        quantity = quantity[:-1]
    elif odd == 5:  # plain Python lists with huge ints
        price = [I64_MAX + 1] * n
    elif odd == 6:  # object arrays
        price = np.array([Decimal("NaN")] * n, dtype=object)
    return side, price, quantity, tif, ids


def run_book_op(book: Any, op: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    name, args, kw = op
    if name == "batch":
        side, price, quantity, tif, ids = args[0]
        touch(call(book.submit_batch, side, price, quantity, tif, ids, timestamp=T))
        return
    if name in ("edge_submit", "edge_modify"):
        # prices and quantities at raw counts, as exact decimals (no rounding in Python)
        who, ticks, lots = args
        with localcontext() as ctx:
            ctx.prec = 200
            price = Decimal(ticks) * book.tick_size
            qty = Decimal(lots) * book.lot_size
        if name == "edge_submit":
            touch(call(book.submit, who, qty, price, display_quantity=qty, timestamp=T))
        else:
            touch(call(book.modify, who, qty, price, timestamp=T))
        return
    touch(call(getattr(book, name), *args, **kw))


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.sampled_from(SCALES), ops=st.lists(book_op(), min_size=1, max_size=8))
def test_order_book_entry_points_never_panic(scale: tuple[Any, Any], ops: list[Any]) -> None:
    book = new_book(*scale)
    # a resting order on each side, so trades, modifies and views have something to work on
    book.submit("SELL", book.from_lots(1), book.from_ticks(1000), order_id=1, timestamp=T)
    book.submit("BUY", book.from_lots(1), book.from_ticks(10), order_id=2, timestamp=T)
    for op in ops:
        run_book_op(book, op)
        look(book)
    call(book.replay, b"")


@settings(max_examples=200, deadline=None, database=None)
@given(
    scale=st.sampled_from(SCALES),
    side=st.sampled_from([0, 1]),
    price=positive_counts,
    quantity=positive_counts,
)
def test_largest_accepted_values_convert_back_everywhere(
    scale: tuple[Any, Any], side: int, price: int, quantity: int
) -> None:
    """Whatever a batch, a replay or a submit of raw ticks accepts, every view shows."""
    book = new_book(*scale)
    call(
        book.submit_batch,
        np.array([side], np.int8),
        np.array([price], np.int64),
        np.array([quantity], np.int64),
        timestamp=T,
    )
    p, q = call(book.from_ticks, price), call(book.from_lots, quantity)
    if p is not None and q is not None:
        touch(call(book.submit, 1 - side, q, p, timestamp=T, display_quantity=q))
        touch(call(book.modify, 1, quantity=q, price=p, timestamp=T))
    record = np.zeros(40, np.uint8)
    record[1] = side
    record[8:16] = np.frombuffer(np.array([77], "<i8").tobytes(), np.uint8)
    record[16:24] = np.frombuffer(np.array([price], "<i8").tobytes(), np.uint8)
    record[24:32] = np.frombuffer(np.array([quantity], "<i8").tobytes(), np.uint8)
    touch(call(book.replay, record.tobytes()))
    look(book)
    # level totals may exceed what one order may hold: still no panic
    for _ in range(3):
        call(book.submit, side, q, p, timestamp=T)
    look(book)
    touch(call(book.expire, I64_MAX))
    touch(call(book.end_of_day, I64_MAX))
    look(book)


# ------------------------------------------------------------------------- TradingSystem

SYSTEM_SCALES = [("A", "0.01", "1"), ("B", 10**10, "1"), ("C", "1e-20", 10**10), ("D", 10**20, "0.001")]


@pytest.fixture(scope="module")
def system() -> Any:
    cfg = {
        "symbols": [{"name": n, "tick_size": str(t), "lot_size": str(lo)} for n, t, lo in SYSTEM_SCALES],
        "engine": {"threads": 2},
    }
    with lft.TradingSystem(cfg) as s:
        yield s


symbols = st.sampled_from([n for n, _, _ in SYSTEM_SCALES] + ["nope", "", None, 1])


def system_op() -> st.SearchStrategy[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    kw_submit = st.fixed_dictionaries(
        {},
        optional={
            "order_type": order_types,
            "time_in_force": tifs,
            "order_id": order_ids,
            "display_quantity": numbers,
            "expire_time": timestamps,
            "timestamp": timestamps,
        },
    )
    ts = st.fixed_dictionaries({}, optional={"timestamp": timestamps})
    return st.one_of(
        st.tuples(st.just("submit"), st.tuples(symbols, sides, numbers, numbers), kw_submit),
        st.tuples(st.just("submit"), st.tuples(symbols, sides, numbers), kw_submit),
        st.tuples(st.just("cancel"), st.tuples(symbols, order_ids), ts),
        st.tuples(st.just("modify"), st.tuples(symbols, order_ids, numbers, numbers), ts),
        st.tuples(st.sampled_from(["expire", "end_of_day"]), st.tuples(symbols, timestamps), st.just({})),
        st.tuples(st.just("batch"), st.tuples(symbols, batch_columns()), st.just({})),
    )


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(system_op(), min_size=1, max_size=5))
def test_trading_system_entry_points_never_panic(system: Any, ops: list[Any]) -> None:
    sub = system.subscribe()
    for name, args, kw in ops:
        if name == "batch":
            symbol, (side, price, quantity, tif, ids) = args
            touch(call(system.submit_batch, symbol, side, price, quantity, time_in_force=tif, order_id=ids))
        else:
            touch(call(getattr(system, name), *args, **kw))
    for symbol in [n for n, _, _ in SYSTEM_SCALES]:
        look(system.book(symbol))
    touch(sub.poll())


def exercise_system(system: Any) -> None:
    for price in (1, "1e30", I64_MAX, None):
        touch(call(system.submit, "X", "SELL", 1, price, timestamp=T))
    touch(
        call(
            system.submit_batch,
            "X",
            np.array([1, 0], np.int8),
            np.array([I64_MAX, 0], np.int64),
            np.array([I64_MAX, I64_MAX], np.int64),
        )
    )
    look(system.book("X"))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tick=sizes,
    lot=sizes,
    band=st.none() | st.tuples(numbers, numbers),
    retain=ints,
    raw=st.booleans(),
)
def test_trading_system_config_never_panics(tick: Any, lot: Any, band: Any, retain: int, raw: bool) -> None:
    """Through `Config` (pydantic) and straight into the Rust constructor."""
    symbol: dict[str, Any] = {"name": "X", "tick_size": tick, "lot_size": lot}
    if raw:
        symbol["retain_empty_levels"] = retain
        if band is not None:
            symbol["price_min"], symbol["price_max"] = band
        system = call(lft._core.TradingSystem, {"symbols": [symbol], "engine": {"threads": 1}})
    else:
        if band is not None:
            symbol["price_band"] = {"min": band[0], "max": band[1]}
        system = call(
            lft.TradingSystem,
            {"symbols": [symbol], "engine": {"threads": 1}, "book": {"retain_empty_levels": retain}},
        )
    if system is None:
        return
    try:
        exercise_system(system)
    finally:
        system.shutdown()
