"""The real ``streamscribe run`` process for tests: its environment, start, readiness, logs, kill."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from streamscribe.broker import free_port
from streamscribe.settings import Settings

READY_TIMEOUT_S = 90.0
JOB_START_TIMEOUT_S = 60.0
RESULT_TIMEOUT_S = 90.0
EXIT_TIMEOUT_S = 60.0


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any streamscribe settings, plus test-friendly basics."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STREAMSCRIBE_") and k not in ("USE_GPU_PIPELINE", "AUDIO_PIPELINE_DIR")
    }
    env.update(
        STREAMSCRIBE_MODEL_CACHE_DIR=str(tmp_path / "models"),
        PYANNOTE_METRICS_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def service_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """Environment for ``streamscribe run`` on the test's topics and group (metrics port added per start)."""
    env = _clean_env(tmp_path)
    env.update(
        STREAMSCRIBE_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        STREAMSCRIBE_INPUT_TOPIC=settings.input_topic,
        STREAMSCRIBE_RESULTS_TOPIC=settings.results_topic,
        STREAMSCRIBE_DLQ_TOPIC=settings.dlq_topic,
        STREAMSCRIBE_GROUP_ID=settings.group_id,
        STREAMSCRIBE_TOPIC_PARTITIONS=str(settings.topic_partitions),
        STREAMSCRIBE_SESSION_TIMEOUT_MS="2000",
        STREAMSCRIBE_HEARTBEAT_INTERVAL_MS="500",
        STREAMSCRIBE_MAX_POLL_INTERVAL_MS=str(settings.max_poll_interval_ms),
        STREAMSCRIBE_SHUTDOWN_TIMEOUT_S=str(settings.shutdown_timeout_s),
        STREAMSCRIBE_METRICS_HOST="127.0.0.1",
    )
    return env


class ServiceProcess:
    """One ``python -m streamscribe run``, logging to a file; always stopped by ``close()``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamscribe", "run"],
            env={**env, "STREAMSCRIBE_METRICS_PORT": str(self.port)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group: nothing it starts can outlive the test
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _fail(self, message: str) -> None:
        pytest.fail(f"{message}\n--- {self.log_path.name} ---\n{self.log()}", pytrace=False)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):  # 503 (HTTPError) and not listening yet
            return False

    async def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                self._fail(f"streamscribe run exited with {self.proc.returncode} before /readyz answered 200")
            if time.monotonic() > deadline:
                self._fail(f"/readyz on port {self.port} not 200 within {timeout:.0f}s")
            await asyncio.sleep(0.2)

    async def wait_for_log(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log())
            if match:
                return match
            if self.proc.poll() is not None:
                self._fail(f"streamscribe run exited with {self.proc.returncode} before logging {pattern!r}")
            if time.monotonic() > deadline:
                self._fail(f"no log line matching {pattern!r} within {timeout:.0f}s")
            await asyncio.sleep(0.1)

    async def wait_exit(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self._fail(f"streamscribe run still running {timeout:.0f}s after the signal")
            await asyncio.sleep(0.1)
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        else:  # the leader is gone; its group may not be
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def started(env: dict[str, str], log_path: Path):
    service = ServiceProcess(env, log_path)
    try:
        yield service
    finally:
        service.close()
        print(f"--- {log_path.name} ---\n{service.log()}")  # shown by pytest when the test fails
