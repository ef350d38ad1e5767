"""Test helpers: word error rate, a running consumer, raw Kafka reads and writes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streamscribe.consumer import TranscriptionConsumer
from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.pipeline.scoring import word_error_rate
from streamscribe.settings import Settings

__all__ = [  # word_error_rate is the package's; the tests import it from here with the rest
    "JFK_REFERENCE", "committed_offsets", "produce", "read_all", "read_topic", "results_by_job", "running_consumer",
    "word_error_rate", "word_label_accuracy",
]

JFK_REFERENCE = (
    "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
)


@contextlib.asynccontextmanager
async def running_consumer(
    settings: Settings, executor: TranscriptionExecutor, *, assigned_timeout: float = 90.0
) -> AsyncIterator[TranscriptionConsumer]:
    """A consumer running in the background, yielded once it holds partitions; stopped on exit."""
    service = TranscriptionConsumer(settings, executor)
    task = asyncio.create_task(service.run())
    deadline = asyncio.get_running_loop().time() + assigned_timeout
    while service.health.partitions_assigned == 0:
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("consumer stopped before partitions were assigned")
        if asyncio.get_running_loop().time() > deadline:
            task.cancel()
            raise AssertionError(f"consumer got no partitions within {assigned_timeout}s")
        await asyncio.sleep(0.05)
    try:
        yield service
    finally:
        service.stop()
        await asyncio.wait_for(task, timeout=settings.shutdown_timeout_s + 30)


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 60.0, settle: float = 0.0) -> list:
    """All records of a topic from the beginning: waits for ``expect`` of them, then ``settle`` s more."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle_until = None
        while True:
            now = loop.time()
            if len(records) >= expect and settle_until is None:
                settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                return records
            if now > deadline:
                raise AssertionError(f"{topic}: {len(records)} of {expect} records within {timeout}s")
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()


def results_by_job(records) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        value = json.loads(r.value)
        out.setdefault(value["job_id"], []).append(value)
    return out


async def committed_offsets(bootstrap: str, group_id: str, topic: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = sorted(consumer.partitions_for_topic(topic) or [])
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in parts}
    finally:
        await consumer.stop()


def word_label_accuracy(transcript, reference_turns) -> float:
    """Share of words whose aligned speaker matches the reference speaker at the word's midpoint,
    after the best one-to-one mapping of hypothesis to reference labels."""
    from itertools import permutations

    from streamscribe.pipeline.alignment import SpeakerLookup

    reference = SpeakerLookup(reference_turns)
    pairs = []
    for segment in transcript.segments:
        for w in segment.words:
            mid = (w.start + w.end) / 2
            hyp = next(a.speaker for a in transcript.aligned_segments if a.start <= mid <= a.end)
            pairs.append((hyp, reference.speaker_at(mid, mid)))
    hyps = sorted({h for h, _ in pairs})
    refs = sorted({r for _, r in pairs})
    best = 0
    for perm in permutations(refs + [None] * max(0, len(hyps) - len(refs)), len(hyps)):
        mapping = dict(zip(hyps, perm))
        best = max(best, sum(mapping[h] == r for h, r in pairs))
    return best / len(pairs)


async def read_all(bootstrap: str, topic: str) -> list:
    """Every record of a topic now (up to its end offsets, plus a last short poll: the embedded
    broker reports the start of the last batch as the end)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(recs)
        for recs in (await consumer.getmany(timeout_ms=200)).values():
            records.extend(recs)
        return records
    finally:
        await consumer.stop()
