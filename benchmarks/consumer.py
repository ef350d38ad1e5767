"""The consumer alone: events/s through our loop with a null model vs a raw aiokafka loop.

    python3 benchmarks/consumer.py [--runs 3] [--events 5000] [--quick]

Each run pre-fills a fresh 3-partition topic with N audio-ready events, then one variant
consumes them all on the same embedded broker; the clock starts at the first fetched record and
stops when the last offset is committed after its output was acknowledged (acks=all, gzip, as the
service). Variants, interleaved A B C D A B C D:
  service            TranscriptionConsumer with the null provider, service defaults (max_in_flight 2);
  service_inflight   the same with max_in_flight 500 (admits a whole fetch at once);
  raw_batched        aiokafka: getmany -> produce each (acks=all) -> await all -> commit once per fetched batch;
  raw_per_message    aiokafka: send_and_wait + commit for every message.
The null provider returns an empty transcript; the benchmark's consumer subclass hands it a
decoded 1 s clip instead of decoding each event's file (the cost measured is Kafka, parsing,
bookkeeping and publishing, not PyAV). Everything else is the service's code: event parsing and
validation, duplicate check and results follower, offset tracker, result schema, publisher.
Target: service >= 0.8x raw_batched. Writes benchmarks/results/consumer.json.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time

from common import arguments, decode, progress, shared_audio, stats, write

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streamscribe.app import kafka_endpoint
from streamscribe.broker.topics import ensure_topics
from streamscribe.consumer import TranscriptionConsumer
from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.schemas import SourceRef, TranscriptResult
from streamscribe.settings import Settings
from streamscribe.submit import event_for_file


class TimedConsumer(TranscriptionConsumer):
    """The service's consumer, with a clock on it and a pre-decoded clip instead of file decoding."""

    def __init__(self, settings, executor, clip, ends) -> None:
        super().__init__(settings, executor)
        self.clip, self.ends = clip, ends
        self.started = self.finished = None

    if inspect.iscoroutinefunction(TranscriptionConsumer._load_audio):
        async def _load_audio(self, *args):  # the service fetches and decodes on its decode pool
            return self.clip
    else:
        def _load_audio(self, *args):  # runs on the decode pool
            return self.clip

    def _admit(self, record) -> None:
        if self.started is None:
            self.started = time.perf_counter()
        super()._admit(record)

    async def _commit(self, partitions=None) -> None:
        await super()._commit(partitions)
        if self.finished is None and all(self._tracker.committed(tp) == end for tp, end in self.ends.items()):
            self.finished = time.perf_counter()
            self.stop()


async def prefill(bootstrap: str, topic: str, events: list[bytes]) -> dict:
    """Produce the events (acks=all); returns {TopicPartition: end offset}."""
    from aiokafka import TopicPartition

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, e, key=json.loads(e)["job_id"].encode()) for e in events]
        metas = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    ends: dict = {}
    for m in metas:
        tp = TopicPartition(m.topic, m.partition)
        ends[tp] = max(ends.get(tp, 0), m.offset + 1)
    return ends


async def raw_loop(bootstrap: str, topic_in: str, topic_out: str, group: str, n: int, template: dict, per_message: bool) -> float:
    consumer = AIOKafkaConsumer(topic_in, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type="gzip")
    await producer.start()
    await consumer.start()
    try:
        done, started = 0, None
        while done < n:
            batch = await consumer.getmany(timeout_ms=200)
            if batch and started is None:
                started = time.perf_counter()
            futures = []
            for tp, records in batch.items():
                for r in records:
                    value = json.dumps({**template, "job_id": json.loads(r.value)["job_id"]}).encode()
                    if per_message:
                        await producer.send_and_wait(topic_out, value, key=r.key)
                        await consumer.commit({tp: r.offset + 1})
                    else:
                        futures.append(await producer.send(topic_out, value, key=r.key))
                    done += 1
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


async def main_async(args) -> dict:
    n = args.events
    audio = shared_audio() / "jfk.flac"
    clip = decode(audio)
    clip = type(clip)(samples=clip.samples[:16000], source=str(audio))
    base = Settings(providers="null", diarization_mode="off", metrics_enabled=False)
    template = json.loads(TranscriptResult(job_id="x", status="completed", duration=1.0, provider="null", model=base.whisper_model,
                                           source=SourceRef(topic="audio.ready", partition=0, offset=0)).model_dump_json())
    variants = ("service", "service_inflight", "raw_batched", "raw_per_message")
    rates: dict[str, list[float]] = {v: [] for v in variants}
    async with kafka_endpoint(base) as settings:
        executor = TranscriptionExecutor(settings)
        bootstrap = settings.bootstrap_servers
        for run in range(args.runs):
            for v in variants:
                topic_in, topic_out = f"bench.{v}.{run}.in", f"bench.{v}.{run}.out"
                await ensure_topics(bootstrap, [topic_in, topic_out], partitions=3)
                events = [event_for_file(audio, diarize=False).model_dump_json().encode() for _ in range(n)]
                ends = await prefill(bootstrap, topic_in, events)
                group = f"bench-{v}-{run}"
                if v.startswith("service"):
                    s = settings.model_copy(update={"input_topic": topic_in, "results_topic": topic_out, "group_id": group,
                                                    "max_in_flight": 500 if v == "service_inflight" else settings.max_in_flight})
                    service = TimedConsumer(s, executor, clip, ends)
                    await asyncio.wait_for(service.run(), timeout=600)
                    seconds = service.finished - service.started
                else:
                    seconds = await raw_loop(bootstrap, topic_in, topic_out, group, n, template, v == "raw_per_message")
                rates[v].append(n / seconds)
                progress(f"run {run + 1}/{args.runs} {v}: {n} events in {seconds:.2f}s = {n / seconds:,.0f} events/s")
        await executor.shutdown()
    out = {name: stats(r) for name, r in rates.items()}
    return {
        "what": "events/s, consume -> output acknowledged (acks=all) -> offset committed; null model; embedded broker (Tansu)",
        "events_per_run": n, "partitions": 3, "service_max_in_flight_default": base.max_in_flight,
        "events_per_s": out,
        "ratio_service_vs_raw_batched": round(out["service"]["median"] / out["raw_batched"]["median"], 3),
        "ratio_service_inflight_vs_raw_batched": round(out["service_inflight"]["median"] / out["raw_batched"]["median"], 3),
        "target_ratio": 0.8,
    }


def main() -> None:
    args = arguments(__doc__, runs=3, quick_runs=1, events=(int, None, "events per run (default 5000; --quick: 500)"))
    args.events = args.events or (500 if args.quick else 5000)
    out = asyncio.run(main_async(args))
    write("consumer", out, args.quick)
    e = out["events_per_s"]
    print(f"consumer: service {e['service']['median']:,.0f} events/s (max_in_flight 500: {e['service_inflight']['median']:,.0f}), "
          f"raw batched {e['raw_batched']['median']:,.0f}, raw per-message {e['raw_per_message']['median']:,.0f} -> "
          f"ratio {out['ratio_service_vs_raw_batched']:.3f} / {out['ratio_service_inflight_vs_raw_batched']:.3f} (target >= 0.8)")


if __name__ == "__main__":
    main()
