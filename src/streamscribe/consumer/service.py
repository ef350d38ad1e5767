"""The Kafka loop: admit audio-ready events, run them on the executor, publish, commit.

An explicit aiokafka loop in the style of aiokafka's own examples:

* at-least-once: auto-commit is off; an offset is committed only after the job's outcome was
  acknowledged by the broker, per partition and in order (``OffsetTracker``), in batches;
* backpressure: at most ``max_in_flight`` jobs are admitted; when full, the partitions are
  paused and the loop keeps polling, so heartbeats and ``max_poll_interval_ms`` never expire
  however long a job runs;
* the next job is decoded on a separate thread pool while the current one runs, so the
  executor never waits on Kafka or I/O;
* every record ends in an outcome: a completed or failed result on the results topic, and
  a dead-letter record for anything that failed; nothing crashes the loop;
* retryable failures are retried with back-off inside the job's task, so the loop (and the
  partition's heartbeat) never waits for them;
* a redelivered event whose job_id already has a result is skipped (``dedup``);
* on a rebalance, jobs of revoked partitions get a grace period, then are abandoned
  unpublished and uncommitted for the new owner;
* shutdown stops fetching, lets running jobs finish (up to ``shutdown_timeout_s``), commits
  and leaves the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from ..metrics import Health
from ..metrics import registry as metrics
from ..pipeline import (
    DecodedAudio,
    JobError,
    SpeakerHints,
    TranscriptionExecutor,
    decode_audio,
    realtime_factor,
)
from ..pipeline.sources import AudioFetcher
from ..schemas import AudioReady, ErrorCode, ErrorInfo, SourceRef, TranscriptResult
from ..settings import Settings
from .dedup import RecentResults, ResultsFollower
from .offsets import OffsetTracker
from .progress import ProgressReporter
from .publisher import MAX_RESULT_BYTES, PublishAborted, ResultPublisher
from .records import job_id_hint, parse_event

log = logging.getLogger(__name__)

# How often a paused loop polls Kafka anyway (keeps the consumer in its group), in seconds.
_PAUSED_POLL_S = 0.5
_LAG_REPORT_S = 5.0


class TranscriptionConsumer:
    """One consumer-group member feeding one executor."""

    def __init__(self, settings: Settings, executor: TranscriptionExecutor, health: Health | None = None) -> None:
        self.settings = settings
        self.executor = executor
        self.health = health or Health()
        self.assignments = 0  # partition assignments received, the first one included
        self._tracker = OffsetTracker()
        self._tasks: set[asyncio.Task] = set()
        self._fetcher = AudioFetcher(settings)
        self._decode_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="audio_decode")
        self._paused = False
        self._stopping: asyncio.Event | None = None
        self._force: asyncio.Event | None = None
        self._slot_freed: asyncio.Event | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._publisher: ResultPublisher | None = None
        self._producer: AIOKafkaProducer | None = None
        self._recent = RecentResults(max(settings.dedup_window, 1))
        self._follower: ResultsFollower | None = None
        self._task_partitions: dict[asyncio.Task, TopicPartition] = {}
        self._membership_lost = False  # a commit was rejected: don't commit on the coming revoke

    # --- control ---------------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was asked for."""
        return self._stopping is not None and self._stopping.is_set()

    def stop(self, force: bool = False) -> None:
        """Ask the loop to stop: finish running jobs, commit, leave. ``force`` abandons them."""
        if self._stopping is None:
            return
        self._stopping.set()
        if force:
            self._force.set()

    async def run(self) -> None:
        """Load the models, join the group and process events until ``stop()``."""
        self._stopping, self._force, self._slot_freed = asyncio.Event(), asyncio.Event(), asyncio.Event()
        provider = await self.executor.start()
        self.health.set_model_loaded(True)
        log.info("executor ready: Whisper %s on %s", self.executor.model_name, provider)

        s = self.settings
        producer = AIOKafkaProducer(
            bootstrap_servers=s.bootstrap_servers,
            client_id=s.client_id,
            acks="all",
            compression_type="gzip",
            max_request_size=MAX_RESULT_BYTES,
        )
        self._consumer = consumer = AIOKafkaConsumer(
            bootstrap_servers=s.bootstrap_servers,
            group_id=s.group_id,
            client_id=s.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=s.max_poll_interval_ms,
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_partition_fetch_bytes=max(s.max_event_bytes + 4096, 1_048_576),
        )
        await producer.start()
        self._producer = producer
        try:
            self._publisher = ResultPublisher(producer, s.results_topic, s.dlq_topic, give_up=self._force)
            if s.dedup_window > 0:
                # Before joining: a redelivered event must find the result published before a crash.
                self._follower = ResultsFollower(s.bootstrap_servers, s.results_topic, self._recent, s.client_id)
                await self._follower.start()
            consumer.subscribe([s.input_topic], listener=_RebalanceListener(self))
            await consumer.start()
            lag_task = asyncio.create_task(self._report_lag(), name="consumer-lag")
            try:
                log.info("consuming %s as group %s -> results on %s", s.input_topic, s.group_id, s.results_topic)
                await self._consume()
                await self._drain()
            finally:
                lag_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lag_task
                await consumer.stop()  # leaves the group so partitions move at once
        finally:
            if self._follower is not None:
                await self._follower.stop()
            await producer.stop()
            self.health.set_partitions(0)
            self._decode_pool.shutdown(wait=False, cancel_futures=True)
            log.info("consumer stopped")

    # --- the loop --------------------------------------------------------------------------
    async def _consume(self) -> None:
        consumer = self._consumer
        while not self._stopping.is_set():
            free = self.settings.max_in_flight - len(self._tasks)
            if free <= 0:
                self._pause()
                self._slot_freed.clear()
                await _wait_any(self._slot_freed, self._stopping, timeout=_PAUSED_POLL_S)
                # Still poll while paused: this is what keeps max_poll_interval_ms satisfied.
                batch = await consumer.getmany(timeout_ms=0, max_records=1)
            else:
                self._resume()
                batch = await consumer.getmany(timeout_ms=200, max_records=free)
            for records in batch.values():
                for record in records:
                    self._admit(record)
            await self._commit()

    def _admit(self, record: ConsumerRecord) -> None:
        tp = TopicPartition(record.topic, record.partition)
        epoch = self._tracker.add(tp, record.offset)
        task = asyncio.create_task(self._handle(record, tp, epoch), name=f"job-{record.partition}-{record.offset}")
        self._tasks.add(task)
        self._task_partitions[task] = tp
        task.add_done_callback(self._job_finished)
        metrics.JOBS_IN_FLIGHT.set(len(self._tasks))

    def _job_finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._task_partitions.pop(task, None)
        metrics.JOBS_IN_FLIGHT.set(len(self._tasks))
        self._slot_freed.set()

    async def _drain(self) -> None:
        """Stop fetching, let admitted jobs finish within the deadline, commit what finished."""
        self._pause()
        deadline = time.monotonic() + self.settings.shutdown_timeout_s
        if self._tasks:
            log.info("shutting down: waiting up to %.0fs for %d running job(s)", self.settings.shutdown_timeout_s, len(self._tasks))
        while self._tasks and not self._force.is_set() and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=_PAUSED_POLL_S)
            await self._consumer.getmany(timeout_ms=0, max_records=1)  # stay in the group; records are not admitted
            await self._commit()
        if self._tasks:
            log.warning("abandoning %d unfinished job(s): not committed, they will be redelivered", len(self._tasks))
            self._force.set()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._commit()

    def _pause(self) -> None:
        if not self._paused:
            self._consumer.pause(*self._consumer.assignment())
            self._paused = True

    def _resume(self) -> None:
        if self._paused:
            self._consumer.resume(*self._consumer.assignment())
            self._paused = False

    async def _commit(self, partitions: set[TopicPartition] | None = None) -> None:
        offsets = self._tracker.committable(partitions if partitions is not None else self._consumer.assignment())
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group no longer knows us (our session expired, or the broker lost its state):
            # our offsets may belong to another generation. Leave them to the redelivery + dedup.
            self._membership_lost = True
            log.warning("offset commit rejected, the group no longer knows this member: %s", exc)
            return
        except KafkaError as exc:  # e.g. a rebalance in progress: the offsets are committed next turn
            log.warning("offset commit failed, will retry: %s", exc)
            return
        self._tracker.mark_committed(offsets)
        metrics.COMMITTED_OFFSETS.inc()

    # --- one job ---------------------------------------------------------------------------
    async def _handle(self, record: ConsumerRecord, tp: TopicPartition, epoch: int) -> None:
        outcome = await self._process(record)
        if outcome is _ABANDONED:
            log.info("%s:%d@%d abandoned while stopping: not committed, it will be redelivered", tp.topic, tp.partition, record.offset)
            return
        if outcome is _DUPLICATE:
            metrics.DUPLICATES.inc()
            self._tracker.done(tp, record.offset, epoch)
            return
        result, error, attempts = outcome
        if not self._tracker.owns(tp, epoch):
            # Revoked while the job ran: the partition's new owner processes the event again.
            log.info("%s:%d@%d finished after its partition was revoked: outcome not published", tp.topic, tp.partition, record.offset)
            return
        try:
            if result is not None:
                await self._publisher.publish_result(result)
                self._recent.add(result.job_id)
            if error is not None:
                job_id = result.job_id if result else job_id_hint(record.value)
                await self._publisher.dead_letter(record, error, job_id, attempts)
        except PublishAborted as exc:
            log.warning("%s; %s:%d@%d stays uncommitted", exc, record.topic, record.partition, record.offset)
            return
        except KafkaError as exc:
            # Not retriable (e.g. over the broker's size limit). Keep the partition moving, but loudly.
            log.error("could not publish the outcome of %s:%d@%d: %s", record.topic, record.partition, record.offset, exc)
            metrics.JOB_ERRORS.labels(ErrorCode.INTERNAL_ERROR.value).inc()
        self._tracker.done(tp, record.offset, epoch)
        status = result.status if result else "failed"
        metrics.JOBS.labels(status, (result.provider if result else None) or "none").inc()
        if error is not None:
            metrics.JOB_ERRORS.labels(error.code.value).inc()

    async def _process(self, record: ConsumerRecord):
        """Run one record to its final outcome: ``(result, error, attempts)``, ``_DUPLICATE`` or
        ``_ABANDONED``. Never raises: every failure becomes a failed outcome."""
        source = SourceRef(topic=record.topic, partition=record.partition, offset=record.offset)
        job_id = metadata = None
        attempts = _Attempts()
        try:
            event = parse_event(record.value, self.settings.max_event_bytes)
            job_id, metadata = event.job_id, event.metadata
            if self.settings.dedup_window > 0 and job_id in self._recent:
                log.info("job %s already has a published result: redelivery skipped", job_id)
                return _DUPLICATE
            if event.model and event.model != self.executor.model_name:
                raise JobError(
                    ErrorCode.UNSUPPORTED_MODEL,
                    f"event asks for model {event.model!r}; this service runs {self.executor.model_name!r}",
                )
            audio = await self._retrying(job_id, attempts, lambda: self._load_audio(event))
            log.info("job %s: %.1fs of audio from %s", job_id, audio.duration, audio.source)
            hints = SpeakerHints(event.num_speakers, event.min_speakers, event.max_speakers)
            progress = self._progress_for(job_id, audio, event.diarize)
            succeeded: bool | None = None  # None: abandoned, no final progress event
            try:
                transcript = await self._retrying(
                    job_id,
                    attempts,
                    lambda: self.executor.transcribe(
                        audio, language=event.language, enable_diarization=event.diarize, hints=hints,
                        on_progress=progress.update if progress else None,
                    ),
                )
                succeeded = True
            except _Abandoned:
                raise
            except Exception:
                succeeded = False
                raise
            finally:
                if progress is not None:
                    await (progress.close() if succeeded is None else progress.finish(succeeded))
            result = TranscriptResult(
                **transcript.model_dump(),
                job_id=job_id,
                status="completed",
                model=self.executor.model_name,
                realtime_factor=realtime_factor(transcript),
                attempt=attempts.count,
                source=source,
                metadata=metadata,
            )
            log.info(
                "job %s completed on %s: %.1fs audio at %.1fx realtime (audio s / wall s)",
                job_id, result.provider, result.duration or 0, result.realtime_factor or 0,
            )
            return result, None, attempts.count
        except _Abandoned:
            return _ABANDONED
        except JobError as exc:
            error = ErrorInfo(code=exc.code, message=exc.message, retryable=exc.retryable)
        except Exception as exc:  # a bug or an unexpected library error: still an outcome, never a crash
            log.exception("job at %s:%d@%d failed unexpectedly", record.topic, record.partition, record.offset)
            error = ErrorInfo(code=ErrorCode.INTERNAL_ERROR, message=f"{type(exc).__name__}: {exc}", retryable=True)
        job_id = job_id or job_id_hint(record.value)
        log.warning(
            "job %s failed after %d attempt(s) (%s): %s", job_id or "<no job_id>", attempts.count, error.code.value, error.message
        )
        if job_id is None:
            return None, error, attempts.count  # nothing to key a result by: the dead-letter record carries it
        failed = TranscriptResult(
            job_id=job_id, status="failed", error=error, model=self.executor.model_name, attempt=attempts.count,
            source=source, metadata=metadata or {},
        )
        return failed, error, attempts.count

    async def _retrying(self, job_id: str, attempts: _Attempts, step: Callable[[], Awaitable[T]]) -> T:
        """Run one step of a job, retrying retryable ``JobError``s with back-off.

        The attempts are counted across the job's steps (fetch, transcribe), up to
        ``max_attempts``. Raises ``_Abandoned`` when the service stops during a back-off.
        """
        while True:
            try:
                return await step()
            except JobError as exc:
                if not exc.retryable or attempts.count >= self.settings.max_attempts:
                    raise
                delay = retry_delay(attempts.count, self.settings.retry_backoff_s, self.settings.retry_backoff_max_s)
                log.warning("job %s attempt %d failed (%s); retrying in %.1fs", job_id, attempts.count, exc.message, delay)
                metrics.RETRIES.inc()
                if await _wait_any(self._stopping, timeout=delay):
                    raise _Abandoned from None
                attempts.count += 1

    def _progress_for(self, job_id: str, audio: DecodedAudio, diarize: bool) -> ProgressReporter | None:
        s = self.settings
        if not s.progress_topic:
            return None
        diarized = diarize and s.diarization_mode != "off"
        return ProgressReporter(self._producer, s.progress_topic, job_id, audio.duration, diarized, s.progress_interval_s)

    async def _load_audio(self, event: AudioReady) -> DecodedAudio:
        """Fetch (local file or download), then decode on the decode pool, off the executor."""
        keep_channels = self.settings.diarization_mode == "channel"
        async with self._fetcher.fetch(event.audio_uri, event.sha256) as local:
            audio = await asyncio.get_running_loop().run_in_executor(
                self._decode_pool, partial(decode_audio, local.path, keep_channels, self.settings.max_audio_seconds)
            )
        metrics.STAGE_DURATION.labels("audio_decode").observe(audio.decode_seconds)
        source = "inline audio" if local.scheme == "data" else event.audio_uri
        return dataclasses.replace(audio, source=source)

    # --- rebalance and lag -----------------------------------------------------------------
    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Give running jobs of these partitions a short grace to finish and be committed;
        # what is still running then is abandoned: not published, not committed.
        running = [t for t, tp in self._task_partitions.items() if tp in revoked]
        if running and self.settings.revoke_grace_s > 0 and not self._membership_lost:
            await asyncio.wait(running, timeout=self.settings.revoke_grace_s)
        if not self._membership_lost:
            await self._commit(revoked)
        left = sum(self._tracker.in_flight(tp) for tp in revoked)
        if left:
            log.info("%d job(s) of revoked partitions abandoned uncommitted: the new owner runs them", left)
        self._tracker.drop(revoked)
        self.health.set_partitions(len(self._consumer.assignment() - revoked))
        for tp in revoked:
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(tp.topic, str(tp.partition))

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        if self._follower is not None and assigned:
            await self._follower.catch_up()  # know what the previous owner published
        self.assignments += 1
        self._membership_lost = False
        metrics.REBALANCES.inc()
        if self._paused and assigned:
            self._consumer.pause(*assigned)
        self.health.set_partitions(len(self._consumer.assignment()))
        log.info("assigned partitions: %s", ", ".join(f"{tp.topic}:{tp.partition}" for tp in sorted(assigned)) or "none")

    async def _report_lag(self) -> None:
        """Lag = end offset - committed offset, per assigned partition, every few seconds.

        Doubles as the broker probe behind readiness: no answer within the interval, not ready.
        """
        while True:
            await asyncio.sleep(_LAG_REPORT_S)
            partitions = list(self._consumer.assignment())
            try:
                # A metadata round trip even with no partitions: they vanish when the broker does.
                await asyncio.wait_for(self._consumer.topics(), timeout=_LAG_REPORT_S)
                if partitions:
                    ends = await asyncio.wait_for(self._consumer.end_offsets(partitions), timeout=_LAG_REPORT_S)
            except (KafkaError, asyncio.TimeoutError) as exc:
                if self.health.broker_reachable:
                    log.warning("broker not answering (%s): not ready until it does", type(exc).__name__)
                self.health.set_broker_reachable(False)
                continue
            if not self.health.broker_reachable:
                log.info("broker answering again: ready")
            self.health.set_broker_reachable(True)
            if not partitions:
                continue
            try:
                for tp in partitions:
                    committed = self._tracker.committed(tp)
                    if committed is None:
                        committed = await self._consumer.committed(tp) or 0
                    metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(ends[tp] - committed, 0))
            except (KafkaError, KeyError) as exc:
                log.debug("lag report skipped: %s", exc)


class _RebalanceListener(ConsumerRebalanceListener):
    def __init__(self, service: TranscriptionConsumer) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked) -> None:
        await self._service._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        await self._service._on_assigned(set(assigned))


async def _wait_any(*events: asyncio.Event, timeout: float) -> bool:
    """Wait until one of the events is set or the timeout passes; True if an event was set."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return bool(done)
    finally:
        for w in waiters:
            w.cancel()


def retry_delay(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential back-off with jitter: base * 2^(attempt-1), capped, times 0.5-1.5."""
    return min(max_s, base_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


@dataclasses.dataclass
class _Attempts:
    """How many times a job has been tried, shared by its steps."""

    count: int = 1


class _Abandoned(Exception):
    """The service stopped while a job waited to retry: leave it uncommitted."""


T = TypeVar("T")
_DUPLICATE = object()
_ABANDONED = object()
