"""Audio source rules that need no server: root confinement, inline clips, address checks."""

from __future__ import annotations

import base64
import hashlib
import os
import sys

import pytest

from streamscribe.pipeline import AudioFetcher, JobError
from streamscribe.pipeline.sources.local import resolve_local
from streamscribe.pipeline.sources.network import ForbiddenAddress, check_address, parse_networks
from streamscribe.schemas import AudioReady, ErrorCode, uri_scheme
from streamscribe.settings import Settings


@pytest.fixture
def root(tmp_path):
    (tmp_path / "audio" / "clips").mkdir(parents=True)
    (tmp_path / "audio" / "clips" / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.txt").write_text("outside the root")
    return tmp_path / "audio"


def test_paths_inside_the_root_resolve(root):
    assert resolve_local("clips/a.wav", root) == root.resolve() / "clips" / "a.wav"
    assert resolve_local(str(root / "clips" / "a.wav"), root) == root.resolve() / "clips" / "a.wav"
    assert resolve_local(f"file://{root}/clips/a.wav", root) == root.resolve() / "clips" / "a.wav"
    assert resolve_local("clips/../clips/a.wav", root) == root.resolve() / "clips" / "a.wav"


@pytest.mark.parametrize(
    "uri",
    ["../secret.txt", "../../etc/passwd", "clips/../../secret.txt", "/etc/passwd", "file:///etc/passwd", "escape/secret.txt"],
)
def test_paths_leaving_the_root_are_denied_before_any_read(root, uri):
    (root / "escape").symlink_to(root.parent)  # a symlink inside the root pointing out of it
    with pytest.raises(JobError) as denied:
        resolve_local(uri, root)
    assert denied.value.code is ErrorCode.AUDIO_ACCESS_DENIED and not denied.value.retryable


_opened: list[str] | None = None


def _record_opens(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_record_opens)  # audit hooks cannot be removed; it records only inside the test


async def test_the_fetcher_denies_traversal_without_opening_any_file(root):
    global _opened
    fetcher = AudioFetcher(Settings(audio_pipeline_dir=root))
    (root / "escape").symlink_to(root.parent)
    for uri in ("../secret.txt", str(root.parent / "secret.txt"), "escape/secret.txt", f"file://{root.parent}/secret.txt"):
        _opened = []
        try:
            with pytest.raises(JobError) as denied:
                async with fetcher.fetch(uri):
                    pass
        finally:
            opened, _opened = _opened, None
        assert denied.value.code is ErrorCode.AUDIO_ACCESS_DENIED, uri
        assert not [path for path in opened if "secret" in path], f"{uri}: opened {opened}"


async def test_a_missing_file_inside_the_root_is_not_found(root):
    with pytest.raises(JobError) as missing:
        async with AudioFetcher(Settings(audio_pipeline_dir=root)).fetch("clips/nope.wav"):
            pass
    assert missing.value.code is ErrorCode.AUDIO_NOT_FOUND


async def test_inline_clip_is_written_hashed_and_removed(tmp_path, audio_dir):
    data = (audio_dir / "hotwords.mp3").read_bytes()
    uri = "data:audio/mpeg;base64," + base64.b64encode(data).decode()
    fetcher = AudioFetcher(Settings(download_dir=tmp_path))
    async with fetcher.fetch(uri, sha256=hashlib.sha256(data).hexdigest()) as local:
        assert local.scheme == "data" and local.path.read_bytes() == data
    assert list(tmp_path.iterdir()) == [], "the per-job directory is removed"


async def test_inline_clip_errors(tmp_path):
    fetcher = AudioFetcher(Settings(download_dir=tmp_path, inline_audio_max_bytes=1024))
    cases = {
        "data:audio/wav;base64," + base64.b64encode(b"x" * 2048).decode(): ErrorCode.AUDIO_TOO_LARGE,
        "data:audio/wav;base64,not*base64": ErrorCode.UNSUPPORTED_AUDIO_URI,
        "data:audio/wav,plain": ErrorCode.UNSUPPORTED_AUDIO_URI,
        "data:audio/wav;base64," + base64.b64encode(b"RIFF").decode(): ErrorCode.CHECKSUM_MISMATCH,
    }
    for uri, code in cases.items():
        with pytest.raises(JobError) as error:
            async with fetcher.fetch(uri, sha256="0" * 64):
                pass
        assert error.value.code is code, uri
    assert list(tmp_path.iterdir()) == [], "removed on failure too"


async def test_schemes_can_be_narrowed_and_unknown_ones_refused():
    fetcher = AudioFetcher(Settings(audio_uri_schemes="s3"))
    for uri in ("/data/a.wav", "http://example.com/a.wav", "ftp://example.com/a.wav"):
        with pytest.raises(JobError) as refused:
            async with fetcher.fetch(uri):
                pass
        assert refused.value.code is ErrorCode.UNSUPPORTED_AUDIO_URI, uri
    with pytest.raises(ValueError, match="gopher"):
        AudioFetcher(Settings(audio_uri_schemes="file,gopher"))


def test_uri_schemes():
    assert [uri_scheme(u) for u in ("/a.wav", "a.wav", "file:///a.wav", "C:\\a.wav", "HTTPS://h/a", "s3://b/k")] == [
        "file", "file", "file", "file", "https", "s3",
    ]


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1"],
)
def test_internal_addresses_are_forbidden(address):
    with pytest.raises(ForbiddenAddress):
        check_address(address)


def test_public_addresses_and_allow_listed_networks_pass():
    check_address("93.184.216.34")
    check_address("2606:2800:220:1:248:1893:25c8:1946")
    allowed = parse_networks("127.0.0.1/32, 10.0.0.0/8")
    check_address("127.0.0.1", allowed)
    check_address("10.9.9.9", allowed)
    with pytest.raises(ForbiddenAddress):
        check_address("127.0.0.2", allowed)


def test_event_checksum_and_uri_length_rules():
    assert AudioReady(job_id="a", audio_uri="s3://b/k", sha256="A" * 64).sha256 == "A" * 64
    with pytest.raises(ValueError, match="sha256"):
        AudioReady(job_id="a", audio_uri="s3://b/k", sha256="xyz")
    with pytest.raises(ValueError, match="4096"):
        AudioReady(job_id="a", audio_uri="/" + "a" * 5000)
    AudioReady(job_id="a", audio_uri="data:audio/wav;base64," + "A" * 8000)  # bounded by the inline cap instead


def test_submit_keeps_uris_and_makes_local_paths_absolute(tmp_path, monkeypatch):
    from streamscribe.submit import event_for

    monkeypatch.chdir(tmp_path)
    assert event_for("clip.wav", job_id="j").audio_uri == str(tmp_path / "clip.wav")
    for uri in ("https://example.com/a.mp3", "s3://bucket/a.flac", "file:///data/a.wav"):
        assert event_for(uri, diarize=False).audio_uri == uri
