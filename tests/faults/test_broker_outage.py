"""The broker disappears and comes back: the consumer process survives and carries on."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

from helpers import read_topic, results_by_job
from processes import service_env, started

from streamscribe.broker import EmbeddedBroker, ensure_topics
from streamscribe.submit import event_for_file, submit_events


def readyz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


async def wait_for_status(port: int, status: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while readyz(port) != status:
        assert time.monotonic() < deadline, f"/readyz did not become {status} within {timeout}s"
        await asyncio.sleep(0.5)


async def test_broker_killed_and_restarted_on_the_same_port(settings, audio_dir, tmp_path):
    broker = EmbeddedBroker().start()  # this test's own broker: it gets killed
    topics = [settings.input_topic, settings.results_topic, settings.dlq_topic]
    env = {
        **service_env(settings, tmp_path),
        "STREAMSCRIBE_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "STREAMSCRIBE_PROVIDERS": "null",  # the broker is under test here, not the model
        "STREAMSCRIBE_DIARIZATION_MODE": "off",
    }
    try:
        await ensure_topics(broker.bootstrap_servers, topics, partitions=2)
        with started(env, tmp_path / "consumer.log") as service:
            await service.wait_ready()
            before = event_for_file(audio_dir / "jfk.flac")
            await submit_events(broker.bootstrap_servers, settings.input_topic, [before])
            await read_topic(broker.bootstrap_servers, settings.results_topic, expect=1, timeout=60)

            broker.stop(kill=True)
            await wait_for_status(service.port, 503, timeout=30)
            assert service.proc.poll() is None, "the consumer process must survive the outage"

            broker.start()  # same port, empty: the memory broker lost its topics and groups
            await ensure_topics(broker.bootstrap_servers, topics, partitions=2)
            after = event_for_file(audio_dir / "hotwords.mp3")
            await submit_events(broker.bootstrap_servers, settings.input_topic, [after])
            records = await read_topic(broker.bootstrap_servers, settings.results_topic, expect=1, timeout=90)
            assert results_by_job(records)[after.job_id][0]["status"] == "completed"
            await wait_for_status(service.port, 200, timeout=30)
            assert service.proc.poll() is None
    finally:
        broker.stop()
