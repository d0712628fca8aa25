"""`trading-system` command line.

Until the multi-symbol system and the daemon land, the one command is ``demo``: a short
scripted session on the first configured symbol that prints the book, the trades and a
depth table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from . import __version__, workload
from ._core import ExecutionReport, OrderBook, OrderType, Side, TimeInForce
from .config import Config
from .errors import TradingError

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trading-system", description="lockfree-trading matching engine")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", default="config.yaml", help="path to config.yaml (default: %(default)s)")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="scripted session on the first configured symbol")
    demo.add_argument("--config", default=argparse.SUPPRESS, help="path to config.yaml")
    gen = sub.add_parser("generate", help="write a seeded benchmark order flow to a binary stream file")
    gen.add_argument("--scenario", choices=workload.SCENARIOS, default="normal")
    gen.add_argument("--count", type=int, default=1_000_000, help="number of commands (default: %(default)s)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--symbols", type=int, default=1, help="symbols; activity follows a Pareto law")
    gen.add_argument("--out", required=True, help="output file")
    args = parser.parse_args(argv)
    if args.command == "generate":
        return run_generate(args)
    if args.command != "demo":
        parser.print_help()
        print("\nerror: choose a command: demo or generate", file=sys.stderr)
        return 2
    try:
        config = Config.from_yaml(args.config)
        return run_demo(config)
    except TradingError as e:
        print(f"trading-system: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
