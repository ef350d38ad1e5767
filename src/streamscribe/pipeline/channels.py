"""Channel diarization: stereo recordings with one speaker per channel (call centres).

No neural network: each 20 ms frame goes to the loudest channel that is active, a majority
vote smooths away short flips, short pauses inside one speaker's run are bridged, and the
runs become turns. SPEAKER_00 is the left channel, SPEAKER_01 the
right.
"""

from __future__ import annotations

import numpy as np

from ..schemas import ErrorCode, SpeakerTurn
from .audio import DecodedAudio
from .errors import JobError

FRAME_S = 0.02
ACTIVE_BELOW_PEAK_DB = 35.0  # a channel is active within this many dB of its own loudest frame
SILENCE_DBFS = -60.0  # and above this absolute floor
SMOOTH_S = 0.5  # majority vote over this window removes flips shorter than about half of it
BRIDGE_GAP_S = 0.5  # silences shorter than this inside one speaker's run are bridged


class ChannelDiarizer:
    load_seconds = 0.0

    def load(self) -> "ChannelDiarizer":
        return self

    def close(self) -> None:
        pass

    def __call__(self, audio: DecodedAudio, hints=None) -> list[SpeakerTurn]:
        if audio.channels is None or audio.channels.shape[0] < 2:
            raise JobError(
                ErrorCode.UNSUPPORTED_AUDIO,
                "channel diarization needs a stereo recording with one speaker per channel; this one is mono",
            )
        return channel_turns(audio.channels, audio.sample_rate)


def channel_turns(channels: np.ndarray, sample_rate: int) -> list[SpeakerTurn]:
    frame = int(FRAME_S * sample_rate)
    n = channels.shape[1] // frame
    if n == 0:
        return []
    frames = channels[:, : n * frame].reshape(channels.shape[0], n, frame)
    energy_db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=2) + 1e-12)  # (C, n)
    threshold = np.maximum(energy_db.max(axis=1, keepdims=True) - ACTIVE_BELOW_PEAK_DB, SILENCE_DBFS)
    active = energy_db > threshold
    loudest = np.where(active, energy_db, -np.inf).argmax(axis=0)
    labels = np.where(active.any(axis=0), loudest, -1)  # -1: nobody speaks

    labels = _majority(labels, int(SMOOTH_S / FRAME_S))
    runs = _bridge(_runs(labels), int(BRIDGE_GAP_S / FRAME_S))
    return [
        SpeakerTurn(speaker=f"SPEAKER_{label:02d}", start=round(a * FRAME_S, 3), end=round(b * FRAME_S, 3))
        for label, a, b in runs
        if label >= 0
    ]


def _runs(labels: np.ndarray) -> list[list[int]]:
    """[label, start_frame, end_frame) for each run of equal labels."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(labels)]])
    return [[int(labels[a]), int(a), int(b)] for a, b in zip(starts, ends)]


def _majority(labels: np.ndarray, width: int) -> np.ndarray:
    """Each frame takes the most frequent label around it: removes flips shorter than ~width/2."""
    classes = np.unique(labels)
    window = np.ones(width)
    counts = np.stack([np.convolve(labels == c, window, mode="same") for c in classes])
    return classes[counts.argmax(axis=0)]


def _bridge(runs: list[list[int]], max_gap: int) -> list[list[int]]:
    """Fill short silences between two runs of the same speaker."""
    for i in range(1, len(runs) - 1):
        if runs[i][0] < 0 and runs[i][2] - runs[i][1] < max_gap and runs[i - 1][0] == runs[i + 1][0]:
            runs[i][0] = runs[i - 1][0]
    return _join(runs)


def _join(runs: list[list[int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for run in runs:
        if out and out[-1][0] == run[0]:
            out[-1][2] = run[2]
        else:
            out.append(list(run))
    return out
