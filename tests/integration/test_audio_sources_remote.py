"""HTTP(S) and S3 audio sources against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from audio_servers import moto_s3, serve_audio
from helpers import JFK_REFERENCE, word_error_rate

from streamscribe.metrics.registry import REGISTRY
from streamscribe.pipeline import AudioFetcher, JobError, decode_audio
from streamscribe.pipeline.sources.saving import CHUNK_BYTES
from streamscribe.schemas import ErrorCode
from streamscribe.settings import Settings

LOOPBACK = "127.0.0.1/32"


@pytest.fixture
async def http_server(audio_dir):
    async with serve_audio(audio_dir) as server:
        yield server


def fetcher(tmp_path, **overrides) -> AudioFetcher:
    values = {"download_dir": tmp_path, "http_allow_networks": LOOPBACK, **overrides}
    return AudioFetcher(Settings(**values))


async def refused(fetch: AudioFetcher, uri: str, sha256: str | None = None) -> JobError:
    with pytest.raises(JobError) as error:
        async with fetch.fetch(uri, sha256):
            pass
    return error.value


def fetched_bytes(scheme: str) -> float:
    return REGISTRY.get_sample_value("streamscribe_audio_fetched_bytes_total", {"scheme": scheme}) or 0.0


async def test_http_download_transcribes_with_checksum_and_leaves_nothing(http_server, audio_dir, tmp_path, cpu_executor):
    digest = hashlib.sha256((audio_dir / "jfk.flac").read_bytes()).hexdigest()
    async with fetcher(tmp_path).fetch(f"{http_server.base_url}/audio/jfk.flac", sha256=digest) as local:
        assert local.scheme == "http" and local.size_bytes == (audio_dir / "jfk.flac").stat().st_size
        audio = decode_audio(local.path)
    transcript = await cpu_executor.transcribe(audio, enable_diarization=False)
    assert word_error_rate(JFK_REFERENCE, transcript.full_text) <= 0.10, transcript.full_text
    assert list(tmp_path.iterdir()) == [], "the download directory is removed"


async def test_loopback_is_refused_without_an_allow_list(http_server, tmp_path):
    plain = fetcher(tmp_path, http_allow_networks="")
    port = http_server.base_url.rsplit(":", 1)[1]
    for url in (f"{http_server.base_url}/audio/jfk.flac", f"http://localhost:{port}/audio/jfk.flac", f"http://[::1]:{port}/x"):
        error = await refused(plain, url)
        assert error.code is ErrorCode.AUDIO_ACCESS_DENIED and not error.retryable, (url, error.message)


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.2:9/", "http://10.0.0.1/a.wav", "http://[fd00:ec2::254]/",
     "ftp://127.0.0.1/a.wav"],
)
async def test_a_redirect_to_a_forbidden_address_is_refused(http_server, tmp_path, target):
    url = f"{http_server.base_url}/redirect?to={target}"
    error = await refused(fetcher(tmp_path), url)  # 127.0.0.1 is allowed; where it redirects is not
    assert error.code is ErrorCode.AUDIO_ACCESS_DENIED and not error.retryable, error.message
    assert list(tmp_path.iterdir()) == []


async def test_an_allowed_redirect_is_followed_and_a_loop_is_bounded(http_server, tmp_path):
    target = f"{http_server.base_url}/audio/hotwords.mp3"
    async with fetcher(tmp_path).fetch(f"{http_server.base_url}/redirect?to={target}") as local:
        assert decode_audio(local.path).duration > 2
    error = await refused(fetcher(tmp_path, max_redirects=2), f"{http_server.base_url}/loop")
    assert error.code is ErrorCode.AUDIO_FETCH_FAILED and "more than 2 redirects" in error.message


async def test_size_limit_aborts_an_endless_download_early(http_server, tmp_path):
    limit = 1_000_000
    before = fetched_bytes("http")
    error = await refused(fetcher(tmp_path, max_download_bytes=limit), f"{http_server.base_url}/endless")
    assert error.code is ErrorCode.AUDIO_TOO_LARGE and not error.retryable
    read = fetched_bytes("http") - before
    assert limit < read <= limit + CHUNK_BYTES, read
    await asyncio.wait_for(http_server.endless_done.wait(), timeout=10)  # the connection was dropped
    assert http_server.endless_sent < 20 * limit, "the server was stopped early, not drained"
    assert list(tmp_path.iterdir()) == []


async def test_a_declared_size_over_the_limit_is_refused_before_the_body(http_server, tmp_path):
    before = fetched_bytes("http")
    error = await refused(fetcher(tmp_path), f"{http_server.base_url}/declared-huge")
    assert error.code is ErrorCode.AUDIO_TOO_LARGE and "10000000000 bytes" in error.message
    assert fetched_bytes("http") == before


async def test_http_errors_map_to_codes(http_server, tmp_path):
    fetch = fetcher(tmp_path, download_timeout_s=5)
    expected = {
        "/page": (ErrorCode.UNSUPPORTED_AUDIO, False),
        "/status/404": (ErrorCode.AUDIO_NOT_FOUND, False),
        "/status/403": (ErrorCode.AUDIO_ACCESS_DENIED, False),
        "/status/503": (ErrorCode.AUDIO_FETCH_FAILED, True),
        "/status/429": (ErrorCode.AUDIO_FETCH_FAILED, True),
    }
    for path, (code, retryable) in expected.items():
        error = await refused(fetch, http_server.base_url + path)
        assert (error.code, error.retryable) == (code, retryable), (path, error.message)
    error = await refused(fetch, f"{http_server.base_url}/audio/jfk.flac", sha256="0" * 64)
    assert error.code is ErrorCode.CHECKSUM_MISMATCH
    closed = await refused(fetch, "http://127.0.0.1:9/a.wav")  # nothing listens on the discard port
    assert closed.code is ErrorCode.AUDIO_FETCH_FAILED and closed.retryable
    assert list(tmp_path.iterdir()) == []


async def test_s3_object_downloads_and_transcribes(monkeypatch, audio_dir, tmp_path, cpu_executor):
    jfk = audio_dir / "jfk.flac"
    with moto_s3(monkeypatch, "recordings", {"calls/jfk.flac": jfk}) as endpoint:
        fetch = fetcher(tmp_path, s3_endpoint_url=endpoint)
        digest = hashlib.sha256(jfk.read_bytes()).hexdigest()
        async with fetch.fetch("s3://recordings/calls/jfk.flac", sha256=digest) as local:
            assert local.scheme == "s3" and local.size_bytes == jfk.stat().st_size
            audio = decode_audio(local.path)
        for uri in ("s3://recordings/calls/nope.flac", "s3://no-such-bucket/jfk.flac"):
            assert (await refused(fetch, uri)).code is ErrorCode.AUDIO_NOT_FOUND, uri
        small = fetcher(tmp_path, s3_endpoint_url=endpoint, max_download_bytes=100_000)
        assert (await refused(small, "s3://recordings/calls/jfk.flac")).code is ErrorCode.AUDIO_TOO_LARGE
        assert (await refused(fetch, "s3://recordings")).code is ErrorCode.UNSUPPORTED_AUDIO_URI
    transcript = await cpu_executor.transcribe(audio, enable_diarization=False)
    assert word_error_rate(JFK_REFERENCE, transcript.full_text) <= 0.10, transcript.full_text
    assert list(tmp_path.iterdir()) == []
