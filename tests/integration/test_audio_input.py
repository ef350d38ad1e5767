"""Decoding real audio in every format users send, and refusing what is not usable audio."""

from __future__ import annotations

import wave

import av
import numpy as np
import pytest
from helpers import JFK_REFERENCE, word_error_rate

from streamscribe.pipeline import JobError, decode_audio
from streamscribe.schemas import ErrorCode

SHARED = ["jfk.flac", "hotwords.mp3", "multilingual.mp3", "stereo_diarization.wav", "pyannote_sample.wav", "silero_lecture_60s.wav"]


def encode(samples: np.ndarray, path, codec: str, rate: int, channels: int) -> None:
    """Write 16 kHz mono samples with PyAV in another codec, sample rate and channel layout."""
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.codec_context.options = {"strict": "experimental"}  # ffmpeg's own vorbis encoder
        frame = av.AudioFrame.from_ndarray(np.tile(samples, (channels, 1)).astype(np.float32), format="fltp", layout=layout)
        frame.sample_rate = 16_000
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=rate)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize("name", SHARED)
async def test_every_shared_file_decodes_and_transcribes(audio_dir, cpu_executor, name):
    audio = decode_audio(audio_dir / name)
    assert audio.samples.ndim == 1 and audio.sample_rate == 16_000 and audio.duration > 2
    transcript = await cpu_executor.transcribe(audio, enable_diarization=False)
    assert len(transcript.full_text.split()) >= 3, transcript.full_text
    if name == "jfk.flac":
        assert word_error_rate(JFK_REFERENCE, transcript.full_text) <= 0.10, transcript.full_text


@pytest.mark.parametrize(
    "suffix,codec,rate,channels",
    [("ogg", "vorbis", 44_100, 2), ("opus", "libopus", 48_000, 1), ("m4a", "aac", 22_050, 2), ("wav", "pcm_s16le", 8_000, 1)],
)
async def test_other_formats_rates_and_layouts_transcribe(audio_dir, cpu_executor, tmp_path, suffix, codec, rate, channels):
    path = tmp_path / f"jfk.{suffix}"
    encode(decode_audio(audio_dir / "jfk.flac").samples, path, codec, rate, channels)
    with av.open(str(path)) as probe:
        stream = probe.streams.audio[0]
        assert (stream.codec_context.name, stream.rate, stream.channels) == (codec.removeprefix("lib"), rate, channels)
    audio = decode_audio(path)
    assert audio.sample_rate == 16_000 and audio.duration == pytest.approx(11.0, abs=0.1)
    transcript = await cpu_executor.transcribe(audio, enable_diarization=False)
    assert word_error_rate(JFK_REFERENCE, transcript.full_text) <= 0.15, transcript.full_text


def test_unusable_files_are_refused_with_distinct_permanent_codes(audio_dir, tmp_path):
    rng = np.random.default_rng(7)
    flac = (audio_dir / "jfk.flac").read_bytes()
    (tmp_path / "corrupt.flac").write_bytes(flac[:42] + rng.bytes(len(flac) - 42))  # real header, garbage frames
    (tmp_path / "notes.wav").write_text("this is a text file renamed to .wav\n" * 40)
    (tmp_path / "empty.wav").write_bytes(b"")
    expected = {
        "corrupt.flac": ErrorCode.AUDIO_DECODE_FAILED,
        "notes.wav": ErrorCode.UNSUPPORTED_AUDIO,
        "empty.wav": ErrorCode.EMPTY_AUDIO,
        "missing.wav": ErrorCode.AUDIO_NOT_FOUND,
    }
    for name, code in expected.items():
        with pytest.raises(JobError) as refused:
            decode_audio(tmp_path / name)
        assert refused.value.code is code and not refused.value.retryable, (name, refused.value.message)


def test_a_wav_header_without_samples_is_empty(tmp_path):
    with wave.open(str(tmp_path / "silent.wav"), "wb") as out:  # a valid header, zero frames
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
    with pytest.raises(JobError) as refused:
        decode_audio(tmp_path / "silent.wav")
    assert refused.value.code is ErrorCode.EMPTY_AUDIO


def test_over_long_audio_is_refused_before_decoding(audio_dir):
    with pytest.raises(JobError) as info:
        decode_audio(audio_dir / "jfk.flac", max_seconds=5)
    assert info.value.code is ErrorCode.AUDIO_TOO_LONG and "11s long" in info.value.message
    assert decode_audio(audio_dir / "jfk.flac", max_seconds=12).duration == pytest.approx(11.0, abs=0.01)
