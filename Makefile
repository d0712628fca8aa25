# Two set-up commands on a fresh machine: `make run` and `make test`.
# Everything Python lives in .venv (created here); nothing is installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-installed
BUILT := $(VENV)/.core-built
CONFIG ?= config.yaml
export CARGO_TERM_COLOR ?= never

RUST_SOURCES := $(shell find rust -name '*.rs' -o -name Cargo.toml) Cargo.toml
PY_SOURCES := $(shell find python -type f \( -name '*.py' -o -name '*.pyi' -o -name 'py.typed' \)) pyproject.toml

.PHONY: all venv build run demo test test-rust test-python lint fmt bench bench-deps bench-rust bench-python loom clean

all: build

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "maturin>=1.7,<2" "numpy>=1.22" "pyyaml>=6" "pydantic>=2.6" \
	    "pytest>=8" "hypothesis>=6.100" "pytest-benchmark>=4" "mypy>=1.10" "ruff>=0.5" types-PyYAML
	touch $@

venv: $(STAMP)

# Release build of the extension, installed into .venv (editable: python/ is used in place).
$(BUILT): $(STAMP) $(RUST_SOURCES) $(PY_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(BIN)):$$PATH $(BIN)/maturin develop --release --quiet
	touch $@

build: $(BUILT)

# Drive the multi-symbol system with the seeded workload (progress bar, summary table).
run: $(BUILT)
	$(BIN)/trading-system --config $(CONFIG) simulate

demo: $(BUILT)
	$(BIN)/trading-system demo --config $(CONFIG)

lint: $(BUILT)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy --strict python/lockfree_trading
	$(BIN)/python -m mypy.stubtest lockfree_trading._core --allowlist python/stubtest-allowlist.txt

fmt: $(STAMP)
	cargo fmt --all
	$(BIN)/ruff format python tests benches
	$(BIN)/ruff check --fix python tests benches

test-rust:
	cargo test -p lft-engine -p lft-workload -p lft-bench --release

test-python: $(BUILT)
	$(BIN)/python -m pytest tests

test: lint test-rust loom test-python

# Model-check the skiplist publish/unlink/reclaim protocol and the level seqlock.
LOOM_ENV := RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom
loom:
	$(LOOM_ENV) LOOM_READERS=1 LOOM_MAX_PREEMPTIONS=2 cargo test -p lft-engine --release --lib loom
	$(LOOM_ENV) LOOM_READERS=2 LOOM_MAX_PREEMPTIONS=1 cargo test -p lft-engine --release --lib loom

# Benchmarks: measured, never asserted. Writes benches/results/latest.{json,md} and PNG plots.
RESULTS := benches/results
BENCH_PY_DEPS := "matplotlib>=3.7" "nanobook==0.19.2"

bench-deps: $(BUILT)
	$(BIN)/python -m pip install --quiet $(BENCH_PY_DEPS)

bench-rust:
	mkdir -p $(RESULTS)
	cargo bench -p lft-engine --bench book_ops
	cargo run -p lft-bench --release --quiet -- all --json $(RESULTS)/rust.json

bench-python: bench-deps
	mkdir -p $(RESULTS)
	$(BIN)/python benches/python_compare.py --json $(RESULTS)/python.json
	$(BIN)/python -m pytest benches --benchmark-only --benchmark-columns=min,median,mean,ops \
	    --benchmark-json $(RESULTS)/python-api.json

bench: bench-rust bench-python
	$(BIN)/python benches/report.py

clean:
	cargo clean
	rm -rf $(VENV)
