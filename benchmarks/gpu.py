"""GPU benchmark: large-v3 fp16, sequential and batched, with diarization, on the shared audio.

    benchmarks/gpu.sh [MODEL] [--runs 3] [--quick]     (on a CUDA machine; sets up, then runs this)
    python3 benchmarks/gpu.py --model large-v3 [--device cuda] [--batch-size 16]

The service's own GPUTranscriptionPipeline on CUDA (float16), variants interleaved A B C:
  sequential            Whisper alone, beam 5, VAD, word timestamps (the service's transcription stage);
  batched               BatchedInferencePipeline on the same loaded model, batch_size 16, beam 5;
  sequential+diarization the full job as the service runs it (transcription, pyannote, alignment),
                        with its stage times.
Audio: the 60 s lecture, the 30 s pyannote sample, and all six different recordings back to
back (~125 s). VRAM: the peak of streamscribe_gpu_memory_used_bytes (the service's gauge, set at
every stage boundary), and the peak of the same reading (devices.gpu_memory, i.e. total - free
from cudaMemGetInfo) sampled every 50 ms during the runs.

The GPU machines have no internet access: ``--model`` must name a model that is there already
(a CTranslate2 directory carried in, or a name in the local Hugging Face cache). If it cannot be
loaded, the bundled offline ``base`` model is used instead, and the JSON and the summary line say
so loudly. ``--device cpu`` runs the same code on the CPU (int8) to check the script itself.
RTF = audio seconds / wall seconds (higher is faster). Writes benchmarks/results/gpu.json.
"""

from __future__ import annotations

import threading
import time

from common import CACHE, LECTURE, SAMPLE, arguments, concatenate, decode, interleave, progress, rtf, shared_audio, stats, write

from streamscribe.metrics import registry as metrics
from streamscribe.pipeline import DiarizationConfig, GPUTranscriptionPipeline, devices
from streamscribe.pipeline.audio import DecodedAudio
from streamscribe.pipeline.transcription import TranscriptionOptions, transcribe

ALL = ("jfk.flac", "hotwords.mp3", "multilingual.mp3", "stereo_diarization.wav", SAMPLE, LECTURE)


class VramSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self._stop_flag = 0, threading.Event()

    def run(self) -> None:
        while not self._stop_flag.wait(0.05):
            used = devices.gpu_memory()
            self.peak = max(self.peak, used[0] if used else 0)

    def stop(self) -> int:
        self._stop_flag.set()
        return self.peak


def gauge_peak(peak: float) -> float:
    value = metrics.REGISTRY.get_sample_value("streamscribe_gpu_memory_used_bytes", {"device": "0"})
    return max(peak, value or 0)


def load(model: str, device: str):
    pipeline = GPUTranscriptionPipeline(model, device=device, compute_type="auto", cache_dir=CACHE, diarization=DiarizationConfig(cache_dir=CACHE))
    return pipeline.load()


def main() -> None:
    args = arguments(__doc__, runs=3, quick_runs=1, model=(str, "large-v3", "faster-whisper name or CTranslate2 model directory"),
                     device=(str, "cuda", "cuda, or cpu to check the script"), batch_size=(int, 16, "BatchedInferencePipeline batch size"))
    from faster_whisper import BatchedInferencePipeline

    if args.device == "cuda" and devices.cuda_device_count() == 0:
        raise SystemExit("no CUDA device visible to CTranslate2: run this on a GPU machine (see benchmarks/gpu.sh), or --device cpu")
    fallback = None
    started = time.perf_counter()
    try:
        pipeline = load(args.model, args.device)
    except Exception as exc:
        fallback = f"{args.model!r} could not be loaded ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); the bundled 'base' model was used instead"
        print(f"\n*** WARNING: {fallback}.\n*** These machines have no internet: carry a CTranslate2 model in and pass its directory.\n", flush=True)
        pipeline = load("base", args.device)
    load_s = time.perf_counter() - started
    model_used = pipeline.whisper_model_name
    progress(f"loaded {model_used} on {args.device}/{pipeline.compute_type} in {load_s:.1f}s")
    audio_dir = shared_audio()
    clips = {"lecture": decode(audio_dir / LECTURE), "sample": decode(audio_dir / SAMPLE)}
    if not args.quick:
        clips["all_six"] = DecodedAudio(samples=concatenate([decode(audio_dir / f) for f in ALL]), source="all six, concatenated")
    batched = BatchedInferencePipeline(pipeline._whisper)
    options = TranscriptionOptions(beam_size=5, vad_filter=True)
    stages: dict[str, list] = {}

    def sequential(audio):
        return lambda: transcribe(pipeline._whisper, audio, options)

    def batch(audio):
        def fn():
            segments, _ = batched.transcribe(audio.samples, batch_size=args.batch_size, beam_size=5, vad_filter=True, word_timestamps=True)
            list(segments)
        return fn

    def full(audio, clip):
        def fn():
            t = pipeline.transcribe(audio, enable_diarization=True)
            stages.setdefault(clip, []).append({k: v.duration for k, v in t.performance_metrics.stages.items()})
        return fn

    sampler = VramSampler()
    sampler.start()
    progress("warm-up (not measured)")
    for fn in (sequential, batch):
        fn(clips["sample"])()
    full(clips["sample"], "warm-up")()
    results, gauge = {}, 0.0
    for clip, audio in clips.items():
        walls = interleave(args.runs, {"sequential": sequential(audio), "batched": batch(audio), "sequential+diarization": full(audio, clip)}, f"{clip} ")
        gauge = gauge_peak(gauge)
        results[clip] = {"audio_seconds": round(audio.duration, 2),
                         **{name: {"wall_s": stats(w), "rtf": rtf(audio.duration, w)} for name, w in walls.items()},
                         "stages_s": {k: stats([s[k] for s in stages[clip]]) for k in stages[clip][0]}}
    peak = sampler.stop()
    payload = {
        "what": "GPU: Whisper fp16 sequential vs batched, full job with diarization; RTF = audio s / wall s (higher is faster)",
        "device": args.device, "gpu": _gpu_name(), "model_requested": args.model, "model": model_used, "model_fallback": fallback,
        "compute_type": pipeline.compute_type, "beam_size": 5, "batch_size": args.batch_size, "load_s": round(load_s, 2),
        "results": results,
        "vram_peak_bytes_gauge": int(gauge), "vram_peak_bytes_sampled": int(peak),
    }
    write("gpu", payload, args.quick or args.device != "cuda")
    lec = results["lecture"]
    print(f"gpu: {model_used} on {payload['gpu'] or args.device}: lecture RTF (audio s / wall s) sequential {lec['sequential']['rtf']['median']:.1f}x, "
          f"batched {lec['batched']['rtf']['median']:.1f}x, with diarization {lec['sequential+diarization']['rtf']['median']:.1f}x; "
          f"VRAM peak {max(gauge, peak) / 2**30:.2f} GiB" + (f"  [FALLBACK: {fallback}]" if fallback else ""))


def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        return None


if __name__ == "__main__":
    main()
