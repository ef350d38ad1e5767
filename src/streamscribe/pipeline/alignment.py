"""Alignment stage: give every transcribed word a speaker, then group words into segments.

Each word gets the speaker whose turns overlap it most (the nearest turn when none does), so
no word is left without a speaker. Turns are sorted once and each word is looked up by
bisection, so an hour of audio aligns in well under a second.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

from ..schemas import AlignedSegment, Segment, SpeakerTurn, Word


class SpeakerLookup:
    """Sorted turns with a running maximum of their ends: overlap queries in O(log n + k)."""

    def __init__(self, turns: list[SpeakerTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: (t.start, t.end))
        self.starts = [t.start for t in self.turns]
        self.max_end = list(accumulate((t.end for t in self.turns), max))

    def speaker_at(self, start: float, end: float) -> str:
        """The speaker overlapping [start, end] most, else the nearest one."""
        i = bisect_left(self.starts, end)  # turns[:i] start before the word ends
        best, best_overlap = None, 0.0
        j = i - 1
        while j >= 0 and self.max_end[j] > start:  # earlier turns cannot reach the word: stop
            turn = self.turns[j]
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > best_overlap:
                best, best_overlap = turn.speaker, overlap
            j -= 1
        if best is not None:
            return best
        return self._nearest(i, start, end)

    def _nearest(self, i: int, start: float, end: float) -> str:
        candidates = []
        if i > 0:  # the turn ending last among those that start before the word
            k = bisect_left(self.max_end, self.max_end[i - 1])
            candidates.append((start - self.turns[k].end, self.turns[k].speaker))
        if i < len(self.turns):
            candidates.append((self.turns[i].start - end, self.turns[i].speaker))
        return min(candidates)[1]


def align_words(segments: list[Segment], turns: list[SpeakerTurn]) -> list[AlignedSegment]:
    """Speaker-labelled segments: runs of consecutive words of one speaker within a Whisper segment."""
    if not turns:
        return []
    lookup = SpeakerLookup(turns)
    aligned: list[AlignedSegment] = []
    for segment in segments:
        words = segment.words or [Word(word=segment.text, start=segment.start, end=segment.end, probability=1.0)]
        run: list[Word] = []
        run_speaker = None
        for word in words:
            speaker = lookup.speaker_at(word.start, word.end)
            if run and speaker != run_speaker:
                aligned.append(_segment(run_speaker, run))
                run = []
            run.append(word)
            run_speaker = speaker
        if run:
            aligned.append(_segment(run_speaker, run))
    return aligned


def _segment(speaker: str, words: list[Word]) -> AlignedSegment:
    return AlignedSegment(
        speaker=speaker, start=words[0].start, end=words[-1].end, text=" ".join(w.word for w in words).strip()
    )
