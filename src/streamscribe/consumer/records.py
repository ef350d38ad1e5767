"""Turning a Kafka record into a job, or into a clear reason why it cannot be one."""

from __future__ import annotations

import json

from pydantic import ValidationError

from ..pipeline import JobError
from ..schemas import AudioReady, ErrorCode


def parse_event(value: bytes | None, max_bytes: int) -> AudioReady:
    """Validate one record's value as an ``AudioReady`` event; raises ``JobError``."""
    if value is None:
        raise JobError(ErrorCode.INVALID_EVENT, "record has no value (tombstone)")
    if len(value) > max_bytes:
        raise JobError(ErrorCode.EVENT_TOO_LARGE, f"event is {len(value)} bytes; the limit is {max_bytes}")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JobError(ErrorCode.INVALID_JSON, f"event is not valid JSON: {exc}") from exc
    try:
        return AudioReady.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise JobError(ErrorCode.INVALID_EVENT, f"event does not match AudioReady v1: {problems}") from exc


def job_id_hint(value: bytes | None) -> str | None:
    """Best-effort job_id from an invalid event, so its failure can still be keyed to it."""
    try:
        data = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    job_id = data.get("job_id") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, str) and 0 < len(job_id) <= 200 else None
