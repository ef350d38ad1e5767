"""Diarization and alignment with the real offline pyannote pipeline on real recordings."""

from __future__ import annotations

import pytest
from helpers import word_label_accuracy

from streamscribe import GPUTranscriptionPipeline
from streamscribe.pipeline import DiarizationConfig, JobError, SpeakerHints, decode_audio, read_rttm
from streamscribe.pipeline import diarization as diarization_module
from streamscribe.pipeline.channels import ChannelDiarizer
from streamscribe.pipeline.diarization import NeuralDiarizer, diarization_error_rate
from streamscribe.schemas import ErrorCode


@pytest.fixture(scope="module")
def diarizer():
    return NeuralDiarizer(DiarizationConfig()).load()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with GPUTranscriptionPipeline("tiny.en", device="cpu", cache_dir=tmp_path_factory.mktemp("models")) as p:
        yield p


def test_der_on_the_pyannote_sample_is_at_most_8_percent(diarizer, audio_dir):
    reference = read_rttm((audio_dir / "pyannote_sample.rttm").read_text())["sample"]
    audio = decode_audio(audio_dir / "pyannote_sample.wav")
    turns = diarizer(audio, SpeakerHints())
    assert len({t.speaker for t in turns}) == 2
    der = diarization_error_rate(reference, turns, audio.duration)
    assert der <= 0.08, f"DER {der:.2%}"


def test_lecture_is_one_speaker(diarizer, audio_dir):
    turns = diarizer(decode_audio(audio_dir / "silero_lecture_60s.wav"), SpeakerHints())
    assert {t.speaker for t in turns} == {"SPEAKER_00"}
    assert sum(t.end - t.start for t in turns) > 40, "a minute of lecture is mostly speech"


def test_speaker_count_hint_is_obeyed(diarizer, audio_dir):
    # Two speakers by default (test above); the hint forces one.
    turns = diarizer(decode_audio(audio_dir / "pyannote_sample.wav"), SpeakerHints(num_speakers=1))
    assert {t.speaker for t in turns} == {"SPEAKER_00"}
    turns = diarizer(decode_audio(audio_dir / "pyannote_sample.wav"), SpeakerHints(max_speakers=1))
    assert {t.speaker for t in turns} == {"SPEAKER_00"}


def test_words_get_the_reference_speaker(pipeline, audio_dir):
    transcript = pipeline.transcribe(audio_dir / "pyannote_sample.wav")
    reference = read_rttm((audio_dir / "pyannote_sample.rttm").read_text())["sample"]
    assert len({t.speaker for t in transcript.speaker_turns}) == 2
    assert {"diarization", "alignment"} <= set(transcript.performance_metrics.stages)
    words = [w for s in transcript.segments for w in s.words]
    labelled = sum(len(a.text.split()) for a in transcript.aligned_segments)
    assert labelled == len(words), "every word is in exactly one aligned segment"
    assert word_label_accuracy(transcript, reference) >= 0.90


def test_diarization_can_be_switched_off_per_job(pipeline, audio_dir):
    transcript = pipeline.transcribe(audio_dir / "pyannote_sample.wav", enable_diarization=False)
    assert transcript.aligned_segments == [] and transcript.speaker_turns == []
    assert set(transcript.performance_metrics.stages) == {"audio_preprocessing", "transcription"}


def test_channel_mode_labels_a_stereo_call_by_channel(audio_dir, tmp_path):
    # Left talks 0-4.7 s; right talks over it from ~0.3 to ~2.5 s, then is silent.
    config = DiarizationConfig(mode="channel")
    with GPUTranscriptionPipeline("tiny.en", device="cpu", cache_dir=tmp_path, diarization=config) as p:
        transcript = p.transcribe(audio_dir / "stereo_diarization.wav")
    turns = transcript.speaker_turns
    assert {t.speaker for t in turns} == {"SPEAKER_00", "SPEAKER_01"}
    assert turns[0].speaker == "SPEAKER_00" and turns[0].start < 0.2, "left starts"
    assert turns[-1].speaker == "SPEAKER_00" and turns[-1].end > 4.5, "left ends, after right went quiet"
    right = [t for t in turns if t.speaker == "SPEAKER_01"]
    assert right and all(0.2 <= t.start and t.end <= 2.7 for t in right)
    assert transcript.aligned_segments[-1].speaker == "SPEAKER_00"
    assert "curtain" in transcript.aligned_segments[-1].text


def test_channel_mode_refuses_mono_audio(audio_dir):
    with pytest.raises(JobError) as info:
        ChannelDiarizer()(decode_audio(audio_dir / "silero_lecture_60s.wav", keep_channels=True))
    assert info.value.code is ErrorCode.UNSUPPORTED_AUDIO


def test_pipeline_is_built_once_for_many_jobs(monkeypatch, audio_dir, tmp_path):
    calls = []
    real = diarization_module.build_offline_pipeline
    monkeypatch.setattr(diarization_module, "build_offline_pipeline", lambda config: calls.append(1) or real(config))
    with GPUTranscriptionPipeline("tiny.en", device="cpu", cache_dir=tmp_path) as p:
        for name in ("jfk.flac", "hotwords.mp3", "pyannote_sample.wav"):
            assert p.transcribe(audio_dir / name).speaker_turns
    assert calls == [1]


@pytest.mark.parametrize("source", ["/nonexistent/pipeline", "pyannote/speaker-diarization-community-1"])
def test_unloadable_pipeline_fails_with_a_hint_offline(monkeypatch, source):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="STREAMSCRIBE_DIARIZATION_PIPELINE=offline"):
        NeuralDiarizer(DiarizationConfig(pipeline=source)).load()
