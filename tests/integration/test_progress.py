"""Progress events: in order per job, never going back, ending at 100 % with the result."""

from __future__ import annotations

import json

from helpers import read_topic, results_by_job, running_consumer

from streamscribe.broker import ensure_topics
from streamscribe.schemas import JobProgress
from streamscribe.submit import event_for_file, submit_events


async def test_progress_events_climb_in_order_to_100_percent(settings, cpu_executor, audio_dir):
    settings = settings.model_copy(update={"progress_topic": settings.results_topic + ".progress", "progress_interval_s": 0})
    await ensure_topics(settings.bootstrap_servers, [settings.progress_topic], partitions=2)
    lecture = event_for_file(audio_dir / "silero_lecture_60s.wav", diarize=False)
    sample = event_for_file(audio_dir / "pyannote_sample.wav", diarize=True)
    async with running_consumer(settings, cpu_executor):
        await submit_events(settings.bootstrap_servers, settings.input_topic, [lecture, sample])
        results = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=2, timeout=180)
        records = await read_topic(settings.bootstrap_servers, settings.progress_topic, expect=6, timeout=30, settle=1)

    assert all(r[0]["status"] == "completed" for r in results_by_job(results).values())
    by_job: dict[str, list[JobProgress]] = {}
    for record in records:  # topic order within a partition = the order they were sent
        event = JobProgress.model_validate(json.loads(record.value))
        assert record.key.decode() == event.job_id
        by_job.setdefault(event.job_id, []).append(event)
    for job in (lecture, sample):
        events = by_job[job.job_id]
        percents = [e.percent for e in events]
        assert len(events) >= 3, percents
        assert percents == sorted(percents), f"never goes back: {percents}"
        assert events[-1].stage == "done" and percents[-1] == 100 and events[-1].eta_seconds == 0
        assert all(p < 100 for p in percents[:-1]), "100 % only once the job is done"
        assert any(e.eta_seconds and e.eta_seconds > 0 for e in events[:-1]), "an ETA while running"
        assert [e.elapsed_seconds for e in events] == sorted(e.elapsed_seconds for e in events)
        assert all(e.audio_seconds == round(e.audio_seconds, 3) > 0 for e in events)
    assert "diarization" in [e.stage for e in by_job[sample.job_id]], "the diarized job reports its second stage"
    assert "diarization" not in [e.stage for e in by_job[lecture.job_id]]
