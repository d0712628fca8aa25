"""Smoke test of an installed lockfree-trading, as a new user would try it.

Run it with the Python of a fresh virtual environment that has the wheel installed, from an
empty directory outside the repository (``tests/test_wheel_install.py`` does that locally;
``.github/workflows/wheels.yml`` on every platform and CPython it builds for). It checks:
- the package comes from that environment, not from the repository;
- the README's five-line example prints what the README says;
- ``trading-system --version``, ``init``, ``simulate --count 100000``, ``generate`` and
  ``replay`` work there, with no config file but the one ``init`` writes.
Exits non-zero with what went wrong.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_blocks  # beside this file; stdlib only

REPO = Path(__file__).resolve().parent.parent


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"wheel smoke test failed: {what}")
    print(f"ok: {what.splitlines()[0]}")


def cli(*args: str, cwd: Path) -> str:
    # The console script of this interpreter's environment.
    bindir = Path(sys.executable).parent
    script = next((p for p in (bindir / "trading-system", bindir / "trading-system.exe") if p.exists()), None)
    check(script is not None, f"trading-system is installed next to {sys.executable}")
    proc = subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    check(
        proc.returncode == 0,
        f"trading-system {' '.join(args)} exits 0\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}",
    )
    return proc.stdout + proc.stderr


def main() -> None:
    import lockfree_trading

    where = Path(lockfree_trading.__file__).resolve()
    check(REPO not in where.parents, f"lockfree_trading comes from the environment ({where})")
    [five] = [e for e in readme_blocks.examples() if e.section == "Five lines of Python"]
    check(len(five.code.strip().splitlines()) == 5, "the README's first example has five lines")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        [result] = readme_blocks.run([five], cwd)
        check(result["error"] is None, f"the five-line example runs\n{result['error']}")
        assert five.expected is not None
        check(
            readme_blocks.output_matches(five.expected, result["stdout"]),
            f"the five-line example prints {five.expected!r} (got {result['stdout']!r})",
        )
        version = cli("--version", cwd=cwd)
        check(version.strip() == f"trading-system {lockfree_trading.__version__}", f"--version: {version}")
        cli("init", cwd=cwd)
        written = (cwd / "config.yaml").read_text(encoding="utf-8")
        check(
            "symbols:" in written and "# lockfree-trading configuration" in written, "init writes config.yaml"
        )
        out = cli("simulate", "--count", "100000", "--probes", "100", cwd=cwd)
        check("using ./config.yaml" in out and "100,000 commands in" in out, f"simulate runs:\n{out}")
        cli("generate", "--count", "20000", "--symbols", "2", "--out", "flow.lftw", cwd=cwd)
        out = cli("replay", "flow.lftw", cwd=cwd)
        check("20,000 commands in" in out, f"replay runs:\n{out}")
    print(f"wheel smoke test passed on Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
