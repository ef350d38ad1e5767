"""All configuration in one typed object.

Every field reads from an environment variable named ``STREAMSCRIBE_<FIELD>``. Two of the
seed pipeline's variables are honoured unprefixed too, so an existing deployment keeps
working: ``USE_GPU_PIPELINE`` and ``AUDIO_PIPELINE_DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    """Accept the prefixed name and the seed's bare name for one setting."""
    return AliasChoices(f"STREAMSCRIBE_{name}", name)


class Settings(BaseSettings):
    """Service settings; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="STREAMSCRIBE_", extra="ignore", populate_by_name=True)

    # --- Kafka -----------------------------------------------------------------------------
    bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka bootstrap servers (host:port,...). Unset: start the embedded broker.",
    )
    input_topic: str = "audio.ready"
    results_topic: str = "transcripts"
    dlq_topic: str = "audio.ready.dlq"
    group_id: str = "streamscribe"
    client_id: str = "streamscribe"
    topic_partitions: int = Field(default=3, ge=1, description="Partitions of topics the service creates.")
    max_in_flight: int = Field(
        default=2,
        ge=1,
        description="Jobs admitted at once: one on the executor, the rest decoding/queued behind it.",
    )
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    max_event_bytes: int = Field(default=1_048_576, ge=1024, description="Larger events are dead-lettered.")
    shutdown_timeout_s: float = Field(
        default=120.0, gt=0, description="How long SIGTERM waits for running jobs before closing."
    )

    # --- Pipeline --------------------------------------------------------------------------
    whisper_model: str = Field(
        default="tiny.en",
        description="faster-whisper size name or model directory; tiny.en and base work offline.",
    )
    use_gpu_pipeline: bool = Field(
        default=False,
        validation_alias=_env("USE_GPU_PIPELINE"),
        description="Try the GPU first, falling back to CPU on error (seed semantics).",
    )
    audio_pipeline_dir: Path | None = Field(
        default=None,
        validation_alias=_env("AUDIO_PIPELINE_DIR"),
        description="Directory that relative audio paths in events are resolved against.",
    )
    compute_type: str = Field(default="auto", description="CTranslate2 compute type; auto: float16 GPU, int8 CPU.")
    cpu_threads: int = Field(default=0, ge=0, description="Threads for the CPU model; 0 = CTranslate2 default (4, or OMP_NUM_THREADS).")
    beam_size: int = Field(default=5, ge=1)
    vad_filter: bool = True
    model_cache_dir: Path = Field(
        default=Path.home() / ".cache" / "streamscribe",
        description="Where assembled offline models (e.g. Whisper base) are kept.",
    )

    # --- Metrics / health -----------------------------------------------------------------
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9400, ge=0, le=65535, description="0 picks a free port.")
    metrics_enabled: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
