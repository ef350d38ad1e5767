"""Batched inference: faster-whisper's BatchedInferencePipeline vs sequential decoding.

    python3 benchmarks/batched.py [--runs 3] [--quick]

One tiny.en int8 model (2 threads), VAD and word timestamps on (the service's settings),
four variants interleaved A B C D A B C D:
  sequential beam 5 (the service today), sequential greedy, batched greedy, batched beam 5
  (BatchedInferencePipeline, batch_size 8).
Audio: the 60 s lecture (speed; no human reference exists for it, so its "WER" column is the
difference to the sequential beam-5 output, not an error rate), and "refs": jfk + the
pyannote sample back to back (41 s, two different recordings with reference transcripts:
SOURCES.md and pyannote_sample.stm), for WER.
Cross-job batching (short clips of several jobs in one batch) is benchmarks/batching_crossjob.py.
RTF = audio seconds / wall seconds (higher is faster). Writes benchmarks/results/batched.json.
"""

from __future__ import annotations

from common import CPU_THREADS, JFK_REFERENCE, LECTURE, MODEL, SAMPLE, arguments, concatenate, decode, interleave, progress, rtf, shared_audio, stats, stm_text, whisper_path, word_error_rate, write

BATCH_SIZE = 8


def main() -> None:
    args = arguments(__doc__, runs=3, quick_runs=1)
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    audio_dir = shared_audio()
    lecture = decode(audio_dir / LECTURE).samples
    refs = concatenate([decode(audio_dir / "jfk.flac"), decode(audio_dir / SAMPLE)])
    refs_text = JFK_REFERENCE + " " + stm_text(audio_dir / "pyannote_sample.stm")
    if args.quick:
        lecture = lecture[: 16000 * 20]
    clips = {"lecture": lecture, "refs": refs}
    model = WhisperModel(whisper_path(), device="cpu", compute_type="int8", cpu_threads=CPU_THREADS)
    batched = BatchedInferencePipeline(model)

    def run(kind: str, beam: int, samples) -> str:
        if kind == "batched":
            segments, _ = batched.transcribe(samples, batch_size=BATCH_SIZE, beam_size=beam, vad_filter=True, word_timestamps=True)
        else:
            segments, _ = model.transcribe(samples, beam_size=beam, vad_filter=True, word_timestamps=True)
        return " ".join(s.text.strip() for s in segments)

    variants = {"sequential_beam5": ("sequential", 5), "sequential_greedy": ("sequential", 1),
                "batched_greedy": ("batched", 1), "batched_beam5": ("batched", 5)}
    texts: dict[str, dict[str, str]] = {name: {} for name in variants}
    progress("warm-up (not measured)")
    run("batched", 1, refs), run("sequential", 5, refs)
    walls: dict[str, dict[str, list[float]]] = {}
    for clip, samples in clips.items():
        def bench(name, kind, beam, samples=samples, clip=clip):
            def fn():
                texts[name][clip] = run(kind, beam, samples)
            return fn
        walls[clip] = interleave(args.runs, {name: bench(name, *v) for name, v in variants.items()}, label=f"{clip} ")
    results = {}
    for name in variants:
        r = {}
        for clip, samples in clips.items():
            seconds = len(samples) / 16000
            r[clip] = {"audio_seconds": seconds, "wall_s": stats(walls[clip][name]), "rtf": rtf(seconds, walls[clip][name])}
        r["refs"]["wer"] = round(word_error_rate(refs_text, texts[name]["refs"]), 4)
        r["lecture"]["diff_vs_sequential_beam5"] = round(word_error_rate(texts["sequential_beam5"]["lecture"], texts[name]["lecture"]), 4)
        r["kind"], r["beam_size"] = variants[name]
        results[name] = r
    base = results["sequential_beam5"]["lecture"]["rtf"]["median"]
    payload = {
        "what": "BatchedInferencePipeline vs sequential; RTF = audio s / wall s (higher is faster); WER on jfk + pyannote sample",
        "model": MODEL, "compute_type": "int8", "cpu_threads": CPU_THREADS, "batch_size": BATCH_SIZE, "vad_filter": True, "word_timestamps": True,
        "results": results,
        "speedup_vs_sequential_beam5_lecture": {n: round(r["lecture"]["rtf"]["median"] / base, 2) for n, r in results.items()},
        "cross_job_batching": "see benchmarks/batching_crossjob.py",
        "texts_lecture": {n: t["lecture"] for n, t in texts.items()},
    }
    write("batched", payload, args.quick)
    print("batched: lecture RTF (audio s / wall s) " + ", ".join(
        f"{n} {r['lecture']['rtf']['median']:.1f}x (WER {r['refs']['wer']:.1%})" for n, r in results.items()))


if __name__ == "__main__":
    main()
