#!/usr/bin/env bash
# On a machine with an NVIDIA GPU (sm_90 for the default build): runs what
# tests/gpu/build.sh packed into .gpu/. Needs the NVIDIA driver and the CUDA 13
# libraries (cublas, curand, cudart; pip wheels will do), no Rust toolchain.
#
#   1. the GPU tests: the shipped experiments, shortened, train alike on the
#      GPU and the CPU; bf16 and f16 train on the GPU;
#   2. the first experiment through the real binary on `cuda`, then infer
#      and evaluate with its run on `--device cuda` against `--device cpu`;
#   3. serve with `--device cuda`; a run interrupted on the GPU, resumed;
#   4. the other shipped experiments on `cuda` with their test scores and
#      training seconds, some also on the CPU of the same machine.
#
# Everything goes to $OUT (default /tmp/gpu-check): log, runs.jsonl.
# Exit status: the number of failed steps.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
failed=0
step() { echo; echo "== $*"; }
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

step "GPU"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv

# The CUDA libraries the binary links: wherever pip or a toolkit put them.
libs=$(find ${CUDA_LIBRARY_SEARCH:-/opt /usr /usr/local} \
  \( -name 'libcublas.so.13' -o -name 'libcublasLt.so.13' -o -name 'libcurand.so.10' \
  -o -name 'libcudart.so.13' -o -name 'libnvrtc.so.13' \) 2>/dev/null |
  xargs -r -n1 dirname | sort -u | paste -sd: -)
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

BIN=/tmp/gpu-bin
mkdir -p $BIN
for f in pipeline cuda-tests; do
  if [ -f ".gpu/$f.gz" ]; then gunzip -c ".gpu/$f.gz" >"$BIN/$f"; else cp ".gpu/$f" "$BIN/$f"; fi
  chmod +x "$BIN/$f"
  if ldd "$BIN/$f" | grep 'not found'; then fail "$f: libraries not found"; fi
done
P="$BIN/pipeline"
"$P" --version

step "GPU tests (crates/pipeline-train/tests/cuda.rs)"
PIPELINE_EXPERIMENTS="$PWD/experiments" timeout 240 "$BIN/cuda-tests" --nocapture --test-threads 1 ||
  fail "GPU tests"

REG=/tmp/gpu-registry/registry.db
rm -rf /tmp/gpu-registry
# run NAME DEVICE [--set ...]: trains a shipped experiment, appends its JSON
# summary (with the device and wall seconds) to runs.jsonl.
run() {
  local name=$1 device=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  if timeout 75 "$P" run "experiments/$name.toml" --registry "$REG" -q --json \
    --set "train.device=$device" "$@" >"$OUT/last.json"; then
    end=$(date +%s.%N)
    python3 - "$OUT/last.json" "$name" "$device" "$start" "$end" "$*" >>"$OUT/runs.jsonl" <<'PY'
import json, sys
path, name, device, start, end, extra = sys.argv[1:]
run = json.load(open(path))
test = run["metrics"]["test"]
print(json.dumps({"experiment": name, "device": device, "overrides": extra,
  "epochs": run["epochs_run"], "wall_s": round(float(end) - float(start), 2),
  "train_s": round(run["train_seconds"], 2), "id": run["id"],
  "test": {k: round(v, 4) for k, v in test.items()}}))
PY
    tail -1 "$OUT/runs.jsonl"
  else
    fail "run $name on $device"
  fi
}

step "The first experiment on the GPU"
run mlp cuda

step "infer and evaluate on the GPU"
first=$(grep '"experiment": "mlp"' "$OUT/runs.jsonl" | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for device in cpu cuda; do
  "$P" infer --registry "$REG" --run "$first" --input experiments/data/diabetes.csv \
    --only-predictions --device "$device" --output "$OUT/predictions-$device.csv" ||
    fail "infer on $device"
  "$P" evaluate --registry "$REG" --run "$first" --input experiments/data/diabetes.csv \
    --device "$device" --json >"$OUT/evaluate-$device.json" || fail "evaluate on $device"
done
python3 - "$OUT" <<'PY' || fail "cpu and cuda predictions differ"
import csv, sys
out = sys.argv[1]
read = lambda d: [float(r["prediction"]) for r in csv.DictReader(open(f"{out}/predictions-{d}.csv"))]
cpu, cuda = read("cpu"), read("cuda")
worst = max(abs(a - b) / max(abs(b), 1.0) for a, b in zip(cpu, cuda))
print(f"{len(cpu)} predictions, largest relative difference cpu/cuda {worst:.2e}")
sys.exit(0 if len(cpu) == len(cuda) == 442 and worst < 1e-5 else 1)
PY
step "serve on the GPU"
"$P" serve --registry "$REG" --run "$first" --addr 127.0.0.1:0 --device cuda 2>"$OUT/serve.err" &
server=$!
base=
for _ in $(seq 100); do
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/serve.err" | head -1)
  [ -n "$base" ] && break
  sleep 0.1
done
python3 - "$base" "$OUT/predictions-cpu.csv" <<'PY' || fail "serve on cuda"
import csv, json, sys, urllib.request
base, predictions = sys.argv[1:]
row = next(csv.DictReader(open("experiments/data/diabetes.csv")))
row.pop("target")
request = urllib.request.Request(base + "/predict", json.dumps({k: json.loads(v) for k, v in row.items()}).encode(),
                                 {"content-type": "application/json"})
answer = json.load(urllib.request.urlopen(request, timeout=30))
served = answer["predictions"][0]
expected = float(next(csv.DictReader(open(predictions)))["prediction"])
print(f"served {served}, infer on the CPU {expected}")
sys.exit(0 if abs(served - expected) <= 1e-5 * max(abs(expected), 1.0) else 1)
PY
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null

step "An interrupted run on the GPU resumes"
# co2_lstm takes 30 s or more on the GPU: stopped with SIGINT after 10, as
# Ctrl-C would, then resumed from its last checkpoint on the GPU.
timeout -s INT 10 "$P" run experiments/co2_lstm.toml --registry "$REG" -q --json \
  --set train.device=cuda >"$OUT/last.json"
killed=$("$P" show latest --experiment co2-lstm --registry "$REG" --json |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["status"], d["epochs_run"])')
echo "interrupted: $killed"
case "$killed" in *" killed "*) ;; *) fail "the interrupted run is not recorded as killed" ;; esac
if timeout 90 "$P" resume "${killed%% *}" --registry "$REG" -q >/dev/null; then
  resumed=$("$P" show "${killed%% *}" --registry "$REG" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["epochs_run"], d["device"])')
  echo "resumed: $resumed"
  [ "$resumed" = "completed 40 cuda:0" ] || fail "the resumed run did not complete its 40 epochs on cuda:0"
else
  fail "resume on cuda"
fi

step "The other experiments on the GPU"
run breast_cancer cuda
run digits_cnn cuda
run mnist_cnn cuda
run mnist_cnn cuda --set train.precision=bf16
run co2_lstm cuda
run sunspots_gru cuda
run sunspots_transformer cuda

step "The same on this machine's CPU"
run mnist_cnn cpu
run digits_cnn cpu
run co2_lstm cpu

step "The registry records the device each run used"
python3 -c 'import json,sys; [print(json.loads(l)["id"], json.loads(l)["device"]) for l in open(sys.argv[1])]' "$OUT/runs.jsonl" |
  while read -r id device; do
    recorded=$("$P" show "$id" --registry "$REG" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["device"], d["status"])')
    echo "$id asked $device, recorded $recorded"
    case "$recorded" in "${device/cuda/cuda:0} completed") ;; *) echo "FAILED: device not recorded"; exit 1 ;; esac
  done || fail "recorded devices"

rm -f "$OUT/last.json"

step "done: $failed failed step(s)"
exit $failed
