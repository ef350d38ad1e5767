"""The consumer end to end, in-process: real broker, real tiny.en model, real audio."""

from __future__ import annotations

import json
import urllib.request

from helpers import JFK_REFERENCE, committed_offsets, produce, read_topic, results_by_job, running_consumer, word_error_rate

from streamscribe.metrics import MetricsServer
from streamscribe.submit import event_for_file, submit_events


async def test_audio_becomes_completed_transcripts_on_the_results_topic(settings, cpu_executor, audio_dir):
    events = [event_for_file(audio_dir / "jfk.flac"), event_for_file(audio_dir / "silero_lecture_60s.wav")]
    async with running_consumer(settings, cpu_executor):
        await submit_events(settings.bootstrap_servers, settings.input_topic, events)
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=2, timeout=120)

    by_job = results_by_job(records)
    assert {r.key.decode() for r in records} == {e.job_id for e in events}, "results are keyed by job_id"
    jfk, lecture = by_job[events[0].job_id][0], by_job[events[1].job_id][0]
    for result in (jfk, lecture):
        assert result["status"] == "completed", result.get("error")
        assert result["provider"] == "cpu" and result["model"] == "tiny.en"
        assert result["realtime_factor"] > 0
        assert set(result["performance_metrics"]["stages"]) >= {"audio_preprocessing", "transcription"}
        assert result["source"]["topic"] == settings.input_topic
    assert word_error_rate(JFK_REFERENCE, jfk["full_text"]) <= 0.10, jfk["full_text"]
    assert abs(jfk["duration"] - 11.0) < 0.1 and abs(lecture["duration"] - 60.0) < 0.1
    assert len(lecture["full_text"].split()) > 100, "a minute of lecture is more than a hundred words"
    assert lecture["segments"][-1]["end"] > 50
    assert all(seg["words"] for seg in lecture["segments"]), "word timestamps feed speaker alignment"


async def test_a_job_longer_than_max_poll_interval_completes_without_rebalance(settings, cpu_executor, audio_dir):
    # One job at a time: while the lecture runs the loop is paused and must keep polling.
    settings = settings.model_copy(update={"max_poll_interval_ms": 2000, "max_in_flight": 1})
    event = event_for_file(audio_dir / "silero_lecture_60s.wav")
    async with running_consumer(settings, cpu_executor) as service:
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=120, settle=4)
        assert service.assignments == 1, "the consumer was rebalanced during the long job"
    result = json.loads(records[0].value)
    assert result["status"] == "completed"
    assert result["performance_metrics"]["total_duration"] > 2.0, "the job must outlast max_poll_interval_ms"
    assert len(records) == 1, "the job was processed twice"
    assert sum(o or 0 for o in (await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)).values()) == 1


async def test_restart_neither_reprocesses_nor_skips(settings, cpu_executor, audio_dir):
    first = [event_for_file(audio_dir / "jfk.flac"), event_for_file(audio_dir / "hotwords.mp3")]
    second = [event_for_file(audio_dir / "stereo_diarization.wav"), event_for_file(audio_dir / "jfk.flac")]
    async with running_consumer(settings, cpu_executor):
        await submit_events(settings.bootstrap_servers, settings.input_topic, first)
        await read_topic(settings.bootstrap_servers, settings.results_topic, expect=2, timeout=60)
    # Stopped: these wait in the topic for the next consumer of the group.
    await submit_events(settings.bootstrap_servers, settings.input_topic, second)
    async with running_consumer(settings, cpu_executor):
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=4, timeout=60, settle=4)

    by_job = results_by_job(records)
    assert sorted(by_job) == sorted(e.job_id for e in first + second)
    assert all(len(results) == 1 for results in by_job.values()), "an event was processed twice"
    offsets = await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)
    assert sum(o or 0 for o in offsets.values()) == 4


async def test_bad_events_get_a_clear_outcome_and_the_consumer_keeps_going(settings, cpu_executor, audio_dir, tmp_path):
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is a text file with a .wav name\n" * 20)
    good = event_for_file(audio_dir / "jfk.flac")
    settings = settings.model_copy(update={"max_audio_seconds": 30})
    bad_schema = {"job_id": "bad-schema", "audio_uri": str(audio_dir / "jfk.flac"), "num_speakers": 0, "colour": "red"}
    async with running_consumer(settings, cpu_executor):
        await produce(settings.bootstrap_servers, settings.input_topic, b"{not json", key=b"k1")
        await produce(settings.bootstrap_servers, settings.input_topic, json.dumps(bad_schema).encode())
        await submit_events(
            settings.bootstrap_servers,
            settings.input_topic,
            [
                event_for_file(tmp_path / "does-not-exist.flac", job_id="missing-file"),
                event_for_file(not_audio, job_id="not-audio"),
                event_for_file(audio_dir / "jfk.flac", job_id="wrong-model", model="large-v3"),
                event_for_file(audio_dir / "silero_lecture_60s.wav", job_id="too-long"),
                good,
            ],
        )
        results = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=6, timeout=60)
        dead = await read_topic(settings.bootstrap_servers, settings.dlq_topic, expect=6, timeout=30, settle=2)

    by_job = {job: rs[0] for job, rs in results_by_job(results).items()}
    assert by_job[good.job_id]["status"] == "completed", "a good event after bad ones is still processed"
    expected = {
        "bad-schema": "invalid_event",
        "missing-file": "audio_not_found",
        "not-audio": "unsupported_audio",
        "wrong-model": "unsupported_model",
        "too-long": "audio_too_long",
    }
    for job_id, code in expected.items():
        assert by_job[job_id]["status"] == "failed"
        assert by_job[job_id]["error"]["code"] == code, by_job[job_id]["error"]
        assert by_job[job_id]["error"]["message"]
    assert "num_speakers" in by_job["bad-schema"]["error"]["message"] and "colour" in by_job["bad-schema"]["error"]["message"]

    assert len(dead) == 6, "every failed event is dead-lettered once, the malformed one included"
    headers = [dict(r.headers) for r in dead]
    codes = sorted(h["error_code"].decode() for h in headers)
    assert codes == sorted(["invalid_json", *expected.values()])
    malformed = next(r for r in dead if dict(r.headers)["error_code"] == b"invalid_json")
    assert malformed.value == b"{not json", "the dead letter keeps the original bytes"
    assert dict(malformed.headers)["source_topic"].decode() == settings.input_topic
    assert b"not valid JSON" in dict(malformed.headers)["reason"]
    offsets = await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)
    assert sum(o or 0 for o in offsets.values()) == 7, "every outcome was committed"


async def test_metrics_and_health_endpoints_report_the_job(settings, cpu_executor, audio_dir):
    from streamscribe.metrics import Health

    async with running_consumer(settings, cpu_executor) as service:
        server = MetricsServer(service.health, "127.0.0.1", 0).start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            assert _get(base + "/healthz")[0] == 200
            assert _get(base + "/readyz")[0] == 200
            await submit_events(settings.bootstrap_servers, settings.input_topic, [event_for_file(audio_dir / "jfk.flac")])
            await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=60)
            status, body = _get(base + "/metrics")
        finally:
            server.stop()
    assert status == 200
    samples = _samples(body)
    assert samples['streamscribe_realtime_factor_count{provider="cpu"}'] >= 1
    assert samples['streamscribe_realtime_factor_sum{provider="cpu"}'] > 0
    assert samples['streamscribe_jobs_total{provider="cpu",status="completed"}'] >= 1
    assert samples['streamscribe_audio_processed_seconds_total{provider="cpu"}'] >= 11
    assert samples['streamscribe_stage_duration_seconds_count{stage="transcription"}'] >= 1
    assert samples['streamscribe_model_load_seconds{device="cpu",model="tiny.en"}'] > 0
    assert "streamscribe_jobs_in_flight" in samples and "streamscribe_rebalances_total" in samples
    assert not any(name.startswith("streamscribe_gpu_memory") for name in samples), "no GPU: no GPU memory series"

    idle = MetricsServer(Health(), "127.0.0.1", 0).start()
    try:
        assert _get(f"http://127.0.0.1:{idle.port}/readyz")[0] == 503, "no model, no partitions: not ready"
    finally:
        idle.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_two_speaker_sample_through_kafka_gets_speaker_labelled_words(settings, cpu_executor, audio_dir):
    from helpers import word_label_accuracy

    from streamscribe.pipeline import read_rttm
    from streamscribe.schemas import TranscriptResult

    event = event_for_file(audio_dir / "pyannote_sample.wav", max_speakers=4)
    mono = event_for_file(audio_dir / "jfk.flac", diarize=False)
    async with running_consumer(settings, cpu_executor):
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event, mono])
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=2, timeout=120)
    by_job = {job: TranscriptResult.model_validate(rs[0]) for job, rs in results_by_job(records).items()}

    result = by_job[event.job_id]
    assert result.status == "completed"
    assert len({t.speaker for t in result.speaker_turns}) == 2
    reference = read_rttm((audio_dir / "pyannote_sample.rttm").read_text())["sample"]
    assert word_label_accuracy(result, reference) >= 0.90
    assert {"diarization", "alignment"} <= set(result.performance_metrics.stages)

    skipped = by_job[mono.job_id]
    assert skipped.status == "completed" and skipped.speaker_turns == [] and skipped.aligned_segments == []
    assert "diarization" not in skipped.performance_metrics.stages


async def test_gpu_chain_on_a_machine_without_gpu_completes_on_cpu_counting_one_fallback(settings, audio_dir):
    from streamscribe.metrics import REGISTRY
    from streamscribe.pipeline import TranscriptionExecutor, devices

    if devices.cuda_device_count() > 0:
        import pytest

        pytest.skip("asserts the behaviour of a machine without a GPU")
    settings = settings.model_copy(update={"use_gpu_pipeline": True, "breaker_cooldown_s": 600})
    executor = TranscriptionExecutor(settings)

    def sample(name, labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    fallback_labels = {"from": "cuda", "to": "cpu", "reason": "cuda_unavailable"}
    fallbacks = sample("streamscribe_fallbacks_total", fallback_labels)
    skips = sample("streamscribe_provider_skips_total", {"provider": "cuda"})
    events = [event_for_file(audio_dir / name, diarize=False) for name in ("jfk.flac", "hotwords.mp3", "stereo_diarization.wav")]
    try:
        async with running_consumer(settings, executor):
            await submit_events(settings.bootstrap_servers, settings.input_topic, events)
            records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=3, timeout=90)
    finally:
        await executor.shutdown()
    results = [rs[0] for rs in results_by_job(records).values()]
    assert [r["status"] for r in results] == ["completed"] * 3
    assert {r["provider"] for r in results} == {"cpu"}
    assert sample("streamscribe_fallbacks_total", fallback_labels) == fallbacks + 1, "counted once per cool-down"
    assert sample("streamscribe_provider_skips_total", {"provider": "cuda"}) == skips + 3
