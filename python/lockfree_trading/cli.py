"""`trading-system` command line.

- ``trading-system --config config.yaml``: start the system with every configured symbol
  and run until Ctrl-C (or SIGTERM), printing a status line; with ``gateway.enabled`` the
  FIX 4.4 acceptor, with ``admin.enabled`` the HTTP admin API (health, books, metrics).
- ``trading-system simulate``: drive the system with the seeded workload generator across
  all configured symbols, with a progress bar, and print a summary table.
- ``trading-system demo``: a scripted session on one book.
- ``trading-system generate``: write a workload stream to a file.
- ``trading-system stats``: a table of stored statistics bars (and a chart with ``--plot``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, TextIO

import numpy as np

from . import __version__, _core, workload
from ._core import ExecutionReport, OrderBook, OrderType, Side, TimeInForce
from .config import Config
from .errors import TradingError
from .system import TradingSystem, recovery_summary

__all__ = ["main"]


def _depth_table(book: OrderBook, levels: int = 5) -> str:
    depth = book.depth(levels)
    lines = [
        f"{'bid orders':>10} {'bid qty':>12} {'bid':>12} | {'ask':<12} {'ask qty':<12} {'ask orders':<10}"
    ]
    for i in range(max(len(depth.bids), len(depth.asks))):
        b = depth.bids[i] if i < len(depth.bids) else None
        a = depth.asks[i] if i < len(depth.asks) else None
        lines.append(
            f"{(b.order_count if b else ''):>10} {(str(b.quantity) if b else ''):>12} "
            f"{(str(b.price) if b else ''):>12} | {(str(a.price) if a else ''):<12} "
            f"{(str(a.quantity) if a else ''):<12} {(a.order_count if a else ''):<10}"
        )
    return "\n".join(lines)


def _show(label: str, report: ExecutionReport) -> None:
    price = f" @ {report.price}" if report.price is not None else ""
    print(f"  {label:<38} -> {report.status.name:<16} filled {report.filled_quantity}{price}")
    for t in report.trades:
        print(f"      trade #{t.sequence}: {t.quantity} @ {t.price} (taker {t.taker_side.name})")
    if report.reject_reason:
        print(f"      reason: {report.reject_reason}")


def run_demo(config: Config) -> int:
    """Scripted session on the first configured symbol."""
    book = config.make_book()
    sym = config.symbols[0]
    tick, lot = sym.tick_size, sym.lot_size
    print(f"lockfree-trading {__version__}: demo on {book.symbol} (tick {tick}, lot {lot})\n")
    t = 1_700_000_000_000_000_000
    mid = 100 * (1 / tick).to_integral_value() * tick  # a round price on the grid
    steps: list[tuple[str, ExecutionReport]] = []
    for i in range(1, 4):
        steps.append(
            (
                f"ask {i * 10} lots @ mid+{i} ticks",
                book.submit(Side.SELL, lot * 10 * i, mid + tick * i, timestamp=t),
            )
        )
        steps.append(
            (
                f"bid {i * 10} lots @ mid-{i} ticks",
                book.submit(Side.BUY, lot * 10 * i, mid - tick * i, timestamp=t),
            )
        )
        t += 1_000
    ice = book.submit(Side.SELL, lot * 50, mid + tick, display_quantity=lot * 10, timestamp=t)
    steps.append(("iceberg ask 50 lots (show 10) @ mid+1", ice))
    t += 1_000
    steps.append(
        (
            "post-only bid @ mid+1 (would cross)",
            book.submit(Side.BUY, lot * 5, mid + tick, post_only=True, timestamp=t),
        )
    )
    t += 1_000
    steps.append(
        ("market buy 35 lots", book.submit(Side.BUY, lot * 35, order_type=OrderType.MARKET, timestamp=t))
    )
    t += 1_000
    steps.append(
        (
            "FOK sell 1000 lots @ mid-3 (too big)",
            book.submit(Side.SELL, lot * 1000, mid - tick * 3, time_in_force=TimeInForce.FOK, timestamp=t),
        )
    )
    t += 1_000
    steps.append(("modify iceberg to 20 lots", book.modify(ice.order_id, quantity=lot * 20, timestamp=t)))
    t += 1_000
    bid = steps[1][1]
    steps.append(("cancel best bid", book.cancel(bid.order_id, timestamp=t)))
    print("commands:")
    for label, report in steps:
        _show(label, report)
    print(f"\n{book!r}")
    print(f"best bid {book.best_bid}  best ask {book.best_ask}  resting orders {len(book)}\n")
    print(_depth_table(book))
    stats = book.level(Side.SELL, mid + tick)
    if stats is not None:
        print(
            f"\nlevel {stats.price} (ask): added {stats.orders_added}, filled {stats.orders_filled}, "
            f"executed {stats.quantity_executed} in {stats.trade_count} trades"
        )
    print(f"\nstate hash {book.state_hash():#018x} after {book.sequence} events")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """`trading-system generate`: write a stream and summarise its shape."""
    if args.count < 0 or args.symbols < 1:
        print("trading-system: --count must be >= 0 and --symbols >= 1", file=sys.stderr)
        return 2
    stream = workload.generate(args.scenario, args.count, args.seed, args.symbols)
    workload.save(args.out, stream)
    kinds = np.bincount(stream["kind"], minlength=3)
    print(
        f"wrote {len(stream)} commands ({args.scenario}, seed {args.seed}) to {args.out}: "
        f"{kinds[0]} new, {kinds[1]} cancel, {kinds[2]} modify"
    )
    return 0


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _progress(done: int, total: int, started: float, out: TextIO, width: int = 30) -> None:
    elapsed = max(time.perf_counter() - started, 1e-9)
    frac = done / total if total else 1.0
    bar = "#" * int(frac * width)
    line = (
        f"  [{bar:<{width}}] {frac:6.1%}  {done:>12,} / {total:,} commands  {done / elapsed / 1e6:7.2f} M/s"
    )
    # Redraw in place on a terminal; one line per step in a log.
    out.write(("\r" + line) if out.isatty() else (line + "\n"))
    out.flush()


def _percentiles(samples: list[int]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    return {
        "p50": pick(0.5),
        "p90": pick(0.9),
        "p99": pick(0.99),
        "p99.9": pick(0.999),
        "max": ordered[-1] / 1000,
    }


def run_simulate(config: Config, args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """`trading-system simulate`: seeded flow over every configured symbol."""
    out = out or sys.stdout
    names = [s.name for s in config.symbols]
    stream = workload.generate(args.scenario, args.count, args.seed, len(names), uniform=args.uniform)
    print(
        f"lockfree-trading {__version__}: simulate {args.count:,} commands "
        f"({args.scenario}, seed {args.seed}) "
        f"over {len(names)} symbols",
        file=out,
    )
    totals: dict[str, dict[str, int]] = {
        n: {"commands": 0, "rejected": 0, "trades": 0, "events": 0} for n in names
    }
    if config.statistics.enabled and config.statistics.close_quiet_periods:
        # The workload carries its own (simulated) timestamps: wall-clock ticks would mix the
        # two clocks. The periods are closed once, after the stream (below).
        stats = config.statistics.model_copy(update={"close_quiet_periods": False})
        config = config.model_copy(update={"statistics": stats})
    with TradingSystem(config) as system:
        print(
            f"  {_plural(system.worker_count, 'worker thread')}; assignment "
            + ", ".join(f"{k}->{v}" for k, v in system.assignment.items()),
            file=out,
        )
        started = time.perf_counter()
        step = max(1, min(args.count, 100_000))
        for lo in range(0, len(stream), step):
            part = system.replay(stream[lo : lo + step])
            for name, t in part.items():
                for key in totals[name]:
                    totals[name][key] += int(t[key])
            _progress(min(lo + step, len(stream)), len(stream), started, out)
        elapsed = time.perf_counter() - started
        if out.isatty():
            out.write("\n")
        if config.statistics.enabled:
            # Every period the stream's timestamps reached (the workers' clocks are past them).
            system.close_periods()
        # Round-trip latency from Python: one IOC far from the market per probe, no fill.
        probes: list[int] = []
        for i in range(args.probes):
            name = names[i % len(names)]
            sym = config.symbol(name)
            lowest = sym.price_band.min if sym.price_band else sym.tick_size
            t0 = time.perf_counter_ns()
            system.submit(name, 0, sym.lot_size, lowest, time_in_force="IOC")
            probes.append(time.perf_counter_ns() - t0)
        halted = system.halted()
    if config.statistics.enabled:
        print(f"statistics stored in {Path(config.statistics.directory) / 'statistics.sqlite3'}", file=out)
    rows = sorted(totals.items(), key=lambda kv: -kv[1]["commands"])
    print(
        f"\n{'symbol':<14} {'commands':>12} {'trades':>10} {'rejected':>10} {'share':>7} {'M cmd/s':>9}",
        file=out,
    )
    all_cmds = sum(t["commands"] for t in totals.values())
    for name, t in rows:
        share = t["commands"] / all_cmds if all_cmds else 0.0
        rate = t["commands"] / elapsed / 1e6 if elapsed else 0.0
        print(
            f"{name:<14} {t['commands']:>12,} {t['trades']:>10,} {t['rejected']:>10,} "
            f"{share:>7.1%} {rate:>9.2f}",
            file=out,
        )
    trades = sum(t["trades"] for t in totals.values())
    print(
        f"{'total':<14} {all_cmds:>12,} {trades:>10,} {sum(t['rejected'] for t in totals.values()):>10,} "
        f"{'100.0%':>7} {all_cmds / elapsed / 1e6:>9.2f}",
        file=out,
    )
    print(f"\n{all_cmds:,} commands in {elapsed:.2f} s: {all_cmds / elapsed:,.0f} commands/s", file=out)
    pct = _percentiles(probes)
    if pct:
        print(
            f"round trip from Python ({len(probes)} single submits): "
            + "  ".join(f"{k} {v:.1f} us" for k, v in pct.items()),
            file=out,
        )
    if halted:
        print(f"halted symbols: {halted}", file=out)
        return 1
    return 0


def run_serve(config: Config, status_every: float, out: Optional[TextIO] = None) -> int:
    """`trading-system --config config.yaml`: run until interrupted."""
    out = out or sys.stdout
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    with TradingSystem(config) as system:
        print(
            f"lockfree-trading {__version__}: {len(system.symbols)} symbols on "
            f"{_plural(system.worker_count, 'worker')} "
            f"({', '.join(system.symbols)}); Ctrl-C to stop",
            file=out,
            flush=True,
        )
        gateway = system.start_gateway() if config.gateway.enabled else None
        if gateway is not None:
            print(f"  FIX 4.4 gateway listening on {gateway.address}", file=out, flush=True)
        admin = system.start_admin() if config.admin.enabled else None
        if admin is not None:
            print(
                f"  HTTP admin on http://{admin.address} (/health, /symbols, /book/SYMBOL, /metrics)",
                file=out,
                flush=True,
            )
        last: Optional[int] = None
        while not stop.wait(status_every):
            processed = sum(int(w["processed"]) for w in system.worker_stats())
            rate = (processed - last) / status_every if last is not None else 0.0
            last = processed
            print(
                f"  processed {processed:,} commands ({rate:,.0f}/s); halted {system.halted() or 'none'}",
                file=out,
                flush=True,
            )
        if gateway is not None:
            # Stop accepting and log every session out before the queues drain.
            gateway.stop()
        if admin is not None:
            admin.stop()
        print("shutting down: draining queues", file=out, flush=True)
    print("stopped", file=out, flush=True)
    return 0


def run_journal(args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """`trading-system journal inspect|dump DIR`."""
    out = out or sys.stdout
    if args.journal_command == "inspect":
        segments = _core.journal_inspect(args.directory)
        if not segments:
            print(f"{args.directory}: no journal segments", file=out)
            return 0
        bad = 0
        head = (
            f"{'segment':<28} {'run':>4} {'wkr':>3} {'records':>10} {'first':>10} {'last':>10} {'bytes':>12}"
        )
        print(f"{head}  symbols", file=out)
        for s in segments:
            name = Path(s["file"]).name
            first = s.get("first_sequence")
            last = s.get("last_sequence")
            first_text = "-" if first is None else str(first)
            last_text = "-" if last is None else str(last)
            print(
                f"{name:<28} {s['run']:>4} {s['worker']:>3} {s['records']:>10,} {first_text:>10} "
                f"{last_text:>10} {s.get('bytes', 0):>12,}  {', '.join(s.get('symbols', []))}",
                file=out,
            )
            for e in s["errors"]:
                bad += 1
                print(f"    error: {e}", file=out)
        total = sum(int(s["records"]) for s in segments)
        print(
            f"{_plural(len(segments), 'segment')}, {total:,} records, {_plural(bad, 'error')} found", file=out
        )
        return 1 if bad else 0
    records = _core.journal_dump(args.directory, args.symbol, args.limit)
    for r in records:
        print(
            f"{r['symbol']:<10} cmd {r['command_sequence']:>10}  t={r['timestamp']:<20} {r['command']}",
            file=out,
        )
    print(f"{_plural(len(records), 'record')}", file=out)
    return 0


def run_recover(config: Config, verify: bool, out: Optional[TextIO] = None) -> int:
    """`trading-system recover --config config.yaml --verify`: rebuild, check, change nothing."""
    out = out or sys.stdout
    if not verify:
        print(
            "trading-system recover: only --verify is supported (the daemon recovers at start)",
            file=sys.stderr,
        )
        return 2
    if not (config.journal.enabled or config.snapshots.enabled):
        print(
            "trading-system recover: neither journal nor snapshots is enabled in the config", file=sys.stderr
        )
        return 2
    r = _core.verify_recovery(config.to_engine_dict())
    print(
        f"{'symbol':<12} {'snapshot seq':>12} {'replayed':>10} {'command seq':>12} {'orders':>9}  state hash",
        file=out,
    )
    for s in r["symbols"]:
        print(
            f"{s['symbol']:<12} {s['snapshot_sequence']:>12,} {s['commands_replayed']:>10,} "
            f"{s['command_sequence']:>12,} {s['resting_orders']:>9,}  {s['state_hash']:016x}",
            file=out,
        )
    print(f"verified: {recovery_summary(r)}; nothing was changed", file=out)
    return 0


_BAR_COLUMNS = [
    ("open", "{:.6g}"),
    ("high", "{:.6g}"),
    ("low", "{:.6g}"),
    ("close", "{:.6g}"),
    ("volume", "{:,.6g}"),
    ("vwap", "{:.6g}"),
    ("trades", "{:,}"),
    ("messages", "{:,}"),
    ("rejected", "{:,}"),
    ("twa_spread", "{:.4g}"),
    ("resting_orders", "{:,}"),
]


def run_stats(config: Config, args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """`trading-system stats`: the last bars of one symbol and period from the store."""
    from .statistics import Statistics

    out = out or sys.stdout
    stats = Statistics(config.statistics.directory)
    symbol = args.symbol or config.symbols[0].name
    period = args.period or (stats.periods[0] if stats.periods else config.statistics.periods[0])
    try:
        bars = stats.bars(symbol, period)
    except ImportError as e:
        print(f"trading-system: {e}", file=sys.stderr)
        return 1
    if args.last is not None:
        bars = bars.tail(args.last)
    title = f"{symbol} {period} bars ({len(bars)} shown) from {stats.directory}"
    header = ["start", *(c for c, _ in _BAR_COLUMNS)]
    body = []
    for ts, row in bars.iterrows():
        cells = [ts.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")]
        for c, fmt in _BAR_COLUMNS:
            v = row[c]
            cells.append("" if v != v else fmt.format(int(v) if fmt.endswith(",}") else v))
        body.append(cells)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
        print(title, file=out)
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)), file=out)
        for r in body:
            print("  ".join(c.rjust(w) for c, w in zip(r, widths)), file=out)
    else:
        table = Table(title=title)
        for h in header:
            table.add_column(h, justify="right")
        for r in body:
            table.add_row(*r)
        Console(file=out, width=max(160, len(header) * 12)).print(table)
    if not body:
        print(f"no {period} bars for {symbol} yet", file=out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = stats.plot_bars(symbol, period, start=bars.index[0] if len(bars) else None)
        ax.figure.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"chart written to {args.plot}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trading-system", description="lockfree-trading matching engine")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", default="config.yaml", help="path to config.yaml (default: %(default)s)")
    parser.add_argument("--status-every", type=float, default=5.0, help="seconds between status lines")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="scripted session on the first configured symbol")
    demo.add_argument("--config", default=argparse.SUPPRESS, help="path to config.yaml")
    sim = sub.add_parser("simulate", help="drive the system with the seeded workload over all symbols")
    sim.add_argument("--config", default=argparse.SUPPRESS, help="path to config.yaml")
    sim.add_argument("--scenario", choices=workload.SCENARIOS, default="normal")
    sim.add_argument("--count", type=int, default=2_000_000, help="commands in all (default: %(default)s)")
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument("--uniform", action="store_true", help="equal activity per symbol (default: Pareto)")
    sim.add_argument("--probes", type=int, default=2_000, help="single-submit latency probes at the end")
    gen = sub.add_parser("generate", help="write a seeded benchmark order flow to a binary stream file")
    gen.add_argument("--scenario", choices=workload.SCENARIOS, default="normal")
    gen.add_argument("--count", type=int, default=1_000_000, help="number of commands (default: %(default)s)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--symbols", type=int, default=1, help="symbols; activity follows a Pareto law")
    gen.add_argument("--out", required=True, help="output file")
    jr = sub.add_parser("journal", help="look into a journal directory (reads only)")
    jsub = jr.add_subparsers(dest="journal_command", required=True)
    ins = jsub.add_parser("inspect", help="segments, records, first/last sequence, errors found")
    ins.add_argument("directory")
    dump = jsub.add_parser("dump", help="readable commands, in replay order")
    dump.add_argument("directory")
    dump.add_argument("--symbol", default=None, help="only this symbol (default: all)")
    dump.add_argument("--limit", type=int, default=None, help="at most this many records")
    rec = sub.add_parser("recover", help="rebuild every book from snapshots and journal")
    rec.add_argument("--config", default=argparse.SUPPRESS, help="path to config.yaml")
    rec.add_argument(
        "--verify", action="store_true", help="check snapshots, hashes and journal; change nothing"
    )
    st = sub.add_parser("stats", help="stored statistics bars of one symbol and period, as a table")
    st.add_argument("--config", default=argparse.SUPPRESS, help="path to config.yaml")
    st.add_argument("--symbol", default=None, help="symbol (default: the first configured)")
    st.add_argument("--period", default=None, help="period, e.g. 1s or 1m (default: the shortest)")
    st.add_argument("--last", type=int, default=20, help="show the last N bars (default: %(default)s)")
    st.add_argument("--plot", default=None, metavar="PNG", help="also write a bar chart with volume")
    args = parser.parse_args(argv)
    if args.command == "generate":
        return run_generate(args)
    if args.command == "journal":
        try:
            return run_journal(args)
        except TradingError as e:
            print(f"trading-system: {e}", file=sys.stderr)
            return 1
    try:
        config = Config.from_yaml(args.config)
        if args.command == "demo":
            return run_demo(config)
        if args.command == "recover":
            return run_recover(config, args.verify)
        if args.command == "stats":
            return run_stats(config, args)
        if args.command == "simulate":
            if args.count < 1 or args.probes < 0:
                print("trading-system: --count must be >= 1 and --probes >= 0", file=sys.stderr)
                return 2
            return run_simulate(config, args)
        if not args.status_every > 0:
            print("trading-system: --status-every must be > 0", file=sys.stderr)
            return 2
        return run_serve(config, args.status_every)
    except TradingError as e:
        print(f"trading-system: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
