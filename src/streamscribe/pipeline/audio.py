"""Audio stage: resolve an event's audio reference and decode it once for every stage.

Decoding runs on its own thread pool, ahead of the executor, so the GPU never waits on
disk or codec work. All stages then share the same 16 kHz mono float32 samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from ..schemas import ErrorCode
from .errors import JobError

SAMPLE_RATE = 16_000


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


def resolve_audio_path(audio_uri: str, base_dir: Path | None = None) -> Path:
    """Turn an event's ``audio_uri`` (path or ``file://``) into a local path.

    Relative paths resolve against ``base_dir`` (the seed's ``AUDIO_PIPELINE_DIR``).
    """
    parsed = urlparse(audio_uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise JobError(ErrorCode.UNSUPPORTED_AUDIO_URI, f"file:// URI with a remote host is not supported: {audio_uri}")
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and audio_uri[1:3] in (":\\", ":/")):
        path = Path(audio_uri)
    else:
        raise JobError(
            ErrorCode.UNSUPPORTED_AUDIO_URI,
            f"audio_uri scheme {parsed.scheme!r} is not supported; use a path or file:// URI",
        )
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def probe_duration(path: Path) -> float | None:
    """Duration from the container's header, without decoding (None when it does not say)."""
    import av

    try:
        with av.open(str(path)) as container:
            return container.duration / 1_000_000 if container.duration else None
    except Exception:
        return None  # decoding will report what is wrong with the file


def decode_audio(path: Path | str, keep_channels: bool = False, max_seconds: float | None = None) -> DecodedAudio:
    """Decode any format PyAV reads (wav, flac, mp3, ogg, m4a, ...) to 16 kHz mono float32.

    ``keep_channels`` also keeps left and right (for channel diarization); a mono file has
    none to keep. ``max_seconds`` refuses longer recordings, before decoding when the
    container states its duration, so an over-long file never fills memory.
    """
    from faster_whisper.audio import decode_audio as _decode

    path = Path(path)
    if not path.is_file():
        raise JobError(ErrorCode.AUDIO_NOT_FOUND, f"audio file not found: {path}")
    if max_seconds is not None:
        stated = probe_duration(path)
        if stated is not None and stated > max_seconds:
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
    if samples.size == 0:
        raise JobError(ErrorCode.AUDIO_DECODE_FAILED, f"{path.name} contains no audio samples")
    if max_seconds is not None and samples.size / SAMPLE_RATE > max_seconds:
        raise JobError(
            ErrorCode.AUDIO_TOO_LONG, f"{path.name} is {samples.size / SAMPLE_RATE:.0f}s long; the limit is {max_seconds:.0f}s"
        )
    return DecodedAudio(
        samples=samples, source=str(path), decode_seconds=time.perf_counter() - started, channels=channels
    )
