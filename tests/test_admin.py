"""The HTTP admin API (`system.start_admin()`, docs/admin.md) over loopback with urllib: the
JSON equals the book, metrics move with the flow and `promtool check metrics` accepts them,
per-session counters appear with a gateway, and the daemon serves it (`admin.enabled`)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import lockfree_trading as lt
import pytest

SYMBOLS = ["BTC-USD", "ETH-USD"]
ROOT = Path(__file__).resolve().parents[1]


def config(tmp: Optional[Path] = None, **admin: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "symbols": [
            {"name": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001"},
            {"name": "ETH-USD", "tick_size": "0.05", "lot_size": "0.1"},
        ],
        "engine": {"threads": 2},
        "admin": {"enabled": True, "listen": "127.0.0.1:0", **admin},
        "gateway": {
            "listen": "127.0.0.1:0",
            "sessions": [{"sender_comp_id": "BOB", "target_comp_id": "LFT"}],
        },
    }
    if tmp is not None:
        cfg["statistics"] = {"enabled": True, "directory": str(tmp / "stats"), "periods": ["1s"]}
    return cfg


@pytest.fixture
def system() -> Any:
    with lt.TradingSystem(config()) as s:
        yield s


def fetch(address: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://{address}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(address: str, path: str) -> tuple[int, Any]:
    status, headers, body = fetch(address, path)
    assert headers["content-type"] == "application/json"
    return status, json.loads(body)


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def samples(text: str) -> dict[str, float]:
    """`name{labels}` (as served) -> value."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def promtool() -> str:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    local = ROOT / ".tools" / "prometheus" / "usr" / "bin" / "promtool"
    if found is None and local.exists():
        found = str(local)
    if found is None:
        pytest.fail("promtool is missing: `make promtool` fetches it into .tools/ (make test-python does)")
    return found


def promtool_check(text: str) -> None:
    """`promtool check metrics`: exit 0 and nothing said (a lint warning is a failure)."""
    r = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def scrape(address: str) -> str:
    status, headers, body = fetch(address, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return body.decode()


def test_health_and_symbols_describe_the_system(system: Any) -> None:
    admin = system.start_admin()
    system.submit("BTC-USD", "buy", "1.5", "100.00", time_in_force="GTC")
    system.submit("BTC-USD", "sell", "0.25", "100.25", time_in_force="GTC")
    system.submit("ETH-USD", "sell", "2", "2000.05", time_in_force="GTC")
    status, health = get_json(admin.address, "/health")
    assert status == 200
    assert (health["status"], health["symbols"], health["workers"], health["halted"]) == ("ok", 2, 2, [])
    assert health["uptime_seconds"] >= 0 and health["gateway"] is False
    status, body = get_json(admin.address, "/symbols")
    assert status == 200
    by_name = {s["name"]: s for s in body["symbols"]}
    assert list(by_name) == SYMBOLS
    for name in SYMBOLS:
        s, book = by_name[name], system.book(name)
        assert s["worker"] == system.assignment[name]
        assert Decimal(s["tick_size"]) == system.config.symbol(name).tick_size
        assert Decimal(s["lot_size"]) == system.config.symbol(name).lot_size
        for key in ("best_bid", "best_ask"):
            want = getattr(book, key)
            assert (Decimal(s[key]) if s[key] is not None else None) == want
        assert s["resting_orders"] == len(book)
        assert s["halted"] is None
    assert by_name["ETH-USD"]["best_ask"] == "2000.05" and by_name["ETH-USD"]["best_bid"] is None
    assert (by_name["BTC-USD"]["commands"], by_name["BTC-USD"]["trades"]) == (2, 0)


def test_book_json_equals_the_book(system: Any) -> None:
    admin = system.start_admin()
    rng = random.Random(7)
    for _ in range(300):
        side = rng.choice(["buy", "sell"])
        price = Decimal(100) + Decimal(rng.randint(-60, 60)) / 100
        system.submit(
            "BTC-USD", side, str(Decimal(rng.randint(1, 3000)) / 1000), str(price), time_in_force="GTC"
        )
    for depth in (1, 7, 1000):
        status, body = get_json(admin.address, f"/book/BTC-USD?depth={depth}")
        assert status == 200
        book = system.book("BTC-USD")
        want = book.depth(depth)
        assert (body["symbol"], body["depth"], body["sequence"]) == ("BTC-USD", depth, book.sequence)
        for key in ("bids", "asks"):
            got = [(Decimal(lv["price"]), Decimal(lv["quantity"]), lv["order_count"]) for lv in body[key]]
            assert got == [(lv.price, lv.quantity, lv.order_count) for lv in getattr(want, key)]
            # Decimal strings with the tick's and the lot's places.
            assert all(re.fullmatch(r"\d+\.\d{2}", lv["price"]) for lv in body[key])
            assert all(re.fullmatch(r"\d+\.\d{3}", lv["quantity"]) for lv in body[key])
    status, body = get_json(admin.address, "/book/ETH-USD")
    assert (status, body["bids"], body["asks"], body["depth"]) == (200, [], [], 10)


def test_refusals_are_json_errors(system: Any) -> None:
    admin = system.start_admin()
    for path, code in [
        ("/book/DOGE", 404),
        ("/nope", 404),
        ("/book/BTC-USD?depth=0", 400),
        ("/book/BTC-USD?depth=1001", 400),
        ("/book/BTC-USD?depth=ten", 400),
    ]:
        status, headers, body = fetch(admin.address, path)
        assert status == code, path
        assert "error" in json.loads(body)
    status, headers, body = fetch(admin.address, "/health", method="DELETE")
    assert (status, headers["allow"]) == (405, "GET, HEAD")
    status, headers, body = fetch(admin.address, "/metrics", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    # A request with a body, and a head over the limit, on a raw socket.
    host, port = admin.address.rsplit(":", 1)
    for raw, code in [
        (b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", b"413"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4, b"4"),
    ]:
        with socket.create_connection((host, int(port)), timeout=3) as s:
            s.sendall(raw)
            answer = s.recv(4096)
            assert answer.startswith(b"HTTP/1.1 " + code), answer[:60]
    assert fetch(admin.address, "/health")[0] == 200


def test_metrics_move_with_the_flow_and_promtool_accepts_them(tmp_path: Path) -> None:
    with lt.TradingSystem(config(tmp_path)) as system:
        admin = system.start_admin()
        before_text = scrape(admin.address)
        promtool_check(before_text)
        before = samples(before_text)
        btc = '{symbol="BTC-USD"}'
        assert before[f"lft_symbol_commands_total{btc}"] == 0
        assert f"lft_symbol_best_bid{btc}" not in before
        system.submit("BTC-USD", "sell", "1", "100.25", time_in_force="GTC")
        system.submit("BTC-USD", "buy", "0.5", "100.00", time_in_force="GTC")
        system.submit("BTC-USD", "buy", "0.25", "100.30", time_in_force="GTC")  # trades 0.25 @ 100.25
        system.submit("BTC-USD", "buy", "0.25", "100.25", time_in_force="GTC", post_only=True)  # REJECTED
        worker = system.assignment["BTC-USD"]
        w = f'{{worker="{worker}"}}'
        # The per-symbol counters move before each reply; the worker's entry count and its
        # latency histogram just after (end of the entry, of the round): wait for those.
        deadline = time.monotonic() + 5
        while True:
            after_text = scrape(admin.address)
            after = samples(after_text)
            settled = (
                after[f"lft_worker_entries_processed_total{w}"] >= 4
                and after[f"lft_command_latency_seconds_count{w}"] >= 4
            )
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        promtool_check(after_text)
        assert after[f"lft_symbol_commands_total{btc}"] == 4
        assert after[f"lft_symbol_trades_total{btc}"] == 1
        assert after[f"lft_symbol_rejects_total{btc}"] == 1
        book = system.book("BTC-USD")
        assert after[f"lft_symbol_resting_orders{btc}"] == len(book) == 2
        assert after[f"lft_symbol_best_bid{btc}"] == float(book.best_bid) == 100.0
        assert after[f"lft_symbol_best_ask{btc}"] == float(book.best_ask) == 100.25
        assert after[f"lft_worker_entries_processed_total{w}"] >= 4
        published = f"lft_worker_events_published_total{w}"
        assert after[published] > before[published]
        # The latency histogram (statistics on): every command the worker ran, cumulative buckets.
        count = after[f"lft_command_latency_seconds_count{w}"]
        assert count >= 4
        assert after[f'lft_command_latency_seconds_bucket{{worker="{worker}",le="+Inf"}}'] == count
        assert after[f"lft_command_latency_seconds_sum{w}"] > 0
        assert "# TYPE lft_command_latency_seconds histogram" in after_text
        assert after["lft_statistics_rows_dropped_total"] == 0


def test_per_session_counters_appear_when_a_gateway_runs(system: Any) -> None:
    simplefix = pytest.importorskip("simplefix")
    gw = system.start_gateway()
    admin = system.start_admin()
    assert get_json(admin.address, "/health")[1]["gateway"] is True
    bob = '{sender_comp_id="BOB",target_comp_id="LFT"}'
    before = samples(scrape(admin.address))
    assert before[f"lft_fix_session_logged_on{bob}"] == 0
    host, port = gw.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=3) as s:
        m = simplefix.FixMessage()
        for tag, value in [(8, "FIX.4.4"), (35, "A"), (49, "BOB"), (56, "LFT"), (34, 1)]:
            m.append_pair(tag, value, header=True)
        m.append_utc_timestamp(52, precision=3, header=True)
        m.append_pair(98, 0)
        m.append_pair(108, 30)
        s.sendall(m.encode())
        parser = simplefix.FixParser()
        deadline = time.monotonic() + 3
        logon = None
        while logon is None and time.monotonic() < deadline:
            parser.append_buffer(s.recv(4096))
            logon = parser.get_message()
        assert logon is not None and logon.get(35) == b"A"
        text = scrape(admin.address)
        promtool_check(text)
        during = samples(text)
        assert during[f"lft_fix_session_logged_on{bob}"] == 1
        assert during[f"lft_fix_session_logons_total{bob}"] == 1
        assert during[f"lft_fix_session_messages_received_total{bob}"] >= 1
        assert during[f"lft_fix_session_messages_sent_total{bob}"] >= 1
        assert during["lft_fix_logons_total"] == 1
    gw.stop()
    # Stopped: the counters stay readable.
    assert samples(scrape(admin.address))[f"lft_fix_session_logons_total{bob}"] == 1


def test_the_daemon_serves_it_and_stops_at_sigterm(tmp_path: Path) -> None:
    import yaml

    cfg = config()
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    child = subprocess.Popen(
        [sys.executable, "-m", "lockfree_trading.cli", "--config", str(cfg_path), "--status-every", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        address = None
        deadline = time.monotonic() + 30
        while address is None and time.monotonic() < deadline:
            line = child.stdout.readline()
            m = re.search(r"HTTP admin on http://(\S+) ", line)
            if m:
                address = m.group(1)
        assert address is not None, "the daemon did not print the admin address"
        status, health = get_json(address, "/health")
        assert (status, health["status"]) == (200, "ok")
        promtool_check(scrape(address))
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out.strip().endswith("stopped")
