"""Persistent models vs loading them for every job (the seed's way), on 20 different short clips.

    python3 benchmarks/persistent.py [--runs 3] [--quick]

20 clips of 3-5 s cut from the six recordings in ../shared/audio (different content each;
written once to .bench-cache/clips as 16 kHz WAV). Per clip, interleaved A B A B:
  A, per-job (the seed): ``with GPUTranscriptionPipeline(...) as p: p.process(path)``: Whisper
     tiny.en and the pyannote diarization pipeline are loaded for the job and freed after it;
  B, persistent (the service): one GPUTranscriptionPipeline loaded once, ``p.process(path)``.
Both: CPU, int8, 2 threads, beam 5, VAD, diarization on, same code apart from the loading.
Ratio = total wall per-job / total wall persistent over the 20 clips; target >= 5x.
Writes benchmarks/results/persistent.json.
"""

from __future__ import annotations

import warnings

from common import CACHE, CPU_THREADS, LECTURE, MODEL, SAMPLE, arguments, decode, progress, shared_audio, stats, timed, write, write_wav

from streamscribe.pipeline import DiarizationConfig, GPUTranscriptionPipeline

# (file, start s, end s): 20 different stretches of real speech, 3-5 s each
CLIPS = [(LECTURE, s, s + 4.0) for s in (0.0, 6.0, 12.0, 18.0, 24.0, 31.0, 38.0, 46.0)]
CLIPS += [(SAMPLE, 6.5, 10.8), (SAMPLE, 10.8, 14.2), (SAMPLE, 14.4, 17.8), (SAMPLE, 17.8, 21.5), (SAMPLE, 21.9, 26.0)]
CLIPS += [("jfk.flac", 0.0, 4.5), ("jfk.flac", 5.5, 10.5), ("multilingual.mp3", 0.0, 4.0), ("multilingual.mp3", 5.0, 9.0),
          ("multilingual.mp3", 10.0, 14.0), ("hotwords.mp3", 0.0, 5.0), ("stereo_diarization.wav", 0.0, 5.0)]


def make_clips(limit: int) -> list:
    audio_dir = shared_audio()
    paths = []
    for name, start, end in CLIPS[:limit]:
        samples = decode(audio_dir / name).samples[int(start * 16000) : int(end * 16000)]
        assert 3.0 <= len(samples) / 16000 <= 5.0, (name, len(samples) / 16000)
        path = CACHE / "clips" / f"{name.rsplit('.', 1)[0]}_{start:05.1f}-{end:05.1f}.wav"
        paths.append(path if path.is_file() else write_wav(path, samples))
    return paths


def main() -> None:
    args = arguments(__doc__, runs=3, quick_runs=1)
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # numpy on near-silent windows of short clips
    clips = make_clips(5 if args.quick else 20)

    def pipeline() -> GPUTranscriptionPipeline:
        return GPUTranscriptionPipeline(MODEL, device="cpu", compute_type="int8", cpu_threads=CPU_THREADS, beam_size=5,
                                        vad_filter=True, cache_dir=CACHE, diarization=DiarizationConfig(cache_dir=CACHE))

    def per_job(path) -> dict:
        with pipeline() as p:  # the seed: load, run, free
            return p.process(path, enable_diarization=True)

    persistent = pipeline().load()
    progress("warm-up (not measured)")
    per_job(clips[0]), persistent.process(clips[0])
    walls = {"per_job": [[] for _ in clips], "persistent": [[] for _ in clips]}
    totals = {"per_job": [], "persistent": []}
    for run in range(args.runs):
        for i, path in enumerate(clips):
            walls["per_job"][i].append(timed(lambda: per_job(path))[1])
            walls["persistent"][i].append(timed(lambda: persistent.process(path))[1])
        for name in totals:
            totals[name].append(sum(w[run] for w in walls[name]))
        progress(f"run {run + 1}/{args.runs}: per-job {totals['per_job'][-1]:.2f}s, persistent {totals['persistent'][-1]:.2f}s for {len(clips)} clips")
    # What loading costs, measured alone (the difference per job should be about this)
    loads = [timed(lambda: pipeline().load())[1] for _ in range(args.runs)]
    audio_s = sum(decode(p).duration for p in clips)
    ratio = stats([a / b for a, b in zip(totals["per_job"], totals["persistent"])])
    payload = {
        "what": "total wall for 20 different 3-5 s clips: models loaded per job (seed) vs loaded once (service); diarization on",
        "model": MODEL, "compute_type": "int8", "cpu_threads": CPU_THREADS, "beam_size": 5, "diarization": "pyannote (offline, service defaults)",
        "clips": [p.name for p in clips], "audio_seconds": round(audio_s, 2),
        "total_wall_s": {name: stats(v) for name, v in totals.items()},
        "per_clip_median_wall_s": {name: [stats(w)["median"] for w in v] for name, v in walls.items()},
        "load_s": stats(loads),
        "rtf_total": {name: round(audio_s / stats(v)["median"], 2) for name, v in totals.items()},
        "ratio_per_job_vs_persistent": ratio,
        "target_ratio": 5.0,
    }
    write("persistent", payload, args.quick)
    print(f"persistent: {len(clips)} clips in {payload['total_wall_s']['persistent']['median']:.1f}s vs "
          f"{payload['total_wall_s']['per_job']['median']:.1f}s loading per job -> {ratio['median']:.2f}x (target >= 5x); "
          f"load {payload['load_s']['median']:.2f}s")


if __name__ == "__main__":
    main()
