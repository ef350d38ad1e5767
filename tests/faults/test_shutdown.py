"""Signals during a long job: the first lets it finish and commit, a second abandons it."""

from __future__ import annotations

import signal
import time

import numpy as np
import soundfile as sf
from helpers import committed_offsets, read_topic, results_by_job
from processes import service_env, started

from streamscribe.pipeline import decode_audio
from streamscribe.submit import event_for_file, submit_events

DISTINCT = ("silero_lecture_60s.wav", "pyannote_sample.wav", "multilingual.mp3", "jfk.flac", "stereo_diarization.wav", "hotwords.mp3")


def long_recording(audio_dir, path):
    """~125 s made of the six different shared recordings back to back (no loop)."""
    samples = np.concatenate([decode_audio(audio_dir / name).samples for name in DISTINCT])
    sf.write(path, samples, 16000)
    return path


def job_line(job_id: str) -> str:
    return rf"job {job_id}: [\d.]+s of audio"


async def committed_total(settings) -> int:
    return sum(o or 0 for o in (await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)).values())


async def test_sigterm_during_a_20_s_job_finishes_it_commits_and_exits_0(settings, audio_dir, tmp_path):
    env = {**service_env(settings, tmp_path), "STREAMSCRIBE_WHISPER_MODEL": "base"}  # slower: a long job
    event = event_for_file(long_recording(audio_dir, tmp_path / "long.wav"))
    with started(env, tmp_path / "consumer.log") as service:
        await service.wait_ready()
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        await service.wait_for_log(job_line(event.job_id), 60)
        signalled = time.monotonic()
        service.proc.send_signal(signal.SIGTERM)
        assert await service.wait_exit(180) == 0
        waited = time.monotonic() - signalled
    result = results_by_job(await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=10))[event.job_id][0]
    assert result["status"] == "completed"
    assert result["performance_metrics"]["total_duration"] >= 15, "the job must be long for this test to mean something"
    assert waited >= 10, "the process waited for the running job"
    assert await committed_total(settings) == 1


async def test_a_second_signal_abandons_the_running_job_uncommitted(settings, audio_dir, tmp_path):
    env = {**service_env(settings, tmp_path), "STREAMSCRIBE_WHISPER_MODEL": "base"}
    event = event_for_file(long_recording(audio_dir, tmp_path / "long.wav"))
    with started(env, tmp_path / "consumer.log") as service:
        await service.wait_ready()
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        await service.wait_for_log(job_line(event.job_id), 60)
        service.proc.send_signal(signal.SIGTERM)
        await service.wait_for_log("finishing running jobs", 10)
        service.proc.send_signal(signal.SIGTERM)
        started_exit = time.monotonic()
        assert await service.wait_exit(30) == 130
        assert time.monotonic() - started_exit < 15, "forced exit does not wait for the job"
    assert await read_topic(settings.bootstrap_servers, settings.results_topic, expect=0, timeout=5, settle=1) == []
    assert await committed_total(settings) == 0, "the abandoned job is redelivered on the next start"
