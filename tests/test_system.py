"""TradingSystem from Python: concurrency with the GIL released, determinism per symbol,
futures, events, backpressure, halting, shutdown, and config validation."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any

import lockfree_trading as lft
import numpy as np
import pytest
from lockfree_trading import Config, Side, TimeInForce, TradingSystem, workload

ROOT = Path(__file__).resolve().parent.parent


def config(*names: str, **engine: Any) -> dict[str, Any]:
    return {
        "symbols": [{"name": n, "tick_size": "0.01", "lot_size": "1"} for n in names],
        "engine": {"threads": 2, **engine},
    }


@pytest.fixture
def system() -> Any:
    with TradingSystem(config("AAA", "BBB", "CCC")) as s:
        yield s


def test_the_example_config_loads_and_starts() -> None:
    cfg = Config.from_yaml(ROOT / "config.yaml")
    with TradingSystem(cfg) as s:
        assert s.symbols == [x.name for x in cfg.symbols]
        r = s.submit(cfg.symbols[0].name, Side.SELL, quantity="1", price="100.00", timestamp=1)
        assert r.status == lft.OrderStatus.NEW
        assert s.book(cfg.symbols[0].name).best_ask == Decimal("100.00")


def test_reports_carry_symbol_and_per_symbol_command_sequence(system: Any) -> None:
    a1 = system.submit("AAA", Side.SELL, 5, "10.00", timestamp=1)
    b1 = system.submit("BBB", Side.SELL, 5, "10.00", timestamp=1)
    a2 = system.submit("AAA", Side.BUY, 2, "10.00", timestamp=2)
    assert (a1.symbol, a1.sequence, b1.sequence, a2.sequence) == ("AAA", 1, 1, 2)
    assert a2.status == lft.OrderStatus.FILLED and a2.trades[0].quantity == 2
    assert a2.event_sequence > a1.event_sequence


def test_many_threads_submit_concurrently_and_each_symbol_matches_a_serial_replay() -> None:
    names = ["S0", "S1", "S2", "S3"]
    per_thread = 400
    results: list[list[tuple[str, dict[str, Any], Any]]] = [[] for _ in range(6)]
    with TradingSystem(config(*names)) as system:
        barrier = threading.Barrier(len(results))

        def worker(t: int) -> None:
            rng = np.random.default_rng(t)
            barrier.wait()
            for n in range(per_thread):
                sym = names[int(rng.integers(len(names)))]
                kw = {
                    "side": int(rng.integers(2)),
                    "quantity": int(rng.integers(1, 20)),
                    "price": int(rng.integers(95, 106)),
                    "order_id": t * 1_000_000 + n + 1,
                    "timestamp": n * 10 + t,
                    "time_in_force": int(rng.integers(2)),
                }
                try:
                    out: Any = system.submit(sym, **kw)
                except lft.TradingError as e:
                    out = e
                results[t].append((sym, kw, out))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(len(results))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        final = {n: system.book(n) for n in names}
        hashes = {n: (len(final[n]), final[n].sequence) for n in names}
    by_symbol: dict[str, list[tuple[int, dict[str, Any], Any]]] = {n: [] for n in names}
    for rows in results:
        for sym, kw, out in rows:
            seq = out.sequence if not isinstance(out, Exception) else out.command_sequence
            by_symbol[sym].append((seq, kw, out))
    assert sum(len(v) for v in by_symbol.values()) == per_thread * len(results)
    for sym, rows in by_symbol.items():
        rows.sort(key=lambda r: r[0])
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "no gap, no repeat"
        alone = lft.OrderBook(sym, tick_size="0.01", lot_size="1")
        for _, kw, out in rows:
            want = alone.submit(**kw)
            assert (want.status, want.filled_quantity, want.remaining_quantity) == (
                out.status,
                out.filled_quantity,
                out.remaining_quantity,
            )
            assert [(t.price, t.quantity, t.maker_order_id) for t in want.trades] == [
                (t.price, t.quantity, t.maker_order_id) for t in out.trades
            ]
        assert (len(alone), alone.sequence) == hashes[sym]


def test_submit_async_returns_a_future_of_the_report_or_the_error(system: Any) -> None:
    futures = [system.submit_async("AAA", Side.BUY, 1, "9.00", timestamp=i) for i in range(200)]
    assert all(isinstance(f, Future) for f in futures)
    reports = [f.result(timeout=5) for f in futures]
    assert [r.sequence for r in reports] == list(range(1, 201))
    bad = system.submit_async("AAA", Side.BUY, 1, "9.00", order_id=reports[0].order_id, timestamp=999)
    with pytest.raises(lft.DuplicateOrderId) as info:
        bad.result(timeout=5)
    assert info.value.command_sequence == 201


def test_events_come_in_sequence_order_per_symbol(system: Any) -> None:
    sub = system.subscribe()
    system.submit("AAA", Side.SELL, 5, "10.00", timestamp=1)
    system.submit("BBB", Side.SELL, 5, "11.00", timestamp=1)
    system.submit("AAA", Side.BUY, 7, "10.00", timestamp=2)
    events = sub.poll()
    kinds = [(e.symbol, e.kind) for e in events]
    assert ("AAA", "trade") in kinds and ("BBB", "level") in kinds
    aaa = [e for e in events if e.symbol == "AAA" and e.kind in ("trade", "order")]
    assert [e.sequence for e in aaa] == sorted(e.sequence for e in aaa)
    trade = next(e for e in events if e.kind == "trade")
    assert (trade.price, trade.quantity, trade.side) == (Decimal("10.00"), 5, Side.BUY)
    level = [e for e in events if e.symbol == "AAA" and e.kind == "level"][-1]
    assert (level.price, level.quantity, level.order_count) == (Decimal("10.00"), 2, 1)
    assert sub.lost == 0


def test_a_callback_subscriber_gets_every_event(system: Any) -> None:
    seen: list[Any] = []
    with system.subscribe(seen.append) as sub:
        for i in range(50):
            system.submit("CCC", Side.BUY, 1, "5.00", timestamp=i)
    assert len([e for e in seen if e.kind == "order"]) == 50
    assert sub.errors == [] and sub.lost == 0


def test_a_slow_subscriber_sees_a_gap_counter_not_a_stall() -> None:
    with TradingSystem(config("X", event_capacity=16)) as s:
        sub = s.subscribe()
        for i in range(300):
            s.submit("X", Side.BUY, 1, "1.00", timestamp=i)
        got = sub.poll()
        assert len(got) <= 16 and sub.lost > 0


def test_errors_are_typed_and_say_what_was_wrong(system: Any) -> None:
    with pytest.raises(lft.UnknownSymbol, match="NOPE"):
        system.submit("NOPE", Side.BUY, 1, "1.00")
    with pytest.raises(KeyError):
        system.submit("NOPE", Side.BUY, 1, "1.00")
    with pytest.raises(lft.InvalidOrder, match="tick"):
        system.submit("AAA", Side.BUY, 1, "1.001")
    with pytest.raises(lft.OrderNotFound) as info:
        system.cancel("AAA", 12345)
    assert info.value.command_sequence == 1
    assert len(system.book("AAA")) == 0


def test_price_band_refuses_orders_outside_it() -> None:
    cfg = config("B")
    cfg["symbols"][0]["price_band"] = {"min": "90", "max": "110"}
    with TradingSystem(cfg) as s:
        with pytest.raises(lft.InvalidOrder, match="price band"):
            s.submit("B", Side.BUY, 1, "111")
        assert s.submit("B", Side.BUY, 1, "110").status == lft.OrderStatus.NEW


def test_a_full_queue_under_reject_raises_queue_full() -> None:
    with TradingSystem(config("Q", queue_capacity=2, on_full="reject", threads=1)) as s:
        rows = 300_000
        side = np.tile(np.array([0, 1], dtype=np.int8), rows // 2)
        price = np.where(side == 0, 100, 200).astype(np.int64)
        busy = threading.Thread(target=s.submit_batch, args=("Q", side, price, np.ones(rows, dtype=np.int64)))
        busy.start()
        refused = 0
        accepted = []
        for i in range(200):
            try:
                accepted.append(s.submit_async("Q", Side.BUY, 1, "0.50", timestamp=i))
            except lft.QueueFull as e:
                assert "nothing was enqueued" in str(e)
                refused += 1
        busy.join()
        assert all(f.result(timeout=10).status == lft.OrderStatus.NEW for f in accepted)
        assert refused > 0


def test_a_panicking_worker_halts_its_symbol_and_the_rest_carry_on() -> None:
    cfg = config("BAD", "OK")
    cfg["symbols"][0]["worker"] = 0
    cfg["symbols"][1]["worker"] = 0
    with TradingSystem(cfg) as s:
        with pytest.raises(lft.SymbolHalted, match="injected"):
            s._core._inject_panic("BAD")
        with pytest.raises(lft.SymbolHalted):
            s.submit("BAD", Side.BUY, 1, "1.00")
        assert s.submit("OK", Side.BUY, 1, "1.00").status == lft.OrderStatus.NEW
        assert list(s.halted()) == ["BAD"]


def test_shutdown_answers_everything_accepted_then_refuses() -> None:
    s = TradingSystem(config("Z"))
    futures = [s.submit_async("Z", Side.BUY, 1, "1.00", timestamp=i) for i in range(500)]
    s.shutdown()
    assert all(f.done() for f in futures)
    assert [f.result().sequence for f in futures] == list(range(1, 501))
    with pytest.raises(lft.SystemClosed):
        s.submit("Z", Side.BUY, 1, "1.00")
    s.shutdown()  # idempotent


def test_batch_and_replay_go_through_the_workers(system: Any) -> None:
    out = system.submit_batch(
        "AAA",
        np.array([0, 1], dtype=np.int8),
        np.array([100, 100], dtype=np.int64),
        np.array([3, 2], dtype=np.int64),
        timestamp=5,
    )
    assert len(out) == 2 and list(out.trade_quantity) == [2]
    stream = workload.generate("normal", 20_000, seed=3, symbols=3)
    totals = system.replay(stream)
    assert sum(t["commands"] for t in totals.values()) == 20_000
    assert all(t["stopped"] is None for t in totals.values())


def test_gtd_and_day_orders_expire_through_the_system(system: Any) -> None:
    system.submit("CCC", Side.BUY, 1, "1.00", time_in_force=TimeInForce.GTD, expire_time=10, timestamp=1)
    system.submit("CCC", Side.BUY, 1, "1.00", time_in_force=TimeInForce.DAY, timestamp=1)
    assert [u.status for u in system.expire("CCC", 10)] == [lft.OrderStatus.EXPIRED]
    assert [u.status for u in system.end_of_day("CCC", 11)] == [lft.OrderStatus.EXPIRED]
    assert len(system.book("CCC")) == 0


def test_a_full_order_pool_without_growth_rejects_with_a_reason() -> None:
    cfg = config("P")
    cfg["memory"] = {"order_pool_capacity": 2, "pool_growth": False}
    with TradingSystem(cfg) as s:
        s.submit("P", Side.BUY, 1, "1.00", timestamp=1)
        s.submit("P", Side.BUY, 1, "1.01", timestamp=1)
        r = s.submit("P", Side.BUY, 1, "1.02", timestamp=1)
        assert r.status == lft.OrderStatus.REJECTED and r.reject_reason == "the book's order pool is full"
        assert len(s.book("P")) == 2


BAD_CONFIGS = [
    ({"symbols": []}, "symbols"),
    ({"symbols": [{"name": "A", "tick_size": "abc"}]}, "symbols[A].tick_size"),
    ({"symbols": [{"name": "A", "tick_size": "-1"}]}, "symbols[A].tick_size"),
    (
        {"symbols": [{"name": "A", "lot_sise": "1"}]},
        "symbols[A].lot_sise: unknown key: did you mean 'lot_size'?",
    ),
    ({"symbols": [{"name": ""}]}, "symbols[0].name"),
    ({"symbols": [{"name": "A"}, {"name": "A"}]}, "symbols[1].name"),
    ({"symbols": [{"name": "A", "price_band": {"min": "5", "max": "1"}}]}, "symbols[A].price_band"),
    ({"symbols": [{"name": "A", "worker": 4}], "engine": {"threads": 2}}, "symbols[A].worker"),
    ({"symbols": [{"name": "A"}], "engine": {"threads": 0}}, "engine.threads"),
    ({"symbols": [{"name": "A"}], "engine": {"threads": "lots"}}, "engine.threads"),
    ({"symbols": [{"name": "A"}], "engine": {"batch_size": 0}}, "engine.batch_size"),
    ({"symbols": [{"name": "A"}], "engine": {"queue_capacity": 1}}, "engine.queue_capacity"),
    ({"symbols": [{"name": "A"}], "engine": {"on_full": "drop"}}, "engine.on_full"),
    ({"symbols": [{"name": "A"}], "engine": {"pin_threads": "sometimes"}}, "engine.pin_threads"),
    ({"symbols": [{"name": "A"}], "memory": {"order_pool_capacity": -1}}, "memory.order_pool_capacity"),
    ({"symbols": [{"name": "A"}], "memory": {"pool_growth": "maybe"}}, "memory.pool_growth"),
    ({"symbols": [{"name": "A"}], "journal": {"fsync": "sometimes"}}, "journal.fsync"),
    ({"symbols": [{"name": "A"}], "engines": {}}, "engines: unknown key: did you mean 'engine'?"),
    ([1, 2], "config"),
]


@pytest.mark.parametrize(("raw", "key"), BAD_CONFIGS)
def test_config_rejects_malformed_values_naming_the_key(raw: Any, key: str) -> None:
    with pytest.raises(lft.InvalidConfig) as info:
        Config.from_dict(raw)
    assert key in str(info.value)


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(lft.InvalidConfig, match="cannot read"):
        Config.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("symbols: [\n")
    with pytest.raises(lft.InvalidConfig, match="not valid YAML"):
        Config.from_yaml(bad)


def test_simulate_prints_a_summary_per_symbol(capsys: pytest.CaptureFixture[str]) -> None:
    from lockfree_trading.cli import main

    rc = main(["--config", str(ROOT / "config.yaml"), "simulate", "--count", "20000", "--probes", "20"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "20,000 commands in" in out and "round trip from Python" in out
    for name in ("BTC-USD", "ETH-USD", "SOL-USD", "AAPL"):
        assert name in out


def test_an_order_pool_too_large_to_reserve_fails_cleanly() -> None:
    cfg = config("BIG")
    cfg["memory"] = {"order_pool_capacity": 2**31}  # about 400 GB: cannot be reserved here
    with pytest.raises(lft.InvalidConfig, match="cannot be reserved"):
        TradingSystem(cfg)
    with pytest.raises(lft.InvalidConfig, match=r"memory\.order_pool_capacity"):
        Config.from_dict({"symbols": [{"name": "A"}], "memory": {"order_pool_capacity": 2**40}})
