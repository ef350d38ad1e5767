"""The transcript published to the results topic.

The first block of fields is exactly the seed pipeline's result (``full_text``, ``segments``,
``aligned_segments``, ``language``, ``duration``, ``speaker_turns``, ``provider``,
``performance_metrics``); the service adds job bookkeeping around it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RESULT_SCHEMA_VERSION = 1


class Word(BaseModel):
    word: str
    start: float
    end: float
    probability: float


class Segment(BaseModel):
    """A Whisper segment, times in seconds from the start of the audio."""

    id: int
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)


class AlignedSegment(BaseModel):
    """Consecutive words of one speaker."""

    speaker: str
    start: float
    end: float
    text: str


class SpeakerTurn(BaseModel):
    speaker: str
    start: float
    end: float


class StageTiming(BaseModel):
    duration: float = Field(description="Wall seconds spent in the stage.")


class PerformanceMetrics(BaseModel):
    total_duration: float = Field(description="Wall seconds for the whole job on the executor.")
    stages: dict[str, StageTiming] = Field(
        default_factory=dict,
        description="Per stage: audio_preprocessing, transcription, diarization, alignment.",
    )


class Transcript(BaseModel):
    """The seed pipeline's result, as returned by ``GPUTranscriptionPipeline.process``."""

    full_text: str = ""
    segments: list[Segment] = Field(default_factory=list)
    aligned_segments: list[AlignedSegment] = Field(
        default_factory=list, description="Speaker-labelled segments; empty when not diarized."
    )
    language: str | None = None
    duration: float | None = Field(default=None, description="Audio seconds.")
    speaker_turns: list[SpeakerTurn] = Field(default_factory=list)
    provider: str | None = Field(default=None, description="Who did the work: cuda, cpu or openai.")
    performance_metrics: PerformanceMetrics | None = None


class ErrorCode(str, Enum):
    """Why a job failed. Bounded, so it is safe as a metric label."""

    INVALID_JSON = "invalid_json"
    INVALID_EVENT = "invalid_event"
    EVENT_TOO_LARGE = "event_too_large"
    UNSUPPORTED_AUDIO_URI = "unsupported_audio_uri"
    AUDIO_NOT_FOUND = "audio_not_found"
    AUDIO_ACCESS_DENIED = "audio_access_denied"
    AUDIO_FETCH_FAILED = "audio_fetch_failed"
    AUDIO_TOO_LARGE = "audio_too_large"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    EMPTY_AUDIO = "empty_audio"
    AUDIO_DECODE_FAILED = "audio_decode_failed"
    UNSUPPORTED_AUDIO = "unsupported_audio"
    AUDIO_TOO_LONG = "audio_too_long"
    UNSUPPORTED_MODEL = "unsupported_model"
    TRANSCRIPTION_FAILED = "transcription_failed"
    API_ERROR = "api_error"
    INTERNAL_ERROR = "internal_error"


class ErrorInfo(BaseModel):
    code: ErrorCode
    message: str
    retryable: bool = False


class SourceRef(BaseModel):
    """Where the event was read from."""

    topic: str
    partition: int
    offset: int


class TranscriptResult(Transcript):
    """One final outcome per event, keyed by ``job_id`` on the results topic."""

    model_config = ConfigDict(title="TranscriptResult")

    schema_version: Literal[1] = RESULT_SCHEMA_VERSION
    job_id: str
    status: Literal["completed", "failed"]
    model: str | None = None
    realtime_factor: float | None = Field(
        default=None, description="Audio seconds / wall seconds on the executor; higher is faster."
    )
    error: ErrorInfo | None = None
    attempt: int = 1
    source: SourceRef | None = None
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    completed_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
