#!/usr/bin/env bash
# Builds `pipeline` and the GPU tests (crates/pipeline-train/tests/cuda.rs)
# with the `cuda` feature on a machine with no GPU and no CUDA install, and
# packs them into .gpu/ for a machine with a GPU (`just gpu-check` there).
#
# The recipe (CUDA 13.0 compiler from PyPI wheels, link-time stubs of the
# driver libraries with their real SONAMEs, sm_90 kernels) is the one in
# ../shared/CUDA.md. The stubs only satisfy the linker: the GPU machine's
# driver and CUDA libraries are used at run time.
#
# Environment: CUDA_COMPUTE_CAP (default 90: H100/H200), CUDA_VENV and
# CUDA_ROOT (where the compiler and the CUDA_HOME layout go),
# CARGO_TARGET_DIR (default a cache of its own: the feature changes candle's
# build, and sharing the CPU build's folder would rebuild both in turn).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${CUDA_VENV:-/tmp/cuda-venv}
ROOT=${CUDA_ROOT:-/tmp/cuda-root}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR_CUDA:-$HOME/.cache/pipeline/target-cuda}

if [ ! -x "$VENV/bin/pip" ]; then
  python3 -m venv "$VENV"
fi
# Pinned together: nvcc 13.0 writes PTX that an R580 (CUDA 13.0) driver can
# load; newer nvcc's PTX is refused by that driver.
"$VENV/bin/pip" install -q \
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
CU=$(dirname "$(dirname "$(find "$VENV" -path '*/nvidia/cu13/bin/nvcc' | head -1)")")

rm -rf "$ROOT"
mkdir -p "$ROOT/lib64/stubs"
ln -s "$CU/bin" "$ROOT/bin"
ln -s "$CU/include" "$ROOT/include"
ln -s "$CU/nvvm" "$ROOT/nvvm"
ln -s "$CU/lib/libcudart.so.13" "$ROOT/lib64/libcudart.so"

cargo fetch
CUDARC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10 | head -1)
stub() { # stub <cudarc module> <soname> <name>
  grep -oE '^pub unsafe fn [A-Za-z0-9_]+' "$CUDARC/src/$1/sys/mod.rs" \
    | awk '{print "void " $4 "(void) {}"}' | sort -u >"$ROOT/lib64/stubs/$3.c"
  gcc -shared -fPIC -Wl,-soname,"$2" -o "$ROOT/lib64/stubs/lib$3.so" "$ROOT/lib64/stubs/$3.c"
}
stub driver libcuda.so.1 cuda
stub cublas libcublas.so.13 cublas
stub cublaslt libcublasLt.so.13 cublasLt
stub curand libcurand.so.10 curand
stub nvrtc libnvrtc.so.13 nvrtc

export CUDA_HOME="$ROOT" PATH="$ROOT/bin:$PATH" CUDARC_CUDA_VERSION=13000
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90} CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-2}
nvcc --version | tail -1

# One cargo command builds the binary and the GPU tests: cargo unifies
# features over the packages and targets it builds (dev-dependencies too),
# so two commands with different selections would each rebuild candle and
# polars.
cargo test --release -p pipeline-cli -p pipeline-train \
  --features pipeline-cli/cuda,pipeline-train/cuda --no-run --message-format=json >"$ROOT/artifacts.json"
executable() { # executable <kind> <target name>: the binary itself for a bin, not its test harness
  python3 - "$ROOT/artifacts.json" "$1" "$2" <<'PY'
import json, sys
path, kind, name = sys.argv[1:]
for line in open(path):
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["target"]["name"] == name and kind in m["target"]["kind"]
            and m["profile"]["test"] == (kind == "test")):
        print(m["executable"])
        break
PY
}
binary=$(executable bin pipeline)
tests=$(executable test cuda)

rm -rf .gpu
mkdir -p .gpu
strip -o .gpu/pipeline "$binary"
strip -o .gpu/cuda-tests "$tests"
gzip -9 .gpu/pipeline .gpu/cuda-tests
ls -l .gpu
