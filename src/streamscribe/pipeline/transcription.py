"""Transcription stage: faster-whisper on decoded samples, with word timestamps.

Long recordings are transcribed in windows of at most ``WINDOW_SECONDS``, cut at the
quietest moment near each boundary. faster-whisper computes the log-mel features of the
whole input at once (its numpy STFT holds several float64 copies of it: about 0.6 MB per
audio second), so an hour in one call would cost ~2 GB at the peak; a 5-minute window caps
that at ~180 MB whatever the length. Each window gets the previous window's last words as
its prompt and the first window's language, so the text reads on across the cuts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..schemas import Segment, Word
from .audio import DecodedAudio

WINDOW_SECONDS = 300.0
_CUT_SEARCH_SECONDS = 20.0  # look for the quietest moment in the last 20 s before a window's end
_FRAME_SECONDS = 0.25
_PROMPT_CHARS = 200


@dataclass(frozen=True)
class TranscriptionOptions:
    language: str | None = None
    beam_size: int = 5
    vad_filter: bool = True


@dataclass(frozen=True)
class TranscriptionOutput:
    segments: list[Segment]
    language: str


def transcribe(
    model, audio: DecodedAudio, options: TranscriptionOptions, on_progress: Callable[[float], None] | None = None
) -> TranscriptionOutput:
    """Run Whisper over the whole recording; word timestamps feed speaker alignment.

    ``on_progress`` gets the fraction of the audio transcribed so far, after each segment.
    """
    rate, total = audio.sample_rate, len(audio.samples)
    segments: list[Segment] = []
    language, prompt = options.language, None
    for start, end in window_bounds(audio.samples, rate, int(WINDOW_SECONDS * rate)):
        offset = start / rate
        pieces, info = model.transcribe(
            audio.samples[start:end],  # a view: no copy of the recording
            language=language,
            beam_size=options.beam_size,
            vad_filter=options.vad_filter,
            word_timestamps=True,
            initial_prompt=prompt,
        )
        for seg in pieces:  # a generator: decoding happens while iterating
            segments.append(segment_from_whisper(len(segments), seg, offset=offset))
            if on_progress is not None and total > 0:
                on_progress(min((start + float(seg.end) * rate) / total, 1.0))
        language = language or info.language
        prompt = " ".join(s.text for s in segments[-5:])[-_PROMPT_CHARS:] or None
    return TranscriptionOutput(segments=segments, language=language or "en")


def window_bounds(samples: np.ndarray, rate: int, window: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` sample ranges covering the recording, each at most ``window`` long,
    cut at the quietest frame of the last ``_CUT_SEARCH_SECONDS`` before each limit."""
    bounds, start, total = [], 0, len(samples)
    frame = int(_FRAME_SECONDS * rate)
    while total - start > window:
        search_from = start + window - int(_CUT_SEARCH_SECONDS * rate)
        region = samples[search_from : start + window]
        frames = region[: len(region) // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin(np.square(frames, dtype=np.float32).mean(axis=1)))
        cut = search_from + quietest * frame + frame // 2
        bounds.append((start, cut))
        start = cut
    bounds.append((start, total))
    return bounds


def segment_from_whisper(index: int, seg, *, offset: float = 0.0, duration: float | None = None) -> Segment:
    """A faster-whisper segment (and its words) as ours; times moved by ``offset`` (seconds)
    and, when ``duration`` is given, clamped to ``[0, duration]``."""

    def clock(t: float) -> float:
        t += offset
        if duration is not None:
            t = min(max(t, 0.0), duration)
        return round(t, 3)

    return Segment(
        id=index,
        start=clock(seg.start),
        end=clock(seg.end),
        text=seg.text.strip(),
        words=[
            Word(word=w.word.strip(), start=clock(w.start), end=clock(w.end), probability=round(w.probability, 4))
            for w in (seg.words or [])
        ],
    )
