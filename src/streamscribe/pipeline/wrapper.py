"""The seed's library API (``gpu_pipeline_wrapper``), kept by name.

``transcribe_audio_file`` follows the seed's decision tree: ``force_cpu`` -> CPU;
``USE_GPU_PIPELINE=true`` -> GPU with CPU fallback; otherwise CPU. Unlike the seed, the
models stay loaded between calls, on one shared executor.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from ..settings import Settings
from .audio import decode_audio
from . import devices
from .executor import TranscriptionExecutor, realtime_factor

log = logging.getLogger(__name__)

_executor: TranscriptionExecutor | None = None
_executor_lock = threading.Lock()


def _get_gpu_executor() -> TranscriptionExecutor:
    """The process-wide executor, created on first use from the environment's settings."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = TranscriptionExecutor(Settings())
        return _executor


def is_gpu_available() -> bool:
    """True when the GPU pipeline is enabled (``USE_GPU_PIPELINE``) and a CUDA device is usable."""
    return Settings().use_gpu_pipeline and devices.cuda_device_count() > 0


async def async_transcribe_gpu(audio_path: str | Path) -> dict:
    """Transcribe on the GPU only; raises ``RuntimeError`` if that fails (no fallback)."""
    return await _transcribe(audio_path, providers=["cuda"])


async def transcribe_audio_file(audio_path: str | Path, force_cpu: bool = False) -> dict:
    """Transcribe one file with GPU/CPU selection; returns the seed's result dict."""
    executor = _get_gpu_executor()
    if force_cpu:
        log.info("Using CPU transcription (force_cpu=True)")
    elif executor.settings.use_gpu_pipeline:
        log.info("GPU transcription enabled (USE_GPU_PIPELINE=true)")
    return await _transcribe(audio_path, providers=executor.provider_chain(force_cpu))


async def _transcribe(audio_path: str | Path, providers: list[str]) -> dict:
    executor = _get_gpu_executor()
    audio = await asyncio.to_thread(decode_audio, audio_path)  # off the executor thread
    log.info("Starting transcription for: %s", audio_path)
    transcript = await executor.transcribe(audio, providers=providers)
    speed = realtime_factor(transcript)
    if speed is not None:
        log.info("Transcription successful. Speed: %.1fx real-time, Provider: %s", speed, transcript.provider)
    return transcript.model_dump(mode="json")


async def shutdown_gpu_executor() -> None:
    """Free the shared executor and its models (call on application shutdown)."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        await executor.shutdown()
