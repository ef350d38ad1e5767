"""A 20-minute recording through the real service: memory stays bounded and progress moves.

The file is the distinct shared clips concatenated in turn up to 20 minutes. The service
first runs the 60 s lecture, then the 20-minute file; its peak RSS (VmHWM) after the long job
must stay within 1.3x of the peak after the short one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from helpers import read_topic, results_by_job
from processes import service_env, started

from streamscribe.broker import ensure_topics
from streamscribe.pipeline import decode_audio
from streamscribe.schemas import JobProgress
from streamscribe.submit import event_for_file, submit_events

CLIPS = ["silero_lecture_60s.wav", "jfk.flac", "pyannote_sample.wav", "hotwords.mp3", "multilingual.mp3", "stereo_diarization.wav"]
LONG_SECONDS = 20 * 60


def write_long_file(audio_dir, path) -> None:
    clips = [decode_audio(audio_dir / name).samples for name in CLIPS]
    parts, total, i = [], 0, 0
    while total < LONG_SECONDS * 16_000:
        parts.append(clips[i % len(clips)])
        total += len(parts[-1])
        i += 1
    sf.write(path, np.concatenate(parts)[: LONG_SECONDS * 16_000], 16_000, subtype="PCM_16")


def peak_rss_bytes(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.timeout(1800)  # 20 minutes of audio with diarization: a few minutes of CPU here
async def test_twenty_minutes_with_bounded_memory_and_progress_to_100(settings, audio_dir, tmp_path):
    long_file = tmp_path / "twenty_minutes.wav"
    write_long_file(audio_dir, long_file)
    progress_topic = settings.results_topic + ".progress"
    await ensure_topics(settings.bootstrap_servers, [progress_topic], partitions=2)
    env = service_env(settings, tmp_path) | {
        "STREAMSCRIBE_PROGRESS_TOPIC": progress_topic, "STREAMSCRIBE_PROGRESS_INTERVAL_S": "10",
        "STREAMSCRIBE_MAX_POLL_INTERVAL_MS": "600000",
        "STREAMSCRIBE_BEAM_SIZE": "1",  # greedy: the same memory path, a third less CPU time for the test
    }
    short = event_for_file(audio_dir / "silero_lecture_60s.wav")
    long = event_for_file(long_file)
    with started(env, tmp_path / "service.log") as service:
        await service.wait_ready()
        await submit_events(settings.bootstrap_servers, settings.input_topic, [short])
        await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=300)
        short_peak = peak_rss_bytes(service.proc.pid)
        await submit_events(settings.bootstrap_servers, settings.input_topic, [long])
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=2, timeout=1500)
        long_peak = peak_rss_bytes(service.proc.pid)
    results = {job: rs[0] for job, rs in results_by_job(records).items()}
    result = results[long.job_id]
    assert result["status"] == "completed", result.get("error")
    assert result["duration"] == LONG_SECONDS and result["segments"][-1]["end"] > LONG_SECONDS - 60
    assert len(result["full_text"].split()) > 1500 and len({t["speaker"] for t in result["speaker_turns"]}) >= 2
    assert long_peak <= 1.3 * short_peak, f"peak RSS {long_peak / 2**20:.0f} MiB vs {short_peak / 2**20:.0f} MiB for 60 s"

    progress = [
        JobProgress.model_validate(json.loads(r.value))
        for r in await read_topic(settings.bootstrap_servers, progress_topic, expect=4, timeout=30, settle=1)
        if r.key.decode() == long.job_id
    ]
    percents = [p.percent for p in progress]
    assert len(progress) >= 3 and percents == sorted(percents), percents
    assert progress[-1].stage == "done" and percents[-1] == 100 and all(p < 100 for p in percents[:-1])
