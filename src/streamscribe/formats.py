"""Output formats for a transcript: text, SRT and WebVTT subtitles, RTTM speaker turns.

Cues are the speaker-labelled segments when the job was diarized, else Whisper's segments.
"""

from __future__ import annotations

from .pipeline.diarization import to_rttm
from .schemas import Transcript

FORMATS = ("json", "text", "srt", "vtt", "rttm")


def _cues(transcript: Transcript) -> list[tuple[float, float, str | None, str]]:
    if transcript.aligned_segments:
        return [(s.start, s.end, s.speaker, s.text) for s in transcript.aligned_segments]
    return [(s.start, s.end, None, s.text) for s in transcript.segments]


def _timestamp(seconds: float, decimal: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def to_text(transcript: Transcript) -> str:
    lines = []
    for start, end, speaker, text in _cues(transcript):
        clock = f"[{_timestamp(start, '.')[:-2]} - {_timestamp(end, '.')[:-2]}]"  # tenths of a second
        lines.append(f"{clock} {speaker}: {text}" if speaker else f"{clock} {text}")
    return "\n".join(lines)


def to_srt(transcript: Transcript) -> str:
    blocks = []
    for i, (start, end, speaker, text) in enumerate(_cues(transcript), 1):
        line = f"{speaker}: {text}" if speaker else text
        blocks.append(f"{i}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{line}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for start, end, speaker, text in _cues(transcript):
        line = f"<v {speaker}>{text}" if speaker else text
        blocks.append(f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{line}\n")
    return "\n".join(blocks)


def render(transcript: Transcript, fmt: str, uri: str = "audio") -> str:
    """The transcript in one of ``FORMATS``."""
    if fmt == "json":
        return transcript.model_dump_json(indent=2)
    if fmt == "text":
        return to_text(transcript)
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    if fmt == "rttm":
        return to_rttm(transcript.speaker_turns, uri).rstrip("\n")
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
