"""Duplicate suppression: effectively-once results per job_id inside a bounded window.

Kafka delivers at least once: a consumer that crashes after publishing a result but before
committing its offset gets the event again, and so does the next owner of a partition after
a rebalance. To avoid transcribing it twice, every consumer follows the results topic (all
partitions, no group) and remembers the job_ids of the most recent results it has seen,
whoever published them. An event whose job_id is remembered is committed without being
processed again.

The window is bounded (``dedup_window`` job_ids; at start-up the last ``dedup_window``
results per partition are read back), so memory stays bounded; a job_id older than the
window is processed again. To re-run a job on purpose, send it with a new job_id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


class RecentResults:
    """The job_ids of the last ``capacity`` final results, oldest forgotten first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, job_id: str) -> None:
        self._ids[job_id] = None
        self._ids.move_to_end(job_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class ResultsFollower:
    """Reads the results topic's keys into ``RecentResults``, from the window's start onwards."""

    def __init__(self, bootstrap_servers: str, topic: str, recent: RecentResults, client_id: str = "streamscribe") -> None:
        self.topic = topic
        self.recent = recent
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=f"{client_id}-dedup",
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a topic re-created empty (memory broker restart): start over
        )
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Read back the window, then keep following in the background."""
        await self._consumer.start()
        parts = self._consumer.partitions_for_topic(self.topic) or set()
        self._partitions = [TopicPartition(self.topic, p) for p in sorted(parts)]
        if not self._partitions:
            raise RuntimeError(f"results topic {self.topic!r} does not exist")
        self._consumer.assign(self._partitions)
        ends = await self._consumer.end_offsets(self._partitions)
        starts = await self._consumer.beginning_offsets(self._partitions)
        per_partition = max(1, self.recent.capacity // len(self._partitions))
        for tp in self._partitions:
            self._consumer.seek(tp, max(starts[tp], ends[tp] - per_partition))
        await self._read_until(ends, timeout)
        log.info("duplicate suppression: %d recent result(s) known from %s", len(self.recent), self.topic)
        self._task = asyncio.create_task(self._follow(), name="results-follower")

    async def catch_up(self, timeout: float = 10.0) -> None:
        """Wait until everything published so far has been read (e.g. before taking over partitions)."""
        try:
            ends = await self._consumer.end_offsets(self._partitions)
        except KafkaError as exc:
            log.warning("could not read the results topic's end offsets: %s", exc)
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while any(await self._behind(ends)):
            if asyncio.get_running_loop().time() > deadline:
                log.warning("results follower still behind after %.0fs; duplicates stay possible", timeout)
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _behind(self, ends: dict[TopicPartition, int]) -> list[bool]:
        return [await self._consumer.position(tp) < end for tp, end in ends.items()]

    async def _read_until(self, ends: dict[TopicPartition, int], timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while any(await self._behind(ends)):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"could not read back {self.topic} within {timeout:.0f}s")
            self._remember(await self._consumer.getmany(timeout_ms=200))

    async def _follow(self) -> None:
        while True:
            try:
                self._remember(await self._consumer.getmany(timeout_ms=500))
            except KafkaError as exc:  # the broker may be away for a while: keep trying
                log.warning("results follower: %s", exc)
                await asyncio.sleep(1.0)

    def _remember(self, batch) -> None:
        for records in batch.values():
            for record in records:
                if record.key:
                    self.recent.add(record.key.decode(errors="replace"))
