"""The one executor that owns the models, and the provider chain walked for each job.

Exactly one thread (``gpu_transcription``) drives model code, as in the seed: a GPU shared by
several threads contends for memory and ends in OOM. Models load once and stay loaded:
on that thread (``isolation=thread``) or in a worker process it owns (``isolation=process``,
``worker.py``), which survives native crashes and hangs. Callers hand it already-decoded
audio, and the OpenAI provider is awaited on the event loop, so the thread never waits on I/O.

Each job walks the chain (e.g. cuda -> cpu -> openai). A failure is classified, logged in
the seed's wording and counted, and the next provider takes over; a provider that keeps
failing is skipped for a cool-down (circuit breaker) so later jobs do not pay for it.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from ..metrics import registry as metrics
from ..schemas import ErrorCode, PerformanceMetrics, StageTiming, Transcript
from ..settings import Settings
from .audio import DecodedAudio
from .batcher import JobBatcher
from .batching import MAX_CLIP_SECONDS
from .breaker import CircuitBreaker
from .diarization import SpeakerHints
from .errors import JobError
from .fallback import PROVIDERS, ProviderLoadError, describe_fallback, fallback_reason, parse_providers, provider_chain
from .local_models import LocalModels, Progress
from .openai_provider import ApiError, OpenAIConfig, OpenAITranscriber
from .worker import WorkerProcess

log = logging.getLogger(__name__)

LOCAL_PROVIDERS = ("cuda", "cpu")


class TranscriptionExecutor:
    """Runs jobs one at a time on the executor thread, walking the provider chain on failure.

    ``device`` pins this executor to one device of ``Settings.devices`` (``cuda:N`` or
    ``cpu``); unset, it uses whatever the provider chain asks for.
    """

    def __init__(self, settings: Settings | None = None, device: str | None = None) -> None:
        self.settings = s = settings or Settings()
        self.device = device
        self._configured_chain = parse_providers(s.providers)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu_transcription")
        self._breakers = {name: CircuitBreaker(s.breaker_threshold, s.breaker_cooldown_s) for name in PROVIDERS}
        self._openai: OpenAITranscriber | None = None
        self.isolation = resolve_isolation(s.isolation, "cuda" in self.provider_chain())
        if self.isolation == "process":
            index = device.partition(":")[2] or "0" if device and device.startswith("cuda") else None
            self._models: LocalModels | WorkerProcess = WorkerProcess(
                s, cuda_visible_devices=index if device else None, device_label=index or "0"
            )
        elif device and device not in ("cpu", "cuda", "cuda:0"):
            raise ValueError(f"pinning {device} needs STREAMSCRIBE_ISOLATION=process (its worker sees only that GPU)")
        else:
            self._models = LocalModels(s)
        self._free: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._batcher = (
            JobBatcher(self._run_many, self._executor_free, s.batch_max_size, s.batch_max_wait_ms / 1000)
            if s.batch_max_size > 1
            else None
        )
        self.active = 0  # jobs in transcribe(), for least-busy assignment across devices
        self.completed = 0

    @property
    def worker(self) -> WorkerProcess | None:
        """The model worker process (process isolation only)."""
        return self._models if isinstance(self._models, WorkerProcess) else None

    @property
    def model_name(self) -> str:
        return self.settings.whisper_model

    def provider_chain(self, force_cpu: bool = False) -> list[str]:
        s = self.settings
        force_cpu = force_cpu or self.device == "cpu"
        return provider_chain(s.use_gpu_pipeline, force_cpu, self._configured_chain, s.openai_key() is not None)

    async def start(self) -> str:
        """Load the first provider of the chain that works; returns its name."""
        chain = self.provider_chain()
        for i, name in enumerate(chain):
            try:
                await self._prepare(name)
                return name
            except Exception as exc:
                self._breakers[name].record_failure(fatal=True)
                if i == len(chain) - 1:
                    raise
                self._log_fallback(name, chain[i + 1], exc)
        raise ValueError("the provider chain is empty: set STREAMSCRIBE_PROVIDERS")

    async def transcribe(
        self,
        audio: DecodedAudio,
        *,
        language: str | None = None,
        enable_diarization: bool = True,
        hints: SpeakerHints | None = None,
        providers: list[str] | None = None,
        on_progress: Progress | None = None,
    ) -> Transcript:
        """Transcribe with the first provider that succeeds.

        ``on_progress(stage, fraction)`` is called on the event loop as a local model advances.
        """
        self.active += 1
        try:
            transcript = await self._transcribe(audio, language, enable_diarization, hints, providers, on_progress)
        finally:
            self.active -= 1
        self.completed += 1
        return transcript

    async def _transcribe(self, audio, language, enable_diarization, hints, providers, on_progress) -> Transcript:
        options = {"language": language, "enable_diarization": enable_diarization, "hints": hints}
        if on_progress is not None:
            loop = asyncio.get_running_loop()
            options["on_progress"] = lambda stage, fraction: loop.call_soon_threadsafe(on_progress, stage, fraction)
        failed: tuple[str, Exception] | None = None
        for name in providers or self.provider_chain():
            breaker = self._breakers[name]
            if not breaker.allows():
                metrics.PROVIDER_SKIPS.labels(name).inc()
                log.debug("skipping %s: paused after repeated failures", name)
                continue
            if failed is not None:
                self._log_fallback(failed[0], name, failed[1])
            try:
                transcript = await self._run_with_oom_retry(name, audio, options)
            except JobError:
                raise  # about the input, not the provider: another provider would fail the same way
            except Exception as exc:
                if breaker.record_failure(fatal=isinstance(exc, ProviderLoadError)):
                    log.warning("pausing the %s provider for %.0fs after repeated failures", name, breaker.cooldown_s)
                failed = (name, exc)
                continue
            breaker.record_success()
            _observe(transcript)
            return transcript
        if failed is None:
            raise JobError(
                ErrorCode.TRANSCRIPTION_FAILED, "every provider is paused after repeated failures; retry later", retryable=True
            )
        name, exc = failed
        cause = exc.__cause__ if isinstance(exc, ProviderLoadError) and exc.__cause__ else exc
        raise JobError(
            ErrorCode.API_ERROR if isinstance(exc, ApiError) else ErrorCode.TRANSCRIPTION_FAILED,
            f"{name} transcription failed: {type(cause).__name__}: {cause}",
            retryable=getattr(exc, "retryable", True),
        ) from exc

    async def shutdown(self) -> None:
        """Wait for the running job, then free the models (and stop the worker)."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        await asyncio.to_thread(self._models.close)
        if self._openai is not None:
            await self._openai.close()
            self._openai = None

    # --- providers -------------------------------------------------------------------------
    async def _prepare(self, name: str) -> None:
        if name == "openai":
            self._openai_client()
        elif name != "null":
            info = await self._submit(self._models.load, name)
            model = self.settings.whisper_model
            metrics.MODEL_LOAD.labels(model, name).set(info.whisper_seconds)
            if info.diarizer_seconds:
                metrics.MODEL_LOAD.labels(f"diarization:{self.settings.diarization_pipeline}", name).set(info.diarizer_seconds)

    async def _run_with_oom_retry(self, name: str, audio: DecodedAudio, options: dict) -> Transcript:
        try:
            return await self._run(name, audio, options)
        except Exception as exc:
            if name != "cuda" or fallback_reason(exc) != "gpu_oom":
                raise
            log.warning("GPU out of memory; retrying once with the cache cleared and greedy decoding: %s", exc)
            metrics.GPU_OOM_RETRIES.inc()
            return await self._run(name, audio, {**options, "low_memory": True})

    async def _run(self, name: str, audio: DecodedAudio, options: dict) -> Transcript:
        if name == "null":
            return _null_transcript(audio)
        if self._batcher is not None and name in LOCAL_PROVIDERS and audio.duration <= MAX_CLIP_SECONDS:
            options = {k: v for k, v in options.items() if k != "on_progress"}  # a short clip: no progress
            return await self._batcher.transcribe(name, audio, options)
        if name != "openai":
            local = {k: v for k, v in options.items() if k != "on_progress"}
            return await self._submit(self._models.transcribe, name, audio, local, options.get("on_progress"))
        transcript = await self._openai_client().transcribe(audio, options["language"])
        if options["enable_diarization"] and self.settings.diarization_mode != "off":
            # Speakers from the local diarizer (CPU), aligned at segment level: the API gives no words.
            transcript = await self._submit(self._models.label, transcript, audio, options["hints"])
        return transcript

    def _openai_client(self) -> OpenAITranscriber:
        if self._openai is None:
            s = self.settings
            key = s.openai_key()
            if not key:
                raise ProviderLoadError(
                    "the openai provider needs an API key: set STREAMSCRIBE_OPENAI_API_KEY or STREAMSCRIBE_OPENAI_API_KEY_FILE"
                )
            self._openai = OpenAITranscriber(
                OpenAIConfig(
                    api_key=key,
                    base_url=s.openai_base_url,
                    model=s.openai_model,
                    timeout_s=s.openai_timeout_s,
                    max_retries=s.openai_max_retries,
                    max_upload_bytes=s.openai_max_upload_bytes,
                    cost_per_minute=s.openai_cost_per_minute,
                )
            )
        return self._openai

    def _executor_free(self) -> asyncio.Lock:
        """Held while the executor thread runs something. One per event loop: the seed API's
        shared executor outlives each ``asyncio.run``, and a lock is bound to its loop."""
        loop = asyncio.get_running_loop()
        if self._free is None or self._free[0] is not loop:
            self._free = (loop, asyncio.Lock())
        return self._free[1]

    async def _submit(self, fn, *args):
        async with self._executor_free():
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def _run_many(self, provider: str, jobs: list[tuple[DecodedAudio, dict]]) -> list[Transcript]:
        """A cross-job batch on the executor thread (the batcher already holds ``_executor_free``)."""
        metrics.BATCH_SIZE.observe(len(jobs))  # here, not in the worker: its registry is not exported
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._models.transcribe_many, provider, jobs)

    @staticmethod
    def _log_fallback(from_provider: str, to_provider: str, exc: BaseException) -> None:
        reason = fallback_reason(exc)
        # Unknown failures get their traceback, as in the seed; known ones a single line.
        log.warning(describe_fallback(from_provider, to_provider, exc), exc_info=reason == "error")
        log.info("Using %s transcription", to_provider.upper())
        metrics.FALLBACKS.labels(from_provider, to_provider, reason).inc()


def _null_transcript(audio: DecodedAudio) -> Transcript:
    """What the ``null`` provider returns: no words, only the audio's length and decode time."""
    return Transcript(
        duration=round(audio.duration, 3),
        provider="null",
        performance_metrics=PerformanceMetrics(
            total_duration=round(audio.decode_seconds, 4),
            stages={"audio_preprocessing": StageTiming(duration=round(audio.decode_seconds, 4))},
        ),
    )


def resolve_isolation(setting: str, gpu_configured: bool) -> str:
    """``auto`` isolates the models in a worker process when a GPU is in the chain."""
    if setting != "auto":
        return setting
    return "process" if gpu_configured else "thread"


def _observe(transcript: Transcript) -> None:
    """Record a finished transcription's speed and stage timings."""
    perf = transcript.performance_metrics
    provider = transcript.provider or "unknown"
    if transcript.duration:
        metrics.AUDIO_PROCESSED.labels(provider).inc(transcript.duration)
    if perf:
        for stage, timing in perf.stages.items():
            metrics.STAGE_DURATION.labels(stage).observe(timing.duration)
        if perf.total_duration > 0 and transcript.duration:
            metrics.REALTIME_FACTOR.labels(provider).observe(transcript.duration / perf.total_duration)


def realtime_factor(transcript: Transcript) -> float | None:
    """Audio seconds / wall seconds: 15.0 means '15x real-time' (higher is faster)."""
    perf = transcript.performance_metrics
    if not (perf and perf.total_duration > 0 and transcript.duration):
        return None
    return round(transcript.duration / perf.total_duration, 3)
