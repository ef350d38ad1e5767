"""Retries with back-off, and poison events: on the embedded broker with the real model."""

from __future__ import annotations

import json
import time

from aiokafka import AIOKafkaProducer
from helpers import read_topic, results_by_job, running_consumer

from streamscribe.pipeline import JobError, TranscriptionExecutor
from streamscribe.schemas import ErrorCode
from streamscribe.submit import event_for_file, submit_events

DLQ_HEADERS = {
    "error_code", "reason", "retryable", "attempts", "source_topic", "source_partition", "source_offset", "dead_lettered_at_ms",
}


def flaky(executor: TranscriptionExecutor, failures: int | None):
    """Make the executor fail retryably ``failures`` times (None: always), recording call times."""
    real = executor.transcribe
    calls: list[float] = []

    async def transcribe(audio, **kwargs):
        calls.append(time.monotonic())
        if failures is None or len(calls) <= failures:
            raise JobError(ErrorCode.TRANSCRIPTION_FAILED, f"injected provider failure #{len(calls)}", retryable=True)
        return await real(audio, **kwargs)

    executor.transcribe = transcribe
    return calls


async def test_a_job_failing_twice_then_succeeding_completes_on_attempt_3(settings, audio_dir):
    settings = settings.model_copy(update={"max_attempts": 3, "retry_backoff_s": 0.2})
    executor = TranscriptionExecutor(settings)
    calls = flaky(executor, failures=2)
    event = event_for_file(audio_dir / "jfk.flac", diarize=False)
    try:
        async with running_consumer(settings, executor):
            await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
            records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=60, settle=1)
            dead = await read_topic(settings.bootstrap_servers, settings.dlq_topic, expect=0, timeout=5, settle=0.5)
    finally:
        await executor.shutdown()
    result = json.loads(records[0].value)
    assert len(records) == 1 and result["status"] == "completed" and result["attempt"] == 3
    assert "fellow americans" in result["full_text"].lower()
    assert len(calls) == 3 and dead == []


async def test_a_job_that_always_fails_is_dead_lettered_after_n_attempts_with_backoff(settings, audio_dir):
    settings = settings.model_copy(update={"max_attempts": 4, "retry_backoff_s": 0.4, "retry_backoff_max_s": 10})
    executor = TranscriptionExecutor(settings)
    calls = flaky(executor, failures=None)
    event = event_for_file(audio_dir / "jfk.flac", diarize=False)
    try:
        async with running_consumer(settings, executor):
            await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
            records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=60)
            dead = await read_topic(settings.bootstrap_servers, settings.dlq_topic, expect=1, timeout=30)
    finally:
        await executor.shutdown()
    result = json.loads(records[0].value)
    assert result["status"] == "failed" and result["attempt"] == 4
    assert result["error"] == {"code": "transcription_failed", "message": "injected provider failure #4", "retryable": True}
    headers = dict(dead[0].headers)
    assert headers["attempts"] == b"4" and headers["error_code"] == b"transcription_failed"
    assert json.loads(dead[0].value)["job_id"] == event.job_id, "the original event bytes"
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    # back-off 0.4, 0.8, 1.6 s, each with jitter x0.5-1.5
    for gap, base in zip(gaps, (0.4, 0.8, 1.6)):
        assert base * 0.5 <= gap <= base * 1.5 + 0.5, gaps


async def test_every_poison_kind_is_dead_lettered_and_the_partition_keeps_going(settings, cpu_executor, audio_dir):
    settings = settings.model_copy(update={"max_event_bytes": 2048})
    good = event_for_file(audio_dir / "jfk.flac", diarize=False)
    poison = {
        "invalid_json": b"\xff\xfe\x00garbage",
        "invalid_event": json.dumps({"schema_version": 2, "job_id": "v2", "audio_uri": "/a.wav"}).encode(),
        "invalid_event ": json.dumps({"job_id": "no-audio"}).encode(),
        "event_too_large": json.dumps({"job_id": "big", "audio_uri": "/a.wav", "metadata": {"x": "y" * 4000}}).encode(),
        "invalid_event  ": None,  # a tombstone
    }
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for value in poison.values():  # all on partition 0, then a good event behind them
            await producer.send_and_wait(settings.input_topic, value, key=b"k", partition=0)
        await producer.send_and_wait(settings.input_topic, good.model_dump_json().encode(), key=b"k", partition=0)
    finally:
        await producer.stop()

    async with running_consumer(settings, cpu_executor):
        dead = await read_topic(settings.bootstrap_servers, settings.dlq_topic, expect=5, timeout=60, settle=1)
        results = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=4, timeout=60, settle=1)

    assert sorted(dict(r.headers)["error_code"].decode() for r in dead) == sorted(k.strip() for k in poison)
    for record in dead:
        headers = dict(record.headers)
        assert set(headers) == DLQ_HEADERS
        assert headers["source_partition"] == b"0" and headers["source_topic"].decode() == settings.input_topic
        assert headers["reason"] and headers["retryable"] == b"false" and headers["attempts"] == b"1"
    by_offset = {int(dict(r.headers)["source_offset"]): r.value for r in dead}
    assert by_offset[0] == poison["invalid_json"], "original bytes kept"
    by_job = results_by_job(results)
    assert by_job[good.job_id][0]["status"] == "completed", "the good event behind the poison is processed"
    assert {job: rs[0]["error"]["code"] for job, rs in by_job.items() if job != good.job_id} == {
        "v2": "invalid_event", "no-audio": "invalid_event", "big": "event_too_large",
    }
