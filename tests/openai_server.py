"""A local OpenAI-compatible transcription server for tests: real HTTP, real transcription.

``POST /v1/audio/transcriptions`` (multipart, as the official client sends it) answers
``verbose_json`` computed by faster-whisper tiny.en on the uploaded bytes, so what the client
gets back depends on what it sent. It checks the bearer key, records every request, and can
be told to fail the next N requests with a status code.
"""

from __future__ import annotations

import io
import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio

from streamscribe.pipeline.models import resolve_whisper_model

LANGUAGE_NAMES = {"en": "english", "de": "german", "fr": "french"}


class FakeOpenAIServer:
    def __init__(self, api_key: str, cache_dir) -> None:
        self.api_key = api_key
        self.requests: list[dict] = []
        self._failures: list[tuple[int, dict]] = []
        self._lock = threading.Lock()
        self._model = WhisperModel(resolve_whisper_model("tiny.en", cache_dir), device="cpu", compute_type="int8")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, times: int = 1, headers: dict | None = None) -> None:
        with self._lock:
            self._failures.extend([(status, headers or {})] * times)

    def transcribe(self, data: bytes, language: str | None) -> dict:
        audio = decode_audio(io.BytesIO(data), sampling_rate=16000)
        segments, info = self._model.transcribe(audio, beam_size=1, vad_filter=True, language=language)
        segments = [
            {"id": i, "seek": 0, "start": round(s.start, 2), "end": round(s.end, 2), "text": s.text, "tokens": [],
             "temperature": 0.0, "avg_logprob": s.avg_logprob, "compression_ratio": s.compression_ratio,
             "no_speech_prob": s.no_speech_prob}
            for i, s in enumerate(segments)
        ]
        return {
            "task": "transcribe",
            "language": LANGUAGE_NAMES.get(info.language, info.language),
            "duration": round(len(audio) / 16000, 2),
            "text": "".join(s["text"] for s in segments),
            "segments": segments,
        }

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/audio/transcriptions":
                    return self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}})
                fields = _multipart(self.headers.get("Content-Type", ""), body)
                with server._lock:
                    server.requests.append({"filename": fields["file"][0], "bytes": len(fields["file"][1]), "fields": {k: v for k, v in fields.items() if k != "file"}})
                    failure = server._failures.pop(0) if server._failures else None
                if failure:
                    status, headers = failure
                    return self._json(status, {"error": {"message": f"injected {status}", "type": "server_error"}}, headers)
                if fields.get("response_format") != "verbose_json":
                    return self._json(400, {"error": {"message": "this test server only speaks verbose_json"}})
                self._json(200, server.transcribe(fields["file"][1], fields.get("language")))

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler


def _multipart(content_type: str, body: bytes) -> dict:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename():
            fields[name] = (part.get_filename(), payload)
        else:
            fields[name.removesuffix("[]")] = payload.decode()
    return fields
