"""Fixtures for the deployment checks: one real consumer process scraped by one real
Prometheus, shared by the live tests and started only when one of them runs."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from deploy_support import metric_samples, sample_value
from local_prometheus import LocalPrometheus, binary
from processes import service_env, started

from streamscribe.broker import ensure_topics
from streamscribe.settings import Settings
from streamscribe.submit import event_for_file, submit_events

LIVE_TIMEOUT_S = 120.0


# Module scope: stopped as soon as test_deploy_live.py is done, not at the end of the whole run.
@pytest.fixture(scope="module")
def live_consumer(kafka_bootstrap, audio_dir, tmp_path_factory):
    """``streamscribe run`` (chain cuda,cpu: without a GPU every job falls back) that has
    completed two jobs, dead-lettered a poison record and a missing file, and reported lag."""
    tmp = tmp_path_factory.mktemp("live")
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        bootstrap_servers=kafka_bootstrap, input_topic=f"audio.ready.{tag}", results_topic=f"transcripts.{tag}",
        dlq_topic=f"audio.ready.dlq.{tag}", group_id=f"streamscribe-deploy-{tag}", topic_partitions=2,
        shutdown_timeout_s=30, metrics_enabled=False, model_cache_dir=tmp / "models",
    )
    asyncio.run(ensure_topics(settings.bootstrap_servers, [settings.input_topic, settings.results_topic, settings.dlq_topic], partitions=2))
    env = service_env(settings, tmp)
    env.update(STREAMSCRIBE_PROVIDERS="cuda,cpu", STREAMSCRIBE_DIARIZATION_MODE="off")
    with started(env, tmp / "consumer.log") as service:
        asyncio.run(service.wait_ready())

        async def feed() -> None:
            from aiokafka import AIOKafkaProducer

            events = [event_for_file(audio_dir / "jfk.flac") for _ in range(2)] + [event_for_file(tmp / "missing.flac")]
            await submit_events(settings.bootstrap_servers, settings.input_topic, events)
            producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
            await producer.start()
            try:
                await producer.send_and_wait(settings.input_topic, b"not json at all")
            finally:
                await producer.stop()

        asyncio.run(feed())
        deadline = time.monotonic() + LIVE_TIMEOUT_S
        while True:
            text = metric_samples(service.port)
            done = sample_value(text, "streamscribe_jobs_total", status="completed") >= 2
            dead = sample_value(text, "streamscribe_dead_letters_total") >= 2
            lag = "streamscribe_consumer_lag_messages{" in text  # refreshed periodically, not per job
            if done and dead and lag:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the consumer did not finish 2 jobs and 2 dead letters in {LIVE_TIMEOUT_S:.0f}s\n{service.log()}")
            time.sleep(0.5)
        service.submit_jfk = lambda: asyncio.run(
            submit_events(settings.bootstrap_servers, settings.input_topic, [event_for_file(audio_dir / "jfk.flac")])
        )
        yield service


@pytest.fixture(scope="module")
def live_prometheus(live_consumer, tmp_path_factory):
    """A real Prometheus (1 s scrapes, the shipped alert rules) scraping ``live_consumer``,
    which completes a third job while scraped (rates over histograms need an increase)."""
    if binary() is None:
        pytest.skip("the prometheus binary is absent (Debian: apt-get install prometheus; .ci/run tries that)")
    with LocalPrometheus(f"127.0.0.1:{live_consumer.port}", tmp_path_factory.mktemp("prometheus")) as prom:
        prom.wait_for('streamscribe_jobs_total{status="completed"}')
        live_consumer.submit_jfk()
        prom.wait_for('sum(streamscribe_jobs_total{status="completed"}) >= 3', timeout=LIVE_TIMEOUT_S)
        time.sleep(3)  # a few scrapes more
        yield prom
