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

.PHONY: all venv build run demo test test-rust test-python lint fmt bench bench-deps bench-rust bench-python loom loom-mutants loom-clippy clean

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

# Model-check the concurrent protocols with loom: every `loom_*` test (under
# `#[cfg(all(test, loom))]`): the ladders' publish/unlink/relink/reclaim, the price index's
# rebuild and retire, the level latch, the command queue, admission, the broadcast ring, the
# reply slot and the worker's sleep/wake (parking routed through loom). First run: every model,
# one reader, two preemptions. Second run: the two skiplist models whose readers do not race
# the epoch's reclamation, with two readers, one preemption (at two they take minutes; the
# models with reclamation take over ten minutes with two readers, so they keep one). Then
# `loom-mutants`. Measured: 70 s in all on two shared cores after the build (the slowest
# models: the retire under a pinned reader ~30 s, the latch ~17 s, the index ~12 s; the
# mutants ~15 s). A cold loom build adds about two minutes.
LOOM_ENV := RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom LFT_LOOM_MUTANT=
LOOM_TEST := cargo test -p lft-engine --release --lib
loom:
	$(LOOM_ENV) LOOM_READERS=1 LOOM_MAX_PREEMPTIONS=2 $(LOOM_TEST) loom
	$(LOOM_ENV) LOOM_READERS=2 LOOM_MAX_PREEMPTIONS=1 $(LOOM_TEST) skiplist::loom_model::loom_reader
	@$(MAKE) --no-print-directory loom-mutants

# Each entry: weakening,model,what loom must report. The weakening is switched on at run time
# (`LFT_LOOM_MUTANT`, read only in loom builds, see `primitive::mutant`), so the mutants share
# the loom build above. Succeeds only if every weakened run fails with the expected report.
LOOM_MUTANTS := \
	link-relaxed,skiplist::loom_model::loom_readers_see_sorted,Causality \
	unlink-relaxed,skiplist::loom_model::loom_readers_see_sorted,Causality \
	relink-next-relaxed,skiplist::loom_model::loom_reader_on_a_level,Causality \
	retire-unprotected,skiplist::loom_model::loom_pinned_reader,Causality \
	index-key-relaxed,price_index::loom_model::loom_index_probes,Causality \
	index-table-relaxed,price_index::loom_model::loom_index_probes,Causality \
	latch-seq-relaxed,latch::loom_model::loom_latch_reader,torn \
	latch-writer-no-fence,latch::loom_model::loom_latch_reader,torn \
	latch-reader-no-fence,latch::loom_model::loom_latch_reader,torn \
	sleep-no-fence,worker::loom_tests::loom_idle_worker_never_sleeps,deadlock \
	wake-no-fence,worker::loom_tests::loom_idle_worker_never_sleeps,deadlock \
	reply-swap-relaxed,reply::loom_tests::loom_reply_parked_waiter,Causality
# Clippy on the loom build (the models and the cfg(loom) shims); not part of `lint`.
loom-clippy:
	RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom-clippy \
	    cargo clippy -p lft-engine --lib --tests -- -D warnings

loom-mutants:
	@$(LOOM_ENV) $(LOOM_TEST) --no-run --quiet
	@log=$$(mktemp); failed=0; \
	for entry in $(LOOM_MUTANTS); do \
	    mutant=$${entry%%,*}; rest=$${entry#*,}; model=$${rest%%,*}; expect=$${rest#*,}; \
	    if $(LOOM_ENV) LFT_LOOM_MUTANT=$$mutant LOOM_READERS=1 LOOM_MAX_PREEMPTIONS=2 \
	        $(LOOM_TEST) --quiet $$model -- --test-threads=1 >"$$log" 2>&1; then \
	        echo "loom-mutants: $$mutant: NOT caught: $$model passed (expected: $$expect)"; failed=1; \
	    elif grep -q -- "$$expect" "$$log"; then \
	        echo "loom-mutants: $$mutant: caught by $$model: $$(grep -m1 -- "$$expect" "$$log")"; \
	    else \
	        echo "loom-mutants: $$mutant: $$model failed without '$$expect':"; tail -n 20 "$$log"; failed=1; \
	    fi; \
	done; rm -f "$$log"; exit $$failed

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
