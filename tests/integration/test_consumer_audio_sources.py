"""Events that point at audio on HTTP, S3, inline and a confined shared volume, through Kafka:
good sources transcribe, unsafe or unusable ones fail with their own code, and the consumer
keeps going."""

from __future__ import annotations

import base64
import hashlib
import shutil

import numpy as np
from audio_servers import moto_s3, serve_audio
from helpers import JFK_REFERENCE, committed_offsets, read_topic, results_by_job, running_consumer, word_error_rate

from streamscribe.schemas import AudioReady
from streamscribe.submit import submit_events


async def test_every_source_and_every_refusal_through_the_consumer(settings, cpu_executor, audio_dir, tmp_path, monkeypatch):
    root = tmp_path / "volume"
    root.mkdir()
    shutil.copy(audio_dir / "jfk.flac", root / "jfk.flac")
    flac = (audio_dir / "jfk.flac").read_bytes()
    (root / "corrupt.flac").write_bytes(flac[:42] + np.random.default_rng(7).bytes(len(flac) - 42))
    (root / "notes.wav").write_text("a text file renamed to .wav\n" * 40)
    (root / "empty.wav").write_bytes(b"")
    (root / "escape").symlink_to(audio_dir)  # inside the root, pointing out of it
    hotwords = (audio_dir / "hotwords.mp3").read_bytes()

    with moto_s3(monkeypatch, "recordings", {"jfk.flac": audio_dir / "jfk.flac"}) as s3_endpoint:
        async with serve_audio(audio_dir) as http:
            settings = settings.model_copy(update={
                "audio_pipeline_dir": root, "http_allow_networks": "127.0.0.1/32", "s3_endpoint_url": s3_endpoint,
                "max_audio_seconds": 30, "max_attempts": 2, "retry_backoff_s": 0.1, "download_dir": tmp_path / "downloads",
            })
            (tmp_path / "downloads").mkdir()
            web = http.base_url
            events = {
                "http": (f"{web}/audio/jfk.flac", hashlib.sha256(flac).hexdigest()),
                "s3": ("s3://recordings/jfk.flac", None),
                "inline": ("data:audio/mpeg;base64," + base64.b64encode(hotwords).decode(), None),
                "volume-relative": ("jfk.flac", None),
                "traversal": ("../../../../etc/passwd", None),
                "outside-file-uri": ("file:///etc/passwd", None),
                "symlink-escape": ("escape/jfk.flac", None),
                "metadata-redirect": (f"{web}/redirect?to=http://169.254.169.254/latest/meta-data/", None),
                "checksum": (f"{web}/audio/jfk.flac", "0" * 64),
                "corrupt": ("corrupt.flac", None),
                "text-as-wav": ("notes.wav", None),
                "zero-bytes": ("empty.wav", None),
                "over-long": (f"{web}/audio/silero_lecture_60s.wav", None),
                "server-down": (f"{web}/status/503", None),
            }
            async with running_consumer(settings, cpu_executor):
                await submit_events(
                    settings.bootstrap_servers, settings.input_topic,
                    [AudioReady(job_id=job, audio_uri=uri, sha256=sha, diarize=False) for job, (uri, sha) in events.items()],
                )
                results = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=len(events), timeout=120)
                dead = await read_topic(settings.bootstrap_servers, settings.dlq_topic, expect=10, timeout=30, settle=1)

    by_job = {job: rs[0] for job, rs in results_by_job(results).items()}
    assert set(by_job) == set(events), "every event has exactly one outcome"
    for job in ("http", "s3", "volume-relative"):
        assert by_job[job]["status"] == "completed", by_job[job]["error"]
        assert word_error_rate(JFK_REFERENCE, by_job[job]["full_text"]) <= 0.10, by_job[job]["full_text"]
    assert by_job["inline"]["status"] == "completed" and by_job["inline"]["full_text"].strip()
    expected = {
        "traversal": "audio_access_denied",
        "outside-file-uri": "audio_access_denied",
        "symlink-escape": "audio_access_denied",
        "metadata-redirect": "audio_access_denied",
        "checksum": "checksum_mismatch",
        "corrupt": "audio_decode_failed",
        "text-as-wav": "unsupported_audio",
        "zero-bytes": "empty_audio",
        "over-long": "audio_too_long",
        "server-down": "audio_fetch_failed",
    }
    for job, code in expected.items():
        result = by_job[job]
        assert (result["status"], result["error"]["code"]) == ("failed", code), (job, result["error"])
    assert by_job["server-down"]["error"]["retryable"] and by_job["server-down"]["attempt"] == 2, "retried, then failed"
    assert by_job["corrupt"]["attempt"] == 1, "permanent errors are not retried"
    assert sorted(dict(r.headers)["error_code"].decode() for r in dead) == sorted(expected.values())
    assert list((tmp_path / "downloads").iterdir()) == [], "no download outlives its job"
    offsets = await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)
    assert sum(o or 0 for o in offsets.values()) == len(events), "every outcome was committed"
