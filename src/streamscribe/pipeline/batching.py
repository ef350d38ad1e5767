"""Cross-job batching: several short clips (different jobs) in one batched Whisper call.

One short job leaves most of a batched decoder idle; N short jobs decoded together share
the encoder and decoder passes. faster-whisper 1.2.1's ``BatchedInferencePipeline`` batches
the chunks of *one* array, so the clips are laid end to end in one array and each clip is
handed over as exactly one chunk through ``clip_timestamps``:

* ``clip_timestamps`` are ``{"start", "end"}`` in **seconds** (the pipeline turns them into
  samples with ``int(v * 16000)``); given, they are the chunks as they are: no VAD, no
  merging, no splitting (a chunk over 30 s would be cut to its first 30 s, hence
  ``MAX_CLIP_SECONDS``). Features are computed per chunk, so neighbours never share audio.
* Every clip starts on a **whole second** of the array (zero padding in between, never
  decoded). The pipeline stamps each output segment with ``seek = int(offset * 100)`` and
  times its words from ``seek / 100``: with whole-second offsets both are exact, so a
  segment is assigned to its clip by ``seek`` (not by guessing from times) and times shift
  back to the clip without a 10 ms truncation error.
* Times are then clamped to ``[0, clip duration]``: the pipeline aligns words over
  ``ceil(duration)`` seconds, so the last word of a clip can otherwise end up to 1 s past
  its end (in the zero padding).

Rules for the caller (the executor):

* Group jobs by ``batch_key(...)``; ``None`` means "run it alone". An English-only model
  transcribes everything as ``en``, so every job qualifies. With a multilingual model only
  jobs with the same *explicit* language are batched: the pipeline detects one language for
  the whole batch (from the first clip), which would be wrong for the others.
* Timings: a job's ``transcription`` stage = batch wall time x its share of the batch's
  audio seconds (``BatchResult.stage_seconds``), so the stage times of a batch add up to its
  wall time and a job's realtime factor is the batch's.

Differences from ``transcription.transcribe`` (the sequential path), by the pipeline's design:
no Silero VAD inside a clip (the whole clip is decoded), no temperature fallback, no
conditioning on previous text (irrelevant for one ≤30 s window). Segments the sequential
path would drop as silence (``no_speech_prob`` > 0.6 and ``avg_logprob`` < -1, Whisper's
rule) are dropped here too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..schemas import Segment
from .audio import SAMPLE_RATE
from .transcription import segment_from_whisper

MAX_CLIP_SECONDS = 30.0  # one Whisper window: a clip is decoded as exactly one chunk
_MIN_GAP_SECONDS = 0.5  # zeros between clips; never decoded, only keeps chunk boundaries apart
# Whisper's silence rule, as the sequential path applies it (the batched pipeline does not).
_NO_SPEECH_THRESHOLD = 0.6
_LOG_PROB_THRESHOLD = -1.0


@dataclass(frozen=True)
class BatchResult:
    """Per clip, in input order: segments with clip-relative times (ids from 0)."""

    segments: list[list[Segment]]
    language: str
    wall_seconds: float
    audio_seconds: list[float]

    def stage_seconds(self, i: int) -> float:
        """Clip ``i``'s share of the batch wall time, by its share of the audio seconds."""
        total = sum(self.audio_seconds)
        return self.wall_seconds * self.audio_seconds[i] / total if total > 0 else 0.0


def batch_key(model, language: str | None, duration: float) -> str | None:
    """The language a job is batched under, or ``None`` when it must run alone.

    Jobs with the same key may share a batch: longer than one window (30 s), or no explicit
    language on a multilingual model (its detection would be the first clip's for all), run alone.
    """
    if not 0 < duration <= MAX_CLIP_SECONDS:
        return None
    if not model.model.is_multilingual:
        return "en"  # faster-whisper uses "en" whatever was asked, as on the sequential path
    return language.lower() if language else None


def transcribe_batch(
    model,
    audios: Sequence[np.ndarray],
    *,
    language: str | None,
    beam_size: int = 5,
    batch_size: int = 16,
    word_timestamps: bool = True,
    without_timestamps: bool = False,
) -> BatchResult:
    """Transcribe short clips (16 kHz mono float32, each ≤ 30 s) in one batched call.

    ``model`` is a loaded ``faster_whisper.WhisperModel``; ``language`` should be the
    group's ``batch_key``. ``batch_size`` clips go through the model per forward pass.
    ``without_timestamps=False`` (default) lets Whisper split a clip into several segments,
    as the sequential path does; ``True`` gives one segment per clip (a little faster).
    Raises ``ValueError`` for an empty or over-long clip: check ``batch_key`` first.
    """
    from faster_whisper import BatchedInferencePipeline

    if not audios:
        return BatchResult(segments=[], language=language or "en", wall_seconds=0.0, audio_seconds=[])
    durations = [len(a) / SAMPLE_RATE for a in audios]
    for i, d in enumerate(durations):
        if not 0 < d <= MAX_CLIP_SECONDS:
            raise ValueError(f"clip {i} lasts {d:.2f} s; batching needs 0 < duration <= {MAX_CLIP_SECONDS:.0f} s")

    offsets: list[int] = []  # whole seconds, see the module docstring
    position = 0
    for d in durations:
        offsets.append(position)
        position = math.ceil(position + d + _MIN_GAP_SECONDS)
    joined = np.zeros(position * SAMPLE_RATE, dtype=np.float32)
    clips = []
    for a, offset, d in zip(audios, offsets, durations):
        start = offset * SAMPLE_RATE
        joined[start : start + len(a)] = a
        # +0.5 sample: int(end * 16000) lands on the clip's last sample despite float rounding
        clips.append({"start": float(offset), "end": (start + len(a) + 0.5) / SAMPLE_RATE})

    started = time.perf_counter()
    segments, info = BatchedInferencePipeline(model).transcribe(
        joined,
        language=language,
        beam_size=beam_size,
        batch_size=batch_size,
        vad_filter=False,
        clip_timestamps=clips,
        word_timestamps=word_timestamps,
        without_timestamps=without_timestamps,
    )
    by_seek = {offset * 100: i for i, offset in enumerate(offsets)}  # seek = int(offset * frames/s)
    per_clip: list[list] = [[] for _ in audios]
    for seg in segments:  # a generator: decoding happens while iterating
        if seg.no_speech_prob > _NO_SPEECH_THRESHOLD and seg.avg_logprob < _LOG_PROB_THRESHOLD:
            continue
        per_clip[by_seek[seg.seek]].append(seg)
    wall = time.perf_counter() - started

    return BatchResult(
        segments=[  # clip-relative times, clamped to the clip, numbered from 0 per clip
            [segment_from_whisper(n, seg, offset=-offsets[i], duration=durations[i]) for n, seg in enumerate(segs)]
            for i, segs in enumerate(per_clip)
        ],
        language=info.language,
        wall_seconds=wall,
        audio_seconds=durations,
    )
