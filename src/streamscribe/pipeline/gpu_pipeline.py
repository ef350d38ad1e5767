"""``GPUTranscriptionPipeline``: the seed's pipeline class, with its models kept loaded.

The seed built this per request and freed the GPU after each stage. Here the executor
builds it once at start-up and reuses it for every job; the context manager still frees
everything on exit, for scripts that use it the seed's way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from ..schemas import PerformanceMetrics, StageTiming, Transcript
from . import devices
from .alignment import align_words
from .audio import DecodedAudio, decode_audio
from .batching import batch_key, transcribe_batch
from .channels import ChannelDiarizer
from .diarization import DiarizationConfig, NeuralDiarizer, SpeakerHints
from .models import choose_device, load_whisper_model
from .transcription import TranscriptionOptions, transcribe

log = logging.getLogger(__name__)


class GPUTranscriptionPipeline:
    """Whisper transcription, speaker diarization and word/speaker alignment on one device.

    ``device="auto"`` picks CUDA when a GPU is usable, else the CPU; the name is the seed's,
    the class runs on either.
    """

    def __init__(
        self,
        whisper_model: str = "tiny.en",
        *,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        beam_size: int = 5,
        vad_filter: bool = True,
        cache_dir: Path | None = None,
        diarization: DiarizationConfig | None = None,
    ) -> None:
        if device == "auto":
            device = "cuda" if devices.cuda_device_count() > 0 else "cpu"
        if device not in ("cuda", "cpu"):
            raise ValueError(f"device must be 'auto', 'cuda' or 'cpu', not {device!r}")
        self.whisper_model_name = whisper_model
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.cache_dir = cache_dir or Path.home() / ".cache" / "streamscribe"
        self.diarization = diarization or DiarizationConfig(cache_dir=self.cache_dir)
        self.load_seconds: float | None = None
        self._whisper = None
        self._diarizer: NeuralDiarizer | ChannelDiarizer | None = None

    @property
    def provider(self) -> str:
        """Who does the work, as reported in results and metrics: ``cuda`` or ``cpu``."""
        return self.device

    @property
    def loaded(self) -> bool:
        return self._whisper is not None

    @property
    def diarizer_load_seconds(self) -> float | None:
        return self._diarizer.load_seconds if self._diarizer is not None else None

    def load(self) -> "GPUTranscriptionPipeline":
        """Load the models (once). Raises when the device or a model is unusable."""
        if self._whisper is None:
            choice = choose_device(self.device, self.compute_type)
            self.compute_type = choice.compute_type
            self._whisper, self.load_seconds = load_whisper_model(
                self.whisper_model_name, choice, cache_dir=self.cache_dir, cpu_threads=self.cpu_threads
            )
            self._log_memory("After Whisper Load")
        if self._diarizer is None and self.diarization.mode != "off":
            self._diarizer = make_diarizer(self.diarization, self.device)
            self._log_memory("After Diarization Load")
        return self

    def cleanup_models(self) -> None:
        """Drop the models and give their memory back (the seed's cleanup)."""
        self._whisper = None
        if self._diarizer is not None:
            self._diarizer.close()
            self._diarizer = None
        devices.release_gpu_memory()
        self._log_memory("After Cleanup")

    def __enter__(self) -> "GPUTranscriptionPipeline":
        return self.load()

    def __exit__(self, *exc: object) -> None:
        self.cleanup_models()

    def process(self, audio_path: str | Path | DecodedAudio, enable_diarization: bool = True, **kwargs) -> dict:
        """The seed's entry point: a path in, the seed's result dict out."""
        return self.transcribe(audio_path, enable_diarization=enable_diarization, **kwargs).model_dump(mode="json")

    def transcribe(
        self,
        audio: str | Path | DecodedAudio,
        *,
        enable_diarization: bool = True,
        language: str | None = None,
        hints: SpeakerHints | None = None,
        low_memory: bool = False,
        on_progress: Callable[[str, float], None] | None = None,
    ) -> Transcript:
        """Run every stage on one recording and time each.

        ``low_memory``: the retry after a GPU out-of-memory error: cached blocks are released
        first and the beam search narrowed to greedy decoding. ``on_progress(stage, fraction)``
        follows long recordings: after each transcribed segment, and around diarization.
        """
        self.load()
        if low_memory:
            devices.release_gpu_memory()
        if not isinstance(audio, DecodedAudio):
            audio = decode_audio(audio, keep_channels=self.diarization.mode == "channel")
        started = time.perf_counter()  # after decoding: its time is added once, from decode_seconds
        self._log_memory("Before Transcription")
        t0 = time.perf_counter()
        beam_size = 1 if low_memory else self.beam_size
        options = TranscriptionOptions(language=language, beam_size=beam_size, vad_filter=self.vad_filter)
        progress = (lambda fraction: on_progress("transcription", fraction)) if on_progress else None
        output = transcribe(self._whisper, audio, options, progress)
        transcription_s = time.perf_counter() - t0
        self._log_memory("After Transcription")
        devices.release_host_memory()
        transcript = self._transcript(
            audio, output.segments, output.language, transcription_s, audio.decode_seconds + time.perf_counter() - started
        )
        if enable_diarization and self._diarizer is not None:
            if on_progress:
                on_progress("diarization", 0.0)
            transcript = label_speakers(transcript, audio, self._diarizer, hints)
            self._log_memory("After Diarization")
            devices.release_host_memory()
        return transcript

    def transcribe_many(self, jobs: list[tuple[DecodedAudio, dict]]) -> list[Transcript]:
        """Several short jobs, transcribed together where they can share a batch (``batching.py``).

        Each ``(audio, options)`` gets its own transcript, diarized on its own; its
        transcription stage is its share of the batch's wall time, by audio seconds. Jobs
        that cannot be batched (see ``batch_key``) run one by one as usual.
        """
        self.load()
        groups: dict[str, list[int]] = {}
        transcripts: list[Transcript | None] = [None] * len(jobs)
        for i, (audio, options) in enumerate(jobs):
            key = batch_key(self._whisper, options.get("language"), audio.duration)
            if key is None:
                transcripts[i] = self.transcribe(audio, **options)
            else:
                groups.setdefault(key, []).append(i)
        for language, members in groups.items():
            if len(members) == 1:  # nothing to share: the usual path (with VAD and temperature fallback)
                transcripts[members[0]] = self.transcribe(jobs[members[0]][0], **jobs[members[0]][1])
                continue
            batch = transcribe_batch(
                self._whisper, [jobs[i][0].samples for i in members], language=language, beam_size=self.beam_size,
                batch_size=len(members),
            )
            for n, i in enumerate(members):
                audio, options = jobs[i]
                seconds = batch.stage_seconds(n)
                transcript = self._transcript(audio, batch.segments[n], batch.language, seconds, audio.decode_seconds + seconds)
                if options.get("enable_diarization", True) and self._diarizer is not None:
                    transcript = label_speakers(transcript, audio, self._diarizer, options.get("hints"))
                transcripts[i] = transcript
        return transcripts

    def _transcript(self, audio: DecodedAudio, segments, language: str, transcription_s: float, total_s: float) -> Transcript:
        """A transcript before diarization, with its decode and transcription times."""
        return Transcript(
            full_text=" ".join(seg.text for seg in segments).strip(),
            segments=segments,
            language=language,
            duration=round(audio.duration, 3),
            provider=self.provider,
            performance_metrics=PerformanceMetrics(
                total_duration=round(total_s, 4),
                stages={
                    "audio_preprocessing": StageTiming(duration=round(audio.decode_seconds, 4)),
                    "transcription": StageTiming(duration=round(transcription_s, 4)),
                },
            ),
        )

    @property
    def diarizer(self) -> NeuralDiarizer | ChannelDiarizer | None:
        return self._diarizer

    def _log_memory(self, label: str) -> None:
        if self.device == "cuda":
            devices.log_gpu_memory(label)


def make_diarizer(config: DiarizationConfig, device: str) -> NeuralDiarizer | ChannelDiarizer:
    """The loaded diarizer for ``config.mode`` (which must not be ``off``)."""
    if config.mode == "channel":
        return ChannelDiarizer()
    return NeuralDiarizer(config, device).load()


def label_speakers(
    transcript: Transcript, audio: DecodedAudio, diarizer: NeuralDiarizer | ChannelDiarizer, hints: SpeakerHints | None
) -> Transcript:
    """Add speaker turns and speaker-aligned segments to a transcript, timing both stages."""
    t0 = time.perf_counter()
    turns = diarizer(audio, hints or SpeakerHints())
    t1 = time.perf_counter()
    aligned = align_words(transcript.segments, turns)
    t2 = time.perf_counter()
    perf = transcript.performance_metrics or PerformanceMetrics(total_duration=0.0)
    stages = {
        **perf.stages,
        "diarization": StageTiming(duration=round(t1 - t0, 4)),
        "alignment": StageTiming(duration=round(t2 - t1, 4)),
    }
    metrics = PerformanceMetrics(total_duration=round(perf.total_duration + (t2 - t0), 4), stages=stages)
    return transcript.model_copy(update={"speaker_turns": turns, "aligned_segments": aligned, "performance_metrics": metrics})
