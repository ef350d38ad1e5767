"""Process isolation: the model worker killed, aborting or hanging mid-job, under a running
consumer. Each time the worker is replaced, the job completes on its retry, and the
consumer never stops."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from helpers import JFK_REFERENCE, read_topic, results_by_job, running_consumer, word_error_rate

from streamscribe.metrics.registry import REGISTRY
from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.pipeline.worker import RemoteFailure
from streamscribe.submit import event_for_file, submit_events


def restarts(reason: str) -> float:
    return REGISTRY.get_sample_value("streamscribe_worker_restarts_total", {"reason": reason}) or 0.0


@pytest.fixture
async def isolated(settings, tmp_path):
    """Settings and an executor whose tiny.en lives in a worker process (diarization off: fast restarts).

    The hung-worker test gets short worker timeouts: 4 s + 0.5 s per audio second (9.5 s for jfk).
    """
    settings = settings.model_copy(update={
        "isolation": "process", "providers": "cpu", "diarization_mode": "off", "retry_backoff_s": 0.2,
        "worker_restart_backoff_s": 0.2, "worker_fault_file": tmp_path / "fault", "worker_timeout_s": 4.0,
        "worker_timeout_per_audio_s": 0.5,
    })
    executor = TranscriptionExecutor(settings)
    yield settings, executor
    await executor.shutdown()


async def run_one(settings, executor, audio, *, while_running=None) -> dict:
    event = event_for_file(audio, diarize=False)
    async with running_consumer(settings, executor) as consumer:
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        if while_running is not None:
            await while_running()
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=180)
        assert not consumer.stopping, "the consumer kept running through the worker's failure"
    return results_by_job(records)[event.job_id][0]


async def test_worker_killed_mid_job_is_replaced_and_the_job_completes(isolated, audio_dir):
    settings, executor = isolated
    before = restarts("killed")
    first_pid = []

    async def kill_worker_mid_job():
        while executor.active == 0 or executor.worker.pid is None:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # well into the 60 s lecture
        first_pid.append(executor.worker.pid)
        os.kill(first_pid[0], signal.SIGKILL)

    result = await run_one(settings, executor, audio_dir / "silero_lecture_60s.wav", while_running=kill_worker_mid_job)
    assert result["status"] == "completed" and result["attempt"] == 2, result.get("error")
    assert len(result["full_text"].split()) > 100
    assert restarts("killed") == before + 1
    assert executor.worker.pid not in (None, first_pid[0]), "a new worker serves jobs"


async def test_worker_abort_is_replaced_and_the_job_completes(isolated, audio_dir):
    settings, executor = isolated
    before = restarts("abort")
    settings.worker_fault_file.write_text("abort")  # the worker calls os.abort() on its next job
    result = await run_one(settings, executor, audio_dir / "jfk.flac")
    assert result["status"] == "completed" and result["attempt"] == 2, result.get("error")
    assert word_error_rate(JFK_REFERENCE, result["full_text"]) <= 0.10
    assert restarts("abort") == before + 1 and not settings.worker_fault_file.exists()


async def test_hung_worker_is_killed_after_its_timeout_and_the_job_retried(isolated, audio_dir):
    settings, executor = isolated
    before = restarts("timeout")
    settings.worker_fault_file.write_text("hang:600")
    started = asyncio.get_running_loop().time()
    result = await run_one(settings, executor, audio_dir / "jfk.flac")
    assert result["status"] == "completed" and result["attempt"] == 2, result.get("error")
    assert restarts("timeout") == before + 1
    assert asyncio.get_running_loop().time() - started < 120, "the hang was cut at its timeout, not waited out"


def test_worker_failures_cross_the_process_boundary_with_their_meaning():
    from streamscribe.pipeline import JobError
    from streamscribe.pipeline.fallback import ProviderLoadError, fallback_reason
    from streamscribe.schemas import ErrorCode

    job = RemoteFailure.of(JobError(ErrorCode.UNSUPPORTED_AUDIO, "mono file", retryable=False)).exception()
    assert isinstance(job, JobError) and job.code is ErrorCode.UNSUPPORTED_AUDIO and not job.retryable
    try:
        raise ProviderLoadError("the cuda provider could not load") from RuntimeError("CUDA driver version is insufficient")
    except ProviderLoadError as exc:
        load = RemoteFailure.of(exc).exception()
    assert isinstance(load, ProviderLoadError) and fallback_reason(load) == "cuda_unavailable"
    oom = RemoteFailure.of(RuntimeError("CUDA failed with error out of memory")).exception()
    assert fallback_reason(oom) == "gpu_oom" and "out of memory" in str(oom)
