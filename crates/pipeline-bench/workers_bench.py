#!/usr/bin/env python3
"""Workers on one PostgreSQL registry (issue 23), run against the real binary
and checked with SQL of their own (psql), never through pipeline:

1. stress: a 60-trial sweep submitted with `run --submit`, 4 workers; two
   SIGKILLed and one SIGTERMed while training (each replaced): exactly 60
   trials end, no trial trained to completion twice, every committed epoch
   present (1..epochs_run, once each), every artifact's sha256 recomputed
   from its chunks matches its record.
2. stall: a worker SIGSTOPped past its lease is reaped by another, which
   continues the run from its checkpoint; after SIGCONT the stalled one
   finds its lease lost, and the database is the same before and after.
3. disk: submitter and two workers in separate empty folders, artifacts in
   PostgreSQL; `evaluate --run best` on the test rows from a third folder
   reproduces the winner's recorded test metrics; the workers' folders
   stay empty.
4. claims: 1, 2, 4 and 8 workers on 200 one-epoch trials: trials/s.

Usage: workers_bench.py --bin target/release/pipeline --pg postgres://USER@HOST:PORT/postgres
       [--only stress,stall,disk,claims] [--quick]
Each section makes a database of its own on that server and drops it.
JSON lines on stdout, a summary on stderr; exit 1 when a check fails.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
FAILED = []


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def emit(record):
    print(json.dumps(record), flush=True)


def check(condition, what):
    if condition:
        say(f"  ok: {what}")
    else:
        say(f"  FAILED: {what}")
        FAILED.append(what)


class Database:
    """A fresh database on the server, migrated by `registry migrate`."""

    def __init__(self, binary, server):
        self.binary = binary
        self.server = server
        self.name = f"pipeline_bench_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(server)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.psql(f'CREATE DATABASE "{self.name}"', url=server)
        self.run(Path.cwd(), "registry", "migrate")

    def drop(self):
        self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', url=self.server)

    def env(self):
        env = dict(os.environ)
        env["PIPELINE_REGISTRY"] = self.url
        env["NO_COLOR"] = "1"
        return env

    def run(self, cwd, *args, check=True):
        out = subprocess.run([self.binary, *map(str, args)], cwd=cwd, env=self.env(),
                             capture_output=True, text=True)
        if check and out.returncode != 0:
            raise SystemExit(f"pipeline {' '.join(map(str, args))} failed:\n{out.stderr}")
        return out

    def spawn(self, cwd, log, *args):
        return subprocess.Popen([self.binary, *map(str, args)], cwd=cwd, env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def psql(self, sql, url=None):
        out = subprocess.run(["psql", url or self.url, "-X", "-q", "-A", "-t", "-F", "\t",
                              "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"psql failed on {sql!r}:\n{out.stderr}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def scalar(self, sql):
        rows = self.psql(sql)
        return rows[0][0] if rows else None


def sweep_spec(folder, sets):
    """experiments/sweep.toml and its data copied into `folder`, with `sets`."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXPERIMENTS / "data" / "diabetes.csv", data / "diabetes.csv")
    shutil.copy(EXPERIMENTS / "sweep.toml", folder / "sweep.toml")
    args = []
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    return folder / "sweep.toml", args


def submit_sweep(db, folder, sets):
    spec, args = sweep_spec(folder, sets)
    out = db.run(folder, "run", spec, "--submit", "--json", *args)
    return json.loads(out.stdout)["sweep"]


def items(db):
    return {state: int(n) for state, n in db.psql("SELECT state, count(*) FROM work_items GROUP BY state")}


def wait_for(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def training_worker(db, workers):
    """A live worker (pid) that holds a lease on an item whose run has
    finished at least one epoch, else None."""
    rows = db.psql(
        """SELECT w.pid FROM workers w JOIN work_items i ON i.worker_id = w.id
             JOIN sweep_trials t ON t.sweep_id = i.sweep_id AND t.number = i.trial
             JOIN runs r ON r.id = t.run_id
            WHERE i.state = 'leased' AND r.status = 'running' AND r.epochs_run >= 1""")
    live = {p.pid: p for p in workers if p.poll() is None}
    for (pid,) in rows:
        if int(pid) in live:
            return live[int(pid)]
    return None


def verify_sweep(db, sweep, trials):
    """The checks of a sweep trained by workers; returns the numbers."""
    tag = None
    ended = int(db.scalar(
        f"""SELECT count(*) FROM sweep_trials t JOIN runs r ON r.id = t.run_id
             WHERE t.sweep_id = '{sweep}' AND (r.status IN ('completed', 'failed')
                   OR r.pruned_epoch IS NOT NULL)"""))
    claimed = int(db.scalar(f"SELECT count(*) FROM sweep_trials WHERE sweep_id = '{sweep}'"))
    tag = db.scalar(f"SELECT tag FROM run_tags WHERE tag LIKE 'sweep:%' LIMIT 1")
    completed_runs = int(db.scalar(
        f"""SELECT count(*) FROM runs r JOIN run_tags g ON g.run_id = r.id
             WHERE g.tag = '{tag}' AND r.status = 'completed'"""))
    completed_trials = int(db.scalar(
        f"""SELECT count(*) FROM sweep_trials t JOIN runs r ON r.id = t.run_id
             WHERE t.sweep_id = '{sweep}' AND r.status = 'completed'"""))
    all_runs = int(db.scalar(
        f"SELECT count(*) FROM runs r JOIN run_tags g ON g.run_id = r.id WHERE g.tag = '{tag}'"))
    # Every run's epochs: 1..epochs_run, each once per split and metric.
    gaps = db.psql(
        f"""SELECT r.id, r.epochs_run, count(DISTINCT m.epoch), min(m.epoch), max(m.epoch)
              FROM runs r JOIN run_tags g ON g.run_id = r.id
              LEFT JOIN epoch_metrics m ON m.run_id = r.id
             WHERE g.tag = '{tag}' GROUP BY r.id, r.epochs_run
            HAVING r.epochs_run <> count(DISTINCT m.epoch)
                OR (r.epochs_run > 0 AND (min(m.epoch) <> 1 OR max(m.epoch) <> r.epochs_run))""")
    duplicates = int(db.scalar(
        """SELECT count(*) FROM (SELECT run_id, epoch, split, metric FROM epoch_metrics
             GROUP BY run_id, epoch, split, metric HAVING count(*) > 1) d"""))
    # Every recorded artifact: its bytes recomputed from the chunks.
    artifacts = int(db.scalar("SELECT count(*) FROM artifacts"))
    bad = db.psql(
        """SELECT a.path FROM artifacts a LEFT JOIN artifact_blobs b ON b.path = a.path
            WHERE b.path IS NULL OR b.bytes <> a.bytes OR a.sha256 <> encode(sha256(
                  COALESCE((SELECT string_agg(c.data, ''::bytea ORDER BY c.seq)
                              FROM artifact_chunks c WHERE c.path = a.path), ''::bytea)), 'hex')""")
    resumed = int(db.scalar(
        f"SELECT count(*) FROM work_items WHERE sweep_id = '{sweep}' AND attempts > 0"))
    lost = int(db.scalar(
        f"SELECT COALESCE(sum(attempts), 0) FROM work_items WHERE sweep_id = '{sweep}'"))
    return {
        "trials_claimed": claimed, "trials_ended": ended, "completed_trials": completed_trials,
        "completed_runs": completed_runs, "runs": all_runs, "epoch_gaps": len(gaps),
        "duplicate_epoch_rows": duplicates, "artifacts": artifacts, "artifacts_bad": len(bad),
        "items_with_lost_leases": resumed, "lost_leases": lost,
    }


def bench_stress(binary, server, quick):
    trials = 20 if quick else 60
    epochs = 300 if quick else 1500
    say(f"stress: {trials} trials of {epochs} epochs, 4 workers, 2 SIGKILL + 1 SIGTERM")
    db = Database(binary, server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            sweep = submit_sweep(db, tmp, {
                "sweep.trials": trials, "sweep.method": "random",
                "sweep.pruner": '{ type = "none" }', "train.epochs": epochs})
            started = time.perf_counter()
            logs = tmp / "logs"
            logs.mkdir()
            serial = iter(range(100))

            def start():
                n = next(serial)
                return db.spawn(tmp, logs / f"worker-{n}.err", "worker", "--exit-when-done",
                                "--lease", "3", "--poll", "0.5")

            workers = [start() for _ in range(4)]
            events = []
            for at, sig in [(0.15, signal.SIGKILL), (0.35, signal.SIGKILL), (0.55, signal.SIGTERM)]:
                wait_for(lambda: items(db).get("done", 0) >= at * trials, 600)
                victim = None
                wait_for(lambda: (victim := training_worker(db, workers)) is not None, 60)
                victim = training_worker(db, workers)
                if victim is None:
                    check(False, f"a worker training at {at:.0%} to send {sig.name}")
                    continue
                victim.send_signal(sig)
                code = victim.wait(timeout=120)
                events.append({"signal": sig.name, "pid": victim.pid, "exit": code,
                               "done_before": items(db).get("done", 0)})
                say(f"  {sig.name} worker pid {victim.pid} (exit {code}) after "
                    f"{events[-1]['done_before']} trials done; a new worker replaces it")
                workers.append(start())
            for worker in workers:
                worker.wait(timeout=900)
            wall = time.perf_counter() - started
            numbers = verify_sweep(db, sweep, trials)
            handed = sum(p.read_text().count("handed back after its checkpoint") for p in logs.iterdir())
            reaped = sum(p.read_text().count("reaped work item") for p in logs.iterdir())
            record = {"bench": "workers-stress", "trials": trials, "epochs": epochs,
                      "wall_s": round(wall, 1), "signals": events, "handed_back": handed,
                      "reaped": reaped, **numbers}
            emit(record)
            check(numbers["trials_claimed"] == trials and numbers["trials_ended"] == trials,
                  f"exactly {trials} trials ended ({numbers['trials_ended']})")
            check(numbers["completed_runs"] == numbers["completed_trials"],
                  f"no trial completed twice ({numbers['completed_runs']} completed runs, "
                  f"{numbers['completed_trials']} completed trials)")
            check(numbers["epoch_gaps"] == 0 and numbers["duplicate_epoch_rows"] == 0,
                  "every committed epoch present once")
            check(numbers["artifacts_bad"] == 0 and numbers["artifacts"] > 0,
                  f"all {numbers['artifacts']} artifacts verify")
            check(events and events[-1]["exit"] == 130 and handed >= 1,
                  "the SIGTERMed worker handed its trial back (exit 130)")
            check(reaped >= 2, f"the SIGKILLed workers' leases were reaped ({reaped})")
            say(f"stress: {trials} trials in {wall:.1f} s; {numbers}")
    finally:
        db.drop()


# SimpleNN on diabetes for 4,000 epochs without early stopping: about 10 s.
LONG_SPEC = """name = "diabetes-long"
seed = 42

[data]
path = "data/diabetes.csv"
target = "target"
normalize = "zscore"
split = { train = 0.70, validation = 0.15, test = 0.15 }

[model]
layers = [{ type = "linear", units = 64 }, { type = "relu" }, { type = "linear", units = 1 }]

[loss]
type = "mse"

[optimizer]
type = "adam"
learning_rate = 1e-3

[train]
epochs = 4000
batch_size = 32
"""


def snapshot(db, run):
    return {
        "run": db.psql(f"SELECT status, epochs_run, best_epoch, heartbeat_at, ended_at, owner, "
                       f"selection_value, weights_digest FROM runs WHERE id = '{run}'"),
        "epochs": db.psql(f"SELECT count(*), max(epoch), sum(value) FROM epoch_metrics "
                          f"WHERE run_id = '{run}'"),
        "artifacts": db.psql(f"SELECT path, sha256 FROM artifacts WHERE run_id = '{run}' ORDER BY path"),
        "blobs": db.psql("SELECT path, sha256 FROM artifact_blobs ORDER BY path"),
        "items": db.psql("SELECT id, state, attempts, lease_token FROM work_items ORDER BY id"),
    }


def bench_stall(binary, server, quick):
    say("stall: SIGSTOP a worker past its lease, another takes over, SIGCONT")
    db = Database(binary, server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            sweep_spec(tmp, {})
            (tmp / "long.toml").write_text(LONG_SPEC)
            out = db.run(tmp, "run", tmp / "long.toml", "--submit", "--json")
            run = json.loads(out.stdout)["runs"][0]
            stalled = db.spawn(tmp, tmp / "stalled.err", "worker", "--exit-when-done", "--lease", "2",
                               "--poll", "0.5")
            wait_for(lambda: int(db.scalar(f"SELECT epochs_run FROM runs WHERE id = '{run}'")) >= 50, 120)
            stalled.send_signal(signal.SIGSTOP)
            stopped_at = int(db.scalar(f"SELECT epochs_run FROM runs WHERE id = '{run}'"))
            time.sleep(3)
            taker = db.spawn(tmp, tmp / "taker.err", "worker", "--exit-when-done", "--lease", "2",
                             "--poll", "0.5")
            code = taker.wait(timeout=600)
            before = snapshot(db, run)
            stalled.send_signal(signal.SIGCONT)
            stalled_code = stalled.wait(timeout=120)
            time.sleep(1)
            after = snapshot(db, run)
            stalled_log = (tmp / "stalled.err").read_text()
            taker_log = (tmp / "taker.err").read_text()
            record = {"bench": "workers-stall", "epochs_at_sigstop": stopped_at,
                      "taker_exit": code, "stalled_exit": stalled_code,
                      "status": before["run"][0][0], "epochs_run": int(before["run"][0][1]),
                      "unchanged_after_sigcont": before == after}
            emit(record)
            check("reaped work item" in taker_log and "attempt 2" in taker_log,
                  "the other worker reaped the lease and took the run over")
            check(before["run"][0][0] == "completed", "the run completed under the new worker")
            check("lost the lease" in stalled_log, "after SIGCONT the stalled worker found its lease lost")
            check(before == after, "the stalled worker wrote nothing after SIGCONT")
            say(f"stall: {record}")
    finally:
        db.drop()


def bench_disk(binary, server, quick):
    trials = 6 if quick else 12
    say(f"disk: {trials} trials, submitter and 2 workers in separate folders, evaluate from a third")
    db = Database(binary, server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            submitter, one, two, third = (tmp / n for n in ["submitter", "w1", "w2", "third"])
            for folder in [submitter, one, two, third]:
                folder.mkdir()
            sweep = submit_sweep(db, submitter, {
                "sweep.trials": trials, "sweep.method": "random", "sweep.pruner": '{ type = "none" }',
                "train.epochs": 40, "data.shuffle": "false"})
            workers = [db.spawn(folder, tmp / f"{folder.name}.err", "worker", "--exit-when-done",
                                "--poll", "0.5") for folder in [one, two]]
            for worker in workers:
                worker.wait(timeout=600)
            left = [p.name for folder in [one, two] for p in folder.iterdir()]
            # The test split of an unshuffled 70/15/15 split: the last rows.
            lines = (EXPERIMENTS / "data" / "diabetes.csv").read_text().splitlines()
            header, rows = lines[0], lines[1:]
            test_rows = round(len(rows) * 0.15)
            (third / "test.csv").write_text("\n".join([header] + rows[-test_rows:]) + "\n")
            shown = json.loads(db.run(third, "show", "best", "--json").stdout)
            recorded = {m["metric"]: m["value"] for m in shown["final_metrics"] if m["split"] == "test"} \
                if isinstance(shown.get("final_metrics"), list) else shown["final_metrics"]["test"]
            evaluated = json.loads(db.run(third, "evaluate", "--run", "best", "--input", "test.csv",
                                          "--json").stdout)
            metrics = evaluated.get("metrics", evaluated)
            diffs = {k: abs(metrics[k] - v) for k, v in recorded.items()
                     if k in metrics and isinstance(metrics[k], (int, float))}
            record = {"bench": "workers-disk", "trials": trials, "recorded_test": recorded,
                      "evaluated": {k: metrics[k] for k in diffs}, "max_abs_diff": max(diffs.values()) if diffs else None,
                      "files_left_in_worker_folders": left}
            emit(record)
            check(not left, "the workers' folders stay empty")
            check(bool(diffs) and max(diffs.values()) < 1e-4,
                  f"evaluate --run best from a third folder reproduces the test metrics ({diffs})")
            say(f"disk: {record}")
    finally:
        db.drop()


def bench_claims(binary, server, quick):
    trials = 60 if quick else 200
    for count in [1, 2, 4, 8]:
        db = Database(binary, server)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                submit_sweep(db, tmp, {"sweep.trials": trials, "sweep.method": "random",
                                       "sweep.pruner": '{ type = "none" }', "train.epochs": 1})
                started = time.perf_counter()
                workers = [db.spawn(tmp, tmp / f"w{n}.err", "worker", "--exit-when-done", "--poll", "0.2")
                           for n in range(count)]
                for worker in workers:
                    worker.wait(timeout=900)
                wall = time.perf_counter() - started
                done = items(db).get("done", 0)
                record = {"bench": "workers-claims", "workers": count, "trials": trials,
                          "done": done, "wall_s": round(wall, 2), "trials_per_s": round(done / wall, 1)}
                emit(record)
                check(done == trials, f"{count} worker(s): all {trials} one-epoch trials done")
                say(f"claims: {count} worker(s), {trials} one-epoch trials in {wall:.1f} s: "
                    f"{done / wall:.1f} trials/s")
        finally:
            db.drop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--pg", default=os.environ.get("PIPELINE_TEST_PG"))
    parser.add_argument("--only", default="stress,stall,disk,claims")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not args.pg:
        raise SystemExit("give a PostgreSQL server: --pg postgres://USER@HOST:PORT/postgres "
                         "(`just bench-workers` starts one)")
    binary = str(Path(args.bin).resolve())
    benches = {"stress": bench_stress, "stall": bench_stall, "disk": bench_disk,
               "claims": bench_claims}
    for name in args.only.split(","):
        benches[name](binary, args.pg, args.quick)
    if FAILED:
        say(f"{len(FAILED)} check(s) failed: {FAILED}")
        sys.exit(1)


if __name__ == "__main__":
    main()
