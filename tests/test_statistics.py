"""Statistics by period: exact values, a recomputation from the event stream, period edges,
determinism, and the SQLite store (restart, retention, corrupt and locked files, Parquet)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import lockfree_trading as lt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lockfree_trading import Config, InvalidConfig, TradingSystem
from lockfree_trading.statistics import DB_NAME, StatisticsStore

pd = pytest.importorskip("pandas")

US = 1_000  # one microsecond in ns: the test periods are 1us and 3us of engine time


def make_config(directory: Path, symbols: tuple[str, ...] = ("X",), **stats: Any) -> dict[str, Any]:
    section = {
        "enabled": True,
        "periods": ["1us", "3us"],
        "directory": str(directory),
        "close_quiet_periods": False,
        "flush_seconds": 60,
    }
    section.update(stats)
    return {
        "symbols": [{"name": s, "tick_size": "0.01", "lot_size": "1"} for s in symbols],
        "engine": {"threads": 1},
        "statistics": section,
    }


def hand_stream(s: TradingSystem) -> None:
    s.submit("X", "sell", 10, "1.05", timestamp=100, order_id=1)
    s.submit("X", "buy", 5, "1.00", timestamp=200, order_id=2)
    s.submit("X", "buy", 4, "1.05", timestamp=500, order_id=3)
    s.submit("X", "sell", 3, "1.00", timestamp=700, order_id=4)
    with pytest.raises(lt.OrderNotFound):
        s.cancel("X", 99, timestamp=900)
    s.cancel("X", 2, timestamp=1_200)
    s.close_periods(now=3_000)


def test_hand_built_bars_vwap_spread_and_levels_are_the_values_computed_by_hand(tmp_path: Path) -> None:
    with TradingSystem(make_config(tmp_path)) as s:
        hand_stream(s)
        bars = s.statistics.bars("X", "1us")
        levels = s.statistics.levels("X", "1us")
        rejects = s.statistics.rejects("X", "1us")
        long = s.statistics.bars("X", "3us")
    assert isinstance(bars.index, pd.DatetimeIndex) and str(bars.index.tz) == "UTC"
    assert list(bars.index.asi8) == [0, 1_000]
    first = bars.iloc[0]
    assert (first.open, first.high, first.low, first.close) == (1.05, 1.05, 1.0, 1.0)
    assert (first.volume, first.trades, first.buy_volume, first.sell_volume) == (7, 2, 4, 3)
    assert first.vwap == pytest.approx((4 * 1.05 + 3 * 1.00) / 7)
    assert (first.orders_added, first.orders_cancelled, first.messages, first.rejected) == (4, 0, 5, 1)
    # Spread 0.05 the whole two-sided time; bid 5 lots for 500 ns then 2 for 300 ns.
    assert first.twa_spread == pytest.approx(0.05)
    assert first.twa_bid_size == pytest.approx((5 * 500 + 2 * 300) / 800)
    assert first.twa_ask_size == pytest.approx((10 * 400 + 6 * 500) / 900)
    assert (first.best_bid, first.best_ask, first.spread) == (1.0, 1.05, pytest.approx(0.05))
    assert (first.bid_size, first.ask_size, first.bid_depth, first.ask_depth) == (2, 6, 2, 6)
    assert (first.resting_orders, first.bid_levels, first.ask_levels, bool(first.complete)) == (2, 1, 1, True)
    second = bars.iloc[1]
    assert (second.orders_cancelled, second.trades, second.messages) == (1, 0, 1)
    assert pd.isna(second.open) and pd.isna(second.vwap) and pd.isna(second.best_bid)
    assert second.twa_spread == pytest.approx(0.05)  # two-sided only while the bid lived
    assert rejects.loc[rejects.index[0], "order_not_found"] == 1
    at0 = levels.loc[levels.index == levels.index[0]]
    assert list(zip(at0.side, at0.price)) == [("buy", 1.0), ("sell", 1.05)]
    assert list(at0.quantity_executed) == [3, 4] and list(at0.trades) == [1, 1]
    assert list(at0.orders_added) == [1, 1]
    row = long.iloc[0]
    assert (row.volume, row.trades, row.messages, row.orders_added, row.orders_cancelled) == (7, 2, 6, 4, 1)
    assert row.twa_ask_size == pytest.approx((10 * 400 + 6 * 2_500) / 2_900)


def test_worker_rows_have_commands_and_latency_percentiles(tmp_path: Path) -> None:
    with TradingSystem(make_config(tmp_path)) as s:
        hand_stream(s)
        system = s.statistics.system("1us")
    first = system.iloc[0]
    assert (first.worker, first.commands, first.envelopes, first.latency_count) == (0, 5, 5, 5)
    assert 0 < first.latency_p50_ns <= first.latency_p99_ns <= first.latency_max_ns
    assert first.events_published > 0 and first.events_lost == 0


# ---------------------------------------------------------------- recomputation from events


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    n = draw(st.integers(5, 120))
    out: list[tuple[Any, ...]] = []
    t = 0
    for i in range(n):
        t += draw(st.integers(0, 900))
        kind = draw(st.sampled_from(["limit", "limit", "limit", "ioc", "post", "market", "cancel"]))
        side = draw(st.sampled_from(["buy", "sell"]))
        price = Decimal(draw(st.integers(95, 105))) / 100
        qty = draw(st.integers(1, 9))
        target = draw(st.integers(1, max(1, i)))
        out.append((t, kind, side, price, qty, target))
    return out


def run_stream(s: TradingSystem, stream: list[tuple[Any, ...]]) -> None:
    for n, (t, kind, side, price, qty, target) in enumerate(stream, start=1):
        try:
            if kind == "cancel":
                s.cancel("X", target, timestamp=t)
            elif kind == "market":
                s.submit("X", side, qty, order_type="market", timestamp=t, order_id=n)
            else:
                extra: dict[str, Any] = {"time_in_force": "IOC"} if kind == "ioc" else {}
                if kind == "post":
                    extra["post_only"] = True
                s.submit("X", side, qty, price, timestamp=t, order_id=n, **extra)
        except lt.TradingError:
            pass


def recompute(
    events: list[Any], kinds: dict[int, str], length: int, end_time: int
) -> dict[int, dict[str, Any]]:
    """Rows of one period length from the events alone (levels rebuilt from level events)."""
    by_command: dict[int, list[Any]] = defaultdict(list)
    for e in events:
        by_command[e.command_sequence].append(e)
    levels: dict[tuple[str, Decimal], tuple[Decimal, int]] = {}
    rows: dict[int, dict[str, Any]] = {}
    timeline: list[tuple[int, Any]] = []  # (time, top after that command)

    def top() -> tuple[Any, ...]:
        bids = [(p, q) for (sd, p), (q, c) in levels.items() if sd == "buy" and c > 0]
        asks = [(p, q) for (sd, p), (q, c) in levels.items() if sd == "sell" and c > 0]
        return (max(bids, default=None), min(asks, default=None))

    def state() -> dict[str, Any]:
        bids = sorted(((p, q) for (sd, p), (q, c) in levels.items() if sd == "buy" and c > 0), reverse=True)
        asks = sorted((p, q) for (sd, p), (q, c) in levels.items() if sd == "sell" and c > 0)
        return {
            "best_bid": float(bids[0][0]) if bids else None,
            "best_ask": float(asks[0][0]) if asks else None,
            "bid_depth": float(sum(q for _, q in bids[:5])),
            "ask_depth": float(sum(q for _, q in asks[:5])),
            "resting_orders": sum(c for (_, _), (_, c) in levels.items()),
            "bid_levels": len(bids),
            "ask_levels": len(asks),
        }

    closing: dict[int, dict[str, Any]] = {}
    for seq in sorted(by_command):
        evs = by_command[seq]
        t = evs[0].timestamp
        start = t - t % length
        # Periods that ended before this command close with the state as it stands.
        for s0 in rows:
            if s0 + length <= t and s0 not in closing:
                closing[s0] = state()
        row = rows.setdefault(
            start,
            {
                "trades": 0,
                "volume": 0.0,
                "notional": 0.0,
                "messages": 0,
                "rejected": 0,
                "added": 0,
                "cancelled": 0,
                "prices": [],
            },
        )
        kind = kinds[seq]
        row["messages"] += 1
        refused = any(e.kind == "rejected" for e in evs)
        own_rejected = any(e.kind == "order" and e.status == lt.OrderStatus.REJECTED for e in evs)
        if refused or own_rejected:
            row["rejected"] += 1
        elif kind == "cancel":
            row["cancelled"] += 1
        else:
            row["added"] += 1
        for e in evs:
            if e.kind == "trade":
                row["trades"] += 1
                row["volume"] += float(e.quantity)
                row["notional"] += float(e.price * e.quantity)
                row["prices"].append(float(e.price))
            elif e.kind == "level":
                levels[(str(e.side.name).lower(), e.price)] = (e.quantity, e.order_count)
        timeline.append((t, top()))
    for s0 in rows:
        if s0 not in closing and s0 + length <= end_time:
            closing[s0] = state()
    for s0, row in rows.items():
        row.update(closing[s0])
        # Time-weighted spread over [s0, s0 + length): the top after the last command at or
        # before each instant.
        spread_time = two_sided = 0
        lo, hi = s0, s0 + length
        points = [(t, tp) for t, tp in timeline]
        for i, (t, tp) in enumerate(points):
            t_next = points[i + 1][0] if i + 1 < len(points) else hi
            a, b = max(t, lo), min(t_next, hi)
            if b > a and tp[0] is not None and tp[1] is not None:
                spread_time += float(tp[1][0] - tp[0][0]) * (b - a)
                two_sided += b - a
        row["twa_spread"] = spread_time / two_sided if two_sided else None
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=streams())
def test_every_bar_equals_a_recomputation_from_the_event_stream(
    tmp_path_factory: Any, stream: list[Any]
) -> None:
    directory = tmp_path_factory.mktemp("stats")
    end = stream[-1][0] + 10 * US
    with TradingSystem(make_config(directory)) as s:
        sub = s.subscribe()
        run_stream(s, stream)
        s.close_periods(now=end)
        events = []
        while True:
            got = sub.poll()
            if not got:
                break
            events.extend(got)
        kinds = {n: k for n, (_, k, *_rest) in enumerate(stream, start=1)}
        for period, length in (("1us", US), ("3us", 3 * US)):
            bars = s.statistics.bars("X", period)
            bars = bars[bars.complete]
            model = recompute(events, kinds, length, end)
            assert sorted(model) == list(bars.index.asi8), period
            for start, want in model.items():
                got = bars.loc[pd.Timestamp(start, unit="ns", tz="UTC")]
                assert got.trades == want["trades"], (period, start)
                assert got.volume == pytest.approx(want["volume"])
                assert got.notional == pytest.approx(want["notional"])
                assert (got.messages, got.rejected) == (want["messages"], want["rejected"]), (period, start)
                assert (got.orders_added, got.orders_cancelled) == (want["added"], want["cancelled"])
                if want["prices"]:
                    assert (got.open, got.close) == (want["prices"][0], want["prices"][-1])
                    assert (got.high, got.low) == (max(want["prices"]), min(want["prices"]))
                for key in ("best_bid", "best_ask"):
                    assert (None if pd.isna(got[key]) else got[key]) == want[key], (period, start, key)
                for key in ("bid_depth", "ask_depth", "resting_orders", "bid_levels", "ask_levels"):
                    assert got[key] == want[key], (period, start, key)
                if want["twa_spread"] is None:
                    assert pd.isna(got.twa_spread)
                else:
                    assert got.twa_spread == pytest.approx(want["twa_spread"])


def test_the_same_stream_replayed_twice_gives_identical_tables(tmp_path: Path) -> None:
    stream = [
        (t * 137, k, sd, Decimal(95 + t % 11) / 100, 1 + t % 7, 1 + t // 3)
        for t, (k, sd) in enumerate(
            [("limit", "buy"), ("limit", "sell"), ("ioc", "buy"), ("cancel", "sell"), ("post", "sell")] * 60
        )
    ]

    def tables(directory: Path) -> dict[str, list[Any]]:
        with TradingSystem(make_config(directory)) as s:
            run_stream(s, stream)
            s.close_periods(now=stream[-1][0] + 10 * US)
            s.statistics.flush()
        con = sqlite3.connect(directory / DB_NAME)
        out = {
            t: con.execute(f"SELECT * FROM {t} WHERE complete = 1 ORDER BY 1, 2, 3").fetchall()
            for t in ("book_bars",)
        }
        out["level_stats"] = con.execute("SELECT * FROM level_stats ORDER BY 1, 2, 3, 4, 5").fetchall()
        con.close()
        return out

    a, b = tables(tmp_path / "a"), tables(tmp_path / "b")
    assert len(a["book_bars"]) > 50
    assert a == b


# ---------------------------------------------------------------- period edges


def test_a_quiet_symbol_gets_its_row_from_the_schedulers_tick(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path, symbols=("BUSY", "QUIET"), periods=["1s"], close_quiet_periods=True, flush_seconds=0.2
    )
    with TradingSystem(cfg) as s:
        s.submit("QUIET", "buy", 3, "1.00")  # worker time: the wall clock
        deadline = time.monotonic() + 5
        bars = s.statistics.bars("QUIET", "1s")
        while bars.empty and time.monotonic() < deadline:
            time.sleep(0.1)
            bars = s.statistics.bars("QUIET", "1s")
    assert not bars.empty, "the tick after the boundary closed the quiet symbol's period"
    row = bars.iloc[0]
    assert (row.orders_added, row.best_bid, row.resting_orders, bool(row.complete)) == (1, 1.0, 1, True)


def test_a_clock_moving_by_hours_gives_rows_only_for_periods_with_activity(tmp_path: Path) -> None:
    hour = 3_600_000_000_000
    cfg = make_config(tmp_path, periods=["1m", "1h"])
    with TradingSystem(cfg) as s:
        s.submit("X", "buy", 1, "1.00", timestamp=10)
        s.submit("X", "buy", 1, "1.01", timestamp=3 * hour + 5)
        s.submit("X", "sell", 1, "1.01", timestamp=7 * hour + 61_000_000_000)
        s.close_periods(now=9 * hour)
        minutes = s.statistics.bars("X", "1m")
        hours = s.statistics.bars("X", "1h")
    assert list(minutes.index.asi8) == [0, 3 * hour, 7 * hour + 60_000_000_000]
    assert list(hours.index.asi8) == [0, 3 * hour, 7 * hour]
    assert list(hours.trades) == [0, 0, 1]
    # The long quiet stretch counts in the time-weighted size of the hour it falls in.
    assert hours.iloc[0].twa_bid_size == pytest.approx(1.0)


def test_a_period_split_by_a_stop_and_a_recovery_adds_up_to_one_whole_row(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "stats")
    cfg["journal"] = {"enabled": True, "directory": str(tmp_path / "journal")}
    with TradingSystem(cfg) as s:
        s.submit("X", "buy", 1, "1.00", timestamp=100)
    with TradingSystem(cfg) as s:  # recovers the book from the journal
        s.submit("X", "sell", 2, "1.05", timestamp=400)
        s.close_periods(now=3_000)
        row = s.statistics.bars("X", "1us").iloc[0]
        bars = s.statistics.bars("X", "1us")
    # Both runs' orders in the one row, whole again: the first run covered 0..100, the
    # second from its recovery (the last command, 100) to the end.
    assert (row.orders_added, row.messages, bool(row.complete)) == (2, 2, True)
    assert (row.covered_from, row.covered_to) == (0, 1_000)
    # The bid rested from 100 to the end of the period: counted once, not again after the
    # restart (the ask from 400).
    assert (row.twa_bid_size, row.bid_ns, row.ask_ns) == (1.0, 900, 600)
    assert len(bars) == 1


def test_the_same_stream_run_twice_into_one_store_is_stored_once(tmp_path: Path) -> None:
    for _ in range(2):
        with TradingSystem(make_config(tmp_path)) as s:
            hand_stream(s)
            s.submit("X", "buy", 1, "0.90", timestamp=3_500)  # an open period at the stop
    bars = lt.Statistics(tmp_path).bars("X", "1us")
    assert list(bars.index.asi8) == [0, 1_000, 3_000]
    assert list(bars.messages) == [5, 1, 1], "replaced, not added, by the second run"
    assert list(bars.complete) == [True, True, False]


# ---------------------------------------------------------------- storage


def test_rows_survive_a_restart_and_open_without_a_system(tmp_path: Path) -> None:
    with TradingSystem(make_config(tmp_path)) as s:
        hand_stream(s)
    with TradingSystem(make_config(tmp_path)) as s:
        s.submit("X", "buy", 1, "0.99", timestamp=5_000)
        s.close_periods(now=6_000)
        assert list(s.statistics.bars("X", "1us").index.asi8) == [0, 1_000, 5_000]
    offline = lt.Statistics(tmp_path)
    assert offline.periods == ["1us", "3us"]
    assert len(offline.bars("X", "1us")) == 3
    assert "book_bars" in offline._repr_html_()


def test_retention_deletes_rows_older_than_the_newest_by_the_configured_span(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, retention={"1us": "4us"})
    with TradingSystem(cfg) as s:
        for i in range(10):
            s.submit("X", "buy", 1, "1.00", timestamp=i * US + 1)
        s.close_periods(now=20 * US)
        starts = list(s.statistics.bars("X", "1us").index.asi8)
        long = s.statistics.bars("X", "3us")
    assert starts == [i * US for i in range(5, 10)], "newest 9us minus 4us: 5us and later stay"
    assert len(long) == 4, "periods without a retention are kept"


def test_a_corrupt_database_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(lt.CorruptData, match=DB_NAME):
        TradingSystem(make_config(tmp_path))


def test_a_locked_database_never_stops_matching_and_rows_are_stored_once_it_is_free(tmp_path: Path) -> None:
    with TradingSystem(make_config(tmp_path)) as s:
        s.submit("X", "sell", 1, "1.05", timestamp=100)
        s.close_periods(now=3_000)
        locker = sqlite3.connect(tmp_path / DB_NAME, timeout=0)
        locker.execute("BEGIN EXCLUSIVE")
        assert s.statistics.flush() == 0
        assert s.statistics.last_error is not None and "locked" in s.statistics.last_error
        report = s.submit("X", "buy", 1, "1.05", timestamp=4_000)  # matching goes on
        assert report.status == lt.OrderStatus.FILLED
        locker.rollback()
        locker.close()
        assert s.statistics.flush() > 0
        assert s.statistics.last_error is None
        bars = s.statistics.bars("X", "1us")
        # The row held back, and the tick-opened quiet period the later order closed.
        assert list(bars.index.asi8) == [0, 3_000]
        assert list(bars.messages) == [1, 0]


def test_parquet_export_writes_one_file_per_table_period_and_day(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    day = 86_400_000_000_000
    with TradingSystem(make_config(tmp_path, export="parquet")) as s:
        s.submit("X", "sell", 1, "1.05", timestamp=100)
        s.submit("X", "buy", 1, "1.05", timestamp=day + 100)
        s.close_periods(now=day + 10_000)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "parquet").rglob("*.parquet"))
    assert "parquet/book_bars/period=1us/date=1970-01-01/part-0.parquet" in files
    assert "parquet/book_bars/period=1us/date=1970-01-02/part-0.parquet" in files
    table = pq.read_table(tmp_path / "parquet/book_bars/period=1us/date=1970-01-02/part-0.parquet")
    assert table.num_rows == 1 and table.column("trades").to_pylist() == [1]


def test_to_arrow_and_to_polars_where_installed(tmp_path: Path) -> None:
    with TradingSystem(make_config(tmp_path)) as s:
        hand_stream(s)
        pytest.importorskip("pyarrow")
        assert s.statistics.to_arrow("book_bars").num_rows == 3
        if _has("polars"):
            assert s.statistics.to_polars("level_stats").height > 0


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- config, API, CLI


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"periods": ["2s", "5s"]}, "statistics.periods: [1]: 5s is not a whole multiple"),
        ({"periods": ["7s", "1m"]}, "not a whole multiple of the shortest period 7s"),
        ({"periods": ["1m", "1s"]}, "must be longer than 1m"),
        ({"periods": ["1 fortnight"]}, "is not a duration"),
        ({"periods": []}, "expected a list of durations"),
        ({"retention": {"1h": "1d"}}, "retention.1h: not one of the configured periods"),
        ({"export": "csv"}, "statistics.export"),
        ({"periods_seconds": [1]}, "statistics.periods_seconds: unknown key"),
    ],
)
def test_bad_statistics_settings_name_the_key(tmp_path: Path, section: dict[str, Any], message: str) -> None:
    cfg = make_config(tmp_path)
    cfg["statistics"].update(section)
    with pytest.raises(InvalidConfig) as e:
        Config.from_dict(cfg)
    assert message in str(e.value)


def test_statistics_off_says_how_to_turn_them_on() -> None:
    with TradingSystem({"symbols": [{"name": "X"}], "engine": {"threads": 1}}) as s:
        with pytest.raises(InvalidConfig, match=r"statistics\.enabled: true"):
            _ = s.statistics


def test_frames_without_pandas_name_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import lockfree_trading as lt\n"
        f"s = lt.Statistics({str(tmp_path)!r})\n"
        "try:\n    s.bars('X', '1us')\nexcept ImportError as e:\n    print(e)\n"
    )
    with TradingSystem(make_config(tmp_path)) as s:
        hand_stream(s)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'lockfree-trading[analysis]'" in out


def write_yaml(tmp_path: Path, **stats: Any) -> Path:
    import yaml

    cfg = make_config(tmp_path / "stats", **stats)
    cfg["symbols"] = [{"name": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001"}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_simulate_writes_statistics_and_stats_prints_them_with_a_chart(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, periods=["1ms", "10ms"], close_quiet_periods=True)
    cli = [sys.executable, "-m", "lockfree_trading.cli", "--config", str(path)]
    sim = subprocess.run(
        [*cli, "simulate", "--count", "20000", "--probes", "10"], capture_output=True, text=True, cwd=tmp_path
    )
    assert sim.returncode == 0, sim.stderr
    assert "statistics stored in" in sim.stdout
    png = tmp_path / "bars.png"
    out = subprocess.run(
        [*cli, "stats", "--symbol", "BTC-USD", "--period", "1ms", "--last", "5", "--plot", str(png)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "BTC-USD 1ms bars (5 shown)" in out.stdout and "vwap" in out.stdout
    assert png.stat().st_size > 1000
    bars = lt.Statistics(tmp_path / "stats").bars("BTC-USD", "10ms")
    assert bars.trades.sum() > 0 and bars.messages.sum() > 10_000


def test_store_schema_matches_the_documented_columns() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "statistics.md").read_text()
    from lockfree_trading.statistics import TABLES

    for table, columns in TABLES.items():
        assert f"### `{table}`" in doc, table
        for column, sql_type, _ in columns:
            assert f"| `{column}` | {sql_type} |" in doc, (table, column)


def test_the_store_refuses_a_database_of_another_schema_version(tmp_path: Path) -> None:
    StatisticsStore(tmp_path).close()
    con = sqlite3.connect(tmp_path / DB_NAME)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(lt.CorruptData, match="schema version 99"):
        StatisticsStore(tmp_path)


def test_an_unknown_symbol_is_a_clear_error_and_a_dropped_system_still_stores_its_rows(
    tmp_path: Path,
) -> None:
    import gc

    s = TradingSystem(make_config(tmp_path))
    with pytest.raises(lt.UnknownSymbol, match="NOPE"):
        s.statistics.bars("NOPE", "1us")
    s.submit("X", "buy", 1, "1.00", timestamp=100)
    del s
    gc.collect()
    # No shutdown() was called: the finaliser shut the engine down and stored its last rows.
    bars = lt.Statistics(tmp_path).bars("X", "1us")
    assert list(bars.orders_added) == [1] and not bars.complete.iloc[0]
