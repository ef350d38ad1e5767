"""Progress of a running job, published to the progress topic when one is configured.

Long recordings take minutes; callers want to see them move. Events of one job share its
key (``job_id``), so they stay in order on one partition; ``percent`` never goes down and
the last event of a finished job says 100.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROGRESS_SCHEMA_VERSION = 1


class JobProgress(BaseModel):
    model_config = ConfigDict(title="JobProgress")

    schema_version: Literal[1] = PROGRESS_SCHEMA_VERSION
    job_id: str
    stage: Literal["transcription", "diarization", "done", "failed"]
    percent: float = Field(ge=0, le=100, description="Whole job, estimated from the stages done so far.")
    elapsed_seconds: float
    eta_seconds: float | None = Field(default=None, description="Estimated time left; null until there is progress.")
    audio_seconds: float
    emitted_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
