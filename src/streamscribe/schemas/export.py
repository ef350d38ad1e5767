"""JSON Schema files for producers and consumers that are not written in Python."""

from __future__ import annotations

import json
from pathlib import Path

from .events import EVENT_SCHEMA_VERSION, AudioReady
from .progress import PROGRESS_SCHEMA_VERSION, JobProgress
from .results import RESULT_SCHEMA_VERSION, TranscriptResult


def json_schemas() -> dict[str, dict]:
    """File name -> JSON Schema of each wire format."""
    return {
        f"audio_ready.v{EVENT_SCHEMA_VERSION}.json": AudioReady.model_json_schema(),
        f"transcript_result.v{RESULT_SCHEMA_VERSION}.json": TranscriptResult.model_json_schema(
            mode="serialization"
        ),
        f"job_progress.v{PROGRESS_SCHEMA_VERSION}.json": JobProgress.model_json_schema(mode="serialization"),
    }


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_json_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = out_dir / name
        path.write_text(render(schema))
        written.append(path)
    return written
