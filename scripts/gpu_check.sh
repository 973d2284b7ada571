#!/usr/bin/env bash
# GPU check of `word2vec -device cuda`: the real-GPU tests, the wiki8 benchmark (skip-gram
# NS and CBOW NS, sizes 100 and 300) and the analogy accuracy (size 100, seeds 1-3),
# written to OUT/gpu-results.md (tables) and OUT/gpu-results.json (raw numbers).
#
# Preparation, from the repository root, on a machine that has ../shared:
#
#     mkdir -p gpu-data
#     cp ../shared/data/wiki8.txt.gz ../shared/data/questions-words.txt gpu-data/
#
# gpu-data/ (34 MB) is ignored by git: send it along with the checkout (for instance as a
# carried path).  The GPU machine needs Python 3.12 with numba, numba-cuda, numpy, click
# and tqdm, and nothing else: no network, no pytest, no install step (the package is
# used from this checkout through PYTHONPATH; its CPU kernels are compiled here first,
# by the C compiler if there is one, else through Numba's JIT).
#
#     bash scripts/gpu_check.sh OUT            # everything: about 4 minutes on an H200
#                                              # at the 10M words/s target (budget below)
#     bash scripts/gpu_check.sh --quick OUT    # tests + size 100, one seed: about 2 minutes
#
# Budget: no new wiki8 run starts after GPU_CHECK_BUDGET seconds (default 330) of the
# benchmark, a run started late gets at most 90 s and each evaluation at most 60 s, so
# the benchmark ends by 480 s and the script (with at most 5 + 3 minutes of kernel
# build and GPU checks, normally under one) within 10 minutes even if the GPU is far
# slower than targeted.  At the 10M words/s target a run takes about 20 s: vocabulary
# and token ids (~3 s), CUDA start-up and the kernels' JIT (cached after the first
# run), 86M words of training (~9 s), writing the vectors, then compute-accuracy (~3 s).
#
# Without a GPU, the same plumbing runs under Numba's CUDA simulator on a tiny corpus:
#
#     GPU_CHECK_SIMULATE=1 bash scripts/gpu_check.sh /tmp/gpu-check
set -uo pipefail

quick=""
if [ "${1:-}" = "--quick" ]; then
    quick="--quick"
    shift
fi
if [ $# -ne 1 ]; then
    echo "usage: bash scripts/gpu_check.sh [--quick] OUT_FOLDER" >&2
    exit 2
fi
out="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
exec > >(tee "$out/gpu-check.log") 2>&1

python="${PYTHON:-python3}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
simulate=""
if [ "${GPU_CHECK_SIMULATE:-0}" != "0" ]; then
    export NUMBA_ENABLE_CUDASIM=1
    simulate="--simulate"
fi
started=$(date +%s)
status=0
step() { echo; echo "== $* ($(( $(date +%s) - started )) s)"; }

step "machine"
date -Is
gpu="Numba CUDA simulator"
if [ -z "$simulate" ]; then
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
        gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
    else
        echo "nvidia-smi not found"
        gpu="unknown"
    fi
fi
"$python" - <<'EOF'
import sys
from importlib.metadata import version
print("python", sys.version.split()[0])
for name in ("numpy", "numba", "numba-cuda", "click", "tqdm"):
    try:
        print(name, version(name))
    except Exception:
        print(name, "not installed")
EOF
nproc

step "CPU kernels (the walk that feeds the GPU)"
timeout 300 "$python" -m w2v_cli.native || status=1

step "GPU checks (kernels against their NumPy twins, the backend)"
timeout 180 "$python" -m tests.cuda_cases || status=1

step "benchmark and accuracy"
"$python" scripts/gpu_bench.py --data "$root/gpu-data" --out "$out" --gpu "$gpu" \
    --budget "${GPU_CHECK_BUDGET:-330}" $quick $simulate || status=1

step "done, exit status $status; results in $out/gpu-results.md"
exit $status
