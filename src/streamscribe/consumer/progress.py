"""Progress events for one job: stage callbacks in, throttled and ordered events out.

The executor reports ``(stage, fraction)`` as Whisper finishes segments and as diarization
starts. Here that becomes an estimate for the whole job (transcription is the first
``_TRANSCRIPTION_SHARE`` of a diarized job, measured at about 0.55 on CPU), at most one event
per interval, sent one at a time by a single task so they arrive in order. Progress is
informational: a failed send is logged and dropped, never retried against the job's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ..schemas import JobProgress

log = logging.getLogger(__name__)

_TRANSCRIPTION_SHARE = 0.55  # of a diarized job's time; the rest is diarization and alignment
_MAX_BEFORE_DONE = 99.0


class ProgressReporter:
    def __init__(
        self, producer: AIOKafkaProducer, topic: str, job_id: str, audio_seconds: float, diarized: bool, interval_s: float
    ) -> None:
        self._producer, self._topic, self._job_id = producer, topic, job_id
        self._audio_seconds, self._diarized, self._interval_s = audio_seconds, diarized, interval_s
        self._started = time.monotonic()
        self._last_sent = float("-inf")
        self._percent = 0.0
        self._queue: asyncio.Queue[JobProgress | None] = asyncio.Queue()
        self._sender = asyncio.create_task(self._send_all(), name=f"progress-{job_id}")

    def update(self, stage: str, fraction: float) -> None:
        """From the executor's callback (on the event loop): maybe queue an event."""
        if stage == "transcription":
            share = _TRANSCRIPTION_SHARE if self._diarized else 1.0
            percent = 100 * share * fraction
        else:  # diarization has started: transcription is done
            percent = 100 * _TRANSCRIPTION_SHARE
        self._percent = max(self._percent, min(percent, _MAX_BEFORE_DONE))
        now = time.monotonic()
        if now - self._last_sent >= self._interval_s:
            self._last_sent = now
            self._queue.put_nowait(self._event(stage))

    async def finish(self, succeeded: bool) -> None:
        """Queue the final event (100 % when done), send what is queued, stop."""
        if succeeded:
            self._percent = 100.0
        self._queue.put_nowait(self._event("done" if succeeded else "failed"))
        self._queue.put_nowait(None)
        await self._sender

    async def close(self) -> None:
        """Stop without a final event (the job was abandoned and will run again)."""
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender

    def _event(self, stage: str) -> JobProgress:
        elapsed = time.monotonic() - self._started
        eta = elapsed * (100 - self._percent) / self._percent if 0 < self._percent < 100 else (0.0 if self._percent >= 100 else None)
        return JobProgress(
            job_id=self._job_id, stage=stage, percent=round(self._percent, 1), elapsed_seconds=round(elapsed, 2),
            eta_seconds=None if eta is None else round(eta, 1), audio_seconds=round(self._audio_seconds, 3),
        )

    async def _send_all(self) -> None:
        while (event := await self._queue.get()) is not None:
            try:
                await self._producer.send_and_wait(self._topic, event.model_dump_json().encode(), key=self._job_id.encode())
            except KafkaError as exc:
                log.debug("progress event for %s dropped: %s", self._job_id, exc)
