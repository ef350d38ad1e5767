"""Gathers short jobs that wait for the executor into one cross-job batch.

A job of at most 30 s that arrives while the executor is busy waits here. When the executor
becomes free, every such job waiting for the same provider (up to ``max_size``) goes into
one batched call (``GPUTranscriptionPipeline.transcribe_many``). So batches form only under
backlog, when throughput matters, and a lone job is not delayed unless ``max_wait_s`` asks
for it. Each job still gets its own transcript, metrics and diarization.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..schemas import Transcript
from .audio import DecodedAudio

RunMany = Callable[[str, list[tuple[DecodedAudio, dict]]], Awaitable[list[Transcript]]]


@dataclass
class _Waiting:
    provider: str
    audio: DecodedAudio
    options: dict
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class JobBatcher:
    def __init__(
        self, run_many: RunMany, executor_free: Callable[[], asyncio.Lock], max_size: int, max_wait_s: float
    ) -> None:
        self._run_many = run_many  # called with the executor_free() lock held
        self._executor_free = executor_free
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self._waiting: list[_Waiting] = []
        self._task: asyncio.Task | None = None

    async def transcribe(self, provider: str, audio: DecodedAudio, options: dict) -> Transcript:
        job = _Waiting(provider, audio, options)
        self._waiting.append(job)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="batcher")
        return await job.future

    async def _drain(self) -> None:
        while self._waiting:
            async with self._executor_free():  # everything that queued while it was busy goes together
                if self.max_wait_s > 0 and len(self._waiting) < self.max_size:
                    await asyncio.sleep(self.max_wait_s)
                provider = self._waiting[0].provider
                batch = [j for j in self._waiting if j.provider == provider][: self.max_size]
                for job in batch:
                    self._waiting.remove(job)
                batch = [j for j in batch if not j.future.done()]  # a cancelled job is skipped
                if not batch:
                    continue
                try:
                    transcripts = await self._run_many(provider, [(j.audio, j.options) for j in batch])
                except Exception as exc:  # each job then falls back on its own
                    for job in batch:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    continue
                for job, transcript in zip(batch, transcripts):
                    if not job.future.done():
                        job.future.set_result(transcript)
