"""Real servers that hold audio for the source tests: an HTTP server and an S3 (moto) server,
both on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

CONTENT_TYPES = {".flac": "audio/flac", ".mp3": "audio/mpeg", ".wav": "audio/wav"}


@dataclass
class AudioHTTPServer:
    """What the server did, for assertions: bytes the endless route managed to send."""

    base_url: str = ""
    endless_sent: int = 0
    endless_done: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def serve_audio(audio_dir: Path) -> AsyncIterator[AudioHTTPServer]:
    """Routes: /audio/<file> (the shared audio), /redirect?to=<url>, /loop (redirects to itself),
    /page (HTML), /status/<code>, /endless (audio/wav forever, no Content-Length),
    /declared-huge (Content-Length of 10 GB)."""
    state = AudioHTTPServer()

    async def audio(request: web.Request) -> web.StreamResponse:
        path = audio_dir / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes(), content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"))

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/loop")

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html><body>Not audio</body></html>", content_type="text/html")

    async def status(request: web.Request) -> web.StreamResponse:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        chunk = b"\0" * 65536
        try:
            while True:
                await response.write(chunk)
                state.endless_sent += len(chunk)
        except (ConnectionError, asyncio.CancelledError):
            state.endless_done.set()
            raise
        return response

    async def declared_huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav", "Content-Length": str(10**10)})
        await response.prepare(request)
        await response.write(b"RIFF")
        return response

    app = web.Application()
    app.add_routes([
        web.get("/audio/{name}", audio), web.get("/redirect", redirect), web.get("/loop", loop), web.get("/page", page),
        web.get("/status/{code}", status), web.get("/endless", endless), web.get("/declared-huge", declared_huge),
    ])
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state.base_url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def moto_s3(monkeypatch, bucket: str, files: dict[str, Path]) -> Iterator[str]:
    """A real S3-compatible HTTP server (moto's) with ``bucket`` holding ``files``; yields its endpoint URL.

    Credentials come from the standard AWS environment variables, as in production.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "streamscribe-test", "AWS_SECRET_ACCESS_KEY": "streamscribe-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        for key, path in files.items():
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        yield endpoint
    finally:
        server.stop()
