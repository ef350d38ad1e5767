"""Soak: 500 events through the real consumer with the ``null`` provider (no model).

    python3 benchmarks/soak.py [--events 500] [--quick]

Measures what the service itself costs over a long run: resident memory after the first 10
events vs after all of them (growth should stay under 5 %), and events/s through the whole
Kafka path (consume, decode, publish acks=all, commit after the ack). Audio cycles through
the six different recordings in ../shared/audio. Writes benchmarks/results/soak.json.
"""

from __future__ import annotations

import asyncio
import time

from common import arguments, progress, shared_audio, write

from streamscribe.app import kafka_endpoint
from streamscribe.consumer import TranscriptionConsumer
from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.settings import Settings
from streamscribe.submit import ResultReader, event_for_file, submit_events

CLIPS = ("jfk.flac", "hotwords.mp3", "multilingual.mp3", "stereo_diarization.wav", "pyannote_sample.wav", "silero_lecture_60s.wav")


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


async def soak(events: int) -> dict:
    audio = shared_audio()
    base = Settings(providers="null", diarization_mode="off", metrics_enabled=False, max_in_flight=8, dedup_window=1000)
    async with kafka_endpoint(base) as settings:
        executor = TranscriptionExecutor(settings)
        service = TranscriptionConsumer(settings, executor)
        reader = await ResultReader(settings.bootstrap_servers, settings.results_topic).start()
        task = asyncio.create_task(service.run())
        try:
            async def batch(n: int) -> float:
                evs = [event_for_file(audio / CLIPS[i % len(CLIPS)], diarize=False) for i in range(n)]
                started = time.perf_counter()
                await submit_events(settings.bootstrap_servers, settings.input_topic, evs)
                async for _ in reader.results([e.job_id for e in evs], timeout=600):
                    pass
                return time.perf_counter() - started

            await batch(10)  # warm: group joined, pools and caches filled
            rss_warm = rss_bytes()
            progress(f"RSS after 10 events: {rss_warm / 2**20:.0f} MiB; submitting {events}")
            seconds = await batch(events)
            rss_end = rss_bytes()
            progress(f"RSS after {events + 10} events: {rss_end / 2**20:.0f} MiB")
        finally:
            service.stop()
            await task
            await reader.stop()
            await executor.shutdown()
    return {
        "events": events,
        "wall_s": round(seconds, 2),
        "events_per_s": round(events / seconds, 1),
        "rss_after_10_bytes": rss_warm,
        "rss_after_all_bytes": rss_end,
        "rss_growth_pct": round(100 * (rss_end - rss_warm) / rss_warm, 2),
    }


def main() -> None:
    args = arguments(__doc__, runs=1, quick_runs=1, events=(int, None, "events after the first 10 (default 500; --quick: 100)"))
    events = args.events or (100 if args.quick else 500)
    result = asyncio.run(soak(events))
    write("soak", {"what": f"{events} events, null provider, embedded broker; includes submitting them (acks=all)", **result}, args.quick)
    print(f"soak: RSS {result['rss_growth_pct']:+.2f} % from event 10 to {events + 10} (target < 5 %), "
          f"{result['events_per_s']} events/s including decoding and submitting")


if __name__ == "__main__":
    main()
