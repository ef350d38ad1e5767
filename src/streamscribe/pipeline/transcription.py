"""Transcription stage: faster-whisper on decoded samples, with word timestamps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..schemas import Segment, Word
from .audio import DecodedAudio


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
    segments, info = model.transcribe(
        audio.samples,
        language=options.language,
        beam_size=options.beam_size,
        vad_filter=options.vad_filter,
        word_timestamps=True,
    )
    out = []
    for i, seg in enumerate(segments):  # a generator: decoding happens while iterating
        out.append(
            Segment(
                id=i,
                start=round(seg.start, 3),
                end=round(seg.end, 3),
                text=seg.text.strip(),
                words=[
                    Word(word=w.word.strip(), start=round(w.start, 3), end=round(w.end, 3), probability=round(w.probability, 4))
                    for w in (seg.words or [])
                ],
            )
        )
        if on_progress is not None and audio.duration > 0:
            on_progress(min(float(seg.end) / audio.duration, 1.0))
    return TranscriptionOutput(segments=out, language=info.language)
