"""Publishing outcomes: transcripts to the results topic, unusable events to the dead-letter topic.

A job's offset is committed only after this returns, i.e. after the broker acknowledged the
record with ``acks=all``. Send failures are retried until they succeed or the service is told
to give up, in which case the job stays uncommitted and is redelivered later: never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.structs import ConsumerRecord

from ..metrics import registry as metrics
from ..schemas import ErrorInfo, TranscriptResult

log = logging.getLogger(__name__)

MAX_RESULT_BYTES = 8 * 1024 * 1024


class PublishAborted(Exception):
    """Publishing was abandoned because the service is stopping; the job is not committed."""


class ResultPublisher:
    def __init__(self, producer: AIOKafkaProducer, results_topic: str, dlq_topic: str, give_up: asyncio.Event) -> None:
        self._producer = producer
        self.results_topic = results_topic
        self.dlq_topic = dlq_topic
        self._give_up = give_up

    async def publish_result(self, result: TranscriptResult) -> None:
        value = result.model_dump_json().encode()
        await self._send(self.results_topic, value, key=result.job_id.encode(), headers=[("status", result.status.encode())])

    async def dead_letter(self, record: ConsumerRecord, error: ErrorInfo, job_id: str | None, attempts: int = 1) -> None:
        """Keep the original bytes, and say why in headers, so the event can be inspected and replayed."""
        headers = [
            ("error_code", error.code.value.encode()),
            ("reason", error.message.encode()[:4000]),
            ("retryable", b"true" if error.retryable else b"false"),
            ("attempts", str(attempts).encode()),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
            ("dead_lettered_at_ms", str(int(time.time() * 1000)).encode()),
        ]
        await self._send(self.dlq_topic, record.value or b"", key=job_id.encode() if job_id else record.key, headers=headers)
        metrics.DEAD_LETTERS.labels(error.code.value).inc()
        log.warning(
            "dead-lettered %s:%d@%d (%s): %s", record.topic, record.partition, record.offset, error.code.value, error.message
        )

    async def _send(self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        delay = 0.5
        while True:
            try:
                await self._producer.send_and_wait(topic, value, key=key, headers=headers)
                return
            except KafkaError as exc:
                if not (exc.retriable or isinstance(exc, KafkaTimeoutError)):
                    raise  # e.g. a record over the broker's size limit: retrying cannot help
                if self._give_up.is_set():
                    raise PublishAborted(f"could not publish to {topic}: {exc}") from exc
                log.warning("publishing to %s failed (%s); retrying in %.1fs", topic, exc, delay)
                try:
                    await asyncio.wait_for(self._give_up.wait(), timeout=delay)
                except asyncio.TimeoutError:
                    pass
                delay = min(delay * 2, 10.0)
