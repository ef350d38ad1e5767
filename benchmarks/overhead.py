"""Service overhead: bare faster-whisper vs the same audio through the whole service path.

    python3 benchmarks/overhead.py [--runs 7] [--quick]

A, bare: ``WhisperModel(tiny.en, int8, 2 threads).transcribe(path, beam_size=5, vad_filter=True,
word_timestamps=True)``, consumed to the end: what a user would write instead of the service.
B, service: the same file, model and settings through submit (one long-lived producer,
acks=all) -> embedded Kafka broker -> TranscriptionConsumer -> decode pool -> executor ->
result published (acks=all) -> read back from the results topic. Wall = submit to result read.
Diarization off in both (it is measured in benchmarks/diarization.py).

Both live in one process, interleaved A B A B. Ratio = RTF(service) / RTF(bare), target >= 0.95.
RTF = audio seconds / wall seconds (higher is faster). Writes benchmarks/results/overhead.json.
"""

from __future__ import annotations

import asyncio

from common import CACHE, CPU_THREADS, LECTURE, MODEL, arguments, progress, rtf, shared_audio, stats, timed, whisper_path, write

from aiokafka import AIOKafkaProducer

from streamscribe.app import kafka_endpoint
from streamscribe.consumer import TranscriptionConsumer
from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.settings import Settings
from streamscribe.submit import ResultReader, event_for_file

BEAM = 5


async def main_async(args) -> dict:
    audio = shared_audio() / ("jfk.flac" if args.quick else LECTURE)
    from faster_whisper import WhisperModel

    bare_model = WhisperModel(whisper_path(), device="cpu", compute_type="int8", cpu_threads=CPU_THREADS)

    def bare() -> None:
        segments, _ = bare_model.transcribe(str(audio), beam_size=BEAM, vad_filter=True, word_timestamps=True)
        return [s.text for s in segments]

    base = Settings(
        providers="cpu", whisper_model=MODEL, compute_type="int8", cpu_threads=CPU_THREADS, beam_size=BEAM, vad_filter=True,
        diarization_mode="off", metrics_enabled=False, model_cache_dir=CACHE,
    )
    async with kafka_endpoint(base) as settings:
        executor = TranscriptionExecutor(settings)
        service = TranscriptionConsumer(settings, executor)
        task = asyncio.create_task(service.run())
        reader = await ResultReader(settings.bootstrap_servers, settings.results_topic).start()
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
        await producer.start()
        last = {}

        async def through_service() -> float:
            event = event_for_file(audio, diarize=False)
            started = asyncio.get_running_loop().time()
            await producer.send_and_wait(settings.input_topic, event.model_dump_json().encode(), key=event.job_id.encode())
            async for result in reader.results([event.job_id], timeout=600):
                last["result"] = result
            assert result.status == "completed", result.error
            return asyncio.get_running_loop().time() - started

        try:
            while service.health.partitions_assigned == 0:
                await asyncio.sleep(0.05)
            progress("warm-up (not measured)")
            await through_service()
            await asyncio.to_thread(bare)
            # interleave() is synchronous: each variant runs to completion while the loop keeps
            # serving Kafka (the bare run happens on a worker thread, as a user's would).
            walls = {"bare": [], "service": []}
            for i in range(args.runs):
                walls["bare"].append((await asyncio.to_thread(timed, bare))[1])
                progress(f"run {i + 1}/{args.runs} bare: {walls['bare'][-1]:.3f}s")
                walls["service"].append(await through_service())
                progress(f"run {i + 1}/{args.runs} service: {walls['service'][-1]:.3f}s")
            bare_text = " ".join(t.strip() for t in await asyncio.to_thread(bare))
        finally:
            await producer.stop()
            await reader.stop()
            service.stop()
            await task
            await executor.shutdown()
    seconds = last["result"].duration
    r = {name: rtf(seconds, w) for name, w in walls.items()}
    return {
        "what": "bare faster-whisper vs submit -> Kafka -> consumer -> executor -> result; RTF = audio s / wall s (higher is faster)",
        "model": MODEL, "compute_type": "int8", "cpu_threads": CPU_THREADS, "beam_size": BEAM, "vad_filter": True, "word_timestamps": True,
        "audio": audio.name, "audio_seconds": seconds,
        "wall_s": {name: stats(w) for name, w in walls.items()},
        "rtf": r,
        "executor_rtf_last_job": last["result"].realtime_factor,
        "stages_last_job": {k: v.duration for k, v in last["result"].performance_metrics.stages.items()},
        "ratio_service_vs_bare": round(r["service"]["median"] / r["bare"]["median"], 3),
        "target_ratio": 0.95,
        "same_text": bare_text.split() == last["result"].full_text.split(),
    }


def main() -> None:
    args = arguments(__doc__, runs=7, quick_runs=2)
    out = asyncio.run(main_async(args))
    write("overhead", out, args.quick)
    print(
        f"overhead: bare RTF {out['rtf']['bare']['median']:.1f}x, service RTF {out['rtf']['service']['median']:.1f}x "
        f"(audio s / wall s) -> ratio {out['ratio_service_vs_bare']:.3f} (target >= 0.95), same text: {out['same_text']}"
    )


if __name__ == "__main__":
    main()
