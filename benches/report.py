"""Merge the benchmark outputs into benches/results/latest.{json,md} and PNG plots.

Inputs (written by `make bench`):
- benches/results/rust.json: `lft-bench all` (engine throughput, open-loop latency,
  side-by-side with orderbook-rs and the BTreeMap baseline, memory);
- benches/results/python.json: `benches/python_compare.py` (Python API vs a pure-Python
  book and nanobook);
- target/criterion/<group>/<op>/<resting>/new/estimates.json: per-operation cost vs size.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _criterion(root: Path) -> dict[str, dict[str, dict[str, float]]]:
    """{group: {op: {resting: median ns}}} from criterion's estimate files."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for est in sorted(root.glob("*/*/*/new/estimates.json")):
        resting, op, group = est.parts[-3], est.parts[-4], est.parts[-5]
        median = json.loads(est.read_text())["median"]["point_estimate"]
        out.setdefault(group, {}).setdefault(op, {})[resting] = round(median, 2)
    return out


def _commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark results ({report['date']}, commit `{report['commit']}`)",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores. "
        "Single runs on a shared machine: compare ratios within a table, not across runs.",
        "",
    ]
    rust = report.get("rust", {})
    thr = rust.get("throughput", {})
    scenarios = thr.get("scenarios") or {}
    if scenarios:
        lines += [
            "## Engine throughput (one message at a time, every event handed to a consumer thread)",
            "",
            "| scenario | messages/s | events/s | messages/s without consumer |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, s in scenarios.items():
            lines.append(
                f"| {name} | {_fmt_rate(_get(s, 'with_consumer', 'messages_per_s'))} | "
                f"{_fmt_rate(_get(s, 'with_consumer', 'events_per_s'))} | "
                f"{_fmt_rate(_get(s, 'without_consumer', 'messages_per_s'))} |"
            )
        lines.append("")
    lat = _get(rust, "latency", "rates") or []
    if lat:
        lines += [
            "## Open-loop latency (scheduled time to last event, HdrHistogram)",
            "",
            "| run | offered rate | p50 | p99 | p99.9 | p99.99 | max | stalls > 10 µs (time lost) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        floor = _get(rust, "latency", "noise_floor_1m")
        rows = [("engine", r) for r in lat] + ([("do-nothing handler", floor)] if floor else [])
        for label, r in rows:
            p = r.get("percentiles_ns", {})
            stalls = r.get("stalls")
            stall_text = f"{stalls} ({r.get('stalled_ns', 0) / 1e6:.1f} ms)" if stalls is not None else "-"
            lines.append(
                f"| {label} | {_fmt_rate(r.get('rate'))}/s | "
                + " | ".join(f"{p.get(k, 0) / 1000:.2f} µs" for k in ("p50", "p99", "p99.9", "p99.99", "max"))
                + f" | {stall_text} |"
            )
        lines += [
            "",
            "A stall is a jump of more than 10 µs between two clock reads of the engine thread's "
            "loop: the thread was not running. The do-nothing handler (one event per command, no "
            "book) shows what the machine alone does to the tail.",
            "",
        ]
    trace = _get(rust, "latency", "service_trace")
    if trace:
        lines += [
            "## Per-command service time (`lft-bench latency`, closed loop)",
            "",
            "| handler | p50 | p99 | p99.9 | p99.99 | max | commands over 2 µs |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for label, key in (
            ("engine, pass 1", "engine_first"),
            ("engine, pass 2", "engine_second"),
            ("do-nothing", "noise_floor"),
        ):
            ps = trace.get(key) or {}
            p = ps.get("percentiles_ns", {})
            lines.append(
                f"| {label} | "
                + " | ".join(f"{p.get(k, 0) / 1000:.2f} µs" for k in ("p50", "p99", "p99.9", "p99.99", "max"))
                + f" | {ps.get('slow_commands', 0):,} |"
            )
        both = trace.get("slow_in_both") or []
        lines += [
            "",
            f"Slow (over 2 µs) in both engine passes, so slow because of the work they do: {len(both)} "
            f"commands ({100 * trace.get('repeat_share', 0):.0f}% of pass 1's slow commands); the rest "
            "met the machine.",
            "",
        ]
    for cmp in _get(rust, "compare", "runs") or []:
        lines += [
            f"## Side by side, `{cmp.get('scenario')}` flow, one thread",
            "",
            "| book | messages/s | ours ÷ it |",
            "| --- | ---: | ---: |",
        ]
        ours = _get(cmp, "books", "lft-engine", "messages_per_s")
        for name, b in (cmp.get("books") or {}).items():
            rate = b.get("messages_per_s")
            ratio = f"{ours / rate:.1f}x" if ours and rate else "-"
            lines.append(f"| {name} | {_fmt_rate(rate)} | {ratio} |")
        lines.append("")
    lines += public_table(_get(rust, "public") or {})
    lines += memory_table(_get(rust, "memory") or {})
    py = report.get("python", {})
    flows = py.get("full_flow") or {}
    if flows:
        lines += [
            "## From Python (same flows, seed 42)",
            "",
            "| scenario | one call each | one call each, `missing_ok` | `replay` (batched) "
            "| pure-Python book | per-call ÷ pure | `missing_ok` ÷ pure | batched ÷ pure |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, f in flows.items():
            lines.append(
                f"| {name} | {_fmt_rate(_get(f, 'engine_per_call', 'per_s'))}/s | "
                f"{_fmt_rate(_get(f, 'engine_per_call_missing_ok', 'per_s'))}/s | "
                f"{_fmt_rate(_get(f, 'engine_replay', 'per_s'))}/s | "
                f"{_fmt_rate(_get(f, 'python_book', 'per_s'))}/s | "
                f"{f.get('ratio_engine_per_call_vs_python', 0):.2f}x | "
                f"{f.get('ratio_engine_per_call_missing_ok_vs_python', 0):.2f}x | "
                f"{f.get('ratio_engine_replay_vs_python', 0):.2f}x |"
            )
        lines.append("")
    scen = dict(_get(rust, "throughput", "scenarios") or {})
    # The public shapes' Rust engine-alone rates (`lft-bench public`, same seeded streams).
    for row in _get(rust, "public", "scenarios") or []:
        name = _get(row, "shape", "scenario")
        if name and name not in scen:
            scen[name] = {"without_consumer": {"messages_per_s": row.get("engine_alone")}}
    common = [n for n in flows if n in scen]
    if common:
        lines += [
            "## Python batched path vs the Rust engine (same `make bench` run, no consumer thread)",
            "",
            "| scenario | Rust engine | Python `replay` | Python ÷ Rust |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name in common:
            rust_rate = _get(scen, name, "without_consumer", "messages_per_s")
            py_rate = _get(flows, name, "engine_replay_rust_stream", "per_s")
            ratio = f"{py_rate / rust_rate:.2f}x" if rust_rate and py_rate else "-"
            lines.append(f"| {name} | {_fmt_rate(rust_rate)}/s | {_fmt_rate(py_rate)}/s | {ratio} |")
        rust_count = _get(rust, "throughput", "count")
        py_count = _get(flows, common[0], "engine_replay_rust_stream", "commands")
        lines += [
            "",
            f"Both replay the same seeded streams ({rust_count:,} commands in Rust, {py_count:,} "
            "from Python), median of runs, no consumer thread. Rust drives the book one call "
            "per command with a reused report; Python hands the whole stream over in one "
            "`replay` call.",
            "",
        ]
    for label, sc in _scaling_runs(report):
        lines += [
            f"## Multi-core scaling: TradingSystem, {label}",
            "",
            f"{sc.get('count', 0):,} commands over {sc.get('symbols')} symbols ({sc.get('scenario')}), "
            f"median of {sc.get('repeat')} runs, {sc.get('cores')} cores; one driver thread hands each "
            "symbol's commands over in chunks of 256 (each still runs as if sent alone).",
            "",
            "| activity | workers | messages/s | speedup | efficiency | busiest worker's share |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for curve in sc.get("curves", []):
            for p in curve.get("points", []):
                lines.append(
                    f"| {curve.get('activity')} | {p['workers']} | {_fmt_rate(p['messages_per_s'])} | "
                    f"{p['speedup']:.2f}x | {p['efficiency']:.2f} | {p['busiest_worker_share']:.0%} |"
                )
        lines.append("")
    dur = _get(report, "rust", "durability")
    if dur:
        lines += durability_table(dur)
    st = _get(report, "rust", "statistics")
    if st:
        lines += statistics_table(st)
    crit = report.get("complexity", {})
    if crit:
        lines += ["## Cost per operation vs resting orders (criterion medians, ns)", ""]
        for group, ops in crit.items():
            if group.startswith("fills_"):
                continue  # their own table below: the x axis is fills per taker
            sizes = sorted({int(n) for per in ops.values() for n in per})
            lines += [f"### {group}", "", "| operation | " + " | ".join(f"{n:,}" for n in sizes) + " |"]
            lines.append("| --- |" + " ---: |" * len(sizes))
            for op, per in ops.items():
                lines.append(f"| {op} | " + " | ".join(f"{per.get(str(n), 0):.0f}" for n in sizes) + " |")
            lines.append("")
        lines += level_churn_table(crit)
        lines += fill_cost_table(crit)
    return "\n".join(lines)


FILL_BOOKS = (
    ("engine", "fills_engine"),
    ("BTreeMap baseline", "fills_btreemap"),
    ("events alone (no book)", "fills_events_only"),
)


def fill_cost_table(crit: dict[str, Any]) -> list[str]:
    """What one more fill costs: the slope of an IOC's time from the fewest to the most full
    fills measured (1 and 16 in `book_ops`)."""
    rows = []
    fewest = most = 0
    for book, group in FILL_BOOKS:
        per = (crit.get(group) or {}).get("ioc_full_fills") or {}
        ks = sorted(int(k) for k in per)
        if len(ks) < 2:
            continue
        fewest, most = ks[0], ks[-1]
        one, many = per[str(fewest)], per[str(most)]
        rows.append(f"| {book} | {one:.0f} | {many:.0f} | {(many - one) / (most - fewest):.1f} |")
    if not rows:
        return []
    return [
        "## Cost per fill (criterion): an IOC filling k one-lot makers, each fill ending its maker",
        "",
        f"| book | k = {fewest} (ns) | k = {most} (ns) "
        f"| per fill: (t{most} - t{fewest}) / {most - fewest} (ns) |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
    ]


def level_churn_table(crit: dict[str, Any]) -> list[str]:
    """New-level insert and level removal ÷ the same at a level that stays (target: 1.5x)."""
    rows = []
    for book, group in (("engine", "level_churn_engine"), ("BTreeMap baseline", "level_churn_btreemap")):
        ops = crit.get(group) or {}
        for levels in sorted({int(n) for per in ops.values() for n in per}):

            def ns(op: str, n: int = levels, ops: dict[str, Any] = ops) -> float:
                return float((ops.get(op) or {}).get(str(n), 0))

            ins = (
                ns("insert_new_level") / ns("insert_at_existing_level")
                if ns("insert_at_existing_level")
                else 0
            )
            rem = (
                ns("remove_level") / ns("remove_from_existing_level")
                if ns("remove_from_existing_level")
                else 0
            )
            rows.append(f"| {book} | {levels:,} | {ins:.2f}x | {rem:.2f}x |")
    if not rows:
        return []
    return [
        "## Level churn (criterion): new level ÷ existing level (target: at most 1.5x)",
        "",
        "| book | levels per side | insert | remove |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
    ]


def memory_table(mem: dict[str, Any]) -> list[str]:
    """Bytes per resting order (`lft-bench memory`) and RSS growth over a long replay."""
    books = mem.get("resting") or []
    if not books:
        return []
    lines = [
        "## Memory (`lft-bench memory`, each book in a fresh process; target: under 128 bytes per order)",
        "",
        "| book | resting orders | levels per side | bytes per order |",
        "| --- | ---: | ---: | ---: |",
    ]
    for b in books:
        lines.append(
            f"| {b.get('book')} | {b.get('orders', 0):,} | {b.get('levels_per_side', 0):,} | "
            f"{b.get('bytes_per_order', 0):.1f} |"
        )
    lines.append("")
    rp = mem.get("replay") or {}
    if rp:
        lines += [
            f"Replay of {rp.get('messages', 0):,} messages of the `{rp.get('scenario')}` flow: RSS grew "
            f"{rp.get('growth_after_warmup', 0) / 2**20:.2f} MiB after a {rp.get('warmup', 0):,}-message "
            f"warm-up, while the book grew from {rp.get('resting_after_warmup', 0):,} to "
            f"{rp.get('resting_after', 0):,} resting orders.",
            "",
        ]
    return lines


def public_table(pub: dict[str, Any]) -> list[str]:
    """The five public-shape scenarios (`lft-bench public`): shape and the baseline ratio."""
    rows = pub.get("scenarios") or []
    if not rows:
        return []
    lines = [
        "## Public-shape scenarios (`lft-bench public`)",
        "",
        "| scenario | resting mean / peak | levels mean | fills | engine + consumer | engine alone "
        "| hand-off alone | BTreeMap baseline | with consumer ÷ baseline | alone ÷ baseline "
        "| hand-off alone ÷ baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        sh = r.get("shape", {})
        lines.append(
            f"| {sh.get('scenario')} | {sh.get('resting_mean', 0):,.0f} / {sh.get('resting_peak', 0):,} | "
            f"{sh.get('levels_mean', 0):,.0f} | {sh.get('fills', 0):,} | "
            f"{_fmt_rate(r.get('engine_with_consumer'))}/s | {_fmt_rate(r.get('engine_alone'))}/s | "
            f"{_fmt_rate(r.get('handoff_only'))}/s | "
            f"{_fmt_rate(r.get('baseline'))}/s | {r.get('with_consumer_over_baseline', 0):.2f}x | "
            f"{r.get('alone_over_baseline', 0):.2f}x | {r.get('handoff_only_over_baseline', 0):.2f}x |"
        )
    worst = pub.get("worst") or ["-", 0]
    lines += [
        "",
        f"Worst scenario (the public benchmark's ranking figure): {worst[0]}, "
        f"{_fmt_rate(worst[1])} messages/s with the consumer.",
        "",
        "Hand-off alone: the engine's own events for the stream, recorded once, pushed over the "
        "same ring to the same consumer with no matching at all: an estimate of the ceiling of "
        "an engine handing these events to a consumer on this machine.",
        "",
    ]
    return lines


def statistics_table(st: dict[str, Any]) -> list[str]:
    """Statistics by period off and on, side by side (`lft-bench statistics`)."""
    lines = [
        "## Statistics by period: cost, off and on side by side",
        "",
        f"TradingSystem, {st.get('count', 0):,} commands over {st.get('symbols')} symbols, one worker, "
        f"median of {st.get('repeat')} runs with off and on interleaved; with statistics on a drainer "
        "thread takes the rows every 20 ms. `worker`: each symbol's stream as one command list (the "
        "worker's own time); `pipelined`: the simulate shape (256-command hand-offs).",
        "",
        "| mode | periods | off | on | on / off | rows | level rows |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in st.get("modes", []):
        lines.append(
            f"| {m['mode']} | {m['periods']} | {_fmt_rate(m['off_messages_per_s'])} | "
            f"{_fmt_rate(m['on_messages_per_s'])} | {m['on_vs_off']:.3f} | {m['rows']:,} | "
            f"{m['level_rows']:,} |"
        )
    lines.append("")
    return lines


def durability_table(dur: dict[str, Any]) -> list[str]:
    """The journal modes side by side, snapshot pauses and recovery (`lft-bench durability`)."""
    lines = [
        "## Durability: journal modes side by side, snapshots, recovery",
        "",
        f"TradingSystem, {dur.get('count', 0):,} commands over {dur.get('symbols')} symbols, "
        f"{dur.get('workers')} worker, median of {dur.get('repeat')} runs with the modes interleaved; "
        "ack latency is the round trip of single submits, one at a time.",
        "",
        "| journal | ack | messages/s | vs off | ack p50 | ack p99 | ack p99.9 | fsync mean | fsync max "
        "| bytes/cmd | records/write |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in dur.get("modes", []):
        a = m["ack_us"]
        lines.append(
            f"| {m['mode']} | {m['ack'] or '-'} | {_fmt_rate(m['messages_per_s'])} | {m['vs_off']:.2f}x | "
            f"{a[0]:,.1f} us | {a[1]:,.1f} us | {a[2]:,.1f} us | {m['fsync_mean_us']:,.0f} us | "
            f"{m['fsync_max_us']:,.0f} us | {m['bytes_per_command']:.1f} | "
            f"{m.get('records_per_write', 0):,.0f} |"
        )
    lines += [
        "",
        "| resting orders | worker pause (capture) | file bytes/order (LZ4) | write + fsync | restore |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in dur.get("snapshots", []):
        lines.append(
            f"| {p['orders']:,} | {p['capture_ms']:.2f} ms | {p['file_bytes_per_order']:.1f} | "
            f"{p['write_ms']:.1f} ms | {p['restore_ms']:.1f} ms |"
        )
    lines += [
        "",
        f"Recovery of a journal of {dur.get('recovery_commands', 0):,} commands (no snapshot): "
        f"{dur.get('recovery_seconds', 0):.2f} s "
        f"({_fmt_rate(dur.get('recovery_messages_per_s'))} commands/s).",
        "",
    ]
    return lines


def _scaling_runs(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The scaling section of this run, then any recorded on other machines."""
    runs = []
    here = _get(report, "rust", "scaling")
    if here:
        runs.append((f"this machine ({report['machine']['cores']} cores)", here))
    for name, extra in sorted((report.get("scaling_elsewhere") or {}).items()):
        sc = extra.get("scaling")
        if sc:
            cpu = _get(extra, "machine", "cpu_model") or "?"
            runs.append((f"{name} ({cpu}, {sc.get('cores')} cores)", sc))
    return runs


def _grouped_bars(ax: Any, names: list[str], series: dict[str, list[Any]], width: float) -> None:
    """One group of bars per name, one bar per series (values in messages/s, drawn in millions)."""
    for i, (label, vals) in enumerate(series.items()):
        xs = [j + i * width for j in range(len(names))]
        ax.bar(xs, [(v or 0) / 1e6 for v in vals], width, label=label)
    ax.set_xticks([j + (len(series) - 1) / 2 * width for j in range(len(names))], names)
    ax.set_ylabel("million messages / s")


def plots(report: dict[str, Any], out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    scenarios = _get(report, "rust", "throughput", "scenarios") or {}
    flows = _get(report, "python", "full_flow") or {}
    if scenarios or flows:
        fig, ax = plt.subplots(figsize=(8, 4))
        names = list(scenarios or flows)
        series = {
            "Rust engine, events to a consumer thread": [
                _get(scenarios, n, "with_consumer", "messages_per_s") for n in names
            ],
            "Rust engine, no consumer": [
                _get(scenarios, n, "without_consumer", "messages_per_s") for n in names
            ],
            "Python replay (batched, no consumer)": [
                _get(flows, n, "engine_replay_rust_stream", "per_s") for n in names
            ],
            "Python one call each": [_get(flows, n, "engine_per_call", "per_s") for n in names],
            "pure-Python heapq book": [_get(flows, n, "python_book", "per_s") for n in names],
        }
        _grouped_bars(ax, names, series, width=0.16)
        ax.set_title("Throughput by scenario")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "throughput.png", dpi=110)
        plt.close(fig)
        written.append("throughput.png")
    public_rows = _get(report, "rust", "public", "scenarios") or []
    if public_rows:
        fig, ax = plt.subplots(figsize=(8, 4))
        names = [_get(r, "shape", "scenario") for r in public_rows]
        keys = {
            "engine, events to a consumer thread": "engine_with_consumer",
            "engine alone": "engine_alone",
            "hand-off alone (no matching)": "handoff_only",
            "bare BTreeMap baseline": "baseline",
        }
        _grouped_bars(
            ax, names, {label: [r.get(key) for r in public_rows] for label, key in keys.items()}, width=0.2
        )
        ax.set_title("Public-shape scenarios")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.3)
        ax.legend(fontsize=8, loc="upper center", ncol=2)
        fig.tight_layout()
        fig.savefig(out / "public.png", dpi=110)
        plt.close(fig)
        written.append("public.png")
    lat = _get(report, "rust", "latency", "rates") or []
    if lat:
        fig, ax = plt.subplots(figsize=(8, 4))
        keys = ["p50", "p99", "p99.9", "p99.99", "max"]
        for r in lat:
            p = r.get("percentiles_ns", {})
            ax.plot(
                keys,
                [max(p.get(k, 0), 1) / 1000 for k in keys],
                marker="o",
                label=f"{_fmt_rate(r.get('rate'))}/s",
            )
        ax.set_yscale("log")
        ax.set_ylabel("latency, µs (log)")
        ax.set_title("Open-loop latency percentiles")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
        plt.close(fig)
        written.append("latency.png")
    crit = report.get("complexity", {})
    by_size = {g: ops for g, ops in crit.items() if g in ("skiplist_engine", "btreemap_levels")}
    if by_size:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        all_ops = sorted({op for ops in by_size.values() for op in ops})
        for group, ops in by_size.items():
            style = "-" if group == "skiplist_engine" else "--"
            for op, per in ops.items():
                color = plt.get_cmap("tab10")(all_ops.index(op))
                sizes = sorted(per, key=int)
                ax.plot(
                    [int(s) for s in sizes],
                    [per[s] for s in sizes],
                    style,
                    color=color,
                    marker="o",
                    label=f"{group}: {op}",
                )
        ax.set_xscale("log")
        ax.set_xlabel("resting orders")
        ax.set_ylabel("ns per operation")
        ax.set_title("Cost per operation vs book size (solid: engine, dashed: BTreeMap book)")
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        fig.savefig(out / "complexity.png", dpi=110)
        plt.close(fig)
        written.append("complexity.png")
    books = _get(report, "rust", "memory", "resting") or []
    if books:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        names = [b.get("book", "?") for b in books]
        values = [b.get("bytes_per_order", 0) for b in books]
        ax.bar(names, values, color=[plt.get_cmap("tab10")(i) for i in range(len(names))])
        ax.axhline(128, color="black", linestyle="--", linewidth=1, label="target: 128 bytes")
        for i, v in enumerate(values):
            ax.annotate(f"{v:.1f}", (i, v), ha="center", va="bottom", fontsize=8)
        ax.set_ylabel("bytes per resting order")
        ax.set_title("Memory per resting order, 1M orders")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "memory.png", dpi=110)
        plt.close(fig)
        written.append("memory.png")
    fills = [(book, (crit.get(g) or {}).get("ioc_full_fills") or {}) for book, g in FILL_BOOKS]
    fills = [(book, per) for book, per in fills if per]
    if fills:
        fig, ax = plt.subplots(figsize=(7, 4))
        for book, per in fills:
            ks = sorted(per, key=int)
            ax.plot([int(k) for k in ks], [per[k] for k in ks], marker="o", label=book)
        ax.set_xlabel("fills per taker (each ends its one-lot maker)")
        ax.set_ylabel("ns per taker")
        ax.set_title("Cost of a taker vs its fills: the slope is the cost of one fill")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "fills.png", dpi=110)
        plt.close(fig)
        written.append("fills.png")
    runs = _scaling_runs(report)
    if runs:
        fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4), squeeze=False)
        for ax, (label, sc) in zip(axes[0], runs):
            top = 1
            for curve in sc.get("curves", []):
                pts = curve.get("points", [])
                ws = [p["workers"] for p in pts]
                top = max([top, *ws])
                ax.plot(ws, [p["speedup"] for p in pts], marker="o", label=curve.get("activity"))
            ax.plot([1, top], [1, top], ":", color="grey", label="linear")
            ax.plot([1, top], [1, 0.8 * top], "--", color="grey", linewidth=0.8, label="0.8 x linear")
            ax.set_xlabel("worker threads")
            ax.set_ylabel("speedup over 1 worker")
            ax.set_title(f"Scaling: {label}", fontsize=9)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "scaling.png", dpi=110)
        plt.close(fig)
        written.append("scaling.png")
    return written


def statistics_charts(out: Path) -> list[str]:
    """A bar chart and a depth chart made through the public API (README images): a seeded
    simulation with statistics on, read back as DataFrames."""
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import lockfree_trading as lt
    import matplotlib.pyplot as plt
    from lockfree_trading import workload

    with tempfile.TemporaryDirectory() as tmp:
        cfg = {
            "symbols": [{"name": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001"}],
            "engine": {"threads": 1},
            "statistics": {
                "enabled": True,
                "periods": ["5ms", "50ms"],
                "directory": tmp,
                "close_quiet_periods": False,
            },
        }
        with lt.TradingSystem(cfg) as system:
            system.replay(workload.generate("normal", 300_000, 7, 1))
            system.close_periods()
            ax = system.statistics.plot_bars("BTC-USD", "5ms")
            ax.figure.savefig(out / "bars.png", dpi=100, bbox_inches="tight")
            plt.close(ax.figure)
            ax = system.book("BTC-USD").plot_depth(levels=40)
            ax.figure.savefig(out / "depth.png", dpi=100, bbox_inches="tight")
            plt.close(ax.figure)
    return ["bars.png", "depth.png"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", default=str(ROOT / "benches" / "results"))
    parser.add_argument("--criterion", default=str(ROOT / "target" / "criterion"))
    parser.add_argument("--commit", help="commit the results were measured at (default: HEAD)")
    parser.add_argument("--no-charts", action="store_true", help="skip the statistics bar and depth charts")
    parser.add_argument("--charts-only", action="store_true", help="only (re)draw the bar and depth charts")
    args = parser.parse_args()
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    if args.charts_only:
        print(f"wrote {', '.join(statistics_charts(out))} in {out}")
        return 0
    measured = out / "rust.json"
    when = (
        datetime.datetime.fromtimestamp(measured.stat().st_mtime, datetime.timezone.utc)
        if measured.exists()
        else datetime.datetime.now(datetime.timezone.utc)
    )
    report: dict[str, Any] = {
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": args.commit or _commit(),
        "machine": {"cpu": _cpu(), "cores": len(__import__("os").sched_getaffinity(0))},
        "rust": _load(out / "rust.json"),
        "python": _load(out / "python.json"),
        "complexity": _criterion(Path(args.criterion)),
        # `lft-bench scaling --json benches/results/scaling-NAME.json` run on another machine.
        "scaling_elsewhere": {
            p.stem[len("scaling-") :]: _load(p) for p in sorted(out.glob("scaling-*.json"))
        },
    }
    (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "latest.md").write_text(markdown(report) + "\n")
    pngs = plots(report, out)
    if not args.no_charts:
        pngs += statistics_charts(out)
    print(f"wrote {out / 'latest.json'}, {out / 'latest.md'}" + (f" and {', '.join(pngs)}" if pngs else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
