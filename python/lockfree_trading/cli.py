"""`trading-system` command line.

- ``trading-system --config config.yaml``: start the system with every configured symbol
  and run until Ctrl-C (or SIGTERM), printing a status line; with ``gateway.enabled`` the
  FIX 4.4 acceptor, with ``admin.enabled`` the HTTP admin API (health, books, metrics).
- ``trading-system init [PATH]``: write the commented default configuration.
- ``trading-system simulate``: drive the system with the seeded workload generator across
  all configured symbols, with a progress bar, and print a summary table.
- ``trading-system replay FILE``: run a ``.lftw`` stream (from ``generate``) and summarise.
- ``trading-system demo``: a scripted session on one book.
- ``trading-system generate``: write a workload stream to a file.
- ``trading-system stats``: a table of stored statistics bars (and a chart with ``--plot``).

Without ``--config`` a command reads ``./config.yaml`` if there is one, else the packaged
default configuration, and says which in one line on stderr.
"""

from __future__ import annotations

import argparse
import os
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

__all__ = ["DEFAULT_CONFIG", "main"]

#: The packaged default configuration (the repository's ``config.yaml``, comments included).
DEFAULT_CONFIG: Path = Path(__file__).with_name("default_config.yaml")
_LOCAL_CONFIG = "config.yaml"


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


_TOTAL_KEYS = ("commands", "rejected", "not_found", "trades", "events")


def _add_totals(totals: dict[str, dict[str, int]], part: dict[str, dict[str, Any]]) -> None:
    for name, t in part.items():
        if name not in totals:  # a configured symbol the stream does not use
            continue
        for key in _TOTAL_KEYS:
            totals[name][key] += int(t[key])


def _print_summary(totals: dict[str, dict[str, int]], elapsed: float, out: TextIO) -> None:
    """Per-symbol table; `missed` and `refused` split what the book rejected."""
    rows = sorted(totals.items(), key=lambda kv: -kv[1]["commands"])
    print(
        f"\n{'symbol':<14} {'commands':>12} {'trades':>10} {'missed':>9} {'refused':>9} "
        f"{'share':>7} {'M cmd/s':>9}",
        file=out,
    )
    all_cmds = sum(t["commands"] for t in totals.values())

    def line(name: str, t: dict[str, int]) -> str:
        share = t["commands"] / all_cmds if all_cmds else 0.0
        rate = t["commands"] / elapsed / 1e6 if elapsed else 0.0
        refused = t["rejected"] - t["not_found"]
        return (
            f"{name:<14} {t['commands']:>12,} {t['trades']:>10,} {t['not_found']:>9,} {refused:>9,} "
            f"{share:>7.1%} {rate:>9.2f}"
        )

    for name, t in rows:
        print(line(name, t), file=out)
    total = {k: sum(t[k] for t in totals.values()) for k in _TOTAL_KEYS}
    print(line("total", total), file=out)
    print(
        "missed: cancels and modifies of orders already traded or gone (the workload sends them\n"
        "        on purpose, as real flow races fills); refused: everything else the book rejected",
        file=out,
    )
    if elapsed > 0:
        print(f"\n{all_cmds:,} commands in {elapsed:.2f} s: {all_cmds / elapsed:,.0f} commands/s", file=out)


def _run_stream(system: TradingSystem, stream: Any, out: TextIO, totals: dict[str, dict[str, int]]) -> float:
    """Replay `stream` through `system` in steps with a progress bar; returns seconds."""
    started = time.perf_counter()
    step = max(1, min(len(stream), 100_000))
    for lo in range(0, len(stream), step):
        _add_totals(totals, system.replay(stream[lo : lo + step]))
        _progress(min(lo + step, len(stream)), len(stream), started, out)
    elapsed = time.perf_counter() - started
    if out.isatty():
        out.write("\n")
    return elapsed


def _without_wall_clock_ticks(config: Config) -> Config:
    # A workload carries its own (simulated) timestamps: wall-clock ticks would mix the two
    # clocks. The periods are closed once, after the stream.
    if config.statistics.enabled and config.statistics.close_quiet_periods:
        stats = config.statistics.model_copy(update={"close_quiet_periods": False})
        return config.model_copy(update={"statistics": stats})
    return config


def run_simulate(config: Config, args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """`trading-system simulate`: seeded flow over every configured symbol."""
    out = out or sys.stdout
    names = [s.name for s in config.symbols]
    stream = workload.generate(args.scenario, args.count, args.seed, len(names), uniform=args.uniform)
    print(
        f"lockfree-trading {__version__}: simulate {args.count:,} commands "
        f"({args.scenario}, seed {args.seed}) "
        f"over {_plural(len(names), 'symbol')}",
        file=out,
    )
    totals = {n: dict.fromkeys(_TOTAL_KEYS, 0) for n in names}
    config = _without_wall_clock_ticks(config)
    with TradingSystem(config) as system:
        print(
            f"  {_plural(system.worker_count, 'worker thread')}; assignment "
            + ", ".join(f"{k}->{v}" for k, v in system.assignment.items()),
            file=out,
        )
        elapsed = _run_stream(system, stream, out, totals)
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
    _print_summary(totals, elapsed, out)
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


def run_replay(config: Config, args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """`trading-system replay FILE`: a `.lftw` stream through the configured symbols (the
    stream's symbol k is the k-th configured symbol; prices are ticks, quantities lots)."""
    out = out or sys.stdout
    stream = workload.load(args.file)
    if args.limit is not None:
        stream = stream[: args.limit]
    names = [s.name for s in config.symbols]
    if not len(stream):
        print(f"{args.file}: no commands to replay", file=out)
        return 0
    used = int(stream["symbol"].max()) + 1
    if used > len(names):
        print(
            f"trading-system: {args.file} uses {used} symbols but the config has {len(names)} "
            f"({', '.join(names)}); generate it with --symbols {len(names)} or configure more",
            file=sys.stderr,
        )
        return 2
    print(
        f"lockfree-trading {__version__}: replay {len(stream):,} commands from {args.file} over "
        f"{_plural(used, 'symbol')} ({', '.join(names[:used])})",
        file=out,
    )
    totals = {n: dict.fromkeys(_TOTAL_KEYS, 0) for n in names[:used]}
    with TradingSystem(_without_wall_clock_ticks(config)) as system:
        elapsed = _run_stream(system, stream, out, totals)
        if config.statistics.enabled:
            system.close_periods()
        hashes = {n: system.state_hash(n) for n in names[:used]}
        resting = {n: len(system.book(n)) for n in names[:used]}
        halted = system.halted()
    _print_summary(totals, elapsed, out)
    print(f"\n{'symbol':<14} {'resting':>9}  state hash", file=out)
    for n in names[:used]:
        print(f"{n:<14} {resting[n]:>9,}  {hashes[n]:016x}", file=out)
    if halted:
        print(f"halted symbols: {halted}", file=out)
        return 1
    return 0


def run_init(args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """`trading-system init [PATH]`: write the commented default configuration."""
    out = out or sys.stdout
    target = Path(args.path)
    # A directory, existing or not yet (`init etc/lft/`): write config.yaml into it.
    if target.is_dir() or args.path.endswith(("/", os.sep)):
        target = target / _LOCAL_CONFIG
    if target.exists() and not args.force:
        print(f"trading-system init: {target} exists; --force overwrites it", file=sys.stderr)
        return 1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as e:
        print(f"trading-system init: cannot write {target}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {target}: every key with its default and a comment; edit it, then", file=out)
    here = target.name == _LOCAL_CONFIG and target.parent == Path()
    run = "trading-system" if here else f"trading-system --config {target}"
    print(f"  {run} simulate    # or `{run}` to start the daemon", file=out)
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


class _Help(argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (unless the help already says it, or there is
    none to show); descriptions and examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # Identity, not equality: a default of 0 is shown (0 == False would hide it).
        if "(default" in text or any(action.default is x for x in (None, False, argparse.SUPPRESS)):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text + " (default: %(default)s)"
        return text


_CONFIG_HELP = "path to config.yaml (default: ./config.yaml if present, else the packaged default)"


def _command(
    sub: Any, name: str, summary: str, example: str, description: str = ""
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=(description or summary[:1].upper() + summary[1:] + "."),
        epilog=f"example:\n  {example}",
        formatter_class=_Help,
    )
    return parser


def _with_config(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a `--config` before the command is not overwritten by this one's default.
    parser.add_argument("--config", default=argparse.SUPPRESS, help=_CONFIG_HELP)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trading-system",
        formatter_class=_Help,
        description=(
            "lockfree-trading matching engine.\n\n"
            "With no command, starts the daemon: every configured symbol on its worker, the FIX\n"
            "gateway and the HTTP admin API if the config enables them, a status line every\n"
            "--status-every seconds, until Ctrl-C or SIGTERM (which logs FIX sessions out, drains\n"
            "every queue and, with snapshots on, writes the final snapshot)."
        ),
        epilog=(
            "examples:\n"
            "  trading-system init                      # write a commented config.yaml here\n"
            "  trading-system                           # the daemon, with ./config.yaml\n"
            "  trading-system simulate --count 100000   # seeded flow over every symbol\n"
            "  trading-system COMMAND --help            # each command's options and an example"
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", default=None, help=_CONFIG_HELP)
    parser.add_argument(
        "--status-every", type=float, default=5.0, help="seconds between the daemon's status lines"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    init = _command(
        sub,
        "init",
        "write the commented default configuration",
        "trading-system init && trading-system simulate",
        "Write the packaged default configuration, every key with its default and a comment.\n"
        "PATH may be a file or a directory (config.yaml is written into it).",
    )
    init.add_argument("path", nargs="?", default=_LOCAL_CONFIG, metavar="PATH", help="where to write it")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    sim = _command(
        sub,
        "simulate",
        "drive the system with the seeded workload over all symbols",
        "trading-system simulate --count 5000000 --scenario swing --uniform",
        "Generate the seeded workload over every configured symbol, run it through the system\n"
        "with a progress bar, and print per-symbol commands, trades, misses, refusals and\n"
        "throughput, then the round-trip latency of single submits from Python.",
    )
    _with_config(sim)
    sim.add_argument("--scenario", choices=workload.SCENARIOS, default="normal", help="shape of the flow")
    sim.add_argument("--count", type=int, default=2_000_000, help="commands in all")
    sim.add_argument("--seed", type=int, default=42, help="the same seed gives the same stream everywhere")
    sim.add_argument("--uniform", action="store_true", help="equal activity per symbol (else Pareto)")
    sim.add_argument("--probes", type=int, default=2_000, help="single-submit latency probes at the end")
    rep = _command(
        sub,
        "replay",
        "run a .lftw stream (from `generate`) through the system and summarise it",
        "trading-system generate --symbols 4 --out flow.lftw && trading-system replay flow.lftw",
        "Run a workload stream written by `trading-system generate` (or workload.save) through\n"
        "the system: the stream's symbol k is the k-th configured symbol, prices are in ticks and\n"
        "quantities in lots of that symbol. Prints the summary table, resting orders and state\n"
        "hashes.",
    )
    _with_config(rep)
    rep.add_argument("file", metavar="FILE", help="a .lftw stream")
    rep.add_argument("--limit", type=int, default=None, help="only the first N commands (default: all)")
    demo = _command(sub, "demo", "scripted session on the first configured symbol", "trading-system demo")
    _with_config(demo)
    gen = _command(
        sub,
        "generate",
        "write a seeded benchmark order flow to a binary stream file",
        "trading-system generate --scenario swing --count 1000000 --seed 7 --out flow.lftw",
        "Write a seeded workload stream (16-byte header, 40-byte records) to a file;\n"
        "`trading-system replay FILE` runs it, workload.load() reads it into numpy.",
    )
    gen.add_argument("--scenario", choices=workload.SCENARIOS, default="normal", help="shape of the flow")
    gen.add_argument("--count", type=int, default=1_000_000, help="number of commands")
    gen.add_argument("--seed", type=int, default=42, help="the same seed gives the same stream everywhere")
    gen.add_argument("--symbols", type=int, default=1, help="symbols; activity follows a Pareto law")
    gen.add_argument("--out", required=True, help="output file (required)")
    jr = _command(
        sub,
        "journal",
        "look into a journal directory (reads only)",
        "trading-system journal inspect journal/",
    )
    jsub = jr.add_subparsers(dest="journal_command", required=True, metavar="inspect|dump")
    ins = _command(
        jsub,
        "inspect",
        "segments, records, first/last sequence, errors found",
        "trading-system journal inspect journal/",
    )
    ins.add_argument("directory", help="the journal directory (journal.directory)")
    dump = _command(
        jsub,
        "dump",
        "readable commands, in replay order",
        "trading-system journal dump journal/ --symbol BTC-USD --limit 20",
    )
    dump.add_argument("directory", help="the journal directory (journal.directory)")
    dump.add_argument("--symbol", default=None, help="only this symbol (default: all)")
    dump.add_argument("--limit", type=int, default=None, help="at most this many records (default: all)")
    rec = _command(
        sub,
        "recover",
        "rebuild every book from snapshots and journal, and check them",
        "trading-system recover --config config.yaml --verify",
        "Rebuild every book from the newest valid snapshot and the journal after it, check\n"
        "the state hashes, and print a summary. Changes nothing (the daemon recovers at start).",
    )
    _with_config(rec)
    rec.add_argument(
        "--verify", action="store_true", help="check snapshots, hashes and journal; change nothing"
    )
    st = _command(
        sub,
        "stats",
        "stored statistics bars of one symbol and period, as a table",
        "trading-system stats --symbol BTC-USD --period 1m --last 20 --plot bars.png",
    )
    _with_config(st)
    st.add_argument("--symbol", default=None, help="symbol (default: the first configured)")
    st.add_argument("--period", default=None, help="period, e.g. 1s or 1m (default: the shortest)")
    st.add_argument("--last", type=int, default=20, help="show the last N bars")
    st.add_argument("--plot", default=None, metavar="PNG", help="also write a bar chart with volume")
    return parser


def _load_config(explicit: Optional[str]) -> Config:
    """`--config` as given; else ./config.yaml if present, else the packaged default (said
    in one line on stderr, so a run never silently uses a file the user did not expect)."""
    if explicit is not None:
        return Config.from_yaml(explicit)
    if Path(_LOCAL_CONFIG).is_file():
        print(f"trading-system: using ./{_LOCAL_CONFIG} (--config to choose another)", file=sys.stderr)
        return Config.from_yaml(_LOCAL_CONFIG)
    print(
        "trading-system: no ./config.yaml: using the packaged default configuration "
        "(4 symbols, journal off); `trading-system init` writes it here to edit",
        file=sys.stderr,
    )
    return Config.from_yaml(DEFAULT_CONFIG)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "init":
            return run_init(args)
        if args.command == "generate":
            return run_generate(args)
        if args.command == "journal":
            return run_journal(args)
        config = _load_config(args.config)
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
        if args.command == "replay":
            if args.limit is not None and args.limit < 0:
                print("trading-system: --limit must be >= 0", file=sys.stderr)
                return 2
            return run_replay(config, args)
        if not args.status_every > 0:
            print("trading-system: --status-every must be > 0", file=sys.stderr)
            return 2
        return run_serve(config, args.status_every)
    except TradingError as e:
        print(f"trading-system: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
