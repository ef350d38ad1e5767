"""Inline audio: a ``data:`` URI (RFC 2397) carrying a tiny clip base64-encoded in the event."""

from __future__ import annotations

import base64
import binascii

from ...schemas import ErrorCode
from ..errors import JobError


def decode_data_uri(audio_uri: str, max_bytes: int) -> bytes:
    """The clip's bytes; refuses non-base64 payloads and clips over ``max_bytes``."""
    header, sep, payload = audio_uri.partition(",")
    if not sep or not header.endswith(";base64"):
        raise JobError(ErrorCode.UNSUPPORTED_AUDIO_URI, "inline audio must be a data:<type>;base64,<payload> URI")
    if len(payload) * 3 // 4 > max_bytes + 2:
        raise JobError(
            ErrorCode.AUDIO_TOO_LARGE,
            f"inline audio is about {len(payload) * 3 // 4} bytes; the cap is {max_bytes} (send a URL instead)",
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise JobError(ErrorCode.UNSUPPORTED_AUDIO_URI, f"inline audio is not valid base64: {exc}") from exc
    if len(data) > max_bytes:
        raise JobError(ErrorCode.AUDIO_TOO_LARGE, f"inline audio is {len(data)} bytes; the cap is {max_bytes}")
    return data
