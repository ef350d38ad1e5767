"""Process isolation: the models live in a child process that the executor owns.

A CUDA/cuDNN mismatch, a driver fault or a native bug in CTranslate2 can abort or hang the
whole process, with no Python exception to fall back on. With ``isolation=process`` that
happens in the worker instead: the parent notices (the process died, or a job outran its
timeout, scaled by audio length), counts it in ``streamscribe_worker_restarts_total{reason}``,
raises ``WorkerCrashed`` so the job falls back along the provider chain or is retried, and
starts a new worker with back-off on the next call. The consumer never goes down with it.

The protocol is a duplex pipe carrying pickled tuples, one request at a time:
parent → ``("load", provider)``, ``("transcribe", provider, audio, options)``,
``("transcribe_many", provider, [(audio, options), ...])``, ``("label", transcript, audio, hints)``,
``("stop",)``; worker → ``("progress", stage,
fraction)``* then ``("ok", value, gpu_memory)`` or ``("error", RemoteFailure)``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from ..metrics import registry as metrics
from ..schemas import ErrorCode, Transcript
from ..settings import Settings
from .audio import DecodedAudio
from .diarization import SpeakerHints
from .errors import JobError
from .fallback import ProviderLoadError, fallback_reason
from .local_models import LoadInfo, Progress

log = logging.getLogger(__name__)

_POLL_S = 0.2
_MAX_BACKOFF_S = 30.0
# Exit codes as metric label values (bounded).
_SIGNAL_REASONS = {-signal.SIGKILL: "killed", -signal.SIGABRT: "abort", -signal.SIGSEGV: "segfault"}


class WorkerCrashed(RuntimeError):
    """The worker died or hung mid-request; a new one starts on the next call."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.fallback_reason = "worker_timeout" if reason == "timeout" else "worker_crash"


class RemoteError(RuntimeError):
    """An exception raised inside the worker, carried back by name, message and reason."""

    def __init__(self, message: str, fallback_reason: str) -> None:
        super().__init__(message)
        self.fallback_reason = fallback_reason


@dataclass(frozen=True)
class RemoteFailure:
    """A picklable description of an exception in the worker (exceptions may not pickle)."""

    kind: str  # "job", "load" or "error"
    message: str
    reason: str
    code: str | None = None
    retryable: bool = True

    @classmethod
    def of(cls, exc: BaseException) -> "RemoteFailure":
        if isinstance(exc, JobError):
            return cls("job", exc.message, "error", exc.code.value, exc.retryable)
        cause = exc.__cause__ if isinstance(exc, ProviderLoadError) and exc.__cause__ else exc
        kind = "load" if isinstance(exc, ProviderLoadError) else "error"
        return cls(kind, str(exc) if kind == "load" else f"{type(cause).__name__}: {cause}", fallback_reason(exc))

    def exception(self) -> Exception:
        if self.kind == "job":
            return JobError(ErrorCode(self.code), self.message, retryable=self.retryable)
        if self.kind == "load":
            error = ProviderLoadError(self.message)
            error.__cause__ = RemoteError(self.message, self.reason)
            return error
        return RemoteError(self.message, self.reason)


class WorkerProcess:
    """The parent's handle on one worker; every method blocks (call it on the executor thread)."""

    def __init__(self, settings: Settings, *, cuda_visible_devices: str | None = None, device_label: str = "0") -> None:
        self.settings = settings
        self.cuda_visible_devices = cuda_visible_devices
        self.device_label = device_label
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._backoff_s = 0.0  # waited before the next start; grows while starts keep crashing
        self._loaded: set[str] = set()  # providers whose models the current worker holds

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    # --- the requests ------------------------------------------------------------------------
    def load(self, provider: str) -> LoadInfo:
        info = self._call(("load", provider), self.settings.worker_load_timeout_s)
        self._loaded.add(provider)
        return info

    def transcribe(self, provider: str, audio: DecodedAudio, options: dict, on_progress: Progress | None = None) -> Transcript:
        self._ensure_loaded(provider)
        return self._call(("transcribe", provider, audio, options), self._job_timeout(audio), on_progress)

    def transcribe_many(self, provider: str, jobs: list[tuple[DecodedAudio, dict]]) -> list[Transcript]:
        self._ensure_loaded(provider)
        timeout = sum(self._job_timeout(audio) for audio, _ in jobs)
        return self._call(("transcribe_many", provider, jobs), timeout)

    def label(self, transcript: Transcript, audio: DecodedAudio, hints: SpeakerHints | None) -> Transcript:
        return self._call(("label", transcript, audio, hints), self._job_timeout(audio))

    def close(self) -> None:
        """Ask the worker to free its models and exit; kill it if it does not."""
        if self._process is None:
            return
        if self._process.is_alive():
            try:
                self._conn.send(("stop",))
            except OSError:
                pass
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._conn.close()
        self._process = self._conn = None
        self._loaded.clear()

    # --- process management ------------------------------------------------------------------
    def _ensure_loaded(self, provider: str) -> None:
        """A new worker loads its models under the load timeout, not inside a job's."""
        if provider not in self._loaded:
            self.load(provider)

    def _job_timeout(self, audio: DecodedAudio) -> float:
        s = self.settings
        return s.worker_timeout_s + s.worker_timeout_per_audio_s * audio.duration

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        if self._backoff_s:
            log.info("restarting the model worker in %.1fs", self._backoff_s)
            time.sleep(self._backoff_s)
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold CUDA state
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=worker_main,
            args=(child, self.settings.model_dump(mode="json"), self.cuda_visible_devices, os.getpid()),
            name=f"streamscribe-worker-{self.device_label}",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        log.info("model worker started (pid %d, device %s)", process.pid, self.device_label)

    def _call(self, request: tuple, timeout_s: float, on_progress: Progress | None = None):
        self._ensure_started()
        try:
            self._conn.send(request)
        except OSError as exc:
            raise self._crashed(f"could not send to the worker: {exc}") from None
        deadline = time.monotonic() + timeout_s
        while True:
            if self._conn.poll(_POLL_S):
                try:
                    message = self._conn.recv()
                except (EOFError, OSError):
                    raise self._crashed("the worker closed its pipe mid-request") from None
                if message[0] == "progress":
                    if on_progress is not None:
                        on_progress(message[1], message[2])
                    continue
                self._backoff_s = 0.0  # a worker that answers is healthy again
                if message[0] == "error":
                    raise message[1].exception()
                self._export_gpu_memory(message[2])
                return message[1]
            if not self._process.is_alive():
                raise self._crashed("the worker died mid-request")
            if time.monotonic() > deadline:
                self._process.kill()
                self._process.join(timeout=5)
                raise self._crashed(f"the worker did not answer within {timeout_s:.0f}s: killed", reason="timeout")

    def _crashed(self, what: str, reason: str | None = None) -> WorkerCrashed:
        self._process.join(timeout=5)
        code = self._process.exitcode
        reason = reason or _SIGNAL_REASONS.get(code, "signal" if code is not None and code < 0 else "exit")
        self._backoff_s = min(max(self._backoff_s * 2, self.settings.worker_restart_backoff_s), _MAX_BACKOFF_S)
        metrics.WORKER_RESTARTS.labels(reason).inc()
        log.error("model worker (pid %s) failed: %s (exit code %s, reason %s); a new one starts on the next job",
                  self._process.pid, what, code, reason)
        self._conn.close()
        self._process = self._conn = None
        self._loaded.clear()
        return WorkerCrashed(f"{what} (exit code {code})", reason)

    def _export_gpu_memory(self, stats: tuple[int, int] | None) -> None:
        if stats is not None:
            metrics.GPU_MEMORY_USED.labels(self.device_label).set(stats[0])
            metrics.GPU_MEMORY_TOTAL.labels(self.device_label).set(stats[1])


# --- in the worker process ------------------------------------------------------------------
def worker_main(conn: Connection, settings_data: dict, cuda_visible_devices: str | None, parent_pid: int) -> None:
    """Entry point of the worker: serve requests until told to stop or the parent is gone."""
    if cuda_visible_devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = cuda_visible_devices  # before anything initialises CUDA
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    settings = Settings.model_validate(settings_data)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s [worker] %(name)s: %(message)s")
    _exit_with_parent(parent_pid)

    from . import devices
    from .local_models import LocalModels

    models = LocalModels(settings)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break  # the parent is gone
        if request[0] == "stop":
            break
        try:
            value = _serve(models, request, conn, settings.worker_fault_file)
            conn.send(("ok", value, devices.gpu_memory()))
        except Exception as exc:
            conn.send(("error", RemoteFailure.of(exc)))
    models.close()


def _serve(models, request: tuple, conn: Connection, fault_file: Path | None):
    op, *args = request
    if op == "load":
        return models.load(*args)
    if op == "transcribe":
        _inject_fault(fault_file)
        return models.transcribe(*args, on_progress=lambda stage, fraction: conn.send(("progress", stage, fraction)))
    if op == "transcribe_many":
        _inject_fault(fault_file)
        return models.transcribe_many(*args)
    if op == "label":
        return models.label(*args)
    raise ValueError(f"unknown worker request {op!r}")


def _inject_fault(fault_file: Path | None) -> None:
    """Test hook (``STREAMSCRIBE_WORKER_FAULT_FILE``): act once on ``abort``, ``hang:<s>``, ``exit:<code>``.

    The file is removed before acting, so the restarted worker runs normally.
    """
    if fault_file is None or not fault_file.exists():
        return
    action = fault_file.read_text().strip()
    fault_file.unlink()
    log.warning("fault injection: %s", action)
    if action == "abort":
        os.abort()
    elif action.startswith("hang:"):
        time.sleep(float(action.split(":", 1)[1]))
    elif action.startswith("exit:"):
        os._exit(int(action.split(":", 1)[1]))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose parent was killed (-9) must not keep a GPU busy: exit when it is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
