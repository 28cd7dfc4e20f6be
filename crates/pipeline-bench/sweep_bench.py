#!/usr/bin/env python3
"""Sweep benchmarks (issue 22), run against the real binary and read back
from the registry it writes (SQLite, read-only):

1. pruning: the 40-trial TPE sweep of experiments/sweep.toml (ASHA, 2 jobs)
   against the same sweep without pruning: wall time, total epochs, best
   validation loss; then the winner confirmed with 5-fold cross-validation.
2. tpe-vs-random: the same budget on wine, 5 seeds each: the mean
   best-so-far validation loss after each trial.
3. kill: a sweep killed with SIGKILL at random moments 5 times and resumed
   each time: trials ended, numbers trained twice, PRAGMA integrity_check.
4. overhead: 200 one-epoch diabetes trials on one job against 200
   `pipeline run` processes of the same one-epoch spec.
5. show: `sweep show` of a sweep of 10,000 trials (median of 7).

Usage: sweep_bench.py --bin target/release/pipeline [--only NAME,...] [--quick]
JSON lines on stdout, a summary on stderr.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def emit(record):
    print(json.dumps(record), flush=True)


class Registry:
    def __init__(self, binary, folder):
        self.binary = binary
        self.folder = Path(folder)
        self.db = self.folder / "registry" / "registry.db"

    def env(self):
        env = dict(os.environ)
        env["PIPELINE_REGISTRY"] = str(self.db)
        env["NO_COLOR"] = "1"
        return env

    def run(self, *args, check=True):
        out = subprocess.run(
            [self.binary, *map(str, args)],
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        if check and out.returncode != 0:
            raise SystemExit(f"pipeline {' '.join(map(str, args))} failed:\n{out.stderr}")
        return out

    def spawn(self, *args):
        return subprocess.Popen(
            [self.binary, *map(str, args)],
            cwd=self.folder,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def query(self, sql, *params):
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def latest_sweep(self):
        rows = self.query("SELECT id FROM sweeps ORDER BY created_at DESC, id DESC LIMIT 1")
        return rows[0][0] if rows else None


def sweep_stats(reg, sweep):
    """Trials by state, total epochs trained, best value (completed only)."""
    rows = reg.query(
        """SELECT r.status, r.pruned_epoch, r.epochs_run, r.selection_value
             FROM sweep_trials t LEFT JOIN runs r ON r.id = t.run_id
            WHERE t.sweep_id = ?""",
        sweep,
    )
    higher = reg.query("SELECT higher_is_better FROM sweeps WHERE id = ?", sweep)[0][0]
    states = {}
    epochs = 0
    values = []
    for status, pruned, ran, value in rows:
        state = "pruned" if pruned is not None else (status or "pending")
        states[state] = states.get(state, 0) + 1
        epochs += ran or 0
        if status == "completed" and pruned is None and value is not None:
            values.append(value)
    best = (max(values) if higher else min(values)) if values else None
    return states, epochs, best


def bench_pruning(binary, quick):
    spec = EXPERIMENTS / "sweep.toml"
    trials = 12 if quick else 40
    results = {}
    for pruner in ["asha", "none"]:
        with tempfile.TemporaryDirectory() as tmp:
            reg = Registry(binary, tmp)
            started = time.perf_counter()
            reg.run("run", spec, "--set", f"sweep.trials={trials}", "--set", f"sweep.pruner={{ type = \"{pruner}\" }}" if pruner == "none" else "sweep.pruner.type=asha")
            wall = time.perf_counter() - started
            sweep = reg.latest_sweep()
            states, epochs, best = sweep_stats(reg, sweep)
            record = {"bench": "sweep-pruning", "pruner": pruner, "trials": trials, "jobs": 2,
                      "wall_s": round(wall, 2), "epochs": epochs, "best_val_loss": best, "states": states}
            if pruner == "asha":
                out = reg.run("sweep", "confirm", sweep, "--top", "1", "--folds", "5", "--json")
                confirmed = json.loads(out.stdout)
                record["confirmed"] = confirmed
            results[pruner] = record
            emit(record)
            say(f"pruning {pruner:>4}: {trials} trials in {wall:.1f} s, {epochs} epochs, best val_loss {best}, {states}")
    asha, none = results["asha"], results["none"]
    saved = 1 - asha["epochs"] / none["epochs"] if none["epochs"] else 0
    gap = (asha["best_val_loss"] / none["best_val_loss"] - 1) if none["best_val_loss"] else None
    summary = {"bench": "sweep-pruning-summary", "epochs_saved": round(saved, 3),
               "best_ratio_minus_1": None if gap is None else round(gap, 4)}
    emit(summary)
    say(f"ASHA trained {saved:.0%} fewer epochs; its best is {gap:+.2%} from the unpruned best")


WINE_SWEEP = """
[sweep]
method = "tpe"
trials = {trials}
jobs = 2
metric = "val_loss"
[sweep.parameters]
"optimizer.learning_rate" = {{ log_uniform = [1e-4, 3e-1] }}
"model.layers.0.units" = {{ values = [4, 8, 16, 32, 64, 128] }}
"optimizer.weight_decay" = {{ uniform = [0.0, 0.05] }}
"train.batch_size" = {{ values = [8, 16, 32, 64] }}
"""


def bench_tpe_vs_random(binary, quick):
    trials = 10 if quick else 30
    seeds = [1, 2] if quick else [1, 2, 3, 4, 5]
    with tempfile.TemporaryDirectory() as tmp:
        text = (EXPERIMENTS / "wine.toml").read_text()
        text = text.replace('path = "data/wine.csv"', f'path = "{EXPERIMENTS / "data/wine.csv"}"')
        text = text.replace("epochs = 150", "epochs = 40")
        spec = Path(tmp) / "wine_sweep.toml"
        spec.write_text(text + WINE_SWEEP.format(trials=trials))
        reg = Registry(binary, tmp)
        curves = {}
        for method in ["random", "tpe"]:
            per_seed = []
            for seed in seeds:
                reg.run("run", spec, "--set", f"sweep.method={method}", "--set", f"sweep.seed={seed}")
                sweep = reg.latest_sweep()
                rows = reg.query(
                    """SELECT t.number, r.selection_value FROM sweep_trials t
                         JOIN runs r ON r.id = t.run_id
                        WHERE t.sweep_id = ? ORDER BY t.number""",
                    sweep,
                )
                best, curve = float("inf"), []
                for _, value in rows:
                    if value is not None:
                        best = min(best, value)
                    curve.append(best)
                per_seed.append(curve)
            mean = [statistics.mean(c[i] for c in per_seed) for i in range(trials)]
            curves[method] = mean
            emit({"bench": "sweep-tpe-vs-random", "method": method, "seeds": seeds,
                  "trials": trials, "mean_best_so_far": [round(v, 4) for v in mean]})
        marks = [i for i in (5, 10, 20, 30) if i <= trials]
        say("mean best-so-far val_loss on wine (" + f"{len(seeds)} seeds): trial " + "  ".join(f"{m:>6}" for m in marks))
        for method, mean in curves.items():
            say(f"  {method:>6}: " + "  ".join(f"{mean[m - 1]:6.4f}" for m in marks))


def bench_kill(binary, quick):
    kills = 2 if quick else 5
    budget = 12 if quick else 20
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(binary, tmp)
        args = ["run", EXPERIMENTS / "sweep.toml", "--set", f"sweep.trials={budget}",
                "--set", "train.epochs=400", "--set", "sweep.pruner={ type = \"none\" }"]
        sweep = None
        for kill in range(kills):
            process = reg.spawn(*args) if sweep is None else reg.spawn("sweep", "resume", sweep)
            time.sleep(rng.uniform(0.4, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
            sweep = sweep or reg.latest_sweep()
            if sweep is None:
                raise SystemExit("the sweep was killed before it was recorded; sleep longer")
        reg.run("sweep", "resume", sweep)
        numbers = reg.query(
            """SELECT t.number FROM sweep_trials t JOIN runs r ON r.id = t.run_id
                WHERE t.sweep_id = ? AND (r.status IN ('completed', 'failed')
                      OR r.pruned_epoch IS NOT NULL)""",
            sweep,
        )
        tag = "sweep:" + sweep.replace("-", "")[13:21]
        completed_runs = reg.query(
            """SELECT COUNT(*) FROM runs r JOIN run_tags g ON g.run_id = r.id
                WHERE r.status = 'completed' AND g.tag = ?""",
            tag,
        )
        attempts = reg.query("SELECT SUM(attempts) FROM sweep_trials WHERE sweep_id = ?", sweep)[0][0]
        integrity = reg.query("PRAGMA integrity_check")[0][0]
        ended = [n for (n,) in numbers]
        record = {"bench": "sweep-kill", "kills": kills, "budget": budget, "ended": len(ended),
                  "distinct": len(set(ended)), "attempts": attempts, "integrity": integrity,
                  "completed_runs_tagged": completed_runs[0][0] if completed_runs else None}
        emit(record)
        say(f"kill -9 x{kills}: {len(ended)} of {budget} trials ended, {len(set(ended))} distinct, "
            f"{attempts} attempts, integrity_check {integrity}")


def bench_overhead(binary, quick):
    trials = 50 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(binary, tmp)
        text = (EXPERIMENTS / "mlp.toml").read_text()
        text = text.replace('path = "data/diabetes.csv"', f'path = "{EXPERIMENTS / "data/diabetes.csv"}"')
        spec = Path(tmp) / "one_epoch.toml"
        spec.write_text(text.replace("epochs = 500", "epochs = 1"))
        sweep_spec = Path(tmp) / "one_epoch_sweep.toml"
        sweep_spec.write_text(spec.read_text() + f"""
[sweep]
method = "random"
trials = {trials}
jobs = 1
[sweep.parameters]
"optimizer.learning_rate" = {{ log_uniform = [1e-4, 1e-1] }}
""")
        started = time.perf_counter()
        reg.run("run", sweep_spec)
        sweep_wall = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(trials):
            reg.run("run", spec, "--set", f"optimizer.learning_rate={1e-3 * (1 + i % 7)}")
        process_wall = time.perf_counter() - started
        record = {"bench": "sweep-overhead", "trials": trials,
                  "sweep_ms_per_trial": round(sweep_wall / trials * 1000, 2),
                  "process_ms_per_run": round(process_wall / trials * 1000, 2)}
        emit(record)
        say(f"{trials} one-epoch trials: {record['sweep_ms_per_trial']} ms per trial in one sweep "
            f"(threads) against {record['process_ms_per_run']} ms per `pipeline run` process")


def bench_show(binary, quick, generator):
    """bench-registry --sweep-trials N generates the sweep and times
    `sweep show` and `sweeps` itself (median of 7); its lines are passed on."""
    trials = 1000 if quick else 10000
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([generator, "--sweep-trials", str(trials), "--dir", tmp],
                             check=True, capture_output=True, text=True)
        for line in out.stdout.splitlines():
            if line.startswith("{"):
                print(line, flush=True)
        say(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "")
        for line in out.stderr.splitlines():
            if "sweep" in line:
                say(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the pipeline binary")
    parser.add_argument("--generator", help="bench-registry (for the 10,000-trial sweep)")
    parser.add_argument("--only", default="pruning,tpe,kill,overhead,show")
    parser.add_argument("--quick", action="store_true", help="small budgets, for a look")
    args = parser.parse_args()
    binary = str(Path(args.bin).resolve())
    only = set(args.only.split(","))
    if "pruning" in only:
        bench_pruning(binary, args.quick)
    if "tpe" in only:
        bench_tpe_vs_random(binary, args.quick)
    if "kill" in only:
        bench_kill(binary, args.quick)
    if "overhead" in only:
        bench_overhead(binary, args.quick)
    if "show" in only and args.generator:
        bench_show(binary, args.quick, args.generator)


if __name__ == "__main__":
    main()
