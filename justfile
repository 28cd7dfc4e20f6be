# One optimized profile (release) serves run, test and bench, so the
# dependency tree (polars, candle, sqlx) is compiled once.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Train a spec and record the run: `just run experiments/mlp.toml --set train.epochs=5`.
run SPEC *ARGS:
    cargo run --release --quiet -p pipeline-cli --bin pipeline -- run {{SPEC}} {{ARGS}}

# Any pipeline subcommand: `just pipeline compare latest best`.
pipeline *ARGS:
    cargo run --release --quiet -p pipeline-cli --bin pipeline -- {{ARGS}}

# Build the `pipeline` binary (target/release/pipeline).
build:
    cargo build --release -p pipeline-cli

# Both use the workspace's one feature set: the second compiles nothing.
# Unit, snapshot and end-to-end tests on SQLite, then end-to-end on PostgreSQL.
test: && _test-postgres
    cargo test --release --workspace

# The end-to-end tests with each workspace's registry a fresh database
# (PIPELINE_TEST_BACKEND=postgres, tests/e2e/common.rs) in the cluster
# PIPELINE_TEST_PG names (`.ci/run` starts one); without it, in a private
# cluster `.ci/postgres` starts and stops here; skipped, saying so, where no
# PostgreSQL is installed.
_test-postgres:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -z "${PIPELINE_TEST_PG:-}" ]; then
        if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
            echo "test: the PostgreSQL half was skipped: PIPELINE_TEST_PG is not set and no PostgreSQL is installed (/usr/lib/postgresql/*/bin; apt-get install postgresql)" >&2
            exit 0
        fi
        postgres_env=$(.ci/postgres start)
        eval "$postgres_env"
        trap '.ci/postgres stop "$PIPELINE_TEST_PG_DIR"' EXIT
    fi
    PIPELINE_TEST_BACKEND=postgres cargo test --release --workspace --test e2e

# Formatting and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --release --workspace --all-targets -- -D warnings

# Rewrite the insta snapshots after an intended change of output.
snapshots:
    INSTA_UPDATE=always cargo test --release --workspace

# The benchmarks' binaries, built with the workspace's one feature set: the
# build `just test` makes (`cargo test --release --workspace`), so after the
# tests only pipeline-bench's own bins compile (about 30 s). Building
# `-p pipeline-cli -p pipeline-bench` and `cargo run -p pipeline-bench`
# unified features differently and compiled polars and sqlx a second time
# (about 6 minutes).
bench_bin := env_var_or_default("CARGO_TARGET_DIR", "target") / "release"

# Benchmarks (not timed tests): the registry at 10,000 runs × 200 epochs;
# `pipeline infer` cold start and 200,000-row throughput (against the PyTorch
# peer when a Python with torch is found); then `pipeline serve` under a
# bounded localhost load (requests/s, p50, p99); then data preparation of
# 1,000,000 rows (see `bench-prepare`); then training against PyTorch (see
# `bench-train`). The peers are crates/pipeline-bench/peers (see its README);
# which Python runs them, or that none does, is said before the build.
# JSON lines on stdout, a table on stderr. `just bench --runs 1000` for a quick look.
bench *ARGS: _bench-peers _bench-build
    {{bench_bin}}/bench-registry {{ARGS}}
    {{bench_bin}}/bench-infer
    {{bench_bin}}/bench-serve
    {{bench_bin}}/bench-prepare
    {{bench_bin}}/bench-train

# Training against PyTorch, alternating, medians, ratios, in one table, after
# the machine's sgemm rate (candle's `gemm`, 1 and 2 threads; the wide MLP's
# ceiling). Workloads: `tabular` (the three of peers/torch_mlp.py: SimpleNN
# on diabetes at batch 32 and on 200k rows at batch 256, the 784-512-512-10
# MLP on 60k rows; `pipeline run`, its autograd path, a bare candle loop and
# PyTorch; samples/s, whole process, peak RSS, inference rows/s) and the
# shipped specs `cnn` (mnist_cnn at 3 epochs, digits_cnn at 10), `recurrent`
# (co2_lstm, sunspots_gru) and `transformer` (sunspots_transformer), their
# own epochs, against peers/torch_cnn_lstm.py and peers/torch_sunspots.py
# (samples/s, batch loop, whole process, peak RSS). Options: `--workloads
# cnn,mlp,...` (names or groups; default all), `--repeats N` (default 5),
# `--epochs N|spec` (the specs' epochs), `--no-torch`.
# `just bench-train --workloads mlp,specs --repeats 1 --no-torch` for a quick look.
bench-train *ARGS: _bench-peers _bench-build
    {{bench_bin}}/bench-train {{ARGS}}

# Sweeps (issue 22), through the real binary: the 40-trial TPE sweep of
# experiments/sweep.toml with ASHA against no pruning (wall time, epochs, best
# val_loss, the winner's 5-fold R²); TPE against random on wine, 5 seeds each
# (mean best-so-far); kill -9 five times and resume; 200 one-epoch trials in
# one sweep against 200 `pipeline run` processes; `sweep show` of 10,000
# trials. `just bench-sweep --quick` for a look, `--only kill,overhead`.
bench-sweep *ARGS: _bench-build
    python3 crates/pipeline-bench/sweep_bench.py --bin {{bench_bin}}/pipeline --generator {{bench_bin}}/bench-registry {{ARGS}}

# Workers on one PostgreSQL registry (issue 23), checked with psql: a
# 60-trial sweep, 4 workers, 2 SIGKILLed and 1 SIGTERMed; a worker SIGSTOPped
# past its lease; workers in separate folders and `evaluate --run best` from a
# third; claims of 1 and 8 workers on 200 one-epoch trials (trials/s). In the
# cluster PIPELINE_TEST_PG names, else a private one started here.
# `just bench-workers --quick`, `--only stall,claims`.
bench-workers *ARGS: _bench-build
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -z "${PIPELINE_TEST_PG:-}" ]; then
        postgres_env=$(.ci/postgres start)
        eval "$postgres_env"
        trap '.ci/postgres stop "$PIPELINE_TEST_PG_DIR"' EXIT
    fi
    python3 crates/pipeline-bench/workers_bench.py --bin {{bench_bin}}/pipeline --pg "$PIPELINE_TEST_PG" {{ARGS}}

# Data preparation of 1,000,000 generated rows × 20 columns from CSV and from
# Parquet, rows/s against scikit-learn's StandardScaler on the same files
# (a Python with scikit-learn, pandas and pyarrow: PIPELINE_BENCH_PYTHON or
# /tmp/peers-venv). `just bench-prepare --rows 100000 --repeats 3` for a quick look.
bench-prepare *ARGS: _bench-peers _bench-build
    {{bench_bin}}/bench-prepare {{ARGS}}

# The workspace as `just test` builds it, with the benchmarks' bins.
_bench-build:
    cargo build --release --workspace --all-targets

# Which Python runs the peers (as the benchmarks look for it), said before
# the build: a missing one skips its peers, it does not fail the benchmark.
_bench-peers:
    #!/usr/bin/env bash
    for imports in "torch, numpy" "numpy, sklearn, pandas, pyarrow"; do
        found=""
        for python in "${PIPELINE_BENCH_PYTHON:-}" /tmp/peers-venv/bin/python python3; do
            if [ -n "$python" ] && "$python" -c "import $imports" 2>/dev/null; then found=$python; break; fi
        done
        if [ -n "$found" ]; then
            echo "peers: $found imports $imports" >&2
        else
            echo "peers: no Python imports $imports (PIPELINE_BENCH_PYTHON, /tmp/peers-venv/bin/python, python3): those peers are skipped; see crates/pipeline-bench/peers/README.md" >&2
        fi
    done

# Fuzz with libFuzzer for SECONDS per target (nightly toolchain and `cargo
# install cargo-fuzz`; its own target dir, fuzz/target): `spec` (the spec
# parser and `--set` overrides), `csv` (a data file through reading,
# preparation and the inference read) and `json` (JSON rows through the
# strict reader, against serde_json, into a table), one after the other;
# `just fuzz 60 csv` runs one. New inputs collect in fuzz/corpus/TARGET, crashes in
# fuzz/artifacts/TARGET.
fuzz SECONDS="600" TARGETS="spec csv json":
    for target in {{TARGETS}}; do \
        case $target in csv) max_len=4096 ;; *) max_len=16384 ;; esac; \
        mkdir -p fuzz/corpus/$target; \
        env -u CARGO_TARGET_DIR POLARS_MAX_THREADS=1 cargo +nightly fuzz run $target fuzz/corpus/$target fuzz/seeds/$target -- \
            -max_total_time={{SECONDS}} -max_len=$max_len -rss_limit_mb=2048 -timeout=5; \
    done

# The full-length shipped experiments, one after another (minutes: the CNNs
# dominate), then the overfitting pair compared. Extra arguments go to each
# command: `just experiments --registry /tmp/r` keeps them apart.
experiments *ARGS:
    for spec in mlp breast_cancer iris wine shuttle digits_cnn mnist_cnn co2_lstm sunspots_gru sunspots_transformer overfit_wide overfit_regularized; do \
        cargo run --release --quiet -p pipeline-cli --bin pipeline -- {{ARGS}} run experiments/$spec.toml; \
    done
    cargo run --release --quiet -p pipeline-cli --bin pipeline -- {{ARGS}} compare --experiment diabetes-overfitting

# Build `pipeline` and the GPU tests with the `cuda` feature on a machine
# without a GPU or a CUDA install (CUDA 13.0 compiler from PyPI wheels,
# sm_90 kernels: CUDA_COMPUTE_CAP for another GPU; 40 minutes cold on 2 cores), packed
# into .gpu/ to be carried to a GPU machine. See tests/gpu/build.sh.
gpu-build:
    bash tests/gpu/build.sh

# On a machine with an NVIDIA GPU, driver and CUDA 13 libraries (no Rust
# needed): the GPU tests, the shipped experiments on `cuda` (and some on the
# CPU beside them), infer and evaluate on both. Writes $OUT (default
# /tmp/gpu-check). See tests/gpu/check.sh.
gpu-check:
    bash tests/gpu/check.sh
