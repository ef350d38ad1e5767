"""Every Prometheus metric the service exports, defined in one place.

Names follow Prometheus conventions (snake_case, unit suffixes) and labels take bounded
values only: a provider name, a stage name, an error code, a partition number.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_NS = "streamscribe"

REALTIME_FACTOR = Histogram(
    "realtime_factor",
    "Realtime factor of each completed job: audio seconds / wall seconds on the executor (higher is faster).",
    ["provider"],
    namespace=_NS,
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
STAGE_DURATION = Histogram(
    "stage_duration_seconds",
    "Wall seconds per pipeline stage (audio_decode, audio_preprocessing, transcription, diarization, alignment).",
    ["stage"],
    namespace=_NS,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600),
    registry=REGISTRY,
)
JOBS = Counter(
    "jobs_total",
    "Finished jobs by final status and the provider that did the work (none when it never reached one).",
    ["status", "provider"],
    namespace=_NS,
    registry=REGISTRY,
)
JOB_ERRORS = Counter(
    "job_errors_total",
    "Failed jobs by error code.",
    ["code"],
    namespace=_NS,
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "dead_letters_total",
    "Records written to the dead-letter topic, by error code.",
    ["code"],
    namespace=_NS,
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "fallbacks_total",
    "Provider fallbacks (e.g. cuda -> cpu) by reason.",
    ["from", "to", "reason"],
    namespace=_NS,
    registry=REGISTRY,
)
AUDIO_PROCESSED = Counter(
    "audio_processed_seconds_total",
    "Seconds of audio transcribed, by provider.",
    ["provider"],
    namespace=_NS,
    registry=REGISTRY,
)
JOBS_IN_FLIGHT = Gauge(
    "jobs_in_flight",
    "Jobs admitted from Kafka and not yet finished (decoding, queued or on the executor).",
    namespace=_NS,
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "consumer_lag_messages",
    "Messages between the consumer's position and the partition's high watermark.",
    ["topic", "partition"],
    namespace=_NS,
    registry=REGISTRY,
)
COMMITTED_OFFSETS = Counter(
    "committed_offsets_total",
    "Offset commits made after results were acknowledged.",
    namespace=_NS,
    registry=REGISTRY,
)
MODEL_LOAD = Gauge(
    "model_load_seconds",
    "Seconds it took to load each model at start-up.",
    ["model", "device"],
    namespace=_NS,
    registry=REGISTRY,
)
GPU_MEMORY_USED = Gauge(
    "gpu_memory_used_bytes",
    "GPU memory in use on the executor's device (absent without CUDA).",
    ["device"],
    namespace=_NS,
    registry=REGISTRY,
)
GPU_MEMORY_TOTAL = Gauge(
    "gpu_memory_total_bytes",
    "Total GPU memory of the executor's device (absent without CUDA).",
    ["device"],
    namespace=_NS,
    registry=REGISTRY,
)
REBALANCES = Counter(
    "rebalances_total",
    "Partition assignments received by this consumer (the first one at start-up included).",
    namespace=_NS,
    registry=REGISTRY,
)
PROVIDER_SKIPS = Counter(
    "provider_skips_total",
    "Jobs that skipped a provider because its circuit breaker was open (it kept failing).",
    ["provider"],
    namespace=_NS,
    registry=REGISTRY,
)
GPU_OOM_RETRIES = Counter(
    "gpu_oom_retries_total",
    "Retries on the GPU after an out-of-memory error (cache cleared, greedy decoding).",
    namespace=_NS,
    registry=REGISTRY,
)
API_AUDIO = Counter(
    "api_audio_seconds_total",
    "Seconds of audio sent to the OpenAI transcription API (chunk overlaps included).",
    namespace=_NS,
    registry=REGISTRY,
)
API_COST = Counter(
    "api_cost_dollars_total",
    "Estimated OpenAI API cost in USD (api audio minutes x STREAMSCRIBE_OPENAI_COST_PER_MINUTE).",
    namespace=_NS,
    registry=REGISTRY,
)
RETRIES = Counter(
    "job_retries_total",
    "Retries of jobs whose failure was retryable (after back-off).",
    namespace=_NS,
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "duplicates_suppressed_total",
    "Redelivered events skipped because their job_id already has a published result.",
    namespace=_NS,
    registry=REGISTRY,
)
AUDIO_FETCHED_BYTES = Counter(
    "audio_fetched_bytes_total",
    "Bytes of audio downloaded or unpacked for jobs, by source scheme (http, s3, data).",
    ["scheme"],
    namespace=_NS,
    registry=REGISTRY,
)
WORKER_RESTARTS = Counter(
    "worker_restarts_total",
    "Model worker processes lost and replaced, by reason (killed, abort, segfault, signal, exit, timeout).",
    ["reason"],
    namespace=_NS,
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "batch_size_jobs",
    "Jobs handed to the executor together by the cross-job batcher (1: a job that ran alone).",
    buckets=(1, 2, 4, 8, 16, 32),
    namespace=_NS,
    registry=REGISTRY,
)
