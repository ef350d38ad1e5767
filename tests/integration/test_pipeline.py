"""The pipeline on real audio with the real offline models (no broker)."""

from __future__ import annotations

import pytest
from helpers import JFK_REFERENCE, word_error_rate

from streamscribe import GPUTranscriptionPipeline
from streamscribe.pipeline import DecodedAudio, decode_audio
from streamscribe.pipeline.models import resolve_whisper_model


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

