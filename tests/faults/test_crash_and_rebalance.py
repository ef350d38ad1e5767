"""Crashes and rebalances: every event ends in exactly one final outcome, none is lost."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from aiokafka import AIOKafkaConsumer
from helpers import committed_offsets, read_all, read_topic, results_by_job, running_consumer
from processes import service_env, started

from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.submit import event_for_file, submit_events

CLIPS = ("hotwords.mp3", "jfk.flac", "stereo_diarization.wav", "multilingual.mp3")


async def test_kill_minus_9_loop_loses_nothing_and_duplicates_nothing(settings, audio_dir, tmp_path):
    """50 events; the consumer process is SIGKILLed at random moments 5 times and restarted."""
    rng = random.Random(20261125)
    events = [event_for_file(audio_dir / CLIPS[i % len(CLIPS)], diarize=False) for i in range(50)]
    await submit_events(settings.bootstrap_servers, settings.input_topic, events)
    env = {**service_env(settings, tmp_path), "STREAMSCRIBE_DIARIZATION_MODE": "off", "STREAMSCRIBE_MAX_IN_FLIGHT": "3"}

    kills = 0
    for run in range(5):
        with started(env, tmp_path / f"run{run}.log") as service:
            await service.wait_ready()
            await asyncio.sleep(rng.uniform(0.3, 4.0))  # mid-job, between jobs, mid-commit: anywhere
            assert service.proc.poll() is None, "the consumer must be alive when it is killed"
            service.close()  # SIGKILL to the whole process group
            kills += 1
    with started(env, tmp_path / "final.log") as service:
        await service.wait_ready()
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=50, timeout=240, settle=3)

    per_job = Counter(r.key.decode() for r in records)
    missing = {e.job_id for e in events} - set(per_job)
    duplicates = {job: n for job, n in per_job.items() if n > 1}
    print(f"kill -9 loop: {kills} kills, {len(records)} results for {len(events)} events, duplicates: {duplicates}")
    assert kills >= 5
    assert not missing, f"{len(missing)} job(s) lost"
    assert not duplicates, f"duplicate final results: {duplicates}"
    assert all(v["status"] == "completed" for rs in results_by_job(records).values() for v in rs)
    offsets = await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)
    assert sum(o or 0 for o in offsets.values()) == 50


async def test_consumer_leaving_mid_job_hands_its_work_over_without_committing_ahead(settings, audio_dir, monkeypatch):
    """Two consumers share the group; one leaves while its jobs run. No job is lost, and no
    offset is ever committed before the results of the events below it are on the topic."""
    settings = settings.model_copy(update={"revoke_grace_s": 0.0, "diarization_mode": "off"})
    events = [event_for_file(audio_dir / CLIPS[i % 3], diarize=False) for i in range(12)]
    await submit_events(settings.bootstrap_servers, settings.input_topic, events)
    violations: list[str] = []
    commits = []
    real_commit = AIOKafkaConsumer.commit

    async def checked_commit(self, offsets=None):
        # Before any commit reaches the broker: are the results of every offset below it published?
        records = await read_all(settings.bootstrap_servers, settings.results_topic)
        done = {(r["source"]["partition"], r["source"]["offset"]) for rs in results_by_job(records).values() for r in rs}
        for tp, offset in (offsets or {}).items():
            commits.append((tp.partition, offset))
            violations.extend(
                f"partition {tp.partition} committed to {offset} without a result for offset {o}"
                for o in range(offset) if (tp.partition, o) not in done
            )
        return await real_commit(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", checked_commit)
    leaving, staying = TranscriptionExecutor(settings), TranscriptionExecutor(settings)
    try:
        async with running_consumer(settings, staying):
            async with running_consumer(settings.model_copy(update={"shutdown_timeout_s": 0.01}), leaving) as first:
                while not first._tasks:  # leave while a job of its own is running
                    await asyncio.sleep(0.02)
            records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=12, timeout=120, settle=2)
    finally:
        await leaving.shutdown()
        await staying.shutdown()
    per_job = Counter(r.key.decode() for r in records)
    assert set(per_job) == {e.job_id for e in events}, "no job lost"
    assert commits and not violations, violations[:5]
    offsets = await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)
    assert sum(o or 0 for o in offsets.values()) == 12
