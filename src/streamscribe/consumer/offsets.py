"""Which offsets are safe to commit.

Jobs of one partition may finish out of order (a short clip behind a long one); an offset is
committed only when every earlier offset of its partition is finished, so a crash can never
skip an unfinished job. Commits are batched: one per loop turn, not one per message.
"""

from __future__ import annotations

from collections import deque

from aiokafka import TopicPartition


class _Partition:
    __slots__ = ("pending", "done", "ready", "committed", "epoch")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch  # which assignment of the partition this bookkeeping belongs to
        self.pending: deque[int] = deque()  # admitted offsets, ascending
        self.done: set[int] = set()
        self.ready: int | None = None  # next offset to commit: all below it are finished
        self.committed: int | None = None


class OffsetTracker:
    """Per-partition bookkeeping of admitted and finished offsets."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._epochs = 0

    def add(self, tp: TopicPartition, offset: int) -> int:
        """Admit an offset; returns the epoch to hand back to ``done``."""
        part = self._partitions.get(tp)
        if part is None:
            self._epochs += 1
            part = self._partitions[tp] = _Partition(self._epochs)
        part.pending.append(offset)
        return part.epoch

    def owns(self, tp: TopicPartition, epoch: int) -> bool:
        """False once the partition was revoked after the offset was admitted."""
        part = self._partitions.get(tp)
        return part is not None and part.epoch == epoch

    def done(self, tp: TopicPartition, offset: int, epoch: int) -> None:
        """Mark a job finished (its outcome acknowledged by the broker)."""
        if not self.owns(tp, epoch):  # revoked while the job ran: not ours to commit any more
            return
        part = self._partitions[tp]
        part.done.add(offset)
        while part.pending and part.pending[0] in part.done:
            first = part.pending.popleft()
            part.done.discard(first)
            part.ready = first + 1

    def committable(self, partitions: set[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """Offsets that advanced since the last commit."""
        return {
            tp: part.ready
            for tp, part in self._partitions.items()
            if part.ready is not None
            and (part.committed is None or part.ready > part.committed)
            and (partitions is None or tp in partitions)
        }

    def mark_committed(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            if tp in self._partitions:
                self._partitions[tp].committed = offset

    def committed(self, tp: TopicPartition) -> int | None:
        part = self._partitions.get(tp)
        return part.committed if part else None

    def in_flight(self, tp: TopicPartition | None = None) -> int:
        parts = [self._partitions.get(tp)] if tp else list(self._partitions.values())
        return sum(len(p.pending) for p in parts if p)

    def drop(self, partitions: set[TopicPartition]) -> None:
        """Forget revoked partitions: their unfinished jobs must not be committed by us."""
        for tp in partitions:
            self._partitions.pop(tp, None)
