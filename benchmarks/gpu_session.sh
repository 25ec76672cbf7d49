#!/usr/bin/env bash
# Every GPU measurement this repository reports, in the order to run them, one part per call.
#
#   bash benchmarks/gpu_session.sh check     # device, versions, `pytest -m gpu`          (~2 min)
#   bash benchmarks/gpu_session.sh study     # issue #12 seed study; run it twice: resumes (≤ 9.5 min)
#   bash benchmarks/gpu_session.sh scoring   # issue #10 BLiMP throughput vs minicons      (~9 min)
#   bash benchmarks/gpu_session.sh trainer   # issue #9 throughput vs HF Trainer, sweeps   (~9 min)
#   bash benchmarks/gpu_session.sh graphs    # issue #9 CUDA graphs / max-autotune          (~9 min)
#   bash benchmarks/gpu_session.sh strict    # issue #9 strict-small wall clock            (~5 min)
#
# Each part is sized to finish inside one 10-minute command and writes its logs to $OUT (default
# out/gpu/), which the device tool returns. Caches live under out/ (git-ignored), so on a machine
# that stays warm a rerun of `study` resumes where the last call stopped. Copy the tables into
# docs/benchmarks.md with the device named.
#
# On the lent device machines the packages corpuskit needs besides torch/transformers (and pytest,
# hypothesis for the gpu tests) may be absent and nothing outside can be reached: carry pinned
# wheels in .whl/ and a copy of the shared data in
# .devdata/data (both git-ignored); this script installs them when corpuskit does not import.
set -euo pipefail

cd "$(dirname "$0")/.."
mkdir -p "${OUT:=out/gpu}"
OUT=$(cd "$OUT" && pwd) # absolute: the strict part runs from benchmarks/

setup() {
    if [ -d .whl ] && ! python -c "import pydantic, corpuskit" 2>/dev/null; then
        pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl >/dev/null 2>&1
        export PYTHONPATH=/tmp/site:$PWD
        pip install -q --no-index --no-deps --no-build-isolation -e . >/dev/null 2>&1
    else
        export PYTHONPATH=$PWD
    fi
    if [ -d .devdata/data ]; then export CORPUSKIT_DATA=$PWD/.devdata/data; fi
    export PYTHONUNBUFFERED=1
}

# Runs a command with a time cap, keeping its output in $OUT/<name>.txt (and on the console).
capped() {
    local name=$1 seconds=$2
    shift 2
    echo "== $name: $*" | tee -a "$OUT/$name.txt"
    timeout "$seconds" "$@" 2>>"$OUT/$name.err" | tee -a "$OUT/$name.txt" || echo "(exit $?)" | tee -a "$OUT/$name.txt"
}

part_check() {
    nvidia-smi | tee "$OUT/nvidia-smi.txt"
    python -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)" | tee "$OUT/versions.txt"
    capped pytest-gpu 300 python -m pytest -q -m gpu -p no:cacheprovider tests/trainers/test_gpu.py tests/evaluate/test_gpu.py
}

part_study() {
    capped seed-study 560 python benchmarks/seed_study.py --work out/seed-study --blimp-limit 100
    cp out/seed-study/rows.json "$OUT/" 2>/dev/null || true
}

part_scoring() {
    local bench="python benchmarks/blimp_throughput.py --device cuda --size 30m --minicons-batch 64"
    # Causal scoring met its targets in session 2 (67,000 pairs in 7.3 s, 7.9x minicons). Masked
    # PLL at the session-2 size (6,700 pairs: 3.74 s vs minicons 9.43 s, fp32), in the opt-in
    # precisions, against minicons at its default and at equal (TF32) matmul precision.
    capped blimp-masked-tf32 110 $bench --pairs 6700 --objective masked --compute tf32 --minicons-compute fp32 tf32
    capped blimp-masked-bf16 110 $bench --pairs 6700 --objective masked --compute bf16 --minicons-compute fp32 tf32
    capped blimp-masked-bf16-equal 60 $bench --pairs 6700 --objective masked --compute bf16 --equal-length
    # The studies' own encoder (LTG-BERT), minicons reading its export through the saved code.
    capped blimp-masked-ltgbert 60 $bench --pairs 6700 --objective masked --arch ltgbert
    # The issue's target is all 67,000 pairs of a masked model in 5 minutes (fp32, the default).
    capped blimp-masked-full 220 $bench --pairs 67000 --objective masked
}

part_trainer() {
    local bench="python benchmarks/trainer_throughput.py --steps 30 --repeat 1"
    capped trainer-base 330 $bench --configs babylm-base.yaml --ours "" "batch_size=128 grad_accum=1" "batch_size=128 grad_accum=1 loss_chunk_tokens=16384"
    capped trainer-small 150 $bench --configs babylm-small.yaml --hf-compile off --ours "" "batch_size=256 loss_chunk_tokens=16384"
    capped trainer-head 40 $bench --configs babylm-base.yaml --set batch_size=128 --loss-memory 0 16384 4096
}

# CUDA graphs and GEMM autotuning: compiles take minutes. Compare with `trainer`'s HF rows.
part_graphs() {
    local bench="python benchmarks/trainer_throughput.py --steps 30 --repeat 1"
    capped pytest-graphs 120 python -m pytest -q -m gpu -p no:cacheprovider tests/trainers/test_gpu.py -k graph
    capped trainer-autotune 300 $bench --configs babylm-base.yaml --hf-compile off --ours "batch_size=128 grad_accum=1 loss_chunk_tokens=16384 compile=max-autotune"
    capped trainer-graphs 150 $bench --configs babylm-small.yaml --hf-compile off --ours "compile=reduce-overhead" "compile=max-autotune"
}

part_strict() {
    (cd benchmarks && capped strict-small 560 python strict_small.py --workers 16)
}

setup
for part in "$@"; do
    case $part in
        check | study | scoring | trainer | graphs | strict) "part_$part" ;;
        *)
            echo "unknown part '$part' (one of: check study scoring trainer graphs strict)" >&2
            exit 2
            ;;
    esac
done
