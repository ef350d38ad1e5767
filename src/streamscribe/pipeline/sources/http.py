"""HTTP(S) audio: a streamed, bounded, SSRF-checked download to a local file.

Bounded in every dimension a hostile or broken server could stretch: size (Content-Length
checked first, then every chunk counted, so at most one chunk past the limit is read),
time (one deadline for the whole download), redirects (a few, each one checked like the
first URL) and content type (an HTML error page is not audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import aiohttp

from ...schemas import ErrorCode
from ..errors import JobError
from .network import CheckedResolver, ForbiddenAddress, IPNetwork, check_address, literal_address
from .saving import CHUNK_BYTES, save_bounded

_REDIRECTS = {301, 302, 303, 307, 308}
# Besides audio/* and video/*: what servers and object stores send for "some bytes".
_BINARY_TYPES = {"application/octet-stream", "binary/octet-stream", "application/ogg", "application/x-flac"}


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int
    timeout_s: float
    max_redirects: int
    allowed_networks: tuple[IPNetwork, ...] = ()


async def download_http(url: str, dest: Path, limits: DownloadLimits) -> str:
    """Stream ``url`` into ``dest``; returns the hex SHA-256 of what was written."""
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(limits.allowed_networks), limit=1)
    timeout = aiohttp.ClientTimeout(total=limits.timeout_s, sock_connect=min(limits.timeout_s, 10))
    # trust_env=False: an environment proxy would connect on our behalf, past the address check.
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:
        try:
            for _ in range(limits.max_redirects + 1):
                _check_url(url, limits.allowed_networks)
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in _REDIRECTS and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    _check_response(url, response, limits.max_bytes)
                    chunks = response.content.iter_chunked(CHUNK_BYTES)
                    return await save_bounded(chunks, dest, max_bytes=limits.max_bytes, scheme="http", what=url)
            raise JobError(ErrorCode.AUDIO_FETCH_FAILED, f"more than {limits.max_redirects} redirects fetching {url}")
        except ForbiddenAddress as exc:
            raise JobError(ErrorCode.AUDIO_ACCESS_DENIED, f"refusing to fetch {url}: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.__cause__, ForbiddenAddress):
                raise JobError(ErrorCode.AUDIO_ACCESS_DENIED, f"refusing to fetch {url}: {exc.__cause__}") from None
            raise JobError(ErrorCode.AUDIO_FETCH_FAILED, f"cannot connect for {url}: {exc}", retryable=True) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise JobError(
                ErrorCode.AUDIO_FETCH_FAILED, f"download of {url} failed: {type(exc).__name__}: {exc}", retryable=True
            ) from exc


def _check_url(url: str, allowed: tuple[IPNetwork, ...]) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise JobError(ErrorCode.AUDIO_ACCESS_DENIED, f"refusing to fetch {url}: only http(s) URLs with a host")
    address = literal_address(parsed.hostname)
    if address is not None:  # aiohttp skips the resolver for literal addresses: check here
        check_address(address, allowed)


def _check_response(url: str, response: aiohttp.ClientResponse, max_bytes: int) -> None:
    status = response.status
    if status in (401, 403):
        raise JobError(ErrorCode.AUDIO_ACCESS_DENIED, f"{url}: HTTP {status}; the service has no access to it")
    if status in (404, 410):
        raise JobError(ErrorCode.AUDIO_NOT_FOUND, f"{url}: HTTP {status}")
    if status == 429 or status >= 500:
        raise JobError(ErrorCode.AUDIO_FETCH_FAILED, f"{url}: HTTP {status}", retryable=True)
    if status != 200:
        raise JobError(ErrorCode.AUDIO_FETCH_FAILED, f"{url}: unexpected HTTP {status}")
    content_type = response.content_type  # "application/octet-stream" when the header is absent
    if not (content_type.startswith(("audio/", "video/")) or content_type in _BINARY_TYPES):
        raise JobError(ErrorCode.UNSUPPORTED_AUDIO, f"{url} is {content_type}, not audio")
    if response.content_length is not None and response.content_length > max_bytes:
        raise JobError(
            ErrorCode.AUDIO_TOO_LARGE, f"{url} is {response.content_length} bytes; the download limit is {max_bytes}"
        )
