"""Local audio: a plain path or ``file://`` URI, confined to the audio root.

The root is the seed's ``AUDIO_PIPELINE_DIR``. Confinement is checked on the fully
resolved path (symlinks and ``..`` followed), before the file is opened, so an event can
neither read nor probe for files outside it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from ...schemas import ErrorCode
from ..errors import JobError


def local_path(audio_uri: str) -> Path:
    """The path a plain path or ``file://`` URI names (not yet resolved or checked)."""
    parsed = urlparse(audio_uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise JobError(ErrorCode.UNSUPPORTED_AUDIO_URI, f"file:// URI with a remote host is not supported: {audio_uri}")
        return Path(unquote(parsed.path))
    return Path(audio_uri)


def resolve_local(audio_uri: str, root: Path | None) -> Path:
    """Resolve to a real path inside ``root``; relative paths are relative to it.

    Without a root (development), any path is accepted, relative to the working directory.
    """
    path = local_path(audio_uri)
    if root is None:
        return path
    root = root.resolve()
    real = (root / path).resolve()  # an absolute ``path`` replaces root here
    if not real.is_relative_to(root):
        raise JobError(
            ErrorCode.AUDIO_ACCESS_DENIED,
            f"{audio_uri!r} is outside the audio root {root}; only files under AUDIO_PIPELINE_DIR may be read",
        )
    return real
