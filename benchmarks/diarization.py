"""Diarization speed and quality: the reference recipe vs the service's settings, and vs ASR.

    python3 benchmarks/diarization.py [--runs 3] [--quick]

Writes benchmarks/results/diarization.json. RTF = audio seconds / wall seconds (higher is
faster). A and B are interleaved (ABAB...) because this machine is noisy; every number is the
median of --runs, with min and max beside it.

* baseline "recipe": pyannote's default 1 s hop (segmentation_step 0.1), CAM++ in torch:
  the recipe in ../shared/reference, measured here in the same run.
* "service": the defaults of streamscribe (segmentation_step 0.2, CAM++ in ONNX Runtime).
* ASR: tiny.en int8 with the service's settings (beam 5, VAD, word timestamps) on the same audio.
* peak RSS: `streamscribe demo` (embedded broker + consumer + tiny.en + diarization) on the sample.
* alignment: one synthetic hour (12,000 words, 1,500 turns).
* a second DER check, "concat": jfk (A) + lecture 0-25 s (B) + hotwords (C) + jfk (A) + lecture
  30-45 s (B), different recordings back to back. Its reference turns come from an energy VAD
  of each clip, so pauses inside a clip count as errors for every configuration alike: compare
  configurations on it, don't read its DER as absolute.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

from common import ROOT, arguments, progress, shared_audio, stats, write  # noqa: E402

import numpy as np  # noqa: E402

from streamscribe.pipeline import DecodedAudio, DiarizationConfig, SpeakerHints, align_words, decode_audio, read_rttm  # noqa: E402
from streamscribe.pipeline.diarization import NeuralDiarizer, diarization_error_rate  # noqa: E402
from streamscribe.pipeline.models import choose_device, load_whisper_model  # noqa: E402
from streamscribe.pipeline.transcription import TranscriptionOptions, transcribe  # noqa: E402
from streamscribe.schemas import Segment, SpeakerTurn, Word  # noqa: E402

CONFIGS = {
    "recipe": DiarizationConfig(segmentation_step=0.1, embedding_backend="torch"),
    "service": DiarizationConfig(),
}


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def peak_rss_of_demo(sample) -> int:
    """Peak RSS of the demo process (consumer + models), read from its own rusage."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamscribe", "demo", str(sample)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, f"demo failed with {proc.returncode}"
    return usage.ru_maxrss * 1024


def concatenation(audio_dir) -> tuple[DecodedAudio, list[SpeakerTurn]]:
    lecture = decode_audio(audio_dir / "silero_lecture_60s.wav").samples
    jfk = decode_audio(audio_dir / "jfk.flac").samples
    parts = [("A", jfk), ("B", lecture[: 16000 * 25]), ("C", decode_audio(audio_dir / "hotwords.mp3").samples),
             ("A", jfk), ("B", lecture[16000 * 30 : 16000 * 45])]
    reference, offset = [], 0.0
    for speaker, x in parts:
        frames = len(x) // 320  # 20 ms
        energy = 10 * np.log10((x[: frames * 320].reshape(frames, 320).astype(np.float64) ** 2).mean(1) + 1e-12)
        active = np.flatnonzero(energy > max(energy.max() - 40, -55))
        # speech regions: active frames joined across pauses shorter than 0.3 s
        breaks = np.flatnonzero(np.diff(active) > 15)
        for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, len(active) - 1]):
            reference.append(SpeakerTurn(speaker=speaker, start=offset + active[a] * 0.02, end=offset + (active[b] + 1) * 0.02))
        offset += len(x) / 16000
    samples = np.concatenate([x for _, x in parts]).astype(np.float32)
    return DecodedAudio(samples=samples, source="concat"), reference


def alignment_hour() -> float:
    rng = random.Random(0)
    words, t = [], 0.0
    for i in range(12_000):
        d = rng.uniform(0.1, 0.4)
        words.append(Word(word=f"w{i}", start=t, end=t + d, probability=0.9))
        t += d + rng.uniform(0.0, 0.05)
    segments = [Segment(id=i, start=words[i * 20].start, end=words[i * 20 + 19].end, text="", words=words[i * 20 : i * 20 + 20]) for i in range(600)]
    turns, s = [], 0.0
    while s < t:
        e = s + rng.uniform(0.5, 4.0)
        turns.append(SpeakerTurn(speaker=f"S{rng.randrange(4)}", start=s, end=e))
        s = e + rng.uniform(-0.3, 0.5)  # some overlap, some gaps
    _, seconds = timed(lambda: align_words(segments, turns))
    return seconds


def main() -> None:
    args = arguments(__doc__, runs=3, quick_runs=1)
    audio_dir = shared_audio()
    # First, while this process is small: a child forked from a process holding models
    # reports the parent's pages in its ru_maxrss.
    peak_rss = peak_rss_of_demo(audio_dir / "pyannote_sample.wav")
    progress(f"demo peak RSS {peak_rss / 2**20:,.0f} MiB")
    sample = decode_audio(audio_dir / "pyannote_sample.wav")
    lecture = decode_audio(audio_dir / "silero_lecture_60s.wav")
    reference = read_rttm((audio_dir / "pyannote_sample.rttm").read_text())["sample"]

    diarizers = {name: NeuralDiarizer(config) for name, config in CONFIGS.items()}
    load = {name: timed(d.load)[1] for name, d in diarizers.items()}
    whisper, _ = load_whisper_model("tiny.en", choose_device("cpu"), cache_dir=ROOT / ".bench-cache")
    options = TranscriptionOptions()
    for d in diarizers.values():  # warm-up, not measured
        d(sample, SpeakerHints())
    transcribe(whisper, sample, options)

    walls = {f"{name}/{clip}": [] for name in [*CONFIGS, "asr"] for clip in ("sample", "lecture")}
    der = {}
    for run in range(args.runs):
        progress(f"run {run + 1}/{args.runs}")
        for name, d in diarizers.items():  # interleaved: recipe, service, asr, recipe, ...
            for clip, audio in (("sample", sample), ("lecture", lecture)):
                turns, seconds = timed(lambda: d(audio, SpeakerHints()))
                walls[f"{name}/{clip}"].append(seconds)
                if clip == "sample":
                    der[name] = diarization_error_rate(reference, turns, audio.duration)
                else:
                    assert len({t.speaker for t in turns}) == 1, f"{name}: lecture is one speaker"
        for clip, audio in (("sample", sample), ("lecture", lecture)):
            walls[f"asr/{clip}"].append(timed(lambda: transcribe(whisper, audio, options))[1])

    durations = {"sample": sample.duration, "lecture": lecture.duration}
    results = {}
    for key, values in walls.items():
        name, clip = key.split("/")
        results.setdefault(name, {})[clip] = {
            "wall_s": stats(values),
            "rtf_median": round(durations[clip] / stats(values)["median"], 2),
        }
    concat, concat_reference = concatenation(audio_dir)
    for name in CONFIGS:
        results[name]["der_sample"] = round(der[name], 4)
        turns = diarizers[name](concat, SpeakerHints())
        results[name]["der_concat"] = round(diarization_error_rate(concat_reference, turns, concat.duration), 4)
        results[name]["speakers_concat"] = len({t.speaker for t in turns})
        results[name]["load_s"] = round(load[name], 2)
        results[name]["config"] = {"segmentation_step": CONFIGS[name].segmentation_step, "embedding_backend": CONFIGS[name].embedding_backend}
    speedup = {
        clip: round(results["recipe"][clip]["wall_s"]["median"] / results["service"][clip]["wall_s"]["median"], 2)
        for clip in durations
    }
    payload = {
        "what": "diarization wall time, RTF (audio s / wall s, higher is faster), DER (collar 0, overlap scored)",
        "audio_seconds": durations,
        "results": results,
        "speedup_service_vs_recipe": speedup,
        "lecture_diarization_vs_asr_wall": round(
            results["service"]["lecture"]["wall_s"]["median"] / results["asr"]["lecture"]["wall_s"]["median"], 2
        ),
        "alignment_one_hour_s": round(alignment_hour(), 3),
        "peak_rss_bytes_demo_tinyen_diarization": peak_rss,
    }
    write("diarization", payload, args.quick)
    print(f"diarization: speed-up vs recipe: {speedup}; DER recipe {der['recipe']:.2%}, service {der['service']:.2%}")


if __name__ == "__main__":
    main()
