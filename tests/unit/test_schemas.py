import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from streamscribe.consumer import parse_event
from streamscribe.pipeline import JobError
from streamscribe.schemas import AudioReady, ErrorCode, TranscriptResult, json_schemas
from streamscribe.schemas.export import render

REPO = Path(__file__).resolve().parents[2]


def test_minimal_event_gets_defaults():
    event = AudioReady(job_id="a", audio_uri="/data/a.wav")
    assert event.schema_version == 1 and event.diarize is True and event.language is None
    assert event.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"audio_uri": "/a.wav"}, "job_id"),
        ({"job_id": "", "audio_uri": "/a.wav"}, "job_id"),
        ({"job_id": "a", "audio_uri": "/a.wav", "schema_version": 2}, "schema_version"),
        ({"job_id": "a", "audio_uri": "/a.wav", "diarise": True}, "diarise"),
        ({"job_id": "a", "audio_uri": "/a.wav", "min_speakers": 3, "max_speakers": 2}, "min_speakers"),
        ({"job_id": "a", "audio_uri": "/a.wav", "num_speakers": 0}, "num_speakers"),
    ],
)
def test_invalid_events_are_rejected_with_the_field_named(fields, problem):
    with pytest.raises(ValidationError, match=problem):
        AudioReady.model_validate(fields)


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"{not json", ErrorCode.INVALID_JSON),
        (b"\xff\xfe\x00", ErrorCode.INVALID_JSON),
        (b"[1, 2]", ErrorCode.INVALID_EVENT),
        (None, ErrorCode.INVALID_EVENT),
        (b'{"job_id": "a", "audio_uri": "' + b"x" * 3000 + b'"}', ErrorCode.EVENT_TOO_LARGE),
    ],
)
def test_parse_event_maps_bad_records_to_error_codes(raw, code):
    with pytest.raises(JobError) as info:
        parse_event(raw, max_bytes=2048)
    assert info.value.code is code and info.value.message


def test_result_round_trips_through_json():
    result = TranscriptResult(job_id="j", status="failed", error={"code": "audio_not_found", "message": "gone"})
    again = TranscriptResult.model_validate_json(result.model_dump_json())
    assert again == result
    seed_fields = {"full_text", "segments", "aligned_segments", "language", "duration", "speaker_turns", "provider", "performance_metrics"}
    assert seed_fields <= set(json.loads(result.model_dump_json()))


def test_committed_json_schema_files_are_current():
    for name, schema in json_schemas().items():
        committed = REPO / "schema" / name
        assert committed.is_file(), f"run `streamscribe schema` and commit {committed}"
        assert committed.read_text() == render(schema), f"{name} is stale: run `streamscribe schema`"
