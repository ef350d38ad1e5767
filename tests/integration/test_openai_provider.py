"""The OpenAI provider against a local OpenAI-compatible server, through the real ``openai`` client."""

from __future__ import annotations

import logging
import wave

import numpy as np
import pytest
from pydantic import SecretStr
from helpers import JFK_REFERENCE, read_topic, results_by_job, running_consumer, word_error_rate
from openai_server import FakeOpenAIServer

from streamscribe.broker import free_port
from streamscribe.metrics import REGISTRY
from streamscribe.pipeline import JobError, TranscriptionExecutor, decode_audio, read_rttm
from streamscribe.pipeline.openai_provider import OpenAIConfig, OpenAITranscriber
from streamscribe.schemas import ErrorCode
from streamscribe.settings import Settings
from streamscribe.submit import event_for_file, submit_events

API_KEY = "sk-test-SECRET-4242-do-not-log"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = FakeOpenAIServer(API_KEY, tmp_path_factory.mktemp("models")).start()
    yield srv
    srv.stop()


@pytest.fixture
def transcriber(server):
    server.requests.clear()
    return OpenAITranscriber(OpenAIConfig(api_key=API_KEY, base_url=server.base_url, max_retries=2))


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_transcribes_through_the_api_and_counts_cost(transcriber, server, audio_dir):
    cost, seconds = metric("streamscribe_api_cost_dollars_total"), metric("streamscribe_api_audio_seconds_total")
    transcript = await transcriber.transcribe(decode_audio(audio_dir / "jfk.flac"))
    assert transcript.provider == "openai" and transcript.language == "en"
    assert word_error_rate(JFK_REFERENCE, transcript.full_text) <= 0.10, transcript.full_text
    assert transcript.segments and transcript.segments[-1].end > 9
    assert server.requests[0]["filename"] == "jfk.flac", "a file under the limit is sent as it is"
    assert server.requests[0]["fields"]["model"] == "whisper-1"
    assert metric("streamscribe_api_audio_seconds_total") == pytest.approx(seconds + 11.0, abs=0.01)
    assert metric("streamscribe_api_cost_dollars_total") == pytest.approx(cost + 11.0 / 60 * 0.006, abs=1e-6)


async def test_a_30_mib_recording_is_split_and_stitched(transcriber, server, audio_dir, tmp_path):
    # 983 s of 16 kHz 16-bit mono WAV = 30 MiB: silence with speech at known places.
    rate = 16000
    total = np.zeros(int(30 * 1024 * 1024 / 2), dtype=np.float32)
    jfk = decode_audio(audio_dir / "jfk.flac").samples
    lecture = decode_audio(audio_dir / "silero_lecture_60s.wav").samples[: 20 * rate]
    placed = {10.0: jfk, 400.0: lecture, 900.0: jfk}
    for at, clip in placed.items():
        total[int(at * rate) : int(at * rate) + len(clip)] = clip
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((total * 32767).astype("<i2").tobytes())
    assert path.stat().st_size > 30 * 1024 * 1024

    transcript = await transcriber.transcribe(decode_audio(path))
    assert len(server.requests) >= 2
    assert all(r["bytes"] <= 25 * 1024 * 1024 for r in server.requests), [r["bytes"] for r in server.requests]
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts), "stitched timestamps are monotonic"
    fellow = [s.start for s in transcript.segments if "fellow" in s.text.lower()]
    assert len(fellow) == 2, [s.text for s in transcript.segments]
    assert abs(fellow[0] - 10.0) < 2.0 and abs(fellow[1] - 900.0) < 2.0, "offsets of the second chunk are added"
    lecture_segments = [s for s in transcript.segments if 399 <= s.start < 421]
    assert lecture_segments and abs(lecture_segments[0].start - 400.0) < 2.0, [(s.start, s.text) for s in transcript.segments]


async def test_rate_limit_is_retried_by_the_client(transcriber, server, audio_dir):
    server.fail_next(429, times=1, headers={"retry-after-ms": "50"})
    transcript = await transcriber.transcribe(decode_audio(audio_dir / "jfk.flac"))
    assert "fellow americans" in transcript.full_text.lower()
    assert len(server.requests) == 2


async def test_bad_key_is_a_clear_permanent_failure_and_the_key_is_never_logged(server, audio_dir, caplog):
    executor = TranscriptionExecutor(Settings(providers="openai", openai_api_key="sk-wrong-KEY-0000", openai_base_url=server.base_url))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(JobError) as info:
            await executor.transcribe(decode_audio(audio_dir / "jfk.flac"), enable_diarization=False)
        await executor.shutdown()
    assert info.value.code is ErrorCode.API_ERROR and not info.value.retryable
    assert "401" in info.value.message and "STREAMSCRIBE_OPENAI_API_KEY" in info.value.message
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "debug logging was captured"
    assert "sk-wrong-KEY-0000" not in logged and "sk-wrong-KEY-0000" not in info.value.message


async def test_server_down_falls_back_to_the_next_provider(audio_dir, caplog):
    down = f"http://127.0.0.1:{free_port()}/v1"
    executor = TranscriptionExecutor(Settings(providers="openai,cpu", openai_api_key=API_KEY, openai_base_url=down, openai_max_retries=0))
    before = REGISTRY.get_sample_value("streamscribe_fallbacks_total", {"from": "openai", "to": "cpu", "reason": "api_error"}) or 0
    with caplog.at_level(logging.WARNING):
        transcript = await executor.transcribe(decode_audio(audio_dir / "jfk.flac"), enable_diarization=False)
    await executor.shutdown()
    assert transcript.provider == "cpu"
    assert "OpenAI API transcription failed, falling back to CPU: OpenAI API unreachable" in caplog.text
    assert REGISTRY.get_sample_value("streamscribe_fallbacks_total", {"from": "openai", "to": "cpu", "reason": "api_error"}) == before + 1

    alone = TranscriptionExecutor(Settings(providers="openai", openai_api_key=API_KEY, openai_base_url=down, openai_max_retries=0))
    with pytest.raises(JobError) as info:
        await alone.transcribe(decode_audio(audio_dir / "jfk.flac"), enable_diarization=False)
    await alone.shutdown()
    assert info.value.code is ErrorCode.API_ERROR and info.value.retryable, "a network failure may succeed later"


async def test_api_transcripts_get_speakers_from_the_local_diarizer(server, audio_dir):
    executor = TranscriptionExecutor(Settings(providers="openai", openai_api_key=API_KEY, openai_base_url=server.base_url))
    transcript = await executor.transcribe(decode_audio(audio_dir / "pyannote_sample.wav"))
    await executor.shutdown()
    assert transcript.provider == "openai"
    assert len({t.speaker for t in transcript.speaker_turns}) == 2
    assert transcript.aligned_segments and {"diarization", "alignment"} <= set(transcript.performance_metrics.stages)
    reference = read_rttm((audio_dir / "pyannote_sample.rttm").read_text())["sample"]
    assert {a.speaker for a in transcript.aligned_segments} == {"SPEAKER_00", "SPEAKER_01"}
    assert len(reference) > 2


async def test_consumer_publishes_a_failed_result_for_a_rejected_key(settings, server, audio_dir):
    settings = settings.model_copy(
        update={"providers": "openai", "openai_api_key": SecretStr("sk-nope"), "openai_base_url": server.base_url}
    )
    executor = TranscriptionExecutor(settings)
    event = event_for_file(audio_dir / "jfk.flac", diarize=False)
    async with running_consumer(settings, executor):
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=1, timeout=60)
        dead = await read_topic(settings.bootstrap_servers, settings.dlq_topic, expect=1, timeout=30)
    await executor.shutdown()
    result = results_by_job(records)[event.job_id][0]
    assert result["status"] == "failed" and result["error"]["code"] == "api_error"
    assert result["error"]["retryable"] is False and "401" in result["error"]["message"]
    assert dict(dead[0].headers)["error_code"] == b"api_error"
    assert b"sk-nope" not in records[0].value and not any(b"sk-nope" in v for _, v in dead[0].headers)

