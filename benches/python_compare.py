"""Side-by-side cost of order flow from Python: our engine, a good pure-Python book, nanobook.

    python benches/python_compare.py [--count N] [--quick] [--json PATH]

All contestants get the same seeded stream (``workload.generate(scenario, N, seed=42)``),
converted to Python tuples / bytes / columns *before* timing:

(a) ``OrderBook`` one call at a time from Python (``submit`` / ``cancel`` / ``modify`` with
    plain ints; rejects are raised and caught as ``TradingError``);
(b) ``OrderBook.replay`` of the whole stream (one call, GIL released);
(c) ``benches/python_books.PythonBook``, one method call per command;
(d) on the stream's new orders alone (no cancel, no modify): ``submit_batch`` against a
    Python loop of ``submit``;
(e) nanobook (PyPI, Rust/PyO3) on that same no-cancel flow, in a subprocess with a timeout:
    its cancel path leaves orders behind and can hang, so it never sees a cancel here;
plus the per-call cost of ``best_bid`` and ``depth(10)`` on books of 1e3, 1e5 and 1e6
resting orders, and a per-call anatomy of the binding (what one Python call costs, and in
which part). Throughput is the best of 3 interleaved runs after one warm-up run, each on a
fresh book, with the cyclic GC paused while the clock runs (as ``timeit`` does).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import lockfree_trading as lft
import numpy as np
import numpy.typing as npt
from lockfree_trading import OrderBook, Side, TimeInForce, TradingError, workload

sys.path.insert(0, str(Path(__file__).resolve().parent))
from python_books import PythonBook

SEED = 42
RUNS = 3
DEFAULT_COUNT = 1_000_000
# Stream length and runs of `lft-bench throughput` (its defaults), so the Python batched path
# is compared with the Rust engine on exactly the same stream, measured the same way.
RUST_COUNT = 2_000_000
RUST_REPEAT = 5
QUICK_COUNT = 80_000
QUICK_SCENARIOS = ("normal", "swing")  # normal + the worst one for our per-call path (most rejects)
NEW_ONLY_SCENARIO = "normal"
QUERY_SIZES = (1_000, 100_000, 1_000_000)
QUERY_MID = 1_000_000
NANOBOOK_NOTE = (
    "nanobook is measured on the no-cancel flow only (new GTC/IOC limit orders): its cancel "
    "path is known to leave orders behind and hang, so it runs in a subprocess with a timeout"
)

Records = list[tuple[int, ...]]
Result = dict[str, Any]


# ---------------------------------------------------------------------------- timing


def time_once(make: Callable[[], Any], body: Callable[[Any], Any]) -> tuple[int, Any, Any]:
    """Build state with `make` (untimed), then time `body(state)`; returns (ns, result, state)."""
    state = make()
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        result = body(state)
        elapsed = time.perf_counter_ns() - t0
    finally:
        gc.enable()
    return elapsed, result, state


def best_of(
    contestants: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]], runs: int = RUNS
) -> dict[str, tuple[int, Any, Any]]:
    """One warm-up run each, then `runs` interleaved rounds (so all see the same machine
    load); per contestant, the best time with the result and state of the last run."""
    for make, body in contestants.values():
        time_once(make, body)
    best: dict[str, tuple[int, Any, Any]] = {}
    for _ in range(runs):
        for name, (make, body) in contestants.items():
            ns, result, state = time_once(make, body)
            prev = best.get(name)
            best[name] = (min(ns, prev[0]) if prev else ns, result, state)
    return best


def rate(ns: int, n: int) -> Result:
    return {"ns": ns, "per_s": n * 1e9 / ns if ns else float("inf"), "ns_per_op": ns / n if n else 0.0}


# ---------------------------------------------------------------------------- contestants


def engine_book() -> OrderBook:
    return OrderBook("BENCH", tick_size=1, lot_size=1)


def engine_per_call(book: OrderBook, records: Records) -> int:
    """(a): one Python call per command, plain ints; returns the number of rejects."""
    submit, cancel, modify = book.submit, book.cancel, book.modify
    err = TradingError
    rejected = 0
    for kind, side, tif, _flags, _sym, _res, oid, price, qty, ts in records:
        try:
            if kind == 0:
                submit(side, qty, price, time_in_force=tif, order_id=oid, timestamp=ts)
            elif kind == 1:
                cancel(oid, timestamp=ts)
            else:
                modify(oid, quantity=qty, price=price, timestamp=ts)
        except err:
            rejected += 1
    return rejected


def engine_per_call_missing_ok(book: OrderBook, records: Records) -> int:
    """(a'): as (a), with the non-raising forms for what the flow misses on purpose: a cancel
    or modify of an order no longer resting answers False / None instead of raising."""
    submit, cancel, modify = book.submit, book.cancel, book.modify
    err = TradingError
    rejected = 0
    for kind, side, tif, _flags, _sym, _res, oid, price, qty, ts in records:
        if kind == 0:
            try:
                submit(side, qty, price, time_in_force=tif, order_id=oid, timestamp=ts)
            except err:
                rejected += 1
        elif kind == 1:
            if not cancel(oid, timestamp=ts, missing_ok=True):
                rejected += 1
        elif modify(oid, quantity=qty, price=price, timestamp=ts, missing_ok=True) is None:
            rejected += 1
    return rejected


def engine_replay(book: OrderBook, raw: bytes) -> tuple[int, int, int]:
    """(b): the whole stream in one call."""
    stats = book.replay(raw)
    return stats.commands, stats.rejected, stats.trades


def python_book(book: PythonBook, records: Records) -> tuple[int, int]:
    """(c): the pure-Python book, one method call per command."""
    return book.replay(records)


def engine_depth10(book: OrderBook) -> list[list[tuple[int, int, int]]]:
    d = book.depth(10)
    return [[(int(x.price), int(x.quantity), x.order_count) for x in side] for side in (d.bids, d.asks)]


def python_depth10(book: PythonBook) -> list[list[tuple[int, int, int]]]:
    return [list(side) for side in book.depth(10)]


# ---------------------------------------------------------------------------- sections


def full_flow(scenario: str, count: int) -> Result:
    stream = workload.generate(scenario, count, seed=SEED)
    records: Records = stream.tolist()
    raw = stream.tobytes()
    n = len(records)
    best = best_of(
        {
            "engine_per_call": (engine_book, lambda b: engine_per_call(b, records)),
            "engine_per_call_missing_ok": (engine_book, lambda b: engine_per_call_missing_ok(b, records)),
            "engine_replay": (engine_book, lambda b: engine_replay(b, raw)),
            "python_book": (PythonBook, lambda b: python_book(b, records)),
        }
    )
    pc_ns, pc_rejected, pc_book = best["engine_per_call"]
    mo_ns, mo_rejected, mo_book = best["engine_per_call_missing_ok"]
    rp_ns, (rp_commands, rp_rejected, rp_trades), rp_book = best["engine_replay"]
    py_ns, (py_commands, py_rejected), py_bk = best["python_book"]
    agree = (
        pc_rejected == mo_rejected == rp_rejected == py_rejected
        and mo_book.state_hash() == pc_book.state_hash()
        and rp_commands == py_commands == n
        and rp_trades == py_bk.trades
        and len(pc_book) == len(rp_book) == len(py_bk)
        and pc_book.state_hash() == rp_book.state_hash()
        and engine_depth10(rp_book) == python_depth10(py_bk)
    )
    kinds = np.bincount(stream["kind"], minlength=3) / n
    out: Result = {
        "commands": n,
        "mix": {"new": float(kinds[0]), "cancel": float(kinds[1]), "modify": float(kinds[2])},
        "ioc_share_of_new": float(np.mean(stream["tif"][stream["kind"] == 0] == 1)),
        "rejected": rp_rejected,
        "trades": rp_trades,
        "resting_at_end": len(rp_book),
        "results_agree": agree,
        "engine_per_call": rate(pc_ns, n),
        "engine_per_call_missing_ok": rate(mo_ns, n),
        "engine_replay": rate(rp_ns, n),
        "python_book": rate(py_ns, n),
    }
    out["ratio_engine_per_call_vs_python"] = py_ns / pc_ns
    out["ratio_engine_per_call_missing_ok_vs_python"] = py_ns / mo_ns
    out["ratio_engine_replay_vs_python"] = py_ns / rp_ns
    return out


def replay_like_rust(scenario: str, count: int, repeat: int) -> Result:
    """`replay` on the stream `lft-bench throughput` replays, median of `repeat` runs as it
    reports: the like-for-like number for the Python ÷ Rust ratio."""
    raw = workload.generate(scenario, count, seed=SEED).tobytes()
    time_once(engine_book, lambda b: engine_replay(b, raw))
    runs = sorted(time_once(engine_book, lambda b: engine_replay(b, raw))[0] for _ in range(repeat))
    return {"commands": count, "repeat": repeat, **rate(runs[len(runs) // 2], count)}


def new_only_columns(new: npt.NDArray[Any]) -> dict[str, npt.NDArray[Any]]:
    return {
        "side": np.ascontiguousarray(new["side"], dtype=np.int8),
        "price": np.ascontiguousarray(new["price"], dtype=np.int64),
        "quantity": np.ascontiguousarray(new["quantity"], dtype=np.int64),
        "time_in_force": np.ascontiguousarray(new["tif"], dtype=np.uint8),
        "order_id": np.ascontiguousarray(new["order_id"], dtype=np.uint64),
    }


def engine_submit_loop(book: OrderBook, records: Records) -> int:
    submit = book.submit
    for _kind, side, tif, _flags, _sym, _res, oid, price, qty, ts in records:
        submit(side, qty, price, time_in_force=tif, order_id=oid, timestamp=ts)
    return len(records)


def new_only_flow(count: int) -> tuple[Result, npt.NDArray[Any]]:
    stream = workload.generate(NEW_ONLY_SCENARIO, count, seed=SEED)
    new = np.ascontiguousarray(stream[stream["kind"] == workload.KIND_NEW])
    records: Records = new.tolist()
    raw = new.tobytes()
    cols = new_only_columns(new)
    ts = int(new["timestamp"][0])
    n = len(records)

    def batch(book: OrderBook) -> tuple[int, int]:
        res = book.submit_batch(**cols, timestamp=ts)
        return int(res.filled.sum()), len(res.trade_price)

    best = best_of(
        {
            "engine_submit_loop": (engine_book, lambda b: engine_submit_loop(b, records)),
            "engine_submit_batch": (engine_book, batch),
            "engine_replay": (engine_book, lambda b: engine_replay(b, raw)),
            "python_book": (PythonBook, lambda b: python_book(b, records)),
        }
    )
    loop_ns, _, loop_book = best["engine_submit_loop"]
    batch_ns, (batch_filled, batch_trades), batch_book = best["engine_submit_batch"]
    rp_ns, (_, rp_rejected, rp_trades), rp_book = best["engine_replay"]
    py_ns, (_, py_rejected), py_bk = best["python_book"]
    agree = (
        rp_rejected == py_rejected == 0
        and batch_trades == rp_trades == py_bk.trades
        and len(loop_book) == len(batch_book) == len(rp_book) == len(py_bk)
        and engine_depth10(loop_book) == engine_depth10(batch_book) == python_depth10(py_bk)
    )
    out: Result = {
        "scenario": NEW_ONLY_SCENARIO,
        "orders": n,
        "ioc_share": float(np.mean(new["tif"] == 1)),
        "trades": rp_trades,
        "filled_quantity": batch_filled,
        "resting_at_end": len(rp_book),
        "results_agree": agree,
        "engine_submit_loop": rate(loop_ns, n),
        "engine_submit_batch": rate(batch_ns, n),
        "engine_replay": rate(rp_ns, n),
        "python_book": rate(py_ns, n),
        "depth10": python_depth10(py_bk),
        "ratio_engine_submit_loop_vs_python": py_ns / loop_ns,
        "ratio_engine_submit_batch_vs_python": py_ns / batch_ns,
        "ratio_engine_submit_batch_vs_submit_loop": loop_ns / batch_ns,
        "ratio_engine_replay_vs_python": py_ns / rp_ns,
    }
    return out, new


# ---------------------------------------------------------------------------- nanobook


def nanobook_worker(count: int, query_sizes: list[int], query_calls: int) -> Result:
    """Runs in a subprocess: nanobook on the no-cancel flow, then its query costs."""
    import nanobook

    stream = workload.generate(NEW_ONLY_SCENARIO, count, seed=SEED)
    new = stream[stream["kind"] == workload.KIND_NEW]
    sides = ("buy", "sell")
    tifs = ("gtc", "ioc")
    rows = [(sides[s], p, q, tifs[t]) for s, p, q, t in new[["side", "price", "quantity", "tif"]].tolist()]

    def body(ex: Any) -> tuple[int, int]:
        submit = ex.submit_limit
        filled = 0
        for side, price, qty, tif in rows:
            filled += submit(side, price, qty, tif).filled_quantity
        return filled, 0

    best = best_of({"nanobook": (nanobook.Exchange, body)})
    ns, (filled, _), ex = best["nanobook"]
    snap = ex.full_book()
    resting = sum(lv.order_count for lv in snap.bids) + sum(lv.order_count for lv in snap.asks)
    depth = ex.depth(10)
    out: Result = {
        "version": nanobook.__version__,
        "orders": len(rows),
        "filled_quantity": filled,
        "trades": len(ex.trades()),
        "resting_at_end": resting,
        "depth10": [
            [(lv.price, lv.quantity, lv.order_count) for lv in side] for side in (depth.bids, depth.asks)
        ],
        "per_call": rate(ns, len(rows)),
        "queries": {},
    }
    for size in query_sizes:
        ex = nanobook.Exchange()
        half = size // 2
        for i in range(half):
            ex.submit_limit("buy", QUERY_MID - 1 - i // 100, 10)
            ex.submit_limit("sell", QUERY_MID + 1 + i // 100, 10)
        out["queries"][str(size)] = {
            "best_bid_ns": per_call_ns(lambda ex=ex: ex.best_bid(), query_calls),
            "depth10_ns": per_call_ns(lambda ex=ex: ex.depth(10), max(query_calls // 10, 100)),
        }
    return out


def run_nanobook(count: int, query_sizes: list[int], query_calls: int, timeout: float) -> Result:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--nanobook-worker",
        "--count",
        str(count),
        "--query-sizes",
        ",".join(map(str, query_sizes)),
        "--query-calls",
        str(query_calls),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {timeout:g} s", "note": NANOBOOK_NOTE}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"status": f"failed (exit {proc.returncode}): {' | '.join(tail)}", "note": NANOBOOK_NOTE}
    out: Result = json.loads(proc.stdout)
    out["status"] = "ok"
    out["note"] = NANOBOOK_NOTE
    return out


# ---------------------------------------------------------------------------- queries


def per_call_ns(fn: Callable[[], Any], calls: int) -> float:
    """Best-of-3 cost of one `fn()` call, in a plain `for` loop (loop overhead included)."""

    def body(_: Any) -> None:
        for _i in range(calls):
            fn()

    best = best_of({"q": (lambda: None, body)})
    return best["q"][0] / calls


def deep_engine_book(resting: int) -> OrderBook:
    """`resting` orders, 100 per level, bids below and asks above the mid (submit_batch)."""
    book = engine_book()
    n = resting // 2
    levels = np.arange(n) // 100
    qty = np.full(n, 10, dtype=np.int64)
    book.submit_batch(np.zeros(n, dtype=np.int8), QUERY_MID - 1 - levels, qty, timestamp=1)
    book.submit_batch(np.ones(n, dtype=np.int8), QUERY_MID + 1 + levels, qty, timestamp=1)
    return book


def deep_python_book(resting: int) -> PythonBook:
    book = PythonBook()
    submit = book.submit
    for i in range(resting // 2):
        submit(0, 10, QUERY_MID - 1 - i // 100, 0, 2 * i + 1)
        submit(1, 10, QUERY_MID + 1 + i // 100, 0, 2 * i + 2)
    return book


def queries(sizes: list[int], calls: int) -> Result:
    out: Result = {}
    for size in sizes:
        eb = deep_engine_book(size)
        pb = deep_python_book(size)
        assert len(eb) == len(pb) == size and engine_depth10(eb) == python_depth10(pb)
        depth_calls = max(calls // 10, 100)
        out[str(size)] = {
            "engine_best_bid_ns": per_call_ns(lambda eb=eb: eb.best_bid, calls),
            "engine_depth10_ns": per_call_ns(lambda eb=eb: eb.depth(10), depth_calls),
            "engine_depth10_read_ns": per_call_ns(lambda eb=eb: engine_depth10(eb), depth_calls),
            "engine_sequence_ns": per_call_ns(lambda eb=eb: eb.sequence, calls),
            "python_best_bid_ns": per_call_ns(lambda pb=pb: pb.best_bid, calls),
            "python_depth10_ns": per_call_ns(lambda pb=pb: pb.depth(10), depth_calls),
        }
        del eb, pb
    out["lambda_loop_overhead_ns"] = per_call_ns(lambda: None, calls)
    return out


# ---------------------------------------------------------------------------- anatomy


def anatomy(calls: int) -> Result:
    """What one Python call into the binding costs, split by what it does. Each op is a
    lambda in a loop: `lambda_loop_overhead_ns` is included in every number."""
    book = engine_book()
    book.submit(1, 10**15, QUERY_MID + 1, order_id=1, timestamp=1)  # a deep ask for IOC fills
    book.submit(0, 10, QUERY_MID - 100, order_id=2, timestamp=1)
    pb = PythonBook()
    pb.submit(1, 10**15, QUERY_MID + 1, 0, 1)
    pb.submit(0, 10, QUERY_MID - 100, 0, 2)
    counter = iter(range(10**7, 10**9))
    buy, gtc, ioc = Side.BUY, TimeInForce.GTC, TimeInForce.IOC
    far = QUERY_MID - 50

    def catch(fn: Callable[[], Any]) -> Callable[[], None]:
        def call() -> None:
            try:
                fn()
            except TradingError:
                pass

        return call

    def raise_key_error() -> None:
        try:
            raise KeyError(5)
        except KeyError:
            pass

    def round_trip_int() -> None:
        oid = next(counter)
        book.submit(0, 5, far, time_in_force=0, order_id=oid, timestamp=5)
        book.cancel(oid, timestamp=5)

    def round_trip_enum() -> None:
        oid = next(counter)
        book.submit(buy, 5, far, time_in_force=gtc, order_id=oid, timestamp=5)
        book.cancel(oid, timestamp=5)

    def round_trip_python() -> None:
        oid = next(counter)
        pb.submit(0, 5, far, 0, oid)
        pb.cancel(oid)

    def fill_and_read() -> None:
        rep = book.submit(buy, 1, QUERY_MID + 1, time_in_force=ioc, order_id=next(counter), timestamp=5)
        for t in rep.trades:
            (t.maker_order_id.int, int(t.price), int(t.quantity))

    ops: dict[str, Callable[[], Any]] = {
        "lambda_loop_overhead": lambda: None,
        "sequence_getter (FFI floor, returns int)": lambda: book.sequence,
        "len(book)": lambda: len(book),
        "to_ticks(int) (argument conversion, no engine)": lambda: book.to_ticks(far),
        "expire(ts) (GIL release + empty sweep)": lambda: book.expire(5),
        "best_bid (returns a Decimal)": lambda: book.best_bid,
        "submit IOC no fill, int side/tif, id, ts": lambda: book.submit(
            0, 5, far, time_in_force=1, order_id=next(counter), timestamp=5
        ),
        "submit IOC no fill, enum side/tif, id, ts": lambda: book.submit(
            buy, 5, far, time_in_force=ioc, order_id=next(counter), timestamp=5
        ),
        "submit IOC no fill, enum side/tif, ts (generated id)": lambda: book.submit(
            buy, 5, far, time_in_force=ioc, timestamp=5
        ),
        "submit IOC 1 fill, enum, report not read": lambda: book.submit(
            buy, 1, QUERY_MID + 1, time_in_force=ioc, order_id=next(counter), timestamp=5
        ),
        "submit IOC 1 fill, enum, read trades (maker, price, qty)": fill_and_read,
        "cancel unknown id (OrderNotFound raised, caught)": catch(
            lambda: book.cancel(next(counter), timestamp=5)
        ),
        "cancel unknown id (missing_ok=True: False)": lambda: book.cancel(
            next(counter), timestamp=5, missing_ok=True
        ),
        "modify unknown id (OrderNotFound raised, caught)": catch(
            lambda: book.modify(next(counter), quantity=5, price=far, timestamp=5)
        ),
        "modify unknown id (missing_ok=True: None)": lambda: book.modify(
            next(counter), quantity=5, price=far, timestamp=5, missing_ok=True
        ),
        "python raise + catch KeyError (baseline)": raise_key_error,
        "GTC submit + cancel round trip, int codes": round_trip_int,
        "GTC submit + cancel round trip, enums": round_trip_enum,
        "python book: GTC submit + cancel round trip": round_trip_python,
        "python book: cancel unknown id": lambda: pb.cancel(next(counter)),
        "python book: IOC 1 fill": lambda: pb.submit(0, 1, QUERY_MID + 1, 1, next(counter)),
    }
    return {name: per_call_ns(fn, calls) for name, fn in ops.items()}


# ---------------------------------------------------------------------------- report


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> Optional[list[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def environment() -> Result:
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "lockfree_trading": lft.__version__,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_start": loadavg(),
    }


def fmt_rate(r: Result) -> str:
    return f"{r['per_s'] / 1e6:8.3f} M/s {r['ns_per_op']:9.1f} ns"


def print_full(name: str, r: Result) -> None:
    mix = r["mix"]
    print(
        f"\n[{name}] {r['commands']:,} commands (new {mix['new']:.0%}, cancel {mix['cancel']:.0%}, "
        f"modify {mix['modify']:.0%}; IOC {r['ioc_share_of_new']:.0%} of new), {r['rejected']:,} rejected, "
        f"{r['trades']:,} trades, {r['resting_at_end']:,} resting at end, "
        f"results agree: {r['results_agree']}"
    )
    for key, label in (
        ("engine_per_call", "(a) engine, one call per command"),
        ("engine_per_call_missing_ok", "(a') the same, missing_ok cancel/modify"),
        ("engine_replay", "(b) engine, replay (one call)"),
        ("python_book", "(c) pure-Python book"),
    ):
        print(f"  {label:40s} {fmt_rate(r[key])}")
    print(
        f"  ratios vs pure-Python (throughput): per-call {r['ratio_engine_per_call_vs_python']:.2f}x, "
        f"per-call missing_ok {r['ratio_engine_per_call_missing_ok_vs_python']:.2f}x, "
        f"replay {r['ratio_engine_replay_vs_python']:.1f}x"
    )


def print_new_only(r: Result, nb: Result) -> None:
    print(
        f"\n[new orders only, {r['scenario']}] {r['orders']:,} orders (IOC {r['ioc_share']:.0%}), "
        f"{r['trades']:,} trades, {r['resting_at_end']:,} resting at end, results agree: {r['results_agree']}"
    )
    for key, label in (
        ("engine_submit_loop", "(d) engine, Python loop of submit"),
        ("engine_submit_batch", "(d) engine, submit_batch (one call)"),
        ("engine_replay", "    engine, replay (one call)"),
        ("python_book", "    pure-Python book"),
    ):
        print(f"  {label:40s} {fmt_rate(r[key])}")
    if nb.get("status") == "ok":
        print(f"  {'(e) nanobook ' + nb['version'] + ', one call per order':40s} {fmt_rate(nb['per_call'])}")
        print(
            f"      nanobook agrees with ours (trades, filled, resting, depth10): {nb['agrees_with_engine']}"
        )
    else:
        print(f"  (e) nanobook: {nb.get('status')}")
    print(f"  note: {NANOBOOK_NOTE}")
    print(
        f"  ratios vs pure-Python (throughput): submit loop {r['ratio_engine_submit_loop_vs_python']:.2f}x, "
        f"submit_batch {r['ratio_engine_submit_batch_vs_python']:.1f}x, "
        f"replay {r['ratio_engine_replay_vs_python']:.1f}x; "
        f"submit_batch vs submit loop {r['ratio_engine_submit_batch_vs_submit_loop']:.1f}x"
    )
    if nb.get("status") == "ok":
        print(
            f"  nanobook vs pure-Python {nb['ratio_vs_python']:.2f}x, "
            f"our submit loop vs nanobook {nb['ratio_engine_submit_loop_vs_nanobook']:.2f}x"
        )


def print_queries(q: Result, nb: Result) -> None:
    print(
        f"\n[queries] ns per call from Python "
        f"(loop + lambda overhead {q['lambda_loop_overhead_ns']:.0f} ns included)"
    )
    head = f"  {'resting':>9s} {'best_bid':>9s} {'depth(10)':>10s} {'+read':>9s} {'sequence':>9s}"
    print(head + f" | {'py best':>8s} {'py depth':>9s} | {'nb best':>8s} {'nb depth':>9s}")
    for size, r in q.items():
        if not isinstance(r, dict):
            continue
        nbq = nb.get("queries", {}).get(size) if nb.get("status") == "ok" else None
        nbs = f"{nbq['best_bid_ns']:8.0f} {nbq['depth10_ns']:9.0f}" if nbq else f"{'-':>8s} {'-':>9s}"
        print(
            f"  {int(size):9,d} {r['engine_best_bid_ns']:9.0f} {r['engine_depth10_ns']:10.0f} "
            f"{r['engine_depth10_read_ns']:9.0f} {r['engine_sequence_ns']:9.0f} | "
            f"{r['python_best_bid_ns']:8.0f} {r['python_depth10_ns']:9.0f} | {nbs}"
        )
    print("  (+read: depth(10) and reading every level's price, quantity and count as ints)")


def print_anatomy(a: Result) -> None:
    print("\n[per-call anatomy] ns per call (lambda + loop overhead included)")
    for name, ns in a.items():
        print(f"  {name:58s} {ns:8.0f}")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=None, help=f"commands per stream (default {DEFAULT_COUNT:,})")
    p.add_argument("--quick", action="store_true", help="small streams, two scenarios (< 30 s)")
    p.add_argument("--json", type=Path, default=None, help="write every number here")
    p.add_argument(
        "--scenarios", default=None, help="comma-separated scenarios (default: all of workload.SCENARIOS)"
    )
    p.add_argument("--nanobook-timeout", type=float, default=None, help="seconds (default 150, quick 20)")
    p.add_argument("--nanobook-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--query-sizes", default=None, help=argparse.SUPPRESS)
    p.add_argument("--query-calls", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    quick = args.quick
    count = args.count or (QUICK_COUNT if quick else DEFAULT_COUNT)
    query_sizes = [int(x) for x in args.query_sizes.split(",")] if args.query_sizes else list(QUERY_SIZES)
    query_calls = args.query_calls or (5_000 if quick else 50_000)
    if args.nanobook_worker:
        print(json.dumps(nanobook_worker(count, query_sizes, query_calls)))
        return 0

    started = time.perf_counter()
    scenarios = QUICK_SCENARIOS if quick else workload.SCENARIOS
    if args.scenarios:
        scenarios = tuple(args.scenarios.split(","))
    report: Result = {
        "environment": environment(),
        "config": {
            "count": count,
            "seed": SEED,
            "quick": quick,
            "runs": f"best of {RUNS} interleaved runs after 1 warm-up run, fresh book per run, GC paused",
            "scenarios": list(scenarios),
        },
    }
    env = report["environment"]
    print(
        f"python {env['python']}, numpy {env['numpy']}, lockfree_trading {env['lockfree_trading']}, "
        f"{env['cpu_model']} x{env['cpu_count']}, load average {env['loadavg_start']}"
    )
    print(f"{count:,} commands per stream, seed {SEED}, {report['config']['runs']}")

    report["full_flow"] = {}
    for scenario in scenarios:
        r = full_flow(scenario, count)
        report["full_flow"][scenario] = r
        print_full(scenario, r)
        like_rust = (count, 1) if quick else (RUST_COUNT, RUST_REPEAT)
        r["engine_replay_rust_stream"] = replay_like_rust(scenario, *like_rust)
        print(
            f"      replay on the Rust bench's stream ({like_rust[0]:,} commands, median of "
            f"{like_rust[1]}): {r['engine_replay_rust_stream']['per_s'] / 1e6:.3f} M/s"
        )

    new_only, _ = new_only_flow(count)
    nb_timeout = args.nanobook_timeout or (20.0 if quick else 150.0)
    nb = run_nanobook(count, query_sizes, query_calls, nb_timeout)
    if nb.get("status") == "ok":
        nb["agrees_with_engine"] = (
            nb["trades"] == new_only["trades"]
            and nb["filled_quantity"] == new_only["filled_quantity"]
            and nb["resting_at_end"] == new_only["resting_at_end"]
            and [[tuple(x) for x in side] for side in nb["depth10"]] == new_only["depth10"]
        )
        nb["ratio_vs_python"] = new_only["python_book"]["ns"] / nb["per_call"]["ns"]
        nb["ratio_engine_submit_loop_vs_nanobook"] = (
            nb["per_call"]["ns"] / new_only["engine_submit_loop"]["ns"]
        )
    report["new_only_flow"] = new_only
    report["nanobook"] = nb
    print_new_only(new_only, nb)

    report["queries"] = queries(query_sizes, query_calls)
    print_queries(report["queries"], nb)
    report["anatomy"] = anatomy(query_calls)
    print_anatomy(report["anatomy"])

    ratios: Result = {}
    for scenario, r in report["full_flow"].items():
        ratios[f"{scenario}: engine_per_call / python"] = r["ratio_engine_per_call_vs_python"]
        ratios[f"{scenario}: engine_per_call_missing_ok / python"] = r[
            "ratio_engine_per_call_missing_ok_vs_python"
        ]
        ratios[f"{scenario}: engine_replay / python"] = r["ratio_engine_replay_vs_python"]
    ratios["new-only: engine_submit_loop / python"] = new_only["ratio_engine_submit_loop_vs_python"]
    ratios["new-only: engine_submit_batch / python"] = new_only["ratio_engine_submit_batch_vs_python"]
    ratios["new-only: engine_replay / python"] = new_only["ratio_engine_replay_vs_python"]
    if nb.get("status") == "ok":
        ratios["new-only: nanobook / python"] = nb["ratio_vs_python"]
        ratios["new-only: engine_submit_loop / nanobook"] = nb["ratio_engine_submit_loop_vs_nanobook"]
    report["ratios_throughput"] = ratios
    env["loadavg_end"] = loadavg()
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(
        "\n[ratios] throughput of ours / other (above 1: ours is faster); Rust-side numbers are "
        "measured by the Criterion benches"
    )
    for name, value in ratios.items():
        print(f"  {name:45s} {value:8.2f}x")
    print(f"\nload average at end {env['loadavg_end']}; {report['elapsed_s']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
