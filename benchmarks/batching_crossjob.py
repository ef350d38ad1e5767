"""Cross-job batching: 16 short jobs in one batched call vs one job after the other.

    python3 benchmarks/batching_crossjob.py [--runs 3] [--quick] [--batch-size 16] [--beam-size 5]

16 distinct short clips (3-11 s, 92 s in all) cut at pauses from four recordings (the clips of
tests/integration/test_batching.py), tiny.en int8 on 2 threads, word timestamps on:
  sequential: transcription.transcribe() per clip, as the executor runs jobs today (VAD on);
  batched:    batching.transcribe_batch() on all 16 clips at once (one chunk per clip).
Interleaved A B A B, medians of --runs runs, one warm-up of each first (not measured).
RTF = audio seconds / wall seconds (higher is faster). Quality: WER of each mode against the
sequential text, per clip and over all clips, and the jfk clip against its reference.
Writes benchmarks/results/batching_crossjob.json.
"""

from __future__ import annotations

from common import (
    CPU_THREADS, JFK_REFERENCE, MODEL, arguments, decode, interleave, progress, rtf, shared_audio, stats, whisper_path,
    word_error_rate, write,
)

CLIPS = [  # (file, start s, end s); the same list as tests/integration/test_batching.py
    ("silero_lecture_60s.wav", 0.0, 6.9),
    ("pyannote_sample.wav", 6.4, 9.82),
    ("jfk.flac", 0.0, 11.0),
    ("silero_lecture_60s.wav", 9.0, 15.2),
    ("pyannote_sample.wav", 9.82, 14.3),
    ("silero_lecture_60s.wav", 15.2, 19.9),
    ("hotwords.mp3", 0.0, 4.0),
    ("silero_lecture_60s.wav", 20.2, 28.65),
    ("pyannote_sample.wav", 14.3, 17.78),
    ("silero_lecture_60s.wav", 28.65, 35.75),
    ("pyannote_sample.wav", 17.78, 21.7),
    ("silero_lecture_60s.wav", 37.8, 43.5),
    ("silero_lecture_60s.wav", 43.5, 47.5),
    ("pyannote_sample.wav", 21.7, 28.43),
    ("silero_lecture_60s.wav", 48.5, 54.4),
    ("silero_lecture_60s.wav", 54.4, 60.0),
]
JFK = 2


def main() -> None:
    args = arguments(
        __doc__, runs=3, quick_runs=1, batch_size=(int, 16, "clips per forward pass"), beam_size=(int, 5, "beam size of both modes"),
        device=(str, "cpu", "cpu (int8), or cuda (float16; results in batching_crossjob_cuda.json)"),
        model=(str, MODEL, "faster-whisper name or model directory"),
    )
    compute_type = "float16" if args.device == "cuda" else "int8"
    from faster_whisper import WhisperModel

    from streamscribe.pipeline import DecodedAudio
    from streamscribe.pipeline.batching import transcribe_batch
    from streamscribe.pipeline.transcription import TranscriptionOptions, transcribe

    audio_dir = shared_audio()
    recordings = {name: decode(audio_dir / name).samples for name in {c[0] for c in CLIPS}}
    clips = [recordings[name][int(start * 16000) : int(end * 16000)] for name, start, end in CLIPS]
    if args.quick:
        clips = clips[:6]
    seconds = sum(len(c) for c in clips) / 16000
    progress(f"{len(clips)} clips, {seconds:.1f} s of audio; {args.model} {compute_type} on {args.device}, beam {args.beam_size}, batch {args.batch_size}")
    model = WhisperModel(whisper_path(args.model), device=args.device, compute_type=compute_type, cpu_threads=CPU_THREADS)
    options = TranscriptionOptions(language="en", beam_size=args.beam_size)  # the clips are English; a batch needs one language
    texts: dict[str, list[str]] = {}

    def sequential() -> None:
        out = [transcribe(model, DecodedAudio(c, f"clip{i}"), options).segments for i, c in enumerate(clips)]
        texts["sequential"] = [" ".join(s.text for s in segs) for segs in out]

    def batched() -> None:
        out = transcribe_batch(model, clips, language="en", beam_size=args.beam_size, batch_size=args.batch_size)
        texts["batched"] = [" ".join(s.text for s in segs) for segs in out.segments]

    variants = {"sequential": sequential, "batched": batched}
    progress("warm-up (not measured)")
    for fn in variants.values():
        fn()
    walls = interleave(args.runs, variants)

    reference = texts["sequential"]
    results = {}
    for name in variants:
        per_clip = [round(word_error_rate(r, h), 4) for r, h in zip(reference, texts[name])]
        results[name] = {
            "wall_s": stats(walls[name]),
            "rtf": rtf(seconds, walls[name]),
            "wer_vs_sequential": round(word_error_rate(" ".join(reference), " ".join(texts[name])), 4),
            "wer_vs_sequential_per_clip": per_clip,
            "jfk_wer_vs_reference": round(word_error_rate(JFK_REFERENCE, texts[name][JFK]), 4),
        }
    speedup = round(results["batched"]["rtf"]["median"] / results["sequential"]["rtf"]["median"], 2)
    payload = {
        "what": "cross-job batching: N short clips in one BatchedInferencePipeline call (one chunk per clip) vs transcribe() per clip; "
        "RTF = audio s / wall s (higher is faster); WER vs the sequential text",
        "model": args.model, "device": args.device, "compute_type": compute_type, "cpu_threads": CPU_THREADS, "beam_size": args.beam_size, "batch_size": args.batch_size,
        "word_timestamps": True, "sequential_vad_filter": True,
        "clips": [{"file": f, "start": s, "end": e} for f, s, e in CLIPS[: len(clips)]],
        "audio_seconds": round(seconds, 2),
        "results": results,
        "speedup_batched_vs_sequential": speedup,
        "texts": texts,
    }
    write("batching_crossjob" if args.device == "cpu" else f"batching_crossjob_{args.device}", payload, args.quick)
    s, b = results["sequential"], results["batched"]
    print(
        f"batching_crossjob: {len(clips)} clips ({seconds:.0f} s audio) RTF (audio s / wall s) sequential {s['rtf']['median']:.2f}x, "
        f"batched {b['rtf']['median']:.2f}x ({speedup:.2f}x); batched WER vs sequential {b['wer_vs_sequential']:.1%}, "
        f"jfk WER {b['jfk_wer_vs_reference']:.1%}"
    )


if __name__ == "__main__":
    main()
