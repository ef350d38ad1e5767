"""The OpenAI transcription API as the last provider of the chain.

Uses the official ``openai`` client (async): its own retries with back-off (429, 5xx,
connection errors) and timeouts. Any OpenAI-compatible server works through ``base_url``.

A recording that fits the upload limit (25 MiB) is sent as it is. A larger one is sent as
16 kHz mono 16-bit WAV chunks that each fit, overlapping by a few seconds; every segment is
kept by the chunk that owns its midpoint, and shifted by the chunk's start, so the stitched
timestamps are those of the whole recording.

The API key is held by the client only: it never appears in logs, results or metrics.
"""

from __future__ import annotations

import io
import logging
import math
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..metrics import registry as metrics
from ..schemas import PerformanceMetrics, Segment, StageTiming, Transcript
from .audio import DecodedAudio

log = logging.getLogger(__name__)

API_UPLOAD_LIMIT = 25 * 1024 * 1024
WAV_HEADER_BYTES = 44
CHUNK_OVERLAP_S = 2.0


@dataclass(frozen=True)
class OpenAIConfig:
    api_key: str
    base_url: str | None = None
    model: str = "whisper-1"
    timeout_s: float = 600.0
    max_retries: int = 3
    max_upload_bytes: int = API_UPLOAD_LIMIT
    cost_per_minute: float = 0.006

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIConfig(model={self.model!r}, base_url={self.base_url!r})"


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    offset: float  # seconds into the recording where this upload starts
    seconds: float  # audio it carries (what the API bills)
    keep_from: float  # this upload owns segments whose midpoint lies in [keep_from, keep_to)
    keep_to: float


def plan_uploads(audio: DecodedAudio, max_bytes: int, overlap_s: float = CHUNK_OVERLAP_S) -> list[Upload]:
    """The original file when it fits, else WAV chunks of at most ``max_bytes`` each."""
    source = Path(audio.source)
    if source.is_file() and source.stat().st_size <= max_bytes:
        return [Upload(source.name, source.read_bytes(), 0.0, audio.duration, 0.0, math.inf)]
    bytes_per_second = audio.sample_rate * 2
    chunk_s = (max_bytes - WAV_HEADER_BYTES) // bytes_per_second
    if chunk_s <= 2 * overlap_s:
        raise ValueError(f"upload limit of {max_bytes} bytes is too small to chunk audio")
    step_s = chunk_s - overlap_s
    uploads = []
    start = 0.0
    while True:
        end = min(start + chunk_s, audio.duration)
        first, last = start == 0.0, end >= audio.duration
        samples = audio.samples[int(start * audio.sample_rate) : int(end * audio.sample_rate)]
        uploads.append(
            Upload(
                name=f"{source.stem or 'audio'}.part{len(uploads) + 1}.wav",
                data=_wav_bytes(samples, audio.sample_rate),
                offset=start,
                seconds=end - start,
                keep_from=0.0 if first else start + overlap_s / 2,
                keep_to=math.inf if last else start + step_s + overlap_s / 2,
            )
        )
        if last:
            return uploads
        start += step_s


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


class OpenAITranscriber:
    """Transcribes decoded audio through the API; one client, reused."""

    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        from openai import AsyncOpenAI

        self.config = config
        self._client = AsyncOpenAI(
            api_key=config.api_key, base_url=config.base_url, timeout=config.timeout_s, max_retries=config.max_retries
        )

    async def transcribe(self, audio: DecodedAudio, language: str | None = None) -> Transcript:
        started = time.perf_counter()
        uploads = plan_uploads(audio, self.config.max_upload_bytes)
        if len(uploads) > 1:
            log.info("%s is over the upload limit: sending %d chunks", Path(audio.source).name, len(uploads))
        segments: list[Segment] = []
        detected = None
        for upload in uploads:
            response = await self._request(upload, language)
            metrics.API_AUDIO.inc(upload.seconds)
            metrics.API_COST.inc(upload.seconds / 60 * self.config.cost_per_minute)
            detected = detected or getattr(response, "language", None)
            for seg in getattr(response, "segments", None) or []:
                start, end = upload.offset + seg.start, upload.offset + seg.end
                if upload.keep_from <= (start + end) / 2 < upload.keep_to:
                    segments.append(Segment(id=len(segments), start=round(start, 3), end=round(end, 3), text=seg.text.strip()))
        wall = time.perf_counter() - started
        return Transcript(
            full_text=" ".join(s.text for s in segments).strip(),
            segments=segments,
            language=_iso_language(detected) or language,
            duration=round(audio.duration, 3),
            provider=self.name,
            performance_metrics=PerformanceMetrics(
                total_duration=round(audio.decode_seconds + wall, 4),
                stages={
                    "audio_preprocessing": StageTiming(duration=round(audio.decode_seconds, 4)),
                    "transcription": StageTiming(duration=round(wall, 4)),
                },
            ),
        )

    async def _request(self, upload: Upload, language: str | None):
        import openai

        try:
            return await self._client.audio.transcriptions.create(
                model=self.config.model,
                file=(upload.name, upload.data),
                response_format="verbose_json",
                timestamp_granularities=["segment"],
                **({"language": language} if language else {}),
            )
        except openai.APIStatusError as exc:
            retryable = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            hint = " (check STREAMSCRIBE_OPENAI_API_KEY)" if exc.status_code in (401, 403) else ""
            raise ApiError(
                f"OpenAI API answered {exc.status_code} for {upload.name}{hint}: {_api_message(exc)}", retryable=retryable
            ) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise ApiError(f"OpenAI API unreachable at {self._client.base_url}: {type(exc).__name__}", retryable=True) from None

    async def close(self) -> None:
        await self._client.close()


class ApiError(RuntimeError):
    """The API refused or failed the request (after the client's own retries)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _api_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
    return str(getattr(exc, "message", "") or type(exc).__name__)[:500]


_LANGUAGE_CODES = {"english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
                   "portuguese": "pt", "dutch": "nl", "japanese": "ja", "chinese": "zh", "russian": "ru"}


def _iso_language(name: str | None) -> str | None:
    """whisper-1 reports language names ("english"); results carry ISO codes like faster-whisper."""
    if not name:
        return None
    return _LANGUAGE_CODES.get(name.lower(), name.lower())
