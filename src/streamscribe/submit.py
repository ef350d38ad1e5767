"""Producing audio-ready events, and reading results back: the client side of the service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .schemas import AudioReady, TranscriptResult, uri_scheme


def event_for_file(path: str | Path, *, job_id: str | None = None, **fields) -> AudioReady:
    """An event for a local file, with an absolute path (the consumer has another working dir)."""
    return AudioReady(job_id=job_id or uuid.uuid4().hex, audio_uri=str(Path(path).resolve()), **fields)


def event_for(source: str, **fields) -> AudioReady:
    """An event for a local file or, as given, for an http(s)://, s3:// or data: URI."""
    if uri_scheme(source) == "file" and not source.startswith("file:"):
        return event_for_file(source, **fields)
    return AudioReady(job_id=fields.pop("job_id", None) or uuid.uuid4().hex, audio_uri=source, **fields)


async def submit_events(bootstrap_servers: str, topic: str, events: Iterable[AudioReady]) -> list[AudioReady]:
    """Produce events keyed by job_id (acks=all); returns them once all are acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    sent = []
    try:
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=event.job_id.encode())
            sent.append(event)
    finally:
        await producer.stop()
    return sent


class ResultReader:
    """Reads the results topic from its current end, without joining a group.

    Start it *before* submitting, so no result can slip in between.
    """

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        # A short fetch wait: a result shows up within ~0.1 s even on a broker that holds a
        # fetch until its deadline (the embedded one), instead of up to aiokafka's 0.5 s.
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=100)

    async def start(self) -> "ResultReader":
        await self._consumer.start()
        partitions = [TopicPartition(self.topic, p) for p in sorted(self._consumer.partitions_for_topic(self.topic) or [])]
        if not partitions:
            await self._consumer.stop()
            raise RuntimeError(f"results topic {self.topic!r} does not exist")
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end offsets now, not at the first fetch
            await self._consumer.position(tp)
        return self

    async def stop(self) -> None:
        await self._consumer.stop()

    async def results(self, job_ids: Iterable[str], timeout: float) -> AsyncIterator[TranscriptResult]:
        """Yield the results of ``job_ids`` as they arrive; raises ``TimeoutError`` after ``timeout``."""
        waiting = set(job_ids)
        deadline = asyncio.get_running_loop().time() + timeout
        while waiting:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no result within {timeout:.0f}s for: {', '.join(sorted(waiting))}")
            batch = await self._consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000))
            for records in batch.values():
                for record in records:
                    result = TranscriptResult.model_validate(json.loads(record.value))
                    if result.job_id in waiting:
                        waiting.discard(result.job_id)
                        yield result
