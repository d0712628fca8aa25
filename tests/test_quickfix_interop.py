"""Interoperability with the reference FIX engine: a QuickFIX 1.15 initiator
(tests/interop/quickfix_initiator.cpp, built here against Debian's libquickfix-dev) logs two
sessions on to the gateway, trades between them, replaces, cancels, is refused a cancel of an
unknown order and an order off the tick, and logs out, with QuickFIX validating every message
the gateway sends against its FIX 4.4 data dictionary. Then the book and the trades must
equal the same commands sent through Python.

`make interop-deps` installs what it needs (`make test` runs it first); without it these
tests fail rather than skip: a check that cannot run must not pass."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import lockfree_trading as lt
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "interop" / "quickfix_initiator.cpp"
BUILD = ROOT / "target" / "interop"
# C++14: QuickFIX 1.15's headers use dynamic exception specifications, gone in C++17.
CXX_FLAGS = ["-std=c++14", "-O0", "-Wall", "-Wextra", "-Wno-deprecated"]
LIBS = ["-lquickfix", "-lpthread"]
DEPS = (
    "`make interop-deps` installs it (Debian's libquickfix-dev, and QuickFIX's FIX44.xml data "
    "dictionary into target/interop/)"
)

SYMBOL = "BTC-USD"
P1, P2, P3 = "100.00", "99.50", "98.00"


def config() -> dict[str, Any]:
    return {
        "symbols": [{"name": SYMBOL, "tick_size": "0.01", "lot_size": "0.001"}],
        "engine": {"threads": 1},
        "gateway": {
            "enabled": True,
            "listen": "127.0.0.1:0",
            "sessions": [
                {"sender_comp_id": "ALICE", "target_comp_id": "LFT", "password": "a-pw"},
                {"sender_comp_id": "BOB", "target_comp_id": "LFT"},
            ],
        },
    }


def data_dictionary() -> Path:
    """QuickFIX's FIX44.xml: $LFT_QUICKFIX_SPEC, or where `make interop-deps` puts it."""
    candidates = [os.environ.get("LFT_QUICKFIX_SPEC"), BUILD / "FIX44.xml", "/usr/share/quickfix/FIX44.xml"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail(f"QuickFIX's FIX44.xml data dictionary is missing: {DEPS}")


def initiator() -> Path:
    """The initiator's binary, compiled once per version of its source (and flags)."""
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    if compiler is None:
        pytest.fail("no C++ compiler (g++) to build the QuickFIX initiator")
    if not Path("/usr/include/quickfix/SocketInitiator.h").is_file():
        pytest.fail(f"QuickFIX (libquickfix-dev) is not installed: {DEPS}")
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join(CXX_FLAGS + LIBS).encode()).hexdigest()[:16]
    exe = BUILD / f"quickfix_initiator-{key}"
    if exe.is_file():
        return exe
    BUILD.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=BUILD, prefix=".quickfix_initiator-")
    os.close(fd)
    built = subprocess.run(
        [compiler, *CXX_FLAGS, "-o", tmp, str(SOURCE), *LIBS], capture_output=True, text=True, timeout=300
    )
    if built.returncode != 0:
        os.unlink(tmp)
        pytest.fail(f"building the QuickFIX initiator failed ({DEPS}):\n{built.stderr[-4000:]}")
    os.replace(tmp, exe)  # atomic: a concurrent run sees the whole binary or none
    for old in BUILD.glob("quickfix_initiator-*"):
        if old != exe:
            old.unlink(missing_ok=True)  # builds of earlier versions of the source
    return exe


def run_initiator(address: str, work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe, spec = initiator(), data_dictionary()
    host, port = address.rsplit(":", 1)
    args = [str(exe), "--host", host, "--port", port, "--target", "LFT"]
    args += ["--buyer", "ALICE", "--buyer-password", "a-pw", "--seller", "BOB", "--symbol", SYMBOL]
    args += ["--prices", f"{P1},{P2},{P3}", "--spec", str(spec), "--dir", str(work), "--timeout", "10"]
    try:
        # The initiator bounds its own waits (10 s, 3 more to log out); this is the backstop.
        return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the QuickFIX initiator hung:\n{e.stdout!r}\n{quickfix_log(work)}")


def quickfix_log(work: Path) -> str:
    """QuickFIX's message and event logs, for a failure's message."""
    parts = []
    for f in sorted((work / "log").glob("*.log")):
        parts.append(f"--- {f.name}\n" + f.read_text(errors="replace").replace("\x01", "|")[-6000:])
    return "\n".join(parts)


def received(stdout: str) -> list[tuple[str, str, dict[str, str]]]:
    """The initiator's `RECV <session> <MsgType> Name=value...` lines."""
    out = []
    for line in stdout.splitlines():
        if line.startswith("RECV "):
            _, who, msg_type, *fields = line.split(" ")
            out.append((who, msg_type, dict(f.split("=", 1) for f in fields if "=" in f)))
    return out


def levels(depth: Any) -> tuple[list[tuple[Decimal, Decimal, int]], list[tuple[Decimal, Decimal, int]]]:
    """A depth's bids and asks as (price, quantity, order count)."""
    return (
        [(lvl.price, lvl.quantity, lvl.order_count) for lvl in depth.bids],
        [(lvl.price, lvl.quantity, lvl.order_count) for lvl in depth.asks],
    )


def test_a_quickfix_initiator_trades_replaces_cancels_and_logs_out(tmp_path: Path) -> None:
    with lt.TradingSystem(config()) as system:
        events = system.subscribe()
        gw = system.start_gateway()
        result = run_initiator(gw.address, tmp_path)
        failure = f"{result.stdout}\n{result.stderr}\n{quickfix_log(tmp_path)}"
        assert result.returncode == 0, failure
        assert result.stdout.rstrip().endswith("PASS errors=0"), failure
        assert "ERROR" not in result.stdout, failure

        # What QuickFIX accepted, per session, in order (its own checks already compared the
        # numbers; here the key fields as they were on the wire).
        reports = [
            (who, f.get("ClOrdID"), f.get("ExecType"), f.get("OrdStatus"), f.get("CumQty"), f.get("AvgPx"))
            for who, msg_type, f in received(result.stdout)
            if msg_type == "8"
        ]
        assert [r for r in reports if r[0] == "BOB"] == [
            ("BOB", "S1", "0", "0", "0", "0"),
            ("BOB", "S1", "F", "1", "1", "100"),
            ("BOB", "S1", "F", "2", "1.5", "99.833333333333"),
        ]
        assert [r[1:4] for r in reports if r[0] == "ALICE"] == [
            ("B1", "0", "0"),
            ("B2", "0", "0"),
            ("B1", "F", "2"),
            ("B2", "F", "1"),
            ("B3", "5", "1"),
            ("B4", "0", "0"),
            ("B5", "5", "0"),
            ("B6", "4", "4"),
            ("B8", "8", "8"),
        ]
        rejects = [f for who, msg_type, f in received(result.stdout) if msg_type == "9"]
        assert [(f["ClOrdID"], f["CxlRejResponseTo"], f["CxlRejReason"]) for f in rejects] == [
            ("B7", "1", "1")
        ]
        logouts = [who for who, msg_type, _ in received(result.stdout) if msg_type == "5"]
        assert sorted(logouts) == ["ALICE", "BOB"]

        # The gateway saw no malformed message and sent no session Reject.
        counters = gw.counters()
        assert counters["garbled"] == 0 and counters["dropped"] == 0
        assert all(s["rejects"] == 0 and not s["logged_on"] for s in counters["sessions"]), counters

        book = levels(system.book(SYMBOL).depth(10))
        trades = [(e.price, e.quantity, e.side) for e in events.poll() if e.kind == "trade"]
        assert events.lost == 0

    # The same commands through Python: the same book and the same trades.
    with lt.TradingSystem({**config(), "gateway": {}}) as python:
        python.submit(SYMBOL, "buy", "1", P1, time_in_force="GTC")
        b2 = python.submit(SYMBOL, "buy", "1", P2, time_in_force="GTC").order_id
        python.submit(SYMBOL, "sell", "1.5", P2, time_in_force="GTC")
        python.modify(SYMBOL, b2, quantity="1.5", price=P2)  # OrderQty 2 in all, 0.5 filled
        b4 = python.submit(SYMBOL, "buy", "1", P3, time_in_force="GTC").order_id
        python.modify(SYMBOL, b4, quantity="3", price=Decimal(P3) - 1)
        python.cancel(SYMBOL, b4)
        assert book == levels(python.book(SYMBOL).depth(10))
    assert book == ([(Decimal(P2), Decimal("1.500"), 1)], [])
    assert trades == [
        (Decimal(P1), Decimal("1.000"), lt.Side.SELL),
        (Decimal(P2), Decimal("0.500"), lt.Side.SELL),
    ]


def test_a_quickfix_initiator_accepts_market_data_snapshots(tmp_path: Path) -> None:
    with lt.TradingSystem(config()) as system:
        gw = system.start_gateway()
        result = run_initiator(gw.address, tmp_path, "--market-data")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{quickfix_log(tmp_path)}"
    snapshots = [f for who, msg_type, f in received(result.stdout) if msg_type == "W"]
    entry = [
        (f["NoMDEntries"], f["NoMDEntries.1.MDEntryPx"], f["NoMDEntries.1.MDEntrySize"]) for f in snapshots
    ]
    assert entry == [("1", "99.5", "1.5")]
