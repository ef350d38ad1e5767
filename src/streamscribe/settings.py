"""All configuration in one typed object.

Every field reads from an environment variable named ``STREAMSCRIBE_<FIELD>``. Two of the
seed pipeline's variables are honoured unprefixed too, so an existing deployment keeps
working: ``USE_GPU_PIPELINE`` and ``AUDIO_PIPELINE_DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
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
    progress_topic: str | None = Field(
        default=None, description="Topic for job progress events (percent, ETA), keyed by job_id. Unset: off."
    )
    progress_interval_s: float = Field(default=5.0, ge=0, description="At most one progress event per job this often.")
    group_id: str = "streamscribe"
    client_id: str = "streamscribe"
    topic_partitions: int = Field(default=3, ge=1, description="Partitions of topics the service creates.")
    max_in_flight: int = Field(
        default=2,
        ge=1,
        description="Jobs admitted at once: one on the executor, the rest decoding/queued behind it.",
    )
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=0,
        description="How long a fetch may wait for new events. Short keeps latency low on brokers that answer only "
        "at the deadline (the embedded one); Kafka answers as soon as data arrives.",
    )
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    max_event_bytes: int = Field(default=1_048_576, ge=1024, description="Larger events are dead-lettered.")
    max_audio_seconds: float = Field(
        default=4 * 3600, gt=0, description="Longer recordings fail (audio_too_long) before any model runs."
    )
    max_attempts: int = Field(default=3, ge=1, description="Tries of a job whose failure is retryable.")
    retry_backoff_s: float = Field(default=2.0, ge=0, description="First retry delay; doubles per attempt, with jitter.")
    retry_backoff_max_s: float = Field(default=60.0, ge=0)
    dedup_window: int = Field(
        default=10_000, ge=0, description="Recent job_ids whose redelivery is skipped (0: off)."
    )
    revoke_grace_s: float = Field(
        default=10.0, ge=0, description="On rebalance, how long running jobs of revoked partitions may finish."
    )
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
        description="Root for local audio: relative paths resolve against it and no path may leave it. "
        "Unset: any readable path (development only).",
    )
    audio_uri_schemes: str = Field(
        default="file,http,https,s3,data",
        description="audio_uri schemes events may use (file covers plain paths); others fail with unsupported_audio_uri.",
    )
    http_allow_networks: str = Field(
        default="",
        description="CIDRs (comma-separated) that audio URLs may reach although private, loopback or link-local.",
    )
    max_download_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024, description="Larger HTTP/S3 downloads are aborted (audio_too_large)."
    )
    download_timeout_s: float = Field(default=300.0, gt=0, description="Whole-download limit for HTTP and S3.")
    max_redirects: int = Field(default=3, ge=0, description="HTTP redirects followed, each one checked again.")
    download_dir: Path | None = Field(
        default=None, description="Where downloads are kept while a job runs (always removed). Unset: system temp."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, Ceph...). Credentials: the standard AWS chain."
    )
    s3_region: str | None = Field(default=None, description="S3 region; unset: the AWS config chain.")
    inline_audio_max_bytes: int = Field(
        default=256 * 1024, ge=0, description="Cap on audio sent inline as a data: URI (decoded bytes)."
    )
    compute_type: str = Field(default="auto", description="CTranslate2 compute type; auto: float16 GPU, int8 CPU.")
    cpu_threads: int = Field(default=0, ge=0, description="Threads for the CPU model; 0 = CTranslate2 default (4, or OMP_NUM_THREADS).")
    beam_size: int = Field(default=5, ge=1)
    vad_filter: bool = True
    diarization_mode: Literal["pyannote", "channel", "off"] = Field(
        default="pyannote",
        description="pyannote: neural speaker diarization; channel: one speaker per stereo channel; off.",
    )
    diarization_pipeline: str = Field(
        default="offline",
        description="offline (bundled weights) or any pyannote pipeline: local directory or hub id.",
    )
    diarization_segmentation_step: float = Field(
        default=0.3, gt=0, le=1, description="Hop between 10 s windows (fraction); smaller is slower, a bit more accurate."
    )
    diarization_embedding_backend: Literal["onnx", "torch"] = Field(
        default="onnx", description="Runtime of the CAM++ embedding on the CPU (offline pipeline)."
    )
    hf_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("HF_TOKEN"),
        description="Hugging Face token for gated pyannote pipelines (never logged).",
    )
    hf_token_file: Path | None = Field(default=None, description="File holding the token (a mounted secret).")
    model_cache_dir: Path = Field(
        default=Path.home() / ".cache" / "streamscribe",
        description="Where assembled offline models (e.g. Whisper base) are kept.",
    )

    # --- Executor ----------------------------------------------------------------------------
    isolation: Literal["auto", "process", "thread"] = Field(
        default="auto",
        description="process: models live in a worker process that is restarted if it crashes or hangs; thread: in "
        "this process. auto: process when a GPU is configured.",
    )
    devices: str | None = Field(
        default=None,
        description="Devices, one executor and model copy each, e.g. cuda:0,cuda:1 (or cpu,cpu). Unset: one. "
        "Several need process isolation; on Kubernetes prefer one pod per GPU.",
    )
    batch_max_size: int = Field(
        default=1, ge=1, description="Short jobs (<= 30 s) waiting for the executor transcribed in one batched call; 1: off."
    )
    batch_max_wait_ms: float = Field(
        default=0.0, ge=0, description="How long a batch may wait for more jobs; 0: only jobs already waiting."
    )
    worker_timeout_s: float = Field(default=120.0, gt=0, description="Worker request time limit: this plus the next.")
    worker_timeout_per_audio_s: float = Field(
        default=2.0, ge=0, description="Extra worker time allowed per second of audio before a job counts as hung."
    )
    worker_load_timeout_s: float = Field(default=900.0, gt=0, description="Time allowed to load models in the worker.")
    worker_restart_backoff_s: float = Field(
        default=1.0, ge=0, description="Wait before restarting a crashed worker; doubles while it keeps crashing (max 30 s)."
    )
    worker_fault_file: Path | None = Field(
        default=None, description="Fault injection for tests: a file holding abort, hang:<s> or exit:<code>, acted on once."
    )

    # --- Providers and fallback ------------------------------------------------------------
    providers: str | None = Field(
        default=None,
        description="Provider chain, e.g. cuda,cpu,openai. Unset: cuda,cpu with USE_GPU_PIPELINE, else cpu; "
        "openai appended when an API key is set.",
    )
    breaker_threshold: int = Field(default=3, ge=1, description="Consecutive failures that pause a provider.")
    breaker_cooldown_s: float = Field(default=60.0, gt=0, description="How long a failing provider is skipped.")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("OPENAI_API_KEY"), description="Enables the OpenAI provider; never logged."
    )
    openai_api_key_file: Path | None = Field(default=None, description="File holding the key (a mounted secret).")
    openai_base_url: str | None = Field(
        default=None, validation_alias=_env("OPENAI_BASE_URL"), description="For OpenAI-compatible servers."
    )
    openai_model: str = "whisper-1"
    openai_timeout_s: float = Field(default=600.0, gt=0)
    openai_max_retries: int = Field(default=3, ge=0, description="Client retries with back-off (429, 5xx, network).")
    openai_max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1_000_000, description="Larger recordings are sent as WAV chunks under this size."
    )
    openai_cost_per_minute: float = Field(default=0.006, ge=0, description="USD per audio minute, for the cost counter.")

    # --- Metrics / health -----------------------------------------------------------------
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9400, ge=0, le=65535, description="0 picks a free port.")
    metrics_enabled: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def huggingface_token(self) -> str | None:
        """The token from the variable, else from the secret file."""
        return _secret(self.hf_token, self.hf_token_file)

    def openai_key(self) -> str | None:
        """The API key from the variable, else from the secret file."""
        return _secret(self.openai_api_key, self.openai_api_key_file)

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def _secret(value: SecretStr | None, file: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value() or None
    if file is not None:
        return file.read_text().strip() or None
    return None
