"""Wire formats: the audio-ready event in, the transcript result out."""

from .events import EVENT_SCHEMA_VERSION, AudioReady, uri_scheme
from .export import json_schemas, write_json_schemas
from .progress import JobProgress
from .results import (
    RESULT_SCHEMA_VERSION,
    AlignedSegment,
    ErrorCode,
    ErrorInfo,
    PerformanceMetrics,
    Segment,
    SourceRef,
    SpeakerTurn,
    StageTiming,
    Transcript,
    TranscriptResult,
    Word,
)

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "RESULT_SCHEMA_VERSION",
    "AlignedSegment",
    "AudioReady",
    "ErrorCode",
    "ErrorInfo",
    "JobProgress",
    "PerformanceMetrics",
    "Segment",
    "SourceRef",
    "SpeakerTurn",
    "StageTiming",
    "Transcript",
    "TranscriptResult",
    "Word",
    "json_schemas",
    "uri_scheme",
    "write_json_schemas",
]
