"""The one executor that owns the models.

Exactly one thread (``gpu_transcription``) runs model code, as in the seed: a GPU shared by
several threads contends for memory and ends in OOM. Models load once on that thread and
stay loaded. Callers hand it already-decoded audio so it never waits on I/O.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from ..metrics import registry as metrics
from ..schemas import ErrorCode, Transcript
from ..settings import Settings
from .audio import DecodedAudio
from .diarization import DiarizationConfig, SpeakerHints
from .errors import JobError
from .fallback import describe_fallback, fallback_reason, provider_chain
from .gpu_pipeline import GPUTranscriptionPipeline

log = logging.getLogger(__name__)


class TranscriptionExecutor:
    """Runs jobs one at a time on the executor thread, walking the provider chain on failure."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu_transcription")
        self._pipelines: dict[str, GPUTranscriptionPipeline] = {}
        # A provider that failed to load is not retried per job: its error is replayed.
        self._load_errors: dict[str, BaseException] = {}

    @property
    def model_name(self) -> str:
        return self.settings.whisper_model

    def provider_chain(self, force_cpu: bool = False) -> list[str]:
        return provider_chain(self.settings.use_gpu_pipeline, force_cpu)

    async def start(self) -> str:
        """Load the first provider of the chain that works; returns its name."""
        return await self._submit(self._load_first)

    async def transcribe(
        self,
        audio: DecodedAudio,
        *,
        language: str | None = None,
        enable_diarization: bool = True,
        hints: SpeakerHints | None = None,
        providers: list[str] | None = None,
    ) -> Transcript:
        providers = providers or self.provider_chain()
        options = {"language": language, "enable_diarization": enable_diarization, "hints": hints}
        transcript = await self._submit(self._run_chain, audio, options, providers)
        _observe(transcript)
        return transcript

    async def shutdown(self) -> None:
        """Wait for the running job, then free the models."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        for pipeline in self._pipelines.values():
            pipeline.cleanup_models()
        self._pipelines.clear()

    async def _submit(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # --- on the executor thread -----------------------------------------------------------
    def _pipeline(self, provider: str) -> GPUTranscriptionPipeline:
        if provider in self._pipelines:
            return self._pipelines[provider]
        if provider in self._load_errors:
            raise self._load_errors[provider]
        s = self.settings
        pipeline = GPUTranscriptionPipeline(
            s.whisper_model,
            device=provider,
            compute_type=s.compute_type,
            cpu_threads=s.cpu_threads,
            beam_size=s.beam_size,
            vad_filter=s.vad_filter,
            cache_dir=s.model_cache_dir,
            diarization=diarization_config(s),
        )
        try:
            pipeline.load()
        except Exception as exc:
            self._load_errors[provider] = exc
            raise
        metrics.MODEL_LOAD.labels(s.whisper_model, provider).set(pipeline.load_seconds or 0.0)
        if pipeline.diarizer_load_seconds:
            metrics.MODEL_LOAD.labels(f"diarization:{s.diarization_pipeline}", provider).set(pipeline.diarizer_load_seconds)
        self._pipelines[provider] = pipeline
        return pipeline

    def _load_first(self) -> str:
        chain = self.provider_chain()
        for i, provider in enumerate(chain):
            try:
                self._pipeline(provider)
                return provider
            except Exception as exc:
                if i == len(chain) - 1:
                    raise
                self._log_fallback(provider, chain[i + 1], exc)
        raise AssertionError("empty provider chain")

    def _run_chain(self, audio: DecodedAudio, options: dict, providers: list[str]) -> Transcript:
        for i, provider in enumerate(providers):
            try:
                return self._pipeline(provider).transcribe(audio, **options)
            except JobError:
                raise  # about the input, not the provider: another provider would fail the same way
            except Exception as exc:
                if i == len(providers) - 1:
                    raise JobError(
                        ErrorCode.TRANSCRIPTION_FAILED,
                        f"{provider} transcription failed: {type(exc).__name__}: {exc}",
                        retryable=True,
                    ) from exc
                self._log_fallback(provider, providers[i + 1], exc)
        raise AssertionError("empty provider chain")

    @staticmethod
    def _log_fallback(from_provider: str, to_provider: str, exc: BaseException) -> None:
        reason = fallback_reason(exc)
        # Unknown failures get their traceback, as in the seed; known ones a single line.
        log.warning(describe_fallback(from_provider, to_provider, exc), exc_info=reason == "error")
        log.info("Using %s transcription", to_provider.upper())
        metrics.FALLBACKS.labels(from_provider, to_provider, reason).inc()


def diarization_config(settings: Settings) -> DiarizationConfig:
    return DiarizationConfig(
        mode=settings.diarization_mode,
        pipeline=settings.diarization_pipeline,
        token=settings.huggingface_token(),
        segmentation_step=settings.diarization_segmentation_step,
        embedding_backend=settings.diarization_embedding_backend,
        cache_dir=settings.model_cache_dir,
    )


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
