"""Audio sources: get an event's audio onto local disk, safely, before anything decodes it.

``AudioFetcher.fetch`` takes an ``audio_uri`` and yields a local file:

* a path or ``file://`` URI: the file itself, confined to the audio root (``local.py``);
* ``http(s)://``: a bounded, address-checked download (``http.py``, ``network.py``);
* ``s3://bucket/key``: a bounded download from S3 or a compatible store (``s3.py``);
* ``data:audio/...;base64,``: a tiny clip carried in the event (``inline.py``).

Downloads live in a per-job temporary directory that is removed when the job is done,
whatever happens. The event's optional ``sha256`` is checked against the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ...metrics import registry as metrics
from ...schemas import ErrorCode, uri_scheme
from ...settings import Settings
from ..errors import JobError
from .http import DownloadLimits, download_http
from .inline import decode_data_uri
from .local import resolve_local
from .network import parse_networks
from .s3 import download_s3

SCHEMES = ("file", "http", "https", "s3", "data")


@dataclass(frozen=True)
class LocalAudio:
    """The job's audio as a local file, valid inside ``AudioFetcher.fetch``."""

    path: Path
    scheme: str
    size_bytes: int


class AudioFetcher:
    """Resolves and fetches ``audio_uri``s under the limits in ``Settings``."""

    def __init__(self, settings: Settings) -> None:
        self.schemes = {s.strip().lower() for s in settings.audio_uri_schemes.split(",") if s.strip()}
        unknown = self.schemes - set(SCHEMES)
        if unknown:
            raise ValueError(f"STREAMSCRIBE_AUDIO_URI_SCHEMES: unknown scheme(s) {sorted(unknown)}; known: {SCHEMES}")
        self.root = settings.audio_pipeline_dir
        self.limits = DownloadLimits(
            max_bytes=settings.max_download_bytes,
            timeout_s=settings.download_timeout_s,
            max_redirects=settings.max_redirects,
            allowed_networks=parse_networks(settings.http_allow_networks),
        )
        self.download_dir = settings.download_dir
        self.s3_endpoint_url = settings.s3_endpoint_url
        self.s3_region = settings.s3_region
        self.inline_max_bytes = settings.inline_audio_max_bytes

    @contextlib.asynccontextmanager
    async def fetch(self, audio_uri: str, sha256: str | None = None) -> AsyncIterator[LocalAudio]:
        scheme = uri_scheme(audio_uri)
        if scheme not in self.schemes:
            allowed = ", ".join(sorted(self.schemes)) or "none"
            raise JobError(ErrorCode.UNSUPPORTED_AUDIO_URI, f"audio_uri scheme {scheme!r} is not accepted here ({allowed})")
        if scheme == "file":
            path = resolve_local(audio_uri, self.root)
            if not path.is_file():
                raise JobError(ErrorCode.AUDIO_NOT_FOUND, f"audio file not found: {path}")
            if sha256:
                _verify(sha256, await asyncio.to_thread(_file_sha256, path), audio_uri)
            yield LocalAudio(path, scheme, path.stat().st_size)
            return
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="streamscribe-", dir=self.download_dir) as tmp:
            dest = Path(tmp) / "audio"
            digest = await self._download(scheme, audio_uri, dest)
            metrics.STAGE_DURATION.labels("audio_fetch").observe(time.perf_counter() - started)
            if sha256:
                _verify(sha256, digest, _short(audio_uri))
            yield LocalAudio(dest, scheme, dest.stat().st_size)

    async def _download(self, scheme: str, audio_uri: str, dest: Path) -> str:
        if scheme in ("http", "https"):
            return await download_http(audio_uri, dest, self.limits)
        if scheme == "s3":
            return await download_s3(
                audio_uri, dest, max_bytes=self.limits.max_bytes, timeout_s=self.limits.timeout_s,
                endpoint_url=self.s3_endpoint_url, region=self.s3_region,
            )
        data = decode_data_uri(audio_uri, self.inline_max_bytes)
        metrics.AUDIO_FETCHED_BYTES.labels("data").inc(len(data))
        dest.write_bytes(data)
        return hashlib.sha256(data).hexdigest()


def _verify(expected: str, actual: str, what: str) -> None:
    if expected.lower() != actual:
        raise JobError(ErrorCode.CHECKSUM_MISMATCH, f"sha256 of {what} is {actual}, the event says {expected.lower()}")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _short(audio_uri: str) -> str:
    return audio_uri if len(audio_uri) <= 80 else audio_uri[:77] + "..."


__all__ = ["AudioFetcher", "LocalAudio"]
