"""Several devices: one executor, and one copy of the models, per device.

Each job goes to the executor with the fewest jobs running, so two GPUs (or two CPU
executors) share the load. Jobs never move between executors once started: a device's
failures fall back within its own provider chain. On Kubernetes the documented default
stays one pod per GPU (simpler scheduling, failure domains and scaling); this is for
multi-GPU machines run without an orchestrator.
"""

from __future__ import annotations

import asyncio

from ..schemas import Transcript
from ..settings import Settings
from .audio import DecodedAudio
from .executor import TranscriptionExecutor, resolve_isolation


def parse_devices(spec: str | None) -> list[str]:
    """``"cuda:0, cuda:1"`` → ``["cuda:0", "cuda:1"]``; ``cuda`` means ``cuda:0``."""
    devices = []
    for item in (spec or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item == "cuda":
            item = "cuda:0"
        kind, _, index = item.partition(":")
        if kind not in ("cuda", "cpu") or (kind == "cuda" and not index.isdigit()) or (kind == "cpu" and index):
            raise ValueError(f"STREAMSCRIBE_DEVICES: {item!r} is not cpu or cuda:<index>")
        devices.append(item)
    return devices


class ExecutorPool:
    """The executor interface (start, transcribe, shutdown, model_name) over several devices."""

    def __init__(self, settings: Settings) -> None:
        devices = parse_devices(settings.devices)
        if not devices:
            raise ValueError("ExecutorPool needs STREAMSCRIBE_DEVICES")
        gpus = [d for d in devices if d.startswith("cuda")]
        if len(gpus) > 1 and resolve_isolation(settings.isolation, True) != "process":
            raise ValueError("several GPUs need STREAMSCRIBE_ISOLATION=process (one worker process per GPU)")
        if len(set(gpus)) != len(gpus):
            raise ValueError(f"STREAMSCRIBE_DEVICES lists a GPU twice: {devices}")
        self.settings = settings
        self.executors = [TranscriptionExecutor(settings, device=device) for device in devices]

    @property
    def model_name(self) -> str:
        return self.settings.whisper_model

    async def start(self) -> str:
        """Load the models on every device at once; returns the providers, e.g. ``cuda,cuda``."""
        providers = await asyncio.gather(*(executor.start() for executor in self.executors))
        return ",".join(providers)

    async def transcribe(self, audio: DecodedAudio, **options) -> Transcript:
        executor = min(self.executors, key=lambda e: e.active)  # first of the least busy
        return await executor.transcribe(audio, **options)

    async def shutdown(self) -> None:
        await asyncio.gather(*(executor.shutdown() for executor in self.executors))


def build_executor(settings: Settings) -> TranscriptionExecutor | ExecutorPool:
    """One executor, or a pool when several devices are configured."""
    devices = parse_devices(settings.devices)
    if len(devices) > 1:
        return ExecutorPool(settings)
    return TranscriptionExecutor(settings, device=devices[0] if devices else None)
