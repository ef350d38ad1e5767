"""Shared fixtures: a real broker (Kafka in Docker when a daemon answers, else the embedded
Tansu broker), per-test topics and group, the real shared audio, and one loaded model."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from streamscribe.broker import EmbeddedBroker, ensure_topics
from streamscribe.pipeline import TranscriptionExecutor
from streamscribe.settings import Settings

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

REPO = Path(__file__).resolve().parents[1]


def _shared_audio_dir() -> Path:
    candidates = [Path(os.environ["STREAMSCRIBE_SHARED_DIR"]) / "audio"] if "STREAMSCRIBE_SHARED_DIR" in os.environ else []
    candidates += [REPO.parent / "shared" / "audio", REPO / "shared" / "audio"]
    for path in candidates:
        if (path / "jfk.flac").is_file():
            return path
    raise RuntimeError(
        f"the shared test audio is missing (looked in {', '.join(map(str, candidates))}); "
        "set STREAMSCRIBE_SHARED_DIR to the folder that holds audio/"
    )


@pytest.fixture(scope="session")
def audio_dir() -> Path:
    return _shared_audio_dir()


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """Apache Kafka via testcontainers when Docker is available, the embedded broker otherwise."""
    if _docker_answers():
        try:
            from testcontainers.community.kafka import KafkaContainer
        except ImportError:  # older testcontainers
            from testcontainers.kafka import KafkaContainer
        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
    else:
        with EmbeddedBroker() as broker:
            yield broker.bootstrap_servers


@pytest.fixture
async def settings(kafka_bootstrap, tmp_path) -> Settings:
    """Settings on fresh topics and a fresh group, with test-friendly group timings."""
    tag = uuid.uuid4().hex[:8]
    s = Settings(
        bootstrap_servers=kafka_bootstrap,
        input_topic=f"audio.ready.{tag}",
        results_topic=f"transcripts.{tag}",
        dlq_topic=f"audio.ready.dlq.{tag}",
        group_id=f"streamscribe-test-{tag}",
        topic_partitions=2,
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
        max_poll_interval_ms=10_000,
        shutdown_timeout_s=60,
        metrics_enabled=False,
        model_cache_dir=tmp_path / "models",
    )
    await ensure_topics(s.bootstrap_servers, [s.input_topic, s.results_topic, s.dlq_topic], partitions=2)
    return s


@pytest.fixture(scope="session")
def cpu_executor() -> TranscriptionExecutor:
    """tiny.en on the CPU, loaded once for the whole session (as the service does)."""
    executor = TranscriptionExecutor(Settings(use_gpu_pipeline=False))
    yield executor
    executor._pool.shutdown(wait=True)
