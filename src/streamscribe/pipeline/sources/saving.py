"""Writing a downloaded stream to disk under a size limit, hashing it on the way (HTTP and S3)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from ...metrics import registry as metrics
from ...schemas import ErrorCode
from ..errors import JobError

CHUNK_BYTES = 64 * 1024


async def save_bounded(chunks: AsyncIterator[bytes], dest: Path, *, max_bytes: int, scheme: str, what: str) -> str:
    """Write ``chunks`` to ``dest``; returns their hex SHA-256. Stops at the first chunk past
    ``max_bytes`` (so at most one chunk more than the limit is read) with ``audio_too_large``."""
    digest = hashlib.sha256()
    received = 0
    with dest.open("wb") as out:
        async for chunk in chunks:
            received += len(chunk)
            metrics.AUDIO_FETCHED_BYTES.labels(scheme).inc(len(chunk))
            if received > max_bytes:
                raise JobError(ErrorCode.AUDIO_TOO_LARGE, f"{what} exceeds the download limit of {max_bytes} bytes")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
