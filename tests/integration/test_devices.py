"""Several devices: one executor per device, jobs to the least busy (two CPU "devices" here)."""

from __future__ import annotations

import pytest
from helpers import read_topic, results_by_job, running_consumer

from streamscribe.pipeline import ExecutorPool, TranscriptionExecutor, build_executor
from streamscribe.pipeline.executor_pool import parse_devices
from streamscribe.settings import Settings
from streamscribe.submit import event_for_file, submit_events


async def test_two_cpu_devices_both_take_jobs(settings, audio_dir):
    settings = settings.model_copy(update={"devices": "cpu,cpu", "diarization_mode": "off", "max_in_flight": 4})
    pool = build_executor(settings)
    assert isinstance(pool, ExecutorPool) and [e.device for e in pool.executors] == ["cpu", "cpu"]
    files = ["jfk.flac", "hotwords.mp3", "stereo_diarization.wav", "multilingual.mp3"]
    events = [event_for_file(audio_dir / name, diarize=False) for name in files]
    try:
        async with running_consumer(settings, pool):
            await submit_events(settings.bootstrap_servers, settings.input_topic, events)
            records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=len(events), timeout=120)
    finally:
        await pool.shutdown()
    by_job = results_by_job(records)
    assert all(by_job[e.job_id][0]["status"] == "completed" for e in events)
    assert sum(e.completed for e in pool.executors) == 4
    assert min(e.completed for e in pool.executors) >= 1, "both devices were used"


def test_device_lists_are_checked():
    assert parse_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"] and parse_devices("cuda") == ["cuda:0"]
    assert parse_devices(None) == [] and isinstance(build_executor(Settings()), TranscriptionExecutor)
    for bad in ("gpu:0", "cuda:x", "cpu:1"):
        with pytest.raises(ValueError, match="STREAMSCRIBE_DEVICES"):
            parse_devices(bad)
    with pytest.raises(ValueError, match="ISOLATION=process"):
        ExecutorPool(Settings(devices="cuda:0,cuda:1", isolation="thread"))
    with pytest.raises(ValueError, match="twice"):
        ExecutorPool(Settings(devices="cuda:0,cuda:0", isolation="process"))
    pool = ExecutorPool(Settings(devices="cuda:0,cuda:1", use_gpu_pipeline=True))
    assert [(e.isolation, e.worker.cuda_visible_devices) for e in pool.executors] == [("process", "0"), ("process", "1")]
