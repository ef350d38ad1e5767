"""Peak memory (RSS) of the service process per configuration.

    python3 benchmarks/memory.py [--runs 3] [--quick]

Each run is a fresh ``python3 -m streamscribe demo <lecture> <sample>`` process (embedded
broker + consumer + executor, 60 s + 30 s of audio through Kafka), configured by environment
variables; its peak RSS is read from its own rusage (os.wait4). Configurations interleaved
A B C D A B C D: null provider (no model), tiny.en without diarization, tiny.en + pyannote
diarization (the default), base + pyannote diarization. CPU, int8, 2 threads.
Memory growth over a long run (RSS after 510 events vs after 10) is benchmarks/soak.py.
Writes benchmarks/results/memory.json.
"""

from __future__ import annotations

import os
import subprocess
import sys

from common import CACHE, CPU_THREADS, LECTURE, ROOT, SAMPLE, arguments, progress, shared_audio, stats, write

CONFIGS = {
    "null provider (no model)": {"STREAMSCRIBE_PROVIDERS": "null", "STREAMSCRIBE_DIARIZATION_MODE": "off"},
    "tiny.en, no diarization": {"STREAMSCRIBE_WHISPER_MODEL": "tiny.en", "STREAMSCRIBE_DIARIZATION_MODE": "off"},
    "tiny.en + diarization": {"STREAMSCRIBE_WHISPER_MODEL": "tiny.en", "STREAMSCRIBE_DIARIZATION_MODE": "pyannote"},
    "base + diarization": {"STREAMSCRIBE_WHISPER_MODEL": "base", "STREAMSCRIBE_DIARIZATION_MODE": "pyannote"},
}


def peak_rss(env: dict, files: list) -> int:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSCRIBE_") or k == "STREAMSCRIBE_SHARED_DIR"}
    environment.update({"PYTHONPATH": os.environ["PYTHONPATH"], "STREAMSCRIBE_CPU_THREADS": str(CPU_THREADS),
                        "STREAMSCRIBE_MODEL_CACHE_DIR": str(CACHE), "STREAMSCRIBE_PROVIDERS": "cpu", **env})
    proc = subprocess.Popen([sys.executable, "-m", "streamscribe", "demo", *map(str, files)], cwd=ROOT, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"demo failed ({code}) with {env}: {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return usage.ru_maxrss * 1024


def main() -> None:
    args = arguments(__doc__, runs=3, quick_runs=1)
    audio = shared_audio()
    files = [audio / LECTURE, audio / SAMPLE]
    configs = dict(list(CONFIGS.items())[:2]) if args.quick else CONFIGS
    peaks: dict[str, list[int]] = {name: [] for name in configs}
    for run in range(args.runs):
        for name, env in configs.items():
            peaks[name].append(peak_rss(env, files))
            progress(f"run {run + 1}/{args.runs} {name}: peak RSS {peaks[name][-1] / 2**20:,.0f} MiB")
    out = {name: stats([p / 2**20 for p in v]) for name, v in peaks.items()}
    write("memory", {"what": "peak RSS (MiB) of `streamscribe demo` on the lecture + pyannote sample, per configuration",
                     "cpu_threads": CPU_THREADS, "audio": [f.name for f in files], "peak_rss_mib": out}, args.quick)
    print("memory: peak RSS " + ", ".join(f"{n} {s['median']:,.0f} MiB" for n, s in out.items()))


if __name__ == "__main__":
    main()
