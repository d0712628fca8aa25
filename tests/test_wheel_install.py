"""The wheel a user installs: built here, installed into fresh virtual environments outside
the repository, and smoke-tested there (tests/wheel_smoke.py), as `make wheel` and the
wheels workflow publish it.

The wheel is the portable abi3 one (`cp39-abi3`), built with `--profile ci` (release
optimisation without fat LTO, to keep `make test` short; the same code and ABI as the
published `--release` build). pip's own tag check proves it installs on CPython 3.9-3.13;
every one of those interpreters found on this machine also gets a fresh venv, an install
and the smoke test (the current one always does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SMOKE = Path(__file__).with_name("wheel_smoke.py")
SUPPORTED = ("3.9", "3.10", "3.11", "3.12", "3.13")
#: Beyond the current interpreter, the oldest and newest supported ones get a real install
#: (each costs a venv and the dependencies' wheels); pip's tag check covers every version.
REAL_INSTALLS = ("3.9", "3.13")


def _maturin() -> str:
    here = Path(sys.executable).parent / "maturin"
    found = str(here) if here.exists() else shutil.which("maturin")
    if found is None:
        pytest.fail("maturin is not installed (make installs it into .venv)")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
    proc = subprocess.run(
        [_maturin(), "build", "--profile", "ci", "--features", "abi3", "--out", str(out), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    [built] = out.glob("*.whl")
    return built


def _interpreter(version: str) -> str | None:
    """A working CPython `version` on this machine: under pyenv's versions, or on PATH (a
    pyenv shim on PATH may not run, so each candidate is asked for its version)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [str(p / "bin" / "python") for p in sorted(root.glob(f"{version}.*"), reverse=True)]
    candidates += [found for found in [shutil.which(f"python{version}")] if found]
    for exe in candidates:
        try:
            said = subprocess.run(
                [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if said.returncode == 0 and said.stdout.strip() == version:
            return exe
    return None


def _fresh_venv_smoke(python: str, wheel: Path, base: Path) -> str:
    venv = base / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    vpy = venv / "bin" / "python"
    install = subprocess.run(
        [str(vpy), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    empty = base / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    smoke = subprocess.run(
        [str(vpy), str(SMOKE)], cwd=empty, capture_output=True, text=True, timeout=600, env=env
    )
    assert smoke.returncode == 0, smoke.stdout[-4000:] + smoke.stderr[-4000:]
    return smoke.stdout


def test_the_wheel_is_abi3_and_pip_accepts_it_on_every_supported_cpython(wheel: Path, tmp_path: Path) -> None:
    assert "-cp39-abi3-" in wheel.name, wheel.name
    for version in SUPPORTED:
        proc = subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                "--disable-pip-version-check", "--target", str(tmp_path / "t"), "--python-version", version,
                "--implementation", "cp", "--only-binary=:all:", str(wheel),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, f"CPython {version}: {proc.stderr[-2000:]}"


def test_the_wheel_ships_the_default_config_init_writes(wheel: Path) -> None:
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        shipped = z.read("lockfree_trading/default_config.yaml")
    assert shipped == (REPO / "config.yaml").read_bytes()


def test_installed_into_a_fresh_venv_it_works_from_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    out = _fresh_venv_smoke(sys.executable, wheel, tmp_path)
    assert "wheel smoke test passed" in out


@pytest.mark.parametrize("version", REAL_INSTALLS)
def test_installed_on_the_oldest_and_newest_supported_cpython(
    wheel: Path, tmp_path: Path, version: str
) -> None:
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no CPython {version} on this machine (the wheels workflow tests it)")
    out = _fresh_venv_smoke(python, wheel, tmp_path)
    assert f"wheel smoke test passed on Python {version}." in out
