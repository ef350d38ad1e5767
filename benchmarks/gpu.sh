#!/usr/bin/env bash
# GPU benchmark in one command, on a CUDA machine:
#
#     benchmarks/gpu.sh [MODEL] [--runs 3] [--quick]
#
# MODEL: a faster-whisper name or a CTranslate2 model directory (default: large-v3, or
# $STREAMSCRIBE_WHISPER_MODEL). The lent GPU machines have NO internet access: large-v3 cannot be
# downloaded there. Carry a converted model in (e.g. a Systran/faster-whisper-large-v3 snapshot
# directory) and pass its path; otherwise benchmarks/gpu.py falls back to the bundled offline
# `base` model and says so in its summary line and in benchmarks/results/gpu.json.
#
# What it does: checks the GPU, installs the project (from PyPI, or with PIP_FIND_LINKS=<wheel dir>
# from carried wheels, offline) when it is not importable, points CTranslate2 at the cuBLAS/cuDNN
# libraries that torch's CUDA wheels ship, then runs benchmarks/gpu.py: Whisper fp16 sequential
# and batched, the full job with diarization, RTF (audio s / wall s), VRAM peak, stage times.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${STREAMSCRIBE_WHISPER_MODEL:-large-v3}"
if [[ $# -gt 0 && "$1" != --* ]]; then MODEL="$1"; shift; fi
PY="${PYTHON:-python3}"

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L; then
    echo "gpu.sh: no NVIDIA GPU here (nvidia-smi fails); run it on a CUDA machine" >&2
    exit 2
fi
if ! "$PY" -c "import faster_whisper, pyannote.audio, aiokafka, pydantic_settings" 2>/dev/null; then
    echo "gpu.sh: installing the project and its dependencies"
    if [[ -n "${PIP_FIND_LINKS:-}" ]]; then
        "$PY" -m pip install --no-index --find-links "$PIP_FIND_LINKS" -e .
    else
        "$PY" -m pip install -e .
    fi
fi
# CTranslate2 needs cuBLAS 12 and cuDNN 9; torch's CUDA build brings them as nvidia-* wheels.
LIBS=$("$PY" - <<'PY' 2>/dev/null || true
import importlib, os
dirs = []
for name in ("nvidia.cublas.lib", "nvidia.cudnn.lib"):
    try:
        dirs += list(importlib.import_module(name).__path__)
    except ImportError:
        pass
print(os.pathsep.join(dirs))
PY
)
export LD_LIBRARY_PATH="${LIBS}${LIBS:+:}${LD_LIBRARY_PATH:-}"
export PYANNOTE_METRICS_ENABLED=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" benchmarks/gpu.py --model "$MODEL" "$@"
# Cross-job batching where it is meant to pay off: 16 short jobs in one batched call vs one by one.
"$PY" benchmarks/batching_crossjob.py --device cuda --model "$MODEL" "$@" \
    || echo "gpu.sh: the cross-job batching run failed (is $MODEL available offline?); gpu.json is complete" >&2
