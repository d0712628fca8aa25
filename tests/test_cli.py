"""The `trading-system` command line as a new user meets it: no config file yet, `init`,
`replay` of a generated stream, help with defaults and examples, and config errors that say
what to fix."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import lockfree_trading as lt
import pytest
from lockfree_trading import workload
from lockfree_trading.cli import DEFAULT_CONFIG, main

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "lockfree_trading.cli"]
COMMANDS = ["init", "simulate", "replay", "demo", "generate", "journal", "recover", "stats"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_packaged_default_config_is_the_repository_config_yaml() -> None:
    assert DEFAULT_CONFIG.read_bytes() == (ROOT / "config.yaml").read_bytes()
    lt.Config.from_yaml(DEFAULT_CONFIG)


def test_init_writes_the_commented_default_and_never_overwrites_without_force(tmp_path: Path) -> None:
    done = run_cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "config.yaml"
    assert written.read_bytes() == DEFAULT_CONFIG.read_bytes()
    assert "trading-system simulate" in done.stdout
    written.write_text("symbols: [{name: MINE}]\n")
    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 1 and "exists; --force overwrites it" in again.stderr
    assert written.read_text() == "symbols: [{name: MINE}]\n"
    assert run_cli("init", "--force", cwd=tmp_path).returncode == 0
    assert written.read_bytes() == DEFAULT_CONFIG.read_bytes()


def test_init_into_a_directory_or_a_named_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    assert main(["init", str(tmp_path / "etc")]) == 0
    assert (tmp_path / "etc" / "config.yaml").exists()
    assert main(["init", str(tmp_path / "new" / "dir") + "/"]) == 0  # a directory not there yet
    assert (tmp_path / "new" / "dir" / "config.yaml").is_file()
    assert main(["init", str(tmp_path / "deep" / "lft.yaml")]) == 0
    lt.Config.from_yaml(tmp_path / "deep" / "lft.yaml")


def test_without_config_a_command_uses_the_packaged_default_and_says_so_in_one_line(tmp_path: Path) -> None:
    done = run_cli("simulate", "--count", "5000", "--probes", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "packaged default" in line]
    assert len(notes) == 1 and "trading-system init" in notes[0]
    assert "5,000 commands in" in done.stdout
    assert not (tmp_path / "journal").exists()  # the default writes nothing


def test_without_config_a_local_config_yaml_is_used_and_named(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text('symbols: [{name: ONLY, tick_size: "1"}]\n')
    done = run_cli("simulate", "--count", "2000", "--probes", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "using ./config.yaml" in done.stderr
    assert "ONLY" in done.stdout and "over 1 symbol\n" in done.stdout


def test_an_explicit_missing_config_is_an_error_naming_it(tmp_path: Path) -> None:
    done = run_cli("--config", "nope.yaml", "simulate", cwd=tmp_path)
    assert done.returncode == 1 and "cannot read config file 'nope.yaml'" in done.stderr


def test_replay_runs_a_generated_stream_and_splits_misses_from_refusals(tmp_path: Path) -> None:
    stream = workload.generate("swing", 30_000, seed=3, symbols=2)
    workload.save(tmp_path / "flow.lftw", stream)
    cfg = tmp_path / "two.yaml"
    cfg.write_text('symbols: [{name: A, tick_size: "1"}, {name: B, tick_size: "1"}]\n')
    done = run_cli("--config", str(cfg), "replay", "flow.lftw", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "replay 30,000 commands from flow.lftw over 2 symbols (A, B)" in out
    assert "30,000 commands in" in out and "missed" in out and "refused" in out
    # The summary's numbers are those of the same stream through single books.
    for k, name in enumerate("AB"):
        stats = lt.OrderBook(name, tick_size=1, lot_size=1).replay(stream.tobytes(), symbol=k)
        row = next(line.split() for line in out.splitlines() if line.startswith(f"{name} "))
        assert row[1:5] == [
            f"{stats.commands:,}",
            f"{stats.trades:,}",
            f"{stats.not_found:,}",
            f"{stats.rejected - stats.not_found:,}",
        ]
        book = lt.OrderBook(name, tick_size=1, lot_size=1)
        book.replay(stream.tobytes(), symbol=k)
        assert any(
            line.startswith(name) and line.endswith(f"{book.state_hash():016x}") for line in out.splitlines()
        )


def test_replay_refuses_a_stream_with_more_symbols_than_configured(tmp_path: Path) -> None:
    workload.save(tmp_path / "flow.lftw", workload.generate("normal", 1000, symbols=3))
    cfg = tmp_path / "one.yaml"
    cfg.write_text("symbols: [{name: A}]\n")
    done = run_cli("--config", str(cfg), "replay", "flow.lftw", cwd=tmp_path)
    assert done.returncode == 2 and "uses 3 symbols but the config has 1" in done.stderr


def test_replay_of_a_file_that_is_not_a_stream_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "junk.lftw").write_bytes(b"not a stream at all")
    done = run_cli("replay", "junk.lftw", cwd=tmp_path)
    assert done.returncode == 1 and "not a version-1 workload stream" in done.stderr


def help_text(*args: str) -> str:
    done = subprocess.run([*CLI, *args, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    return " ".join(done.stdout.split())  # argparse wraps lines at the terminal's width


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "missing.lftw"],
        ["replay", "."],
        ["generate", "--count", "10", "--out", "no/such/dir/flow.lftw"],
        ["generate", "--count", "10", "--out", "."],
    ],
)
def test_unreadable_or_unwritable_stream_files_are_clear_errors_not_tracebacks(
    tmp_path: Path, args: list[str]
) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("trading-system") or "trading-system: " in done.stderr
    assert "Traceback" not in done.stderr and "stream" in done.stderr


def test_replay_of_an_empty_stream_says_there_is_nothing_to_replay(tmp_path: Path) -> None:
    workload.save(tmp_path / "empty.lftw", workload.generate("normal", 0))
    done = run_cli("replay", "empty.lftw", cwd=tmp_path)
    assert done.returncode == 0 and "empty.lftw: no commands to replay" in done.stdout
    workload.save(tmp_path / "flow.lftw", workload.generate("normal", 100))
    limited = run_cli("replay", "flow.lftw", "--limit", "0", cwd=tmp_path)
    assert limited.returncode == 0 and "no commands to replay" in limited.stdout


def test_a_config_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"symbols: [{name: \xff\xfe}]\n")
    with pytest.raises(lt.InvalidConfig, match="is not UTF-8 text"):
        lt.Config.from_yaml(bad)


def test_the_bare_help_says_it_starts_the_daemon_and_shows_examples() -> None:
    text = help_text()
    assert "With no command, starts the daemon" in text
    assert "trading-system init" in text and "(default: 5.0)" in text
    for command in COMMANDS:
        assert f" {command} " in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_shows_defaults_and_an_example(command: str) -> None:
    text = help_text(command)
    assert "example: trading-system " in text
    assert "(default: None)" not in text
    assert not re.search(r"\(default[^()]*\)\s*\(default", text)  # never said twice
    if command not in ("demo", "journal"):  # these have no options with defaults
        assert "(default: " in text


def test_config_errors_suggest_the_near_key_name_the_symbol_and_the_yaml_line(tmp_path: Path) -> None:
    with pytest.raises(lt.InvalidConfig, match=r"symbols\[BTC-USD\]\.tick_size: must be a finite number > 0"):
        lt.Config.from_dict({"symbols": [{"name": "BTC-USD", "tick_size": "-1"}]})
    with pytest.raises(lt.InvalidConfig, match=r"engine\.thread: unknown key: did you mean 'threads'\?"):
        lt.Config.from_dict({"symbols": [{"name": "A"}], "engine": {"thread": 2}})
    with pytest.raises(
        lt.InvalidConfig, match=r"gateway\.sessions\[C1\]\.pasword: unknown key: did you mean"
    ):
        lt.Config.from_dict(
            {"symbols": [{"name": "A"}], "gateway": {"sessions": [{"sender_comp_id": "C1", "pasword": "x"}]}}
        )
    with pytest.raises(
        lt.InvalidConfig, match=r"engine\.zzzz: unknown key \(known keys: threads, batch_size"
    ):
        lt.Config.from_dict({"symbols": [{"name": "A"}], "engine": {"zzzz": 1}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("symbols:\n  - name: A\n    tick_size: [1\nengine: {threads: 1}\n")
    with pytest.raises(lt.InvalidConfig, match=r"bad\.yaml:4:7: not valid YAML: .*started at line 3"):
        lt.Config.from_yaml(bad)
    done = run_cli("--config", str(bad), "demo", cwd=tmp_path)
    assert done.returncode == 1 and "bad.yaml:4:7" in done.stderr


def test_events_subscribe_when_called_not_when_first_iterated() -> None:
    cfg = {"symbols": [{"name": "E", "tick_size": "0.01"}], "engine": {"threads": 1}}
    with lt.TradingSystem(cfg) as system:
        events = system.events(timeout=0.2)
        system.submit("E", lt.Side.BUY, 1, "1.00", timestamp=1)
        kinds = [e.kind for e in events]
    assert kinds[:2] == ["order", "level"]
