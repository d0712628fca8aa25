"""Durability from Python: config, snapshots on demand, recovery at start, the CLI tools,
and the crash drill (a child killed with SIGKILL under load loses nothing it acknowledged)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import lockfree_trading as lt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lockfree_trading import _core
from lockfree_trading.cli import main as cli_main

SYMBOLS = ["AAA", "BBB", "CCC"]
CHILD = Path(__file__).parent / "helpers" / "crash_child.py"
TICK = Decimal("0.01")


def durable_config(
    tmp: Path,
    *,
    ack: str = "after_fsync",
    fsync: str = "batch",
    snapshots: bool = False,
    every: int | None = None,
    segment_bytes: int = 1 << 20,
) -> dict[str, Any]:
    return {
        "symbols": [{"name": s, "tick_size": "0.01"} for s in SYMBOLS],
        "engine": {"threads": 2},
        "journal": {
            "enabled": True,
            "directory": str(tmp / "journal"),
            "fsync": fsync,
            "ack": ack,
            "segment_bytes": segment_bytes,
        },
        "snapshots": {
            "enabled": snapshots,
            "directory": str(tmp / "snapshots"),
            "every_commands": every,
            "interval_seconds": None,
            "keep": 2,
        },
    }


def replay_journal(directory: Path, symbol: str) -> lt.OrderBook:
    """A single-threaded replay of the journal's records of `symbol` through an OrderBook."""
    book = lt.OrderBook(symbol, tick_size=TICK, lot_size=Decimal(1))

    def px(t: int | None) -> Decimal | None:
        return None if t is None else t * TICK

    for r in _core.journal_dump(str(directory), symbol):
        ts = r["timestamp"]
        try:
            kind = r["kind"]
            if kind == "new":
                book.submit(
                    lt.Side.BUY if r["side"] == 0 else lt.Side.SELL,
                    r["quantity"],
                    px(r["price"]),
                    order_type=r["order_type"],
                    time_in_force=r["time_in_force"],
                    order_id=r["order_id"],
                    post_only=r["post_only"],
                    display_quantity=r["display_quantity"],
                    expire_time=r["expire_time"],
                    timestamp=ts,
                )
            elif kind == "cancel":
                book.cancel(r["order_id"], timestamp=ts)
            elif kind == "modify":
                book.modify(r["order_id"], r["quantity"], px(r["price"]), timestamp=ts)
            elif kind == "expire":
                book.expire(ts)
            elif kind == "end_of_day":
                book.end_of_day(ts)
            else:
                raise AssertionError(f"unexpected record {r}")
        except lt.TradingError:
            pass  # refused then, refused now: it still took its sequence number
    return book


def test_config_refuses_ack_after_fsync_without_fsync(tmp_path: Path) -> None:
    cfg = durable_config(tmp_path, fsync="never")
    with pytest.raises(lt.InvalidConfig, match="journal: ack: after_fsync needs fsync"):
        lt.Config.from_dict(cfg)


def test_enabled_journal_creates_its_directory_and_a_restart_recovers_the_books(tmp_path: Path) -> None:
    cfg = durable_config(tmp_path, snapshots=True)
    with lt.TradingSystem(cfg) as s:
        assert (tmp_path / "journal").is_dir()
        for i in range(50):
            s.submit("AAA", lt.Side.BUY, 1, f"{100 + i % 3}.00", timestamp=i + 1)
        s.submit("BBB", lt.Side.SELL, 2, "7.00", timestamp=1)
        hashes = {sym: s.state_hash(sym) for sym in SYMBOLS}
        taken = s.snapshot()
        assert [t["symbol"] for t in taken] == SYMBOLS
        assert taken[0]["resting_orders"] == 50 and Path(taken[0]["path"]).exists()
        s.submit("AAA", lt.Side.SELL, 3, "100.00", timestamp=99)  # after the snapshot: journal only
        hashes["AAA"] = s.state_hash("AAA")
        stats = s.durability_stats()
        assert sum(j["records"] for j in stats["journal"]) == 52
    with lt.TradingSystem(cfg) as s:
        assert s.recovery is not None
        assert {sym: s.state_hash(sym) for sym in SYMBOLS} == hashes
        assert len(s.book("AAA")) == 47


def test_snapshot_without_snapshots_enabled_says_how_to_enable_them(tmp_path: Path) -> None:
    with (
        lt.TradingSystem(durable_config(tmp_path)) as s,
        pytest.raises(lt.InvalidConfig, match=r"snapshots\.enabled"),
    ):
        s.snapshot()


def test_cli_inspect_dump_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = durable_config(tmp_path)
    with lt.TradingSystem(cfg) as s:
        s.submit("AAA", lt.Side.BUY, 1, "100.00", order_id=7, timestamp=5)
        with pytest.raises(lt.OrderNotFound):
            s.cancel("AAA", 8, timestamp=6)
    assert cli_main(["journal", "inspect", str(tmp_path / "journal")]) == 0
    out = capsys.readouterr().out
    assert "2 records" in out and "0 errors found" in out
    assert cli_main(["journal", "dump", str(tmp_path / "journal"), "--symbol", "AAA"]) == 0
    out = capsys.readouterr().out
    assert "NEW id=00000000-0000-0000-0000-000000000007" in out and "CANCEL" in out
    config_file = tmp_path / "config.yaml"
    config_file.write_text(json.dumps(cfg))  # JSON is YAML
    before = sorted(p.stat().st_size for p in (tmp_path / "journal").iterdir())
    assert cli_main(["recover", "--config", str(config_file), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "verified:" in out and "nothing was changed" in out
    assert sorted(p.stat().st_size for p in (tmp_path / "journal").iterdir()) == before


def test_a_torn_tail_is_cut_and_reported(tmp_path: Path) -> None:
    cfg = durable_config(tmp_path)
    with lt.TradingSystem(cfg) as s:
        for i in range(10):
            s.submit("AAA", lt.Side.BUY, 1, "100.00", timestamp=i + 1)
    seg = sorted((tmp_path / "journal").glob("*.lftj"))[0]
    with open(seg, "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage")
    with lt.TradingSystem(cfg) as s:
        assert s.recovery is not None
        assert any("torn record" in n for n in s.recovery["notes"])
        assert len(s.book("AAA")) == 10
    assert cli_main(["journal", "inspect", str(tmp_path / "journal")]) == 0


def test_a_segment_caught_while_being_created_is_removed_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill between creating a segment and writing its header (CI saw one in a crash drill)."""
    cfg = durable_config(tmp_path)
    with lt.TradingSystem(cfg) as s:
        for i in range(10):
            s.submit("AAA", lt.Side.BUY, 1, "100.00", timestamp=i + 1)
    journal = tmp_path / "journal"
    last = sorted(journal.glob("*.lftj"))[-1]
    run, worker, index = last.name.removesuffix(".lftj").split("-")
    empty = journal / f"{run}-{worker}-{int(index) + 1:08}.lftj"
    empty.write_bytes(b"")
    assert cli_main(["journal", "inspect", str(journal)]) == 1  # a finding, as a torn tail is
    assert "being created" in capsys.readouterr().out
    assert cli_main(["journal", "dump", str(journal), "--symbol", "AAA"]) == 0
    assert capsys.readouterr().out.count("NEW") == 10
    with lt.TradingSystem(cfg) as s:
        assert s.recovery is not None
        assert any("header was being written" in n for n in s.recovery["notes"]), s.recovery["notes"]
        assert len(s.book("AAA")) == 10
    assert not empty.exists()
    assert not list(journal.glob("*.tmp"))


def test_corrupt_journal_is_a_clear_error(tmp_path: Path) -> None:
    cfg = durable_config(tmp_path)
    with lt.TradingSystem(cfg) as s:
        for i in range(20):
            s.submit("AAA", lt.Side.BUY, 1, "100.00", timestamp=i + 1)
    seg = sorted((tmp_path / "journal").glob("*.lftj"))[0]
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(lt.CorruptData, match=r"\.lftj: at byte \d+"):
        lt.TradingSystem(cfg)


# ---------------------------------------------------------------------- crash drill


def _kills() -> int:
    return int(os.environ.get("LFT_CRASH_KILLS", "20"))


def _run_child(cfg: dict[str, Any], ack_dir: Path, nonce: int, rng: random.Random) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(cfg), str(ack_dir), str(nonce)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == b"ready", (line, child.stderr.read() if child.stderr else b"")
        time.sleep(rng.uniform(0.05, 0.5))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)


def _acked(ack_dir: Path) -> dict[str, int]:
    """Highest acknowledged command sequence per symbol."""
    top: dict[str, int] = {}
    for f in ack_dir.glob("acks-*.log"):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4:  # a line cut by the kill has fewer fields
                top[parts[0]] = max(top.get(parts[0], 0), int(parts[1]))
    return top


@pytest.mark.parametrize(
    "variant",
    [
        {"ack": "after_fsync", "fsync": "batch", "snapshots": False, "share": 0.6},
        {"ack": "after_fsync", "fsync": "interval", "snapshots": True, "share": 0.2},
        {"ack": "after_write", "fsync": "never", "snapshots": False, "share": 0.2},
    ],
    ids=["fsync-batch", "interval-with-snapshots", "after-write"],
)
def test_crash_drill_loses_nothing_acknowledged(tmp_path: Path, variant: dict[str, Any]) -> None:
    kills = max(1, round(_kills() * variant["share"]))
    cfg = durable_config(
        tmp_path,
        ack=variant["ack"],
        fsync=variant["fsync"],
        snapshots=variant["snapshots"],
        every=300,
        segment_bytes=64 << 10,
    )
    acks = tmp_path / "acks"
    acks.mkdir()
    rng = random.Random(len(variant["ack"]) * 7 + kills)
    for nonce in range(1, kills + 1):
        _run_child(cfg, acks, nonce, rng)
        verified = _core.verify_recovery(lt.Config.from_dict(cfg).to_engine_dict())
        recovered = {s["symbol"]: s for s in verified["symbols"]}
        for symbol, seq in _acked(acks).items():
            assert recovered[symbol]["command_sequence"] >= seq, (nonce, symbol, seq, verified)
        if not variant["snapshots"]:
            for symbol in SYMBOLS:
                replayed = replay_journal(tmp_path / "journal", symbol)
                assert replayed.state_hash() == recovered[symbol]["state_hash"], (nonce, symbol)
    # The last start recovers what verify saw, and goes on.
    with lt.TradingSystem(cfg) as s:
        assert s.recovery is not None
        for sym in SYMBOLS:
            assert s.state_hash(sym) == recovered[sym]["state_hash"]
        s.submit("AAA", lt.Side.BUY, 1, "1.00")


# ---------------------------------------------------------------------- damaged files

_SENT: dict[str, list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = {}


def _apply(book: Any, call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    name, args, kwargs = call
    try:
        getattr(book, name)(*args, **kwargs)
    except lt.TradingError:
        pass


@pytest.fixture(scope="module")
def damaged_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A journal and snapshots of known commands (kept in `_SENT` per symbol)."""
    base = tmp_path_factory.mktemp("damage-source")
    cfg = durable_config(base, snapshots=True, segment_bytes=4096)
    rng = random.Random(3)
    _SENT.clear()
    with lt.TradingSystem(cfg) as s:
        for i in range(400):
            sym = rng.choice(SYMBOLS)
            ts = i + 1
            pick = rng.random()
            if pick < 0.6:
                side = lt.Side.BUY if rng.random() < 0.5 else lt.Side.SELL
                call = (
                    "submit",
                    (side, rng.randint(1, 5), f"{rng.randint(95, 105)}.00"),
                    {"order_id": i + 1, "timestamp": ts},
                )
            elif pick < 0.85:
                call = ("cancel", (rng.randint(1, i + 1),), {"timestamp": ts})
            else:
                call = ("modify", (rng.randint(1, i + 1),), {"quantity": rng.randint(1, 5), "timestamp": ts})
            _SENT.setdefault(sym, []).append(call)
            name, args, kwargs = call
            try:
                getattr(s, name)(sym, *args, **kwargs)
            except lt.TradingError:
                pass
            if i in (150, 300):
                s.snapshot()
    return base, cfg


def _copy_source(base: Path, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    """Copy the source's files under `work`; the config pointing there."""
    shutil.copytree(base / "journal", work / "journal")
    shutil.copytree(base / "snapshots", work / "snapshots")
    moved: dict[str, Any] = json.loads(json.dumps(cfg))
    moved["journal"]["directory"] = str(work / "journal")
    moved["snapshots"]["directory"] = str(work / "snapshots")
    return moved


def _reference_hash(symbol: str, k: int) -> int:
    book = lt.OrderBook(symbol, tick_size=TICK, lot_size=Decimal(1))
    for call in _SENT.get(symbol, [])[:k]:
        _apply(book, call)
    return book.state_hash()


def _check_recovery(cfg: dict[str, Any]) -> None:
    try:
        r = _core.verify_recovery(lt.Config.from_dict(cfg).to_engine_dict())
    except (lt.CorruptData, lt.InvalidConfig, lt.StorageError) as e:
        assert ".lft" in str(e), str(e)  # a clear error names the file
        return
    for s in r["symbols"]:
        assert s["state_hash"] == _reference_hash(s["symbol"], s["command_sequence"]), (s, r["notes"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flips=st.lists(
        st.tuples(st.integers(0, 10_000), st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=3
    )
)
def test_flipped_bytes_give_a_valid_prefix_or_a_clear_error(
    tmp_path_factory: pytest.TempPathFactory,
    damaged_source: tuple[Path, dict[str, Any]],
    flips: list[tuple[int, float, int]],
) -> None:
    base, cfg = damaged_source
    work = tmp_path_factory.mktemp("flip")
    moved = _copy_source(base, cfg, work)
    files = sorted([*(work / "journal").glob("*.lftj"), *(work / "snapshots").glob("*.lfts")])
    for which, where, xor in flips:
        f = files[which % len(files)]
        data = bytearray(f.read_bytes())
        if data:
            at = min(len(data) - 1, int(where * len(data)))
            data[at] ^= xor
            f.write_bytes(bytes(data))
    _check_recovery(moved)


def test_undamaged_files_and_a_deleted_newest_snapshot_recover_everything(
    tmp_path: Path, damaged_source: tuple[Path, dict[str, Any]]
) -> None:
    base, cfg = damaged_source
    moved = _copy_source(base, cfg, tmp_path)
    for sym in SYMBOLS:
        newest = sorted((tmp_path / "snapshots").glob(f"{sym}@*.lfts"))[-1]
        newest.unlink()
    r = _core.verify_recovery(lt.Config.from_dict(moved).to_engine_dict())
    for s in r["symbols"]:
        assert s["command_sequence"] == len(_SENT[s["symbol"]])
        assert s["state_hash"] == _reference_hash(s["symbol"], s["command_sequence"])


def test_statistics_enabled_now_collects_into_its_directory(tmp_path: Path) -> None:
    # Until statistics existed, `enabled: true` was refused; now it must do its job.
    cfg = {
        "symbols": [{"name": "A"}],
        "engine": {"threads": 1},
        "statistics": {"enabled": True, "directory": str(tmp_path), "close_quiet_periods": False},
    }
    with lt.TradingSystem(cfg) as s:
        s.submit("A", "buy", 1, "1.00", timestamp=1)
    assert (tmp_path / "statistics.sqlite3").exists()


def test_ids_generated_before_a_restart_are_never_drawn_again(tmp_path: Path) -> None:
    # The facade draws an id from the book's generator before the command is journaled; a
    # replay of the journal must move the generator past every id it replays.
    from lockfree_trading import TradingSystem

    cfg = {
        "symbols": [{"name": "X", "tick_size": "0.01", "lot_size": "1"}],
        "engine": {"threads": 1},
        "journal": {"enabled": True, "directory": str(tmp_path / "journal")},
    }
    with TradingSystem(cfg) as s:
        first = [s.submit("X", "buy", 1, "1.00").order_id for _ in range(3)]
    with TradingSystem(cfg) as s:
        later = s.submit("X", "buy", 1, "1.00")
        assert later.order_id not in first
        assert len(s.book("X")) == 4


def test_a_book_recovered_from_the_journal_alone_is_snapshotted_at_shutdown(tmp_path: Path) -> None:
    # After a crash the recovered commands are only in the journal: the clean shutdown that
    # follows owes the book a snapshot even when no new command arrived in between.
    cfg = durable_config(tmp_path, snapshots=True)
    cfg["snapshots"]["on_shutdown"] = False  # the first run leaves no snapshot, as a crash would
    with lt.TradingSystem(cfg) as s:
        for i in range(20):
            s.submit("AAA", lt.Side.BUY, 1, f"{100 + i % 4}.00", timestamp=i + 1)
        expected = s.state_hash("AAA")
    assert not list((tmp_path / "snapshots").glob("AAA@*.lfts"))
    cfg["snapshots"]["on_shutdown"] = True
    with lt.TradingSystem(cfg) as s:
        assert s.recovery is not None
        [aaa] = [r for r in s.recovery["symbols"] if r["symbol"] == "AAA"]
        assert (aaa["snapshot"], aaa["commands_replayed"]) == (None, 20)
    [taken] = (tmp_path / "snapshots").glob("AAA@*.lfts")
    assert taken.name == "AAA@00000000000000000020.lfts"
    with lt.TradingSystem(cfg) as s:
        [aaa] = [r for r in s.recovery["symbols"] if r["symbol"] == "AAA"]
        assert (aaa["snapshot_sequence"], aaa["commands_replayed"]) == (20, 0)
        assert s.state_hash("AAA") == expected
