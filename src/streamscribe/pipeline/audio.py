"""Audio stage: check and decode a local audio file once for every stage.

Bad input is refused here, before any model runs, each kind with its own permanent code:
missing (audio_not_found), 0 bytes or no samples (empty_audio), not audio at all
(unsupported_audio), audio that fails to decode (audio_decode_failed), too long
(audio_too_long, from the header when it says, so an over-long file is never decoded).

Decoding runs on its own thread pool, ahead of the executor, so the GPU never waits on
disk or codec work. All stages then share the same 16 kHz mono float32 samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..schemas import ErrorCode
from .errors import JobError

SAMPLE_RATE = 16_000
# Less than this share of the duration a header states decodes: the file is damaged.
_MIN_DECODED_FRACTION = 0.5


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples at 16 kHz, decoded once and shared by every stage of a job."""

    samples: np.ndarray
    source: str
    decode_seconds: float = 0.0
    sample_rate: int = SAMPLE_RATE
    channels: np.ndarray | None = None  # (2, n) left/right, kept only for channel diarization

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


# Leading bytes of the containers PyAV is asked to read: a file that fails to open and
# starts with none of these is "not audio" rather than "corrupt audio".
_AUDIO_SIGNATURES = (b"RIFF", b"RF64", b"fLaC", b"ID3", b"OggS", b"FORM", b"caff", b"#!AMR", b"\x1aE\xdf\xa3", b"MAC ")


def _looks_like_audio(head: bytes) -> bool:
    if head.startswith(_AUDIO_SIGNATURES) or head[4:8] == b"ftyp":  # ftyp: mp4/m4a
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # MPEG audio / ADTS frame sync


def probe_duration(path: Path) -> float | None:
    """Duration from the container's header, without decoding (None when it does not say).

    Raises ``JobError`` for files that are not audio or whose container cannot be opened.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise JobError(ErrorCode.UNSUPPORTED_AUDIO, f"{path.name} has no audio stream")
            return container.duration / 1_000_000 if container.duration else None
    except JobError:
        raise
    except Exception as exc:  # PyAV raises many types; all mean "cannot open this container"
        with path.open("rb") as f:
            head = f.read(16)
        if _looks_like_audio(head):
            raise JobError(ErrorCode.AUDIO_DECODE_FAILED, f"cannot open {path.name} (corrupt?): {exc}") from exc
        raise JobError(ErrorCode.UNSUPPORTED_AUDIO, f"{path.name} is not an audio file PyAV can read: {exc}") from exc


def decode_audio(path: Path | str, keep_channels: bool = False, max_seconds: float | None = None) -> DecodedAudio:
    """Decode any format PyAV reads (wav, flac, mp3, ogg, opus, m4a, ...) to 16 kHz mono float32.

    ``keep_channels`` also keeps left and right (for channel diarization); a mono file has
    none to keep. ``max_seconds`` refuses longer recordings, before decoding when the
    container states its duration, so an over-long file never fills memory.
    """
    from faster_whisper.audio import decode_audio as _decode

    path = Path(path)
    if not path.is_file():
        raise JobError(ErrorCode.AUDIO_NOT_FOUND, f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise JobError(ErrorCode.EMPTY_AUDIO, f"{path.name} is empty (0 bytes)")
    stated = probe_duration(path)
    if max_seconds is not None and stated is not None and stated > max_seconds:
        raise JobError(ErrorCode.AUDIO_TOO_LONG, f"{path.name} is {stated:.0f}s long; the limit is {max_seconds:.0f}s")
    started = time.perf_counter()
    channels = None
    try:
        if keep_channels:
            left, right = _decode(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)
            samples = (left + right) / 2
            if not np.array_equal(left, right):  # PyAV upmixes mono to two equal channels
                channels = np.stack([left, right])
        else:
            samples = _decode(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many types for bad input; all mean "cannot decode"
        raise JobError(ErrorCode.AUDIO_DECODE_FAILED, f"cannot decode {path.name}: {exc}") from exc
    decoded = samples.size / SAMPLE_RATE
    if stated and decoded < stated * _MIN_DECODED_FRACTION:
        # The header promises audio the frames don't deliver: damaged, not merely empty.
        raise JobError(
            ErrorCode.AUDIO_DECODE_FAILED, f"{path.name}: header says {stated:.1f}s, only {decoded:.1f}s decodes (corrupt?)"
        )
    if samples.size == 0:
        raise JobError(ErrorCode.EMPTY_AUDIO, f"{path.name} contains no audio samples")
    if max_seconds is not None and decoded > max_seconds:
        raise JobError(
            ErrorCode.AUDIO_TOO_LONG, f"{path.name} is {decoded:.0f}s long; the limit is {max_seconds:.0f}s"
        )
    return DecodedAudio(
        samples=samples, source=str(path), decode_seconds=time.perf_counter() - started, channels=channels
    )
