"""Wiring: broker (embedded when none is configured), topics, metrics, executor, consumer, signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from .broker import EmbeddedBroker, ensure_topics
from .consumer import TranscriptionConsumer
from .metrics import Health, MetricsServer
from .pipeline import build_executor
from .settings import Settings

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FORCED = 130


@contextlib.asynccontextmanager
async def kafka_endpoint(settings: Settings) -> AsyncIterator[Settings]:
    """Yield settings with reachable bootstrap servers and the topics created.

    With no ``bootstrap_servers`` configured, the embedded broker is started for the
    duration (memory-only: for local runs, demos and tests, not production).
    """
    broker = None
    if not settings.bootstrap_servers:
        broker = await asyncio.to_thread(EmbeddedBroker().start)
        settings = settings.model_copy(update={"bootstrap_servers": broker.bootstrap_servers})
        log.info(
            "STREAMSCRIBE_BOOTSTRAP_SERVERS is not set: using the embedded broker at %s (memory-only)",
            broker.bootstrap_servers,
        )
    try:
        topics = [settings.input_topic, settings.results_topic, settings.dlq_topic, *filter(None, [settings.progress_topic])]
        await ensure_topics(settings.bootstrap_servers, topics, partitions=settings.topic_partitions)
        yield settings
    finally:
        if broker is not None:
            broker.stop()


async def run_service(settings: Settings) -> int:
    """Run the consumer until SIGTERM/SIGINT. A second signal abandons running jobs."""
    health = Health()
    server = MetricsServer(health, settings.metrics_host, settings.metrics_port).start() if settings.metrics_enabled else None
    executor = build_executor(settings)
    if settings.audio_pipeline_dir is None and "file" in settings.audio_uri_schemes:
        log.warning(
            "AUDIO_PIPELINE_DIR is not set: events may name any file this process can read. "
            "Set it to the audio volume in production (or drop 'file' from STREAMSCRIBE_AUDIO_URI_SCHEMES)"
        )
    forced = False
    try:
        async with kafka_endpoint(settings) as settings:
            service = TranscriptionConsumer(settings, executor, health)

            def on_signal(signame: str) -> None:
                nonlocal forced
                if service.stopping:
                    log.warning("%s again: abandoning running jobs (they stay uncommitted and will be redelivered)", signame)
                    forced = True
                    service.stop(force=True)
                else:
                    log.info("%s: finishing running jobs, then stopping (send again to force)", signame)
                    service.stop()

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal, sig.name)
            try:
                await service.run()
            finally:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
    finally:
        if not forced:
            await executor.shutdown()
        if server is not None:
            server.stop()
    return EXIT_FORCED if forced else EXIT_OK
