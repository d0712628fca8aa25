"""Workload generator from Python: determinism, file format, replay, CLI."""

from __future__ import annotations

from pathlib import Path

import lockfree_trading as lft
import numpy as np
import pytest
from lockfree_trading import workload
from lockfree_trading.cli import main


def test_same_seed_same_stream_other_seed_other_stream():
    a = workload.generate("normal", 5_000, seed=1)
    assert a.dtype == workload.DTYPE and len(a) == 5_000
    assert np.array_equal(a, workload.generate("normal", 5_000, seed=1))
    assert not np.array_equal(a, workload.generate("normal", 5_000, seed=2))


@pytest.mark.parametrize("scenario", workload.SCENARIOS)
def test_every_scenario_has_the_published_mix(scenario):
    s = workload.generate(scenario, 60_000, seed=42)
    new = s[s["kind"] == workload.KIND_NEW]
    assert 0.13 < np.mean(new["tif"] == 1) < 0.17  # about 15% IOC
    assert set(np.unique(s["kind"])) == {0, 1, 2}
    assert (new["quantity"] >= 1).all() and (new["quantity"] <= 100).all()
    assert (np.diff(s["timestamp"]) > 0).all()


def test_unknown_scenario_is_refused_with_the_choices():
    with pytest.raises(lft.InvalidOrder, match="flash-crash"):
        workload.generate("calm", 10)


def test_save_load_round_trip_and_garbage_is_refused(tmp_path: Path):
    s = workload.generate("swing", 2_000, seed=5)
    path = tmp_path / "flow.lftw"
    workload.save(path, s)
    assert path.stat().st_size == 16 + 40 * len(s)
    assert np.array_equal(workload.load(path), s)
    (tmp_path / "bad").write_bytes(b"not a stream at all")
    with pytest.raises(lft.InvalidConfig):
        workload.load(tmp_path / "bad")
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(lft.InvalidConfig):
        workload.load(path)


def test_replay_equals_one_call_per_command():
    s = workload.generate("normal", 3_000, seed=9)
    fast = lft.OrderBook("W", tick_size=1, lot_size=1)
    stats = fast.replay(s.tobytes())
    slow = lft.OrderBook("W", tick_size=1, lot_size=1)
    rejected = trades = 0
    for r in s.tolist():
        kind, side, tif, _, _, _, oid, price, qty, ts = r
        try:
            if kind == workload.KIND_NEW:
                rep = slow.submit(side, qty, price, time_in_force=tif, order_id=oid, timestamp=ts)
            elif kind == workload.KIND_CANCEL:
                rep = slow.cancel(oid, timestamp=ts)
            else:
                rep = slow.modify(oid, quantity=qty, price=price, timestamp=ts)
            trades += len(rep.trades)
        except lft.TradingError:
            rejected += 1
    assert (stats.commands, stats.rejected, stats.trades) == (len(s), rejected, trades)
    assert rejected > 0  # the flow targets orders that already traded
    assert fast.state_hash() == slow.state_hash()


def test_replay_refuses_a_truncated_buffer():
    with pytest.raises(lft.InvalidOrder, match="multiple of 40"):
        lft.OrderBook("W").replay(b"\x00" * 41)


def test_cli_generate_writes_a_loadable_stream(tmp_path: Path, capsys):
    out = tmp_path / "s.lftw"
    assert (
        main(["generate", "--scenario", "static", "--count", "1000", "--seed", "3", "--out", str(out)]) == 0
    )
    assert "wrote 1000 commands" in capsys.readouterr().out
    assert np.array_equal(workload.load(out), workload.generate("static", 1000, seed=3))
