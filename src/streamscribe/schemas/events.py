"""The *audio-ready* event that other teams produce to the input topic.

Versioned with ``schema_version``: a consumer rejects versions it does not know with a
clear error instead of guessing. Unknown fields are rejected too, so a typo such as
``diarise`` is reported rather than silently ignored.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EVENT_SCHEMA_VERSION = 1
MAX_URI_LENGTH = 4096

MetadataValue = str | int | float | bool | None


def uri_scheme(audio_uri: str) -> str:
    """``file`` for plain paths (including ``C:\\...``), else the URI's scheme, lower-cased."""
    scheme = urlparse(audio_uri).scheme.lower()
    return "file" if scheme in ("", "file") or len(scheme) == 1 else scheme


class AudioReady(BaseModel):
    """One recording ready to be transcribed."""

    model_config = ConfigDict(extra="forbid", title="AudioReady")

    schema_version: Literal[1] = Field(default=EVENT_SCHEMA_VERSION, description="Event format version.")
    job_id: str = Field(
        min_length=1,
        max_length=200,
        description="Caller's id; the result is keyed by it. Re-sending the same job_id re-runs it.",
    )
    audio_uri: str = Field(
        min_length=1,
        description="Where the audio is: a path or file:// URI (inside AUDIO_PIPELINE_DIR; relative paths resolve "
        "against it), an http(s):// URL, s3://bucket/key, or a data:audio/...;base64, URI for tiny clips.",
    )
    sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-fA-F]{64}$",
        description="Hex SHA-256 of the audio bytes; when given, a mismatch fails the job (checksum_mismatch).",
    )
    language: str | None = Field(
        default=None, min_length=2, max_length=8, description="ISO code; unset: detect."
    )
    diarize: bool = Field(default=True, description="Label speakers when a diarizer is configured.")
    num_speakers: int | None = Field(default=None, ge=1, le=64)
    min_speakers: int | None = Field(default=None, ge=1, le=64)
    max_speakers: int | None = Field(default=None, ge=1, le=64)
    model: str | None = Field(
        default=None,
        max_length=200,
        description="Whisper model the caller expects; must match the one the service runs.",
    )
    metadata: dict[str, MetadataValue] = Field(
        default_factory=dict, description="Opaque caller data, copied to the result."
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    @field_validator("audio_uri")
    @classmethod
    def _uri_length(cls, value: str) -> str:
        # Inline data: URIs are bounded by the event size limit and the inline cap instead.
        if not value.startswith("data:") and len(value) > MAX_URI_LENGTH:
            raise ValueError(f"audio_uri is longer than {MAX_URI_LENGTH} characters")
        return value

    @model_validator(mode="after")
    def _speaker_bounds(self) -> "AudioReady":
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        return self
