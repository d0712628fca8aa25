"""Every Python example of the README runs verbatim, in order, in a fresh interpreter, and
prints what the README shows after it (tests/readme_blocks.py has the conventions)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import readme_blocks

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = readme_blocks.examples()


def test_every_python_fence_is_one_the_runner_sees() -> None:
    # Only ```python fences at the start of a line are run: no other spelling may hide one.
    for n, line in enumerate(readme_blocks.README.read_text(encoding="utf-8").splitlines(), 1):
        fence = line.strip()
        if fence.startswith("```") and fence[3:].strip().lower() in ("py", "python3", "pycon", "python"):
            assert line == "```python", f"README.md:{n}: {line!r} would not be run"


def test_the_readme_has_its_examples_and_the_first_has_five_lines() -> None:
    assert len(EXAMPLES) >= 8
    first = EXAMPLES[0]
    assert first.section == "Five lines of Python"
    assert len(first.code.strip().splitlines()) == 5
    assert first.expected is not None


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict]:
    scratch = tmp_path_factory.mktemp("readme")
    # What `trading-system init` writes, so that "config.yaml" in an example is the default.
    shutil.copy(REPO / "python" / "lockfree_trading" / "default_config.yaml", scratch / "config.yaml")
    return {r["line"]: r for r in readme_blocks.run(EXAMPLES, scratch)}


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"README.md:{e.line}" for e in EXAMPLES])
def test_readme_example_runs_and_prints_what_the_readme_shows(
    example: readme_blocks.Example, results: dict[int, dict]
) -> None:
    result = results.get(example.line)
    assert result is not None, "not run: an earlier example failed"
    assert result["error"] is None, f"README.md:{example.line} ({example.section}) raised:\n{result['error']}"
    if example.expected is not None:
        assert readme_blocks.output_matches(example.expected, result["stdout"]), (
            f"README.md:{example.line} printed:\n{result['stdout']}\nthe README shows:\n{example.expected}"
        )


def test_output_matching_honours_wildcards_and_can_fail() -> None:
    assert readme_blocks.output_matches("a ... c\n", "a b c\n")
    assert readme_blocks.output_matches("x\n...\nz\n", "x\n1\n2\nz\n")
    assert readme_blocks.output_matches("x\n...\nz\n", "x\nz\n")
    assert not readme_blocks.output_matches("a b c\n", "a b d\n")
    assert not readme_blocks.output_matches("x\nz\n", "x\ny\nz\n")
