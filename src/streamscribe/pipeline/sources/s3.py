"""S3 audio (AWS or any S3-compatible store): a streamed, bounded download with aiobotocore.

aiobotocore is the maintained asyncio port of botocore, so credentials and region come
from the standard AWS chain (environment, shared config/credentials files, IRSA/instance
roles) with nothing of our own. The endpoint is operator configuration, not event data,
so it is not subject to the SSRF address check (an in-cluster MinIO is a private address).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ...schemas import ErrorCode
from ..errors import JobError
from .saving import CHUNK_BYTES, save_bounded

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    key = unquote(parsed.path.lstrip("/"))
    if not parsed.netloc or not key:
        raise JobError(ErrorCode.UNSUPPORTED_AUDIO_URI, f"expected s3://bucket/key, got {uri!r}")
    return parsed.netloc, key


async def download_s3(
    uri: str, dest: Path, *, max_bytes: int, timeout_s: float, endpoint_url: str | None, region: str | None
) -> str:
    """Stream ``s3://bucket/key`` into ``dest``; returns the hex SHA-256 of what was written."""
    from botocore.config import Config

    bucket, key = parse_s3_uri(uri)
    config = Config(connect_timeout=min(timeout_s, 10), read_timeout=timeout_s, retries={"max_attempts": 3})
    try:
        async with get_session().create_client("s3", endpoint_url=endpoint_url, region_name=region, config=config) as s3:
            response = await s3.get_object(Bucket=bucket, Key=key)
            if response.get("ContentLength", 0) > max_bytes:
                raise JobError(
                    ErrorCode.AUDIO_TOO_LARGE, f"{uri} is {response['ContentLength']} bytes; the limit is {max_bytes}"
                )
            async with response["Body"] as body:
                return await save_bounded(_chunks(body), dest, max_bytes=max_bytes, scheme="s3", what=uri)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            raise JobError(ErrorCode.AUDIO_NOT_FOUND, f"{uri}: {code}") from None
        if code in _DENIED:
            raise JobError(ErrorCode.AUDIO_ACCESS_DENIED, f"{uri}: {code}; check the service's S3 credentials") from None
        raise JobError(ErrorCode.AUDIO_FETCH_FAILED, f"{uri}: {exc}", retryable=True) from exc
    except NoCredentialsError:
        raise JobError(
            ErrorCode.AUDIO_ACCESS_DENIED, f"{uri}: no AWS credentials (set AWS_ACCESS_KEY_ID/... or a role)"
        ) from None
    except BotoCoreError as exc:  # endpoint unreachable, timeouts
        raise JobError(ErrorCode.AUDIO_FETCH_FAILED, f"{uri}: {exc}", retryable=True) from exc


async def _chunks(body):
    while chunk := await body.read(CHUNK_BYTES):
        yield chunk
