"""The pipeline on real audio with the real offline models (no broker)."""

from __future__ import annotations

import pytest
from helpers import JFK_REFERENCE, word_error_rate

from streamscribe import GPUTranscriptionPipeline
from streamscribe.pipeline import DecodedAudio, JobError, decode_audio, resolve_audio_path
from streamscribe.pipeline.models import resolve_whisper_model
from streamscribe.schemas import ErrorCode


def test_seed_context_manager_returns_the_seed_result_fields(audio_dir, tmp_path):
    with GPUTranscriptionPipeline(whisper_model="tiny.en", device="cpu", cache_dir=tmp_path) as pipeline:
        result = pipeline.process(str(audio_dir / "jfk.flac"), enable_diarization=False)
        assert pipeline.loaded
    assert not pipeline.loaded, "leaving the context frees the models"
    assert set(result) == {
        "full_text", "segments", "aligned_segments", "language", "duration", "speaker_turns", "provider", "performance_metrics",
    }
    assert word_error_rate(JFK_REFERENCE, result["full_text"]) <= 0.10, result["full_text"]
    assert result["language"] == "en" and result["provider"] == "cpu"
    stages = result["performance_metrics"]["stages"]
    assert stages["transcription"]["duration"] > 0
    assert result["performance_metrics"]["total_duration"] >= stages["transcription"]["duration"]
    words = [w for s in result["segments"] for w in s["words"]]
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert all(0 <= w["start"] <= w["end"] <= 11.01 for w in words)


@pytest.mark.parametrize("name", ["jfk.flac", "hotwords.mp3", "multilingual.mp3", "stereo_diarization.wav", "pyannote_sample.wav", "silero_lecture_60s.wav"])
def test_every_shared_format_decodes_to_16k_mono(audio_dir, name):
    audio = decode_audio(audio_dir / name)
    assert isinstance(audio, DecodedAudio) and audio.samples.ndim == 1 and audio.sample_rate == 16000
    assert audio.duration > 2 and abs(audio.samples).max() > 0.01


def test_decode_errors_are_permanent_and_named(tmp_path):
    with pytest.raises(JobError) as missing:
        decode_audio(tmp_path / "nope.wav")
    assert missing.value.code is ErrorCode.AUDIO_NOT_FOUND and not missing.value.retryable
    (tmp_path / "text.wav").write_text("not audio at all\n" * 50)
    (tmp_path / "empty.flac").write_bytes(b"")
    for name in ("text.wav", "empty.flac"):
        with pytest.raises(JobError) as bad:
            decode_audio(tmp_path / name)
        assert bad.value.code is ErrorCode.AUDIO_DECODE_FAILED, name


def test_audio_uri_forms(tmp_path):
    assert resolve_audio_path("file:///data/a.wav") == resolve_audio_path("/data/a.wav")
    assert resolve_audio_path("clips/a.wav", tmp_path) == tmp_path / "clips" / "a.wav"
    with pytest.raises(JobError) as remote:
        resolve_audio_path("s3://bucket/a.wav")
    assert remote.value.code is ErrorCode.UNSUPPORTED_AUDIO_URI


def test_offline_base_model_is_assembled_once_and_transcribes(audio_dir, tmp_path):
    path = resolve_whisper_model("base", tmp_path)
    model_bin = tmp_path / "whisper-base" / "model.bin"
    assert path == str(tmp_path / "whisper-base") and model_bin.stat().st_size > 100_000_000
    mtime = model_bin.stat().st_mtime_ns
    assert resolve_whisper_model("base", tmp_path) == path and model_bin.stat().st_mtime_ns == mtime, "joined once"

    with GPUTranscriptionPipeline(whisper_model="base", device="cpu", cache_dir=tmp_path) as pipeline:
        transcript = pipeline.transcribe(audio_dir / "jfk.flac", enable_diarization=False)
    assert transcript.language == "en", "base is multilingual and detects the language"
    assert word_error_rate(JFK_REFERENCE, transcript.full_text) <= 0.10, transcript.full_text


def test_unknown_model_fails_with_a_hint_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="offline models: tiny.en, base"):
        GPUTranscriptionPipeline(whisper_model="no-such-model-xyz", device="cpu", cache_dir=tmp_path).load()


def test_over_long_audio_is_refused_before_decoding(audio_dir):
    with pytest.raises(JobError) as info:
        decode_audio(audio_dir / "jfk.flac", max_seconds=5)
    assert info.value.code is ErrorCode.AUDIO_TOO_LONG and "11s long" in info.value.message
    assert decode_audio(audio_dir / "jfk.flac", max_seconds=12).duration == pytest.approx(11.0, abs=0.01)
