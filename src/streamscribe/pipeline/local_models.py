"""The models a process holds for the local providers (``cuda``, ``cpu``), loaded once each.

Used on the executor's thread in thread isolation, and inside the worker process in process
isolation (``worker.py``): the same code either way, so both modes behave alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..schemas import Transcript
from ..settings import Settings
from . import devices
from .audio import DecodedAudio
from .diarization import DiarizationConfig, SpeakerHints
from .fallback import ProviderLoadError
from .gpu_pipeline import GPUTranscriptionPipeline, label_speakers, make_diarizer

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]  # (stage, fraction of that stage done)


@dataclass(frozen=True)
class LoadInfo:
    """What loading a provider took, for the model-load gauge (set by the executor)."""

    whisper_seconds: float
    diarizer_seconds: float | None


class LocalModels:
    def __init__(self, settings: Settings) -> None:
        devices.bound_host_memory()  # long recordings must not leave their peak behind
        self.settings = settings
        self._pipelines: dict[str, GPUTranscriptionPipeline] = {}
        self._api_diarizer = None  # diarizes API transcripts when no local CPU pipeline holds one

    def load(self, provider: str) -> LoadInfo:
        pipeline = self._pipeline(provider)
        return LoadInfo(pipeline.load_seconds or 0.0, pipeline.diarizer_load_seconds)

    def transcribe(self, provider: str, audio: DecodedAudio, options: dict, on_progress: Progress | None = None) -> Transcript:
        return self._pipeline(provider).transcribe(audio, on_progress=on_progress, **options)

    def transcribe_many(self, provider: str, jobs: list[tuple[DecodedAudio, dict]]) -> list[Transcript]:
        return self._pipeline(provider).transcribe_many(jobs)

    def label(self, transcript: Transcript, audio: DecodedAudio, hints: SpeakerHints | None) -> Transcript:
        """Speakers for a transcript made elsewhere (the API), from the local CPU diarizer."""
        diarizer = self._pipelines["cpu"].diarizer if "cpu" in self._pipelines else None
        if diarizer is None:
            if self._api_diarizer is None:
                self._api_diarizer = make_diarizer(diarization_config(self.settings), "cpu")
            diarizer = self._api_diarizer
        return label_speakers(transcript, audio, diarizer, hints)

    def close(self) -> None:
        for pipeline in self._pipelines.values():
            pipeline.cleanup_models()
        self._pipelines.clear()

    def _pipeline(self, provider: str) -> GPUTranscriptionPipeline:
        if provider in self._pipelines:
            return self._pipelines[provider]
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
            pipeline.cleanup_models()
            raise ProviderLoadError(f"the {provider} provider could not load its models: {exc}") from exc
        self._pipelines[provider] = pipeline
        return pipeline


def diarization_config(settings: Settings) -> DiarizationConfig:
    return DiarizationConfig(
        mode=settings.diarization_mode,
        pipeline=settings.diarization_pipeline,
        token=settings.huggingface_token(),
        segmentation_step=settings.diarization_segmentation_step,
        embedding_backend=settings.diarization_embedding_backend,
        cache_dir=settings.model_cache_dir,
    )
