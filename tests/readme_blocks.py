"""The README's Python examples as data: extract them, run them in order in a fresh
interpreter, and compare what each prints with the README's output block after it.

Conventions of the README (so that every example runs verbatim):
- every fenced ```python block is run, in order, in one fresh interpreter (later blocks may
  use names from earlier ones), in a scratch directory holding the default ``config.yaml``
  (what ``trading-system init`` writes);
- a ```text block right after a Python block (only blank lines between) is what that block
  prints; ``...`` inside a line matches any text, and a line of just ``...`` any lines.

Used by ``tests/test_readme_examples.py`` and by ``tests/wheel_smoke.py`` (which runs the
five-line example against an installed wheel), so it imports nothing but the stdlib.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass
class Example:
    """One Python block of the README."""

    line: int  # 1-based line of the opening fence
    code: str
    expected: Optional[str]  # the following ```text block, if any
    section: str  # the nearest heading above it


def examples(readme: Path = README) -> list[Example]:
    lines = readme.read_text(encoding="utf-8").splitlines()
    blocks: list[tuple[int, str, str, str]] = []  # (line, info, body, section)
    section = ""
    i = 0
    while i < len(lines):
        text = lines[i]
        if text.startswith("#"):
            section = text.lstrip("#").strip()
        if text.startswith("```"):
            info = text[3:].strip()
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                body.append(lines[j])
                j += 1
            blocks.append((i + 1, info, "\n".join(body) + "\n", section))
            i = j + 1
            continue
        i += 1
    out: list[Example] = []
    for k, (line, info, body, sec) in enumerate(blocks):
        if info != "python":
            continue
        expected = None
        if k + 1 < len(blocks) and blocks[k + 1][1] == "text":
            end_of_code = line + body.count("\n") + 1  # the closing fence
            between = lines[end_of_code : blocks[k + 1][0] - 1]
            if all(not b.strip() for b in between):
                expected = blocks[k + 1][2]
        out.append(Example(line, body, expected, sec))
    return out


def output_matches(expected: str, actual: str) -> bool:
    """`actual` against `expected` with ``...`` wildcards (trailing blanks ignored)."""
    pattern = ""
    for line in expected.rstrip("\n").split("\n"):
        line = line.rstrip()
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += "[^\n]*".join(re.escape(p) for p in line.split("...")) + r"\n"
    got = "".join(a.rstrip() + "\n" for a in actual.rstrip("\n").split("\n"))
    return re.fullmatch(pattern, got) is not None


_DRIVER = r"""
import contextlib, io, json, sys, traceback
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
results = []
for b in blocks:
    out = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(b["code"], "README.md:%d" % b["line"], "exec"), namespace)
    except BaseException:
        error = traceback.format_exc()
    results.append({"line": b["line"], "stdout": out.getvalue(), "error": error})
    if error:
        break
json.dump(results, open(sys.argv[2], "w"))
"""


def run(blocks: list[Example], cwd: Path, python: str = sys.executable, timeout: float = 300) -> list[dict]:
    """Run `blocks` in order in one fresh `python` in `cwd`; one result per block run
    (stdout, error traceback or None); stops at the first error."""
    spec = cwd / "_readme_blocks.json"
    result = cwd / "_readme_results.json"
    spec.write_text(json.dumps([{"line": b.line, "code": b.code} for b in blocks]), encoding="utf-8")
    proc = subprocess.run(
        [python, "-c", _DRIVER, str(spec), str(result)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_clean_env(), "MPLBACKEND": "Agg"},
    )
    if not result.exists():
        raise AssertionError(f"the README driver died (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return list(json.loads(result.read_text(encoding="utf-8")))


def _clean_env() -> dict[str, str]:
    import os

    # The examples must run on the package as installed, not on a path the test run added.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
